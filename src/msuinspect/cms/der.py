"""Minimal DER tag-length reading, for the few places that need raw bytes (digests are
computed over exact encodings, which parsers normalise away)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from msuinspect.errors import FormatError


class DerError(FormatError):
    code = "unparsed-signature"


def header(
    data: bytes | memoryview, offset: int = 0, limit: int | None = None
) -> tuple[int, int, int]:
    """(tag byte, header length, content length) of the TLV at ``offset``.

    Only definite lengths (DER) are accepted; multi-byte tags are not used by the
    structures read here.
    """
    end = len(data) if limit is None else min(limit, len(data))
    if end - offset < 2:
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
    if n > 4 or end - offset < 2 + n:
        raise DerError("DER length field too long or truncated", offset=offset)
    length = int.from_bytes(bytes(data[offset + 2 : offset + 2 + n]), "big")
    return tag, 2 + n, length


@dataclass(frozen=True, slots=True)
class Tlv:
    """Where one DER value sits in a buffer."""

    tag: int  #: the identifier octet
    start: int  #: offset of the identifier octet
    body: int  #: offset of the contents
    end: int  #: offset just past the contents


def read_tlv(buf: bytes | memoryview, pos: int, limit: int) -> Tlv:
    """The TLV at ``pos``, which must end at or before ``limit``."""
    limit = min(limit, len(buf))
    tag, hlen, clen = header(buf, pos, limit)
    end = pos + hlen + clen
    if end > limit:
        raise DerError("DER value runs past its container", offset=pos)
    return Tlv(tag, pos, pos + hlen, end)


def children(buf: bytes | memoryview, parent: Tlv) -> Iterator[Tlv]:
    """The TLVs inside a constructed ``parent``."""
    pos = parent.body
    while pos < parent.end:
        child = read_tlv(buf, pos, parent.end)
        yield child
        pos = child.end


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
