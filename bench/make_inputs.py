"""Build the large benchmark cabinets (an LZX one and an MSZIP one) from real Microsoft data.

Debian has no LZX compressor, so the LZX cabinet is assembled from real LZX:21 folders taken
from corpus cabinets: every copy of a source folder becomes a new CFFOLDER whose CFDATA
blocks are copied byte for byte (LZX state resets at every folder, so a folder's blocks are
self-contained), and every CFFILE of the source is re-emitted as ``copyNNN\\<name>`` pointing
at the new folder. The source's header reserve (Authenticode signature) is dropped: the
output has flags 0 and no reserve areas. The result is checked with ``cabextract -t``.

Some Microsoft cabinets store identical files once and point several CFFILE entries at the
same folder range (``vc2008_x86_VC_RED.cab``: 101 members, 30.6 MB, but only 10.7 MB of
folder data). By default such aliases are dropped (the first member in folder order is kept)
so that every tool decodes each folder byte exactly once and MB/s means decoder throughput:
with aliases, cabextract restarts the folder for every backward reference (2-3x the work)
and libarchive/bsdtar reject the cabinet ("Invalid CAB header"). ``--keep-aliases`` keeps
them.

The MSZIP cabinet carries the same content: the LZX cabinet is extracted with ``cabextract``
and the files (sorted by path) are packed with ``gcab -c -z``.

Both cabinets are written into the work folder only (default ``bench/.work/``), together
with ``inputs.json`` describing them; an existing build with the same parameters is reused.

Usage::

    .venv/bin/python bench/make_inputs.py [--workdir DIR] [--size 400M] [--rebuild]

The parser here is independent of ``msuinspect`` on purpose: the inputs of a benchmark
should not depend on the code under test.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import struct
import sys
from dataclasses import dataclass
from pathlib import Path

from benchlib import (
    REPO_DIR,
    BuildError,
    add_rebuild_option,
    add_size_option,
    add_workdir_option,
    read_manifest,
    require_tools,
    run,
    stderr_logger,
)

#: bump when the output format of the builder changes (invalidates cached inputs)
BUILDER_VERSION = 2

#: default LZX sources (relative to the corpus); ``:N`` caps a source at N copies
DEFAULT_LZX_SOURCES = (
    "cab/ms/vc2008_x86_VC_RED.cab",  # 101 members, 30.6 MB: PE files, catalogs, manifests
    "cab/update/Windows6.0-KB2999226-x64.cab",  # 223 members, 1.7 MB: a real update package
    "cab/update/WSUSSCAN_KB2687862-x64_package.cab:2",  # 4951 members, 2.1 MB: tiny XMLs
)

LZX_NAME = "lzx.cab"
MSZIP_NAME = "mszip.cab"
STORED_NAME = "stored.cab"
MANIFEST_NAME = "inputs.json"

_CFHEADER = struct.Struct("<4sIIIIIBBHHHHH")
_CFFOLDER = struct.Struct("<IHH")
_CFFILE = struct.Struct("<IIHHHH")
_CFDATA = struct.Struct("<IHH")
_FLAG_PREV = 0x0001
_FLAG_NEXT = 0x0002
_FLAG_RESERVE = 0x0004
_IFOLD_CONTINUED = 0xFFFD
_TYPE_LZX = 3
_MAX_MEMBERS = 0xFFFF
_MAX_CABINET = (1 << 31) - 1
_MAX_NAME = 255
#: stay well below ARG_MAX (usually 2 MiB for argv + environment) for the gcab call
_MAX_ARGV_BYTES = 1_500_000


def corpus_dir() -> Path:
    env = os.environ.get("MSUINSPECT_CORPUS")
    if env:
        return Path(env)
    return REPO_DIR.parent / "shared" / "corpus"


# --------------------------------------------------------------------------- source parsing
@dataclass(frozen=True, slots=True)
class SourceFile:
    size: int  #: cbFile
    offset: int  #: uoffFolderStart
    folder: int  #: iFolder (index into the source's folders)
    date: int
    time: int
    attribs: int
    name: bytes  #: raw name, without the NUL


@dataclass(frozen=True, slots=True)
class SourceFolder:
    type_compress: int
    blocks: int  #: cCFData
    data: bytes  #: the CFDATA blocks, ready to copy (reserve stripped if there was one)
    uncompressed: int  #: sum of cbUncomp


@dataclass(frozen=True, slots=True)
class SourceCab:
    path: Path
    sha256: str
    folders: tuple[SourceFolder, ...]
    files: tuple[SourceFile, ...]
    aliases_dropped: int = 0  #: members dropped because they overlap an earlier member

    @property
    def member_bytes(self) -> int:
        return sum(f.size for f in self.files)


def drop_aliases(files: tuple[SourceFile, ...]) -> tuple[SourceFile, ...]:
    """Keep members whose folder range does not overlap a kept member (in folder order, then
    listing order); the CFFILE order of the survivors is unchanged."""
    order = sorted(range(len(files)), key=lambda i: (files[i].folder, files[i].offset, i))
    keep: set[int] = set()
    folder, end = -1, 0
    for i in order:
        f = files[i]
        if f.folder != folder:
            folder, end = f.folder, 0
        if f.offset >= end:
            keep.add(i)
            end = max(end, f.offset + f.size)
    return tuple(f for i, f in enumerate(files) if i in keep)


def csum_compute(data: bytes, seed: int = 0) -> int:
    """``CSUMCompute`` of [MS-CAB] 2.4 (XOR of little-endian words, odd tail MSB first)."""
    n = len(data) // 4
    value = seed
    if n:
        big = int.from_bytes(data[: n * 4], "little")
        for _ in range(n):
            value ^= big & 0xFFFFFFFF
            big >>= 32
    t = 0
    for b in data[n * 4 :]:
        t = (t << 8) | b
    return (value ^ t) & 0xFFFFFFFF


def _cstring(buf: bytes, pos: int, what: str) -> tuple[bytes, int]:
    end = buf.find(b"\0", pos)
    if end < 0:
        raise BuildError(f"unterminated {what} at offset {pos}")
    return buf[pos:end], end + 1


def parse_source(path: Path, *, keep_aliases: bool = False) -> SourceCab:
    """Parse a single, self-contained cabinet (no multi-volume continuation)."""
    buf = path.read_bytes()
    if len(buf) < _CFHEADER.size:
        raise BuildError(f"{path}: too short for a CFHEADER")
    (
        sig,
        _r1,
        cb_cabinet,
        _r2,
        coff_files,
        _r3,
        _vmin,
        _vmaj,
        c_folders,
        c_files,
        flags,
        _set_id,
        _i_cab,
    ) = _CFHEADER.unpack_from(buf, 0)
    if sig != b"MSCF":
        raise BuildError(f"{path}: not a cabinet (no MSCF signature)")
    if cb_cabinet > len(buf):
        raise BuildError(f"{path}: cbCabinet {cb_cabinet} exceeds the file size {len(buf)}")
    if flags & (_FLAG_PREV | _FLAG_NEXT):
        raise BuildError(f"{path}: part of a multi-volume set; use a self-contained cabinet")
    pos = _CFHEADER.size
    cb_cf_folder = cb_cf_data = 0
    if flags & _FLAG_RESERVE:
        cb_cf_header, cb_cf_folder, cb_cf_data = struct.unpack_from("<HBB", buf, pos)
        pos += 4 + cb_cf_header
    raw_folders: list[tuple[int, int, int]] = []
    for _ in range(c_folders):
        raw_folders.append(_CFFOLDER.unpack_from(buf, pos))
        pos += _CFFOLDER.size + cb_cf_folder

    folders: list[SourceFolder] = []
    for index, (coff, count, type_compress) in enumerate(raw_folders):
        if type_compress & 0x000F != _TYPE_LZX:
            raise BuildError(
                f"{path}: folder {index} is not LZX (typeCompress 0x{type_compress:04x})"
            )
        start = p = coff
        pieces: list[bytes] = []
        uncompressed = 0
        for k in range(count):
            if p + _CFDATA.size + cb_cf_data > cb_cabinet:
                raise BuildError(f"{path}: folder {index} block {k} runs past cbCabinet")
            csum, cb_data, cb_uncomp = _CFDATA.unpack_from(buf, p)
            data_at = p + _CFDATA.size + cb_cf_data
            data = buf[data_at : data_at + cb_data]
            if len(data) < cb_data or data_at + cb_data > cb_cabinet:
                raise BuildError(f"{path}: folder {index} block {k} is truncated")
            if cb_uncomp == 0:
                raise BuildError(f"{path}: folder {index} block {k} continues in another cabinet")
            if cb_cf_data:
                # re-emit without the per-block reserve; the checksum covers it, so redo it
                tail = struct.pack("<HH", cb_data, cb_uncomp)
                new_csum = csum_compute(tail, csum_compute(data)) if csum else 0
                pieces.append(_CFDATA.pack(new_csum, cb_data, cb_uncomp) + data)
            uncompressed += cb_uncomp
            p = data_at + cb_data
        blob = b"".join(pieces) if cb_cf_data else buf[start:p]
        folders.append(SourceFolder(type_compress, count, blob, uncompressed))

    files: list[SourceFile] = []
    pos = coff_files
    for _ in range(c_files):
        cb_file, uoff, i_folder, date, time, attribs = _CFFILE.unpack_from(buf, pos)
        name, pos = _cstring(buf, pos + _CFFILE.size, "CFFILE name")
        if i_folder >= _IFOLD_CONTINUED or i_folder >= len(folders):
            raise BuildError(f"{path}: member {name!r} has iFolder 0x{i_folder:04x}")
        if uoff + cb_file > folders[i_folder].uncompressed:
            raise BuildError(f"{path}: member {name!r} lies beyond its folder's data")
        files.append(SourceFile(cb_file, uoff, i_folder, date, time, attribs, name))
    kept = tuple(files) if keep_aliases else drop_aliases(tuple(files))
    return SourceCab(
        path, hashlib.sha256(buf).hexdigest(), tuple(folders), kept, len(files) - len(kept)
    )


# ------------------------------------------------------------------------------ LZX build
@dataclass(frozen=True, slots=True)
class SourceSpec:
    path: Path
    max_copies: int | None  #: None: unlimited

    @classmethod
    def parse(cls, text: str, base: Path) -> SourceSpec:
        head, sep, tail = text.rpartition(":")
        if sep and tail.isdigit():
            text, cap = head, int(tail)
        else:
            cap = None
        p = Path(text)
        return cls(p if p.is_absolute() else base / p, cap)


@dataclass(frozen=True, slots=True)
class CopyPlan:
    source: int  #: index into the source list
    copy: int  #: copy number (also the name prefix)


def plan_copies(sources: list[SourceCab], caps: list[int | None], target: int) -> list[CopyPlan]:
    """Round-robin over the sources until the members hold ``target`` bytes; a source stops
    at its copy cap, or when one more copy would exceed the 65535-member limit."""
    plan: list[CopyPlan] = []
    used = [0] * len(sources)
    total = members = 0
    while total < target:
        progressed = False
        for i, src in enumerate(sources):
            if total >= target:
                break
            cap = caps[i]
            if cap is not None and used[i] >= cap:
                continue
            if members + len(src.files) > _MAX_MEMBERS:
                continue
            plan.append(CopyPlan(i, len(plan)))
            used[i] += 1
            total += src.member_bytes
            members += len(src.files)
            progressed = True
        if not progressed:
            raise BuildError(
                f"cannot reach {target} bytes: sources exhausted at {total} bytes, "
                f"{members} members (caps or the 65535-member limit)"
            )
    return plan


def write_lzx_cab(out: Path, sources: list[SourceCab], plan: list[CopyPlan]) -> dict[str, int]:
    """Write the multi-folder LZX cabinet; returns its facts."""
    width = max(3, len(str(len(plan) - 1)))
    folders: list[SourceFolder] = []
    cffiles: list[bytes] = []
    for cp in plan:
        src = sources[cp.source]
        base_folder = len(folders)
        folders.extend(src.folders)
        prefix = f"copy{cp.copy:0{width}d}\\".encode("ascii")
        for f in src.files:
            name = prefix + f.name
            if len(name) > _MAX_NAME:
                raise BuildError(f"member name too long after renaming: {name!r}")
            cffiles.append(
                _CFFILE.pack(f.size, f.offset, base_folder + f.folder, f.date, f.time, f.attribs)
                + name
                + b"\0"
            )
    if len(folders) > 0xFFFF or len(cffiles) > _MAX_MEMBERS:
        raise BuildError(f"too many folders ({len(folders)}) or members ({len(cffiles)})")
    coff_files = _CFHEADER.size + _CFFOLDER.size * len(folders)
    data_start = coff_files + sum(len(c) for c in cffiles)
    cb_cabinet = data_start + sum(len(fo.data) for fo in folders)
    if cb_cabinet > _MAX_CABINET:
        raise BuildError(f"cabinet would have {cb_cabinet} bytes; keep it below 2 GiB (--size)")
    header = _CFHEADER.pack(
        b"MSCF", 0, cb_cabinet, 0, coff_files, 0, 3, 1, len(folders), len(cffiles), 0, 0, 0
    )
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(header)
        pos = data_start
        for fo in folders:
            fh.write(_CFFOLDER.pack(pos, fo.blocks, fo.type_compress))
            pos += len(fo.data)
        for c in cffiles:
            fh.write(c)
        for fo in folders:
            fh.write(fo.data)
        written = fh.tell()
    if written != cb_cabinet:
        raise BuildError(f"internal error: wrote {written} bytes, cbCabinet says {cb_cabinet}")
    os.replace(tmp, out)
    return {
        "bytes": cb_cabinet,
        "folders": len(folders),
        "members": len(cffiles),
        "uncompressed": sum(sources[cp.source].member_bytes for cp in plan),
    }


# ---------------------------------------------------------------------------- MSZIP build
def cabextract_test(path: Path) -> None:
    """``cabextract -t``: every member decodes and its checksums match."""
    out = run(["cabextract", "-t", str(path)])
    if "All done, no errors." not in out:
        raise BuildError(f"cabextract -t {path}: unexpected output: {out.strip()[-200:]}")


def write_gcab_cabs(outs: dict[str, Path], lzx: Path, scratch: Path) -> dict[str, dict[str, int]]:
    """Extract ``lzx`` with cabextract into ``scratch`` and pack the files with gcab, once per
    entry of ``outs``: ``"mszip"`` with ``gcab -c -z``, ``"stored"`` with ``gcab -c``."""
    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir(parents=True)
    facts: dict[str, dict[str, int]] = {}
    try:
        run(["cabextract", "-q", "-d", str(scratch), str(lzx)])
        files: list[str] = []
        total = 0
        for root, dirs, names in os.walk(scratch):
            dirs.sort()
            for name in sorted(names):
                full = Path(root) / name
                files.append(full.relative_to(scratch).as_posix())
                total += full.stat().st_size
        argv_bytes = sum(len(f) + 1 for f in files)
        if argv_bytes > _MAX_ARGV_BYTES:
            raise BuildError(
                f"{len(files)} files need {argv_bytes} bytes of gcab arguments; use fewer "
                "small-member copies (--lzx-source PATH:N)"
            )
        for kind, out in outs.items():
            tmp = out.with_name(out.name + ".tmp")
            tmp.unlink(missing_ok=True)
            flags = ["-c", "-z"] if kind == "mszip" else ["-c"]
            run(["gcab", *flags, str(tmp.resolve()), *files], cwd=scratch)
            os.replace(tmp, out)
            size = out.stat().st_size
            facts[kind] = {"bytes": size, "members": len(files), "uncompressed": total}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return facts


def _gcab_facts(kind: str, info: dict[str, int]) -> dict[str, object]:
    if kind == "mszip":
        return {**info, "folders": 1, "compression": "MSZIP", "tool": "gcab -c -z"}
    return {**info, "folders": 1, "compression": "none (stored)", "tool": "gcab -c"}


# --------------------------------------------------------------------------------- driver
@dataclass(slots=True)
class Inputs:
    lzx: Path
    mszip: Path
    facts: dict[str, object]
    stored: Path | None = None

    def uncompressed(self, which: str) -> int:
        info = self.facts[which]
        assert isinstance(info, dict)
        return int(info["uncompressed"])


def _spec(
    size: int, specs: list[SourceSpec], sources: list[SourceCab], keep_aliases: bool
) -> dict[str, object]:
    return {
        "builder": BUILDER_VERSION,
        "size": size,
        "keep_aliases": keep_aliases,
        "sources": [
            {
                "path": str(s.path),
                "max_copies": s.max_copies,
                "sha256": src.sha256,
                "members_used": len(src.files),
                "aliases_dropped": src.aliases_dropped,
            }
            for s, src in zip(specs, sources, strict=True)
        ],
    }


def build_inputs(
    workdir: Path,
    size: int,
    source_args: list[str] | None = None,
    *,
    rebuild: bool = False,
    keep_aliases: bool = False,
    log: bool = True,
) -> Inputs:
    """Build (or reuse) ``workdir/lzx.cab``, ``workdir/mszip.cab`` and ``workdir/stored.cab``
    (the stored one is added to an earlier build that lacks it, without rebuilding the rest)."""

    say = stderr_logger(log)
    require_tools("cabextract", "gcab")
    base = corpus_dir()
    specs = [SourceSpec.parse(t, base) for t in (source_args or list(DEFAULT_LZX_SOURCES))]
    for s in specs:
        if not s.path.is_file():
            raise BuildError(f"LZX source {s.path} not found (set MSUINSPECT_CORPUS?)")
    sources = [parse_source(s.path, keep_aliases=keep_aliases) for s in specs]
    spec = _spec(size, specs, sources, keep_aliases)

    workdir.mkdir(parents=True, exist_ok=True)
    lzx, mszip, manifest = workdir / LZX_NAME, workdir / MSZIP_NAME, workdir / MANIFEST_NAME
    stored = workdir / STORED_NAME
    if not rebuild and lzx.is_file() and mszip.is_file():
        old = read_manifest(manifest, spec)
        if (
            old is not None
            and old.get("lzx", {}).get("bytes") == lzx.stat().st_size
            and old.get("mszip", {}).get("bytes") == mszip.stat().st_size
        ):
            have = stored.stat().st_size if stored.is_file() else None
            if have is None or old.get("stored", {}).get("bytes") != have:
                say(f"building {stored}: cabextract + gcab -c (same files)")
                made = write_gcab_cabs({"stored": stored}, lzx, workdir / "extract")
                cabextract_test(stored)
                old["stored"] = _gcab_facts("stored", made["stored"])
                manifest.write_text(json.dumps(old, indent=2) + "\n")
            say(f"reusing inputs in {workdir} (same parameters; --rebuild to force)")
            return Inputs(lzx, mszip, old, stored)
    manifest.unlink(missing_ok=True)

    plan = plan_copies(sources, [s.max_copies for s in specs], size)
    say(f"building {lzx}: {len(plan)} folder copies from {len(sources)} source cabinet(s)")
    lzx_facts = write_lzx_cab(lzx, sources, plan)
    keys = [str(s.path.relative_to(base) if s.path.is_relative_to(base) else s.path) for s in specs]
    counts = dict.fromkeys(keys, 0)
    for cp in plan:
        counts[keys[cp.source]] += 1
    say("  checking it with cabextract -t")
    cabextract_test(lzx)
    say(f"building {mszip} and {stored}: cabextract + gcab -c -z / gcab -c (same files)")
    made = write_gcab_cabs({"mszip": mszip, "stored": stored}, lzx, workdir / "extract")
    for path in (mszip, stored):
        cabextract_test(path)
    if made["mszip"]["uncompressed"] != lzx_facts["uncompressed"]:
        raise BuildError(
            f"extracted {made['mszip']['uncompressed']} bytes, the LZX cabinet declares "
            f"{lzx_facts['uncompressed']}"
        )
    facts: dict[str, object] = {
        "spec": spec,
        "lzx": {**lzx_facts, "copies": counts, "compression": "LZX:21"},
        "mszip": _gcab_facts("mszip", made["mszip"]),
        "stored": _gcab_facts("stored", made["stored"]),
    }
    manifest.write_text(json.dumps(facts, indent=2) + "\n")
    return Inputs(lzx, mszip, facts, stored)


def describe(inputs: Inputs) -> list[str]:
    lines = []
    for key, path in (("lzx", inputs.lzx), ("mszip", inputs.mszip), ("stored", inputs.stored)):
        info = inputs.facts.get(key)
        if path is None or info is None:
            continue
        assert isinstance(info, dict)
        line = (
            f"{path.name}: {info['bytes'] / 1e6:.1f} MB, {info['compression']}, "
            f"{info['folders']} folder(s), {info['members']} members, "
            f"{info['uncompressed'] / 1e6:.1f} MB uncompressed"
        )
        if "copies" in info:
            copies = ", ".join(f"{Path(k).name} x{v}" for k, v in info["copies"].items())
            line += f"; folder copies: {copies}"
        lines.append(line)
    return lines


def add_input_options(ap: argparse.ArgumentParser) -> None:
    add_workdir_option(ap)
    add_size_option(
        ap, "400M", "uncompressed size to reach, e.g. 300M, 600M (default 400M = 400 MiB)"
    )
    ap.add_argument(
        "--lzx-source",
        action="append",
        metavar="PATH[:N]",
        help="LZX cabinet to copy folders from (repeatable; relative to the corpus; ':N' "
        "caps it at N copies). Default: " + ", ".join(DEFAULT_LZX_SOURCES),
    )
    ap.add_argument(
        "--keep-aliases",
        action="store_true",
        help="keep members that alias an earlier member's folder range (see make_inputs.py)",
    )
    add_rebuild_option(ap)


def inputs_from_args(args: argparse.Namespace) -> Inputs:
    """:func:`build_inputs` with the options of :func:`add_input_options`."""
    return build_inputs(
        args.workdir,
        args.size,
        args.lzx_source,
        rebuild=args.rebuild,
        keep_aliases=args.keep_aliases,
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    add_input_options(ap)
    args = ap.parse_args(argv)
    try:
        inputs = inputs_from_args(args)
    except BuildError as exc:
        print(f"make_inputs: error: {exc}", file=sys.stderr)
        return 1
    for line in describe(inputs):
        print(line)
    print(f"details: {args.workdir / MANIFEST_NAME}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
