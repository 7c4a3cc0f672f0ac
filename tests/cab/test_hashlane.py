"""Hashing on a second thread (cab/hashlane.py) gives the same digests as hashing inline,
in every order of small and large members, whichever backend decodes."""

from __future__ import annotations

import hashlib
import random

import pytest

from msuinspect.cab.cabinet import Cabinet
from msuinspect.cab.codecs.registry import codecs_by_key, default_codecs
from msuinspect.cab.hashlane import BATCH_BYTES, LANE_MIN_SIZE, HashLane
from msuinspect.cab.tree import scan
from msuinspect.source import BytesSource

from support.cabs import MSZIP, cabinet, mszip_blocks, stored_cab


def _members(seed: int) -> list[tuple[bytes, bytes]]:
    """Small and large members mixed, sizes around the lane threshold and batch size."""
    rng = random.Random(seed)
    sizes = [0, 1, 7, 8, 9, LANE_MIN_SIZE - 1, LANE_MIN_SIZE, LANE_MIN_SIZE + 1, 100]
    sizes += [BATCH_BYTES + 3, 5000, 3 * BATCH_BYTES // 2, 12]
    return [(f"m{i}.bin".encode(), rng.randbytes(n)) for i, n in enumerate(sizes)]


def test_lane_keeps_the_order_of_updates() -> None:
    rng = random.Random(7)
    data = rng.randbytes(3 * BATCH_BYTES + 12345)
    hashers = [hashlib.sha256(), hashlib.sha1()]
    with HashLane() as lane:
        pos = 0
        while pos < len(data):
            n = rng.choice((1, 100, 4096, 65536, 300_000))
            for h in hashers:
                lane.update(h, data[pos : pos + n])
            pos += n
        got: list[str] = []
        lane.call(lambda: got.extend(h.hexdigest() for h in hashers))
        lane.sync()
        assert got == [hashlib.sha256(data).hexdigest(), hashlib.sha1(data).hexdigest()]


def test_lane_reraises_a_worker_failure_in_the_caller() -> None:
    class Broken:
        def update(self, data: bytes, /) -> None:
            raise RuntimeError("broken hasher")

    lane = HashLane()
    lane.update(Broken(), b"x" * BATCH_BYTES)
    with pytest.raises(RuntimeError, match="broken hasher"):
        lane.sync()
    lane.close()


def test_lane_starts_no_thread_for_small_work() -> None:
    lane = HashLane()
    lane.close()
    assert lane._thread is None


@pytest.mark.parametrize("backend", ["libarchive", "zlib", "libmspack"])
@pytest.mark.parametrize("kind", ["stored", "mszip"])
def test_scan_digests_match_hashlib(backend: str, kind: str) -> None:
    if backend not in {c.key for c in default_codecs()}:
        pytest.skip(f"{backend} not installed")
    files = _members(len(backend) + len(kind))
    if kind == "stored":
        data = stored_cab(files, checksums=True)
    else:
        payload = b"".join(body for _, body in files)
        members, off = [], 0
        for name, body in files:
            members.append((name, len(body), 0, off))
            off += len(body)
        data = cabinet(members, [mszip_blocks(payload)], [(0, MSZIP)])
    cab = Cabinet.open(BytesSource(data, f"{kind}.cab"), codecs=codecs_by_key([backend]))
    tree = scan(cab, decode=True, hashes=True, recursive=False, algorithms=("sha1", "sha256"))
    bodies = dict(files)
    assert len(tree.members) == len(files)
    for mn in tree.members:
        body = bodies[mn.member.name.encode()]
        assert mn.error is None
        assert mn.sha256 == hashlib.sha256(body).hexdigest()
        assert mn.sha1 == hashlib.sha1(body).hexdigest()
        assert mn.head == body[:8]


@pytest.mark.parametrize("split", [1, 4, 7, 8, 9])
def test_a_hook_gets_every_byte_of_a_member_split_across_chunks(split: int) -> None:
    """A member that starts ``split`` bytes before the end of a decoder chunk (a stored
    block here): the bytes of that first short chunk reach the hook too."""
    from support.cabs import BLOCK

    first = b"A" * (BLOCK - split)
    second = b"<?xml version='1.0'?><x>" + b"y" * 500 + b"</x>"
    data = stored_cab([(b"a.bin", first), (b"b.xml", second)])
    taken: dict[str, bytes] = {}

    class Hook:
        def wants(self, node: object, head: bytes) -> bool:
            return True

        def take(self, node: object, body: bytes) -> None:
            taken[node.member.name] = body  # type: ignore[attr-defined]

    cab = Cabinet.open(BytesSource(data, "split.cab"), codecs=codecs_by_key(["zlib"]))
    scan(cab, decode=True, hashes=True, recursive=False, hook=Hook())
    assert taken == {"a.bin": first, "b.xml": second}
