"""Hostile and broken cabinets: a typed error or a finding, within 2 seconds, in bounded
memory; never a traceback, never a hang.

Inputs: every cabinet in the corpus that ``cabextract -t`` rejects or that is marked as a
robustness case, plus the project's own hostile fixtures.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

from msuinspect.cab.container import open_cabinet_file
from msuinspect.cab.tree import scan
from msuinspect.errors import CabFormatError, LimitExceededError, MsuInspectError
from msuinspect.limits import Limits

from support.corpus import FIXTURES, REPO, CorpusEntry, cabinet_entries, corpus_dir, corpus_params

ROBUSTNESS_DIRS = ("cab/libmspack/", "cab/cabextract/", "cab/libarchive/", "cab/gcab/")
CORPUS_CASES = [e for e in cabinet_entries() if e.rel.startswith(ROBUSTNESS_DIRS)]
HOSTILE = sorted((FIXTURES / "cab" / "hostile").glob("*.cab"))
LIMITS = Limits(max_total_output=256 << 20, ratio_grace=1 << 20)


def _exercise(path: Path) -> tuple[str, MsuInspectError | None, float, int]:
    """Open, decode and hash everything; returns (outcome, error, seconds, peak bytes)."""
    tracemalloc.start()
    t0 = time.monotonic()
    error: MsuInspectError | None = None
    outcome = "ok"
    try:
        cf = open_cabinet_file(path, limits=LIMITS)
        for unit in cf.units:
            tree = scan(unit, decode=True, hashes=True, recursive=True)
            if any(m.error is not None for m in tree.iter_members()):
                outcome = "member-errors"
    except MsuInspectError as exc:
        error = exc
        outcome = "error"
    elapsed = time.monotonic() - t0
    _cur, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return outcome, error, elapsed, peak


#: a hang detector, not a performance target (the suite runs in parallel on 2 cores)
HANG_SECONDS = 30.0


@pytest.mark.corpus
@pytest.mark.parametrize("entry", corpus_params(CORPUS_CASES))
def test_corpus_robustness_cases(entry: CorpusEntry) -> None:
    _outcome, error, elapsed, peak = _exercise(entry.path)
    assert elapsed < HANG_SECONDS, f"{entry.rel} took {elapsed:.2f}s"
    assert peak < 128 << 20, f"{entry.rel} allocated {peak} bytes"
    if isinstance(error, CabFormatError):
        assert error.offset is not None, f"{entry.rel}: format error without an offset: {error}"
    if error is not None:
        assert error.code and error.message


@pytest.mark.parametrize("path", HOSTILE, ids=[p.name for p in HOSTILE])
def test_hostile_fixtures(path: Path) -> None:
    outcome, error, elapsed, peak = _exercise(path)
    assert elapsed < HANG_SECONDS
    assert peak < 128 << 20
    expected = {
        "cfdata_bad_checksum.cab": "member-errors",
        "coffFiles_gap.cab": "ok",
        "long_name.cab": "ok",
        "many_members.cab": "ok",
        "mszip_bomb.cab": "error",
        "name_no_nul.cab": "error",
        "overlapping_members.cab": "member-errors",
        "traversal_names.cab": "ok",
    }
    assert outcome == expected[path.name], (outcome, error)
    if path.name == "mszip_bomb.cab":
        assert isinstance(error, LimitExceededError)
    if path.name == "name_no_nul.cab":
        assert isinstance(error, MsuInspectError) and error.offset is not None


def test_bomb_passes_with_raised_ratio() -> None:
    """The ratio cap is the only thing stopping the bomb: raising it decodes all 64 MB."""
    path = FIXTURES / "cab" / "hostile" / "mszip_bomb.cab"
    cf = open_cabinet_file(path, limits=Limits(max_ratio=2000.0))
    tree = scan(cf.units[0], decode=True, hashes=False, recursive=False)
    assert [m.error for m in tree.members] == [None]
    assert tree.members[0].member.size == 65_536_000


def test_total_output_cap() -> None:
    path = FIXTURES / "cab" / "hostile" / "mszip_bomb.cab"
    cf = open_cabinet_file(path, limits=Limits(max_ratio=2000.0, max_total_output=1 << 20))
    with pytest.raises(LimitExceededError):
        scan(cf.units[0], decode=True, hashes=False, recursive=False)


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


def test_cli_never_tracebacks_on_broken_files(tmp_path: Path) -> None:
    """One CLI run over every broken input: one-line errors, exit status 1, bounded memory
    (2 GiB address space) and time."""
    files = [str(p) for p in HOSTILE]
    root = corpus_dir()
    if root is not None:
        files += [str(e.path) for e in CORPUS_CASES]
    env = dict(os.environ, MSUINSPECT_DEBUG="0")
    r = subprocess.run(
        [sys.executable, "-m", "msuinspect", "list", "--hash", "-r", *files],
        capture_output=True,
        timeout=10 + 2 * len(files),
        env=env,
        cwd=REPO,
        preexec_fn=_limit_memory,
    )
    err = r.stderr.decode("utf-8", "replace")
    assert "Traceback" not in err
    assert "internal error" not in err
    assert r.returncode == 1
    for line in err.splitlines():
        assert line.startswith("msuinspect: error: "), line
