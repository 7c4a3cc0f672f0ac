"""The Authenticode blob of every signed cabinet is found from the 20-byte header reserve,
and the bytes there parse as DER (PKCS#7 SignedData)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from asn1crypto import cms

from msuinspect.cab import Cabinet

from support.corpus import FIXTURES, MANIFEST, CorpusEntry, corpus_params

_SIG = re.compile(r"Authenticode reserve: sig at (\d+) len (\d+)")

SIGNED_CORPUS = [e for e in MANIFEST if _SIG.search(e.observed)]
SIGNED_FIXTURES = sorted(
    p
    for p in [
        *FIXTURES.glob("cab/*.cab"),
        *FIXTURES.glob("sample/**/*.cab"),
        *FIXTURES.glob("sample/*.msu"),
    ]
    if "signed" in p.name or p.parent.name.startswith("KB") or p.suffix == ".msu"
)


def _check_blob(cab: Cabinet) -> None:
    sig = cab.signature
    assert sig is not None
    blob = cab.read_signature_blob()
    assert blob is not None and len(blob) == sig.size
    assert sig.der_length is not None and sig.der_length <= sig.size
    info = cms.ContentInfo.load(blob[: sig.der_length])
    assert info["content_type"].native == "signed_data"
    assert len(info.dump()) == sig.der_length
    assert blob[sig.der_length :].strip(b"\x00") == b""  # only zero padding


@pytest.mark.corpus
@pytest.mark.parametrize("entry", corpus_params(SIGNED_CORPUS))
def test_corpus_signature_location(entry: CorpusEntry) -> None:
    m = _SIG.search(entry.observed)
    assert m is not None
    cab = Cabinet.open(entry.path)
    assert cab.signature is not None
    assert (cab.signature.offset, cab.signature.size) == (int(m.group(1)), int(m.group(2)))
    assert cab.signature.bytes_after == 0
    _check_blob(cab)


@pytest.mark.parametrize("path", SIGNED_FIXTURES, ids=[p.name for p in SIGNED_FIXTURES])
def test_fixture_signature_location(path: Path) -> None:
    cab = Cabinet.open(path)
    assert cab.signature is not None
    _check_blob(cab)


def test_trailing_data_after_signature_is_reported() -> None:
    cab = Cabinet.open(FIXTURES / "cab" / "trailing_after_sig.cab")
    assert cab.signature is not None and cab.signature.bytes_after == 16
    codes = [f.code for f in cab.findings]
    assert "cab-data-after-signature" in codes


@pytest.mark.corpus
def test_unsigned_reserve_is_not_a_signature(corpus: Path) -> None:
    cab = Cabinet.open(corpus / "cab/update/WSUSSCAN_KB2687862-x64_package.cab")
    assert cab.signature is None
    assert cab.layout.header.cb_cf_header == 6144
    assert "cab-header-reserve" in [f.code for f in cab.findings]
