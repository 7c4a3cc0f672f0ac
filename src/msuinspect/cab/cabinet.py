"""The :class:`Cabinet`: one parsed cabinet plus streaming access to its members' bytes.

Decoding is organised per folder: a folder is decoded once from its first CFDATA block
and its output is cut into members by their ``uoffFolderStart``/``cbFile``. A backend that
fails hands over to the next one that supports the compression type (the bytes already
delivered are checked against the new backend's output), and every folder records which
backend produced it.
"""

from __future__ import annotations

import functools
import io
import os
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO, Protocol

from msuinspect.cab.cfdata import BlockCounter, iter_blocks
from msuinspect.cab.codecs.base import Codec, default_codecs
from msuinspect.cab.layout import LAYER, parse_layout
from msuinspect.cab.structs import (
    CabFolder,
    CabLayout,
    CabMember,
    SignatureArea,
)
from msuinspect.errors import (
    CabinetSetError,
    CodecError,
    DecodeError,
    LimitExceededError,
    MsuInspectError,
    UnsupportedCompressionError,
)
from msuinspect.findings import Finding, Severity
from msuinspect.limits import Limits, OutputBudget
from msuinspect.source import READ_BUFFER, ByteSource, FileSource, ReplayStream

#: signature blobs larger than this are not read into memory
MAX_SIGNATURE_BLOB = 64 * 1024 * 1024


@dataclass(slots=True)
class DecodeRecord:
    """Which backend decoded a folder, and which failed before it."""

    folder: int
    compression: str
    codec: str | None = None
    failures: list[tuple[str, str]] = field(default_factory=list)
    blocks: int = 0
    compressed: int = 0
    produced: int = 0

    def describe(self) -> str:
        text = f"folder {self.folder} ({self.compression}): "
        text += f"decoded by {self.codec}" if self.codec else "not decoded"
        for name, err in self.failures:
            text += f"; {name} failed: {err}"
        return text


class MemberSink(Protocol):
    """Receives one member's bytes during :meth:`Cabinet.walk`."""

    def write(self, data: bytes) -> None: ...

    def close(self) -> None: ...

    def abort(self, error: MsuInspectError) -> None: ...


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
        self.decode_log: list[DecodeRecord] = []

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
    def _codecs_for(self, folder: CabFolder) -> list[Codec]:
        kind = folder.compression.kind
        if kind is None:
            raise UnsupportedCompressionError(
                f"unsupported compression: unknown type 0x{folder.compression.raw:04x} "
                f"in folder {folder.index}",
                offset=folder.record_offset + 6,
                path=self.display_name,
            )
        found = [c for c in self.codecs if kind in c.kinds]
        if not found:
            raise UnsupportedCompressionError(
                f"unsupported compression: {kind.name.title()} "
                f"(folder {folder.index}, {folder.compression}); no installed decoder "
                "supports it (install libmspack: Debian package libmspack0)",
                offset=folder.record_offset + 6,
                path=self.display_name,
            )
        return found

    def folder_stream(self, folder: CabFolder, need: int) -> Iterator[bytes]:
        """The first ``need`` decoded bytes of ``folder``, in chunks."""
        if need <= 0:
            return
        codecs = self._codecs_for(folder)
        record = DecodeRecord(folder.index, str(folder.compression))
        emitted = 0
        emitted_crc = 0
        limits = self.limits
        for codec in codecs:
            counter = BlockCounter()
            pos = 0
            replay_crc = 0
            try:
                with self.source.open() as f:
                    blocks = iter_blocks(
                        f,
                        self.layout,
                        folder,
                        need=need,
                        counter=counter,
                        on_overflow=functools.partial(self._note_overflow, folder),
                    )
                    gen = codec.decode(blocks, folder, need)
                    try:
                        for chunk in gen:
                            n = len(chunk)
                            if n == 0:
                                continue
                            self.budget.consume(n)
                            if pos + n > limits.ratio_grace and pos + n > limits.max_ratio * max(
                                counter.compressed, 1
                            ):
                                raise LimitExceededError(
                                    f"folder {folder.index} expands beyond the ratio limit "
                                    f"({pos + n} bytes from {counter.compressed} compressed; "
                                    f"limit {limits.max_ratio:g}:1, raise with --max-ratio)",
                                    path=self.display_name,
                                )
                            if pos < emitted:
                                # re-decoding what an earlier backend already delivered
                                k = min(n, emitted - pos)
                                replay_crc = zlib.crc32(chunk[:k], replay_crc)
                                pos += k
                                if pos == emitted and replay_crc != emitted_crc:
                                    raise DecodeError(
                                        f"decoders disagree on folder {folder.index}: "
                                        f"{codec.description} differs from the bytes already "
                                        "delivered",
                                        path=self.display_name,
                                    )
                                if k == n:
                                    continue
                                chunk = chunk[k:]
                                n = len(chunk)
                            if pos + n > need:
                                chunk = chunk[: need - pos]
                                n = len(chunk)
                            emitted_crc = zlib.crc32(chunk, emitted_crc)
                            emitted += n
                            pos += n
                            yield chunk
                            if pos >= need:
                                break
                    finally:
                        gen.close()
                if pos < need:
                    raise CodecError(f"folder data ends after {pos} bytes but members need {need}")
                record.codec = codec.description
                record.blocks = counter.blocks
                record.compressed = counter.compressed
                record.produced = pos
                self._record(record)
                return
            except CodecError as exc:
                record.failures.append((codec.description, exc.message))
                continue
            except MsuInspectError as exc:
                record.failures.append((codec.description, exc.message))
                self._record(record)
                raise exc.with_path(self.display_name) from None
        self._record(record)
        reasons = "; ".join(f"{name}: {err}" for name, err in record.failures)
        raise DecodeError(
            f"folder {folder.index} ({folder.compression}) could not be decoded: {reasons}",
            path=self.display_name,
        )

    def _record(self, record: DecodeRecord) -> None:
        self.decode_log.append(record)

    def _note_overflow(self, folder: CabFolder, offset: int) -> None:
        self.findings.append(
            Finding(
                "cab-cfdata-count-overflow",
                Severity.WARNING,
                f"folder {folder.index} has more CFDATA blocks than its 16-bit count "
                f"({folder.c_cf_data}) says; reading on (a cabinet over 2 GiB)",
                LAYER,
                path=self.display_name,
                offset=offset,
            )
        )

    def _folder_of(self, member: CabMember) -> CabFolder:
        if member.continued:
            raise CabinetSetError(
                f"member {member.name!r} continues in another cabinet of a multi-volume set; "
                "open the whole set",
                offset=member.record_offset,
                path=self.display_name,
            )
        return self.layout.folders[member.folder_index]

    def member_chunks(self, member: CabMember) -> Iterator[bytes]:
        """The bytes of one member, decoding its folder from the start."""
        folder = self._folder_of(member)
        if member.size == 0:
            return
        pos = 0
        start, end = member.offset, member.end
        for chunk in self.folder_stream(folder, end):
            n = len(chunk)
            if pos + n > start:
                yield chunk[max(0, start - pos) : end - pos]
            pos += n

    def open_member(self, member: CabMember) -> BinaryIO:
        """A seekable stream over one member (re-decodes on backward seeks)."""
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

        ``handler(member)`` returns a sink, or None to skip the member. Overlapping members
        are served from the same pass. A folder that fails to decode fails the members not
        yet complete; other folders go on. A limit error aborts all and is raised.
        """
        selected = list(self.members if members is None else members)
        outcomes: dict[int, MemberOutcome] = {}
        by_folder: dict[int, list[tuple[CabMember, MemberSink]]] = {}
        for m in selected:
            try:
                self._folder_of(m)
            except CabinetSetError as exc:
                outcomes[m.index] = MemberOutcome(m, exc)
                continue
            sink = handler(m)
            if sink is None:
                continue
            by_folder.setdefault(m.folder_index, []).append((m, sink))
        for folder_index in sorted(by_folder):
            pairs = sorted(by_folder[folder_index], key=lambda p: (p[0].offset, p[0].index))
            self._walk_folder(self.layout.folders[folder_index], pairs, outcomes)
        return [outcomes[m.index] for m in selected if m.index in outcomes]

    def _walk_folder(
        self,
        folder: CabFolder,
        pairs: list[tuple[CabMember, MemberSink]],
        outcomes: dict[int, MemberOutcome],
    ) -> None:
        need = max(m.end for m, _ in pairs)
        pending = list(pairs)  # sorted by start
        active: list[tuple[CabMember, MemberSink]] = []
        nxt = 0
        pos = 0

        def finish(m: CabMember, sink: MemberSink, error: MsuInspectError | None) -> None:
            if error is None:
                sink.close()
            else:
                sink.abort(error)
            outcomes[m.index] = MemberOutcome(m, error)

        # zero-length members need no data
        while nxt < len(pending) and pending[nxt][0].size == 0 and pending[nxt][0].offset <= pos:
            finish(*pending[nxt], None)
            nxt += 1
        try:
            for chunk in self.folder_stream(folder, need):
                end = pos + len(chunk)
                while nxt < len(pending) and pending[nxt][0].offset < end:
                    m, sink = pending[nxt]
                    nxt += 1
                    if m.size == 0:
                        finish(m, sink, None)
                    else:
                        active.append((m, sink))
                still: list[tuple[CabMember, MemberSink]] = []
                for m, sink in active:
                    lo = max(m.offset, pos) - pos
                    hi = min(m.end, end) - pos
                    if hi > lo:
                        sink.write(chunk[lo:hi])
                    if m.end <= end:
                        finish(m, sink, None)
                    else:
                        still.append((m, sink))
                active = still
                pos = end
            while nxt < len(pending) and pending[nxt][0].size == 0:
                finish(*pending[nxt], None)
                nxt += 1
        except LimitExceededError as exc:
            for m, sink in active + pending[nxt:]:
                finish(m, sink, exc)
            raise
        except MsuInspectError as exc:
            exc.with_path(self.display_name)
            for m, sink in active + pending[nxt:]:
                finish(m, sink, exc)
            return
        for m, sink in active + pending[nxt:]:
            finish(
                m,
                sink,
                DecodeError(
                    f"member {m.name!r} ends at folder offset {m.end}, beyond the folder's "
                    f"decoded data ({pos} bytes)",
                    path=self.display_name,
                ),
            )
