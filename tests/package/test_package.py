"""The package layer on real update packages: what each MSU and update cabinet is, catalog
coverage of every manifest, tampering, hostile unattend files, download names, and the
generations that are recognised but not analysed."""

from __future__ import annotations

import datetime
import hashlib
import shutil
from pathlib import Path

import pytest

from msuinspect.authenticode.trust import TrustStore, load_certificates
from msuinspect.package.analyse import PackageReport, analyse_file
from msuinspect.package.kinds import NodeKind
from msuinspect.package.model import CoverageStatus, PackageNode

from support.corpus import FIXTURES, MANIFEST, CorpusEntry, corpus_params
from support.tools import gcab_create, require_tool, run_tool

TRUST = TrustStore.default(load_certificates(FIXTURES / "pki/root_ca.pem"))
PACKAGES = [
    e
    for e in MANIFEST
    if e.rel.startswith("msu/")
    or (e.rel.startswith("cab/update/Windows") and e.rel.endswith(".cab"))
]


def _analyse(path: Path) -> PackageReport:
    return analyse_file(path, TRUST)


def _metadata(rep: PackageReport) -> list[PackageNode]:
    return [n for n in rep.root.walk() if n.kind in (NodeKind.MUM, NodeKind.MANIFEST)]


@pytest.mark.corpus
def test_windows_6_0_kb2999226(corpus: Path) -> None:
    rep = _analyse(corpus / "cab/update/Windows6.0-KB2999226-x64.cab")
    s = rep.summary
    assert rep.root.kind is NodeKind.UPDATE_CAB
    assert s.kb_numbers == ["2999226"]
    assert s.release_type == "Update"
    assert s.target_version == "6.0" and "Server 2008" in (s.target_product or "")
    assert s.architecture == "amd64"
    assert any(p.startswith("package_for_KB948465 ") for p in s.parents)
    assert "Service Pack 2" in " ".join(s.parent_meaning)
    assert s.component_version_min is not None and s.component_version_min.startswith("6.0.6002.")
    assert s.component_version_max is not None and s.component_version_max.startswith("6.0.6002.")
    assert s.carries_6003 is False
    assert s.signing[rep.root.path] == "dual-sha1-primary"
    assert not [f for f in rep.all_findings() if f.code.endswith("disagreement")]


@pytest.mark.corpus
@pytest.mark.parametrize("rel", [e.rel for e in MANIFEST if e.rel.startswith("msu/Windows6.1")])
def test_windows_6_1_msus(corpus: Path, rel: str) -> None:
    rep = _analyse(corpus / rel)
    s = rep.summary
    assert rep.root.kind is NodeKind.MSU and s.generation == "classic-msu"
    assert s.target_version == "6.1" and "Windows 7" in (s.target_product or "")
    kb = rel.split("KB")[1].split("-")[0]
    assert s.kb_numbers == [kb]
    assert s.architecture == ("x86" if "-x86" in rel else "amd64")
    kinds = {n.kind for n in rep.root.children}
    assert {NodeKind.WSUSSCAN, NodeKind.UPDATE_CAB, NodeKind.PROPERTIES, NodeKind.UNATTEND} <= kinds
    unattend = next(n for n in rep.root.children if n.kind is NodeKind.UNATTEND)
    inner = next(n for n in rep.root.children if n.kind is NodeKind.UPDATE_CAB)
    assert unattend.parsed.packages[0].resolved_member == inner.name
    assert s.download_name_sha1 == "not-present"


@pytest.mark.corpus
@pytest.mark.parametrize("entry", corpus_params(PACKAGES))
def test_every_real_package_has_a_consistent_summary(entry: CorpusEntry) -> None:
    rep = _analyse(entry.path)
    s = rep.summary
    name_ver = entry.rel.split("/")[-1].split("-")[0].removeprefix("Windows")
    assert s.target_version == {"8.1": "6.3"}.get(name_ver, name_ver)
    assert s.kb_numbers and all(k.isdigit() for k in s.kb_numbers)
    assert s.release_type in ("Update", "Hotfix", "Security Update")
    assert s.architecture in ("amd64", "x86")


@pytest.mark.corpus
@pytest.mark.parametrize("entry", corpus_params(PACKAGES))
def test_every_manifest_and_mum_is_covered(entry: CorpusEntry) -> None:
    rep = _analyse(entry.path)
    meta = _metadata(rep)
    assert meta, "an update package has package and component manifests"
    covered = [n for n in meta if n.coverage and n.coverage.status is CoverageStatus.COVERED]
    assert len(covered) == len(meta), [
        (n.name, n.coverage.status if n.coverage else None) for n in meta if n not in covered
    ]
    assert all(n.coverage and n.coverage.catalog_valid for n in covered)
    assert not [f for f in rep.all_findings() if f.code == "metadata-not-covered"]


@pytest.mark.corpus
def test_coverage_counts_of_the_6_0_cabinet(corpus: Path) -> None:
    rep = _analyse(corpus / "cab/update/Windows6.0-KB2999226-x64.cab")
    meta = _metadata(rep)
    mums = [n for n in meta if n.kind is NodeKind.MUM]
    manifests = [n for n in meta if n.kind is NodeKind.MANIFEST]
    assert (len(mums), len(manifests)) == (20, 10)
    catalogs = [n for n in rep.root.children if n.kind is NodeKind.CATALOG]
    assert len(catalogs) == 20 and all(
        c.signatures and c.signatures.signing.value == "sha1-only" for c in catalogs
    )


@pytest.mark.corpus
def test_one_altered_manifest_is_the_only_mismatch(corpus: Path, tmp_path: Path) -> None:
    """Rebuild the 6.0 cabinet with one byte of one manifest changed: exactly that file is
    reported, as not covered (its catalog lists no names, so nothing says "altered"), and the
    package gets an error finding."""
    require_tool("gcab")
    src = tmp_path / "x"
    src.mkdir()
    run_tool("cabextract", "-q", "-d", src, corpus / "cab/update/Windows6.0-KB2999226-x64.cab")
    victim = sorted(src.glob("*.manifest"))[0]
    data = bytearray(victim.read_bytes())
    data[100] ^= 0x01
    victim.write_bytes(bytes(data))
    rep = _analyse(gcab_create(tmp_path / "rebuilt.cab", src))
    meta = _metadata(rep)
    bad = [n for n in meta if n.coverage is None or n.coverage.status is not CoverageStatus.COVERED]
    assert [n.name for n in bad] == [victim.name]
    assert bad[0].coverage is not None
    assert bad[0].coverage.status is CoverageStatus.NOT_COVERED
    errors = [f for f in rep.all_findings() if f.code == "metadata-not-covered"]
    assert len(errors) == 1 and victim.name in errors[0].message


def test_sample_package_pe_is_covered_by_its_authenticode_hash() -> None:
    rep = _analyse(FIXTURES / "sample/Windows6.0-KB9999901-x64.msu")
    dll = next(n for n in rep.root.walk() if n.name.endswith("sample.dll"))
    assert dll.coverage is not None and dll.coverage.status is CoverageStatus.COVERED
    assert dll.coverage.hash_kind == "pe" and dll.signatures is not None
    assert rep.summary.carries_6003 is True
    sha2 = _analyse(FIXTURES / "sample/Windows6.0-KB9999902-x64.msu")
    assert set(sha2.summary.signing.values()) == {"sha2-only"}
    assert sha2.summary.catalog_versions == [2]


def _build_msu(tmp: Path, unattend: str) -> Path:
    require_tool("gcab")
    d = tmp / "m"
    d.mkdir()
    sample_src = FIXTURES / "sample/KB9999901"
    shutil.copy(sample_src / "Windows6.0-KB9999901-x64.cab", d)
    shutil.copy(sample_src / "WSUSSCAN.cab", d)
    (d / "Windows6.0-KB9999901-x64.xml").write_text(unattend)
    (d / "Windows6.0-KB9999901-x64-pkgProperties.txt").write_text(
        'Applies to="Windows Server 2008"\r\n'
    )
    return gcab_create(tmp / "Windows6.0-KB9999901-x64.msu", d)


UNATTEND = """<?xml version="1.0" encoding="utf-8"?>
<unattend xmlns="urn:schemas-microsoft-com:unattend"><servicing><package action="install">
<assemblyIdentity name="Package_for_KB9999901" version="6.0.1.0" language="neutral"
 processorArchitecture="amd64" publicKeyToken="31bf3856ad364e35"/>
<source location="{loc}"/></package></servicing></unattend>"""


@pytest.mark.parametrize(
    "loc",
    [
        r"%configsetroot%\..\..\Windows\System32\evil.cab",
        r"C:\Windows\evil.cab",
        r"\\server\share\evil.cab",
    ],
)
def test_hostile_unattend_source_is_a_finding(loc: str, tmp_path: Path) -> None:
    msu = _build_msu(tmp_path, UNATTEND.format(loc=loc))
    rep = _analyse(msu)
    node = next(n for n in rep.root.children if n.kind is NodeKind.UNATTEND)
    assert node.parsed.packages[0].resolved_member is None
    assert "unattend-source-unsafe" in {f.code for f in rep.all_findings()}


def test_unattend_with_an_entity_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    xxe = (
        f'<?xml version="1.0"?><!DOCTYPE u [<!ENTITY x SYSTEM "file://{secret}">]>'
        '<unattend xmlns="urn:schemas-microsoft-com:unattend">&x;</unattend>'
    )
    rep = _analyse(_build_msu(tmp_path, xxe))
    codes = {f.code for f in rep.all_findings()}
    assert "xml-unsafe" in codes
    assert "TOP-SECRET" not in repr(rep)


def test_download_name_sha1(tmp_path: Path) -> None:
    sample = FIXTURES / "sample/Windows6.0-KB9999901-x64.msu"
    sha1 = hashlib.sha1(sample.read_bytes()).hexdigest()
    good = tmp_path / f"windows6.0-kb9999901-x64_{sha1}.msu"
    shutil.copy(sample, good)
    assert _analyse(good).summary.download_name_sha1 == "match"
    bad = tmp_path / f"windows6.0-kb9999901-x64_{'0' * 40}.msu"
    shutil.copy(sample, bad)
    rep = _analyse(bad)
    assert rep.summary.download_name_sha1 == "mismatch"
    assert "download-name-sha1-mismatch" in {f.code for f in rep.all_findings()}
    # a copy through a case-insensitive file system: the claim is still read and checked
    upper = tmp_path / f"WINDOWS6.0-KB9999901-X64_{sha1.upper()}.MSU"
    shutil.copy(sample, upper)
    assert _analyse(upper).summary.download_name_sha1 == "match"


def test_wim_msu_is_recognised_not_analysed(tmp_path: Path) -> None:
    wim = tmp_path / "windows11.0-kb5040000-x64.msu"
    wim.write_bytes(b"MSWIM\x00\x00\x00" + b"\x00" * 200)
    rep = _analyse(wim)
    assert rep.root.kind is NodeKind.MSU_WIM
    assert "not-analysed" in {f.code for f in rep.all_findings()}


@pytest.mark.corpus
def test_compressed_manifests_are_recognised(corpus: Path) -> None:
    dcm = [e for e in MANIFEST if e.kind == "manifest" and "DCM" in e.observed]
    if not dcm:
        dcm = [
            e for e in MANIFEST if e.kind == "manifest" and e.path.read_bytes()[:4] == b"DCM\x01"
        ]
    assert dcm
    for e in dcm:
        rep = _analyse(e.path)
        assert rep.root.kind is NodeKind.MANIFEST_COMPRESSED
        assert "not-analysed" in {f.code for f in rep.all_findings()}


def test_sources_that_disagree_are_a_finding(tmp_path: Path) -> None:
    """A 6.0 package whose pkgProperties claims Windows 6.1: the summary keeps the signed
    content's answer (the SP2 parent package) and says the sources disagree."""
    unattend = UNATTEND.format(loc=r"%configsetroot%\Windows6.0-KB9999901-x64.cab")
    msu = _build_msu(tmp_path, unattend)
    good = _analyse(msu)
    assert "target-disagreement" not in {f.code for f in good.all_findings()}
    assert good.summary.target_sources["pkgProperties Applies to (hint)"] == "6.0"
    props = tmp_path / "m" / "Windows6.0-KB9999901-x64-pkgProperties.txt"
    props.write_text('Applies to="Windows 6.1"\r\n')
    gcab_create(msu, tmp_path / "m")
    rep = _analyse(msu)
    assert rep.summary.target_version == "6.0"
    assert "target-disagreement" in {f.code for f in rep.all_findings()}


def test_applies_to_names() -> None:
    from msuinspect.package.summary import applies_to_version

    assert applies_to_version("Windows 6.1") == "6.1"
    assert applies_to_version("Windows Server 2008") == "6.0"
    assert applies_to_version("Windows Server 2008 R2") == "6.1"
    assert applies_to_version("Windows 8.1") == "6.3"
    assert applies_to_version("something else") is None


def test_top_level_catalog_and_pe_are_verified_once_and_parsed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import msuinspect.package.analyse as analyse

    calls: list[str] = []
    real = analyse.inspect_source

    def counting(source, *a, **kw):  # type: ignore[no-untyped-def]
        calls.append(source.display_name)
        return real(source, *a, **kw)

    monkeypatch.setattr(analyse, "inspect_source", counting)
    cat = FIXTURES / "cat/test_v1.cat"
    rep = _analyse(cat)
    assert rep.root.kind is NodeKind.CATALOG and rep.root.parsed is not None
    assert rep.root.sha256 == hashlib.sha256(cat.read_bytes()).hexdigest()
    assert calls == [str(cat)]
    pe = FIXTURES / "pe/signed_dual.exe"
    calls.clear()
    rep = _analyse(pe)
    assert rep.root.kind is NodeKind.PE and rep.root.signatures is not None
    assert rep.root.pe_digests and calls == [str(pe)]


def test_member_hashes_come_from_the_scan() -> None:
    """Nested cabinets and members keep the SHA-1/SHA-256 the decoding scan computed."""
    rep = _analyse(FIXTURES / "sample/Windows6.0-KB9999901-x64.msu")
    inner_file = FIXTURES / "sample/KB9999901/Windows6.0-KB9999901-x64.cab"
    inner = next(n for n in rep.root.walk() if n.name == inner_file.name)
    data = inner_file.read_bytes()
    assert inner.sha256 == hashlib.sha256(data).hexdigest()
    assert inner.sha1 == hashlib.sha1(data).hexdigest()
    assert inner.signatures is not None and inner.signatures.sha256 is None  # not hashed twice
    assert all(n.sha256 for n in rep.root.walk() if n is not rep.root)


def test_nested_cabinets_are_walked_from_memory_or_from_a_replayed_stream(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Within Limits.max_in_memory a nested cabinet is not decoded again; above it the
    replayed stream gives the same package tree."""
    import msuinspect.package.analyse as analyse
    from msuinspect.cab.nested import looks_like_cabinet
    from msuinspect.cab.store import MemberStore
    from msuinspect.package.analyse import analyse_source
    from msuinspect.report.package_json import package_dict
    from msuinspect.source import FileSource

    replays: list[str] = []
    real = MemberStore.member_chunks

    def counting(self: MemberStore, member):  # type: ignore[no-untyped-def]
        replays.append(member.name)
        return real(self, member)

    monkeypatch.setattr(MemberStore, "member_chunks", counting)
    msu = FileSource(FIXTURES / "sample/Windows6.0-KB9999902-x64.msu")
    moment = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    in_memory = analyse_source(msu, TRUST, as_of=moment)
    assert replays == []
    # as if every nested cabinet were larger than Limits.max_in_memory
    wants = analyse._Hook.wants
    monkeypatch.setattr(
        analyse._Hook, "wants", lambda self, n, h: not looks_like_cabinet(h) and wants(self, n, h)
    )
    streamed = analyse_source(msu, TRUST, as_of=moment)
    assert replays  # the nested cabinets were re-read from their parent's folder
    assert package_dict(streamed) == package_dict(in_memory)
    assert len(list(in_memory.root.walk())) > 8
