"""DER written by hand, for ASN.1 the tests build from nothing (catalogs, SignedData), and a
BER re-encoding of real signatures."""

from __future__ import annotations

from msuinspect.cms import der as cms_der

#: the PKCS#7 SignedData content type
SIGNED_DATA = "1.2.840.113549.1.7.2"
#: szOID_CTL, the content type of a catalog's CTL
CTL = "1.3.6.1.4.1.311.10.1"


def length(n: int) -> bytes:
    """A DER length: short form below 128, else long form."""
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def der(tag: int, body: bytes) -> bytes:
    """One TLV (single-byte tag)."""
    return bytes([tag]) + length(len(body)) + body


def oid(dotted: str) -> bytes:
    """An OBJECT IDENTIFIER TLV."""
    arcs = [int(a) for a in dotted.split(".")]
    out = bytearray()
    for a in [arcs[0] * 40 + arcs[1], *arcs[2:]]:
        enc = [a & 0x7F]
        a >>= 7
        while a:
            enc.append(0x80 | (a & 0x7F))
            a >>= 7
        out += bytes(reversed(enc))
    return der(0x06, bytes(out))


def signed_data(content: bytes, content_type: str = CTL) -> bytes:
    """An unsigned PKCS#7 SignedData (ContentInfo) around ``content`` (a whole TLV)."""
    eci = der(0x30, oid(content_type) + der(0xA0, content))
    sd = der(0x30, der(0x02, b"\x01") + der(0x31, b"") + eci + der(0x31, b""))
    return der(0x30, oid(SIGNED_DATA) + der(0xA0, sd))


def ber_wrap(blob: bytes) -> bytes:
    """The ContentInfo, its [0] and the SignedData of ``blob`` re-encoded with indefinite
    lengths (BER), the SignedData's contents unchanged."""
    ci = cms_der.read_tlv(blob, 0, len(blob))
    content_type = cms_der.read_tlv(blob, ci.body, ci.end)
    wrapper = cms_der.read_tlv(blob, content_type.end, ci.end)
    sd = cms_der.read_tlv(blob, wrapper.body, wrapper.end)
    return (
        b"\x30\x80"
        + blob[content_type.start : content_type.end]
        + b"\xa0\x80\x30\x80"
        + blob[sd.body : sd.end]
        + b"\x00\x00" * 3
    )


#: szOID_NESTED_SIGNATURE, the unsigned attribute that carries nested signatures
NESTED_SIGNATURE = "1.3.6.1.4.1.311.2.4.1"


def with_nested(outer: bytes, nested: list[bytes]) -> bytes:
    """``outer`` (a SignedData whose first SignerInfo has no unsigned attributes) with
    ``nested`` as nested signatures of that SignerInfo; built byte by byte (asn1crypto's own
    encoder recurses too deep for a long chain)."""
    ci = cms_der.read_tlv(outer, 0, len(outer))
    _oid, wrapper = cms_der.children(outer, ci)
    (sd,) = cms_der.children(outer, wrapper)
    sis = list(cms_der.children(outer, sd))[-1]
    si = next(cms_der.children(outer, sis))
    attrs = der(0xA1, der(0x30, oid(NESTED_SIGNATURE) + der(0x31, b"".join(nested))))
    new_si = der(0x30, outer[si.body : si.end] + attrs)
    new_sis = der(0x31, outer[sis.body : si.start] + new_si + outer[si.end : sis.end])
    new_sd = der(0x30, outer[sd.body : sis.start] + new_sis + outer[sis.end : sd.end])
    return der(0x30, outer[ci.body : wrapper.start] + der(0xA0, new_sd))
