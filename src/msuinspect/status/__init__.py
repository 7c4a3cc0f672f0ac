"""Host patch status: the servicing and ESU status of a 2008 SP2 host, and its next steps.

:func:`host_status` is pure: a :class:`~msuinspect.host.profile.HostProfile` and the
servicing :class:`~msuinspect.servicing.knowledge.KnowledgeBase` in, a
:class:`~msuinspect.status.model.HostStatus` out. Every statement carries its evidence
(``file:line``) and its knowledge-base sources; what the evidence does not show is
``unknown``, never ``missing``. :mod:`msuinspect.status.packages` matches the next steps
to a folder of packages.
"""

from __future__ import annotations

from msuinspect.host.profile import HostProfile
from msuinspect.servicing.knowledge import KnowledgeBase, UpdateKind
from msuinspect.status.capability import capability
from msuinspect.status.evidence import presence
from msuinspect.status.identity import identity_statements
from msuinspect.status.model import (
    Capability,
    HostStatus,
    NextStep,
    RollupPosition,
    Statement,
    Step,
    StepState,
)
from msuinspect.status.road import dated, servicing_road
from msuinspect.status.steps import next_steps, target_rollup

__all__ = [
    "Capability",
    "HostStatus",
    "NextStep",
    "RollupPosition",
    "Statement",
    "Step",
    "StepState",
    "host_status",
]

_UNKNOWN_WHY = {
    "product": "OS name",
    "build": "build",
    "revision": "revision (BuildLabEx)",
    "arch": "architecture",
    "installed": "installed updates",
    "servicing_stack_version": "servicing stack version",
    "sha2_flags": "SHA-2 code-signing registry flags",
    "roots": "root certificates",
    "esu": "ESU licence",
    "pending_restart": "pending restart",
}


def _unknown(profile: HostProfile) -> tuple[str, ...]:
    out = [label for f, label in _UNKNOWN_WHY.items() if getattr(profile, f) is None]
    if profile.installed is not None and not profile.installed_complete:
        out.append("installed updates (the list is partial)")
    return tuple(out)


def host_status(profile: HostProfile, kbase: KnowledgeBase) -> HostStatus:
    """The patch status of ``profile``'s host, from the evidence and the knowledge base."""
    road, pos = servicing_road(profile, kbase)
    steps = next_steps(profile, kbase, road, pos)
    target = target_rollup(profile, kbase, pos)
    ssus = [u.kb for u in dated(kbase.of_kind(UpdateKind.SSU))]
    newest_ssu = next(
        (k for k in reversed(ssus) if presence(profile, k).state is StepState.DONE), None
    )
    notes: list[str] = []
    if profile.conflicts:
        notes.append(
            "the evidence contradicts itself on "
            + ", ".join(c.field for c in profile.conflicts)
            + ": those facts are left unknown (see conflicts)"
        )
    notes.append(
        "install order: Microsoft requires KB4493730 and KB4474419 and a restart but states "
        "no order; SSU first is the community practice followed here"
    )
    return HostStatus(
        name=profile.name,
        identity=identity_statements(profile, kbase, target),
        road=road,
        rollup=pos,
        capability=capability(profile, kbase, road),
        next_steps=steps,
        conflicts=profile.conflicts,
        unknown=_unknown(profile),
        kb_data_version=kbase.data_version,
        newest_ssu_installed=newest_ssu,
        notes=tuple(notes),
    )
