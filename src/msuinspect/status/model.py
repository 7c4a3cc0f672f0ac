"""The result types of ``host status``: statements with their evidence and sources.

Every statement carries ``evidence`` (where on the host's evidence it was read, as
``file:line`` places from :attr:`HostProfile.evidence` or an installed package's
``source``) and ``sources`` (source ids of the servicing knowledge base entries it
relies on). A statement without evidence says what is missing instead of guessing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from msuinspect.host.profile import Conflict


class StepState(StrEnum):
    DONE = "done"
    MISSING = "missing"
    UNKNOWN = "unknown"
    NOT_APPLICABLE = "not applicable"


@dataclass(frozen=True, slots=True)
class Statement:
    """One fact about the host, as shown: ``label: text``."""

    id: str  #: stable key: ``os``, ``build``, ``moved-to-6003``...
    label: str
    text: str
    evidence: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    kbs: tuple[str, ...] = ()  #: KB numbers the statement names
    known: bool = True  #: False when the evidence does not tell


@dataclass(frozen=True, slots=True)
class Step:
    """One step of the servicing road (SP2, roots, SSU, SHA-2, ESU, rollups)."""

    id: str  #: ``sp2``, ``roots``, ``ssu-baseline``, ``sha2``, ``sha2-x64``, ``ssu-latest``...
    label: str
    state: StepState
    text: str
    evidence: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    kbs: tuple[str, ...] = ()
    optional: bool = False
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RollupPosition:
    """The newest monthly rollup installed and how far it is from the last one known."""

    installed_kb: str | None
    installed_date: str | None
    last_kb: str
    last_date: str
    months_behind: int | None  #: calendar months from the installed rollup to the last known
    known_missing: tuple[str, ...]  #: monthly rollups the knowledge base lists in between
    unrecognised: tuple[str, ...]  #: installed KBs the knowledge base does not know


@dataclass(frozen=True, slots=True)
class Capability:
    """What the host can validate today, and the package classes it would reject."""

    sha2: str  #: yes / no / unknown
    sha2_via: str
    roots: tuple[str, ...] | None  #: root ids the host holds; None: unknown
    text: str
    rejects: tuple[tuple[str, str], ...]  #: (rule ids, package class)
    evidence: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NextStep:
    """One thing to do, in the recommended install order."""

    order: int
    step: str  #: the road step it completes
    action: str  #: ``install``, ``import-roots``, ``restart``, ``activate-esu``
    kb: str | None
    title: str
    date: str | None
    restart: bool | None  #: True: restart afterwards; None: not known
    why: str
    state: StepState  #: MISSING, or UNKNOWN when the evidence cannot tell
    sources: tuple[str, ...] = ()
    confidence: str | None = None
    optional: bool = False


@dataclass(frozen=True, slots=True)
class HostStatus:
    """Everything ``host status`` says about one host."""

    name: str | None
    identity: tuple[Statement, ...]  #: OS, product, arch, build, revision, 6003 move
    road: tuple[Step, ...]
    rollup: RollupPosition | None
    capability: Capability
    next_steps: tuple[NextStep, ...]
    conflicts: tuple[Conflict, ...]
    unknown: tuple[str, ...]  #: host facts the evidence does not give
    kb_data_version: str
    newest_ssu_installed: str | None = None  #: the newest known SSU the host lists
    notes: tuple[str, ...] = ()

    def step(self, step_id: str) -> Step:
        return next(s for s in self.road if s.id == step_id)

    def statement(self, statement_id: str) -> Statement:
        return next(s for s in self.identity if s.id == statement_id)

    def named_kbs(self) -> frozenset[str]:
        """Every KB number the status names (each must be in the knowledge base)."""
        kbs: set[str] = set()
        for s in self.identity:
            kbs.update(s.kbs)
        for st in self.road:
            kbs.update(st.kbs)
        for n in self.next_steps:
            if n.kb:
                kbs.add(n.kb)
        if self.rollup is not None:
            kbs.add(self.rollup.last_kb)
            kbs.update(self.rollup.known_missing)
            if self.rollup.installed_kb:
                kbs.add(self.rollup.installed_kb)
        return frozenset(kbs)
