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
from support.der import with_nested

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


def test_nested_signatures_per_file_are_capped() -> None:
    base = CATALOG.read_bytes()
    base = base[: der.total_length(base)]
    wide = with_nested(base, [base] * (MAX_SIGNATURES + 36))  # 100 side by side
    assert len(collect(parse_signed_data(wide))) == MAX_SIGNATURES
    deep = base
    for _ in range(MAX_SIGNATURES + 36):  # 100 levels, each nesting the previous
        deep = with_nested(base, [deep])
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
