"""Decode throughput of msuinspect next to cabextract, 7-Zip and bsdtar, on the same files.

Builds (or reuses) a large LZX cabinet and a large MSZIP cabinet with the same content (see
``make_inputs.py``), then times, in one run, on each file, with a warm cache:

* ``msuinspect list --hash`` (decodes every member and computes SHA-256), with the
  default decoders and forced to each backend (``--decoder NAME``);
* a pure decode through the library (:data:`DECODE_SNIPPET`: ``open_cabinet_file`` and
  ``unit.walk`` with a sink that discards), default and per backend;
* ``cabextract -q -p``, ``7zz x -so`` and ``bsdtar -xOf`` (output to /dev/null).

Every command runs ``--warmup`` + ``--runs`` times (hyperfine when installed) and the median
is reported, with MB/s of uncompressed output (1 MB = 10^6 bytes), the ratio to cabextract
and the peak RSS. The 1.5x target (issue: "the default path within 1.5x of cabextract time
on LZX and MSZIP") is reported as PASS/MISS; it is informational and never asserted: the
exit status is 0 whenever the measurements could be taken.

Usage::

    .venv/bin/python bench/bench_cab.py [--workdir DIR] [--size 400M] [--runs 3]

This is a benchmark, not a test. Nothing is written outside the work folder.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import make_inputs
from make_inputs import BuildError, Inputs

TARGET_RATIO = 1.5

#: pure decode through the library: every member of every unit into a discarding sink.
#: argv: FILE [DECODER ...]; exits 1 unless every member decoded to its declared size.
DECODE_SNIPPET = """\
import sys
from msuinspect.cab.codecs.base import codecs_by_key
from msuinspect.cab.container import open_cabinet_file

n = 0
class Sink:
    __slots__ = ()
    def write(self, data):
        global n
        n += len(data)
    def close(self):
        pass
    def abort(self, error):
        print(error, file=sys.stderr)

sink = Sink()
keys = sys.argv[2:]
cf = open_cabinet_file(sys.argv[1], codecs=codecs_by_key(keys) if keys else None)
want = bad = 0
for unit in cf.units:
    want += sum(m.size for m in unit.members)
    bad += sum(not o.ok for o in unit.walk(lambda m: sink))
if bad or n != want:
    sys.exit(f"decode failed: {bad} member(s) failed, {n} of {want} bytes")
"""


@dataclass(slots=True)
class Tool:
    name: str
    argv: list[str]
    #: output bytes expected on stdout (external tools are checked once before timing)
    check_output: bool = False


@dataclass(slots=True)
class Result:
    tool: Tool
    times: list[float] = field(default_factory=list)
    rss_kib: list[int] = field(default_factory=list)
    error: str | None = None

    @property
    def median(self) -> float | None:
        return statistics.median(self.times) if self.times else None

    @property
    def peak_rss_mib(self) -> float | None:
        return max(self.rss_kib) / 1024 if self.rss_kib else None


@dataclass(slots=True)
class Case:
    label: str  #: LZX / MSZIP
    path: Path
    uncompressed: int
    results: list[Result] = field(default_factory=list)


# ------------------------------------------------------------------------------- commands
def tools_for(kind: str, path: Path, *, with_bsdtar: bool) -> list[Tool]:
    py = sys.executable
    f = str(path)
    cli = [py, "-m", "msuinspect", "list", "--hash"]
    snippet = [py, "-c", DECODE_SNIPPET, f]
    backends = ["libarchive", "libmspack"] if kind == "LZX" else ["zlib", "libarchive", "libmspack"]
    tools = [Tool("msuinspect list --hash (default)", [*cli, f])]
    tools += [
        Tool(f"msuinspect list --hash --decoder {b}", [*cli, "--decoder", b, f]) for b in backends
    ]
    tools.append(Tool("msuinspect decode only (default)", snippet))
    tools += [Tool(f"msuinspect decode only ({b})", [*snippet, b]) for b in backends]
    tools.append(Tool("cabextract -q -p", ["cabextract", "-q", "-p", f], check_output=True))
    tools.append(Tool("7zz x -so", ["7zz", "x", "-so", f], check_output=True))
    if with_bsdtar:
        tools.append(Tool("bsdtar -xOf", ["bsdtar", "-xOf", f], check_output=True))
    return tools


def count_stdout(argv: list[str], scratch: Path) -> tuple[int, int, str]:
    """Run once, counting stdout bytes; returns (exit status, bytes, stderr tail)."""
    with tempfile.TemporaryFile(dir=scratch) as err:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err)
        assert proc.stdout is not None
        n = 0
        while chunk := proc.stdout.read(1 << 20):
            n += len(chunk)
        rc = proc.wait()
        err.seek(0)
        tail = err.read()[-500:].decode("utf-8", "replace").strip()
    return rc, n, tail


def _parse_time_v(text: str) -> list[int]:
    return [int(m) for m in re.findall(r"Maximum resident set size \(kbytes\): (\d+)", text)]


def run_hyperfine(
    tool: Tool, runs: int, warmup: int, scratch: Path, time_bin: str | None
) -> Result:
    res = Result(tool)
    slug = re.sub(r"[^A-Za-z0-9]+", "_", tool.name).strip("_")
    export = scratch / f"hyperfine_{slug}.json"
    rss_file = scratch / f"rss_{slug}.txt"
    rss_file.unlink(missing_ok=True)
    argv = tool.argv
    if time_bin is not None:
        argv = [time_bin, "-v", "-a", "-o", str(rss_file), *argv]
    cmd = [
        "hyperfine",
        "-N",
        "--style",
        "none",
        "--warmup",
        str(warmup),
        "--runs",
        str(runs),
        "--export-json",
        str(export),
        "--command-name",
        tool.name,
        shlex.join(argv),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout).strip().splitlines()
        res.error = "hyperfine: " + (lines[-1] if lines else f"exit status {proc.returncode}")
        return res
    data = json.loads(export.read_text())
    res.times = [float(t) for t in data["results"][0]["times"]]
    if time_bin is not None and rss_file.exists():
        res.rss_kib = _parse_time_v(rss_file.read_text())[warmup:]
    else:
        res.rss_kib = [_timed_run(tool.argv)[1]]
    return res


def _timed_run(
    argv: list[str], time_bin: str | None = None, scratch: Path | None = None
) -> tuple[float, int, int]:
    """One run with stdout to /dev/null: (seconds, peak RSS KiB, exit status).

    The RSS comes from ``/usr/bin/time -v`` when given, else from ``os.wait4``; the latter is
    floored at this Python process's own RSS (Linux keeps ``ru_maxrss`` across fork + exec).
    """
    rss_file = None
    if time_bin is not None and scratch is not None:
        rss_file = scratch / "rss_plain.txt"
        rss_file.unlink(missing_ok=True)
        argv = [time_bin, "-v", "-o", str(rss_file), *argv]
    with open(os.devnull, "wb") as null:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=null, stderr=subprocess.DEVNULL)
        _pid, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    rss = int(usage.ru_maxrss)
    if rss_file is not None and rss_file.exists():
        found = _parse_time_v(rss_file.read_text())
        rss = found[0] if found else rss
    return elapsed, rss, proc.returncode


def run_plain(tool: Tool, runs: int, warmup: int, time_bin: str | None, scratch: Path) -> Result:
    res = Result(tool)
    for i in range(warmup + runs):
        elapsed, rss, rc = _timed_run(tool.argv, time_bin, scratch)
        if rc != 0:
            res.error = f"exit status {rc}"
            return res
        if i >= warmup:
            res.times.append(elapsed)
            res.rss_kib.append(rss)
    return res


# ---------------------------------------------------------------------------- machine facts
def _first_line(argv: list[str], pattern: str | None = None) -> str:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return "not available"
    for line in (proc.stdout + proc.stderr).splitlines():
        line = line.strip()
        if line and (pattern is None or re.search(pattern, line)):
            return line
    return "unknown"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_total() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return f"{int(line.split()[1]) / 1048576:.1f} GiB"
    except (OSError, ValueError):
        pass
    return "unknown"


def machine_facts() -> dict[str, str]:
    facts = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": f"{_cpu_model()}, {os.cpu_count()} logical CPU(s), {_mem_total()} RAM",
        "os": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "python": f"{platform.python_implementation()} {platform.python_version()} "
        f"({sys.executable})",
    }
    try:
        import msuinspect
        from msuinspect.cab.codecs.base import default_codecs

        facts["msuinspect"] = msuinspect.__version__
        facts["decoders"] = "; ".join(f"{c.key}: {c.description}" for c in default_codecs())
    except Exception as exc:  # the benchmark still reports the external tools
        facts["msuinspect"] = f"not importable: {exc}"
    rev = _first_line(["git", "-C", str(make_inputs.REPO_DIR), "rev-parse", "--short", "HEAD"])
    dirty = _first_line(
        ["git", "-C", str(make_inputs.REPO_DIR), "status", "--porcelain", "--", "src"]
    )
    if re.fullmatch(r"[0-9a-f]{4,40}", rev):
        facts["git"] = rev + (" (src/ modified)" if dirty not in ("unknown", "") else "")
    facts["cabextract"] = _first_line(["cabextract", "--version"])
    facts["7zz"] = _first_line(["7zz"], r"7-Zip")
    facts["bsdtar"] = _first_line(["bsdtar", "--version"])
    facts["gcab"] = _first_line(["gcab", "--version"])
    facts["hyperfine"] = (
        _first_line(["hyperfine", "--version"]) if shutil.which("hyperfine") else "not installed"
    )
    libmspack = _first_line(["dpkg-query", "-W", "-f", "${Version}", "libmspack0"])
    if (
        libmspack
        and libmspack not in ("unknown", "not available")
        and "no packages" not in libmspack
    ):
        facts["libmspack"] = libmspack
    return facts


def python_startup(runs: int) -> float:
    """Median seconds of ``python -c 'import msuinspect.cli'`` (every msuinspect row pays it)."""
    argv = [sys.executable, "-c", "import msuinspect.cli, msuinspect.cab.container"]
    times = [_timed_run(argv)[0] for _ in range(runs + 1)][1:]
    return statistics.median(times)


# ---------------------------------------------------------------------------------- report
def _fmt(v: float | None, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def table(case: Case) -> list[str]:
    base = next((r.median for r in case.results if r.tool.name.startswith("cabextract")), None)
    head = (
        f"| {'tool':<44} | {'median s':>8} | {'MB/s':>7} | {'x cabextract':>12} "
        f"| {'peak RSS MiB':>12} |"
    )
    rule = f"|:{'-' * 45}|{'-' * 9}:|{'-' * 8}:|{'-' * 13}:|{'-' * 13}:|"
    lines = [head, rule]
    for r in case.results:
        med = r.median
        if r.error is not None:
            lines.append(f"| {r.tool.name:<44} | {'FAILED':>8} | {'':>7} | {'':>12} | {'':>12} |")
            continue
        mbps = case.uncompressed / med / 1e6 if med else None
        ratio = med / base if med is not None and base else None
        lines.append(
            f"| {r.tool.name:<44} | {_fmt(med, '8.3f')} | {_fmt(mbps, '7.1f')} | "
            f"{_fmt(ratio, '11.2f') + 'x' if ratio is not None else '-':>12} | "
            f"{_fmt(r.peak_rss_mib, '12.1f')} |"
        )
    return lines


def verdicts(case: Case) -> list[str]:
    by = {r.tool.name: r for r in case.results}
    cab = by.get("cabextract -q -p")
    out = []
    for name in ("msuinspect decode only (default)", "msuinspect list --hash (default)"):
        r = by.get(name)
        if cab is None or cab.median is None or r is None or r.median is None:
            out.append(f"{case.label}: {name}: not measured")
            continue
        ratio = r.median / cab.median
        verdict = "PASS" if ratio <= TARGET_RATIO else "MISS"
        out.append(
            f"{case.label}: {verdict}  {name}: {ratio:.3f}x cabextract "
            f"(target <= {TARGET_RATIO}x; informational)"
        )
    return out


# ------------------------------------------------------------------------------------ main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="msuinspect decode throughput vs cabextract / 7zz / bsdtar"
    )
    make_inputs.add_input_options(ap)
    ap.add_argument("--runs", type=int, default=3, help="timed runs per command (default 3)")
    ap.add_argument("--warmup", type=int, default=1, help="warm-up runs per command (default 1)")
    ap.add_argument(
        "--no-hyperfine",
        action="store_true",
        help="time with perf_counter even if hyperfine is there",
    )
    ap.add_argument("--only", choices=["lzx", "mszip"], help="measure one of the two cabinets only")
    args = ap.parse_args(argv)
    if args.runs < 1 or args.warmup < 0:
        ap.error("--runs must be >= 1 and --warmup >= 0")

    for exe in ("cabextract", "7zz"):
        if shutil.which(exe) is None:
            print(f"bench_cab: error: {exe} is required", file=sys.stderr)
            return 2
    try:
        inputs: Inputs = make_inputs.build_inputs(
            args.workdir,
            args.size,
            args.lzx_source,
            rebuild=args.rebuild,
            keep_aliases=args.keep_aliases,
        )
    except BuildError as exc:
        print(f"bench_cab: error: {exc}", file=sys.stderr)
        return 2

    use_hyperfine = shutil.which("hyperfine") is not None and not args.no_hyperfine
    time_bin = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
    with_bsdtar = shutil.which("bsdtar") is not None
    scratch = args.workdir / "results"
    scratch.mkdir(parents=True, exist_ok=True)

    cases = []
    if args.only in (None, "lzx"):
        cases.append(Case("LZX", inputs.lzx, inputs.uncompressed("lzx")))
    if args.only in (None, "mszip"):
        cases.append(Case("MSZIP", inputs.mszip, inputs.uncompressed("mszip")))

    facts = machine_facts()
    timer = "hyperfine -N" if use_hyperfine else "time.perf_counter"
    rss_src = (
        "/usr/bin/time -v" if time_bin else "os.wait4 rusage (floored at the benchmark's own RSS)"
    )
    facts["method"] = (
        f"{timer}, {args.warmup} warm-up + {args.runs} timed runs, median; "
        f"peak RSS from {rss_src} (max over timed runs)"
    )
    t_start = time.perf_counter()
    for case in cases:
        for tool in tools_for(case.label, case.path, with_bsdtar=with_bsdtar):
            print(f"[{case.label}] {tool.name} ...", file=sys.stderr, flush=True)
            if tool.check_output:
                rc, n, tail = count_stdout(tool.argv, scratch)
                if rc != 0 or n != case.uncompressed:
                    err = f"exit {rc}, {n} of {case.uncompressed} bytes; {tail[-200:]}"
                    print(f"  skipped: {err}", file=sys.stderr)
                    case.results.append(Result(tool, error=err))
                    continue
            if use_hyperfine:
                res = run_hyperfine(tool, args.runs, args.warmup, scratch, time_bin)
            else:
                res = run_plain(tool, args.runs, args.warmup, time_bin, scratch)
            if res.error:
                print(f"  failed: {res.error}", file=sys.stderr)
            case.results.append(res)
    startup = python_startup(args.runs)
    elapsed = time.perf_counter() - t_start

    out: list[str] = []
    out.append("## Machine")
    out += [f"- {k}: {v}" for k, v in facts.items()]
    out.append(f"- python startup + import msuinspect: {startup:.3f} s (in every msuinspect row)")
    out.append("")
    out.append("## Inputs")
    out += [f"- {line}" for line in make_inputs.describe(inputs)]
    for case in cases:
        out.append("")
        out.append(
            f"## {case.label}: {case.path.name} "
            f"({case.uncompressed / 1e6:.1f} MB uncompressed, "
            f"{case.path.stat().st_size / 1e6:.1f} MB file)"
        )
        out.append("")
        out += table(case)
        out.append("")
        out += verdicts(case)
    out.append("")
    out.append(f"(measured in {elapsed:.0f} s)")
    print("\n".join(out))

    record = {
        "facts": facts,
        "python_startup_s": startup,
        "inputs": inputs.facts,
        "cases": [
            {
                "label": c.label,
                "path": str(c.path),
                "uncompressed": c.uncompressed,
                "results": [
                    {
                        "tool": r.tool.name,
                        "argv": r.tool.argv,
                        "times": r.times,
                        "median": r.median,
                        "rss_kib": r.rss_kib,
                        "error": r.error,
                    }
                    for r in c.results
                ],
            }
            for c in cases
        ],
    }
    (scratch / "results.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"(raw numbers: {scratch / 'results.json'})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
