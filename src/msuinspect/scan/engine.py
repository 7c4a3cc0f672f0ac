"""The batch engine: files in, one file object per file out, in scan order.

A scan is a map (file -> file object) plus the result cache. :class:`Scan` looks each file
up in the cache (by ``stat`` and then by content, see :mod:`msuinspect.scan.cache`), sends
the others to worker processes (:mod:`msuinspect.scan.pool`), stores what they return, and
yields every file's result in the order the files were given, whatever the number of jobs.
Out-of-order results wait in a window of bounded size; a worker is given a file only while
the file is within that window of the next one to be yielded.

:meth:`Scan.stop` (and, with ``handle_sigint``, Ctrl-C) stops the scan: files in progress
are abandoned, every finished one is still yielded (in order, with gaps), and the cache
keeps everything finished so far.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, Literal

from msuinspect.host.profile import HostProfile
from msuinspect.limits import Limits
from msuinspect.scan.cache import CacheConfig, ResultCache
from msuinspect.scan.dask_backend import DaskBackend
from msuinspect.scan.discover import Candidate
from msuinspect.scan.images import Target
from msuinspect.scan.pool import Done, WorkerPool, WorkerSetup
from msuinspect.scan.records import (
    FileResult,
    TimeBudgetError,
    ToRecord,
    WorkerCrashed,
    error_record,
    internal_record,
)

DEFAULT_TIMEOUT = 300.0


def cpu_count() -> int:
    """The CPUs this process may run on (its affinity where the OS has one)."""
    affinity = getattr(os, "sched_getaffinity", None)
    if affinity is not None:
        return max(1, len(affinity(0)))
    return os.cpu_count() or 1


@dataclass(frozen=True, slots=True)
class ScanOptions:
    #: worker processes (default: the CPU count)
    jobs: int = field(default_factory=cpu_count)
    #: seconds one file may take before its worker is killed (None: no budget)
    timeout: float | None = DEFAULT_TIMEOUT
    #: extra trust roots (PEM or DER files), loaded once by every worker
    trust_roots: tuple[str, ...] = ()
    as_of: _dt.datetime | None = None
    limits: Limits | None = None
    #: a key for the host profile a verdict is made against (``--host``); "" for none
    host_key: str = ""
    #: judge each file for this host (set ``host_key`` to identify it in the cache)
    host: HostProfile | None = None
    #: how far ahead of the next file to yield a worker may be given a file (0: 32 x jobs)
    window: int = 0
    #: run the per-file work on this Dask cluster (a scheduler address, or a
    #: ``distributed.Client``) instead of local worker processes; needs ``msuinspect[dask]``
    dask: Any = None


@dataclass(slots=True)
class ScanStats:
    files: int = 0
    #: files sent to a worker (a cache hit is not)
    analysed: int = 0
    cached: int = 0
    timed_out: int = 0
    crashed: int = 0
    internal: int = 0
    workers_replaced: int = 0
    bytes_total: int = 0
    interrupted: bool = False


class Scan:
    """One batch. Iterate :meth:`results` once."""

    def __init__(
        self,
        candidates: Sequence[Candidate],
        options: ScanOptions,
        to_record: ToRecord,
        *,
        cache: ResultCache | None = None,
        cache_config: CacheConfig | None = None,
        on_start: Callable[[Candidate], None] | None = None,
        on_result: Callable[[FileResult, Candidate], None] | None = None,
        handle_sigint: bool = False,
    ) -> None:
        self.candidates = list(candidates)
        self.options = options
        self.to_record = to_record
        self.cache = cache
        self.config_key = (cache_config or CacheConfig()).key()
        self.on_start = on_start
        self.on_result = on_result
        self.handle_sigint = handle_sigint
        self.stats = ScanStats(
            files=len(self.candidates),
            bytes_total=sum(max(c.size, 0) for c in self.candidates),
        )
        self._stop = threading.Event()

    def stop(self) -> None:
        """Stop after the current look at the workers; safe from a signal handler."""
        self._stop.set()

    # -----------------------------------------------------------------------------------

    def results(self) -> Iterator[FileResult]:
        with self._sigint():
            yield from self._results()

    @contextlib.contextmanager
    def _sigint(self) -> Iterator[None]:
        if not self.handle_sigint or threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(_sig: int, _frame: FrameType | None) -> None:
            if self._stop.is_set():
                raise KeyboardInterrupt  # a second Ctrl-C: stop at once
            self.stop()

        previous = signal.signal(signal.SIGINT, handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)

    def _results(self) -> Iterator[FileResult]:
        # results found in the cache are loaded only when their turn comes, so a large,
        # fully cached batch is never held in memory at once
        ready: dict[int, FileResult] = {}
        hits: dict[int, str] = {}
        todo: deque[int] = deque()
        for i, cand in enumerate(self.candidates):
            sha = self._known(cand)
            if sha is not None:
                hits[i] = sha
            else:
                todo.append(i)
        next_out = 0

        def flush() -> Iterator[FileResult]:
            nonlocal next_out
            while True:
                if next_out in ready:
                    yield ready.pop(next_out)
                elif next_out in hits:
                    hit = self._load(next_out, hits.pop(next_out))
                    if hit is None:  # dropped as unreadable: analyse the file after all
                        todo.appendleft(next_out)
                        return
                    yield hit
                else:
                    return
                next_out += 1

        jobs = 32 if self.options.dask is not None else max(1, self.options.jobs)
        window = self.options.window or 32 * jobs

        def next_task() -> tuple[int, Target] | Literal["wait"] | None:
            if not todo:
                # a cached result still to load may turn out unreadable and come back
                return "wait" if hits else None
            if todo[0] - next_out >= window:
                return "wait"
            i = todo.popleft()
            self.stats.analysed += 1
            return i, self.candidates[i].target()

        def started(i: int, _target: Target) -> None:
            if self.on_start is not None:
                self.on_start(self.candidates[i])

        setup = WorkerSetup(
            self.to_record,
            self.options.trust_roots,
            self.options.as_of,
            self.options.limits,
            self.options.host,
        )
        yield from flush()
        while todo and not self._stop.is_set():
            pool: WorkerPool | DaskBackend
            if self.options.dask is not None:
                pool = DaskBackend(self.options.dask, setup)
            else:
                # never more workers than files left: each one costs a process start
                workers = max(1, min(self.options.jobs, len(todo)))
                pool = WorkerPool(workers, setup, self.options.timeout)
            with pool:
                try:
                    for done in pool.run(next_task, stopped=self._stop.is_set, on_start=started):
                        ready[done.index] = self._finished(done)
                        yield from flush()
                finally:
                    self.stats.workers_replaced += pool.replaced
                    if self.cache is not None:
                        self.cache.commit()
            yield from flush()
        if self._stop.is_set():
            self.stats.interrupted = True
            # what is done is still reported, in order (files found in the cache included)
            for i in sorted(set(ready) | set(hits)):
                if i in ready:
                    yield ready.pop(i)
                else:
                    hit = self._load(i, hits.pop(i))
                    if hit is not None:
                        yield hit
        if self.cache is not None:
            self.cache.commit()

    def _known(self, cand: Candidate) -> str | None:
        """The file's SHA-256 when the cache knows its ``stat`` and has its result."""
        if self.cache is None:
            return None
        sha = self.cache.known_sha256(cand)
        if sha is None or not self.cache.has(sha, cand.path, self.config_key):
            return None
        return sha

    def _load(self, index: int, sha: str) -> FileResult | None:
        assert self.cache is not None
        cand = self.candidates[index]
        record = self.cache.get(sha, cand.path, self.config_key)
        if record is None:
            return None
        self.stats.cached += 1
        result = FileResult(index, cand.path, record, cached=True)
        if self.on_result is not None:
            self.on_result(result, cand)
        return result

    def _finished(self, done: Done) -> FileResult:
        cand = self.candidates[done.index]
        if done.timed_out:
            self.stats.timed_out += 1
            budget = self.options.timeout or 0.0
            exc = TimeBudgetError(
                f"not finished within the time budget of {budget:g} s (--timeout); "
                "its worker was stopped"
            )
            record = error_record(cand.path, exc, self.to_record)
            result = FileResult(done.index, cand.path, record, seconds=done.seconds)
        elif done.record is None:
            self.stats.crashed += 1
            self.stats.internal += 1
            exc2 = WorkerCrashed(
                f"{done.crashed or 'the worker process ended'} while inspecting this file"
            )
            record = internal_record(cand.path, exc2)
            result = FileResult(done.index, cand.path, record, internal=True, seconds=done.seconds)
        else:
            if done.internal:
                self.stats.internal += 1
            elif self.cache is not None:
                self.cache.put(cand, done.record, self.config_key, sha256=done.sha256)
            result = FileResult(
                done.index, cand.path, done.record, internal=done.internal, seconds=done.seconds
            )
        if self.on_result is not None:
            self.on_result(result, cand)
        return result
