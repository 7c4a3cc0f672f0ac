"""Worker processes for a scan, each with a per-file time budget.

Each worker is a process of its own (``forkserver`` where available, else ``spawn``: never a
fork of a process holding open databases or threads) that builds its trust store once and
then inspects one file at a time. The parent sends a worker a file only when it is idle, so
a worker that overruns its budget can be killed and replaced without losing any other
file's work; one that dies (a crash in a native decoder, the OOM killer) is replaced the
same way and its file reported. A worker ignores SIGINT: Ctrl-C is the parent's to handle.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import multiprocessing
import multiprocessing.connection
import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from typing import Any, Literal

from msuinspect.api import Report, inspect, trust_store
from msuinspect.errors import InputError, MsuInspectError
from msuinspect.host.profile import HostProfile
from msuinspect.limits import Limits
from msuinspect.package.memo import ContentMemo
from msuinspect.scan.images import (
    MemberRef,
    Target,
    member_file,
    relocate,
    remove_worker_temp,
    target_path,
)
from msuinspect.scan.records import Record, ToRecord, error_record, internal_record

#: how long the parent sleeps at most between looks at its stop flag
_POLL = 0.25


@dataclass(frozen=True, slots=True)
class WorkerSetup:
    """What every worker needs; sent once, when it starts."""

    to_record: ToRecord
    trust_roots: tuple[str, ...] = ()
    as_of: _dt.datetime | None = None
    limits: Limits | None = None
    #: judge each file for this host (the record then carries the verdict)
    host: HostProfile | None = None


@dataclass(frozen=True, slots=True)
class Done:
    """A finished file: its record, or ``timed_out``/``crashed`` with an empty record."""

    index: int
    path: str
    record: Record | None
    internal: bool
    seconds: float
    timed_out: bool = False
    crashed: str | None = None
    #: the SHA-256 of the file's bytes: the record's, or computed when the analysis stopped
    #: before hashing the whole file (a truncated or malformed file), so it can be cached too
    sha256: str | None = None


def content_sha256(target: Target, record: Record) -> str | None:
    """The record's SHA-256, or the file's when the record has none (it could be read)."""
    sha = record.get("sha256")
    if isinstance(sha, str):
        return sha
    if record.get("kind") is None or isinstance(target, MemberRef):
        return None  # not opened at all (or a member, gone with its temporary file)
    path = target
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


def analyse(
    target: Target, setup: WorkerSetup, trust: Any, memo: ContentMemo | None = None
) -> tuple[Record, bool]:
    """Inspect one file (or member of an image); a bug gives an internal-error record, never
    an exception. ``memo`` is shared by the files one worker analyses."""
    path = target_path(target)
    try:
        if isinstance(target, MemberRef):
            return _analyse_member(target, setup, trust, memo), False
        return setup.to_record(_inspect(path, setup, trust, memo)), False
    except Exception as exc:  # a bug in msuinspect: reported for this file, the scan goes on
        return internal_record(path, exc), True


def _inspect(path: str, setup: WorkerSetup, trust: Any, memo: ContentMemo | None) -> Report:
    return inspect(
        path, trust=trust, as_of=setup.as_of, limits=setup.limits, host=setup.host, memo=memo
    )


def _analyse_member(
    ref: MemberRef, setup: WorkerSetup, trust: Any, memo: ContentMemo | None
) -> Record:
    try:
        with member_file(ref) as tmp:
            report = _inspect(tmp, setup, trust, memo)
            record: Record = relocate(setup.to_record(report), tmp, ref.node_path)
            return record
    except MsuInspectError as exc:
        return error_record(ref.node_path, exc, setup.to_record)
    except OSError as exc:  # the temporary directory is full or unwritable
        err = InputError(f"cannot copy the member to a temporary file: {exc}")
        return error_record(ref.node_path, err, setup.to_record)


def _worker_main(conn: Connection, setup: WorkerSetup) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    trust = trust_store(setup.trust_roots)
    # files share a memo under one moment: without --as-of each file is judged at its own
    # "now", as before, and shares nothing
    memo = ContentMemo() if setup.as_of is not None else None
    conn.send(("ready",))
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        index, target = task
        start = time.monotonic()
        record, internal = analyse(target, setup, trust, memo)
        sha = None if internal else content_sha256(target, record)
        conn.send(("done", index, record, internal, time.monotonic() - start, sha))


def _context() -> BaseContext:
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if "forkserver" in methods:
        # every worker forks from a server that has msuinspect imported already
        ctx.set_forkserver_preload(["msuinspect.api", "msuinspect.scan.pool"])
    return ctx


class _Worker:
    def __init__(self, ctx: BaseContext, setup: WorkerSetup) -> None:
        parent, child = ctx.Pipe()
        self.proc: BaseProcess = ctx.Process(  # type: ignore[attr-defined]
            target=_worker_main, args=(child, setup), daemon=True
        )
        self.proc.start()
        child.close()
        self.conn: Connection = parent
        self.ready = False
        self.task: tuple[int, Target] | None = None
        self.deadline = 0.0
        self.started = 0.0

    def send(self, index: int, target: Target, budget: float | None) -> None:
        self.task = (index, target)
        self.started = time.monotonic()
        self.deadline = self.started + budget if budget is not None else float("inf")
        self.conn.send((index, target))

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self.proc.kill()
        with contextlib.suppress(Exception):
            self.proc.join(5)
        # a member of an image it was reading, in the temporary directory
        remove_worker_temp(self.proc.pid)
        with contextlib.suppress(Exception):
            self.conn.close()

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.send(None)
        self.proc.join(2)
        if self.proc.is_alive():
            self.kill()
        with contextlib.suppress(Exception):
            self.conn.close()


class WorkerPool:
    """``jobs`` worker processes; :meth:`run` feeds them files and yields each as it is done
    (in completion order). ``stopped`` is polled: when it turns true, files in progress are
    abandoned and :meth:`run` returns."""

    def __init__(self, jobs: int, setup: WorkerSetup, budget: float | None) -> None:
        self.jobs = max(1, jobs)
        self.setup = setup
        self.budget = budget
        self.replaced = 0
        self._ctx = _context()
        self._workers: list[_Worker] = []

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for w in self._workers:
            if w.task is None:
                w.stop()
            else:
                w.kill()
        self._workers = []

    def run(
        self,
        next_task: Callable[[], tuple[int, Target] | Literal["wait"] | None],
        *,
        stopped: Callable[[], bool] = lambda: False,
        on_start: Callable[[int, Target], None] | None = None,
    ) -> Iterator[Done]:
        """Take tasks from ``next_task`` while a worker is idle (``"wait"``: none for now,
        ask again after the next file is done; None: no more at all); yield each finished
        one."""
        exhausted = False
        while True:
            if stopped():
                return
            while len(self._workers) < self.jobs and not exhausted:
                self._workers.append(_Worker(self._ctx, self.setup))
            for w in self._workers:
                if w.ready and w.task is None and not exhausted:
                    task = next_task()
                    if task is None:
                        exhausted = True
                    if task is None or task == "wait":
                        break
                    w.send(task[0], task[1], self.budget)
                    if on_start is not None:
                        on_start(*task)
            busy = [w for w in self._workers if w.task is not None]
            if exhausted and not busy:
                return
            if not busy and not any(not w.ready for w in self._workers):
                # nothing in flight and nothing allowed: the caller's window cannot move
                raise RuntimeError("scan scheduling stalled")
            now = time.monotonic()
            deadline = min((w.deadline for w in busy), default=float("inf"))
            timeout = max(0.0, min(_POLL, deadline - now))
            waitables: list[Any] = [w.conn for w in self._workers]
            waitables += [w.proc.sentinel for w in self._workers]
            ready = set(multiprocessing.connection.wait(waitables, timeout))
            for w in list(self._workers):
                if w.conn in ready:
                    try:
                        msg = w.conn.recv()
                    except (EOFError, OSError):
                        msg = None
                    if msg is None:
                        w.proc.join(2)
                        code = w.proc.exitcode
                        yield from self._replace(w, f"the worker process ended (status {code})")
                    elif msg[0] == "ready":
                        w.ready = True
                    else:
                        _tag, index, record, internal, seconds, sha = msg
                        path = (
                            target_path(w.task[1])
                            if w.task is not None
                            else str(record.get("path"))
                        )
                        w.task = None
                        yield Done(index, path, record, internal, seconds, sha256=sha)
                elif w.proc.sentinel in ready:
                    code = w.proc.exitcode
                    yield from self._replace(w, f"the worker process ended (status {code})")
            now = time.monotonic()
            for w in list(self._workers):
                if w.task is not None and now >= w.deadline:
                    index, path = w.task[0], target_path(w.task[1])
                    seconds = now - w.started
                    w.task = None
                    w.kill()
                    self._workers.remove(w)
                    self.replaced += 1
                    yield Done(index, path, None, False, seconds, timed_out=True)

    def _replace(self, w: _Worker, why: str) -> Iterator[Done]:
        task = w.task
        w.task = None
        w.kill()
        self._workers.remove(w)
        self.replaced += 1
        if task is not None:
            index, path = task[0], target_path(task[1])
            yield Done(index, path, None, True, time.monotonic() - w.started, crashed=why)
        elif not w.ready:
            # a worker that cannot even start would be replaced forever
            raise RuntimeError(f"a scan worker could not start: {why} (pid {os.getpid()})")
