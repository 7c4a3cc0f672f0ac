"""Which byte ranges of a file a signature covers, and hashing them in one pass.

A :class:`HashPlan` lists the half-open ranges to hash, in ascending order, plus zero
padding to append. :func:`hash_file` reads the file once; every digest wanted (the
whole-file SHA-1/SHA-256 and each Authenticode digest) is a *lane* fed from the same
buffers, and lanes run in parallel threads (hashlib releases the GIL), so the cost is about
one read plus the slowest digest, not the sum of all.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from msuinspect.authenticode.algorithms import canonical, new_hash

_CHUNK = 4 << 20
#: below this size threads cost more than they save
_PARALLEL_MIN = 8 << 20

WHOLE_FILE = "file"


@dataclass(frozen=True, slots=True)
class HashPlan:
    ranges: tuple[tuple[int, int], ...]
    padding: int = 0  #: zero bytes appended after the ranges

    def __post_init__(self) -> None:
        last = 0
        for a, b in self.ranges:
            if a < last or b < a:
                raise ValueError(f"hash ranges must be ascending and disjoint: {self.ranges}")
            last = b

    def covers(self, offset: int) -> bool:
        return any(a <= offset < b for a, b in self.ranges)


@dataclass(slots=True)
class FileHashes:
    size: int
    #: plan name -> algorithm -> digest; the whole file is under :data:`WHOLE_FILE`
    digests: dict[str, dict[str, bytes]] = field(default_factory=dict)
    #: the bytes of the ``capture`` range, when one was asked for
    captured: bytes = b""


class _Lane:
    __slots__ = ("algorithm", "h", "plan", "ranges")

    def __init__(self, plan: str, algorithm: str, ranges: Sequence[tuple[int, int]]) -> None:
        self.plan = plan
        self.algorithm = algorithm
        self.h: Any = new_hash(algorithm)
        self.ranges = ranges

    def feed(self, chunk: bytes, pos: int) -> None:
        end = pos + len(chunk)
        view = memoryview(chunk)
        for a, b in self.ranges:
            if b <= pos:
                continue
            if a >= end:
                break
            self.h.update(view[max(a, pos) - pos : min(b, end) - pos])


class _Capture:
    """A lane that keeps bytes instead of hashing them."""

    __slots__ = ("out", "range")

    def __init__(self, rng: tuple[int, int], out: bytearray) -> None:
        self.range = rng
        self.out = out

    def feed(self, chunk: bytes, pos: int) -> None:
        a, b = self.range
        lo, hi = max(a, pos), min(b, pos + len(chunk))
        if lo < hi:
            self.out += chunk[lo - pos : hi - pos]


def hash_file(
    f: BinaryIO,
    size: int,
    plans: Mapping[str, tuple[HashPlan, Iterable[str]]],
    *,
    whole_file: Iterable[str] = ("sha1", "sha256"),
    capture: tuple[int, int] | None = None,
) -> FileHashes:
    """Hash ``f`` once: the whole file in ``whole_file`` algorithms, and each named plan in
    its algorithms; also keep the bytes of the ``capture`` range (a signature at the end of
    a stream that cannot seek cheaply)."""
    lanes: list[_Lane | _Capture] = [
        _Lane(WHOLE_FILE, canonical(a), ((0, size),)) for a in whole_file
    ]
    paddings: dict[str, int] = {}
    for key, (plan, algs) in plans.items():
        paddings[key] = plan.padding
        seen: set[str] = set()
        for a in algs:
            c = canonical(a)
            if c not in seen:
                seen.add(c)
                lanes.append(_Lane(key, c, plan.ranges))
    grabbed = bytearray()
    if capture is not None:
        lanes.append(_Capture(capture, grabbed))
    f.seek(0)
    pos = 0
    hashing = [lane for lane in lanes if isinstance(lane, _Lane)]
    cpus = min(len(hashing), os.cpu_count() or 1)
    if cpus > 1 and size >= _PARALLEL_MIN:
        # one group of lanes per CPU; the first group runs on this thread, which also
        # reads, so there are never more busy threads than CPUs
        groups: list[list[_Lane | _Capture]] = [[] for _ in range(cpus)]
        for i, h_lane in enumerate(hashing):
            groups[i % cpus].append(h_lane)
        groups[0].extend(c for c in lanes if isinstance(c, _Capture))

        def feed(group: list[_Lane | _Capture], chunk: bytes, at: int) -> None:
            for lane in group:
                lane.feed(chunk, at)

        with ThreadPoolExecutor(max_workers=cpus - 1, thread_name_prefix="hash") as pool:
            chunk = f.read(_CHUNK)
            while chunk:
                futures = [pool.submit(feed, g, chunk, pos) for g in groups[1:]]
                feed(groups[0], chunk, pos)
                pos += len(chunk)
                chunk = f.read(_CHUNK)  # read ahead while the other lanes hash
                for fut in futures:
                    fut.result()
    else:
        while True:
            chunk = f.read(_CHUNK)
            if not chunk:
                break
            for any_lane in lanes:
                any_lane.feed(chunk, pos)
            pos += len(chunk)
    result = FileHashes(pos, captured=bytes(grabbed))
    for lane in hashing:
        pad = paddings.get(lane.plan, 0)
        if pad:
            lane.h.update(b"\x00" * pad)
        result.digests.setdefault(lane.plan, {})[lane.algorithm] = lane.h.digest()
    return result
