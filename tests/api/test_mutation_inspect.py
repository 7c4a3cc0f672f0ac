"""Whole-report robustness: ``inspect`` on every corpus file, and on single-byte mutations
of the corpus's signed files (mostly inside their signatures: certificates, signer infos,
timestamps), always returns a report with an outcome — never an exception other than the
project's own errors, never an internal error.

The default count keeps the suite quick; ``MSUINSPECT_MUTATIONS=2000`` runs the long
campaign (docs/security.md records its figures)."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from msuinspect.api import inspect
from msuinspect.authenticode.inspect import inspect_file
from msuinspect.authenticode.trust import TrustStore
from msuinspect.errors import MsuInspectError
from msuinspect.package.outcome import Outcome
from msuinspect.report.inspect_json import report_dict

from support.corpus import MANIFEST, corpus_dir

MUTATIONS = int(os.environ.get("MSUINSPECT_MUTATIONS", "120"))
#: signed seeds larger than this are skipped (time), the signature window is the file's tail
_MAX_SEED = 2 << 20
_TAIL = 24 << 10
_TRUST = TrustStore.default([])


def _inspect(path: Path) -> Outcome:
    """What ``inspect --json`` does for one file: the report, rendered to JSON."""
    report = inspect(path, trust=_TRUST)
    json.dumps(report_dict(report))
    return report.outcome.outcome


def _files() -> list[Path]:
    return [e.path for e in MANIFEST if e.path.is_file()]


def test_every_corpus_file_gets_an_outcome() -> None:
    if corpus_dir() is None:
        pytest.skip("real-file corpus not found")
    seen = {o: 0 for o in Outcome}
    for path in _files():
        seen[_inspect(path)] += 1  # any other exception fails the test, naming the file
    assert sum(seen.values()) == len(_files())
    assert seen[Outcome.OK] > 0 and seen[Outcome.ERROR] > 0


def _signed_seeds() -> list[Path]:
    seeds = []
    for path in _files():
        if path.stat().st_size > _MAX_SEED or path.suffix.lower() in (".txt", ".inf", ".xml"):
            continue
        try:
            if inspect_file(path, _TRUST, file_hashes=False).signatures:
                seeds.append(path)
        except MsuInspectError:
            continue
    return seeds


def test_single_byte_mutations_of_signed_files(tmp_path: Path) -> None:
    if corpus_dir() is None:
        pytest.skip("real-file corpus not found")
    seeds = _signed_seeds()
    assert len(seeds) >= 10
    rng = random.Random(20261202)
    target = tmp_path / "mutant"
    outcomes = {o: 0 for o in Outcome}
    for i in range(MUTATIONS):
        seed = seeds[i % len(seeds)]
        data = bytearray(seed.read_bytes())
        # three in four inside the signature (the tail of a cabinet or PE; a catalog is all
        # signature), one in four anywhere
        lo = 0 if (i % 4 == 3 or seed.suffix.lower() == ".cat") else max(0, len(data) - _TAIL)
        pos = rng.randrange(lo, len(data))
        data[pos] ^= rng.randrange(1, 256)
        target.write_bytes(bytes(data))
        try:
            outcomes[_inspect(target)] += 1
        except Exception as exc:  # pragma: no cover - the failure message is the point
            raise AssertionError(f"{seed.name} byte {pos}: {type(exc).__name__}: {exc}") from exc
    assert sum(outcomes.values()) == MUTATIONS
