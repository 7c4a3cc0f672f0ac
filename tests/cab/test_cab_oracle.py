"""Every cabinet in the corpus that cabextract accepts: our member names, sizes and bytes
equal cabextract's, computed live. Microsoft cabinets are also checked against 7-Zip.

cabextract lists members in the order it extracts them with ``-p``, so its ``-p`` output is
cut by the listed sizes. Names are compared exactly, except for names cabextract itself
rewrites for safety (those our parser flags as unsafe).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from msuinspect.cab.codecs.registry import codecs_by_key, default_codecs
from msuinspect.cab.container import open_cabinet_file
from msuinspect.cab.store import MemberStore

from support.corpus import CorpusEntry, cabinet_entries, corpus_params
from support.tools import require_tool, run_tool

pytestmark = [pytest.mark.corpus, pytest.mark.oracle]

_ACCEPTED_CACHE: dict[str, bool] = {}


def _cabextract_accepts(path: Path) -> bool:
    key = str(path)
    if key not in _ACCEPTED_CACHE:
        _ACCEPTED_CACHE[key] = run_tool("cabextract", "-q", "-t", path, timeout=60).returncode == 0
    return _ACCEPTED_CACHE[key]


def _cabextract_listing(path: Path) -> list[tuple[bytes, int]]:
    """(name as printed, size): cabextract prints UTF-8 names converted, others as raw bytes."""
    out = run_tool("cabextract", "-l", path, timeout=60).stdout
    rows = []
    for line in out.split(b"\n"):
        parts = line.split(b" | ", 2)
        if len(parts) == 3 and parts[0].strip().isdigit():
            rows.append((parts[2], int(parts[0].strip())))
    return rows


Member = tuple[str, int, str, bool, bytes]
_REPLACEMENT = "\ufffd".encode()


def _ascii(b: bytes) -> bytes:
    return bytes(c for c in b if c < 0x80)


def _our_members(path: Path, codecs: list[object] | None = None) -> list[Member]:
    """(name, size, sha256, name is unsafe, name bytes as cabextract prints them)."""
    cf = open_cabinet_file(path, codecs=codecs)  # type: ignore[arg-type]
    out: list[Member] = []
    for unit in cf.units:
        out.extend(_hash_all(unit))
    return out


def _has_cffile_gap(path: Path) -> bool:
    cf = open_cabinet_file(path)
    return any(f.code == "cab-cffile-gap" for c in cf.cabinets for f in c.findings)


def _hash_all(unit: MemberStore) -> list[Member]:
    hashes: dict[int, str] = {}

    class Sink:
        def __init__(self, index: int) -> None:
            self.index = index
            self.h = hashlib.sha256()

        def write(self, data: bytes) -> None:
            self.h.update(data)

        def close(self) -> None:
            hashes[self.index] = self.h.hexdigest()

        def abort(self, error: Exception) -> None:
            raise AssertionError(f"member {self.index} failed: {error}")

    outcomes = unit.walk(lambda m: Sink(m.index))
    failed = [o for o in outcomes if not o.ok]
    assert not failed, [str(o.error) for o in failed]
    return [
        (
            m.name,
            m.size,
            hashes[m.index],
            bool(m.name_flags),
            m.name.encode("utf-8") if m.name_is_utf8 else m.raw_name,
        )
        for m in unit.members
    ]


ENTRIES = [e for e in cabinet_entries()]


@pytest.mark.parametrize("entry", corpus_params(ENTRIES))
def test_matches_cabextract(entry: CorpusEntry, tmp_path: Path) -> None:
    if not _cabextract_accepts(entry.path):
        pytest.skip("cabextract -t rejects this file (covered by test_malformed)")
    listing = _cabextract_listing(entry.path)
    blob = run_tool("cabextract", "-q", "-p", entry.path).stdout
    assert len(blob) == sum(size for _, size in listing)
    theirs = []
    pos = 0
    for tname, size in listing:
        theirs.append((tname, size, hashlib.sha256(blob[pos : pos + size]).hexdigest()))
        pos += size
    ours = _our_members(entry.path)
    assert len(ours) == len(theirs)
    gap = _has_cffile_gap(entry.path)
    for (name, size, digest, unsafe, printed), (tname, tsize, tdigest) in zip(
        ours, theirs, strict=True
    ):
        assert size == tsize, name
        assert digest == tdigest, name
        if gap:
            # cabextract reads CFFILE right after CFFOLDER; [MS-CAB] (and 7-Zip, and we) read
            # it at coffFiles. The names must differ, and 7-Zip must agree with us.
            assert printed != tname
        elif not unsafe:
            # both '\\' and '/' separate folders in cabinet names; cabextract prints '/'
            mine, theirs_name = printed.replace(b"\\", b"/"), tname.replace(b"\\", b"/")
            if _REPLACEMENT in theirs_name:
                # cabextract replaces noncharacters (U+FFFF...) and bad sequences with U+FFFD
                # by its own rules; Python keeps noncharacters. Compare the ASCII skeleton.
                mine, theirs_name = _ascii(mine), _ascii(theirs_name)
            assert mine == theirs_name
    if gap:
        assert sorted(n for n, *_ in ours) == [
            n for n, _s, _d in _sevenzip_members(entry.path, tmp_path)
        ]


# Real Microsoft cabinets and MSUs, decoded by every backend that can, and checked against 7-Zip.
MICROSOFT = [e for e in ENTRIES if e.rel.startswith(("msu/", "cab/update/", "cab/ms/", "cab/fod/"))]


def _sevenzip_members(path: Path, workdir: Path) -> list[tuple[str, int, str]]:
    """(name with '\\' separators, size, sha256) of what ``7zz x`` extracts, sorted."""
    dest = workdir / "7zz"
    run_tool("7zz", "x", "-y", f"-o{dest}", path, check=True)
    out = []
    for f in sorted(dest.rglob("*")):
        if f.is_file():
            data = f.read_bytes()
            name = str(f.relative_to(dest)).replace("/", "\\")
            out.append((name, len(data), hashlib.sha256(data).hexdigest()))
    return sorted(out)


@pytest.mark.parametrize("entry", corpus_params(MICROSOFT))
def test_microsoft_cabinets_match_7zip(entry: CorpusEntry, tmp_path: Path) -> None:
    ours = sorted((n.replace("/", "\\"), s, d) for n, s, d, *_ in _our_members(entry.path))
    assert ours == _sevenzip_members(entry.path, tmp_path)


@pytest.mark.parametrize("backend", ["libarchive", "libmspack"])
@pytest.mark.parametrize("entry", corpus_params(MICROSOFT))
def test_each_lzx_backend_agrees(entry: CorpusEntry, backend: str) -> None:
    """Both LZX backends give identical bytes on every real Microsoft cabinet."""
    available = {c.key for c in default_codecs()}
    if backend not in available:
        require_tool("cabextract" if backend == "libmspack" else "bsdtar")
        pytest.skip(f"{backend} not available")
    forced = _our_members(entry.path, codecs_by_key(["zlib", backend]))  # type: ignore[arg-type]
    default = _our_members(entry.path)
    assert forced == default
