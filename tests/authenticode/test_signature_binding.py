"""A signature counts for a file only when it is bound to the file's bytes (signature audit
of 2026-12-02): an embedded signature must carry SpcIndirectDataContent with the file's
digest, signed attributes must carry messageDigest, a digest that cannot be computed does
not vouch, and a trust anchor's end date counts when there is no timestamp."""

from __future__ import annotations

import datetime as dt
import struct
from pathlib import Path

import pytest
from asn1crypto import cms
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from msuinspect import Outcome, inspect, trust_store
from msuinspect.authenticode.algorithms import new_hash
from msuinspect.authenticode.timestamps import TimestampResult

from support.corpus import FIXTURES
from support.tools import run_tool

PKI = FIXTURES / "pki"
TRUST = trust_store([PKI / "root_ca.pem", PKI / "tsa_root.pem"])
AS_OF = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
UNSIGNED_PE = FIXTURES / "pe/unsigned64.exe"
SIGNED_PE = FIXTURES / "pe/signed_sha256.exe"


def _security_dir(pe: bytes) -> int:
    """Offset of the certificate-table entry of the data directory."""
    at = struct.unpack_from("<I", pe, 0x3C)[0] + 24
    magic = struct.unpack_from("<H", pe, at)[0]
    return at + (112 if magic == 0x20B else 96) + 4 * 8


def _with_certificate(pe: bytes, blob: bytes) -> bytes:
    """``pe`` (unsigned) with one WIN_CERTIFICATE (revision 2.0, PKCS#7) holding ``blob``."""
    out = bytearray(pe)
    while len(out) % 8:
        out.append(0)
    entry = struct.pack("<IHH", 8 + len(blob), 0x0200, 0x0002) + blob
    entry += b"\0" * (-len(entry) % 8)
    struct.pack_into("<II", out, _security_dir(out), len(out), len(entry))
    return bytes(out) + entry


def _certificate_blob(pe: bytes) -> bytes:
    start, _size = struct.unpack_from("<II", pe, _security_dir(pe))
    length = struct.unpack_from("<I", pe, start)[0]
    return pe[start + 8 : start + length]


def test_a_catalog_pasted_as_a_pe_signature_does_not_sign_it() -> None:
    """A trusted catalog's SignedData (its content is a CTL, not SpcIndirectDataContent)
    in a PE's certificate table: a valid, trusted signature over something else."""
    catalog = (FIXTURES / "cat/test_v1.cat").read_bytes()
    assert inspect(catalog, trust=TRUST, name="c.cat").outcome.outcome is Outcome.OK
    forged = _with_certificate(UNSIGNED_PE.read_bytes(), catalog)
    r = inspect(forged, trust=TRUST, name="forged.exe")
    assert r.file is not None
    (sig,) = r.file.signatures
    assert sig.digest_valid is False and not sig.trusted
    assert r.outcome.outcome is Outcome.PROBLEM
    messages = [f.message for f in sig.findings if f.code == "digest-mismatch"]
    assert messages and "not SpcIndirectDataContent" in messages[0]


def test_signed_attributes_without_message_digest_bind_nothing() -> None:
    """RFC 5652 5.3: with signed attributes, messageDigest must be there. Re-signed by the
    same (trusted) key over {contentType} only, the signature would hold for any file."""
    pe = SIGNED_PE.read_bytes()
    info = cms.ContentInfo.load(_certificate_blob(pe))
    sd = info["content"]
    si = sd["signer_infos"][0]
    attrs = cms.CMSAttributes([a for a in si["signed_attrs"] if a["type"].native == "content_type"])
    key = serialization.load_pem_private_key((PKI / "leaf_codesign.key").read_bytes(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    signature = key.sign(b"\x31" + attrs.dump()[1:], padding.PKCS1v15(), hashes.SHA256())
    new_si = cms.SignerInfo(
        {
            "version": si["version"].native,
            "sid": si["sid"],
            "digest_algorithm": si["digest_algorithm"],
            "signed_attrs": attrs,
            "signature_algorithm": si["signature_algorithm"],
            "signature": signature,
        }
    )
    new_sd = cms.SignedData(
        {
            "version": sd["version"].native,
            "digest_algorithms": sd["digest_algorithms"],
            "encap_content_info": sd["encap_content_info"],
            "certificates": sd["certificates"],
            "signer_infos": cms.SignerInfos([new_si]),
        }
    )
    blob = cms.ContentInfo({"content_type": "signed_data", "content": new_sd}).dump()
    start, _ = struct.unpack_from("<II", pe, _security_dir(pe))
    r = inspect(_with_certificate(pe[:start], blob), trust=TRUST, name="no-md.exe")
    assert r.file is not None
    (sig,) = r.file.signatures
    assert sig.message_digest_valid is False and not sig.trusted
    assert any("no messageDigest attribute" in f.message for f in sig.findings)


def _cert(
    subject: str,
    key: rsa.RSAPrivateKey,
    issuer: tuple[str, rsa.RSAPrivateKey] | None,
    start: dt.datetime,
    end: dt.datetime,
    ca: bool,
) -> cx509.Certificate:
    name = cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer_name = cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, (issuer or (subject,))[0])])
    builder = (
        cx509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(cx509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(cx509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            cx509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False
        )
    return builder.sign(issuer[1] if issuer else key, hashes.SHA256())


def test_an_expired_trust_anchor_counts_without_a_timestamp(tmp_path: Path) -> None:
    """domain.md 8.1: a root's end date is excused only for a signature validated at a
    timestamp made while it was valid. Root 2010-2020, leaf 2015-2030, no timestamp."""
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root = _cert("Expired Test Root", root_key, None, dt.datetime(2010, 1, 1),
                 dt.datetime(2020, 1, 1), ca=True)  # fmt: skip
    leaf = _cert("Test Signer", leaf_key, ("Expired Test Root", root_key),
                 dt.datetime(2015, 1, 1), dt.datetime(2030, 1, 1), ca=False)  # fmt: skip
    pem = serialization.Encoding.PEM
    (tmp_path / "root.pem").write_bytes(root.public_bytes(pem))
    (tmp_path / "chain.pem").write_bytes(leaf.public_bytes(pem) + root.public_bytes(pem))
    (tmp_path / "leaf.key").write_bytes(
        leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    out = tmp_path / "signed.exe"
    proc = run_tool(
        "osslsigncode", "sign", "-h", "sha256", "-certs", tmp_path / "chain.pem",
        "-key", tmp_path / "leaf.key", "-in", UNSIGNED_PE, "-out", out,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr.decode()
    trust = trust_store([tmp_path / "root.pem"])
    while_valid = inspect(out, trust=trust, as_of=dt.datetime(2019, 1, 1, tzinfo=dt.UTC))
    assert while_valid.file is not None and while_valid.file.signatures[0].trusted
    r = inspect(out, trust=trust, as_of=AS_OF)
    assert r.file is not None
    (sig,) = r.file.signatures
    assert not sig.trusted
    assert sig.chain is not None and sig.chain.error_kind == "expired"
    assert "trust anchor expired 2020-01-01" in (sig.chain.error or "")


def test_a_timestamp_token_without_a_tstinfo_is_not_valid() -> None:
    token = TimestampResult("rfc3161", AS_OF, "sha256", True, True, None, None, None)
    assert token.content_ok and token.chain is None and not token.valid  # no chain: invalid
    from msuinspect.authenticode.trust import ChainResult

    good = ChainResult(True, (), None, AS_OF, None, None, True)
    ok = TimestampResult("rfc3161", AS_OF, "sha256", True, True, None, good, None)
    assert ok.valid
    not_tst = TimestampResult(
        "rfc3161", AS_OF, "sha256", True, True, None, good, "not a TSTInfo", content_ok=False
    )
    assert not not_tst.valid


@pytest.mark.parametrize("name", ["shake_128", "shake_256", "shake128"])
def test_an_extendable_output_function_is_no_digest(name: str) -> None:
    """A signature naming SHAKE as its digest: a finding (ValueError), never a crash."""
    with pytest.raises(ValueError):
        new_hash(name)


def test_a_timestamp_after_the_time_asked_for_is_said() -> None:
    """A signature timestamped after --as-of did not exist then (second signature audit):
    a warning, while its chain is still checked at the timestamp's time."""
    src = FIXTURES / "cab/signed_sha256_rfc3161.cab"  # timestamped 2023-11-14
    before = inspect(src, trust=TRUST, as_of=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    assert before.file is not None and before.file.signatures[0].trusted
    codes = {f.code for f in before.file.signatures[0].findings}
    assert "timestamp-after-as-of" in codes
    assert before.outcome.outcome is Outcome.WARNING
    after = inspect(src, trust=TRUST, as_of=AS_OF)
    assert after.file is not None
    assert "timestamp-after-as-of" not in {f.code for f in after.file.signatures[0].findings}


def test_a_pe_whose_first_certificate_entry_is_not_pkcs7_has_no_signature() -> None:
    """Windows reads only the first WIN_CERTIFICATE: a PKCS#7 signature behind an X.509
    entry is not read (second signature audit)."""
    signed = SIGNED_PE.read_bytes()
    blob = _certificate_blob(signed)
    start, _ = struct.unpack_from("<II", signed, _security_dir(signed))
    pe = bytearray(signed[:start])
    cert_der = cx509.load_pem_x509_certificate((PKI / "leaf_codesign.pem").read_bytes())
    first = cert_der.public_bytes(serialization.Encoding.DER)
    table = b""
    for data, kind in ((first, 0x0001), (blob, 0x0002)):
        entry = struct.pack("<IHH", 8 + len(data), 0x0200, kind) + data
        table += entry + b"\0" * (-len(entry) % 8)
    struct.pack_into("<II", pe, _security_dir(bytes(pe)), len(pe), len(table))
    r = inspect(bytes(pe) + table, trust=TRUST, name="x509-first.exe")
    assert r.file is not None and r.file.signatures == []
    (hit,) = [f for f in r.file.findings if f.code == "pe-certificate-not-pkcs7"]
    assert hit.evidence["cert_type"] == 1
    assert r.outcome.outcome is Outcome.PROBLEM


def test_a_detached_signature_is_not_called_altered(corpus: Path) -> None:
    """A detached PKCS#7 signs a file that is not here: its digest cannot be checked, which
    is not 'the signed bytes were changed' (second signature audit)."""
    f = corpus / "other/signify_AppxSignature.p7x"
    if not f.exists():
        pytest.skip(f"{f} is not in this corpus")
    r = inspect(f, as_of=AS_OF)
    assert r.file is not None and r.file.signatures
    sig = r.file.signatures[0]
    assert sig.digest_valid is None
    assert "changed after signing" not in (sig.trust_reason or "")


def test_a_timestamp_authority_must_name_time_stamping() -> None:
    """A certificate without extended key usage may sign code, but not timestamps: else any
    signer could stamp its own signature with a time of its choice (RFC 3161 2.3)."""
    from msuinspect.authenticode.certs import describe
    from msuinspect.authenticode.trust import TrustStore, load_certificates

    (root,) = load_certificates(PKI / "root_ca.pem")
    info = describe(root)
    assert not info.eku
    assert TrustStore._usage([info], AS_OF, "code_signing").trusted
    stamp = TrustStore._usage([info], AS_OF, "time_stamping")
    assert not stamp.trusted and stamp.error_kind == "no-usage"
    assert "extended key usage: none" in (stamp.error or "")
