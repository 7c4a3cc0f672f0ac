"""Decoding folders ahead on worker threads (cab/prefetch.py) changes nothing a caller sees:
the same bytes, the same per-member outcomes, the same findings and decode log, the same
errors at the same places; and no worker is left running, whatever happens."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import msuinspect.cab.decode as decode_mod
from msuinspect.cab.cabinet import Cabinet
from msuinspect.cab.cfdata import BlockCounter
from msuinspect.cab.codecs.registry import codecs_by_key, default_codecs
from msuinspect.cab.prefetch import BATCH_BYTES, Prefetch
from msuinspect.cab.tree import scan
from msuinspect.errors import LimitExceededError, MsuInspectError
from msuinspect.limits import Limits
from msuinspect.source import BytesSource, FileSource

from support.cabs import MSZIP, STORED, cabinet, mszip_blocks, stored_blocks
from support.corpus import corpus_dir

BACKENDS = ["libarchive", "zlib", "libmspack"]


def _workers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "msuinspect-prefetch"]


def _many_folders(seed: int, *, corrupt: int | None = None) -> bytes:
    """Six folders (stored and MSZIP), several members each, some spanning block
    boundaries; ``corrupt`` breaks that folder's second block."""
    rng = random.Random(seed)
    members, chains, folders = [], [], []
    for f in range(6):
        bodies = [rng.randbytes(rng.choice((0, 1, 4000, 40_000))) for _ in range(3)]
        bodies.insert(rng.randrange(4), rng.randbytes(90_000))  # at least three blocks
        payload = b"".join(bodies)
        off = 0
        for i, body in enumerate(bodies):
            members.append((f"f{f}/m{i}.bin".encode(), len(body), f, off))
            off += len(body)
        comp = MSZIP if f % 2 else STORED
        blocks = mszip_blocks(payload) if comp == MSZIP else stored_blocks(payload, checksums=True)
        if corrupt == f:
            b = bytearray(blocks[1])
            b[8 if comp == MSZIP else -1] ^= 0xFF  # MSZIP: its "CK" (no checksum here)
            blocks[1] = bytes(b)
        chains.append(blocks)
        folders.append((f, comp))
    return cabinet(members, chains, folders)


def _facts(cab: Cabinet) -> tuple[object, ...]:
    tree = scan(cab, decode=True, hashes=True, recursive=False, algorithms=("sha256",))
    members = [(m.member.name, m.sha256, str(m.error) if m.error else None) for m in tree.members]
    findings = [(f.code, f.offset, f.message) for f in cab.findings]
    log = [r.describe() for r in cab.decode_log]
    return members, findings, log


def _both(
    make: Iterator[Cabinet], monkeypatch: pytest.MonkeyPatch
) -> tuple[tuple[object, ...], tuple[object, ...]]:
    monkeypatch.setattr(decode_mod, "MIN_PREFETCH", 1 << 62)  # never
    serial = _facts(next(make))
    monkeypatch.setattr(decode_mod, "MIN_PREFETCH", 1)  # every folder
    ahead = _facts(next(make))
    return serial, ahead


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("corrupt", [None, 2, 3])
def test_prefetched_walk_equals_the_serial_walk(
    backend: str, corrupt: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend not in {c.key for c in default_codecs()}:
        pytest.skip(f"{backend} not installed")
    data = _many_folders(len(backend), corrupt=corrupt)

    def make() -> Iterator[Cabinet]:
        while True:
            yield Cabinet.open(BytesSource(data, "many.cab"), codecs=codecs_by_key([backend]))

    serial, ahead = _both(make(), monkeypatch)
    assert ahead == serial
    if corrupt is not None:  # the corrupt folder failed, the others did not
        assert any(err for _n, _h, err in serial[0])  # type: ignore[attr-defined]
    assert not _workers()


def test_prefetched_walk_with_fallback_equals_the_serial_walk(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A checksum error seen by the first backend (which verifies checksums in C) makes the
    walk fall back and name the block, prefetched or not."""
    keys = [k for k in ("libarchive", "zlib") if k in {c.key for c in default_codecs()}]
    if len(keys) < 2:
        pytest.skip("needs libarchive and zlib")
    data = _many_folders(5, corrupt=2)

    def make() -> Iterator[Cabinet]:
        while True:
            yield Cabinet.open(BytesSource(data, "many.cab"), codecs=codecs_by_key(keys))

    serial, ahead = _both(make(), monkeypatch)
    assert ahead == serial
    assert any("checksum" in line for line in serial[2])  # type: ignore[union-attr]


def test_a_limit_error_stops_every_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(decode_mod, "MIN_PREFETCH", 1)
    data = _many_folders(9)
    limits = Limits(max_total_output=150_000)
    cab = Cabinet.open(BytesSource(data, "many.cab"), limits=limits)
    with pytest.raises(LimitExceededError):
        scan(cab, decode=True, hashes=True, recursive=False)
    assert not _workers()


def test_prefetch_replays_counter_and_error_in_order() -> None:
    """The consumer sees each chunk with the counter as it was when the chunk was made, and
    the worker's exception after the chunks made before it."""

    def start(counter: BlockCounter, on_overflow: object) -> Iterator[bytes]:
        for i in range(5):
            counter.blocks += 1
            counter.compressed += 10
            yield bytes([i]) * (BATCH_BYTES // 2)
        raise MsuInspectError("boom")

    p = Prefetch(start)
    seen = []
    with pytest.raises(MsuInspectError, match="boom"):
        for chunk in p.chunks(lambda _o: None):
            seen.append((chunk[0], p.counter.blocks, p.counter.compressed))
    p.close()
    assert seen == [(i, i + 1, 10 * (i + 1)) for i in range(5)]


def test_closing_early_stops_a_blocked_worker() -> None:
    def start(counter: BlockCounter, on_overflow: object) -> Iterator[bytes]:
        while True:  # would fill the queue and wait forever
            yield b"x" * BATCH_BYTES

    p = Prefetch(start)
    gen = p.chunks(lambda _o: None)
    next(gen)
    gen.close()
    p.close()
    assert not _workers()


@pytest.mark.corpus
def test_real_cabinets_decode_the_same_prefetched(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every real cabinet of the corpus: digests, outcomes, findings and the decode log are
    the same with every folder prefetched as with none."""
    root = corpus_dir()
    if root is None:
        pytest.skip("real-file corpus not found")
    paths = sorted(p for p in Path(root).rglob("*.cab") if p.stat().st_size < (8 << 20))
    assert paths
    for path in paths:
        try:

            def make(path: Path = path) -> Iterator[Cabinet]:
                while True:
                    yield Cabinet.open(FileSource(str(path)))

            serial, ahead = _both(make(), monkeypatch)
        except MsuInspectError:
            continue  # a cabinet that does not open: nothing is decoded either way
        assert ahead == serial, path
    assert not _workers()
