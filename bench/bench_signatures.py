"""Signature inspection time of msuinspect next to ``osslsigncode verify`` and ``openssl dgst``.

Builds (or reuses) a large signed cabinet in the work folder and times, in one run, on the
same files, with a warm page cache:

* ``msuinspect inspect --signatures-only --trust-root root_ca.pem FILE`` (only the
  Authenticode digests the signatures name are computed): the target row;
* ``msuinspect inspect --trust-root root_ca.pem FILE`` (also the whole-file SHA-1 and
  SHA-256);
* ``osslsigncode verify -CAfile root_ca.pem -in FILE``;
* ``openssl dgst -sha256 FILE`` (the baseline) and, for the dual-signed file,
  ``openssl dgst -sha1 FILE``;
* for reference, ``hashlib.file_digest(f, "sha256")`` in the same Python (start-up included).

The inputs (see :func:`build_inputs`): ``--size`` bytes (default 1 GiB) of deterministic
pseudo-random payload (SHAKE-128 of a fixed seed, so nothing compresses) in ``--files``
files, packed *stored* with ``gcab -c`` into ``big.cab`` (one folder), then signed with
osslsigncode and the project's TEST PKI (``tests/fixtures/pki``, the command lines of
``tests/fixtures/generate_fixtures.py``) into ``big_sha256.cab`` (SHA-256 only) and
``big_dual.cab`` (SHA-1 primary + nested SHA-256, ``-nest``). Both are checked with
``osslsigncode verify`` before any timing; the payload and ``big.cab`` are then deleted.

Every command is first run once with its output checked (msuinspect: one ``digest ok
signature ok  trusted yes`` per signature; osslsigncode: ``Succeeded``; the digests: the
file's SHA-256/SHA-1), which also warms the page cache; then it runs ``--warmup`` +
``--runs`` times (hyperfine when installed) and the median is reported, with GB/s (1 GB =
10^9 bytes of file), the ratio to ``openssl dgst -sha256`` and the peak RSS. The Python rows
get a bytecode cache in ``WORKDIR/pycache`` even when ``PYTHONDONTWRITEBYTECODE`` is set (see
:func:`bytecode_env`; ``--no-bytecode-cache`` measures the environment as it is).

The target (issue: "<= 1.3x the ``openssl dgst`` time for signature-only inspection of a
1 GB signed cabinet") is printed as PASS/MISS, for information only: the exit status is 0
whenever the measurements could be taken.

Usage::

    .venv/bin/python bench/bench_signatures.py [--workdir DIR] [--size 1G] [--runs 3]
    .venv/bin/python bench/bench_signatures.py --profile   # + cProfile of --signatures-only
    .venv/bin/python bench/bench_signatures.py --clean     # delete the cabinets afterwards

This is a benchmark, not a test. Nothing is written outside the work folder.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import pstats
import re
import shutil
import struct
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import benchlib
from benchlib import (
    REPO_DIR,
    BuildError,
    Rate,
    Result,
    Timing,
    Tool,
    add_rebuild_option,
    add_size_option,
    add_timing_options,
    add_workdir_option,
    cpu_flags,
    first_line,
    median_of,
    read_manifest,
    require_tools,
    run,
    stderr_logger,
)

TARGET_RATIO = 1.3

#: imported by every msuinspect row (reported as "python startup + import msuinspect inspect
#: path"); timed with the output captured, as this script always has
STARTUP_IMPORTS = "import msuinspect.cli, msuinspect.authenticode.inspect"

#: bump when the inputs change (invalidates cached builds)
BUILDER_VERSION = 1
SEED = b"msuinspect bench_signatures payload v1"
#: bytes generated per SHAKE-128 call (each chunk has its own seed: file index, chunk index)
_GEN_CHUNK = 16 << 20
#: mtime of the payload files (gcab stores it; fixed so big.cab is reproducible)
PAYLOAD_MTIME = 1_560_254_400  # 2019-06-11T12:00:00Z, as in tests/fixtures
#: ``osslsigncode sign -time`` (signingTime), as in tests/fixtures/generate_fixtures.py
SIGN_TIME = 1_700_000_000

PKI_DIR = REPO_DIR / "tests" / "fixtures" / "pki"
ROOT_CA = PKI_DIR / "root_ca.pem"
SIGNER_KEY = PKI_DIR / "leaf_codesign.key"
SIGNER_CHAIN = PKI_DIR / "leaf_codesign_chain.pem"

UNSIGNED_NAME = "big.cab"
MANIFEST_NAME = "big_inputs.json"
#: stored CFDATA blocks hold 32 KiB; cCFData is 16 bits and cbCabinet must stay < 2 GiB
_BLOCK = 0x8000
_MAX_SIZE = (2 << 30) - (1 << 20)

_CFHEADER = struct.Struct("<4sIIIIIBBHHHHH")  # 36 bytes
_CFFOLDER = struct.Struct("<IHH")


@dataclass(frozen=True, slots=True)
class Variant:
    key: str  #: sha256 / dual
    name: str  #: file name in the work folder
    description: str
    #: osslsigncode sign steps: (hash algorithm, nest)
    steps: tuple[tuple[str, bool], ...]

    @property
    def algorithms(self) -> tuple[str, ...]:
        return tuple(alg for alg, _nest in self.steps)


VARIANTS = (
    Variant("sha256", "big_sha256.cab", "SHA-256 only", (("sha256", False),)),
    Variant(
        "dual",
        "big_dual.cab",
        "SHA-1 primary + nested SHA-256",
        (("sha1", False), ("sha256", True)),
    ),
)


# ----------------------------------------------------------------------------------- inputs
def _digest_file(path: Path, algorithm: str = "sha256") -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, algorithm).hexdigest()


def _pki_digest() -> str:
    h = hashlib.sha256()
    for p in (ROOT_CA, SIGNER_KEY, SIGNER_CHAIN):
        h.update(p.read_bytes())
    return h.hexdigest()


def file_sizes(size: int, files: int) -> list[int]:
    """``size`` split into ``files`` parts (the last one takes the remainder)."""
    per = size // files
    return [per] * (files - 1) + [size - per * (files - 1)]


def write_payload(folder: Path, size: int, files: int) -> list[str]:
    """Write ``files`` files of SHAKE-128 output into ``folder``; returns their names."""
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for index, n in enumerate(file_sizes(size, files)):
        name = f"payload{index:02d}.bin"
        path = folder / name
        with open(path, "wb") as fh:
            done = chunk = 0
            while done < n:
                step = min(_GEN_CHUNK, n - done)
                fh.write(hashlib.shake_128(b"%s/%d/%d" % (SEED, index, chunk)).digest(step))
                done += step
                chunk += 1
        os.utime(path, (PAYLOAD_MTIME, PAYLOAD_MTIME))
        names.append(name)
    return names


def check_stored_cab(path: Path, size: int, files: int) -> dict[str, int]:
    """Header sanity of the gcab output: one stored folder, no cCFData overflow."""
    with open(path, "rb") as fh:
        head = fh.read(_CFHEADER.size + _CFFOLDER.size)
    sig, _r1, cb_cabinet, _r2, _coff, _r3, _minor, _major, c_folders, c_files, flags, *_ = (
        _CFHEADER.unpack_from(head)
    )
    if sig != b"MSCF" or flags != 0:
        raise BuildError(f"{path}: not a plain cabinet (signature {sig!r}, flags {flags})")
    _coff_data, c_cfdata, type_compress = _CFFOLDER.unpack_from(head, _CFHEADER.size)
    blocks = -(-size // _BLOCK)
    problems = []
    if cb_cabinet != path.stat().st_size:
        problems.append(f"cbCabinet {cb_cabinet} != file size {path.stat().st_size}")
    if c_folders != 1 or c_files != files:
        problems.append(f"{c_folders} folder(s), {c_files} member(s)")
    if type_compress != 0:
        problems.append(f"typeCompress 0x{type_compress:04x} (not stored)")
    if c_cfdata != blocks:
        problems.append(f"cCFData {c_cfdata}, expected {blocks} (overflow?)")
    if problems:
        raise BuildError(f"{path}: unexpected gcab output: " + "; ".join(problems))
    return {"bytes": cb_cabinet, "folders": c_folders, "members": c_files, "blocks": c_cfdata}


def sign(unsigned: Path, variant: Variant, out: Path) -> None:
    """osslsigncode sign, one call per step (``-nest`` appends a nested signature)."""
    current = unsigned
    for number, (alg, nest) in enumerate(variant.steps):
        dst = out if number == len(variant.steps) - 1 else out.with_name(f"{out.name}.{number}")
        dst.unlink(missing_ok=True)
        cmd = ["osslsigncode", "sign", "-certs", str(SIGNER_CHAIN), "-key", str(SIGNER_KEY)]
        cmd += ["-h", alg, "-time", str(SIGN_TIME)]
        if nest:
            cmd.append("-nest")
        cmd += ["-in", str(current), "-out", str(dst)]
        run(cmd)
        if current != unsigned:
            current.unlink()
        current = dst


def osslsigncode_check(path: Path, variant: Variant) -> str:
    """``osslsigncode verify``: must succeed with one 'digest ok' per signature."""
    proc = subprocess.run(
        ["osslsigncode", "verify", "-CAfile", str(ROOT_CA), "-in", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    text = proc.stdout + proc.stderr
    # "Message digest algorithm  : SHA1" (the file digest; the signer's own line has no space)
    algs = re.findall(r"Message digest algorithm\s+:\s*(\S+)", text)
    ok = proc.returncode == 0 and "Succeeded" in text
    ok = ok and f"Number of verified signatures: {len(variant.steps)}" in text
    if not ok or [a.lower() for a in algs] != list(variant.algorithms):
        tail = " | ".join(text.strip().splitlines()[-4:])
        raise BuildError(
            f"osslsigncode verify {path.name}: exit {proc.returncode}, digests {algs}: {tail}"
        )
    return f"Succeeded ({', '.join(a.lower() for a in algs)})"


@dataclass(slots=True)
class Inputs:
    files: dict[str, Path]  #: variant key -> signed cabinet
    facts: dict[str, object]


def _spec(size: int, files: int) -> dict[str, object]:
    return {
        "builder": BUILDER_VERSION,
        "size": size,
        "files": files,
        "seed": SEED.decode(),
        "sign_time": SIGN_TIME,
        "pki_sha256": _pki_digest(),
        "gcab": first_line(["gcab", "--version"]),
        "osslsigncode": first_line(["osslsigncode", "--version"]),
    }


def build_inputs(
    workdir: Path, size: int, files: int, *, rebuild: bool = False, log: bool = True
) -> Inputs:
    """Build (or reuse) ``workdir/big_sha256.cab`` and ``workdir/big_dual.cab``."""

    say = stderr_logger(log)
    require_tools("gcab", "osslsigncode")
    if not 1 <= files <= 1000 or size < files:
        raise BuildError("--files must be 1..1000 and --size at least one byte per file")
    if size > _MAX_SIZE:
        raise BuildError(
            f"--size {size} is too large: the cabinet must stay below 2 GiB "
            "(and gcab's 16-bit cCFData below 65536 blocks)"
        )
    spec = _spec(size, files)
    workdir.mkdir(parents=True, exist_ok=True)
    manifest = workdir / MANIFEST_NAME
    outputs = {v.key: workdir / v.name for v in VARIANTS}
    if not rebuild and all(p.is_file() for p in outputs.values()):
        old = read_manifest(manifest, spec)
        if old is not None and all(
            old.get("signed", {}).get(k, {}).get("bytes") == p.stat().st_size
            for k, p in outputs.items()
        ):
            say(f"reusing inputs in {workdir} (same parameters; --rebuild to force)")
            return Inputs(outputs, old)
    manifest.unlink(missing_ok=True)

    t0 = time.perf_counter()
    payload = workdir / "payload"
    unsigned = workdir / UNSIGNED_NAME
    if payload.exists():
        shutil.rmtree(payload)
    try:
        say(f"writing {size / 2**30:.2f} GiB of pseudo-random payload in {files} file(s)")
        names = write_payload(payload, size, files)
        t_payload = time.perf_counter()
        say(f"packing {unsigned} (gcab -c, stored)")
        unsigned.unlink(missing_ok=True)
        run(["gcab", "-c", str(unsigned.resolve()), *names], cwd=payload)
        shutil.rmtree(payload)
        cab = check_stored_cab(unsigned, size, files)
        unsigned_sha = _digest_file(unsigned)
        t_cab = time.perf_counter()
        signed: dict[str, dict[str, object]] = {}
        for v in VARIANTS:
            out = outputs[v.key]
            say(f"signing {out.name} ({v.description})")
            t_sign = time.perf_counter()
            sign(unsigned, v, out)
            t_signed = time.perf_counter()
            verdict = osslsigncode_check(out, v)
            signed[v.key] = {
                "name": v.name,
                "description": v.description,
                "algorithms": list(v.algorithms),
                "bytes": out.stat().st_size,
                "sha256": _digest_file(out, "sha256"),
                "sha1": _digest_file(out, "sha1"),
                "signature_bytes": out.stat().st_size - cab["bytes"],
                "osslsigncode_verify": verdict,
                "sign_s": round(t_signed - t_sign, 2),
            }
            say(f"  osslsigncode verify: {verdict}")
    finally:
        shutil.rmtree(payload, ignore_errors=True)
        unsigned.unlink(missing_ok=True)
        for v in VARIANTS:  # intermediate files of multi-step signing, if a step failed
            for step in range(len(v.steps)):
                outputs[v.key].with_name(f"{v.name}.{step}").unlink(missing_ok=True)
    facts: dict[str, object] = {
        "spec": spec,
        "unsigned": {**cab, "sha256": unsigned_sha, "tool": "gcab -c (stored)"},
        "signed": signed,
        "build_s": {
            "payload": round(t_payload - t0, 1),
            "gcab": round(t_cab - t_payload, 1),
            "total": round(time.perf_counter() - t0, 1),
        },
    }
    manifest.write_text(json.dumps(facts, indent=2) + "\n")
    return Inputs(outputs, facts)


def describe(inputs: Inputs) -> list[str]:
    spec = inputs.facts["spec"]
    unsigned = inputs.facts["unsigned"]
    signed = inputs.facts["signed"]
    assert isinstance(spec, dict) and isinstance(unsigned, dict) and isinstance(signed, dict)
    lines = [
        f"payload: {spec['size']} bytes ({spec['size'] / 2**30:.2f} GiB) of SHAKE-128 output "
        f"in {spec['files']} file(s); {UNSIGNED_NAME} (gcab -c, stored): {unsigned['bytes']} "
        f"bytes, {unsigned['folders']} folder, {unsigned['members']} members, "
        f"{unsigned['blocks']} CFDATA blocks (deleted after signing)"
    ]
    for info in signed.values():
        lines.append(
            f"{info['name']}: {info['bytes']} bytes, {info['description']} "
            f"(+{info['signature_bytes']} bytes of signature); osslsigncode verify: "
            f"{info['osslsigncode_verify']}; sha256 {str(info['sha256'])[:16]}..."
        )
    build = inputs.facts.get("build_s")
    if isinstance(build, dict):
        lines.append(
            f"build: {build['total']} s (payload {build['payload']} s, gcab {build['gcab']} s, "
            "the rest signing + verifying)"
        )
    return lines


# ------------------------------------------------------------------------------- commands
#: reference: the hashing floor of this Python (read + hashlib, start-up included)
HASHLIB_SNIPPET = (
    "import hashlib, sys\n"
    "with open(sys.argv[1], 'rb') as f:\n"
    "    print(hashlib.file_digest(f, 'sha256').hexdigest())\n"
)

SIGS_ONLY = "msuinspect inspect --signatures-only"
DEFAULT = "msuinspect inspect (default)"
OSSL_VERIFY = "osslsigncode verify"
DGST_256 = "openssl dgst -sha256"
DGST_1 = "openssl dgst -sha1"
HASHLIB = "python hashlib.file_digest sha256"


@dataclass(slots=True)
class Case:
    variant: Variant
    path: Path
    facts: dict[str, object]
    results: list[Result] = field(default_factory=list)

    @property
    def size(self) -> int:
        return self.path.stat().st_size


def tools_for(case: Case) -> list[Tool]:
    py = sys.executable
    f = str(case.path)
    root = str(ROOT_CA)
    cli = [py, "-m", "msuinspect", "inspect"]
    tools = [
        Tool(SIGS_ONLY, [*cli, "--signatures-only", "--trust-root", root, f]),
        Tool(DEFAULT, [*cli, "--trust-root", root, f]),
        Tool(OSSL_VERIFY, ["osslsigncode", "verify", "-CAfile", root, "-in", f]),
        Tool(DGST_256, ["openssl", "dgst", "-sha256", f]),
    ]
    if "sha1" in case.variant.algorithms:
        tools.append(Tool(DGST_1, ["openssl", "dgst", "-sha1", f]))
    tools.append(Tool(HASHLIB, [py, "-c", HASHLIB_SNIPPET, f]))
    return tools


def check_once(tool: Tool, case: Case) -> str | None:
    """Run once (also warms the page cache); None if the output is right, else why not.

    ``msuinspect inspect`` exits 0 even when a digest fails, so its text is checked: one
    ``digest ok  signature ok  trusted yes`` line per signature.
    """
    proc = subprocess.run(tool.argv, capture_output=True, text=True, check=False)
    text = proc.stdout + proc.stderr
    if proc.returncode != 0:
        return f"exit {proc.returncode}: {' | '.join(text.strip().splitlines()[-3:])}"
    name = tool.name
    nsig = len(case.variant.steps)
    if name.startswith("msuinspect"):
        good = len(re.findall(r"digest ok\s+signature ok\s+trusted yes", text))
        if good != nsig:
            return f"{good} of {nsig} signature(s) 'digest ok  signature ok  trusted yes'"
        if name == DEFAULT and str(case.facts["sha256"]) not in text:
            return "whole-file SHA-256 missing or wrong"
    elif name == OSSL_VERIFY:
        if "Succeeded" not in text:
            return "no 'Succeeded'"
    elif name in (DGST_256, HASHLIB):
        if str(case.facts["sha256"]) not in text:
            return "wrong SHA-256"
    elif name == DGST_1 and str(case.facts["sha1"]) not in text:
        return "wrong SHA-1"
    return None


# ---------------------------------------------------------------------------- machine facts
def machine_facts() -> dict[str, str]:
    """:func:`benchlib.machine_facts` + SHA-NI, Python's OpenSSL, osslsigncode and openssl."""
    flags = cpu_flags()
    sha_ni = "yes" if "sha_ni" in flags else ("no" if flags else "unknown")
    py_ssl = subprocess.run(
        [sys.executable, "-c", "import ssl; print(ssl.OPENSSL_VERSION)"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    ossl = first_line(["osslsigncode", "--version"]).removesuffix(":").removesuffix(", using")
    ossl_lib = first_line(["osslsigncode", "--version"], r"OpenSSL")
    return benchlib.machine_facts(
        cpu_note=f"SHA-NI: {sha_ni}",
        python_note=f"ssl.OPENSSL_VERSION: {py_ssl or 'unknown'}",
        tools={
            "osslsigncode": f"{ossl}; {ossl_lib}" if ossl_lib != "unknown" else ossl,
            "openssl": first_line(["openssl", "version"]),
        },
    )


# ---------------------------------------------------------------------------------- report
GB_PER_S = Rate("GB/s", 1e9, width=5, digits=2)


def _median(case: Case, name: str) -> float | None:
    return median_of(case.results, name)


def table(case: Case) -> list[str]:
    return benchlib.table(
        case.results,
        nbytes=case.size,
        rate=GB_PER_S,
        baseline=DGST_256,
        ratio_heading="x dgst -sha256",
        tool_width=37,
    )


def verdicts(case: Case) -> list[str]:
    label = case.variant.name
    ours, base = _median(case, SIGS_ONLY), _median(case, DGST_256)
    if ours is None or base is None:
        return [f"{label}: {SIGS_ONLY}: not measured"]
    ratio = ours / base
    verdict = "PASS" if ratio <= TARGET_RATIO else "MISS"
    out = [
        f"{label}: {verdict}  {SIGS_ONLY}: {ratio:.3f}x openssl dgst -sha256 "
        f"(target <= {TARGET_RATIO}x; informational)"
    ]
    sha1 = _median(case, DGST_1)
    if sha1 is not None:
        out.append(
            f"{label}: (reference) {SIGS_ONLY}: {ours / (base + sha1):.3f}x "
            f"openssl dgst -sha1 + dgst -sha256 ({base + sha1:.3f} s: both digests one after "
            "the other)"
        )
    return out


# ------------------------------------------------------------------------------------ main
def profile_sigs_only(case: Case, out_dir: Path, top: int = 15) -> list[str]:
    """cProfile of ``python -m msuinspect inspect --signatures-only``: the top ``top`` functions
    by cumulative time, then the top 10 by own time."""
    prof = out_dir / f"inspect_sigonly_{case.variant.key}.prof"
    argv = [sys.executable, "-m", "cProfile", "-o", str(prof), "-m", "msuinspect", "inspect"]
    argv += ["--signatures-only", "--trust-root", str(ROOT_CA), str(case.path)]
    t0 = time.perf_counter()
    proc = subprocess.run(argv, check=False, capture_output=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0 or not prof.is_file():
        return [f"cProfile of {SIGS_ONLY} on {case.path.name} failed (exit {proc.returncode})"]
    out = [
        f"cProfile of {SIGS_ONLY} on {case.path.name} ({wall:.2f} s wall under the profiler; "
        f"{prof}):"
    ]
    for key, n in (("cumulative", top), ("tottime", 10)):
        buf = io.StringIO()
        pstats.Stats(str(prof), stream=buf).strip_dirs().sort_stats(key).print_stats(n)
        lines = [ln for ln in buf.getvalue().splitlines() if ln.strip()]
        out += ["", *lines[1:]]  # drop the .prof file name line
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="msuinspect signature inspection vs osslsigncode verify / openssl dgst"
    )
    add_workdir_option(ap)
    add_size_option(
        ap, "1G", "payload size, binary units (default 1G = 1 GiB; must stay below 2 GiB)"
    )
    ap.add_argument("--files", type=int, default=4, help="payload files in the cabinet (default 4)")
    add_rebuild_option(ap)
    add_timing_options(ap)
    ap.add_argument(
        "--only", choices=[v.key for v in VARIANTS], help="measure one signed cabinet only"
    )
    ap.add_argument(
        "--profile",
        action="store_true",
        help="also print a cProfile (top 15, cumulative) of the --signatures-only row",
    )
    ap.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help="run the Python rows with the environment as it is (by default they get a "
        "bytecode cache in WORKDIR/pycache, see bytecode_env)",
    )
    ap.add_argument(
        "--clean",
        action="store_true",
        help="delete the signed cabinets and WORKDIR/pycache when done (the JSON files stay)",
    )
    args = ap.parse_args(argv)
    timing = Timing.from_args(ap, args)

    for exe in ("osslsigncode", "openssl", "gcab"):
        if shutil.which(exe) is None:
            print(f"bench_signatures: error: {exe} is required", file=sys.stderr)
            return 2
    t_start = time.perf_counter()
    try:
        inputs = build_inputs(args.workdir, args.size, args.files, rebuild=args.rebuild)
    except BuildError as exc:
        print(f"bench_signatures: error: {exc}", file=sys.stderr)
        return 2
    t_built = time.perf_counter()

    results_dir = args.workdir / "results"
    scratch = results_dir / "signatures"
    scratch.mkdir(parents=True, exist_ok=True)

    signed = inputs.facts["signed"]
    assert isinstance(signed, dict)
    cases = [
        Case(v, inputs.files[v.key], signed[v.key]) for v in VARIANTS if args.only in (None, v.key)
    ]

    facts = machine_facts()
    facts["bytecode"] = benchlib.bytecode_env(args.workdir, args.no_bytecode_cache)
    facts["method"] = timing.method(", warm page cache")
    for case in cases:
        for tool in tools_for(case):
            print(f"[{case.variant.name}] {tool.name} ...", file=sys.stderr, flush=True)
            problem = check_once(tool, case)
            if problem is not None:
                print(f"  skipped: {problem}", file=sys.stderr)
                case.results.append(Result(tool, error=problem))
                continue
            case.results.append(timing.measure(tool, scratch))
    startup = benchlib.python_startup(STARTUP_IMPORTS, args.runs, capture_output=True)
    measured = time.perf_counter() - t_built

    profiles: list[str] = []
    if args.profile:
        for case in cases:
            print(f"[{case.variant.name}] cProfile {SIGS_ONLY} ...", file=sys.stderr, flush=True)
            profiles += ["", *profile_sigs_only(case, results_dir)]

    out = benchlib.report(
        facts,
        f"python startup + import msuinspect inspect path: {startup:.3f} s "
        "(in every msuinspect row)",
        describe(inputs),
        [
            (
                f"{case.variant.name}: {case.variant.description} "
                f"({case.size} bytes, {case.size / 1e9:.3f} GB)",
                table(case),
                verdicts(case),
            )
            for case in cases
        ],
    )
    out += profiles
    out.append("")
    out.append(
        f"(build/reuse {t_built - t_start:.0f} s, measurements {measured:.0f} s, "
        f"total {time.perf_counter() - t_start:.0f} s)"
    )
    print("\n".join(out))

    record = {
        "facts": facts,
        "python_startup_s": startup,
        "inputs": inputs.facts,
        "target_ratio": TARGET_RATIO,
        "cases": [
            {
                "variant": c.variant.key,
                "path": str(c.path),
                "bytes": c.size,
                "results": [r.record() for r in c.results],
            }
            for c in cases
        ],
    }
    benchlib.write_results(results_dir / "signatures.json", record)
    if args.clean:
        for p in inputs.files.values():
            p.unlink(missing_ok=True)
        shutil.rmtree(args.workdir / "pycache", ignore_errors=True)
        print(
            f"(deleted the signed cabinets and WORKDIR/pycache; {MANIFEST_NAME} and results/ kept)",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
