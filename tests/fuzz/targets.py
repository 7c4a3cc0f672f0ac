"""The fuzz targets: what runs on one input, and the real files that seed it.

A target's ``run(data)`` does what a user's command does with a file of those bytes. The
contract under test: it returns, or raises an :class:`~msuinspect.errors.MsuInspectError`
subclass; any other exception is a bug (the worker and the regression test treat it so).
Checks of further invariants (nothing written outside the output folder) raise
``AssertionError``, which counts as a crash too.

Seeds are the real-file corpus (``$MSUINSPECT_CORPUS`` or ``../shared/corpus``, read in
place, never copied into the project) when present, plus the project's own fixtures under
``tests/fixtures`` (always), plus the target's regression inputs.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import functools
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from msuinspect.errors import MsuInspectError

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
REGRESSIONS = Path(__file__).resolve().parent / "regressions"

#: seeds larger than this are left out (an input of the target is at most ``max_len``)
SEED_MAX = 512 << 10
#: the fixed moment signatures are judged at (reports must not depend on today's date)
MOMENT = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)


def corpus_dir() -> Path | None:
    env = os.environ.get("MSUINSPECT_CORPUS")
    cand = Path(env) if env else REPO.parent / "shared" / "corpus"
    return cand if (cand / "MANIFEST.tsv").is_file() else None


@functools.cache
def _manifest() -> tuple[tuple[str, str, int], ...]:
    """(path, kind, size) of every corpus file."""
    root = corpus_dir()
    if root is None:
        return ()
    with open(root / "MANIFEST.tsv", newline="", encoding="utf-8") as f:
        return tuple(
            (row["path"], row["kind"], int(row["size"]))
            for row in csv.DictReader(f, delimiter="\t")
        )


def corpus_files(kinds: tuple[str, ...], suffixes: tuple[str, ...] = ()) -> list[Path]:
    """Corpus files of these manifest kinds (or with these name endings), small enough."""
    root = corpus_dir()
    if root is None:
        return []
    out = []
    for rel, kind, size in _manifest():
        if size > SEED_MAX or not (kind in kinds or rel.lower().endswith(suffixes)):
            continue
        path = root / rel
        if path.is_file():
            out.append(path)
    return out


def fixture_files(*patterns: str) -> list[Path]:
    out: list[Path] = []
    for pattern in patterns:
        out.extend(p for p in sorted(FIXTURES.glob(pattern)) if p.is_file())
    return [p for p in out if p.stat().st_size <= SEED_MAX]


# --------------------------------------------------------------------------- shared state


@functools.cache
def _trust() -> object:
    from msuinspect.authenticode.trust import TrustStore

    return TrustStore.default()


def _source(data: bytes, name: str) -> object:
    from msuinspect.source import BytesSource

    return BytesSource(data, name)


@functools.cache
def _scratch() -> str | None:
    """Where ``cab-extract`` writes: a RAM file system when there is one (a real disk makes
    each created file cost about a millisecond, which would dominate the run)."""
    env = os.environ.get("MSUINSPECT_FUZZ_TMP")
    if env:
        return env
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


def _suppress() -> contextlib.AbstractContextManager[None]:
    """The project's own errors are a valid outcome for hostile input."""
    return contextlib.suppress(MsuInspectError)


# --------------------------------------------------------------------------- targets


def _cab_list(data: bytes, codec_keys: tuple[str, ...] | None) -> None:
    """``list -r --hashes --json``: open, decode, hash and descend into every cabinet."""
    from msuinspect.cab.codecs.registry import codecs_by_key
    from msuinspect.cab.container import open_cabinet_file
    from msuinspect.cab.tree import scan
    from msuinspect.report import cabinet_json

    codecs = codecs_by_key(list(codec_keys)) if codec_keys else None
    cf = open_cabinet_file(_source(data, "fuzz.cab"), codecs=codecs)  # type: ignore[arg-type]
    trees = [scan(u, decode=True, hashes=True, recursive=True) for u in cf.units]
    json.dumps(
        {
            "units": [cabinet_json.container_dict(t) for t in trees],
            "layouts": [cabinet_json.layout_dict(c) for c in cf.cabinets],
            "findings": cabinet_json.findings_list(cf.findings),
        }
    )


def cab(data: bytes) -> None:
    """The cabinet reader with the default decoder order (zlib for stored and MSZIP,
    libarchive for LZX, libmspack for Quantum and as the fallback)."""
    _cab_list(data, None)


def cab_libmspack(data: bytes) -> None:
    """The cabinet reader with libmspack as the only decoder (LZX, MSZIP and Quantum)."""
    _cab_list(data, ("libmspack",))


def cab_extract(data: bytes) -> None:
    """``extract -r`` into an empty folder with the default limits; nothing may appear
    outside that folder."""
    from msuinspect.cab.container import open_cabinet_file
    from msuinspect.cab.extract import ExtractReport, OutputFolder, extract
    from msuinspect.report import cabinet_json

    with tempfile.TemporaryDirectory(prefix="msuinspect-fuzz-", dir=_scratch()) as tmp:
        root = Path(tmp)
        fence = root / "fence"
        fence.mkdir()
        out_dir = fence / "out"
        try:
            cf = open_cabinet_file(_source(data, "fuzz.cab"))  # type: ignore[arg-type]
            out = OutputFolder(out_dir)
            rep = ExtractReport(out.root)
            for unit in cf.units:
                extract(unit, out, recursive=True, report=rep)
            rep.findings.extend(out.findings)
            json.dumps(cabinet_json.extract_dict(rep))
        finally:
            outside = sorted(p.name for p in root.iterdir() if p.name != "fence")
            outside += sorted(p.name for p in fence.iterdir() if p.name != "out")
            if outside:
                raise AssertionError(f"extract wrote outside its output folder: {outside}")


def authenticode(data: bytes) -> None:
    """``inspect --signatures-only``: the CMS/Authenticode layer on a cabinet, PE, catalog
    or PKCS#7 blob (kind by content)."""
    from msuinspect.authenticode.inspect import inspect_source
    from msuinspect.report.signatures_json import file_dict

    report = inspect_source(
        _source(data, "fuzz"),  # type: ignore[arg-type]
        _trust(),  # type: ignore[arg-type]
        as_of=MOMENT,
        file_hashes=True,
    )
    json.dumps(file_dict(report))


def catalog(data: bytes) -> None:
    """The catalog (CTL) parser."""
    from msuinspect.package.catalog import parse_catalog

    parse_catalog(data)


def package_xml(data: bytes) -> None:
    """Every package-metadata parser on the same bytes: the hardened XML parser, update.mum,
    component manifests, unattend, the container index, pkgProperties, sniffing."""
    from msuinspect.package import xmlsafe
    from msuinspect.package.cix import parse_cix
    from msuinspect.package.kinds import sniff
    from msuinspect.package.manifest import parse_manifest
    from msuinspect.package.mum import parse_mum
    from msuinspect.package.properties import parse_properties
    from msuinspect.package.unattend import parse_unattend

    sniff(data[:4096], "update.mum")
    parsers: tuple[Callable[[bytes], object], ...] = (
        lambda d: xmlsafe.decode_xml_bytes(d, what="fuzz"),
        lambda d: xmlsafe.parse_xml(d, what="fuzz"),
        parse_mum,
        parse_manifest,
        lambda d: parse_unattend(d, package_members=["a.cab", "Windows6.0-KB1-x64.cab"]),
        parse_cix,
        parse_properties,
    )
    for parse in parsers:
        with _suppress():
            parse(data)


def host(data: bytes) -> None:
    """The host-evidence importers (every format, sniffed) and the merge of what they read."""
    from msuinspect.host.importers import read_evidence
    from msuinspect.host.merge import merge

    merge(read_evidence(data, name="fuzz"))


def inspect(data: bytes) -> None:
    """``inspect --json``: the whole pipeline (signatures, package walk, catalogs, coverage,
    summary, outcome) on the bytes of one file."""
    from msuinspect.api import inspect as api_inspect
    from msuinspect.report.inspect_json import report_dict

    report = api_inspect(data, trust=_trust(), as_of=MOMENT, name="fuzz.msu")  # type: ignore[arg-type]
    json.dumps(report_dict(report))


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class Target:
    name: str
    run: Callable[[bytes], None]
    seeds: Callable[[], list[Path]]
    #: largest input the fuzzer makes (bytes)
    max_len: int

    def regressions(self) -> list[Path]:
        folder = REGRESSIONS / self.name
        if not folder.is_dir():
            return []
        return sorted(p for p in folder.iterdir() if p.is_file() and p.name != "README.md")

    def all_seeds(self) -> list[Path]:
        seen: set[Path] = set()
        out = []
        for p in [*self.seeds(), *self.regressions()]:
            if p not in seen:
                seen.add(p)
                out.append(p)
        return out

    def one(self, data: bytes) -> None:
        """Run one input: the project's own errors are fine, anything else propagates."""
        with _suppress():
            self.run(data)


def _cab_seeds() -> list[Path]:
    return corpus_files(("cab",), (".msu",)) + fixture_files(
        "cab/*.cab", "cab/hostile/*.cab", "sample/*.msu", "sample/*/*.cab", "verdict/*.msu"
    )


def _signed_seeds() -> list[Path]:
    return corpus_files(("pe", "cat"), (".p7x", ".stl")) + fixture_files(
        "cab/signed_*.cab", "cab/tampered_*.cab", "cab/trailing_*.cab", "pe/*", "cat/*.cat"
    )


def _catalog_seeds() -> list[Path]:
    return corpus_files(("cat",), (".stl",)) + fixture_files("cat/*.cat")


def _xml_seeds() -> list[Path]:
    return corpus_files(("mum", "manifest"), (".xml", "pkgproperties.txt", ".mum")) + (
        fixture_files("sample/src/*/*", "sample/src/*/*/*")
    )


def _host_seeds() -> list[Path]:
    return fixture_files("host/*.txt", "host/*.csv", "host/junk.bin", "host/status/*")


def _inspect_seeds() -> list[Path]:
    root = corpus_dir()
    real = [
        p
        for p in corpus_files(("cab",), (".msu",))
        if root is not None and p.relative_to(root).parts[:2] in (("cab", "update"), ("cab", "ms"))
    ]
    return real + fixture_files("sample/*.msu", "sample/*/*.cab", "verdict/*.msu", "cab/*.cab")


TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target("cab", cab, _cab_seeds, 512 << 10),
        Target("cab-libmspack", cab_libmspack, _cab_seeds, 512 << 10),
        Target("cab-extract", cab_extract, _cab_seeds, 512 << 10),
        Target("authenticode", authenticode, _signed_seeds, 512 << 10),
        Target("catalog", catalog, _catalog_seeds, 128 << 10),
        Target("package-xml", package_xml, _xml_seeds, 64 << 10),
        Target("host", host, _host_seeds, 64 << 10),
        Target("inspect", inspect, _inspect_seeds, 512 << 10),
    )
}


# --------------------------------------------------------------------------- self-tests


def _crash(data: bytes) -> None:
    if data:
        raise KeyError("self-test: a foreign exception")


def _hang(data: bytes) -> None:
    while data:
        pass


def _oom(data: bytes) -> None:
    hog = []
    while data:
        hog.append(b"\x01" * (16 << 20))


#: targets that fail on purpose (any non-empty input), to prove the runner notices
SELFTESTS: dict[str, Target] = {
    t.name: t
    for t in (
        Target("selftest-crash", _crash, list, 64),
        Target("selftest-hang", _hang, list, 64),
        Target("selftest-oom", _oom, list, 64),
    )
}
