"""Turning folders into bytes: backend selection and fallback, limits, and cutting a folder's
output into members.

A :class:`FolderPlan` is one logical folder: usually one CFFOLDER of one cabinet, or, in a
multi-volume set, a folder continued across several cabinets (its segments). The
:class:`Decoder` walks the plan's CFDATA blocks (joining blocks split across cabinets),
feeds them to the first backend that supports the compression type, and falls back to the
next one on failure. Bytes already delivered by a failed backend are compared (CRC-32) with
the next backend's output before it continues, so a fallback can never silently change
data. Every folder leaves a :class:`DecodeRecord` saying which backend produced it.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Callable, Generator, Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from msuinspect.cab.cfdata import BlockCounter, DataBlock, iter_blocks, last_block_is_split
from msuinspect.cab.codecs.base import Codec
from msuinspect.cab.prefetch import LOOKAHEAD_BYTES, MAX_AHEAD, MIN_PREFETCH, Prefetch
from msuinspect.cab.structs import CabFolder, CabLayout, CabMember, Compression, CompressionKind
from msuinspect.errors import (
    CodecError,
    DecodeError,
    LimitExceededError,
    MsuInspectError,
    TruncatedError,
    UnsupportedCompressionError,
)
from msuinspect.findings import Finding, Severity
from msuinspect.limits import Limits, OutputBudget
from msuinspect.source import ByteSource

LAYER = "cab"
_UNSET = object()


@dataclass(frozen=True, slots=True)
class FolderSegment:
    source: ByteSource
    layout: CabLayout
    folder: CabFolder


@dataclass(frozen=True, slots=True)
class FolderPlan:
    """One logical folder and where its CFDATA blocks are."""

    label: str  #: e.g. ``folder 0`` or ``folder 1 of split-1.cab + 2 more cabinets``
    path: str  #: node path of the cabinet the folder starts in
    segments: tuple[FolderSegment, ...]

    @property
    def compression(self) -> Compression:
        return self.segments[0].folder.compression

    @property
    def declared_blocks(self) -> int:
        """Sum of the segments' ``cCFData`` (a block split across cabinets counts twice)."""
        return sum(s.folder.c_cf_data for s in self.segments)

    def block_count(self) -> int:
        """Blocks after joining those split across cabinets (reads block headers)."""
        total = self.declared_blocks
        for seg in self.segments[:-1]:
            with seg.source.open() as f:
                if last_block_is_split(f, seg.layout, seg.folder):
                    total -= 1
        return total

    @property
    def first(self) -> FolderSegment:
        return self.segments[0]


@dataclass(slots=True)
class DecodeRecord:
    """Which backend decoded a folder, and which failed before it."""

    path: str
    folder: str
    compression: str
    codec: str | None = None
    failures: list[tuple[str, str]] = field(default_factory=list)
    blocks: int = 0
    compressed: int = 0
    produced: int = 0

    def describe(self) -> str:
        text = f"{self.folder} ({self.compression}): "
        text += f"decoded by {self.codec}" if self.codec else "not decoded"
        for name, err in self.failures:
            text += f"; {name} failed: {err}"
        return text


class MemberSink(Protocol):
    """Receives one member's bytes during a walk."""

    def write(self, data: bytes) -> None: ...

    def close(self) -> None: ...

    def abort(self, error: MsuInspectError) -> None: ...


@dataclass(frozen=True, slots=True)
class WalkItem:
    key: Hashable
    plan: FolderPlan
    member: CabMember
    sink: MemberSink


def plan_blocks(
    plan: FolderPlan,
    *,
    need: int,
    counter: BlockCounter,
    on_overflow: Callable[[int], None] | None = None,
    verify_checksums: bool = True,
) -> Generator[DataBlock, None, None]:
    """The plan's blocks in order; a block split across cabinets (``cbUncomp`` 0 in the first
    part) is joined with its continuation."""
    pending: DataBlock | None = None
    single = len(plan.segments) == 1
    for seg in plan.segments:
        with seg.source.open() as f:
            for b in iter_blocks(
                f,
                seg.layout,
                seg.folder,
                need=need if single else 0,
                counter=counter,
                on_overflow=on_overflow if single else None,
                verify_checksums=verify_checksums,
            ):
                if pending is not None:
                    b = DataBlock(
                        pending.offset,
                        0,
                        pending.cb_data + b.cb_data,
                        b.cb_uncomp,
                        b.reserve,
                        pending.data + b.data,
                    )
                    pending = None
                if b.cb_uncomp == 0:
                    pending = b
                    continue
                yield b
    counter.exhausted = True
    if pending is not None:
        raise TruncatedError(
            f"{plan.label}: the last CFDATA block continues in a cabinet that is not present",
            offset=pending.offset,
        )


_KIND_NAMES = {
    CompressionKind.NONE: "stored",
    CompressionKind.MSZIP: "MSZIP",
    CompressionKind.LZX: "LZX",
    CompressionKind.QUANTUM: "Quantum",
}
_INSTALL_HINT = {
    CompressionKind.LZX: " (install libarchive13 or libmspack0)",
    CompressionKind.QUANTUM: " (install libmspack0, the library behind cabextract)",
}


def codec_order(codecs: Sequence[Codec], compression: Compression) -> list[Codec]:
    """The backends of ``codecs`` that decode ``compression``, in the order they are tried:
    as given, except that an LZX folder goes first to a backend that rejects matches before
    the folder's start (libmspack), when one is there; the output of any other is checked
    over its first window (:func:`_start_checked`). Measured on the benchmark and on real
    update cabinets: as fast as libarchive with the check, and simpler to reason about."""
    kind = compression.kind
    found = [c for c in codecs if kind is not None and kind in c.kinds]
    if kind is CompressionKind.LZX:
        found.sort(key=lambda c: not c.rejects_lzx_before_start)  # stable
    return found


def _nothing() -> Generator[DataBlock, None, None]:
    yield from ()


def _start_checked(
    plan: FolderPlan,
    codec: Codec,
    gen: Generator[bytes, None, None],
    checker: Codec,
    window: int,
    block_count: int,
) -> Generator[bytes, None, None]:
    """``gen``'s output, its first ``window`` bytes held back until ``checker`` (a backend
    that rejects LZX matches before the folder's start) has decoded the same bytes. Only the
    first window can reach back before the start: later matches stay inside the output."""
    head: list[bytes] | None = []
    got = 0
    try:
        for chunk in gen:
            if head is None:
                yield chunk
                continue
            head.append(chunk)
            got += len(chunk)
            if got >= window:
                _check_start(plan, codec, head, window, checker, block_count)
                yield from head
                head = None
        if head is not None and got:
            _check_start(plan, codec, head, got, checker, block_count)
            yield from head
    finally:
        gen.close()


def _check_start(
    plan: FolderPlan,
    codec: Codec,
    head: list[bytes],
    n: int,
    checker: Codec,
    block_count: int,
) -> None:
    crc = 0
    left = n
    for chunk in head:
        crc = zlib.crc32(chunk[:left], crc)
        left -= min(left, len(chunk))
        if not left:
            break
    blocks = plan_blocks(plan, need=n, counter=BlockCounter(), verify_checksums=False)
    other = done = 0
    try:
        for chunk in checker.decode(blocks, plan.compression, block_count, n):
            take = min(len(chunk), n - done)
            other = zlib.crc32(chunk[:take], other)
            done += take
            if done >= n:
                break
    except CodecError as exc:
        raise CodecError(
            f"{checker.description} rejects the first {n} bytes of {plan.label} that "
            f"{codec.description} decoded ({exc.message}): invalid LZX data, such as a match "
            f"before the start of the folder, which {codec.description} fills from stale memory"
        ) from None
    finally:
        blocks.close()
    if done < n or other != crc:
        raise CodecError(
            f"{codec.description} and {checker.description} disagree on the first {n} bytes "
            f"of {plan.label}"
        )


class FolderDataEnded(DecodeError):
    """The folder's blocks hold fewer bytes than its members claim."""

    code = "member-beyond-folder-data"

    def __init__(self, plan: FolderPlan, available: int, need: int, member: str = "") -> None:
        what = f"member {member!r} ends" if member else "members end"
        super().__init__(
            f"{what} at folder offset {need}, beyond the {available} bytes that {plan.label} holds",
            path=plan.path,
        )
        self.available = available


class Decoder:
    """Decodes folder plans with the configured backends, within the limits."""

    def __init__(
        self,
        codecs: Sequence[Codec],
        limits: Limits,
        budget: OutputBudget,
        findings: list[Finding],
    ) -> None:
        self.codecs = list(codecs)
        self.limits = limits
        self.budget = budget
        self.log: list[DecodeRecord] = []
        self._block_counts: dict[int, int] = {}  # id(plan) -> joined block count
        #: the store's findings list: what decoding learns is reported with the cabinet's
        self.findings = findings
        #: the backend that checks the start of LZX output (resolved on first use)
        self._checker: Codec | object | None = _UNSET
        #: folders being decoded ahead on a worker thread, by (id(plan), need)
        self._prefetched: dict[tuple[int, int], tuple[Codec, Prefetch]] = {}

    def _codecs_for(self, plan: FolderPlan) -> list[Codec]:
        """The enabled backends for the plan, in the order to try them (:func:`codec_order`)."""
        return codec_order(self._enabled_for(plan), plan.compression)

    def _enabled_for(self, plan: FolderPlan) -> list[Codec]:
        comp = plan.compression
        kind = comp.kind
        offset = plan.first.folder.record_offset + 6
        if kind is None:
            raise UnsupportedCompressionError(
                f"unsupported compression: unknown type 0x{comp.raw:04x} in {plan.label}",
                offset=offset,
                path=plan.path,
            )
        found = [c for c in self.codecs if kind in c.kinds]
        if not found:
            hint = _INSTALL_HINT.get(kind, "")
            raise UnsupportedCompressionError(
                f"unsupported compression: {_KIND_NAMES[kind]} ({plan.label}, {comp}); no "
                f"enabled decoder supports it{hint}",
                offset=offset,
                path=plan.path,
            )
        return found

    def _overflow(self, plan: FolderPlan, offset: int) -> None:
        if any(f.code == "cab-cfdata-count-overflow" and f.offset == offset for f in self.findings):
            return  # noted when an earlier pass read this folder
        self.findings.append(
            Finding(
                "cab-cfdata-count-overflow",
                Severity.WARNING,
                f"{plan.label} has more CFDATA blocks than its 16-bit count "
                f"({plan.first.folder.c_cf_data}) says; reading on (a cabinet over 2 GiB)",
                LAYER,
                path=plan.path,
                offset=offset,
            )
        )

    @staticmethod
    def _can_delegate_checksums(plan: FolderPlan, codec: Codec) -> bool:
        """A backend that verifies checksums in C may do it instead of us when the blocks
        carry no reserve (the checksum covers it, and the synthetic cabinet drops it) and no
        block is joined across cabinets."""
        return (
            codec.verifies_checksums
            and len(plan.segments) == 1
            and plan.first.layout.header.cb_cf_data == 0
        )

    def _block_count(self, plan: FolderPlan) -> int:
        """The plan's joined block count (block headers read once per plan of a set)."""
        count = self._block_counts.get(id(plan))
        if count is None:
            count = self._block_counts[id(plan)] = plan.block_count()
        return count

    def _start_checker(self, plan: FolderPlan, codec: Codec) -> Codec | None:
        """The backend that checks the start of ``codec``'s output for ``plan``, if any is
        needed and installed (see :attr:`Codec.rejects_lzx_before_start`)."""
        if codec.rejects_lzx_before_start or plan.compression.kind is not CompressionKind.LZX:
            return None
        if self._checker is _UNSET:
            from msuinspect.cab.codecs.registry import default_codecs

            pool = [*self.codecs, *default_codecs()]
            self._checker = next(
                (c for c in pool if CompressionKind.LZX in c.kinds and c.rejects_lzx_before_start),
                None,
            )
        return self._checker if isinstance(self._checker, Codec) else None

    def _decode(
        self,
        plan: FolderPlan,
        codec: Codec,
        checker: Codec | None,
        blocks: Iterator[DataBlock],
        block_count: int,
        need: int,
        delegate: bool,
    ) -> Generator[bytes, None, None]:
        gen = codec.decode(blocks, plan.compression, block_count, need, keep_checksums=delegate)
        bits = plan.compression.window_bits
        if checker is None or bits is None:
            return gen
        return _start_checked(plan, codec, gen, checker, min(need, 1 << bits), block_count)

    def prefetch(self, plan: FolderPlan, need: int) -> None:
        """Start decoding the first ``need`` bytes of the folder on a worker thread, for a
        later :meth:`stream` of the same plan and size (which then takes its output).

        Only a folder in one cabinet that is cheap to read at any offset, large enough to be
        worth a thread, and with a backend for its compression is prefetched; anything else
        (and any error) is left to :meth:`stream`, which reports it where it always has.
        """
        key = (id(plan), need)
        if (
            need < MIN_PREFETCH
            or key in self._prefetched
            or len(plan.segments) != 1
            or not plan.first.source.random_access
        ):
            return
        try:
            codec = self._codecs_for(plan)[0]
        except MsuInspectError:
            return
        block_count = self._block_count(plan)  # one segment: no I/O
        delegate = self._can_delegate_checksums(plan, codec)
        checker = self._start_checker(plan, codec)

        def start(
            counter: BlockCounter, on_overflow: Callable[[int], None]
        ) -> Generator[bytes, None, None]:
            blocks = plan_blocks(
                plan,
                need=need,
                counter=counter,
                on_overflow=on_overflow,
                verify_checksums=not delegate,
            )
            try:
                yield from self._decode(plan, codec, checker, blocks, block_count, need, delegate)
            finally:
                blocks.close()

        self._prefetched[key] = (codec, Prefetch(start))

    def cancel_prefetch(self) -> None:
        """Stop every worker that was started for a folder not streamed (yet)."""
        while self._prefetched:
            _key, (_codec, ahead) = self._prefetched.popitem()
            ahead.close()

    def stream(self, plan: FolderPlan, need: int) -> Iterator[bytes]:
        """The first ``need`` decoded bytes of the folder, in chunks.

        Checksums are verified by the backend when it can (fast, in C); once a backend has
        failed, later attempts verify them here, so a corrupt block is reported as a
        :class:`~msuinspect.errors.ChecksumError` with its offset.
        """
        if need <= 0:
            return
        codecs = self._codecs_for(plan)
        block_count = self._block_count(plan)
        record = DecodeRecord(plan.path, plan.label, str(plan.compression))
        emitted = 0
        emitted_crc = 0
        limits = self.limits
        budget = self.budget
        for attempt, codec in enumerate(codecs):
            counter = BlockCounter()
            pos = 0
            replay_crc = 0
            delegate = attempt == 0 and self._can_delegate_checksums(plan, codec)
            ahead = self._prefetched.pop((id(plan), need), None) if attempt == 0 else None
            if ahead is not None and ahead[0] is not codec:
                ahead[1].close()
                ahead = None
            try:
                gen: Generator[bytes, None, None]
                if ahead is not None:
                    prefetch = ahead[1]
                    counter = prefetch.counter
                    blocks = _nothing()
                    gen = prefetch.chunks(functools.partial(self._overflow, plan))
                else:
                    prefetch = None
                    blocks = plan_blocks(
                        plan,
                        need=need,
                        counter=counter,
                        on_overflow=functools.partial(self._overflow, plan),
                        verify_checksums=not delegate,
                    )
                    gen = self._decode(
                        plan,
                        codec,
                        self._start_checker(plan, codec),
                        blocks,
                        block_count,
                        need,
                        delegate,
                    )
                try:
                    for chunk in gen:
                        n = len(chunk)
                        if n == 0:
                            continue
                        # counted up to one byte past the limit: how far over a chunk goes
                        # depends on the backend's chunk size, and its bytes are not delivered
                        budget.consume(min(n, budget.limit - budget.used + 1))
                        if pos + n > limits.ratio_grace and pos + n > limits.max_ratio * max(
                            counter.compressed, 1
                        ):
                            raise LimitExceededError(
                                f"{plan.label} expands beyond the ratio limit ({pos + n} bytes "
                                f"from {counter.compressed} compressed; limit "
                                f"{limits.max_ratio:g}:1, raise it with --max-ratio)",
                                path=plan.path,
                            )
                        if pos < emitted:
                            # re-decoding what an earlier backend already delivered
                            k = min(n, emitted - pos)
                            replay_crc = zlib.crc32(chunk[:k], replay_crc)
                            pos += k
                            if pos == emitted and replay_crc != emitted_crc:
                                raise DecodeError(
                                    f"decoders disagree on {plan.label}: {codec.description} "
                                    "differs from the bytes already delivered",
                                    path=plan.path,
                                )
                            if k == n:
                                continue
                            chunk = chunk[k:]
                            n = len(chunk)
                        if pos + n > need:
                            chunk = chunk[: need - pos]
                            n = len(chunk)
                            emitted_crc = zlib.crc32(chunk, emitted_crc)
                        elif prefetch is not None:
                            # the worker's running CRC: every chunk before was delivered whole
                            emitted_crc = prefetch.crc
                        else:
                            emitted_crc = zlib.crc32(chunk, emitted_crc)
                        emitted += n
                        pos += n
                        yield chunk
                        if pos >= need:
                            break
                finally:
                    gen.close()
                    blocks.close()
                    if prefetch is not None:
                        prefetch.close()
                if pos < need:
                    raise CodecError(f"folder data ends after {pos} bytes; members need {need}")
                record.codec = codec.description
                record.blocks = counter.blocks
                record.compressed = counter.compressed
                record.produced = pos
                self.log.append(record)
                return
            except CodecError as exc:
                if counter.exhausted and pos >= counter.uncompressed:
                    # the backend delivered every byte the blocks hold: the data simply ends
                    record.codec = codec.description
                    record.blocks = counter.blocks
                    record.compressed = counter.compressed
                    record.produced = pos
                    self.log.append(record)
                    raise FolderDataEnded(plan, pos, need) from None
                record.failures.append((codec.description, exc.message))
                continue
            except MsuInspectError as exc:
                record.failures.append((codec.description, exc.message))
                self.log.append(record)
                raise exc.with_path(plan.path) from None
        self.log.append(record)
        if self._can_delegate_checksums(plan, codecs[0]):
            # the first backend checked checksums itself: name the corrupt block precisely
            try:
                for _ in plan_blocks(plan, need=need, counter=BlockCounter()):
                    pass
            except MsuInspectError as exc:
                raise exc.with_path(plan.path) from None
        reasons = "; ".join(f"{name}: {err}" for name, err in record.failures)
        raise DecodeError(
            f"{plan.label} ({plan.compression}) could not be decoded: {reasons}", path=plan.path
        )

    def member_chunks(self, plan: FolderPlan, member: CabMember) -> Iterator[bytes]:
        """The bytes of one member, decoding its folder from the start."""
        if member.size == 0:
            return
        pos = 0
        start, end = member.offset, member.end
        for chunk in self.stream(plan, end):
            n = len(chunk)
            if pos + n > start:
                yield chunk[max(0, start - pos) : end - pos]
            pos += n

    def walk(self, items: Sequence[WalkItem]) -> dict[Hashable, MsuInspectError | None]:
        """Decode each plan once and feed every member's bytes to its sink.

        Overlapping members are served from the same pass. A folder that fails fails the
        members not yet complete; other folders go on. A limit error aborts everything.
        """
        outcomes: dict[Hashable, MsuInspectError | None] = {}
        groups: dict[int, list[WalkItem]] = {}
        plans: dict[int, FolderPlan] = {}
        for it in items:
            groups.setdefault(id(it.plan), []).append(it)
            plans[id(it.plan)] = it.plan
        order = list(groups.items())
        needs = [max(i.member.end for i in group) for _pid, group in order]
        try:
            for k, (pid, group) in enumerate(order):
                # decode this folder, and the next ones up to a bounded amount of output, on
                # worker threads while this one is cut
                self.prefetch(plans[pid], needs[k])
                ahead = 0
                for j in range(k + 1, min(len(order), k + 1 + MAX_AHEAD)):
                    ahead += min(needs[j], LOOKAHEAD_BYTES)
                    if ahead > LOOKAHEAD_BYTES and j > k + 1:
                        break
                    self.prefetch(plans[order[j][0]], needs[j])
                group.sort(key=lambda i: (i.member.offset, i.member.index))
                self._walk_plan(plans[pid], group, outcomes)
        finally:
            self.cancel_prefetch()
        return outcomes

    def _walk_plan(
        self,
        plan: FolderPlan,
        pending: list[WalkItem],
        outcomes: dict[Hashable, MsuInspectError | None],
    ) -> None:
        need = max(i.member.end for i in pending)
        active: list[WalkItem] = []
        nxt = 0
        pos = 0

        def finish(item: WalkItem, error: MsuInspectError | None) -> None:
            if error is None:
                item.sink.close()
            else:
                item.sink.abort(error)
            outcomes[item.key] = error

        ended: FolderDataEnded | None = None
        try:
            for chunk in self.stream(plan, need):
                end = pos + len(chunk)
                while nxt < len(pending) and pending[nxt].member.offset < end:
                    active.append(pending[nxt])
                    nxt += 1
                still: list[WalkItem] = []
                for it in active:
                    m = it.member
                    lo = max(m.offset, pos) - pos
                    hi = min(m.end, end) - pos
                    if hi > lo:
                        it.sink.write(chunk[lo:hi])
                    if m.end <= end:
                        finish(it, None)
                    else:
                        still.append(it)
                active = still
                pos = end
        except FolderDataEnded as exc:
            ended = exc
        except LimitExceededError as exc:
            for it in active + pending[nxt:]:
                finish(it, exc)
            raise
        except MsuInspectError as exc:
            exc.with_path(plan.path)
            for it in active + pending[nxt:]:
                finish(it, exc)
            return
        # what is left: zero-length members and members beyond the folder's data
        for it in active + pending[nxt:]:
            m = it.member
            if m.size == 0 and m.offset <= pos:
                finish(it, None)
            else:
                finish(
                    it,
                    FolderDataEnded(plan, pos, m.end, member=m.name)
                    if ended is not None or pos < m.end
                    else DecodeError(f"member {m.name!r} was not decoded", path=plan.path),
                )
