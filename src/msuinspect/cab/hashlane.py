"""Hashing beside the decoder: a worker thread that feeds hash objects in submission order.

hashlib releases the GIL while it hashes a buffer of a few KiB or more, and the decoders
release it while they decompress (libarchive and libmspack through ctypes, zlib in C), so a
second thread lets the SHA-256 of one chunk run while the next chunk is decoded. Work is
handed over in batches of about :data:`BATCH_BYTES` (few thread hand-offs), and at most
:data:`MAX_BATCHES` batches wait (bounded memory: the decoder waits when hashing falls
behind). Updates of one hash object must all go through the lane, or all not: the lane
keeps their order, nothing else does.

A lane starts its thread on first use, so a scan of small members never starts one.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any, Protocol

#: bytes gathered before a batch is handed to the worker
BATCH_BYTES = 1 << 20
#: batches that may wait for the worker (memory bound: about MAX_BATCHES * BATCH_BYTES)
MAX_BATCHES = 4
#: members at least this large are hashed on the lane; smaller ones inline (a hand-off
#: costs more than hashing a few KiB, and hashlib keeps the GIL below 2 KiB anyway)
LANE_MIN_SIZE = 64 << 10


class Hasher(Protocol):
    def update(self, data: bytes, /) -> None: ...


_Job = tuple[Hasher, bytes] | Callable[[], None]


class HashLane:
    """One worker thread running hash updates (and small callbacks) in order."""

    def __init__(self) -> None:
        self._batch: list[_Job] = []
        self._batch_bytes = 0
        self._queue: queue.Queue[list[_Job] | None] = queue.Queue(MAX_BATCHES)
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None

    def update(self, hasher: Hasher, data: bytes) -> None:
        """``hasher.update(data)``, later, on the worker (after every earlier job)."""
        self._batch.append((hasher, data))
        self._batch_bytes += len(data)
        if self._batch_bytes >= BATCH_BYTES:
            self._flush()

    def call(self, fn: Callable[[], None]) -> None:
        """``fn()`` on the worker, after every earlier job (e.g. to read a digest)."""
        self._batch.append(fn)

    def sync(self) -> None:
        """Wait until every job handed in so far has run; re-raise a worker failure."""
        if self._batch:
            self._flush()
        if self._thread is not None:
            self._queue.join()
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure

    def close(self) -> None:
        """Finish the queued jobs and stop the worker (idempotent)."""
        try:
            self.sync()
        finally:
            thread, self._thread = self._thread, None
            if thread is not None:
                self._queue.put(None)
                thread.join()

    def __enter__(self) -> HashLane:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _flush(self) -> None:
        batch, self._batch, self._batch_bytes = self._batch, [], 0
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="msuinspect-hash", daemon=True)
            self._thread.start()
        self._queue.put(batch)

    def _run(self) -> None:
        q = self._queue
        while True:
            batch = q.get()
            try:
                if batch is None:
                    return
                if self._failure is None:
                    for job in batch:
                        if isinstance(job, tuple):
                            job[0].update(job[1])
                        else:
                            job()
            except BaseException as exc:  # re-raised by sync() in the caller's thread
                self._failure = exc
            finally:
                q.task_done()
