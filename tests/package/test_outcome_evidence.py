"""Outcomes that follow the evidence (audit of 2026-12-02): a file one signature of which
is trusted is not "untrusted"; a certificate file is not a damaged signature; an MSU's own
members are not contradicted by their names; a part of a package alone is never ``ok``;
the unhashed iCabinet field is reported; a read error is printed once.

Each case is a fixture of the project's own generator, a copy the test changes itself, or
a real corpus file."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path

import pytest

from msuinspect import Outcome, Report, inspect, trust_store
from msuinspect.cab import Cabinet
from msuinspect.findings import Finding, Severity
from msuinspect.source import FileSource

from support.cli import invoke
from support.corpus import FIXTURES
from support.tools import run_tool

PKI = FIXTURES / "pki"
TRUST = trust_store([PKI / "root_ca.pem", PKI / "tsa_root.pem"])
SAMPLE = FIXTURES / "sample/Windows6.0-KB9999901-x64.msu"
AS_OF = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
CHAIN_CODES = {"untrusted-root", "expired-no-timestamp", "no-code-signing-usage", "chain-invalid"}


def _findings(r: Report) -> list[Finding]:
    assert r.package is not None
    return r.package.all_findings()


def _nest(src: Path, out: Path, key: str, certs: str) -> Path:
    """``src`` with one more nested SHA-256 signature by ``key`` (osslsigncode ``-nest``)."""
    proc = run_tool(
        "osslsigncode", "sign", "-nest", "-h", "sha256",
        "-certs", PKI / certs, "-key", PKI / key, "-in", src, "-out", out,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr.decode()
    return out


def test_an_added_untrusted_nested_signature_is_a_warning_not_untrusted(tmp_path: Path) -> None:
    src = FIXTURES / "cab/signed_sha256.cab"
    alone = inspect(src, trust=TRUST)
    assert alone.outcome.outcome is Outcome.OK
    added = _nest(
        src, tmp_path / "nested.cab", "selfsigned_untrusted.key", "selfsigned_untrusted_chain.pem"
    )
    r = inspect(added, trust=TRUST)
    assert r.file is not None
    assert [s.trusted for s in r.file.signatures] == [True, False]
    assert r.file.partly_trusted and not r.file.trusted
    assert r.outcome.outcome is Outcome.WARNING
    assert not any(reason.startswith("untrusted:") for reason in r.outcome.reasons)
    chain = [f for f in _findings(r) if f.code in CHAIN_CODES]
    assert chain and all(f.severity is Severity.WARNING for f in chain)
    assert all("the primary signature #0 is trusted" in f.message for f in chain)
    assert all("anyone can add" in f.message for f in chain)


def test_an_untrusted_primary_beside_a_trusted_nested_signature_stays_a_problem(
    tmp_path: Path,
) -> None:
    """Windows checks the primary signature (a host without SHA-2 support reads nothing
    else): a trusted nested one does not excuse it. The reason says which is which."""
    src = FIXTURES / "cab/signed_selfsigned.cab"
    alone = inspect(src, trust=TRUST)
    assert alone.outcome.outcome is Outcome.PROBLEM
    assert alone.outcome.reasons[0].startswith("untrusted: no signature of the file verifies")
    added = _nest(src, tmp_path / "nested.cab", "leaf_codesign.key", "leaf_codesign_chain.pem")
    r = inspect(added, trust=TRUST)
    assert r.file is not None and [s.trusted for s in r.file.signatures] == [False, True]
    assert r.outcome.outcome is Outcome.PROBLEM
    assert r.outcome.reasons[0].startswith(
        "untrusted: the primary signature #0 does not verify to a trusted root (signature #1"
    )
    (chain,) = [f for f in _findings(r) if f.code == "untrusted-root"]
    assert chain.severity is Severity.ERROR


def test_a_nested_signature_whose_digest_fails_stays_an_error(tmp_path: Path) -> None:
    """Only a whole signature is excused: a trusted SHA-1 primary beside a SHA-256 nested
    signature that no longer matches is what a collision on SHA-1 would look like."""
    src = FIXTURES / "cab/signed_dual_sha1_then_sha256.cab"
    data = bytearray(src.read_bytes())
    r0 = inspect(bytes(data), trust=TRUST, name="dual.cab")
    assert r0.file is not None and r0.outcome.outcome is Outcome.OK
    nested = r0.file.signatures[1]
    assert nested.signed_digest is not None
    signed = bytes.fromhex(nested.signed_digest)
    at = bytes(data).index(signed)
    data[at] ^= 0xFF  # the nested signature's signed digest: that signature alone breaks
    r = inspect(bytes(data), trust=TRUST, name="dual.cab")
    assert r.file is not None and r.file.signatures[0].trusted
    assert not r.file.signatures[1].trusted
    assert r.outcome.outcome is Outcome.PROBLEM


def test_a_certificate_file_is_not_an_unparseable_signature() -> None:
    pem = (PKI / "root_ca.pem").read_text()
    body = pem.split("-----BEGIN CERTIFICATE-----")[1].split("-----END CERTIFICATE-----")[0]
    r = inspect(base64.b64decode(body), trust=TRUST, name="root.cer")
    assert r.outcome.outcome is Outcome.PROBLEM
    assert r.outcome.reasons[0].startswith("not-a-package:")
    assert "unparsed-signature" not in {f.code for f in _findings(r)}
    # a ContentInfo cut short is still read as the signed file it starts as: truncated
    cut = inspect(bytes.fromhex("3082100006092a864886f70d010702"), trust=TRUST, name="x.cat")
    assert cut.package is not None and cut.package.root.kind.value == "pkcs7"
    assert cut.outcome.outcome is Outcome.ERROR
    assert cut.outcome.reasons[0].startswith("truncated:")
    # one whose header cannot even be read is a damaged signature
    bad = inspect(bytes.fromhex("3003060102"), trust=TRUST, name="y.cat")
    assert bad.outcome.reasons[0].startswith("unparsed-signature:"), bad.outcome.reasons


def _member(cab: Path, suffix: str) -> tuple[str, bytes]:
    c = Cabinet.open(FileSource(cab))
    (m,) = [m for m in c.members if m.name.endswith(suffix)]
    return m.name, c.read_member(m)


@pytest.mark.parametrize("suffix", [".xml", "-pkgProperties.txt"])
def test_an_msus_own_member_named_after_its_package_is_no_conflict(
    tmp_path: Path, suffix: str
) -> None:
    name, data = _member(SAMPLE, suffix)
    assert name.startswith("Windows6.0-KB9999901-x64")
    f = tmp_path / name
    f.write_bytes(data)
    r = inspect(f, trust=TRUST)
    assert "name-content-conflict" not in {x.code for x in _findings(r)}
    # alone, nothing vouches for it: never "ok"
    assert r.outcome.outcome is Outcome.WARNING
    assert r.outcome.reasons[0].startswith("not-signed-alone:")
    # a package name on content that is no package is still a contradiction
    renamed = tmp_path / "Windows6.0-KB9999901-x64.cab"
    renamed.write_bytes((FIXTURES / "cab/signed_sha256.cab").read_bytes())
    conflict = inspect(renamed, trust=TRUST)
    assert "name-content-conflict" in {x.code for x in _findings(conflict)}


def test_a_manifest_alone_is_a_warning(tmp_path: Path) -> None:
    name, data = _member(SAMPLE, "-x64.cab")
    inner = tmp_path / name
    inner.write_bytes(data)
    mum_name, mum = _member(inner, "update.mum")
    f = tmp_path / mum_name
    f.write_bytes(mum)
    r = inspect(f, trust=TRUST)
    assert r.outcome.outcome is Outcome.WARNING
    assert r.outcome.reasons[0].startswith("not-signed-alone: the content is a package manifest")


def test_a_nonzero_icabinet_in_a_signed_single_cabinet_is_reported(tmp_path: Path) -> None:
    data = bytearray(SAMPLE.read_bytes())
    assert data[34:36] == b"\0\0" and not data[30] & 0x3  # no set: iCabinet 0
    data[34] = 1
    f = tmp_path / SAMPLE.name
    f.write_bytes(bytes(data))
    r = inspect(f, trust=TRUST)
    assert r.file is not None and all(s.digest_valid for s in r.file.signatures)  # unhashed
    (hit,) = [x for x in _findings(r) if x.code == "cab-icabinet-unhashed-nonzero"]
    assert hit.severity is Severity.WARNING and hit.offset == 34
    assert hit.evidence["value"] == 1
    assert r.outcome.outcome is Outcome.WARNING
    clean = inspect(SAMPLE, trust=TRUST)
    assert "cab-icabinet-unhashed-nonzero" not in {x.code for x in _findings(clean)}


def test_a_read_error_is_printed_once(tmp_path: Path) -> None:
    data = bytearray((FIXTURES / "cab/stored_2files.cab").read_bytes())
    data[26:28] = b"\0\0"  # cFolders = 0: the cabinet cannot be read
    f = tmp_path / "nofolders.cab"
    f.write_bytes(bytes(data))
    r = invoke("inspect", str(f))
    assert r.exit_code == 1
    lines = [x for x in r.stderr.splitlines() if x.startswith("msuinspect: error:")]
    assert len(lines) == 1 and "[cab-format]" in lines[0]


def test_real_driver_with_a_vendor_primary_and_microsoft_nested_is_a_problem(
    corpus: Path,
) -> None:
    f = corpus / "drivers/tidepool/amd64/ftdibus.sys"
    if not f.exists():
        pytest.skip(f"{f} is not in this corpus")
    r = inspect(f, as_of=AS_OF)
    assert r.file is not None and not r.file.signatures[0].trusted
    assert any(s.trusted for s in r.file.signatures[1:])
    assert r.outcome.outcome is Outcome.PROBLEM
    assert "the primary signature #0 does not verify" in r.outcome.reasons[0]


def test_real_certificates_are_not_damaged_signatures(corpus: Path) -> None:
    certs = sorted((corpus / "cert").rglob("*.cer"))
    if not certs:
        pytest.skip("no .cer files in this corpus")
    for c in certs:
        r = inspect(c, trust=TRUST)
        assert r.outcome.reasons and r.outcome.reasons[0].startswith("not-a-package:"), c
    out = invoke("inspect", "--json", "--fail-on", "never", str(certs[0]))
    (doc,) = json.loads(out.stdout)["files"]
    assert doc["outcome"] == "problem"


@pytest.mark.parametrize(
    ("src", "cut"),
    [
        (SAMPLE, 200),  # an MSU cut inside its signature area
        (FIXTURES / "pe/signed_sha256.exe", 100),  # a PE cut inside its certificate table
        (FIXTURES / "cat/test_v1.cat", None),  # a catalog cut in half
    ],
)
def test_a_file_cut_inside_its_signature_is_an_error_not_unsigned(
    tmp_path: Path, src: Path, cut: int | None
) -> None:
    data = src.read_bytes()
    f = tmp_path / src.name
    f.write_bytes(data[: len(data) // 2] if cut is None else data[:-cut])
    r = inspect(f, trust=TRUST)
    assert r.outcome.outcome is Outcome.ERROR, r.outcome.reasons
    assert not any(x.startswith("unsigned:") for x in r.outcome.reasons)
    assert invoke("inspect", "--fail-on", "error", str(f)).exit_code == 1


def test_plan_counts_a_truncated_package_as_unreadable(tmp_path: Path) -> None:
    data = SAMPLE.read_bytes()
    (tmp_path / SAMPLE.name).write_bytes(data[:-200])
    r = invoke(
        "plan", str(tmp_path), "--host", "preset:2008sp2-rtm-x64",
        "--trust-root", str(PKI / "root_ca.pem"),
    )  # fmt: skip
    assert r.exit_code == 1
    assert "unreadable:" in r.stdout and "cab-signature-outside-file" in r.stdout
