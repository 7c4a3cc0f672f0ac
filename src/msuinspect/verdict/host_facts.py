"""What the rules ask of a host: installed KBs (three-valued), SHA-2 support, roots."""

from __future__ import annotations

from dataclasses import dataclass

from msuinspect.host.profile import Arch, HostProfile, Root
from msuinspect.package.mum import parse_version
from msuinspect.servicing.knowledge import KnowledgeBase, PartialDate, UpdateKind, normalise_kb
from msuinspect.verdict.model import Answer

KB_SSU_BASELINE = "KB4493730"
KB_SHA2 = "KB4474419"
KB_SHA2_X64 = "KB4039648"
#: CBS states that mean "installed, restart not done yet"
PENDING_STATES = frozenset({"install-pending", "staged", "installpending"})
#: CBS states that mean the package's own install is complete (0x70 and after)
DONE_STATES = frozenset({"installed", "permanent", "superseded"})


def has_any(host: HostProfile, kbs: list[str]) -> bool | None:
    """True if any is installed; False when the list is complete and has none; else None."""
    answers = [host.has_kb(k) for k in kbs]
    if any(a is True for a in answers):
        return True
    if answers and all(a is False for a in answers):
        return False
    return None if answers else False


def restart_pending(host: HostProfile, kb: str) -> bool | None:
    """Is ``kb`` installed but waiting for its restart?

    The package's own CBS state decides: ``install-pending`` / ``staged`` -> True; every
    state known and complete (0x70 installed, permanent, superseded) -> False, whatever
    other restart the host has pending. When the state is not known (the KB comes from a
    list such as systeminfo or wmic) and a restart is pending, whether it is this
    package's restart is unknown (None); with no restart pending, False.
    """
    states = {(p.state or "").casefold() for p in host.packages_for(kb) if p.state}
    if states & PENDING_STATES:
        return True
    if states and states <= DONE_STATES:
        return False
    if host.pending_restart is True:
        return None
    return False


@dataclass(frozen=True, slots=True)
class Sha2Support:
    """Whether the host verifies SHA-2 signatures (corrections 1: KB4474419, or KB4039648 on
    x64; a restart pending counts as not yet)."""

    outcome: Answer
    via: str
    unknown_field: str | None = None


def sha2_support(host: HostProfile) -> Sha2Support:
    """KB4474419, or KB4039648 on x64, installed and restarted. A complete update list
    decides; the SHA-2 registry flags decide only when the list cannot tell."""
    main = host.has_kb(KB_SHA2)
    if main is True:
        pending = restart_pending(host, KB_SHA2)
        if pending is True:
            return Sha2Support(Answer.NO, f"{KB_SHA2} installed, restart pending")
        if pending is None:
            return Sha2Support(
                Answer.UNKNOWN,
                f"{KB_SHA2} installed; a restart is pending and its own CBS state is unknown",
                f"{KB_SHA2} CBS state",
            )
        return Sha2Support(Answer.YES, KB_SHA2)
    x64 = host.has_kb(KB_SHA2_X64)
    if x64 is True:
        if host.arch is None:
            return Sha2Support(Answer.UNKNOWN, f"{KB_SHA2_X64} (x64 only)", "arch")
        if host.arch is Arch.AMD64:
            pending = restart_pending(host, KB_SHA2_X64)
            if pending is True:
                return Sha2Support(Answer.NO, f"{KB_SHA2_X64} installed, restart pending")
            if pending is None:
                return Sha2Support(
                    Answer.UNKNOWN,
                    f"{KB_SHA2_X64} installed; a restart is pending and its own CBS state "
                    "is unknown",
                    f"{KB_SHA2_X64} CBS state",
                )
            return Sha2Support(Answer.YES, KB_SHA2_X64)
        x64 = False
    if main is False and x64 is False:
        # a complete list without either update wins over the registry flags
        return Sha2Support(Answer.NO, f"neither {KB_SHA2} nor {KB_SHA2_X64}")
    if host.sha2_flags is True:
        return Sha2Support(Answer.YES, "SHA-2 code-signing registry flags")
    if host.sha2_flags is False:
        return Sha2Support(Answer.NO, "SHA-2 code-signing registry flags absent")
    return Sha2Support(Answer.UNKNOWN, f"{KB_SHA2} unknown", "installed")


def ssus_from(kb: KnowledgeBase, day: PartialDate) -> list[str]:
    """Servicing stack updates released on or after ``day`` (later SSUs supersede earlier)."""
    return [
        u.kb
        for u in kb.of_kind(UpdateKind.SSU)
        if u.date is not None and u.date.earliest >= day.earliest
    ]


def has_stack(host: HostProfile, kb: KnowledgeBase, baseline: str) -> bool | None:
    """The host has servicing stack ``baseline`` or a later one (by KB or stack version)."""
    base = kb.get(baseline)
    later = ssus_from(kb, base.date) if base is not None and base.date else [baseline]
    found = has_any(host, later)
    if found is True:
        return True
    if base is not None and base.stack_version and host.servicing_stack_version:
        have = parse_version(host.servicing_stack_version)
        need = parse_version(base.stack_version)
        if have is not None and need is not None:
            return have >= need
    return found


def root_present(host: HostProfile, root: Root) -> bool | None:
    if host.roots is None:
        return None
    return root in host.roots


def host_label(host: HostProfile, sha2: Sha2Support) -> str:
    build = str(host.build) if host.build else "6002/6003"
    arch = host.arch.value if host.arch else "arch?"
    if sha2.outcome is Answer.YES:
        s = "SHA-2 support"
    elif sha2.outcome is Answer.NO:
        s = "SHA-2 restart pending" if "pending" in sha2.via else "no SHA-2 support"
    elif "restart is pending" in sha2.via:
        s = "SHA-2 support unknown: a restart is pending"
    else:
        s = "SHA-2 support unknown"
    return f"{build} {arch} ({s})"


def normalise(kb: str) -> str:
    return normalise_kb(kb)
