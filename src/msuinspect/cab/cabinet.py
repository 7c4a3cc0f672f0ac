"""The :class:`Cabinet`: one parsed cabinet plus streaming access to its members' bytes.

Decoding is organised per folder (see :mod:`.decode`): a folder is decoded once from its
first CFDATA block and its output is cut into members by their ``uoffFolderStart`` and
``cbFile``.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from msuinspect.cab.codecs.base import Codec, default_codecs
from msuinspect.cab.decode import (
    Decoder,
    DecodeRecord,
    FolderPlan,
    FolderSegment,
    MemberSink,
    WalkItem,
)
from msuinspect.cab.layout import parse_layout
from msuinspect.cab.structs import CabFolder, CabLayout, CabMember, SignatureArea
from msuinspect.errors import CabinetSetError, LimitExceededError, MsuInspectError
from msuinspect.findings import Finding
from msuinspect.limits import Limits, OutputBudget
from msuinspect.source import READ_BUFFER, ByteSource, FileSource, ReplayStream

#: signature blobs larger than this are not read into memory
MAX_SIGNATURE_BLOB = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class MemberOutcome:
    member: CabMember
    error: MsuInspectError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class Cabinet:
    """A parsed cabinet. Create with :meth:`open`; members are in ``members``."""

    def __init__(
        self,
        source: ByteSource,
        layout: CabLayout,
        findings: list[Finding],
        *,
        limits: Limits,
        codecs: Sequence[Codec],
        budget: OutputBudget,
        depth: int,
    ) -> None:
        self.source = source
        self.layout = layout
        self.findings = findings
        self.limits = limits
        self.codecs = list(codecs)
        self.budget = budget
        self.depth = depth
        self.decoder = Decoder(self.codecs, limits, budget)
        self.plans = [
            FolderPlan(
                f"folder {fo.index}", source.display_name, (FolderSegment(source, layout, fo),)
            )
            for fo in layout.folders
        ]

    # ----------------------------------------------------------------- opening
    @classmethod
    def open(
        cls,
        source: ByteSource | str | os.PathLike[str],
        *,
        offset: int = 0,
        limits: Limits | None = None,
        codecs: Sequence[Codec] | None = None,
        budget: OutputBudget | None = None,
        depth: int = 0,
    ) -> Cabinet:
        """Parse the cabinet at ``offset`` of ``source`` (a path or a :class:`ByteSource`)."""
        if not isinstance(source, ByteSource):
            source = FileSource(source)
        limits = limits or Limits()
        if depth > limits.max_depth:
            raise LimitExceededError(
                f"cabinets nested deeper than {limits.max_depth} levels", path=source.display_name
            )
        findings: list[Finding] = []
        try:
            with source.open() as f:
                layout = parse_layout(
                    f,
                    source.size,
                    base=offset,
                    limits=limits,
                    findings=findings,
                    probe_signature=source.random_access,
                )
        except MsuInspectError as exc:
            raise exc.with_path(source.display_name) from None
        findings = [fi.with_path(source.display_name) for fi in findings]
        return cls(
            source,
            layout,
            findings,
            limits=limits,
            codecs=codecs if codecs is not None else default_codecs(),
            budget=budget or OutputBudget(limits.max_total_output),
            depth=depth,
        )

    # --------------------------------------------------------------- accessors
    @property
    def display_name(self) -> str:
        return self.source.display_name

    @property
    def members(self) -> tuple[CabMember, ...]:
        return self.layout.members

    @property
    def folders(self) -> tuple[CabFolder, ...]:
        return self.layout.folders

    @property
    def signature(self) -> SignatureArea | None:
        return self.layout.signature

    def member_path(self, member: CabMember) -> str:
        """The node path of a member: ``<cabinet path>!/<member name>``."""
        return f"{self.display_name}!/{member.name}"

    def find(self, name: str) -> list[CabMember]:
        """Members whose name matches ``name`` (case-insensitive, '/' or '\\')."""
        want = name.replace("/", "\\").casefold()
        return [m for m in self.members if m.name.replace("/", "\\").casefold() == want]

    def read_signature_blob(self) -> bytes | None:
        """The bytes of the declared signature area, or None when there is none or it lies
        outside the file."""
        sig = self.layout.signature
        if sig is None or not sig.within_file:
            return None
        if sig.size > MAX_SIGNATURE_BLOB:
            raise LimitExceededError(
                f"signature area of {sig.size} bytes is larger than {MAX_SIGNATURE_BLOB}",
                offset=sig.offset,
                path=self.display_name,
            )
        with self.source.open() as f:
            f.seek(sig.offset)
            return f.read(sig.size)

    # ---------------------------------------------------------------- decoding
    @property
    def decode_log(self) -> list[DecodeRecord]:
        return self.decoder.log

    def plan(self, folder: CabFolder) -> FolderPlan:
        return self.plans[folder.index]

    def _plan_of(self, member: CabMember) -> FolderPlan:
        if member.continued:
            raise CabinetSetError(
                f"member {member.name!r} continues in another cabinet of a multi-volume set; "
                "open the whole set",
                offset=member.record_offset,
                path=self.display_name,
            )
        return self.plans[member.folder_index]

    def folder_stream(self, folder: CabFolder, need: int) -> Iterator[bytes]:
        """The first ``need`` decoded bytes of ``folder``, in chunks."""
        return self.decoder.stream(self.plans[folder.index], need)

    def member_chunks(self, member: CabMember) -> Iterator[bytes]:
        """The bytes of one member, decoding its folder from the start."""
        return self.decoder.member_chunks(self._plan_of(member), member)

    def open_member(self, member: CabMember) -> BinaryIO:
        """A seekable stream over one member (re-decodes on backward seeks)."""
        self._plan_of(member)
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

        ``handler(member)`` returns a sink, or None to skip the member. See
        :meth:`Decoder.walk`.
        """
        selected = list(self.members if members is None else members)
        outcomes: dict[Hashable, MsuInspectError | None] = {}
        items: list[WalkItem] = []
        for m in selected:
            try:
                plan = self._plan_of(m)
            except CabinetSetError as exc:
                outcomes[m.index] = exc
                continue
            sink = handler(m)
            if sink is not None:
                items.append(WalkItem(m.index, plan, m, sink))
        outcomes.update(self.decoder.walk(items))
        return [MemberOutcome(m, outcomes[m.index]) for m in selected if m.index in outcomes]
