"""Decoding the next folder on a second thread while this one is being consumed.

The decoders release the GIL while they decompress (libarchive and libmspack through
ctypes, zlib in C), so two folders can decode at once on two CPUs, and the consumer's work
(cutting members, hashing, analysis) overlaps with decoding. A :class:`Prefetch` runs one
backend over one folder's blocks in a worker thread and hands its output over in batches
through a bounded queue (:data:`BATCH_BYTES` x :data:`MAX_BATCHES`: bounded memory; the
worker waits when the consumer falls behind).

Everything the consumer sees is replayed in order, so results do not depend on thread
timing: each chunk carries a snapshot of the block counter as it was when the chunk was
produced, a 'too many blocks' notice is delivered where the serial walk would
have raised it, and an exception ends the stream at the point it was raised. Only the
backend and the block walk run on the worker: limits, budgets and findings stay with the
consumer; the worker also keeps the running CRC-32 of its output, which the consumer would
otherwise compute for its fallback check. A prefetch reads its source through its own file
handle, so only sources that are cheap to open and read at any offset are prefetched (never
a re-decoded nested member).
"""

from __future__ import annotations

import contextlib
import queue
import threading
import zlib
from collections.abc import Callable, Generator, Iterator
from typing import Final

from msuinspect.cab.cfdata import BlockCounter

#: output gathered before a batch is handed to the consumer
BATCH_BYTES: Final = 1 << 20
#: batches that may wait for the consumer
MAX_BATCHES: Final = 3
#: a walk prefetches the folders after the current one while their output adds up to at most
#: this much (at least one folder), and at most :data:`MAX_AHEAD` of them
LOOKAHEAD_BYTES: Final = 16 << 20
MAX_AHEAD: Final = 2
#: folders needing fewer bytes are decoded inline (a thread costs more than it saves)
MIN_PREFETCH: Final = 256 << 10

_Snapshot = tuple[int, int, int, bool, bool]


class _Item:
    """One hand-over: chunks (each with its counter snapshot), a 'too many blocks' notice,
    the end, or an exception (both with the counter as it was then)."""

    __slots__ = ("chunks", "error", "offset", "snap")

    def __init__(
        self,
        chunks: list[tuple[bytes, _Snapshot, int]] | None = None,
        *,
        snap: _Snapshot | None = None,
        offset: int | None = None,
        error: BaseException | None = None,
    ) -> None:
        self.chunks = chunks
        self.snap = snap
        self.offset = offset
        self.error = error


def _snap(c: BlockCounter) -> _Snapshot:
    return (c.blocks, c.compressed, c.uncompressed, c.overflowed, c.exhausted)


def _restore(c: BlockCounter, s: _Snapshot) -> None:
    c.blocks, c.compressed, c.uncompressed, c.overflowed, c.exhausted = s


class Prefetch:
    """One backend decoding one folder on a worker thread.

    ``start(counter, on_overflow)`` must return the backend's chunk generator over blocks
    counted by ``counter``; it runs on the worker. The consumer iterates :meth:`chunks`, whose
    ``counter`` mirrors the worker's as of the chunk being delivered, and calls
    :meth:`close` when done (also early: the worker stops at its next hand-off).
    """

    def __init__(
        self,
        start: Callable[[BlockCounter, Callable[[int], None]], Iterator[bytes]],
    ) -> None:
        self.counter = BlockCounter()
        #: CRC-32 of everything delivered so far, computed by the worker (the decoder's
        #: fallback check; see :meth:`msuinspect.cab.decode.Decoder.stream`)
        self.crc = 0
        self._start = start
        self._queue: queue.Queue[_Item] = queue.Queue(MAX_BATCHES)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="msuinspect-prefetch", daemon=True)
        self._thread.start()

    # -- worker side -------------------------------------------------------------------
    def _put(self, item: _Item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        counter = BlockCounter()
        batch: list[tuple[bytes, _Snapshot, int]] = []
        size = 0
        crc = 0

        def overflow(offset: int) -> None:
            nonlocal batch, size
            if batch:
                self._put(_Item(batch))
                batch, size = [], 0
            self._put(_Item(snap=_snap(counter), offset=offset))

        gen: Iterator[bytes] | None = None
        try:
            gen = self._start(counter, overflow)
            for chunk in gen:
                if self._stop.is_set():
                    return
                crc = zlib.crc32(chunk, crc)
                batch.append((chunk, _snap(counter), crc))
                size += len(chunk)
                if size >= BATCH_BYTES:
                    if not self._put(_Item(batch)):
                        return
                    batch, size = [], 0
            if batch and not self._put(_Item(batch)):
                return
            self._put(_Item(snap=_snap(counter)))
        except BaseException as exc:  # delivered to the consumer, in order
            if batch and not self._put(_Item(batch)):
                return
            self._put(_Item(snap=_snap(counter), error=exc))
        finally:
            close = getattr(gen, "close", None)
            if close is not None:
                with contextlib.suppress(BaseException):  # a failing close must not kill it
                    close()

    # -- consumer side -----------------------------------------------------------------
    def chunks(self, on_overflow: Callable[[int], None]) -> Generator[bytes, None, None]:
        """The worker's output in order; its exceptions re-raised here, where they occurred."""
        counter = self.counter
        while True:
            item = self._queue.get()
            if item.chunks is not None:
                for chunk, snap, crc in item.chunks:
                    _restore(counter, snap)
                    self.crc = crc
                    yield chunk
                continue
            assert item.snap is not None
            _restore(counter, item.snap)
            if item.error is not None:
                raise item.error
            if item.offset is None:
                return
            on_overflow(item.offset)

    def close(self) -> None:
        """Stop the worker and wait for it (it is never left running behind a caller)."""
        self._stop.set()
        while self._thread.is_alive():
            try:
                while True:
                    self._queue.get_nowait()
            except queue.Empty:
                pass
            self._thread.join(timeout=0.05)
