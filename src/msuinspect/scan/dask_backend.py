"""Running a scan's per-file work on a Dask distributed cluster (``msuinspect[dask]``).

The scan is a pure map (file -> file object), so a cluster whose workers see the same
paths (shared storage) can do it: each file is one task, submitted while it is within the
scan's window, and its result comes back to the client, which orders the results and
writes the cache (workers never touch it). Each worker thread builds its trust store once.

Dask cannot stop a running task, so the per-file time budget is not enforced here (a file
over it finishes late, but is still reported); Ctrl-C cancels what has not finished.
"""

from __future__ import annotations

import contextlib
import importlib
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, Literal

from msuinspect.api import trust_store
from msuinspect.scan.images import Target, target_path
from msuinspect.scan.pool import Done, WorkerSetup, analyse, content_sha256
from msuinspect.scan.records import Record

_POLL = 0.25
_local = threading.local()


class DaskUnavailable(Exception):
    """``dask[distributed]`` is not installed."""


def _store(setup: WorkerSetup) -> Any:
    stores: dict[tuple[str, ...], Any] = getattr(_local, "stores", None) or {}
    _local.stores = stores
    if setup.trust_roots not in stores:
        stores[setup.trust_roots] = trust_store(setup.trust_roots)
    return stores[setup.trust_roots]


def analyse_task(target: Target, setup: WorkerSetup) -> tuple[Record, bool, float, str | None]:
    """The work of one file (or member of an image), as a Dask task runs it on a worker."""
    start = time.monotonic()
    record, internal = analyse(target, setup, _store(setup))
    sha = None if internal else content_sha256(target, record)
    return record, internal, time.monotonic() - start, sha


class DaskBackend:
    """Feeds files to a cluster (``address`` of its scheduler, or a ``distributed.Client``)
    and yields each as it is done; the same interface as
    :class:`~msuinspect.scan.pool.WorkerPool`."""

    def __init__(self, address: Any, setup: WorkerSetup, *, in_flight: int = 0) -> None:
        try:
            distributed: Any = importlib.import_module("distributed")
        except ImportError as exc:
            raise DaskUnavailable(
                "--dask needs dask[distributed]: pip install 'msuinspect[dask]'"
            ) from exc
        self._distributed = distributed
        self.setup = setup
        self.replaced = 0
        self._own = isinstance(address, str)
        self.client: Any = distributed.Client(address) if self._own else address
        if in_flight <= 0:
            workers = self.client.scheduler_info().get("workers", {})
            threads = sum(int(w.get("nthreads", 1)) for w in workers.values()) or 1
            in_flight = 4 * threads
        self.in_flight = in_flight
        self._run_id = uuid.uuid4().hex[:12]
        self._setup_future: Any = None

    def __enter__(self) -> DaskBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._own:
            with contextlib.suppress(Exception):
                self.client.close()

    def run(
        self,
        next_task: Callable[[], tuple[int, Target] | Literal["wait"] | None],
        *,
        stopped: Callable[[], bool] = lambda: False,
        on_start: Callable[[int, Target], None] | None = None,
    ) -> Iterator[Done]:
        if self._setup_future is None:
            # sent to the cluster once, not with every task
            self._setup_future = self.client.scatter(self.setup, broadcast=True, hash=False)
        inflight: dict[Any, tuple[int, Target]] = {}
        exhausted = False
        try:
            while True:
                if stopped():
                    return
                while not exhausted and len(inflight) < self.in_flight:
                    task = next_task()
                    if task is None:
                        exhausted = True
                    if not isinstance(task, tuple):
                        break
                    index, target = task
                    fut = self.client.submit(
                        analyse_task,
                        target,
                        self._setup_future,
                        key=f"msuinspect-{self._run_id}-{index}",
                        pure=False,
                    )
                    inflight[fut] = task
                    if on_start is not None:
                        on_start(index, target)
                if not inflight:
                    if exhausted:
                        return
                    raise RuntimeError("scan scheduling stalled")
                try:
                    done, _ = self._distributed.wait(
                        list(inflight), timeout=_POLL, return_when="FIRST_COMPLETED"
                    )
                except TimeoutError:
                    continue
                for fut in done:
                    index, target = inflight.pop(fut)
                    yield self._result(fut, index, target_path(target))
        finally:
            for fut in inflight:
                with contextlib.suppress(Exception):
                    fut.cancel()

    @staticmethod
    def _result(fut: Any, index: int, path: str) -> Done:
        try:
            record, internal, seconds, sha = fut.result()
        except Exception as exc:  # the task failed on the worker (it died, or a bug)
            return Done(index, path, None, True, 0.0, crashed=f"the Dask task failed: {exc}")
        return Done(index, path, record, internal, seconds, sha256=sha)
