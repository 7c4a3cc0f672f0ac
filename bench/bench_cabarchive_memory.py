"""Peak memory of cabarchive next to msuinspect and cabextract on one large cabinet.

Why cabarchive (PyPI ``cabarchive``) is a test oracle and not the production reader
(docs/architecture.md): it parses a cabinet from one ``bytes`` object and returns every
member as ``bytes``, so its peak RSS grows with the cabinet, where msuinspect streams.
This builds a stored and an MSZIP cabinet of ``--size`` bytes with gcab (8 members of
pseudo-random bytes, seeded) and measures, on each, the peak RSS and time of:

* ``cabarchive``: ``CabArchive(file bytes)``, then the SHA-256 of every member;
* ``msuinspect list --hash``: the same member hashes, streamed;
* ``cabextract -q -p`` to /dev/null, for reference.

Nothing is asserted::

    .venv/bin/python bench/bench_cabarchive_memory.py [--size 200M] [--workdir DIR] [--runs 1]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
from pathlib import Path

import benchlib
from benchlib import BuildError, Rate, Result, Timing, Tool

MEMBERS = 8
SEED = 20260101
CABARCHIVE_SNIPPET = (
    "import hashlib, sys\n"
    "from cabarchive import CabArchive\n"
    "arc = CabArchive(open(sys.argv[1], 'rb').read())\n"
    "for name, f in arc.items():\n"
    "    print(hashlib.sha256(f.buf or b'').hexdigest(), len(f), name)\n"
)


def build(workdir: Path, size: int, rebuild: bool) -> dict[str, Path]:
    """``stored.cab`` and ``mszip.cab`` of ``size`` uncompressed bytes (cached)."""
    benchlib.require_tools("gcab")
    root = workdir / "cabarchive_memory"
    spec: dict[str, object] = {"size": size, "members": MEMBERS, "seed": SEED}
    manifest = root / "inputs.json"
    cabs = {"stored": root / "stored.cab", "mszip": root / "mszip.cab"}
    if (
        not rebuild
        and benchlib.read_manifest(manifest, spec)
        and all(p.is_file() for p in cabs.values())
    ):
        return cabs
    shutil.rmtree(root, ignore_errors=True)
    src = root / "src"
    src.mkdir(parents=True)
    rng = random.Random(SEED)
    names = []
    for i in range(MEMBERS):
        name = f"part{i}.bin"
        with open(src / name, "wb") as f:
            left = size // MEMBERS + (size % MEMBERS if i == 0 else 0)
            while left:
                n = min(left, 1 << 20)
                f.write(rng.randbytes(n))
                left -= n
        names.append(name)
    benchlib.run(["gcab", "-c", str(cabs["stored"]), *names], cwd=src)
    benchlib.run(["gcab", "-c", "-z", str(cabs["mszip"]), *names], cwd=src)
    shutil.rmtree(src)
    manifest.write_text(json.dumps({"spec": spec}) + "\n")
    return cabs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    benchlib.add_workdir_option(ap)
    benchlib.add_size_option(ap, "200M", "uncompressed bytes per cabinet (default 200M)")
    benchlib.add_rebuild_option(ap)
    benchlib.add_timing_options(ap)
    ap.set_defaults(runs=1, warmup=0)
    args = ap.parse_args(argv)
    timing = Timing.from_args(ap, args)
    try:
        cabs = build(args.workdir, args.size, args.rebuild)
    except BuildError as exc:
        print(f"bench_cabarchive_memory: {exc}", file=sys.stderr)
        return 1
    scratch = args.workdir / "cabarchive_memory"
    py = sys.executable
    cases: list[tuple[str, list[str], list[str]]] = []
    for kind, cab in cabs.items():
        tools = [
            Tool("cabarchive (read + sha256)", [py, "-c", CABARCHIVE_SNIPPET, str(cab)]),
            Tool("msuinspect list --hash", [py, "-m", "msuinspect", "list", "--hash", str(cab)]),
        ]
        if shutil.which("cabextract"):
            tools.append(Tool("cabextract -q -p", ["cabextract", "-q", "-p", str(cab)]))
        results: list[Result] = [timing.measure(t, scratch) for t in tools]
        lines = benchlib.table(
            results,
            nbytes=args.size,
            rate=Rate("MB/s", 1e6, 6, 1),
            baseline="msuinspect list --hash",
            ratio_heading="vs msuinspect",
            tool_width=26,
        )
        size_mb = cab.stat().st_size / 1e6
        cases.append((f"{kind} cabinet, {size_mb:.1f} MB on disk", lines, []))
    version = benchlib.first_line(
        [py, "-c", "import importlib.metadata as m; print(m.version('cabarchive'))"]
    )
    facts = benchlib.machine_facts(tools={"cabarchive": version})
    facts["method"] = timing.method(", warm page cache")
    startup = "Python start-up is included in the cabarchive and msuinspect rows"
    print("\n".join(benchlib.report(facts, startup, [f"--size {args.size} bytes"], cases)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
