"""Benchmark of ``msuinspect scan`` over a generated folder of signed cabinets and MSUs.

    .venv/bin/python bench/bench_scan.py [--files 200] [--total 3G] [--big 4] [--big-size 520M]
                                         [--workdir DIR] [--keep]

Builds (in a temporary folder, never in the repository) ``--files`` signed files of mixed
sizes totalling at least ``--total`` bytes: ``--big`` of them of ``--big-size`` (stored
cabinets), the rest small and medium cabinets (stored or MSZIP) and MSUs (an MSZIP outer
cabinet holding a signed inner update cabinet and a WSUSSCAN.cab, both signed); built with
gcab and signed with osslsigncode with the test PKI of tests/fixtures/pki. Then times, in
one run, over the same bytes:

* the floor: ``openssl dgst -sha256`` over every file (one process);
* the peer pipeline: a loop of ``osslsigncode verify`` + ``cabextract -t`` over every file;
* ``msuinspect scan --no-cache -j 1`` and ``-j 2`` (full depth);
* a cold scan into a fresh cache, then the warm rescan;

and reports ratios and the peak RSS of the largest single process of each (sampled from
``/proc/PID/status`` VmHWM of the process tree every 50 ms: the main process and each
worker). The files are read once before timing so that every tool reads from the page
cache. Nothing is asserted; this is not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PKI = REPO / "tests" / "fixtures" / "pki"
TOOLS = ("gcab", "osslsigncode", "cabextract", "openssl")


def parse_size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    text = text.strip().upper()
    return int(float(text[:-1]) * units[text[-1]]) if text[-1] in units else int(text)


def run(cmd: list[str], **kw: object) -> None:
    subprocess.run(cmd, check=True, capture_output=True, **kw)  # type: ignore[call-overload]


def payload(path: Path, size: int, rng: random.Random, compressible: bool) -> None:
    """Pseudo-random bytes (or text-like, compressible ones for MSZIP cabinets)."""
    with open(path, "wb") as f:
        left = size
        block = os.urandom(1 << 20)
        text = b"".join(
            f"line {i} {rng.random():.12f} msuinspect bench\n".encode() for i in range(20000)
        )
        while left > 0:
            # compressible: half text, half random (MSZIP halves it, about)
            mixed = text[: 1 << 19] + block[: 1 << 19]
            chunk = (mixed if compressible else block)[: min(left, 1 << 20)]
            if not compressible:
                block = os.urandom(1 << 20)
            f.write(chunk)
            left -= len(chunk)


def sign(src: Path, dst: Path) -> None:
    run(
        [
            "osslsigncode",
            "sign",
            "-certs",
            str(PKI / "leaf_codesign_chain.pem"),
            "-key",
            str(PKI / "leaf_codesign.key"),
            "-h",
            "sha256",
            "-time",
            "1700000000",
            "-in",
            str(src),
            "-out",
            str(dst),
        ]
    )


def gcab(out: Path, files: list[Path], mszip: bool) -> None:
    run(["gcab", "-c", *(["-z"] if mszip else []), "-n", str(out), *map(str, files)])


def build(root: Path, n_files: int, total: int, n_big: int, big_size: int) -> list[Path]:
    rng = random.Random(20261202)
    scratch = root / "scratch"
    out = root / "media"
    scratch.mkdir()
    out.mkdir()
    small_total = max(total - n_big * big_size, 0)
    n_small = n_files - n_big
    # mixed sizes: a log-uniform spread, scaled to the byte budget of the small ones
    weights = [rng.lognormvariate(0, 1.2) for _ in range(n_small)]
    scale = small_total / sum(weights)
    sizes = [big_size] * n_big + [max(4096, int(w * scale)) for w in weights]
    made: list[Path] = []
    for i, size in enumerate(sizes):
        kind = "big" if i < n_big else ("msu" if i % 3 == 0 else "cab")
        mszip = kind != "big" and i % 2 == 0
        work = scratch / f"w{i}"
        work.mkdir()
        data = work / f"payload{i}.bin"
        payload(data, size, rng, compressible=mszip)
        kb = 5000000 + i
        if kind == "msu":
            inner_raw = work / "inner_raw.cab"
            gcab(inner_raw, [data], mszip)
            inner = work / f"Windows6.0-KB{kb}-x64.cab"
            sign(inner_raw, inner)
            scan_raw, wsus = work / "wsus_raw.cab", work / "WSUSSCAN.cab"
            note = work / "note.txt"
            note.write_text(f"KB{kb}\n")
            gcab(scan_raw, [note], True)
            sign(scan_raw, wsus)
            outer_raw = work / "outer_raw.cab"
            gcab(outer_raw, [wsus, inner], True)
            target = out / f"d{i % 7}" / f"Windows6.0-KB{kb}-x64.msu"
        else:
            outer_raw = work / "raw.cab"
            gcab(outer_raw, [data], mszip)
            target = out / f"d{i % 7}" / f"bench-{i:03}-{'mszip' if mszip else 'stored'}.cab"
        target.parent.mkdir(exist_ok=True)
        sign(outer_raw, target)
        shutil.rmtree(work)
        made.append(target)
        print(
            f"  built {i + 1}/{len(sizes)}: {target.name} {target.stat().st_size:,} B",
            file=sys.stderr,
            end="\r",
        )
    print(file=sys.stderr)
    shutil.rmtree(scratch)
    return sorted(made)


class PeakRss:
    """The largest VmHWM of any process in the tree of ``pid``, sampled."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self.per_pid = pid, 0, {}  # type: ignore[var-annotated]
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._loop, daemon=True)
        self._t.start()

    def _tree(self) -> list[int]:
        out, todo = [], [self.pid]
        while todo:
            p = todo.pop()
            out.append(p)
            try:
                for tid in os.listdir(f"/proc/{p}/task"):
                    with open(f"/proc/{p}/task/{tid}/children") as f:
                        todo += [int(c) for c in f.read().split()]
            except OSError:
                pass
        return out

    def _loop(self) -> None:
        while not self._stop.is_set():
            for p in self._tree():
                try:
                    with open(f"/proc/{p}/status") as f:
                        for line in f:
                            if line.startswith("VmHWM:"):
                                kb = int(line.split()[1])
                                self.per_pid[p] = max(self.per_pid.get(p, 0), kb)
                except OSError:
                    pass
            time.sleep(0.05)

    def stop(self) -> int:
        self._stop.set()
        self._t.join()
        return max(self.per_pid.values(), default=0) * 1024


def timed(cmd: list[str], *, shell: bool = False) -> tuple[float, int, int]:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, shell=shell)
    rss = PeakRss(proc.pid)
    _, err = proc.communicate()
    seconds = time.perf_counter() - start
    peak = rss.stop()
    if proc.returncode not in (0, 1, 3):
        raise SystemExit(f"{cmd[:3]} failed ({proc.returncode}): {err.decode()[-2000:]}")
    return seconds, peak, proc.returncode


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--total", default="3.1G")
    ap.add_argument("--big", type=int, default=4)
    ap.add_argument("--big-size", default="520M")
    ap.add_argument("--workdir", default=None, help="where to build (default: system temp)")
    ap.add_argument("--keep", action="store_true", help="keep the generated folder")
    ap.add_argument("--json", help="also write the numbers here")
    args = ap.parse_args()
    for tool in TOOLS:
        if shutil.which(tool) is None:
            raise SystemExit(f"needs {tool} (scripts/install-system-deps.sh)")
    total, big = parse_size(args.total), parse_size(args.big_size)
    free = shutil.disk_usage(args.workdir or tempfile.gettempdir()).free
    if free < 2 * total + (1 << 30):
        raise SystemExit(f"not enough free space: {free:,} B for {total:,} B of inputs")
    root = Path(tempfile.mkdtemp(prefix="msuinspect-bench-scan-", dir=args.workdir))
    try:
        t0 = time.perf_counter()
        files = build(root, args.files, total, args.big, big)
        built = time.perf_counter() - t0
        nbytes = sum(f.stat().st_size for f in files)
        media = root / "media"
        for f in files:  # into the page cache
            with open(f, "rb") as fh:
                while fh.read(1 << 24):
                    pass
        py = sys.executable
        scan = [
            py,
            "-m",
            "msuinspect",
            "scan",
            "-q",
            "--fail-on",
            "never",
            "-f",
            "jsonl",
            "--trust-root",
            str(PKI / "root_ca.pem"),
            "--as-of",
            "2026-01-01",
        ]
        peer = (
            f"for f in $(find {media} -type f | sort); do "
            f'osslsigncode verify -CAfile {PKI / "root_ca.pem"} -in "$f" >/dev/null 2>&1; '
            f'cabextract -t -q "$f" >/dev/null 2>&1; done'
        )
        cache = root / "cache.sqlite3"
        results: dict[str, tuple[float, int, int]] = {}
        results["openssl dgst -sha256"] = timed(["openssl", "dgst", "-sha256", *map(str, files)])
        results["osslsigncode verify + cabextract -t loop"] = timed(["bash", "-c", peer])
        results["scan --no-cache -j 1"] = timed([*scan, "--no-cache", "-j", "1", str(media)])
        results["scan --no-cache -j 2"] = timed([*scan, "--no-cache", "-j", "2", str(media)])
        results["scan -j 2, cold cache"] = timed(
            [*scan, "--cache", str(cache), "-j", "2", str(media)]
        )
        results["scan -j 2, warm cache"] = timed(
            [*scan, "--cache", str(cache), "-j", "2", str(media)]
        )
        floor = results["openssl dgst -sha256"][0]
        peer_s = results["osslsigncode verify + cabextract -t loop"][0]
        j1, j2 = results["scan --no-cache -j 1"][0], results["scan --no-cache -j 2"][0]
        cold, warm = results["scan -j 2, cold cache"][0], results["scan -j 2, warm cache"][0]
        sizes = sorted(f.stat().st_size for f in files)
        print(
            f"machine: {platform.node()}, {os.cpu_count()} CPU(s), {platform.platform()}, "
            f"Python {platform.python_version()}"
        )
        print(
            f"inputs: {len(files)} files, {nbytes:,} B (largest {sizes[-1]:,} B, "
            f"{sum(s >= 500 << 20 for s in sizes)} >= 500 MiB, "
            f"median {sizes[len(sizes) // 2]:,} B, "
            f"{sum(f.suffix == '.msu' for f in files)} MSUs); built in {built:.0f} s"
        )
        print("| run | seconds | MB/s | peak RSS of one process (MiB) |")
        print("|---|---|---|---|")
        for name, (sec, peak, _) in results.items():
            print(f"| {name} | {sec:.1f} | {nbytes / sec / 1e6:.0f} | {peak / 2**20:.0f} |")
        print(
            f"scan -j 2 / openssl floor: {j2 / floor:.2f}x; scan -j 2 / peer loop: "
            f"{j2 / peer_s:.2f}x; -j 1 / -j 2: {j1 / j2:.2f}x; cold / warm: {cold / warm:.1f}x"
        )
        if args.json:
            Path(args.json).write_text(
                json.dumps(
                    {
                        "files": len(files),
                        "bytes": nbytes,
                        "results": {
                            k: {"seconds": v[0], "peak_rss": v[1]} for k, v in results.items()
                        },
                    },
                    indent=2,
                )
            )
    finally:
        if args.keep:
            print(f"kept {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
