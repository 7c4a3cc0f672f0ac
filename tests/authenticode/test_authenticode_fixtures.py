"""Authenticode behaviour on the project's own signed fixtures (test PKI, osslsigncode):
digest coverage byte by byte, dual signatures both ways, timestamps, weak algorithms,
untrusted and expired signers, trailing data."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msuinspect.authenticode.algorithms import Strength
from msuinspect.authenticode.cab_digest import cab_hash_plan
from msuinspect.authenticode.inspect import FileKind, FileReport, Signing, inspect_file
from msuinspect.authenticode.pe import parse_pe
from msuinspect.authenticode.trust import TrustStore, load_certificates
from msuinspect.cab import Cabinet
from msuinspect.source import FileSource

from support.corpus import FIXTURES

PKI = FIXTURES / "pki"


@pytest.fixture(scope="module")
def trust() -> TrustStore:
    return TrustStore.default(
        load_certificates(PKI / "root_ca.pem") + load_certificates(PKI / "tsa_root.pem")
    )


def _inspect(rel: str, trust: TrustStore) -> FileReport:
    return inspect_file(FIXTURES / rel, trust)


def _codes(r: FileReport) -> set[str]:
    return {f.code for f in r.findings} | {f.code for s in r.signatures for f in s.findings}


@pytest.mark.parametrize(
    ("rel", "algorithms", "signing"),
    [
        ("cab/signed_sha1.cab", ["sha1"], Signing.SHA1_ONLY),
        ("cab/signed_sha256.cab", ["sha256"], Signing.SHA2_ONLY),
        ("cab/signed_sha256_ecdsa.cab", ["sha256"], Signing.SHA2_ONLY),
        ("cab/signed_dual_sha1_then_sha256.cab", ["sha1", "sha256"], Signing.DUAL_SHA1_PRIMARY),
        ("cab/signed_dual_sha256_then_sha1.cab", ["sha256", "sha1"], Signing.DUAL_SHA2_PRIMARY),
        ("pe/signed_sha1.exe", ["sha1"], Signing.SHA1_ONLY),
        ("pe/signed_sha256.exe", ["sha256"], Signing.SHA2_ONLY),
        ("pe/signed_dual.exe", ["sha1", "sha256"], Signing.DUAL_SHA1_PRIMARY),
        ("cat/test_v1.cat", ["sha256"], Signing.SHA2_ONLY),
    ],
)
def test_valid_signatures(
    rel: str, algorithms: list[str], signing: Signing, trust: TrustStore
) -> None:
    r = _inspect(rel, trust)
    assert r.error is None
    assert [s.digest_algorithm for s in r.signatures] == algorithms
    assert [s.nested for s in r.signatures] == [False] + [True] * (len(algorithms) - 1)
    assert all(s.digest_valid and s.signature_valid and s.trusted for s in r.signatures)
    assert all(
        s.trust_anchor and s.trust_anchor.common_name == "msuinspect TEST Root CA"
        for s in r.signatures
    )
    assert r.signing is signing
    assert r.sha256 and len(r.sha256) == 64


def test_kinds(trust: TrustStore) -> None:
    assert _inspect("sample/Windows6.0-KB9999901-x64.msu", trust).kind is FileKind.MSU
    assert _inspect("cab/signed_sha1.cab", trust).kind is FileKind.CAB
    assert _inspect("pe/signed_sha1.exe", trust).kind is FileKind.PE
    assert _inspect("cat/test_v1.cat", trust).kind is FileKind.CATALOG
    unsigned = _inspect("cat/test_v1_unsigned.cat", trust)
    assert unsigned.kind is FileKind.CATALOG and unsigned.signing is Signing.UNSIGNED


@pytest.mark.parametrize("rel", ["cab/tampered_signed_sha256.cab", "pe/tampered_sha256.exe"])
def test_tampered_files(rel: str, trust: TrustStore) -> None:
    r = _inspect(rel, trust)
    (sig,) = r.signatures
    assert sig.digest_valid is False
    assert sig.signature_valid is True  # the signature itself is intact
    assert not sig.trusted
    assert "digest-mismatch" in _codes(r)


def test_md5_is_weak_not_rejected(trust: TrustStore) -> None:
    r = _inspect("cab/signed_md5.cab", trust)
    (sig,) = r.signatures
    assert sig.strength is Strength.WEAK and sig.digest_valid and sig.trusted
    assert "weak-digest" in _codes(r)
    assert r.signing is Signing.WEAK


def test_sha1_chain_is_reported(trust: TrustStore) -> None:
    r = _inspect("cab/signed_sha1chain.cab", trust)
    (sig,) = r.signatures
    assert sig.trusted and sig.chain is not None and sig.chain.weak_hashes == ("sha1",)
    assert "weak-digest" in _codes(r)


@pytest.mark.parametrize("rel", ["cab/signed_sha256_rfc3161.cab", "pe/signed_sha256_rfc3161.exe"])
def test_rfc3161_timestamp(rel: str, trust: TrustStore) -> None:
    r = _inspect(rel, trust)
    (sig,) = r.signatures
    ts = sig.timestamp
    assert ts is not None and ts.kind == "rfc3161" and ts.valid
    assert sig.validated_at_timestamp and sig.validated_at == ts.time


def test_expired_signer(trust: TrustStore) -> None:
    no_ts = _inspect("cab/signed_expired_no_ts.cab", trust)
    assert not no_ts.signatures[0].trusted
    assert "expired-no-timestamp" in _codes(no_ts)
    with_ts = _inspect("cab/signed_expired_ts.cab", trust)
    assert with_ts.signatures[0].trusted  # validated at the timestamp time, inside validity
    assert "expired-no-timestamp" not in _codes(with_ts)
    # --as-of inside the leaf's validity makes the untimestamped one valid too
    then = inspect_file(
        FIXTURES / "cab/signed_expired_no_ts.cab",
        trust,
        as_of=dt.datetime(2015, 6, 1, tzinfo=dt.UTC),
    )
    assert then.signatures[0].trusted


def test_untrusted_and_wrong_usage(trust: TrustStore) -> None:
    assert "untrusted-root" in _codes(_inspect("cab/signed_selfsigned.cab", trust))
    assert "no-code-signing-usage" in _codes(_inspect("cab/signed_no_codesign_eku.cab", trust))
    # without the test root, the test PKI is not trusted
    bare = inspect_file(FIXTURES / "cab/signed_sha256.cab", TrustStore.default())
    assert "untrusted-root" in _codes(bare) and not bare.signatures[0].trusted


def test_trailing_data_after_cab_signature(trust: TrustStore) -> None:
    r = _inspect("cab/trailing_after_sig.cab", trust)
    assert "signature-trailing-data" in _codes(r)
    assert r.signatures[0].digest_valid  # the appended bytes are not covered


def test_pe_data_after_certificate_table(trust: TrustStore) -> None:
    r = _inspect("pe/padding_after_certtable.exe", trust)
    codes = _codes(r)
    assert "pe-data-after-certificate-table" in codes
    assert r.error is None


# ---------------------------------------------------------------- byte-level coverage


def _flip(data: bytes, pos: int) -> bytes:
    b = bytearray(data)
    b[pos] ^= 0x5A
    return bytes(b)


def _signed_positions_cab(path: Path) -> tuple[list[int], list[int]]:
    cab = Cabinet.open(path)
    plan = cab_hash_plan(cab.layout)
    sig = cab.signature
    assert sig is not None
    covered = [p for a, b in plan.ranges for p in range(a, b)]
    excluded = [p for p in range(sig.offset) if not plan.covers(p)]
    return covered, excluded


CAB = FIXTURES / "cab/signed_dual_sha1_then_sha256.cab"
_CAB_COVERED, _CAB_EXCLUDED = _signed_positions_cab(CAB)


@given(pos=st.sampled_from(_CAB_COVERED))
@settings(max_examples=40, deadline=None, derandomize=True, database=None)
def test_any_covered_cab_byte_breaks_both_digests(
    pos: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("t") / "x.cab"
    path.write_bytes(_flip(CAB.read_bytes(), pos))
    r = inspect_file(path, TrustStore.default(load_certificates(PKI / "root_ca.pem")))
    # whatever the flip broke, no signature may still be reported with a valid digest
    assert not any(s.digest_valid for s in r.signatures), pos
    if r.error is None and r.kind is FileKind.CAB:
        # the structure survived: every signature must see the change
        assert r.signatures and all(s.digest_valid is False for s in r.signatures), pos
    else:
        assert not r.trusted, pos  # the structure broke (or the MSCF magic): detected


@pytest.mark.parametrize("pos", [p for p in _CAB_EXCLUDED if not 44 <= p < 52])
def test_excluded_cab_bytes_do_not_change_the_digest(pos: int, tmp_path: Path) -> None:
    """reserved1, iCabinet and the reserve fields other than 56-59 are outside the signed
    range ([MS-CAB] signing, osslsigncode): changing them keeps the digest. (The signature
    offset/size at 44..51 locate the blob, so changing them moves the signature: left out.)"""
    path = tmp_path / "x.cab"
    path.write_bytes(_flip(CAB.read_bytes(), pos))
    r = inspect_file(path, TrustStore.default(load_certificates(PKI / "root_ca.pem")))
    assert all(s.digest_valid for s in r.signatures)


PE = FIXTURES / "pe/signed_dual.exe"


def _pe_positions() -> tuple[list[int], list[int]]:
    lay = parse_pe(FileSource(PE))
    plan = lay.hash_plan()
    covered = [p for a, b in plan.ranges for p in range(a, b)]
    excluded = [lay.checksum_offset + i for i in range(4)]
    return covered, excluded


_PE_COVERED, _PE_EXCLUDED = _pe_positions()


@given(pos=st.sampled_from(_PE_COVERED))
@settings(max_examples=40, deadline=None, derandomize=True, database=None)
def test_any_covered_pe_byte_breaks_both_digests(
    pos: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("t") / "x.exe"
    path.write_bytes(_flip(PE.read_bytes(), pos))
    r = inspect_file(path, TrustStore.default(load_certificates(PKI / "root_ca.pem")))
    assert not any(s.digest_valid for s in r.signatures), pos
    if r.error is None and r.signatures:
        assert all(s.digest_valid is False for s in r.signatures), pos
    else:
        assert not r.trusted, pos  # the headers or the certificate table pointer broke


@pytest.mark.parametrize("pos", _PE_EXCLUDED)
def test_pe_checksum_is_not_covered(pos: int, tmp_path: Path) -> None:
    path = tmp_path / "x.exe"
    path.write_bytes(_flip(PE.read_bytes(), pos))
    r = inspect_file(path, TrustStore.default(load_certificates(PKI / "root_ca.pem")))
    assert r.signatures and all(s.digest_valid for s in r.signatures)


def test_chain_results_are_reused_for_the_same_question() -> None:
    store = TrustStore.default(load_certificates(FIXTURES / "pki/root_ca.pem"))
    pki = FIXTURES / "pki"
    (leaf,) = load_certificates(pki / "leaf_codesign.pem")
    chain = load_certificates(pki / "leaf_codesign_chain.pem")
    moment = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    first = store.validate(leaf, chain, moment, "code_signing")
    assert first.trusted
    assert store.validate(leaf, list(reversed(chain)), moment, "code_signing") is first
    later = store.validate(leaf, chain, moment + dt.timedelta(days=1), "code_signing")
    assert later is not first and later.trusted
    assert not store.validate(leaf, chain, moment, "time_stamping").trusted
