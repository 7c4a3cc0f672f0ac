"""Random bytes and mutated samples: only MsuInspectError subclasses may escape."""

from __future__ import annotations

import contextlib
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msuinspect.errors import MsuInspectError
from msuinspect.host.importers import read_evidence
from msuinspect.host.merge import merge

HOST = Path(__file__).resolve().parents[1] / "fixtures" / "host"
SAMPLES = sorted(
    p.read_bytes() for p in HOST.iterdir() if p.suffix in (".txt", ".csv") and p.is_file()
)


def _try(data: bytes) -> None:
    with contextlib.suppress(MsuInspectError):
        merge(read_evidence(data, name="fuzz"))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_random_bytes(data: bytes) -> None:
    _try(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(SAMPLES),
    st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), max_size=12),
    st.integers(0, 1 << 16),
    st.integers(0, 1 << 16),
)
def test_mutated_samples(sample: bytes, flips: list[tuple[int, int]], cut: int, drop: int) -> None:
    data = bytearray(sample)
    for pos, value in flips:
        if data:
            data[pos % len(data)] = value
    if data:
        data = data[: max(1, cut % (len(data) + 1))]
    _try(bytes(data))
    lines = sample.split(b"\n")
    if lines:
        del lines[drop % len(lines)]
    _try(b"\n".join(lines))
