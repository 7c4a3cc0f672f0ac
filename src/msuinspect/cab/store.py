"""What every member container offers, whatever its shape (one cabinet, a multi-volume set):
member lists, streaming reads and one-pass walks. Subclasses say which folder plan holds a
member and how to name it."""

from __future__ import annotations

import io
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from msuinspect.cab.decode import Decoder, DecodeRecord, FolderPlan, MemberSink, WalkItem
from msuinspect.cab.structs import CabMember
from msuinspect.errors import LimitExceededError, MsuInspectError
from msuinspect.findings import Finding
from msuinspect.limits import Limits, OutputBudget
from msuinspect.source import READ_BUFFER, ReplayStream


@dataclass(frozen=True, slots=True)
class MemberOutcome:
    member: CabMember
    error: MsuInspectError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class MemberStore(ABC):
    """A container of cabinet members with a shared decoder."""

    limits: Limits
    budget: OutputBudget
    decoder: Decoder
    findings: list[Finding]
    depth: int

    @property
    @abstractmethod
    def display_name(self) -> str:
        """Node path of the container."""

    @property
    @abstractmethod
    def members(self) -> Sequence[CabMember]:
        """Members in listing order; ``index`` is the position in this list."""

    @abstractmethod
    def plan_of(self, member: CabMember) -> FolderPlan:
        """The folder plan holding ``member``'s bytes (raises when it cannot be decoded)."""

    def member_path(self, member: CabMember) -> str:
        """The node path of a member: ``<container path>!/<member name>``."""
        return f"{self.display_name}!/{member.name}"

    @property
    def decode_log(self) -> list[DecodeRecord]:
        return self.decoder.log

    def find(self, name: str) -> list[CabMember]:
        """Members whose name matches ``name`` (case-insensitive, '/' or '\\')."""
        want = name.replace("/", "\\").casefold()
        return [m for m in self.members if m.name.replace("/", "\\").casefold() == want]

    def member_chunks(self, member: CabMember) -> Iterator[bytes]:
        """The bytes of one member, decoding its folder from the start."""
        return self.decoder.member_chunks(self.plan_of(member), member)

    def open_member(self, member: CabMember) -> BinaryIO:
        """A seekable stream over one member (re-decodes on backward seeks)."""
        self.plan_of(member)
        raw = ReplayStream(
            lambda: self.member_chunks(member), member.size, self.limits.max_restarts
        )
        return io.BufferedReader(raw, READ_BUFFER)

    def read_member(self, member: CabMember, max_size: int | None = None) -> bytes:
        """A whole member in memory (for manifests, properties, catalogs)."""
        cap = self.limits.max_in_memory if max_size is None else max_size
        if member.size > cap:
            raise LimitExceededError(
                f"member {member.name!r} has {member.size} bytes; reading it into memory is "
                f"limited to {cap}",
                path=self.member_path(member),
            )
        return b"".join(self.member_chunks(member))

    def walk(
        self,
        handler: Callable[[CabMember], MemberSink | None],
        members: Sequence[CabMember] | None = None,
    ) -> list[MemberOutcome]:
        """Decode each needed folder once and feed every member's bytes to its sink.

        ``handler(member)`` returns a sink, or None to skip the member. Members that cannot
        be decoded (e.g. their folder starts in a missing cabinet) get an error outcome
        without their handler being called. See :meth:`Decoder.walk`.
        """
        selected = list(self.members if members is None else members)
        outcomes: dict[Hashable, MsuInspectError | None] = {}
        items: list[WalkItem] = []
        for m in selected:
            try:
                plan = self.plan_of(m)
            except MsuInspectError as exc:
                outcomes[m.index] = exc
                continue
            sink = handler(m)
            if sink is not None:
                items.append(WalkItem(m.index, plan, m, sink))
        outcomes.update(self.decoder.walk(items))
        return [MemberOutcome(m, outcomes[m.index]) for m in selected if m.index in outcomes]
