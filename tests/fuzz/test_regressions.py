"""Every input the fuzzer ever failed on, replayed through every target; and the fuzz
harness itself: it must notice a crash, a hang and a memory hog, and keep the input.

The regression inputs live in ``tests/fuzz/regressions/<target that found it>/`` and are
described in ``tests/fuzz/regressions/README.md``; all are small and made by the project
(from its own fixtures), never third-party files. Replaying one through every target costs
little and catches the same bug reached through another entry point.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .targets import REGRESSIONS, REPO, TARGETS, Target
from .worker import EXIT_CRASH, EXIT_OOM, EXIT_TIMEOUT, mutate


def _inputs() -> list[Path]:
    return sorted(
        p
        for p in REGRESSIONS.glob("*/*")
        if p.is_file() and p.name != "README.md" and p.parent.name in TARGETS
    )


def test_regression_inputs_are_small_and_described() -> None:
    inputs = _inputs()
    assert inputs, "the regression folder lost its inputs"
    readme = (REGRESSIONS / "README.md").read_text(encoding="utf-8")
    for p in inputs:
        assert p.stat().st_size <= 64 << 10, f"{p.name}: regression inputs stay small"
        assert p.name in readme, f"{p.name} is not described in regressions/README.md"


@pytest.mark.parametrize("target", list(TARGETS.values()), ids=list(TARGETS))
def test_replay_regressions(target: Target) -> None:
    """No input raises anything but the project's own errors (Target.one lets those by)."""
    for path in _inputs():
        try:
            target.one(path.read_bytes())
        except Exception as exc:  # pragma: no cover - the message is the point
            raise AssertionError(
                f"{target.name} on {path.relative_to(REPO)}: {type(exc).__name__}: {exc}"
            ) from exc


def test_every_target_runs_its_own_seeds() -> None:
    """The seeds (fixtures at least) exist and pass: the fuzz step starts from valid files."""
    for target in TARGETS.values():
        seeds = target.seeds()
        assert seeds, f"{target.name} has no seeds"
        target.one(seeds[0].read_bytes())


def test_mutate_stays_within_max_len() -> None:
    import random

    rng = random.Random(5)
    seed = bytes(range(256)) * 8
    for _ in range(500):
        assert len(mutate(rng, seed, seed, 1000)) <= 1000


def _worker(
    tmp_path: Path, target: str, rss_mb: int = 2048, timeout: int = 1
) -> tuple[int, str, list[Path]]:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "one").write_bytes(b"x")
    art = tmp_path / "artifacts"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.fuzz.worker",
            target,
            "--seconds=60",
            f"--artifacts={art}",
            f"--work={tmp_path / 'work'}",
            f"--seeds={seeds}",
            f"--timeout={timeout}",
            f"--rss-mb={rss_mb}",
            "--engine=mutate",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return proc.returncode, proc.stderr, sorted(art.iterdir())


@pytest.mark.parametrize(
    ("target", "status", "kind", "rss_mb"),
    [
        ("selftest-crash", EXIT_CRASH, "crash", 2048),
        ("selftest-hang", EXIT_TIMEOUT, "timeout", 2048),
        ("selftest-oom", EXIT_OOM, "oom", 400),
    ],
)
def test_worker_fails_and_keeps_the_input(
    tmp_path: Path, target: str, status: int, kind: str, rss_mb: int
) -> None:
    # the memory hog gets a generous time budget: on a loaded machine, reaching the memory
    # bound must not lose the race against the time budget
    code, err, artifacts = _worker(tmp_path, target, rss_mb, timeout=1 if kind != "oom" else 60)
    assert code == status, err
    assert [a.name.split("-", 1)[0] for a in artifacts] == [kind]
    assert artifacts[0].read_bytes() == b"x"
    if kind == "crash":
        assert "KeyError" in err
    else:
        assert "_hang" in err or "_oom" in err  # the stack of the stuck code is shown


def test_runner_reports_a_failure(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.fuzz.run",
            "--seconds=5",
            "--targets=selftest-crash,host",
            "--engine=mutate",
            f"--out={tmp_path}",
            f"--report={tmp_path / 'report.json'}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAILED selftest-crash: crash:" in proc.stderr
    assert "host " in proc.stdout and "FAILED host" not in proc.stderr
