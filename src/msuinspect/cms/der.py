"""Minimal DER tag-length reading, for the few places that need raw bytes (digests are
computed over exact encodings, which parsers normalise away)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import NamedTuple

from msuinspect.errors import FormatError
from msuinspect.limits import MAX_ASN1_DEPTH

SEQUENCE = 0x30
SET = 0x31
BOOLEAN = 0x01
INTEGER = 0x02
OCTET_STRING = 0x04
OID = 0x06
UTC_TIME = 0x17
GENERALIZED_TIME = 0x18
BMP_STRING = 0x1E
CTX0_CONSTRUCTED = 0xA0


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


class Tlv(NamedTuple):
    """Where one DER value sits in a buffer (a named tuple: a catalog has tens of thousands
    of them, and a tuple is built several times faster than a frozen dataclass)."""

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


def expect(tlv: Tlv, tag: int, what: str) -> Tlv:
    """``tlv`` itself when it carries ``tag``; otherwise :class:`DerError`."""
    if tlv.tag != tag:
        raise DerError(f"{what}: expected tag 0x{tag:02x}, found 0x{tlv.tag:02x}", offset=tlv.start)
    return tlv


_OID_CACHE: dict[bytes, str] = {}
_OID_CACHE_SIZE = 4096


def oid(buf: bytes, tlv: Tlv) -> str:
    """The dotted form of the OBJECT IDENTIFIER ``tlv`` (decoded forms of recent ones are
    cached: catalogs repeat a handful of OIDs per member)."""
    expect(tlv, OID, "object identifier")
    body = buf[tlv.body : tlv.end]
    cached = _OID_CACHE.get(body)
    if cached is not None:
        return cached
    if not body or len(body) > 128 or body[-1] & 0x80:
        raise DerError("malformed object identifier", offset=tlv.start)
    dotted = _decode_oid(body)
    if len(_OID_CACHE) < _OID_CACHE_SIZE:
        _OID_CACHE[body] = dotted
    return dotted


def _decode_oid(body: bytes) -> str:
    arcs: list[int] = []
    value = 0
    for b in body:
        value = (value << 7) | (b & 0x7F)
        if not b & 0x80:
            arcs.append(value)
            value = 0
    first = arcs[0]
    head = [0, first] if first < 40 else [1, first - 40] if first < 80 else [2, first - 80]
    return ".".join(str(a) for a in head + arcs[1:])


def integer(buf: bytes, tlv: Tlv, max_bytes: int = 32) -> int:
    """The INTEGER ``tlv``, at most ``max_bytes`` long."""
    expect(tlv, INTEGER, "integer")
    body = buf[tlv.body : tlv.end]
    if not body or len(body) > max_bytes:
        raise DerError("integer empty or too long", offset=tlv.start)
    return int.from_bytes(body, "big", signed=True)


_UTC_RE = re.compile(rb"(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?(Z|[+-]\d{4})")
_GEN_RE = re.compile(
    rb"(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})?(\d{2})?(?:[.,](\d{1,9}))?(Z|[+-]\d{4})?"
)


def time(buf: bytes, tlv: Tlv) -> datetime:
    """The UTCTime or GeneralizedTime ``tlv`` in UTC (tolerant: seconds, fractions and
    the zone may be missing or offset)."""
    body = bytes(buf[tlv.body : tlv.end])
    m = (_UTC_RE if tlv.tag == UTC_TIME else _GEN_RE).fullmatch(body)
    if m is None:
        raise DerError(f"malformed time {body[:40]!r}", offset=tlv.start)
    try:
        if tlv.tag == UTC_TIME:
            yy = int(m.group(1))
            year = 1900 + yy if yy >= 50 else 2000 + yy
            parts = [int(m.group(i) or 0) for i in range(2, 7)]
            frac, zone = b"", m.group(7)
        else:
            year = int(m.group(1))
            parts = [int(m.group(i) or 0) for i in range(2, 7)]
            frac, zone = m.group(7) or b"", m.group(8) or b"Z"
        tz = UTC
        if zone != b"Z":
            sign = -1 if zone[:1] == b"-" else 1
            offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5]))
            tz = timezone(sign * offset)
        micro = int((frac + b"000000")[:6]) if frac else 0
        month, day, hour, minute, second = parts
        value = datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)
        return value.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise DerError(f"invalid time {body[:40]!r}: {exc}", offset=tlv.start) from exc


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


#: nesting of indefinite lengths followed at most (hostile input); the default of
#: ``Limits.max_asn1_depth``
MAX_BER_DEPTH = MAX_ASN1_DEPTH


def ber_header(
    data: bytes | memoryview, offset: int = 0, limit: int | None = None
) -> tuple[int, int, int | None, bool]:
    """(tag byte, header length, content length or None when indefinite, whether the
    length is in DER form) of the BER TLV at ``offset``."""
    end = len(data) if limit is None else min(limit, len(data))
    if end - offset < 2:
        raise DerError("BER value truncated", offset=offset)
    tag = data[offset]
    if tag & 0x1F == 0x1F:
        raise DerError("multi-byte tags are not supported", offset=offset)
    first = data[offset + 1]
    if first < 0x80:
        return tag, 2, first, True
    n = first & 0x7F
    if n == 0:
        if not tag & 0x20:
            raise DerError("indefinite length on a primitive value", offset=offset)
        return tag, 2, None, False
    if n > 4 or end - offset < 2 + n:
        raise DerError("length field too long or truncated", offset=offset)
    raw = bytes(data[offset + 2 : offset + 2 + n])
    length = int.from_bytes(raw, "big")
    minimal = raw[0] != 0 and length >= 0x80
    return tag, 2 + n, length, minimal


def ber_extent(
    data: bytes | memoryview,
    offset: int = 0,
    limit: int | None = None,
    *,
    max_depth: int = MAX_BER_DEPTH,
) -> tuple[int, bool]:
    """(total length, whether every length read was in DER form) of the BER TLV at
    ``offset``; indefinite lengths are followed to their end-of-contents octets, at most
    ``max_depth`` of them nested (a loop, not recursion: the depth costs no stack)."""
    end = len(data) if limit is None else min(limit, len(data))
    _tag, hlen, clen, der_form = ber_header(data, offset, end)
    if clen is not None:
        if offset + hlen + clen > end:
            raise DerError("value runs past its container", offset=offset)
        return hlen + clen, der_form
    # offsets of the indefinite-length values still open, outermost first
    open_at = [offset]
    pos = offset + hlen
    while True:
        if end - pos < 2:
            raise DerError("indefinite-length value has no end-of-contents", offset=open_at[-1])
        if data[pos] == 0 and data[pos + 1] == 0:
            pos += 2
            open_at.pop()
            if not open_at:
                return pos - offset, False
            continue
        _tag, hlen, clen, _der = ber_header(data, pos, end)
        if clen is None:
            if len(open_at) >= max_depth:
                raise DerError("indefinite lengths nested too deep", offset=pos)
            open_at.append(pos)
            pos += hlen
        elif pos + hlen + clen > end:
            raise DerError("value runs past its container", offset=pos)
        else:
            pos += hlen + clen


def ber_contents(tlv: bytes, *, max_depth: int = MAX_BER_DEPTH) -> bytes:
    """The contents octets of one BER TLV (for an indefinite length: up to, not including,
    its end-of-contents octets)."""
    _tag, hlen, clen, _der = ber_header(tlv)
    if clen is None:
        size, _ = ber_extent(tlv, max_depth=max_depth)
        return tlv[hlen : size - 2]
    if hlen + clen > len(tlv):
        raise DerError("value truncated")
    return tlv[hlen : hlen + clen]
