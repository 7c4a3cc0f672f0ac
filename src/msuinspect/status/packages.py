"""``--packages DIR``: each next step matched to the packages present.

A package's identity comes from its content (the KB numbers of the package summary),
never its file name. A step is ``found`` (a usable package: read completely, signature
verified, applicable to this host), ``unusable`` (present, but broken, untrusted or not
applicable: the reason is given) or ``missing``. The rollup and newest-SSU steps accept
any newer package of their kind (rollups are cumulative; later SSUs supersede earlier).

The caller inspects the files (``msuinspect.inspect``) and passes what it read;
:func:`candidate` judges each against the host with the verdict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from msuinspect.host.profile import HostProfile
from msuinspect.package.analyse import PackageReport
from msuinspect.package.outcome import FileOutcome, Outcome
from msuinspect.servicing.knowledge import KnowledgeBase, UpdateFact, UpdateKind, normalise_kb
from msuinspect.status.model import HostStatus, NextStep
from msuinspect.status.road import MONTHLY
from msuinspect.verdict.facts import package_facts
from msuinspect.verdict.judge import is_not_applicable, judge
from msuinspect.verdict.model import Verdict


class MatchState(StrEnum):
    FOUND = "found"
    UNUSABLE = "unusable"
    MISSING = "missing"


@dataclass(frozen=True, slots=True)
class PackageCandidate:
    """One file of the folder, as read."""

    path: str
    kbs: tuple[str, ...]  #: from the package content (``KB4493730``)
    outcome: str  #: ok / warning / problem / error (the file's outcome)
    reasons: tuple[str, ...]  #: why the outcome is not ok
    signing: str | None  #: the file's signing class (sha1, dual, sha2-only...)
    trusted: bool
    verdict: Verdict | None  #: this host's verdict, when the file is a package
    unusable: str | None  #: why it cannot be used on this host; None when usable

    @property
    def usable(self) -> bool:
        return self.unusable is None

    @property
    def signature(self) -> str:
        if self.outcome in (Outcome.OK.value, Outcome.WARNING.value) and self.trusted:
            return f"verified ({self.signing})" if self.signing else "verified"
        return self.reasons[0] if self.reasons else self.outcome


@dataclass(frozen=True, slots=True)
class StepMatch:
    step: NextStep
    state: MatchState
    package: PackageCandidate | None  #: the chosen package (usable first)
    note: str | None = None  #: e.g. "KB4507452 (2019-07-09) instead of the newest KB5022340"
    others: tuple[PackageCandidate, ...] = ()  #: further packages for the step


@dataclass(frozen=True, slots=True)
class PackageMatches:
    folder: str
    steps: tuple[StepMatch, ...]
    unmatched: tuple[PackageCandidate, ...]  #: packages no next step asked for


def candidate(
    path: str,
    package: PackageReport | None,
    outcome: FileOutcome,
    host: HostProfile,
    kbase: KnowledgeBase,
) -> PackageCandidate:
    """Judge one inspected file against the host."""
    if package is None:
        why = outcome.reasons[0] if outcome.reasons else "could not be read"
        return PackageCandidate(
            path, (), outcome.outcome.value, outcome.reasons, None, False, None, why
        )
    kbs = tuple(dict.fromkeys(normalise_kb(k) for k in package.summary.kb_numbers))
    verdict = (
        judge(package_facts(package), host, kbase) if package.summary.is_update_package else None
    )
    unusable: str | None = None
    if outcome.outcome in (Outcome.PROBLEM, Outcome.ERROR):
        unusable = outcome.reasons[0] if outcome.reasons else outcome.outcome.value
    elif not package.file.trusted:
        unusable = "no signature verifies to a trusted root"
    elif not kbs:
        unusable = "no KB number in the package content"
    elif verdict is not None and is_not_applicable(verdict):
        fails = [r for r in verdict.reasons if r.outcome.value == "fail"]
        why = fails[0].summary if fails else ""
        if not why.startswith("not applicable"):
            why = f"not applicable: {why}" if why else "not applicable"
        unusable = f"{why} ({fails[0].rule})" if fails else why
    return PackageCandidate(
        path,
        kbs,
        outcome.outcome.value,
        outcome.reasons,
        package.file.signing.value,
        package.file.trusted,
        verdict,
        unusable,
    )


def _kind_newer(kbase: KnowledgeBase, kinds: tuple[UpdateKind, ...], than: str | None) -> set[str]:
    """KB numbers of ``kinds`` dated after ``than``'s date (all of them when unknown)."""
    base = kbase.get(than) if than else None
    out = set()
    for u in kbase.of_kind(*kinds):
        if u.date is None:
            continue
        if base is None or base.date is None or u.date.earliest > base.date.latest:
            out.add(u.kb)
    return out


def _date_key(kbase: KnowledgeBase, kb: str) -> tuple[int, int, int]:
    fact: UpdateFact | None = kbase.get(kb)
    if fact is None or fact.date is None:
        return (0, 0, 0)
    return (fact.date.year, fact.date.month, fact.date.day or 0)


def match_packages(
    folder: str,
    status: HostStatus,
    candidates: Sequence[PackageCandidate],
    kbase: KnowledgeBase,
) -> PackageMatches:
    """Each install step of ``status`` matched to ``candidates``."""
    used: set[str] = set()
    matches: list[StepMatch] = []
    installed_rollup = status.rollup.installed_kb if status.rollup else None
    installed_ssu = status.newest_ssu_installed
    named = {n.kb for n in status.next_steps if n.kb}
    for step in status.next_steps:
        if step.kb is None:
            continue
        accept = {step.kb}
        if step.step == "rollup":
            accept |= _kind_newer(kbase, MONTHLY, installed_rollup) - named
        elif step.step == "ssu-latest":
            accept |= _kind_newer(kbase, (UpdateKind.SSU,), installed_ssu) - named
        found = [c for c in candidates if accept & set(c.kbs)]
        if not found:
            if not step.optional:  # an optional step (a later SSU) absent is not missing
                matches.append(StepMatch(step, MatchState.MISSING, None))
            continue
        used.update(c.path for c in found)

        def date_of(k: str) -> tuple[int, int, int]:
            return _date_key(kbase, k)

        def rank(
            c: PackageCandidate, want: str = step.kb
        ) -> tuple[bool, bool, tuple[int, int, int]]:
            kb = want if want in c.kbs else max(c.kbs, key=date_of)
            return (c.usable, want in c.kbs, _date_key(kbase, kb))

        ordered = sorted(found, key=rank, reverse=True)
        best = ordered[0]
        note = None
        if step.kb not in best.kbs:
            other = next(k for k in best.kbs if k in accept)
            fact = kbase.get(other)
            when = f" ({fact.date})" if fact and fact.date else ""
            note = f"{other}{when} instead of {step.kb}"
        state = MatchState.FOUND if best.usable else MatchState.UNUSABLE
        matches.append(StepMatch(step, state, best, note, tuple(ordered[1:])))
    unmatched = tuple(c for c in candidates if c.path not in used)
    return PackageMatches(folder, tuple(matches), unmatched)
