"""Run every fuzz target for a share of a fixed time, and fail on anything wrong.

    python -m tests.fuzz.run --seconds 180            # the CI step (make fuzz)
    python -m tests.fuzz.run --seconds 1500 --out fuzz-release   # the release run

The time is wall-clock for the whole run: targets run ``--jobs`` at a time (one process
each), so each gets ``seconds * jobs / targets``. A target fails when:

* an input raises anything but :class:`~msuinspect.errors.MsuInspectError` (``crash``);
* one input runs longer than ``--timeout`` seconds (``timeout``);
* the process's memory exceeds ``--rss-mb`` MiB, seen by the worker itself (``oom``) or
  afterwards in the peak resident set size the kernel reports for it (``rss``);
* the worker neither finishes nor reports (``hung``; killed after its time plus a grace
  period), or ends with an error status and no failing input (``error``).

After a failure the target is restarted with its remaining time (new random seed, same
kept corpus), so one crash does not hide the next. Failing inputs are kept under
``--out``/artifacts/<target>/; ``--save-regressions`` copies them to
``tests/fuzz/regressions/<target>/``, which ``tests/fuzz/test_regressions.py`` replays in the
normal suite (replace an input derived from a third-party corpus file by a small
project-made one before committing it). Exit status 1 when any target failed.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tests.fuzz.targets import REGRESSIONS, REPO, SELFTESTS, TARGETS, Target, corpus_dir
from tests.fuzz.worker import EXIT_CRASH, EXIT_OOM, EXIT_TIMEOUT

#: the memory bound of one target's process (MiB): inputs are at most 512 KiB, so the
#: default limits cap a file's decoded work at 64 MiB; the rest is Python, the libraries,
#: and libFuzzer's corpus
DEFAULT_RSS_MB = 2048
#: seconds one input may take
DEFAULT_TIMEOUT = 10
#: seconds a worker may take beyond its share (start-up, instrumentation, the seed pass)
GRACE = 180
#: restarts of one target after failures, within its time
MAX_RESTARTS = 5

_EXECS = re.compile(r"stat::number_of_executed_units:\s*(\d+)")
_PROGRESS = re.compile(r"^#(\d+)\s", re.MULTILINE)
_ARTIFACT_KINDS = ("crash", "timeout", "oom", "leak", "slow-unit")


@dataclass
class TargetResult:
    target: str
    engine: str
    seconds: float = 0.0
    execs: int = 0
    peak_rss_mb: float = 0.0
    runs: int = 0
    seeds: int = 0
    failures: list[str] = field(default_factory=list)  #: "kind: artifact or reason"

    @property
    def ok(self) -> bool:
        return not self.failures


def engine_available() -> str:
    return "atheris" if importlib.util.find_spec("atheris") is not None else "mutate"


def _link_seeds(target: Target, folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    seeds = target.all_seeds()
    for i, path in enumerate(seeds):
        link = folder / f"{i:04d}-{path.name}"
        if not link.exists():
            link.symlink_to(path.resolve())
    return len(seeds)


def _wait(proc: subprocess.Popen[bytes], limit: float) -> tuple[int | None, float]:
    """Wait for ``proc`` at most ``limit`` seconds: (exit status or None if killed, peak
    RSS in MiB from the kernel's accounting of that one child)."""
    deadline = time.monotonic() + limit
    killed = False
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            peak = usage.ru_maxrss / 1024  # KiB on Linux
            return (None if killed else proc.returncode), peak
        if not killed and time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            killed = True
        time.sleep(0.2)


def fuzz_target(
    target: Target, seconds: float, args: argparse.Namespace, out: Path, log_lock: threading.Lock
) -> TargetResult:
    res = TargetResult(target.name, args.engine)
    seeds = out / "seeds" / target.name
    res.seeds = _link_seeds(target, seeds)
    work = out / "corpus" / target.name
    artifacts = out / "artifacts" / target.name
    start = time.monotonic()
    while True:
        remaining = seconds - (time.monotonic() - start)
        if res.runs and (remaining < 5 or res.runs > MAX_RESTARTS):
            break
        before = set(artifacts.iterdir()) if artifacts.is_dir() else set()
        log_path = out / "logs" / f"{target.name}.{res.runs}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        cmd = [
            sys.executable,
            "-m",
            "tests.fuzz.worker",
            target.name,
            f"--deadline={time.time() + max(1.0, remaining):.1f}",
            f"--artifacts={artifacts}",
            f"--work={work}",
            f"--seeds={seeds}",
            f"--timeout={args.timeout}",
            f"--rss-mb={args.rss_mb}",
            f"--seed={args.seed + res.runs}",
            f"--engine={args.engine}",
        ]
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
            status, peak = _wait(proc, max(1.0, remaining) + GRACE + 3 * args.timeout)
        res.runs += 1
        res.peak_rss_mb = max(res.peak_rss_mb, peak)
        text = log_path.read_text(errors="replace")
        found = _EXECS.findall(text)
        progress = _PROGRESS.findall(text)
        res.execs += int(found[-1]) if found else (int(progress[-1]) if progress else 0)
        new = sorted(set(artifacts.iterdir()) - before) if artifacts.is_dir() else []
        for art in new:
            res.failures.append(f"{art.name.split('-', 1)[0]}: {art}")
        if status is None:
            res.failures.append(f"hung: killed after {remaining + GRACE:.0f} s; see {log_path}")
        elif status != 0 and not new:
            kind = {EXIT_CRASH: "crash", EXIT_TIMEOUT: "timeout", EXIT_OOM: "oom"}.get(
                status, "error"
            )
            res.failures.append(f"{kind}: exit status {status} without an input; see {log_path}")
        if peak > args.rss_mb:
            res.failures.append(f"rss: peak {peak:.0f} MiB > {args.rss_mb} MiB; see {log_path}")
        if status != 0 or new:
            with log_lock:
                print(f"--- {target.name}: failure, last lines of {log_path}:", file=sys.stderr)
                print("\n".join(text.splitlines()[-40:]), file=sys.stderr, flush=True)
            continue  # restart with the time left
        break
    res.seconds = time.monotonic() - start
    if args.save_regressions:
        dest = REGRESSIONS / target.name
        for line in res.failures:
            path = Path(line.split(": ", 1)[1])
            if path.is_file():
                dest.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, dest / path.name)
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.fuzz.run", description=__doc__)
    ap.add_argument("--seconds", type=float, default=180, help="wall-clock time of the run")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--targets", default="", help="comma-separated (default: all)")
    ap.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT, help="seconds per input")
    ap.add_argument("--rss-mb", type=int, default=DEFAULT_RSS_MB, help="memory bound (MiB)")
    ap.add_argument("--seed", type=int, default=1, help="random seed (reproducible runs)")
    ap.add_argument("--engine", choices=("auto", "atheris", "mutate"), default="auto")
    ap.add_argument("--out", type=Path, help="keep seeds, corpus, artifacts and logs here")
    ap.add_argument("--report", type=Path, help="write the figures as JSON here")
    ap.add_argument("--save-regressions", action="store_true")
    args = ap.parse_args(argv)
    if args.engine == "auto":
        args.engine = engine_available()
    everything = {**TARGETS, **SELFTESTS}
    names = [n for n in args.targets.split(",") if n] or list(TARGETS)
    unknown = [n for n in names if n not in everything]
    if unknown:
        ap.error(f"unknown targets {unknown}; known: {', '.join(TARGETS)}")
    out = args.out or Path(tempfile.mkdtemp(prefix="msuinspect-fuzz-"))
    out.mkdir(parents=True, exist_ok=True)
    jobs = max(1, min(args.jobs, len(names)))
    share = args.seconds * jobs / len(names)
    print(
        f"fuzz: {len(names)} targets, {args.engine}, {share:.0f} s each, {jobs} at a time, "
        f"{args.timeout} s per input, {args.rss_mb} MiB; corpus "
        f"{corpus_dir() or 'absent (fixtures only)'}; output in {out}",
        flush=True,
    )
    lock = threading.Lock()
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(fuzz_target, everything[n], share, args, out, lock) for n in names]
        results = [f.result() for f in futures]
    wall = time.monotonic() - started
    print(
        f"\n{'target':<14} {'engine':<8} {'seeds':>5} {'seconds':>7} {'inputs':>9} "
        f"{'inputs/s':>8} {'peak MiB':>8}  result"
    )
    for r in results:
        rate = r.execs / r.seconds if r.seconds else 0.0
        verdict = "ok" if r.ok else f"FAILED ({len(r.failures)})"
        print(
            f"{r.target:<14} {r.engine:<8} {r.seeds:>5} {r.seconds:>7.0f} {r.execs:>9} "
            f"{rate:>8.1f} {r.peak_rss_mb:>8.0f}  {verdict}"
        )
    print(f"total: {sum(r.execs for r in results)} inputs in {wall:.0f} s")
    for r in results:
        for failure in r.failures:
            print(f"FAILED {r.target}: {failure}", file=sys.stderr)
    if args.report:
        args.report.write_text(
            json.dumps(
                {
                    "wall_seconds": wall,
                    "engine": args.engine,
                    "results": [asdict(r) for r in results],
                },
                indent=2,
            )
        )
    failed = any(not r.ok for r in results)
    if not failed and args.out is None:
        shutil.rmtree(out, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
