"""Where on the host's evidence a statement comes from, and three-valued KB presence.

Places come from :attr:`HostProfile.evidence` (field -> ``file:line``, several joined by
``; ``) and from :attr:`InstalledPackage.source`. "Not installed" is only claimed when
the update list is complete; its evidence is then the place of the list itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from msuinspect.host.profile import HostProfile, InstalledPackage
from msuinspect.servicing.knowledge import KnowledgeBase, UpdateFact, normalise_kb
from msuinspect.status.model import StepState


def places(text: str | None) -> tuple[str, ...]:
    """``"a.txt:3; b.txt:9"`` -> ``("a.txt:3", "b.txt:9")``."""
    if not text:
        return ()
    return tuple(p.strip() for p in text.split(";") if p.strip())


def field_evidence(profile: HostProfile, *fields: str) -> tuple[str, ...]:
    out: list[str] = []
    for f in fields:
        out.extend(places(profile.evidence.get(f)))
    return tuple(dict.fromkeys(out))


def kb_evidence(profile: HostProfile, kb: str) -> tuple[str, ...]:
    """Where each entry of ``kb`` was read."""
    return tuple(dict.fromkeys(p.source for p in profile.packages_for(kb) if p.source))


def sources_of(kbase: KnowledgeBase, kbs: Iterable[str]) -> tuple[str, ...]:
    out: list[str] = []
    for kb in kbs:
        fact = kbase.get(kb)
        if fact is not None:
            out.extend(fact.source)
    return tuple(dict.fromkeys(out))


def merge(*groups: Iterable[str]) -> tuple[str, ...]:
    out: list[str] = []
    for g in groups:
        out.extend(g)
    return tuple(dict.fromkeys(out))


@dataclass(frozen=True, slots=True)
class Presence:
    """Whether one KB is installed, as the evidence allows saying it."""

    kb: str
    state: StepState  #: DONE, MISSING or UNKNOWN
    evidence: tuple[str, ...]
    packages: tuple[InstalledPackage, ...]  #: every entry for the KB (installed or not)
    why: str  #: a short explanation ("listed", "not in the complete update list"...)

    @property
    def versions(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p.version for p in self.packages if p.version))

    @property
    def not_installed_states(self) -> tuple[str, ...]:
        return tuple(
            dict.fromkeys(p.state for p in self.packages if p.state and not p.is_installed)
        )


def presence(profile: HostProfile, kb: str) -> Presence:
    kb = normalise_kb(kb)
    pkgs = profile.packages_for(kb)
    found = profile.has_kb(kb)
    ev = kb_evidence(profile, kb)
    if found is True:
        return Presence(kb, StepState.DONE, ev, pkgs, "listed as installed")
    staged = [p for p in pkgs if not p.is_installed]
    if staged:
        states = ", ".join(dict.fromkeys(p.state or "" for p in staged))
        state = (
            StepState.MISSING if found is False or profile.installed_complete else StepState.UNKNOWN
        )
        return Presence(kb, state, ev, pkgs, f"known to CBS but not installed ({states})")
    if found is False:
        return Presence(
            kb,
            StepState.MISSING,
            field_evidence(profile, "installed"),
            pkgs,
            "not in the complete update list",
        )
    if profile.installed is None:
        why = "no update list in the evidence"
    else:
        why = "not in the update list, which is partial"
    return Presence(kb, StepState.UNKNOWN, field_evidence(profile, "installed"), pkgs, why)


def installed_facts(profile: HostProfile, kbase: KnowledgeBase) -> list[UpdateFact]:
    """Knowledge-base entries of the updates the host lists as installed."""
    out = []
    for kb in sorted(profile.kb_numbers()):
        fact = kbase.get(kb)
        if fact is not None:
            out.append(fact)
    return out


def unrecognised_kbs(profile: HostProfile, kbase: KnowledgeBase) -> tuple[str, ...]:
    """Installed KB numbers the knowledge base does not know."""
    return tuple(sorted(k for k in profile.kb_numbers() if kbase.get(k) is None))
