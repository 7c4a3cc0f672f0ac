"""Minimal DER tag-length reading, for the few places that need raw bytes (digests are
computed over exact encodings, which parsers normalise away)."""

from __future__ import annotations

from msuinspect.errors import FormatError


class DerError(FormatError):
    code = "unparsed-signature"


def header(data: bytes | memoryview, offset: int = 0) -> tuple[int, int, int]:
    """(tag byte, header length, content length) of the TLV at ``offset``.

    Only definite lengths (DER) are accepted; multi-byte tags are not used by the
    structures read here.
    """
    if len(data) - offset < 2:
        raise DerError("DER value truncated", offset=offset)
    tag = data[offset]
    if tag & 0x1F == 0x1F:
        raise DerError("multi-byte DER tags are not supported", offset=offset)
    first = data[offset + 1]
    if first < 0x80:
        return tag, 2, first
    n = first & 0x7F
    if n == 0:
        raise DerError("indefinite length is not DER", offset=offset)
    if n > 4 or len(data) - offset < 2 + n:
        raise DerError("DER length field too long or truncated", offset=offset)
    length = int.from_bytes(bytes(data[offset + 2 : offset + 2 + n]), "big")
    return tag, 2 + n, length


def total_length(data: bytes | memoryview, offset: int = 0) -> int:
    """Length of the whole TLV at ``offset`` (header + contents)."""
    _tag, hlen, clen = header(data, offset)
    return hlen + clen


def contents(tlv: bytes) -> bytes:
    """The contents octets of one TLV (the value without tag and length)."""
    _tag, hlen, clen = header(tlv)
    if hlen + clen > len(tlv):
        raise DerError("DER value truncated")
    return tlv[hlen : hlen + clen]
