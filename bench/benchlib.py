"""Helpers shared by the benchmark scripts of this folder.

``bench_cab.py``, ``bench_signatures.py`` and ``make_inputs.py`` are run as scripts
(``python bench/bench_cab.py``), so they import this module by its plain name. It holds what
is the same in all of them:

* paths (:data:`REPO_DIR`, :data:`BENCH_DIR`, :data:`DEFAULT_WORKDIR`), :class:`BuildError`,
  :func:`parse_size`, :func:`run` (a command that must succeed) and the input-cache helpers
  :func:`require_tools` and :func:`read_manifest`;
* the command-line options common to several scripts (``--workdir``, ``--size``,
  ``--rebuild``, ``--runs``/``--warmup``/``--no-hyperfine``);
* timing: :class:`Tool`, :class:`Result`, :func:`run_hyperfine` (``hyperfine -N``, peak RSS
  from ``/usr/bin/time -v``), :func:`run_plain` (``time.perf_counter`` + ``os.wait4``) and
  :class:`Timing`, which picks one of the two from the options;
* machine facts: :func:`machine_facts` (date, CPU, OS, Python, msuinspect version, git
  revision, gcab, hyperfine; each script adds its own tools on top) and
  :func:`python_startup`;
* the printed report: :func:`table` (the markdown result table of a case) and :func:`report`
  (machine facts, inputs, one section per case); :func:`write_results` (the JSON record).

Nothing here imports msuinspect at module level: the inputs of a benchmark should not depend
on the code under test (``make_inputs.py`` uses this module too).
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
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
DEFAULT_WORKDIR = BENCH_DIR / ".work"


# ----------------------------------------------------------------------------------- inputs
class BuildError(Exception):
    """An input could not be built (bad source, failed tool)."""


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def parse_size(text: str) -> int:
    """``400M`` -> 419430400 (binary units, like ``msuinspect --max-output``)."""
    m = _SIZE.match(text)
    if not m:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (use e.g. 400M, 1G)")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def run(cmd: list[str], *, cwd: Path | None = None) -> str:
    """Run ``cmd`` to completion; its stdout, or :class:`BuildError` if it fails."""
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise BuildError(f"cannot run {cmd[0]}: {exc}") from exc
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise BuildError(f"{' '.join(cmd[:3])} ... failed ({proc.returncode}): {' | '.join(tail)}")
    return proc.stdout


def require_tools(*names: str) -> None:
    """:class:`BuildError` unless every one of ``names`` is on ``PATH``."""
    for tool in names:
        if shutil.which(tool) is None:
            raise BuildError(f"{tool} is needed to build the inputs (apt-get install {tool})")


def read_manifest(manifest: Path, spec: dict[str, object]) -> dict[str, Any] | None:
    """The JSON of an earlier build if it exists and was built with the same ``spec``."""
    if not manifest.is_file():
        return None
    try:
        old = json.loads(manifest.read_text())
    except (OSError, ValueError):
        return None
    return old if isinstance(old, dict) and old.get("spec") == spec else None


def stderr_logger(log: bool) -> Callable[[str], None]:
    """A progress printer (to stderr) that prints nothing unless ``log``."""

    def say(msg: str) -> None:
        if log:
            print(msg, file=sys.stderr, flush=True)

    return say


# ---------------------------------------------------------------------------------- options
def add_workdir_option(ap: argparse.ArgumentParser) -> None:
    ap.add_argument(
        "--workdir",
        type=Path,
        default=DEFAULT_WORKDIR,
        help=f"folder for generated inputs and results (default {DEFAULT_WORKDIR})",
    )


def add_size_option(ap: argparse.ArgumentParser, default: str, help_text: str) -> None:
    ap.add_argument(
        "--size", type=parse_size, default=parse_size(default), metavar="SIZE", help=help_text
    )


def add_rebuild_option(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--rebuild", action="store_true", help="rebuild the inputs even if cached")


def add_timing_options(ap: argparse.ArgumentParser) -> None:
    """``--runs``, ``--warmup``, ``--no-hyperfine`` (read back with :meth:`Timing.from_args`)."""
    ap.add_argument("--runs", type=int, default=3, help="timed runs per command (default 3)")
    ap.add_argument("--warmup", type=int, default=1, help="warm-up runs per command (default 1)")
    ap.add_argument(
        "--no-hyperfine",
        action="store_true",
        help="time with perf_counter even if hyperfine is there",
    )


# ----------------------------------------------------------------------------------- timing
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
    def best(self) -> float | None:
        return min(self.times) if self.times else None

    @property
    def peak_rss_mib(self) -> float | None:
        return max(self.rss_kib) / 1024 if self.rss_kib else None

    def record(self) -> dict[str, object]:
        """The raw numbers, for the results JSON."""
        return {
            "tool": self.tool.name,
            "argv": self.tool.argv,
            "times": self.times,
            "median": self.median,
            "best": self.best,
            "rss_kib": self.rss_kib,
            "error": self.error,
        }


def median_of(results: Sequence[Result], name: str) -> float | None:
    """The median of the result of the tool called ``name`` (None if absent or failed)."""
    return next((r.median for r in results if r.tool.name == name), None)


def best_of(results: Sequence[Result], name: str) -> float | None:
    """The fastest run of the tool called ``name`` (None if absent or failed)."""
    return next((r.best for r in results if r.tool.name == name), None)


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


@dataclass(frozen=True, slots=True)
class Timing:
    """How every command is timed: hyperfine or perf_counter, and where the RSS comes from."""

    runs: int
    warmup: int
    hyperfine: bool  #: ``hyperfine -N`` (else :func:`run_plain`)
    time_bin: str | None  #: ``/usr/bin/time`` for the peak RSS, if it is there

    @classmethod
    def from_args(cls, ap: argparse.ArgumentParser, args: argparse.Namespace) -> Timing:
        """From the options of :func:`add_timing_options` (exits on bad values)."""
        if args.runs < 1 or args.warmup < 0:
            ap.error("--runs must be >= 1 and --warmup >= 0")
        return cls(
            runs=args.runs,
            warmup=args.warmup,
            hyperfine=shutil.which("hyperfine") is not None and not args.no_hyperfine,
            time_bin="/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None,
        )

    def method(self, conditions: str = "") -> str:
        """The ``method`` machine fact; ``conditions`` follows "median" (", warm page cache")."""
        timer = "hyperfine -N" if self.hyperfine else "time.perf_counter"
        rss_src = (
            "/usr/bin/time -v"
            if self.time_bin
            else "os.wait4 rusage (floored at the benchmark's own RSS)"
        )
        return (
            f"{timer}, {self.warmup} warm-up + {self.runs} timed runs, median{conditions}; "
            f"peak RSS from {rss_src} (max over timed runs)"
        )

    def measure(self, tool: Tool, scratch: Path) -> Result:
        """Time ``tool`` (``--warmup`` + ``--runs`` runs); a failure is printed to stderr."""
        if self.hyperfine:
            res = run_hyperfine(tool, self.runs, self.warmup, scratch, self.time_bin)
        else:
            res = run_plain(tool, self.runs, self.warmup, self.time_bin, scratch)
        if res.error:
            print(f"  failed: {res.error}", file=sys.stderr)
        return res


# ---------------------------------------------------------------------------- machine facts
def first_line(argv: list[str], pattern: str | None = None) -> str:
    """The first non-empty output line of ``argv`` (matching ``pattern`` if given)."""
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return "not available"
    for line in (proc.stdout + proc.stderr).splitlines():
        line = line.strip()
        if line and (pattern is None or re.search(pattern, line)):
            return line
    return "unknown"


def _cpuinfo_field(name: str) -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(name):
                return line.split(":", 1)[1]
    except OSError:
        pass
    return None


def cpu_model() -> str:
    model = _cpuinfo_field("model name")
    if model is not None:
        return model.strip()
    return platform.processor() or "unknown"


def cpu_flags() -> set[str]:
    flags = _cpuinfo_field("flags")
    return set(flags.split()) if flags is not None else set()


def mem_total() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return f"{int(line.split()[1]) / 1048576:.1f} GiB"
    except (OSError, ValueError):
        pass
    return "unknown"


def machine_facts(
    *,
    cpu_note: str = "",
    python_note: str = "",
    package_facts: Callable[[], dict[str, str]] | None = None,
    tools: dict[str, str] | None = None,
) -> dict[str, str]:
    """Date, CPU, OS, Python, msuinspect version, git revision, gcab and hyperfine.

    A script adds its own facts: ``cpu_note`` goes before the RAM size, ``python_note`` after
    the interpreter, ``package_facts()`` (which may import msuinspect) after its version and
    ``tools`` (name: version) after the git revision; anything else it appends to the result.
    """
    cpu = f"{cpu_model()}, {os.cpu_count()} logical CPU(s), "
    python = f"{platform.python_implementation()} {platform.python_version()} ({sys.executable})"
    facts = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu + (f"{cpu_note}, " if cpu_note else "") + f"{mem_total()} RAM",
        "os": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "python": python + (f", {python_note}" if python_note else ""),
    }
    try:
        import msuinspect

        extra = package_facts() if package_facts is not None else {}
        facts["msuinspect"] = msuinspect.__version__
        facts.update(extra)
    except Exception as exc:  # the benchmark still reports the external tools
        facts["msuinspect"] = f"not importable: {exc}"
    rev = first_line(["git", "-C", str(REPO_DIR), "rev-parse", "--short", "HEAD"])
    dirty = first_line(["git", "-C", str(REPO_DIR), "status", "--porcelain", "--", "src"])
    if re.fullmatch(r"[0-9a-f]{4,40}", rev):
        facts["git"] = rev + (" (src/ modified)" if dirty not in ("unknown", "") else "")
    facts.update(tools or {})
    facts["gcab"] = first_line(["gcab", "--version"])
    facts["hyperfine"] = (
        first_line(["hyperfine", "--version"]) if shutil.which("hyperfine") else "not installed"
    )
    return facts


def python_startup(statement: str, runs: int, *, capture_output: bool = False) -> float:
    """Median seconds of ``python -c STATEMENT`` over ``runs`` runs (one more run first,
    not counted).

    Each run is timed like :func:`run_plain` (output to /dev/null, ``os.wait4``), or with
    ``capture_output`` as ``perf_counter`` around ``subprocess.run(capture_output=True)``.
    """
    argv = [sys.executable, "-c", statement]
    times = []
    for _ in range(runs + 1):
        if capture_output:
            t0 = time.perf_counter()
            subprocess.run(argv, check=False, capture_output=True)
            times.append(time.perf_counter() - t0)
        else:
            times.append(_timed_run(argv)[0])
    return statistics.median(times[1:])


def bytecode_env(workdir: Path, keep: bool) -> str:
    """Give the measured Python processes a bytecode cache, as an installed package has.

    With ``PYTHONDONTWRITEBYTECODE`` set (as in some CI and sandbox environments) and the
    package used from a source checkout, every run compiles every msuinspect module again
    (about 40 ms here). By default the variable is removed for the children and
    ``PYTHONPYCACHEPREFIX`` points into the work folder, so nothing is written next to the
    sources; the first (checking) run fills the cache. Changes this process's environment.
    """
    before = os.environ.get("PYTHONDONTWRITEBYTECODE")
    if keep:
        return f"environment unchanged (PYTHONDONTWRITEBYTECODE={before or 'unset'})"
    prefix = (workdir / "pycache").resolve()
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(prefix)
    note = f" (PYTHONDONTWRITEBYTECODE={before} removed for them)" if before else ""
    return f"Python rows use the bytecode cache PYTHONPYCACHEPREFIX={prefix}{note}"


def add_bytecode_option(ap: argparse.ArgumentParser) -> None:
    """``--no-bytecode-cache`` (see :func:`bytecode_env`)."""
    ap.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help="run the Python rows with the environment as it is (by default they get a "
        "bytecode cache in WORKDIR/pycache, see bytecode_env)",
    )


# ---------------------------------------------------------------------------------- report
def _fmt(v: float | None, spec: str) -> str:
    return "-" if v is None else format(v, spec)


@dataclass(frozen=True, slots=True)
class Rate:
    """The throughput column of :func:`table`: ``unit`` is bytes/``scale`` per second."""

    unit: str  #: column heading, e.g. "MB/s"
    scale: float  #: bytes per unit, e.g. 1e6
    width: int  #: column width
    digits: int  #: decimals


def table(
    results: Sequence[Result],
    *,
    nbytes: int,
    rate: Rate,
    baseline: str,
    ratio_heading: str,
    tool_width: int,
    best: bool = False,
) -> list[str]:
    """Markdown table: tool, median seconds, throughput of ``nbytes``, ratio to the median of
    the tool named ``baseline`` (column ``ratio_heading``, as wide as it) and peak RSS.

    With ``best`` the fastest run is shown next to the median, and throughput and ratio are
    computed from the fastest runs (on a shared machine, the least disturbed ones)."""
    base = best_of(results, baseline) if best else median_of(results, baseline)
    rw, xw = rate.width, len(ratio_heading)
    best_head = f" {'best s':>8} |" if best else ""
    best_rule = f"{'-' * 9}:|" if best else ""
    head = (
        f"| {'tool':<{tool_width}} | {'median s':>8} |{best_head} {rate.unit:>{rw}} "
        f"| {ratio_heading} | {'peak RSS MiB':>12} |"
    )
    rule = (
        f"|:{'-' * (tool_width + 1)}|{'-' * 9}:|{best_rule}{'-' * (rw + 1)}:|{'-' * (xw + 1)}:"
        f"|{'-' * 13}:|"
    )
    lines = [head, rule]
    for r in results:
        med = r.median
        ref = r.best if best else med
        name = f"{r.tool.name:<{tool_width}}"
        if r.error is not None:
            blank = f" {'':>8} |" if best else ""
            lines.append(f"| {name} | {'FAILED':>8} |{blank} {'':>{rw}} | {'':>{xw}} | {'':>12} |")
            continue
        per_s = nbytes / ref / rate.scale if ref else None
        ratio = ref / base if ref is not None and base else None
        ratio_text = _fmt(ratio, f"{xw - 1}.2f") + "x" if ratio is not None else "-"
        best_cell = f" {_fmt(r.best, '8.3f')} |" if best else ""
        lines.append(
            f"| {name} | {_fmt(med, '8.3f')} |{best_cell} {_fmt(per_s, f'{rw}.{rate.digits}f')} | "
            f"{ratio_text:>{xw}} | {_fmt(r.peak_rss_mib, '12.1f')} |"
        )
    return lines


def report(
    facts: dict[str, str],
    startup: str,
    inputs: list[str],
    cases: Iterable[tuple[str, list[str], list[str]]],
) -> list[str]:
    """The printed report: "## Machine" (``facts``, then the ``startup`` line), "## Inputs"
    (one item per line of ``inputs``), then per case (heading, table, verdicts) a section."""
    out = ["## Machine", *(f"- {k}: {v}" for k, v in facts.items()), f"- {startup}", ""]
    out += ["## Inputs", *(f"- {line}" for line in inputs)]
    for heading, table_lines, verdict_lines in cases:
        out += ["", f"## {heading}", "", *table_lines, "", *verdict_lines]
    return out


def write_results(path: Path, record: dict[str, object]) -> None:
    """Write the raw numbers as JSON and say where (on stderr)."""
    path.write_text(json.dumps(record, indent=2) + "\n")
    print(f"(raw numbers: {path})", file=sys.stderr)
