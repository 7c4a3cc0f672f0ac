"""Multi-volume cabinet sets ([MS-CAB] 'spanning'): a folder may continue from one cabinet
into the next, and files may cross cabinet boundaries.

Given any cabinet of a set on disk, :func:`discover_set` follows ``szCabinetPrev`` and
``szCabinetNext`` to sibling files in the same folder (names matched case-insensitively,
as cabextract does) and :class:`CabinetSet` presents the whole set as one member list:

* the last folder of cabinet *k* and the first folder of cabinet *k+1* form one logical
  folder when *k* has members continued to the next cabinet (``iFolder`` 0xFFFE/0xFFFF)
  and *k+1* has members continued from the previous one (0xFFFD/0xFFFF);
* a member continued from a previous cabinet repeats an entry of that cabinet and is
  listed once;
* when the set is incomplete, members whose bytes lie in the cabinets present are still
  readable; the others get an error saying which cabinet is missing.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from msuinspect.cab.cabinet import Cabinet
from msuinspect.cab.decode import Decoder, FolderPlan, FolderSegment
from msuinspect.cab.layout import LAYER
from msuinspect.cab.store import MemberStore
from msuinspect.cab.structs import (
    IFOLD_CONTINUED_FROM_PREV,
    IFOLD_CONTINUED_PREV_AND_NEXT,
    IFOLD_CONTINUED_TO_NEXT,
    CabMember,
)
from msuinspect.errors import CabinetSetError, MsuInspectError
from msuinspect.findings import Finding, FindingSink, Severity
from msuinspect.source import FileSource

#: cabinets followed in one direction before giving up (hostile loops, huge sets)
MAX_SET_SIZE = 1024


class CabinetSet(MemberStore):
    """An ordered list of cabinets of one set, read as one."""

    def __init__(self, cabinets: Sequence[Cabinet], findings: list[Finding] | None = None) -> None:
        if not cabinets:
            raise ValueError("a cabinet set needs at least one cabinet")
        first = cabinets[0]
        self.cabinets = list(cabinets)
        self.limits = first.limits
        self.budget = first.budget
        self.depth = first.depth
        self.findings = list(findings or [])
        self.decoder = Decoder(first.codecs, first.limits, first.budget, self.findings)
        self._members: list[CabMember] = []
        self._plans: dict[int, FolderPlan] = {}
        self._errors: dict[int, MsuInspectError] = {}
        self._paths: dict[int, str] = {}
        self._build()

    @property
    def display_name(self) -> str:
        return self.cabinets[0].display_name

    @property
    def members(self) -> Sequence[CabMember]:
        return self._members

    def member_path(self, member: CabMember) -> str:
        return self._paths[member.index]

    def plan_of(self, member: CabMember) -> FolderPlan:
        err = self._errors.get(member.index)
        if err is not None:
            raise err
        return self._plans[member.index]

    # ------------------------------------------------------------------ build
    def _build(self) -> None:
        open_plan: list[FolderSegment] | None = None  # folder continuing into the next cabinet
        open_label = ""
        open_path = ""
        open_incomplete_start = False
        open_members: list[CabMember] = []  # continued entries seen so far, for dedup
        plan_keys: dict[int, int] = {}  # member index -> id of its folder's segment list
        seglists: dict[int, tuple[list[FolderSegment], str, str]] = {}

        notes = FindingSink(LAYER, into=self.findings)

        def noted_incomplete(path: str) -> bool:
            """A missing neighbour of ``path`` was reported already (by :func:`discover_set`)."""
            return any(f.code == "cab-set-incomplete" and f.path == path for f in self.findings)

        for k, cab in enumerate(self.cabinets):
            nfold = len(cab.folders)
            cont_prev = any(
                m.folder_index in (IFOLD_CONTINUED_FROM_PREV, IFOLD_CONTINUED_PREV_AND_NEXT)
                for m in cab.members
            )
            cont_next = any(
                m.folder_index in (IFOLD_CONTINUED_TO_NEXT, IFOLD_CONTINUED_PREV_AND_NEXT)
                for m in cab.members
            )
            # logical plan for each of this cabinet's folders
            seg_lists: list[list[FolderSegment]] = []
            starts_here: list[bool] = []
            incomplete_start: list[bool] = []
            labels: list[str] = []
            paths: list[str] = []
            for j, fo in enumerate(cab.folders):
                seg = FolderSegment(cab.source, cab.layout, fo)
                if j == 0 and cont_prev and open_plan is not None:
                    open_plan.append(seg)
                    seg_lists.append(open_plan)
                    starts_here.append(False)
                    incomplete_start.append(open_incomplete_start)
                    labels.append(open_label)
                    paths.append(open_path)
                else:
                    if j == 0 and open_plan is not None:
                        notes.add(
                            "cab-set-inconsistent",
                            Severity.WARNING,
                            f"{self.cabinets[k - 1].display_name} continues a folder into "
                            f"{cab.display_name}, which does not continue it",
                            path=cab.display_name,
                        )
                    seg_lists.append([seg])
                    starts_here.append(True)
                    missing_start = j == 0 and cont_prev
                    incomplete_start.append(missing_start)
                    labels.append(f"folder {j} of {os.path.basename(cab.display_name)}")
                    paths.append(cab.display_name)
                    if missing_start and not noted_incomplete(cab.display_name):
                        notes.add(
                            "cab-set-incomplete",
                            Severity.WARNING,
                            f"{cab.display_name} continues a folder from a previous cabinet "
                            "that is not present",
                            path=cab.display_name,
                        )
                if j == 0:
                    open_plan = None
            if cont_next and nfold:
                open_plan = seg_lists[-1]
                open_label = labels[-1]
                open_path = paths[-1]
                open_incomplete_start = incomplete_start[-1]
            for m in cab.members:
                fi = m.folder_index
                if fi in (IFOLD_CONTINUED_FROM_PREV, IFOLD_CONTINUED_PREV_AND_NEXT):
                    j = 0
                elif fi == IFOLD_CONTINUED_TO_NEXT:
                    j = nfold - 1
                else:
                    j = fi
                is_repeat = fi in (IFOLD_CONTINUED_FROM_PREV, IFOLD_CONTINUED_PREV_AND_NEXT)
                if is_repeat and not starts_here[j]:
                    match = [
                        p
                        for p in open_members
                        if p.raw_name == m.raw_name and p.size == m.size and p.offset == m.offset
                    ]
                    if match:
                        continue  # listed already, in the cabinet where it starts
                    notes.add(
                        "cab-set-inconsistent",
                        Severity.WARNING,
                        f"{cab.display_name} continues member {m.name!r}, which the previous "
                        "cabinet does not list",
                        path=cab.display_name,
                    )
                new = m._replace(index=len(self._members))
                self._members.append(new)
                self._paths[new.index] = cab.member_path(m)
                plan_keys[new.index] = id(seg_lists[j])
                seglists[id(seg_lists[j])] = (seg_lists[j], labels[j], paths[j])
                if incomplete_start[j]:
                    self._errors[new.index] = CabinetSetError(
                        f"member {m.name!r} lies in a folder that starts in a previous cabinet "
                        f"({cab.layout.header.prev_cabinet!r}), which is not present",
                        path=cab.display_name,
                        offset=m.record_offset,
                    )
                if fi in (IFOLD_CONTINUED_TO_NEXT, IFOLD_CONTINUED_PREV_AND_NEXT):
                    open_members.append(m)
            if not cont_next:
                open_members = []
        last = self.cabinets[-1]
        if open_plan is not None and not noted_incomplete(last.display_name):
            notes.add(
                "cab-set-incomplete",
                Severity.WARNING,
                f"{last.display_name} continues a folder into "
                f"{(last.layout.header.next_cabinet or b'?').decode('latin-1')!r}, which is not "
                "present; members whose bytes lie in it cannot be read",
                path=last.display_name,
            )
        # freeze plans now that every segment list is complete
        frozen: dict[int, FolderPlan] = {}
        for key, (segs, label, path) in seglists.items():
            extra = len({id(s.source) for s in segs}) - 1
            text = label + (f" (continued in {extra} more cabinet(s))" if extra else "")
            frozen[key] = FolderPlan(text, path, tuple(segs))
        for idx, sid in plan_keys.items():
            self._plans[idx] = frozen[sid]


def _sibling(directory: str, name: bytes) -> str | None:
    """The file in ``directory`` called ``name``, compared case-insensitively."""
    text = name.decode("latin-1")
    if not text or "/" in text or "\\" in text or text in (".", ".."):
        return None
    exact = os.path.join(directory, text)
    if os.path.isfile(exact):
        return exact
    want = text.casefold()
    try:
        entries = os.listdir(directory)
    except OSError:
        return None
    for entry in sorted(entries):
        if entry.casefold() == want and os.path.isfile(os.path.join(directory, entry)):
            return os.path.join(directory, entry)
    return None


def discover_set(cabinet: Cabinet) -> CabinetSet:
    """The set ``cabinet`` belongs to, assembled from sibling files on disk."""
    findings: list[Finding] = []
    path = cabinet.source.local_path
    if path is None:
        return CabinetSet([cabinet], findings)
    directory = os.path.dirname(os.path.abspath(path))
    seen = {os.path.realpath(path)}
    chain = [cabinet]

    def follow(cab: Cabinet, forward: bool) -> Cabinet | None:
        h = cab.layout.header
        name = h.next_cabinet if forward else h.prev_cabinet
        if not name:
            return None
        found = _sibling(directory, name)
        label = name.decode("latin-1")
        if found is None:
            findings.append(
                Finding(
                    "cab-set-incomplete",
                    Severity.WARNING,
                    f"{'next' if forward else 'previous'} cabinet {label!r} of the set was "
                    f"not found next to {cab.display_name}",
                    LAYER,
                    path=cab.display_name,
                )
            )
            return None
        real = os.path.realpath(found)
        if real in seen:
            findings.append(
                Finding(
                    "cab-set-loop",
                    Severity.WARNING,
                    f"cabinet set refers back to {label!r}; stopping",
                    LAYER,
                    path=cab.display_name,
                )
            )
            return None
        seen.add(real)
        try:
            other = Cabinet.open(
                FileSource(found), limits=cab.limits, codecs=cab.codecs, budget=cab.budget
            )
        except MsuInspectError as exc:
            findings.append(
                Finding(
                    "cab-set-member-unreadable",
                    Severity.ERROR,
                    f"cabinet {found} of the set cannot be read: {exc}",
                    LAYER,
                    path=found,
                )
            )
            return None
        oh = other.layout.header
        if oh.set_id != h.set_id:
            findings.append(
                Finding(
                    "cab-set-id-mismatch",
                    Severity.WARNING,
                    f"{found} has setID {oh.set_id}, {cab.display_name} has {h.set_id}",
                    LAYER,
                    path=found,
                )
            )
        return other

    cur = cabinet
    for _ in range(MAX_SET_SIZE):
        prev = follow(cur, False)
        if prev is None:
            break
        chain.insert(0, prev)
        cur = prev
    cur = cabinet
    for _ in range(MAX_SET_SIZE):
        nxt = follow(cur, True)
        if nxt is None:
            break
        chain.append(nxt)
        cur = nxt
    return CabinetSet(chain, findings)
