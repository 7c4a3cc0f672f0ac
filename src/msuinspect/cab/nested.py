"""Cabinets inside cabinets: a member as a :class:`~msuinspect.source.ByteSource`.

Opening the stream re-runs the parent folder's decoder up to the member; nothing is written
to disk. Seeking backwards restarts it (bounded by ``Limits.max_restarts``).
"""

from __future__ import annotations

import io
from typing import BinaryIO

from msuinspect.cab.cabinet import Cabinet, ParsedLayout
from msuinspect.cab.store import MemberStore
from msuinspect.cab.structs import SIGNATURE, CabMember
from msuinspect.source import READ_BUFFER, ByteSource, BytesSource, ReplayStream


class MemberSource(ByteSource):
    """The bytes of ``member`` of ``parent``."""

    def __init__(self, parent: MemberStore, member: CabMember) -> None:
        self.parent = parent
        self.member = member
        self.display_name = parent.member_path(member)

    @property
    def size(self) -> int:
        return self.member.size

    @property
    def random_access(self) -> bool:
        return False

    def open(self) -> BinaryIO:
        raw = ReplayStream(
            lambda: self.parent.member_chunks(self.member),
            self.member.size,
            self.parent.limits.max_restarts,
        )
        return io.BufferedReader(raw, READ_BUFFER)


def open_nested(
    parent: MemberStore,
    member: CabMember,
    data: bytes | None = None,
    *,
    parsed: ParsedLayout | None = None,
) -> Cabinet:
    """Open ``member`` of ``parent`` as a cabinet, sharing the parent's limits and budget.

    With ``data`` (the member's bytes, already decoded by the caller) the cabinet is read from
    memory; without, from a replayed stream of the parent's folder. ``parsed`` is the
    :attr:`Cabinet.parsed` of the same bytes opened before, if known (no parse then).
    """
    source: ByteSource = (
        MemberSource(parent, member)
        if data is None
        else BytesSource(data, parent.member_path(member))
    )
    return Cabinet.open(
        source,
        limits=parent.limits,
        codecs=parent.decoder.codecs,
        budget=parent.budget,
        depth=parent.depth + 1,
        parsed=parsed,
    )


def looks_like_cabinet(head: bytes) -> bool:
    """True when ``head`` (the first bytes of a member) starts a cabinet header."""
    return len(head) >= 8 and head[:4] == SIGNATURE and head[4:8] == b"\x00\x00\x00\x00"
