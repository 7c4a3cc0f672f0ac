"""Full ``msuinspect inspect`` (package analysis) next to ``cabextract -t`` and
``osslsigncode verify``, on the same files, in one run.

Two cases:

1. **LZX**: the benchmark LZX cabinet of ``make_inputs.py`` (161.7 MB, 18,655 members, real
   Microsoft folders: 1,000 signed catalogs, 714 PE files, 670 manifests). Rows: the CLI
   (text and ``--json``), the library call ``msuinspect.inspect()`` alone (no rendering),
   ``cabextract -t`` (the baseline: decode and check every member) and ``osslsigncode
   verify`` (the cabinet itself is unsigned, so osslsigncode only finds that out; the
   signatures inside it are msuinspect's work alone). Target (issue 10): **<= 5 s and
   < 200 MB peak RSS** for ``msuinspect inspect FILE``.
2. **batch**: the corpus's real update packages (``msu/*.msu``, ``cab/update/*.cab``,
   ``cab/fod/*.cab``; see ``MANIFEST.tsv``) inspected in one process, next to a shell loop
   of ``osslsigncode verify -CAfile ROOTS -in F`` + ``cabextract -t F`` over the same files
   (ROOTS: msuinspect's pinned Microsoft roots as one PEM). Target: **<= 1.2x the loop**.

Every msuinspect row runs with ``--as-of 2024-01-01 --fail-on never`` (exit status 0 for
any outcome: the LZX cabinet is unsigned, so its outcome is "problem"). Every command is
timed like in ``bench_cab.py`` (hyperfine when installed, else ``time.perf_counter``; peak
RSS from ``/usr/bin/time -v``), the median of ``--runs`` after ``--warmup`` is reported with
the ratio to the baseline row. Targets are printed as PASS/MISS, for information only: the
exit status is 0 whenever the measurements could be taken.

Usage::

    .venv/bin/python bench/bench_inspect.py [--workdir DIR] [--runs 3] [--warmup 1]
    .venv/bin/python bench/bench_inspect.py --only batch

This is a benchmark, not a test. Nothing is written outside the work folder.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import benchlib
import make_inputs
from benchlib import REPO_DIR, BuildError, Rate, Result, Timing, Tool, first_line

AS_OF = "2024-01-01"
LZX_TARGET_S = 5.0
LZX_TARGET_RSS_MB = 200.0
BATCH_TARGET = 1.2
CABEXTRACT = "cabextract -t"
LOOP = "loop: osslsigncode verify + cabextract -t"
TARGET_ROW = "msuinspect inspect"
ROOTS = REPO_DIR / "src" / "msuinspect" / "data" / "roots" / "microsoft-roots.pem"

#: the library alone: msuinspect.inspect() on every file, nothing rendered
LIBRARY_SNIPPET = """\
import datetime as dt, sys
from msuinspect import ContentMemo, inspect, trust_store
trust, memo = trust_store(), ContentMemo()
as_of = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
for path in sys.argv[1:]:
    report = inspect(path, trust=trust, as_of=as_of, memo=memo)
    if report.package is None:
        sys.exit(f"{path}: not analysed: {report.error}")
"""

#: the peer loop of the batch case; argv: ROOTS FILE...
LOOP_SCRIPT = """\
roots=$1; shift
for f in "$@"; do
  osslsigncode verify -CAfile "$roots" -in "$f" >/dev/null 2>&1
  cabextract -t "$f" >/dev/null 2>&1
done
exit 0
"""

#: osslsigncode exits 1 for an unsigned file; time it, not its verdict
OSSL_ONE = 'osslsigncode verify -in "$1" >/dev/null 2>&1; exit 0'


@dataclass(slots=True)
class Case:
    label: str
    heading: str
    files: list[Path]
    baseline: str
    results: list[Result] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(f.stat().st_size for f in self.files)


def _cli(*extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "msuinspect",
        "inspect",
        "--as-of",
        AS_OF,
        "--fail-on",
        "never",
        *extra,
    ]


def msuinspect_rows(files: list[Path]) -> list[Tool]:
    names = [str(f) for f in files]
    return [
        Tool(TARGET_ROW, [*_cli(), *names]),
        Tool("msuinspect inspect --json", [*_cli("--json"), *names]),
        Tool("library msuinspect.inspect() only", [sys.executable, "-c", LIBRARY_SNIPPET, *names]),
    ]


def lzx_case(path: Path) -> tuple[Case, list[Tool]]:
    case = Case(
        "LZX",
        f"LZX: {path.name} (full inspect)",
        [path],
        CABEXTRACT,
    )
    tools = msuinspect_rows([path])
    tools.append(Tool(CABEXTRACT, ["cabextract", "-q", "-t", str(path)]))
    tools.append(Tool("osslsigncode verify", ["sh", "-c", OSSL_ONE, "sh", str(path)]))
    return case, tools


def corpus_packages(corpus: Path) -> list[Path]:
    """The real update packages listed in MANIFEST.tsv: MSUs, update and FOD cabinets."""
    out = []
    for line in (corpus / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        rel = line.split("\t", 1)[0]
        if rel.startswith(("msu/", "cab/update/", "cab/fod/")) and rel.endswith((".msu", ".cab")):
            out.append(corpus / rel)
    return sorted(p for p in out if p.is_file())


def batch_case(corpus: Path) -> tuple[Case, list[Tool]]:
    files = corpus_packages(corpus)
    case = Case(
        "batch",
        f"batch: {len(files)} real update packages of the corpus (one process)",
        files,
        LOOP,
    )
    tools = msuinspect_rows(files)
    loop = ["sh", "-c", LOOP_SCRIPT, "sh", str(ROOTS), *map(str, files)]
    tools.append(Tool(LOOP, loop))
    return case, tools


# ---------------------------------------------------------------------------------- report
MB_PER_S = Rate("MB/s", 1e6, width=6, digits=1)


def table(case: Case) -> list[str]:
    return benchlib.table(
        case.results,
        nbytes=case.size,
        rate=MB_PER_S,
        baseline=case.baseline,
        ratio_heading="x baseline",
        tool_width=42,
    )


def _result(case: Case, name: str) -> Result | None:
    return next((r for r in case.results if r.tool.name == name), None)


def verdicts(case: Case) -> list[str]:
    row = _result(case, TARGET_ROW)
    base = _result(case, case.baseline)
    if row is None or row.median is None:
        return [f"{case.label}: {TARGET_ROW}: not measured"]
    out = []
    if case.label == "LZX":
        rss = row.peak_rss_mib
        ok = row.median <= LZX_TARGET_S and rss is not None and rss * 1.048576 < LZX_TARGET_RSS_MB
        rss_text = f"{rss * 1.048576:.0f} MB" if rss is not None else "unknown"
        out.append(
            f"LZX: {'PASS' if ok else 'MISS'}  {TARGET_ROW}: {row.median:.2f} s, peak RSS "
            f"{rss_text} (target <= {LZX_TARGET_S:.0f} s and < {LZX_TARGET_RSS_MB:.0f} MB; "
            "informational)"
        )
        if base is not None and base.median:
            out.append(f"LZX: (reference) {row.median / base.median:.2f}x {CABEXTRACT}")
    elif base is not None and base.median:
        ratio = row.median / base.median
        out.append(
            f"batch: {'PASS' if ratio <= BATCH_TARGET else 'MISS'}  {TARGET_ROW}: "
            f"{ratio:.2f}x the {LOOP} loop (target <= {BATCH_TARGET}x; informational)"
        )
    return out


def machine_facts() -> dict[str, str]:
    ossl = first_line(["osslsigncode", "--version"]).removesuffix(":").removesuffix(", using")
    return benchlib.machine_facts(
        tools={
            "cabextract": first_line(["cabextract", "--version"]),
            "osslsigncode": ossl,
        }
    )


# ------------------------------------------------------------------------------------ main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="full msuinspect inspect vs cabextract/osslsigncode")
    make_inputs.add_input_options(ap)
    benchlib.add_timing_options(ap)
    ap.add_argument("--only", choices=["lzx", "batch"], help="measure one case only")
    ap.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help="run the Python rows with the environment as it is (see bench_signatures.py)",
    )
    args = ap.parse_args(argv)
    timing = Timing.from_args(ap, args)
    for exe in ("cabextract", "osslsigncode"):
        if shutil.which(exe) is None:
            print(f"bench_inspect: error: {exe} is required", file=sys.stderr)
            return 2
    corpus = make_inputs.corpus_dir()
    scratch = args.workdir / "results"
    scratch.mkdir(parents=True, exist_ok=True)
    bytecode = benchlib.bytecode_env(args.workdir, args.no_bytecode_cache)

    plan: list[tuple[Case, list[Tool]]] = []
    if args.only in (None, "lzx"):
        try:
            inputs = make_inputs.inputs_from_args(args)
        except BuildError as exc:
            print(f"bench_inspect: error: {exc}", file=sys.stderr)
            return 2
        plan.append(lzx_case(inputs.lzx))
    if args.only in (None, "batch"):
        plan.append(batch_case(corpus))

    facts = machine_facts()
    facts["method"] = timing.method(", warm page cache")
    facts["bytecode"] = bytecode
    t_start = time.perf_counter()
    for case, tools in plan:
        for tool in tools:
            print(f"[{case.label}] {tool.name} ...", file=sys.stderr, flush=True)
            case.results.append(timing.measure(tool, scratch))
    startup = benchlib.python_startup("import msuinspect.cli", args.runs)
    elapsed = time.perf_counter() - t_start

    inputs_lines = []
    for case, _tools in plan:
        names = ", ".join(f.name for f in case.files[:3]) + (", ..." if len(case.files) > 3 else "")
        inputs_lines.append(
            f"{case.label}: {len(case.files)} file(s), {case.size / 1e6:.1f} MB: {names}"
        )
    out = benchlib.report(
        facts,
        f"python startup + import msuinspect.cli: {startup:.3f} s (in every msuinspect row)",
        inputs_lines,
        [(case.heading, table(case), verdicts(case)) for case, _tools in plan],
    )
    out += ["", f"(measured in {elapsed:.0f} s)"]
    print("\n".join(out))
    record = {
        "facts": facts,
        "python_startup_s": startup,
        "cases": [
            {
                "label": c.label,
                "files": [str(f) for f in c.files],
                "bytes": c.size,
                "results": [r.record() for r in c.results],
            }
            for c, _tools in plan
        ],
    }
    benchlib.write_results(scratch / "inspect.json", record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
