"""Identity from signed content (audit of the package model): the manifests a valid
catalog covers say what a package is; names, pkgProperties and the unattend XML are claims
checked against them. Coverage counts only catalogs whose signature verifies and chains to
a trusted root, matches PE files by their PE Authenticode hash only, and reports what a
valid catalog contradicts.

Each case is the verdict fixture ``Windows6.0-KB9999911-x64.msu`` (tests/fixtures/verdict)
taken apart and rebuilt with one change: members read with the project's cabinet reader,
cabinets written by ``support.cabs``, catalogs built by the fixture generator and signed
with the test PKI by osslsigncode. Two checks use a real corpus file (skipped without it).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from msuinspect import inspect, trust_store
from msuinspect.cab import Cabinet
from msuinspect.findings import Finding, Severity
from msuinspect.package.analyse import PackageReport
from msuinspect.package.model import CoverageStatus, PackageNode
from msuinspect.report.package_json import summary_dict
from msuinspect.report.package_text import render_summary
from msuinspect.source import BytesSource, FileSource

from support.cabs import stored_cab
from support.corpus import FIXTURES
from support.der import with_nested
from support.generator import fixture_generator
from support.tools import run_tool

PKI = FIXTURES / "pki"
TRUST = trust_store([PKI / "root_ca.pem", PKI / "tsa_root.pem"])
BASE = FIXTURES / "verdict/Windows6.0-KB9999911-x64.msu"
INNER = "Windows6.0-KB9999911-x64.cab"
DLL = "sample.dll"

Members = list[tuple[str, bytes]]
#: the source suffix of identity from manifests no valid catalog covers
UNCOVERED = " (not covered by a valid catalog)"


# --- building variants of the fixture ---------------------------------------------------


def _generator() -> ModuleType:
    return fixture_generator()


def _read(source: Cabinet) -> Members:
    return [(m.name, source.read_member(m)) for m in source.members]


def _parts() -> tuple[Members, Members]:
    """The fixture's outer members and its inner cabinet's members, in cabinet order."""
    outer = _read(Cabinet.open(FileSource(BASE)))
    inner = _read(Cabinet.open(BytesSource(dict(outer)[INNER], INNER)))
    return outer, inner


def _cab(members: Members) -> bytes:
    return stored_cab([(n.encode(), d) for n, d in members])


def _sign(data: bytes, tmp: Path, name: str, signer: str = "leaf_codesign") -> bytes:
    src, out = tmp / f"unsigned-{name}", tmp / f"signed-{name}"
    src.write_bytes(data)
    proc = run_tool(
        "osslsigncode", "sign", "-h", "sha256",
        "-certs", PKI / f"{signer}_chain.pem", "-key", PKI / f"{signer}.key",
        "-in", src, "-out", out,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr.decode()
    return out.read_bytes()


def _catalog(
    members: Members, tmp: Path, *, signer: str = "leaf_codesign", flat_pe: bool = False
) -> bytes:
    """A version 1 catalog of ``members`` as the generator builds them (PE files by their
    PE Authenticode hash, unless ``flat_pe``), signed by ``signer`` of the test PKI."""
    gen = _generator()
    (pkg,) = [p for p in gen.VERDICT_PACKAGES if p.kb == "9999911"]
    listed = [
        gen.CatalogMember(
            n.rsplit("\\", 1)[-1] if n.endswith(".dll") else n,
            n,
            "pe" if n.endswith(".dll") and not flat_pe else "flat",
            d,
        )
        for n, d in members
        if not n.endswith(".cat")
    ]
    return _sign(gen.build_catalog(pkg, listed), tmp, f"{len(listed)}-{signer}.cat", signer)


def _edit(members: Members, suffix: str, change: Callable[[bytes], bytes]) -> Members:
    hit = [n for n, _ in members if n.endswith(suffix)]
    assert len(hit) == 1, (suffix, hit)
    return [(n, change(d) if n == hit[0] else d) for n, d in members]


def _msu(tmp: Path, outer: Members, inner: Members, name: str = BASE.name) -> Path:
    """The MSU with ``inner`` as its inner cabinet (signed), itself signed."""
    inner_cab = _sign(_cab(inner), tmp, "inner.cab")
    msu = _sign(_cab([(n, inner_cab if n == INNER else d) for n, d in outer]), tmp, "outer.msu")
    path = tmp / name
    path.write_bytes(msu)
    return path


def _report(path: Path) -> PackageReport:
    r = inspect(path, trust=TRUST)
    assert r.package is not None
    return r.package


def _node(rep: PackageReport, name: str) -> PackageNode:
    (node,) = [n for n in rep.root.walk() if n.name == name]
    return node


def _findings(rep: PackageReport, code: str) -> list[Finding]:
    return [f for f in rep.all_findings() if f.code == code]


def _kb(old: str, new: str) -> Callable[[bytes], bytes]:
    return lambda d: d.replace(old.encode(), new.encode())


def _altered_mum(d: bytes) -> bytes:
    return d.replace(b"KB9999911", b"KB7777777").replace(
        b'processorArchitecture="amd64"', b'processorArchitecture="x86"', 1
    )


# --- 1. identity from covered manifests --------------------------------------------------


def test_an_uncovered_manifest_beside_covered_ones_never_feeds_identity(tmp_path: Path) -> None:
    outer, inner = _parts()
    original = dict(inner)["update.mum"]
    # UPDATE.MUM, altered (another KB, x86), before the catalogued update.mum
    rep = _report(_msu(tmp_path, outer, [("UPDATE.MUM", _altered_mum(original)), *inner]))
    s = rep.summary
    assert s.kb_numbers == ["9999911"]
    assert s.architecture == "amd64"
    assert not any("7777777" in i for i in s.package_identities)
    assert s.kb_sources["package manifest"] == ["9999911"]
    cov = _node(rep, "UPDATE.MUM").coverage
    assert cov is not None and cov.status is CoverageStatus.MISMATCH
    assert "name-content-conflict" not in {f.code for f in rep.all_findings()}
    (f,) = _findings(rep, "metadata-not-covered")
    assert f.path.endswith("UPDATE.MUM")
    # the host verdict reads the same manifests: amd64, KB9999911
    from msuinspect.verdict.facts import package_facts

    facts = package_facts(rep)
    assert facts.arch == "amd64" and facts.kb == "KB9999911"


def test_identity_from_uncovered_manifests_says_so(tmp_path: Path) -> None:
    outer, inner = _parts()
    rep = _report(_msu(tmp_path, outer, [(n, d) for n, d in inner if not n.endswith(".cat")]))
    s = rep.summary
    assert s.kb_numbers == ["9999911"]
    assert s.kb_sources == {
        "package manifest" + UNCOVERED: ["9999911"],
        "pkgProperties (hint)": ["9999911"],
    }
    assert "update.mum" + UNCOVERED in s.architecture_sources
    assert "parent package" + UNCOVERED in s.target_sources
    assert s.release_sources["release_type"] == "package manifest" + UNCOVERED
    assert summary_dict(s)["release_sources"]["build_date"] == "package manifest" + UNCOVERED


# --- 2. a cabinet with manifests and no catalog ------------------------------------------


def test_manifests_in_a_cabinet_without_a_catalog_are_not_covered(tmp_path: Path) -> None:
    outer, inner = _parts()
    rep = _report(_msu(tmp_path, outer, [(n, d) for n, d in inner if not n.endswith(".cat")]))
    cab = _node(rep, INNER)
    metadata = [c for c in cab.children if c.name.endswith((".mum", ".manifest"))]
    assert len(metadata) == 5
    for c in metadata:
        assert c.coverage is not None and c.coverage.status is CoverageStatus.NOT_COVERED
        assert c.coverage.detail == "this cabinet holds no catalog"
    errors = _findings(rep, "metadata-not-covered")
    assert sorted(f.path for f in errors) == sorted(c.path for c in metadata)
    assert all(f.severity is Severity.ERROR for f in errors)
    assert rep.summary.coverage == {"not-covered": 5}


def test_a_manifest_added_beside_the_msus_cabinets_is_not_covered(tmp_path: Path) -> None:
    outer, inner = _parts()
    extra = _altered_mum(dict(inner)["update.mum"]).replace(b"KB7777777", b"KB5555555")
    rep = _report(
        _msu(tmp_path, [("update.mum", extra), *outer], inner, "Windows6.0-KB5555555-x86.msu")
    )
    (f,) = _findings(rep, "metadata-not-covered")
    assert f.path == f"{rep.root.path}!/update.mum"
    s = rep.summary
    assert s.kb_numbers == ["9999911"] and s.architecture == "amd64"
    (conflict,) = _findings(rep, "name-content-conflict")
    assert conflict.evidence["content"] == {"kb": ["9999911"], "version": "6.0", "arch": "amd64"}


# --- 3. an altered payload file ----------------------------------------------------------


def test_a_payload_file_a_valid_catalog_contradicts_is_an_error(tmp_path: Path) -> None:
    outer, inner = _parts()

    def flip(d: bytes) -> bytes:
        b = bytearray(d)
        b[0x200] ^= 0xFF
        return bytes(b)

    rep = _report(_msu(tmp_path, outer, _edit(inner, DLL, flip)))
    (f,) = _findings(rep, "member-hash-mismatch")
    assert f.severity is Severity.ERROR and f.path.endswith(DLL)
    assert f.evidence["catalog"].endswith("!/update.cat")
    assert "altered" in f.message
    r = inspect(rep.root.path, trust=TRUST)
    assert any(x.startswith("member-hash-mismatch:") for x in r.outcome.reasons)


# --- 4. a valid catalog is signed, verified and trusted ---------------------------------


def test_a_catalog_that_chains_to_no_trusted_root_covers_nothing(tmp_path: Path) -> None:
    outer, inner = _parts()
    inner = _edit(inner, "update.mum", _kb("KB9999911", "KB7777777"))
    cat = _catalog(inner, tmp_path, signer="selfsigned_untrusted")
    inner = [(n, cat if n == "update.cat" else d) for n, d in inner]
    rep = _report(_msu(tmp_path, outer, inner))
    cov = _node(rep, "update.mum").coverage
    assert cov is not None and cov.status is CoverageStatus.NOT_COVERED
    assert cov.catalog_valid is False and cov.catalog is not None
    assert cov.detail == (
        "listed only in update.cat, whose primary signature chains to no trusted root"
    )
    assert any(f.path.endswith("!/update.mum") for f in _findings(rep, "metadata-not-covered"))


def test_a_trusted_nested_signature_does_not_make_an_untrusted_catalog_valid(
    tmp_path: Path,
) -> None:
    """Anyone can attach a genuine signature as a nested one (an unsigned attribute): a
    catalog counts only when its primary signature is trusted (second signature audit)."""
    outer, inner = _parts()
    inner = _edit(inner, "update.mum", _kb("KB9999911", "KB7777777"))
    forged = _catalog(inner, tmp_path, signer="selfsigned_untrusted")
    genuine = _catalog(_parts()[1], tmp_path, signer="leaf_codesign")
    nested = with_nested(forged, [genuine])  # no key needed: an unsigned attribute
    inner = [(n, nested if n == "update.cat" else d) for n, d in inner]
    rep = _report(_msu(tmp_path, outer, inner))
    cat_node = _node(rep, "update.cat")
    assert cat_node.signatures is not None
    assert [s.trusted for s in cat_node.signatures.signatures] == [False, True]
    cov = _node(rep, "update.mum").coverage
    assert cov is not None and cov.status is CoverageStatus.NOT_COVERED
    # identity from the forged manifest is said to be uncovered
    assert "7777777" in rep.summary.kb_sources["package manifest" + UNCOVERED]
    # the payload: a warning whose message is true
    (w,) = _findings(rep, "covered-by-invalid-catalog")
    assert w.path.endswith(DLL) and "chains to no trusted root" in w.message
    assert "package manifest" + UNCOVERED in rep.summary.kb_sources


def test_two_valid_catalogs_that_disagree_make_a_mismatch(tmp_path: Path) -> None:
    outer, inner = _parts()
    altered = _kb("KB9999911", "KB7777777")(dict(inner)["update.mum"])
    # the original catalog still lists update.mum by name with its original hash; another
    # catalog, signed by another trusted leaf, lists the altered update.mum
    extra = _catalog([("update.mum", altered)], tmp_path, signer="leaf_codesign_sha1chain")
    inner = [*_edit(inner, "update.mum", lambda _d: altered), ("zz_extra.cat", extra)]
    rep = _report(_msu(tmp_path, outer, inner))
    cov = _node(rep, "update.mum").coverage
    assert cov is not None and cov.status is CoverageStatus.MISMATCH
    assert cov.catalog is not None and cov.catalog.endswith("!/update.cat")
    assert cov.detail is not None
    assert "update.cat lists 'update.mum'" in cov.detail
    assert "zz_extra.cat lists this file's hash" in cov.detail
    assert rep.summary.kb_numbers == ["9999911"]


# --- 5. PE files by their PE Authenticode hash only -------------------------------------


def test_a_pe_file_listed_by_its_flat_hash_is_not_covered(tmp_path: Path) -> None:
    outer, inner = _parts()
    cat = _catalog(inner, tmp_path, flat_pe=True)
    inner = [(n, cat if n == "update.cat" else d) for n, d in inner]
    rep = _report(_msu(tmp_path, outer, inner))
    dll = next(n for n in rep.root.walk() if n.name.endswith(DLL))
    assert dll.coverage is not None and dll.coverage.status is CoverageStatus.NOT_COVERED
    assert dll.coverage.detail is not None and "PE Authenticode hash" in dll.coverage.detail
    assert "member-hash-mismatch" not in {f.code for f in rep.all_findings()}
    mum = _node(rep, "update.mum").coverage
    assert mum is not None and mum.status is CoverageStatus.COVERED  # flat files still are


# --- 6. an update package by content -----------------------------------------------------


def test_a_cabinet_whose_mum_is_no_manifest_is_not_an_update_package(tmp_path: Path) -> None:
    cab = _cab([("update.mum", b"hello world, not a manifest\r\n"), ("readme.txt", b"data\r\n")])
    path = tmp_path / "Windows6.0-KB4493730-x64.cab"
    path.write_bytes(_sign(cab, tmp_path, "t.cab"))
    rep = _report(path)
    assert not rep.summary.is_update_package
    assert rep.summary.generation == "cabinet"
    (f,) = _findings(rep, "name-content-conflict")
    assert f.severity is Severity.ERROR and "not an update package" in f.message
    assert "signer-not-microsoft-servicing" not in {x.code for x in rep.all_findings()}


# --- 7 and 8. pkgProperties is a hint ----------------------------------------------------


def test_a_pkgproperties_kb_is_a_hint_not_a_kb_number(tmp_path: Path) -> None:
    outer, inner = _parts()
    outer = _edit(outer, "-pkgProperties.txt", _kb('Number="9999911"', 'Number="1234567"'))
    rep = _report(_msu(tmp_path, outer, inner, "Windows6.0-KB1234567-x64.msu"))
    s = rep.summary
    assert s.kb_numbers == ["9999911"]
    assert s.kb_sources["pkgProperties (hint)"] == ["1234567"]
    (f,) = _findings(rep, "kb-disagreement")
    assert f.severity is Severity.WARNING
    assert f.evidence == {"manifests": ["9999911"], "pkgproperties": ["1234567"]}
    assert "name-content-conflict" in {x.code for x in rep.all_findings()}


def test_pkgproperties_never_overrides_the_manifest(tmp_path: Path) -> None:
    outer, inner = _parts()

    def change(d: bytes) -> bytes:
        d = d.replace(b'Build Date="2019/04/09"', b'Build Date="2024/12/31"')
        return re.sub(rb'Support Link="[^"]*"', b'Support Link="http://evil.example/kb"', d)

    rep = _report(_msu(tmp_path, _edit(outer, "-pkgProperties.txt", change), inner))
    s = rep.summary
    assert s.build_date == "2019-04-09"
    assert s.support_link == "http://support.microsoft.com/?kbid=9999911"
    assert s.release_type == "Security Update"
    assert s.release_sources == {
        "release_type": "package manifest",
        "restart": "package manifest",
        "description": "package manifest",
        "support_link": "package manifest",
        "build_date": "package manifest",
    }


def test_pkgproperties_fills_what_the_manifest_lacks_in_one_date_format(tmp_path: Path) -> None:
    outer, inner = _parts()
    inner = _edit(inner, "update.mum", lambda d: re.sub(rb' creationTimeStamp="[^"]*"', b"", d))
    cat = _catalog(inner, tmp_path)
    inner = [(n, cat if n == "update.cat" else d) for n, d in inner]
    s = _report(_msu(tmp_path, outer, inner)).summary
    assert s.build_date == "2019-04-09"  # from Build Date="2019/04/09"
    assert s.release_sources["build_date"] == "pkgProperties (hint)"
    assert s.release_sources["support_link"] == "package manifest"


def test_real_msu_takes_its_support_link_and_date_from_the_manifest(corpus: Path) -> None:
    f = corpus / "msu/Windows6.1-KB2999226-x64.msu"
    if not f.exists():
        pytest.skip(f"{f} is not in this corpus")
    s = _report(f).summary
    # pkgProperties says http://support.microsoft.com?kbid=2999226 (no slash)
    assert s.support_link == "http://support.microsoft.com/?kbid=2999226"
    assert s.build_date == "2015-07-21"
    assert s.release_sources["support_link"] == "package manifest"
    assert s.kb_numbers == ["2999226"]


# --- 9. the unattend XML is a hint -------------------------------------------------------


def test_an_unattend_naming_another_package_is_a_warning(tmp_path: Path) -> None:
    outer, inner = _parts()

    def change(d: bytes) -> bytes:
        return d.replace(b"Package_for_KB9999911", b"Package_for_KB1234567").replace(
            b'version="6.0.1.0"', b'version="6.0.9.9"'
        )

    rep = _report(_msu(tmp_path, _edit(outer, "-x64.xml", change), inner))
    (f,) = _findings(rep, "unattend-identity-disagreement")
    assert f.severity is Severity.WARNING
    assert f.evidence["unattend"].startswith("Package_for_KB1234567~")
    assert f.evidence["manifest"] == "Package_for_KB9999911~31bf3856ad364e35~amd64~~6.0.1.0"
    clean = _report(BASE)
    assert not _findings(clean, "unattend-identity-disagreement")
    assert not _findings(clean, "kb-disagreement")


# --- 10. components, not versions --------------------------------------------------------


def test_components_are_counted_by_identity(tmp_path: Path) -> None:
    outer, inner = _parts()

    def second(d: bytes) -> bytes:
        start = d.index(b"<updateComponent")
        end = d.index(b"</updateComponent>") + len(b"</updateComponent>")
        twin = d[start:end].replace(b"msuinspect-Sample", b"msuinspect-Twin")
        return d[:end] + b"\r\n        " + twin + d[end:]

    inner = _edit(inner, "package_1_for_kb9999911~31bf3856ad364e35~amd64~~6.0.1.0.mum", second)
    cat = _catalog(inner, tmp_path)
    inner = [(n, cat if n == "update.cat" else d) for n, d in inner]
    rep = _report(_msu(tmp_path, outer, inner))
    s = rep.summary
    # two components at one version (the sample twice: the .mum and its manifest)
    assert s.component_count == 2
    assert s.component_version_min == s.component_version_max == "6.0.6003.20490"
    lines: list[str] = []
    render_summary(rep, lines.append)
    assert "    2 component(s), versions 6.0.6003.20490 .. 6.0.6003.20490; 6003-level " in (
        "\n".join(lines)
    )


# --- 11. marketing names are claims too --------------------------------------------------


@pytest.mark.parametrize(
    ("name", "claim"),
    [
        ("Windows7-KB9999911-x64.msu", {"kb": "9999911", "version": "6.1", "arch": "amd64"}),
        ("Windows8-RT-KB9999911-arm.msu", {"kb": "9999911", "version": "6.2", "arch": "arm"}),
        ("Windows8.1-KB9999911-x64.msu", {"kb": "9999911", "version": "6.3", "arch": "amd64"}),
    ],
)
def test_marketing_names_are_parsed_and_checked(
    tmp_path: Path, name: str, claim: dict[str, str]
) -> None:
    f = tmp_path / name
    f.write_bytes(BASE.read_bytes())
    rep = _report(f)
    assert rep.summary.name_claim == claim
    (conflict,) = _findings(rep, "name-content-conflict")
    assert "the content targets Windows 6.0" in conflict.message


def test_a_compressed_manifest_in_a_windows_6_package_is_an_error(tmp_path: Path) -> None:
    """DCM manifests exist only from Windows 10 on and cannot be checked against the
    catalogs: in a 6.0 package one would hide an altered manifest (package audit)."""
    outer, inner = _parts()
    (name,) = [n for n, _ in inner if n.endswith(".manifest")]
    inner = [(n, b"DCM\x01" + bytes(200) if n == name else d) for n, d in inner]
    rep = _report(_msu(tmp_path, outer, inner))
    assert rep.summary.target_version == "6.0"
    (f,) = _findings(rep, "compressed-manifest-unexpected")
    assert f.severity is Severity.ERROR and f.path is not None and f.path.endswith(name)
