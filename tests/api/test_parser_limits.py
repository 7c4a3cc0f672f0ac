"""The limits of the parsers above the cabinet layer (issue 12, docs/security.md "Limits
owned by other layers"): ASN.1 depth, PKCS#7 file size, certificates per SignedData,
signatures per file, PE certificate table, XML size and depth, catalog members. Each is a
``Limits`` field and an ``inspect`` option; its default is unchanged, and lowering it on a
project fixture gives the finding or the typed error it promises."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from asn1crypto import cms
from click.testing import CliRunner

from msuinspect import inspect, trust_store
from msuinspect.authenticode import inspect as authenticode_inspect
from msuinspect.authenticode import pe as pe_module
from msuinspect.authenticode import signature as signature_module
from msuinspect.authenticode.inspect import FileReport, inspect_source
from msuinspect.cli import main
from msuinspect.cms import der
from msuinspect.cms import signed_data as signed_data_module
from msuinspect.cms.der import DerError
from msuinspect.cms.signed_data import parse_signed_data
from msuinspect.errors import LimitExceededError
from msuinspect.findings import Severity
from msuinspect.limits import MIB, Limits
from msuinspect.package import catalog as catalog_module
from msuinspect.package import xmlsafe
from msuinspect.package.catalog import parse_catalog
from msuinspect.package.mum import parse_mum
from msuinspect.package.outcome import Outcome
from msuinspect.package.xmlsafe import parse_xml
from msuinspect.source import BytesSource

from support.corpus import FIXTURES
from support.der import ber_wrap, with_nested

ROOT = FIXTURES / "pki/root_ca.pem"
TSA_ROOT = FIXTURES / "pki/tsa_root.pem"
CATALOG = FIXTURES / "cat/test_v2.cat"
DUAL_PE = FIXTURES / "pe/signed_dual.exe"
SIGNED_PE = FIXTURES / "pe/signed_sha256.exe"
RFC3161_CAB = FIXTURES / "cab/signed_sha256_rfc3161.cab"
SAMPLE = FIXTURES / "sample/Windows6.0-KB9999901-x64.msu"

TRUST = trust_store([ROOT, TSA_ROOT])
#: the content type of a SignedData ContentInfo: OBJECT IDENTIFIER 1.2.840.113549.1.7.2
SIGNED_DATA_OID_TLV = bytes.fromhex("06092a864886f70d010702")


def _inspect(data: bytes, name: str, limits: Limits | None = None) -> FileReport:
    return inspect_source(BytesSource(data, name), TRUST, limits=limits)


def _codes(report: FileReport) -> set[str]:
    return {f.code for f in report.all_findings}


def _finding(report: FileReport, code: str) -> dict[str, object]:
    (f,) = [f for f in report.all_findings if f.code == code]
    assert f.severity is Severity.WARNING or code == "pe-certificate-table-too-large"
    return dict(f.evidence)


# --- defaults -----------------------------------------------------------------------------


def test_defaults_are_the_documented_values_and_the_module_constants() -> None:
    d = Limits()
    assert (d.max_asn1_depth, der.MAX_BER_DEPTH) == (32, 32)
    assert d.max_pkcs7_size == authenticode_inspect.MAX_BLOB == 256 * MIB
    assert d.max_certificates == signed_data_module.MAX_CERTIFICATES == 256
    assert d.max_signatures == signature_module.MAX_SIGNATURES == 64
    assert d.max_pe_certificate_table == pe_module.MAX_CERTIFICATE_TABLE == 64 * MIB
    assert d.max_xml_size == xmlsafe.DEFAULT_MAX_SIZE == 64 * MIB
    assert d.max_xml_depth == xmlsafe.DEFAULT_MAX_DEPTH == 256
    assert d.max_catalog_members == catalog_module.MAX_MEMBERS == 1_000_000


@pytest.mark.parametrize(
    "field",
    [
        {"max_asn1_depth": 0},
        {"max_asn1_depth": 257},
        {"max_xml_depth": 0},
        {"max_xml_depth": 257},  # libxml2 stops at 256 without XML_PARSE_HUGE, never set
        {"max_certificates": 0},
        {"max_signatures": 0},
        {"max_pkcs7_size": 0},
        {"max_pe_certificate_table": -1},
        {"max_xml_size": 0},
        {"max_catalog_members": 0},
    ],
)
def test_unsafe_or_empty_limits_are_refused(field: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        Limits(**field)


def test_fixtures_pass_the_defaults_without_cap_findings() -> None:
    capped = {"certificates-capped", "signatures-capped", "pe-certificate-table-too-large"}
    for path in (CATALOG, DUAL_PE, RFC3161_CAB, SIGNED_PE):
        r = _inspect(path.read_bytes(), path.name)
        assert r.error is None and r.trusted, path
        assert not _codes(r) & capped, path
    r2 = inspect(SAMPLE, trust=TRUST)
    assert r2.outcome.outcome in (Outcome.OK, Outcome.WARNING)


# --- ASN.1 depth --------------------------------------------------------------------------


def test_asn1_depth_is_configurable() -> None:
    ber = ber_wrap(CATALOG.read_bytes())
    ok = _inspect(ber, "ber.cat")
    assert ok.signatures and ok.signatures[0].trusted and "pkcs7-not-der" in _codes(ok)
    assert parse_signed_data(ber, Limits(max_asn1_depth=3)).der_length == len(ber)
    with pytest.raises(DerError, match="nested too deep"):
        parse_signed_data(ber, Limits(max_asn1_depth=2))
    refused = _inspect(ber, "ber.cat", Limits(max_asn1_depth=2))
    assert not refused.signatures
    (f,) = [f for f in refused.findings if f.code == "unparsed-signature"]
    assert "nested too deep" in f.message


@pytest.mark.parametrize("depth", [256, 257, 100_000])
def test_asn1_depth_needs_no_stack(depth: int) -> None:
    """The indefinite-length walk is a loop: the highest allowed depth, and far beyond it,
    cost no Python frames (the old walk recursed once per level)."""
    blob = b"\x30\x80" * depth + b"\x00\x00" * depth
    if depth <= 256:
        assert der.ber_extent(blob, max_depth=256) == (len(blob), False)
    else:
        with pytest.raises(DerError, match="nested too deep"):
            der.ber_extent(blob, max_depth=256)


# --- PKCS#7 file size ---------------------------------------------------------------------


def test_pkcs7_file_over_256_mib_is_refused(tmp_path: Path) -> None:
    """A sparse file one byte over the default, starting like a SignedData ContentInfo:
    refused from its size, before anything is read into memory."""
    big = tmp_path / "huge.cat"
    with open(big, "wb") as f:
        f.write(b"\x30\x84\x10\x00\x00\x00" + SIGNED_DATA_OID_TLV)
        f.truncate(Limits().max_pkcs7_size + 1)
    r = inspect(big, trust=TRUST)
    assert r.outcome.outcome is Outcome.ERROR
    assert r.file is not None and r.file.kind.value == "pkcs7"
    assert isinstance(r.file.error, LimitExceededError)
    assert "268435457-byte PKCS#7 file" in r.file.error.message
    assert "--max-pkcs7-size" in r.file.error.message


def test_pkcs7_file_size_is_configurable() -> None:
    data = CATALOG.read_bytes()
    at = _inspect(data, "a.cat", Limits(max_pkcs7_size=len(data)))
    assert at.error is None and at.trusted
    over = _inspect(data, "a.cat", Limits(max_pkcs7_size=len(data) - 1))
    assert isinstance(over.error, LimitExceededError) and not over.signatures


# --- certificates per SignedData ----------------------------------------------------------


def test_certificates_cap_is_configurable_and_reported() -> None:
    data = CATALOG.read_bytes()
    n = len(parse_signed_data(data).certificates)
    assert n >= 2
    r = _inspect(data, "a.cat", Limits(max_certificates=1))
    (sig,) = r.signatures
    assert len(sig.certificates) == 1
    assert _finding(r, "certificates-capped") == {"signature": 0, "count": n - 1, "limit": 1}
    assert not sig.trusted  # the chain needed the certificates left out


def test_certificates_over_the_default_cap_are_reported() -> None:
    ci = cms.ContentInfo.load(CATALOG.read_bytes())
    certs = list(ci["content"]["certificates"])
    ci["content"]["certificates"] = cms.CertificateSet(certs * 150)  # 300 with 2 each
    blob = ci.dump(force=True)
    view = parse_signed_data(blob)
    assert view.certificates_skipped == len(certs) * 150 - 256
    r = _inspect(blob, "many.cat")
    assert _finding(r, "certificates-capped")["limit"] == 256


def test_timestamp_token_certificates_cap_is_reported() -> None:
    data = RFC3161_CAB.read_bytes()
    r = _inspect(data, RFC3161_CAB.name, Limits(max_certificates=1))
    messages = [f.message for f in r.all_findings if f.code == "certificates-capped"]
    assert any("RFC 3161 timestamp" in m for m in messages)


# --- signatures per file ------------------------------------------------------------------


def test_signatures_cap_is_configurable_and_reported() -> None:
    data = DUAL_PE.read_bytes()
    full = _inspect(data, DUAL_PE.name)
    assert len(full.signatures) == 2
    r = _inspect(data, DUAL_PE.name, Limits(max_signatures=1))
    assert len(r.signatures) == 1 and not r.signatures[0].nested
    assert _finding(r, "signatures-capped") == {"limit": 1}


def test_signatures_over_the_default_cap_are_reported() -> None:
    base = CATALOG.read_bytes()
    base = base[: der.total_length(base)]
    wide = with_nested(base, [base] * 70)
    r = _inspect(wide, "wide.cat")
    assert len(r.signatures) == 64
    assert _finding(r, "signatures-capped") == {"limit": 64}
    exact = with_nested(base, [base] * 63)  # 64 in all: nothing left out
    r = _inspect(exact, "exact.cat")
    assert len(r.signatures) == 64 and "signatures-capped" not in _codes(r)


# --- PE certificate table -----------------------------------------------------------------


def test_pe_certificate_table_cap_is_configurable() -> None:
    data = SIGNED_PE.read_bytes()
    r = _inspect(data, SIGNED_PE.name, Limits(max_pe_certificate_table=64))
    (f,) = [f for f in r.findings if f.code == "pe-certificate-table-too-large"]
    assert f.severity is Severity.ERROR and f.evidence["limit"] == 64
    assert "--max-pe-certificate-table" in f.message
    assert not r.trusted


# --- XML size and depth -------------------------------------------------------------------


def test_xml_depth_is_configurable() -> None:
    doc = b"<a><b><c/></b></a>"
    assert parse_xml(doc, what="t", max_depth=3) is not None
    with pytest.raises(LimitExceededError, match="deeper than the limit of 2"):
        parse_xml(doc, what="t", max_depth=2)
    deepest = b"<a>" * 256 + b"</a>" * 256
    assert parse_xml(deepest, what="t") is not None  # the default is libxml2's own 256
    data = (FIXTURES / "sample/src/KB9999901/Windows6.0-KB9999901-x64/update.mum").read_bytes()
    assert parse_mum(data).identity is not None
    with pytest.raises(LimitExceededError):
        parse_mum(data, limits=Limits(max_xml_depth=2))
    with pytest.raises(LimitExceededError, match="--max-xml-size"):
        parse_mum(data, limits=Limits(max_xml_size=len(data) - 1))


@pytest.mark.parametrize(
    "limits", [Limits(max_xml_depth=2), Limits(max_xml_size=100)], ids=["depth", "size"]
)
def test_xml_limits_reach_every_xml_parser_of_a_package(limits: Limits) -> None:
    r = inspect(SAMPLE, trust=TRUST, limits=limits)
    assert r.package is not None
    refused = {
        n.kind.value
        for n in r.package.root.walk()
        if any(f.code == "limit-exceeded" for f in n.findings)
    }
    assert {"mum", "manifest", "unattend"} <= refused
    assert r.outcome.outcome is Outcome.ERROR


# --- catalog members ----------------------------------------------------------------------


def test_catalog_member_cap_is_configurable() -> None:
    data = CATALOG.read_bytes()
    n = len(parse_catalog(data).members)
    assert n >= 2
    cat = parse_catalog(data, limits=Limits(max_catalog_members=1))
    assert len(cat.members) == 1
    (f,) = [f for f in cat.findings if f.code == "catalog-member-limit"]
    assert f.evidence["limit"] == 1 and "--max-catalog-members" in f.message
    r = inspect(SAMPLE, trust=TRUST, limits=Limits(max_catalog_members=1))
    assert r.package is not None
    codes = {f.code for n in r.package.root.walk() if n.kind.value == "catalog" for f in n.findings}
    assert "catalog-member-limit" in codes


# --- command line -------------------------------------------------------------------------


def _cli(*args: str) -> tuple[int, dict[str, object], str]:
    res = CliRunner().invoke(
        main, ["inspect", "--json", "--trust-root", str(ROOT), *args], catch_exceptions=False
    )
    doc = json.loads(res.stdout) if res.stdout.strip().startswith("{") else {}
    return res.exit_code, doc, res.stderr


def _json_codes(doc: dict[str, object]) -> set[str]:
    text = json.dumps(doc)
    return {
        code
        for code in (
            "certificates-capped",
            "signatures-capped",
            "pe-certificate-table-too-large",
            "catalog-member-limit",
            "limit-exceeded",
        )
        if f'"{code}"' in text
    }


def test_cli_defaults_report_no_cap() -> None:
    code, doc, _err = _cli(str(DUAL_PE), str(CATALOG))
    assert code == 0 and not _json_codes(doc)


@pytest.mark.parametrize(
    ("args", "path", "expected"),
    [
        (["--max-certificates", "1"], CATALOG, "certificates-capped"),
        (["--max-signatures", "1"], DUAL_PE, "signatures-capped"),
        (["--max-pe-certificate-table", "64"], SIGNED_PE, "pe-certificate-table-too-large"),
        (["--max-catalog-members", "1"], CATALOG, "catalog-member-limit"),
        (["--max-xml-depth", "2"], SAMPLE, "limit-exceeded"),
        (["--max-xml-size", "100"], SAMPLE, "limit-exceeded"),
        (["--max-pkcs7-size", "1K"], CATALOG, "limit-exceeded"),
    ],
)
def test_cli_options_reach_the_parsers(args: list[str], path: Path, expected: str) -> None:
    _code, doc, _err = _cli(*args, str(path))
    assert expected in _json_codes(doc)


def test_cli_asn1_depth(tmp_path: Path) -> None:
    ber = tmp_path / "ber.cat"
    ber.write_bytes(ber_wrap(CATALOG.read_bytes()))
    code, doc, _err = _cli(str(ber))
    assert code == 0 and "pkcs7-not-der" in json.dumps(doc)
    code, doc, _err = _cli("--signatures-only", "--max-asn1-depth", "2", str(ber))
    assert code == 3 and "nested too deep" in json.dumps(doc)


def test_cli_asn1_depth_in_the_package_walk(tmp_path: Path) -> None:
    """The full inspect path (not only --signatures-only) keeps the finding of a PKCS#7 file
    whose SignedData cannot be parsed: a problem, not "unsigned, ok"; one cut short is an
    error, like any truncated file."""
    ber = tmp_path / "ber.cat"
    ber.write_bytes(ber_wrap(CATALOG.read_bytes()))
    code, doc, _err = _cli("--max-asn1-depth", "2", str(ber))
    assert code == 3 and "nested too deep" in json.dumps(doc)
    cut = tmp_path / "cut.cat"
    cut.write_bytes(CATALOG.read_bytes()[:2000])  # a truncated catalog, default limits
    code, doc, _err = _cli(str(cut))  # could not be read completely: an error (exit 1)
    assert code == 1 and doc["files"][0]["outcome"] == "error"
    assert doc["files"][0]["reasons"][0].startswith("truncated:")


@pytest.mark.parametrize(
    "args", [["--max-xml-depth", "300"], ["--max-asn1-depth", "1000"], ["--max-signatures", "0"]]
)
def test_cli_refuses_unsafe_values(args: list[str]) -> None:
    res = CliRunner().invoke(main, ["inspect", *args, str(CATALOG)])
    assert res.exit_code == 2
