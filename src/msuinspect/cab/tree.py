"""The tree of a file: containers, their members, and cabinets nested in members.

:func:`scan` walks a container once per folder, optionally hashing every member, and (with
``recursive``) opens members whose bytes start a cabinet, giving each node a path such as
``outer.msu!/inner.cab!/update.mum``. This typed tree is what ``msuinspect list`` prints.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from msuinspect.cab.decode import DecodeRecord
from msuinspect.cab.hashlane import LANE_MIN_SIZE, HashLane
from msuinspect.cab.layout import LAYER
from msuinspect.cab.nested import looks_like_cabinet, open_nested
from msuinspect.cab.store import MemberStore
from msuinspect.cab.structs import CabMember
from msuinspect.errors import LimitExceededError, MsuInspectError
from msuinspect.findings import Finding, Severity
from msuinspect.limits import OutputBudget

_SNIFF = 8

#: one empty hash object per algorithm; members get copies (``hashlib.new`` by name costs
#: several microseconds, a copy a fraction of one: it showed with 18,655 small members)
_HASH_TEMPLATES: dict[str, Any] = {}


def _new_hash(name: str) -> Any:
    template = _HASH_TEMPLATES.get(name)
    if template is None:
        template = _HASH_TEMPLATES[name] = hashlib.new(name)
    return template.copy()


@dataclass(slots=True)
class MemberNode:
    path: str
    member: CabMember
    folder: str | None  #: label of the folder plan holding the member
    compression: str | None
    sha256: str | None = None
    sha1: str | None = None
    head: bytes = b""  #: the first bytes (to recognise content)
    error: MsuInspectError | None = None
    child: ContainerNode | None = None
    #: a cabinet that was not expanded (nested too deep, or unreadable as a cabinet): why
    not_expanded: str | None = None


@dataclass(slots=True)
class ContainerNode:
    path: str
    store: MemberStore
    members: list[MemberNode] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    decode_log: list[DecodeRecord] = field(default_factory=list)
    error: MsuInspectError | None = None  #: set when the container could not be read at all

    def iter_members(self) -> list[MemberNode]:
        """All member nodes, depth first."""
        out: list[MemberNode] = []
        for m in self.members:
            out.append(m)
            if m.child is not None:
                out.extend(m.child.iter_members())
        return out


class ContentHook(Protocol):
    """Lets a caller look at whole members during a scan (e.g. to verify the signature of
    every PE and catalog) without a second decode. Each member is held in memory only until
    :meth:`take` returns, and only when :meth:`wants` says so from its first bytes."""

    def wants(self, node: MemberNode, head: bytes) -> bool: ...

    def take(self, node: MemberNode, data: bytes) -> None: ...


class _HashSink:
    def __init__(
        self,
        node: MemberNode,
        algorithms: tuple[str, ...],
        hook: ContentHook | None,
        max_buffer: int,
        keep: Callable[[MemberNode, bytes], bool] | None = None,
        budget: OutputBudget | None = None,
        lane: HashLane | None = None,
    ) -> None:
        self.node = node
        #: hash on the lane's thread (large members only; see :mod:`.hashlane`)
        self.lane = lane if lane is not None and node.member.size >= LANE_MIN_SIZE else None
        #: where ``keep`` reserved the bytes it asked for (released on failure)
        self.budget = budget
        self.hashers = [(name, _new_hash(name)) for name in algorithms]
        self.head = b""
        self.hook = hook
        self.keep = keep
        self.buffer: bytearray | None = None
        self.decided = (hook is None and keep is None) or node.member.size > max_buffer
        #: the member's bytes, when ``keep`` asked for them (a nested cabinet)
        self.kept: bytes | None = None
        self.keeping = False
        self.hook_wants: bool | None = None

    def _hook_wants(self) -> bool:
        """The hook's answer for this member (asked once: the head does not change)."""
        if self.hook_wants is None:
            self.hook_wants = self.hook is not None and self.hook.wants(self.node, self.head)
        return self.hook_wants

    def _wants(self) -> bool:
        if self.keep is not None and self.keep(self.node, self.head):
            self.keeping = True
            return True
        return self._hook_wants()

    def write(self, data: bytes) -> None:
        before = self.head  # every byte written so far, while undecided (< _SNIFF bytes)
        if len(self.head) < _SNIFF:
            self.head += data[: _SNIFF - len(self.head)]
        if not self.decided and (
            len(self.head) >= _SNIFF or len(self.head) >= self.node.member.size
        ):
            self.decided = True
            if self._wants():
                # the bytes of earlier writes too: a member can start a few bytes before the
                # end of a decoder's chunk
                self.buffer = bytearray(before)
        if self.buffer is not None:
            self.buffer += data
        lane = self.lane
        for _name, h in self.hashers:
            if lane is None:
                h.update(data)
            else:
                lane.update(h, data)

    def _set_digests(self) -> None:
        for name, h in self.hashers:
            setattr(self.node, name, h.hexdigest())

    def close(self) -> None:
        self.node.head = self.head
        if self.lane is None:
            self._set_digests()
        elif self.hashers:
            self.lane.call(self._set_digests)
        if not self.decided and self._wants():
            self.buffer = bytearray(self.head)
        if self.buffer is not None:
            data, self.buffer = bytes(self.buffer), None
            if self.keeping:
                self.kept = data
            if self.hook is not None and self._hook_wants():
                if self.lane is not None:
                    self.lane.sync()  # the hook may read the digests
                self.hook.take(self.node, data)

    def abort(self, error: MsuInspectError) -> None:
        self.node.error = error
        self.buffer = None
        if self.keeping and self.budget is not None:
            self.keeping = False
            self.budget.release(self.node.member.size)


def scan(
    store: MemberStore,
    *,
    decode: bool,
    hashes: bool,
    recursive: bool,
    algorithms: tuple[str, ...] = ("sha256",),
    hook: ContentHook | None = None,
) -> ContainerNode:
    """Build the tree of ``store``.

    ``decode`` reads every member (needed for ``hashes`` and ``recursive``); without it only
    the structure is listed. With ``hashes`` each member gets the digests named in
    ``algorithms`` (``sha256`` and/or ``sha1``). With ``recursive`` nested cabinets are
    opened, from memory when their bytes fit what the file may hold
    (``Limits.max_in_memory`` for all its nested cabinets together), so each level is
    decoded once; one nested deeper than ``Limits.max_depth`` is listed as a member with
    ``not_expanded`` set and a ``cab-nesting-too-deep`` finding.
    """
    algos = algorithms if hashes else ()
    limits = store.limits
    cap = limits.max_in_memory
    node = ContainerNode(store.display_name, store)
    nodes: dict[int, MemberNode] = {}
    for m in store.members:
        try:
            plan = store.plan_of(m)
            label, comp = plan.label, str(plan.compression)
        except MsuInspectError as exc:
            label, comp = None, None
            nodes[m.index] = MemberNode(store.member_path(m), m, label, comp, error=exc)
            continue
        nodes[m.index] = MemberNode(store.member_path(m), m, label, comp)
    node.members = [nodes[m.index] for m in store.members]
    can_descend = recursive and store.depth < limits.max_depth

    def keep(mn: MemberNode, head: bytes) -> bool:
        # a nested cabinet's bytes, held for the rest of the scan (its tree refers to them)
        return looks_like_cabinet(head) and store.budget.hold(mn.member.size, cap)

    sinks: dict[int, _HashSink] = {}
    # hashing on a thread of its own pays when nothing waits for the digests (a listing);
    # a hook reads each member it takes with its digests, so it would wait for the lane
    # every time, while the folders decode on their own threads anyway (measured: the
    # package walk is as fast or faster without it)
    lane = HashLane() if algos and hook is None else None

    def handler(m: CabMember) -> _HashSink | None:
        if nodes[m.index].error is not None:
            return None
        sink = _HashSink(
            nodes[m.index], algos, hook, cap, keep if can_descend else None, store.budget, lane
        )
        sinks[m.index] = sink
        return sink

    if decode or hashes or recursive or hook is not None:
        try:
            outcomes = store.walk(handler)
        finally:
            if lane is not None:
                lane.close()  # every digest is set once this returns
        for oc in outcomes:
            if oc.error is not None:
                nodes[oc.member.index].error = oc.error
    if recursive:
        for mn in node.members:
            if mn.error is not None or not looks_like_cabinet(mn.head):
                continue
            if not can_descend:
                mn.not_expanded = (
                    f"cabinet nested {store.depth + 1} levels deep, beyond --max-depth "
                    f"{limits.max_depth}; not expanded"
                )
                node.findings.append(
                    Finding(
                        "cab-nesting-too-deep",
                        Severity.ERROR,
                        mn.not_expanded,
                        LAYER,
                        path=mn.path,
                    )
                )
                continue
            sink = sinks.get(mn.member.index)
            kept = sink.kept if sink is not None else None
            if sink is not None and sink.kept is None and sink.keeping:
                store.budget.release(mn.member.size)
            try:
                child_store = open_nested(store, mn.member, kept)
            except LimitExceededError:
                raise
            except MsuInspectError as exc:
                mn.not_expanded = f"looks like a cabinet but cannot be read: {exc.message}"
                node.findings.append(
                    Finding(
                        "nested-cabinet-unreadable",
                        Severity.ERROR,
                        f"{mn.path} {mn.not_expanded}",
                        LAYER,
                        path=mn.path,
                        offset=exc.offset,
                    )
                )
                continue
            mn.child = scan(
                child_store,
                decode=decode,
                hashes=hashes,
                recursive=True,
                algorithms=algorithms,
                hook=hook,
            )
    node.findings[:0] = store.findings
    node.decode_log = list(store.decode_log)
    return node
