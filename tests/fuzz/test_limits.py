"""The fixed limits of the ASN.1/CMS layer hold on inputs built here from the project's own
fixtures (docs/security.md, "Limits owned by other layers"): certificates read per
SignedData, signatures collected per file (primary and nested), nesting of BER indefinite
lengths, and deep definite-length nesting -- each refused or capped with a typed error or a
report, never an exception, through the same entry points the fuzz targets use."""

from __future__ import annotations

import pytest
from asn1crypto import cms

from msuinspect.authenticode.signature import MAX_SIGNATURES, collect
from msuinspect.cms import der
from msuinspect.cms.der import MAX_BER_DEPTH, DerError
from msuinspect.cms.signed_data import MAX_CERTIFICATES, parse_signed_data

from .targets import FIXTURES, TARGETS

CATALOG = FIXTURES / "cat" / "test_v2.cat"


def _every_target_survives(data: bytes) -> None:
    for name in ("authenticode", "catalog", "inspect"):
        TARGETS[name].one(data)  # only MsuInspectError may escape, and is let by


def test_certificates_per_signed_data_are_capped() -> None:
    ci = cms.ContentInfo.load(CATALOG.read_bytes())
    certs = list(ci["content"]["certificates"])
    ci["content"]["certificates"] = cms.CertificateSet(certs * (MAX_CERTIFICATES // 2 + 50))
    blob = ci.dump(force=True)
    view = parse_signed_data(blob)
    assert len(view.certificates) + len(view.unparsed_certificates) == MAX_CERTIFICATES
    _every_target_survives(blob)


def _tlv(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        return bytes((tag, n)) + body
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(size))) + size + body


def _with_nested(outer: bytes, nested: list[bytes]) -> bytes:
    """``outer`` (a SignedData whose first SignerInfo has no unsigned attributes) with
    ``nested`` as nested signatures of that SignerInfo; built byte by byte (asn1crypto's own
    encoder recurses too deep for a long chain)."""
    ci = der.read_tlv(outer, 0, len(outer))
    _oid, wrapper = der.children(outer, ci)
    (sd,) = der.children(outer, wrapper)
    sis = list(der.children(outer, sd))[-1]
    si = next(der.children(outer, sis))
    oid = _tlv(0x06, bytes.fromhex("2b060104018237020401"))
    attrs = _tlv(0xA1, _tlv(0x30, oid + _tlv(0x31, b"".join(nested))))
    new_si = _tlv(0x30, outer[si.body : si.end] + attrs)
    new_sis = _tlv(0x31, outer[sis.body : si.start] + new_si + outer[si.end : sis.end])
    new_sd = _tlv(0x30, outer[sd.body : sis.start] + new_sis + outer[sis.end : sd.end])
    return _tlv(0x30, outer[ci.body : wrapper.start] + _tlv(0xA0, new_sd))


def test_nested_signatures_per_file_are_capped() -> None:
    base = CATALOG.read_bytes()
    base = base[: der.total_length(base)]
    wide = _with_nested(base, [base] * (MAX_SIGNATURES + 36))  # 100 side by side
    assert len(collect(parse_signed_data(wide))) == MAX_SIGNATURES
    deep = base
    for _ in range(MAX_SIGNATURES + 36):  # 100 levels, each nesting the previous
        deep = _with_nested(base, [deep])
    found = collect(parse_signed_data(deep))
    assert len(found) == MAX_SIGNATURES
    assert [p.parent for p in found] == [None, *range(MAX_SIGNATURES - 1)]  # a chain, cut
    _every_target_survives(wide)
    _every_target_survives(deep)


@pytest.mark.parametrize("depth", [MAX_BER_DEPTH, MAX_BER_DEPTH + 2, 10_000])
def test_indefinite_length_nesting_is_bounded(depth: int) -> None:
    blob = b"\x30\x80" * depth + b"\x00\x00" * depth
    if depth <= MAX_BER_DEPTH:
        assert der.ber_extent(blob) == (len(blob), False)
    else:
        with pytest.raises(DerError, match="nested too deep"):
            der.ber_extent(blob)
    with pytest.raises(DerError):
        parse_signed_data(blob)
    _every_target_survives(blob)


def test_deep_definite_length_nesting_is_an_error_not_a_recursion() -> None:
    inner = b"\x05\x00"
    for _ in range(20_000):
        inner = b"\x30\x84" + len(inner).to_bytes(4, "big") + inner
    with pytest.raises(DerError):
        parse_signed_data(inner)
    _every_target_survives(inner)
