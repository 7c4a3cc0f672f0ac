"""The tree of a file: containers, their members, and cabinets nested in members.

:func:`scan` walks a container once per folder, optionally hashing every member, and (with
``recursive``) opens members whose bytes start a cabinet, giving each node a path such as
``outer.msu!/inner.cab!/update.mum``. This typed tree is what ``msuinspect list`` prints.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Protocol

from msuinspect.cab.decode import DecodeRecord
from msuinspect.cab.layout import LAYER
from msuinspect.cab.nested import looks_like_cabinet, open_nested
from msuinspect.cab.store import MemberStore
from msuinspect.cab.structs import CabMember
from msuinspect.errors import LimitExceededError, MsuInspectError
from msuinspect.findings import Finding, Severity

_SNIFF = 8


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
    ) -> None:
        self.node = node
        self.hashers = [(name, hashlib.new(name)) for name in algorithms]
        self.head = b""
        self.hook = hook
        self.buffer: bytearray | None = None
        self.decided = hook is None or node.member.size > max_buffer

    def write(self, data: bytes) -> None:
        if len(self.head) < _SNIFF:
            self.head += data[: _SNIFF - len(self.head)]
        if not self.decided and (
            len(self.head) >= _SNIFF or len(self.head) >= self.node.member.size
        ):
            self.decided = True
            if self.hook is not None and self.hook.wants(self.node, self.head):
                self.buffer = bytearray()
        if self.buffer is not None:
            self.buffer += data
        for _name, h in self.hashers:
            h.update(data)

    def close(self) -> None:
        self.node.head = self.head
        for name, h in self.hashers:
            setattr(self.node, name, h.hexdigest())
        if not self.decided and self.hook is not None and self.hook.wants(self.node, self.head):
            self.buffer = bytearray(self.head)
        if self.buffer is not None and self.hook is not None:
            data, self.buffer = bytes(self.buffer), None
            self.hook.take(self.node, data)

    def abort(self, error: MsuInspectError) -> None:
        self.node.error = error
        self.buffer = None


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
    ``algorithms`` (``sha256`` and/or ``sha1``).
    """
    algos = algorithms if hashes else ()
    cap = store.limits.max_in_memory
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
    if decode or hashes or recursive or hook is not None:
        outcomes = store.walk(
            lambda m: (
                _HashSink(nodes[m.index], algos, hook, cap)
                if nodes[m.index].error is None
                else None
            )
        )
        for oc in outcomes:
            if oc.error is not None:
                nodes[oc.member.index].error = oc.error
    if recursive:
        for mn in node.members:
            if mn.error is None and looks_like_cabinet(mn.head):
                try:
                    child_store = open_nested(store, mn.member)
                except LimitExceededError:
                    raise
                except MsuInspectError as exc:
                    node.findings.append(
                        Finding(
                            "nested-cabinet-unreadable",
                            Severity.ERROR,
                            f"{mn.path} looks like a cabinet but cannot be read: {exc.message}",
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
