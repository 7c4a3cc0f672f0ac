"""Fuzz one target in this process, until its time is up or an input fails.

    python -m tests.fuzz.worker TARGET --seconds S --artifacts DIR --work DIR [options]

Engines:

* ``atheris`` (when installed): libFuzzer's coverage-guided loop over Python code made
  observable by atheris' bytecode instrumentation of ``msuinspect`` and ``asn1crypto``
  (every submodule imported up front, so lazy imports are instrumented too). New inputs
  that reach new code are kept in ``--work``; libFuzzer enforces ``--timeout`` per input
  (``-timeout``) and the memory bound (``-rss_limit_mb``) and writes the failing input as
  ``crash-*``, ``timeout-*`` or ``oom-*`` under ``--artifacts``.
* ``mutate`` (fallback, also used by the harness's own tests): random stacked mutations
  of the seeds (bit flips, interesting bytes and integers, block insert/delete/duplicate,
  truncation, splicing of two seeds), with a watchdog thread for the time budget and the
  memory bound. No coverage feedback.

Either way the last lines of output include ``stat::number_of_executed_units: N``, which
the runner reads; the exit status is 0 only when no input failed.
"""

from __future__ import annotations

import argparse
import faulthandler
import hashlib
import importlib
import os
import pkgutil
import random
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path

EXIT_CRASH = 77
EXIT_TIMEOUT = 70
EXIT_OOM = 71

_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    """Resident memory of this process now, in MiB."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * _PAGE / (1 << 20)
    except (OSError, ValueError, IndexError):  # not Linux: the runner's rusage still checks
        return 0.0


def _import_everything(packages: tuple[str, ...]) -> None:
    """Import every submodule of ``packages`` (so atheris instruments them now)."""
    for name in packages:
        try:
            pkg = importlib.import_module(name)
        except ImportError:
            continue
        for info in pkgutil.walk_packages(pkg.__path__, name + "."):
            if info.name.endswith("__main__"):
                continue
            try:
                importlib.import_module(info.name)
            except Exception:  # an optional backend missing here is not the fuzzer's concern
                continue


def _write_artifact(folder: Path, kind: str, data: bytes) -> Path:
    path = folder / f"{kind}-{hashlib.sha1(data).hexdigest()}"
    path.write_bytes(data)
    return path


def _settle_time(args: argparse.Namespace) -> None:
    """``args.seconds`` from ``--deadline`` once start-up is done."""
    if args.deadline is not None:
        args.seconds = max(1.0, args.deadline - time.time())
    elif args.seconds is None:
        raise SystemExit("--seconds or --deadline is required")


# --------------------------------------------------------------------------- atheris


def run_atheris(args: argparse.Namespace, seed_dir: Path) -> None:
    import atheris

    with atheris.instrument_imports(include=["msuinspect", "asn1crypto"]):
        _import_everything(("msuinspect", "asn1crypto"))
    from tests.fuzz.targets import SELFTESTS, TARGETS

    target = {**TARGETS, **SELFTESTS}[args.target]
    _settle_time(args)
    argv = [
        sys.argv[0],
        str(args.work),
        str(seed_dir),
        f"-max_total_time={max(1, round(args.seconds))}",
        f"-timeout={args.timeout}",
        f"-rss_limit_mb={args.rss_mb}",
        f"-max_len={target.max_len}",
        f"-seed={args.seed}",
        f"-artifact_prefix={args.artifacts}/",
        "-print_final_stats=1",
        f"-error_exitcode={EXIT_CRASH}",
        f"-timeout_exitcode={EXIT_TIMEOUT}",
    ]
    atheris.Setup(argv, target.one)
    atheris.Fuzz()  # exits the process


# --------------------------------------------------------------------------- mutate

_INTERESTING = (0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)


def mutate(rng: random.Random, data: bytes, other: bytes, max_len: int) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.choice((1, 1, 2, 3, 4, 8))):
        op = rng.randrange(9)
        n = len(buf)
        pos = rng.randrange(n) if n else 0
        if rng.random() < 0.5 and n:
            pos = rng.randrange(min(n, 256))  # headers live at the start
        if op == 0 and n:
            buf[pos] ^= 1 << rng.randrange(8)
        elif op == 1 and n:
            buf[pos] = rng.randrange(256)
        elif op == 2 and n:
            width = rng.choice((1, 2, 4))
            value = rng.choice(_INTERESTING) & ((1 << (8 * width)) - 1)
            order = rng.choice(("little", "big"))
            buf[pos : pos + width] = value.to_bytes(width, order)  # type: ignore[arg-type]
        elif op == 3:
            buf[pos:pos] = rng.randbytes(rng.randrange(1, 17))
        elif op == 4 and n:
            del buf[pos : pos + rng.randrange(1, 65)]
        elif op == 5 and n:
            size = rng.randrange(1, min(n, 512) + 1)
            src = rng.randrange(max(1, n - size + 1))
            buf[pos:pos] = buf[src : src + size] * rng.choice((1, 2, 16))
        elif op == 6 and n:
            del buf[rng.randrange(n) :]
        elif op == 7 and other:
            cut = rng.randrange(len(other))
            buf[pos:] = other[cut : cut + rng.randrange(1, 4096)]
        elif op == 8 and n:
            # a byte that looks like a length or count: set it to a boundary
            buf[pos] = rng.choice((0x00, 0x01, 0x7F, 0x80, 0x81, 0x82, 0x84, 0xFF))
    return bytes(buf[:max_len])


class Watchdog(threading.Thread):
    """Ends the process when one input runs over its time budget or the process over its
    memory bound, after saving the input and the stack of every thread."""

    def __init__(self, artifacts: Path, timeout: float, rss_bound: float) -> None:
        super().__init__(daemon=True)
        self.artifacts = artifacts
        self.timeout = timeout
        self.rss_bound = rss_bound
        self.current: tuple[float, bytes] | None = None

    def run(self) -> None:
        while True:
            time.sleep(0.05)
            cur = self.current
            if cur is None:
                continue
            started, data = cur
            if time.monotonic() - started > self.timeout:
                self._fail("timeout", data, EXIT_TIMEOUT, f"over the {self.timeout} s budget")
            used = rss_mb()
            if used > self.rss_bound:
                self._fail("oom", data, EXIT_OOM, f"{used:.0f} MiB > {self.rss_bound} MiB")

    def _fail(self, kind: str, data: bytes, status: int, why: str) -> None:
        path = _write_artifact(self.artifacts, kind, data)
        print(f"==ERROR: {kind}: {why}; input written to {path}", file=sys.stderr, flush=True)
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        sys.stderr.flush()
        os._exit(status)


def run_mutate(args: argparse.Namespace, seed_dir: Path) -> int:
    from tests.fuzz.targets import SELFTESTS, TARGETS

    target = {**TARGETS, **SELFTESTS}[args.target]
    _settle_time(args)
    seeds = [p.read_bytes()[: target.max_len] for p in sorted(seed_dir.iterdir())] or [b""]
    rng = random.Random(args.seed)
    dog = Watchdog(args.artifacts, args.timeout, args.rss_mb)
    dog.start()
    deadline = time.monotonic() + args.seconds
    execs = 0
    status = 0
    run: Callable[[bytes], None] = target.one
    # every seed once, unchanged, then mutants until the time is up
    pending = list(seeds)
    while time.monotonic() < deadline:
        if pending:
            data = pending.pop(0)
        else:
            data = mutate(rng, rng.choice(seeds), rng.choice(seeds), target.max_len)
        dog.current = (time.monotonic(), data)
        # the backstop for code that never lets the watchdog thread run (C holding the GIL)
        faulthandler.dump_traceback_later(args.timeout * 3, exit=True)
        try:
            run(data)
        except Exception:
            faulthandler.cancel_dump_traceback_later()
            dog.current = None
            path = _write_artifact(args.artifacts, "crash", data)
            print("=== Uncaught Python exception: ===", file=sys.stderr)
            traceback.print_exc()
            print(f"==ERROR: crash; input written to {path}", file=sys.stderr, flush=True)
            status = EXIT_CRASH
            execs += 1
            break
        faulthandler.cancel_dump_traceback_later()
        dog.current = None
        execs += 1
    print(f"stat::number_of_executed_units: {execs}", file=sys.stderr)
    print(f"stat::peak_rss_mb: {rss_mb():.0f}", file=sys.stderr, flush=True)
    return status


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.fuzz.worker")
    ap.add_argument("target")
    ap.add_argument("--seconds", type=float, help="time to fuzz (after start-up)")
    ap.add_argument("--deadline", type=float, help="or: fuzz until this time.time()")
    ap.add_argument("--artifacts", type=Path, required=True)
    ap.add_argument("--work", type=Path, required=True, help="corpus kept by the fuzzer")
    ap.add_argument("--seeds", type=Path, required=True, help="folder of seed files")
    ap.add_argument("--timeout", type=int, default=10, help="seconds per input")
    ap.add_argument("--rss-mb", type=int, default=2048, help="memory bound (MiB)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--engine", choices=("atheris", "mutate"), default="atheris")
    args = ap.parse_args(argv)
    args.artifacts.mkdir(parents=True, exist_ok=True)
    args.work.mkdir(parents=True, exist_ok=True)
    if args.engine == "atheris":
        run_atheris(args, args.seeds)
        return 0  # pragma: no cover - libFuzzer exits the process itself
    return run_mutate(args, args.seeds)


if __name__ == "__main__":
    sys.exit(main())
