"""Windows catalog (``.cat``) files: the certificate trust list inside a PKCS#7 SignedData.

A catalog is a SignedData whose encapsulated content (type ``1.3.6.1.4.1.311.10.1``,
szOID_CTL) is a ``CertificateTrustList`` ([domain.md] section 6)::

    CertificateTrustList ::= SEQUENCE {
        version          INTEGER DEFAULT v1,
        subjectUsage     SEQUENCE OF OBJECT IDENTIFIER,
        listIdentifier   OCTET STRING OPTIONAL,
        sequenceNumber   INTEGER OPTIONAL,
        thisUpdate       Time,
        nextUpdate       Time OPTIONAL,
        subjectAlgorithm AlgorithmIdentifier,
        trustedSubjects  SEQUENCE OF TrustedSubject OPTIONAL,
        ctlExtensions    [0] EXPLICIT Extensions OPTIONAL }
    TrustedSubject ::= SEQUENCE { subjectIdentifier OCTET STRING, attributes SET OF Attribute }

The CTL is read by walking its DER by hand, tolerantly: real catalogs carry attributes that
fit no neat schema (``CAT_MEMBERINFO2``), members without indirect data, and unknown
attributes. Such things become findings (layer ``catalog``) and raw data, never exceptions;
only input that is not a catalog at all raises :class:`CatalogFormatError`.

Members are bounded (:data:`MAX_MEMBERS`) and so are findings, so hostile input costs time
linear in its size and bounded memory.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum
from typing import Any

from msuinspect.authenticode.algorithms import canonical
from msuinspect.cms import der
from msuinspect.cms.der import DerError
from msuinspect.cms.oids import (
    MS_CTL,
    SPC_CAB_DATA,
    SPC_INDIRECT_DATA,
    SPC_LINK,
    SPC_PE_IMAGE_DATA,
)
from msuinspect.cms.signed_data import SignedDataView, parse_signed_data
from msuinspect.errors import FormatError, MsuInspectError
from msuinspect.findings import Finding, Severity

LAYER = "catalog"

#: most members read from one catalog; the rest are dropped with a finding
MAX_MEMBERS = 1_000_000
#: most findings kept per code; the rest are counted in one summary finding
MAX_FINDINGS_PER_CODE = 50
#: bytes of an unparsed attribute kept (as hex) in a finding's evidence
MAX_EVIDENCE_BYTES = 256
#: most tokens read from one OSAttr value
MAX_OS_ATTR_TOKENS = 256

#: szOID_CATALOG_LIST: the subjectUsage of a catalog
CATALOG_LIST = "1.3.6.1.4.1.311.12.1.1"
#: szOID_CATALOG_LIST_MEMBER: subjectAlgorithm of a version 1 (SHA-1) catalog
CATALOG_LIST_MEMBER = "1.3.6.1.4.1.311.12.1.2"
#: szOID_CATALOG_LIST_MEMBER2: subjectAlgorithm of a version 2 (SHA-256) catalog
CATALOG_LIST_MEMBER2 = "1.3.6.1.4.1.311.12.1.3"
#: CAT_NAMEVALUE_OBJID: a name/value pair (member attribute or catalog extension)
CAT_NAMEVALUE = "1.3.6.1.4.1.311.12.2.1"
#: CAT_MEMBERINFO_OBJID: SIP subject GUID and cert version (version 1 catalogs)
CAT_MEMBERINFO = "1.3.6.1.4.1.311.12.2.2"
#: CAT_MEMBERINFO2_OBJID: version 2 catalogs; its value fits no published schema
CAT_MEMBERINFO2 = "1.3.6.1.4.1.311.12.2.3"

SIP_GUID_FLAT = "{DE351A42-8E59-11D0-8C47-00C04FC295EE}"
SIP_GUID_PE = "{C689AAB8-8E78-11D0-8C47-00C04FC295EE}"
SIP_GUID_JAVA = "{C689AAB9-8E78-11D0-8C47-00C04FC295EE}"
SIP_GUID_CAB = "{C689AABA-8E78-11D0-8C47-00C04FC295EE}"
SIP_GUID_MSI = "{000C10F1-0000-0000-C000-000000000046}"

# mscat.h CRYPTCAT_ATTR_* flags of a name/value's typeaction
ATTR_AUTHENTICATED = 0x10000000
ATTR_UNAUTHENTICATED = 0x20000000
ATTR_NAMEASCII = 0x00000001
ATTR_NAMEOBJID = 0x00000002
ATTR_DATAASCII = 0x00010000
ATTR_DATABASE64 = 0x00020000
ATTR_DATAREPLACE = 0x00040000


class CatalogFormatError(FormatError):
    """The input is not a catalog (no PKCS#7 SignedData carrying a readable CTL)."""

    code = "catalog-format"


class SipKind(StrEnum):
    """The subject interface package that hashes a member (how its digest is computed)."""

    PE = "pe"  #: PE Authenticode hash
    FLAT = "flat"  #: hash of the file's bytes
    CAB = "cab"  #: cabinet Authenticode hash
    MSI = "msi"
    UNKNOWN = "unknown"


_SIP_BY_GUID = {
    SIP_GUID_FLAT: SipKind.FLAT,
    SIP_GUID_PE: SipKind.PE,
    SIP_GUID_CAB: SipKind.CAB,
    SIP_GUID_MSI: SipKind.MSI,
}

_OS_LABELS = {
    (5, 0): "Windows 2000",
    (5, 1): "Windows XP",
    (5, 2): "Windows Server 2003 / XP x64",
    (6, 0): "Windows Vista / Server 2008",
    (6, 1): "Windows 7 / Server 2008 R2",
    (6, 2): "Windows 8 / Server 2012",
    (6, 3): "Windows 8.1 / Server 2012 R2",
    (10, 0): "Windows 10/11 / Server 2016+",
}


@dataclass(frozen=True, slots=True)
class OsAttr:
    """One ``<platform>:<major>.<minor>`` token of an ``OSAttr`` value (``2`` = Windows NT)."""

    platform: int
    major: int
    minor: int
    text: str

    @property
    def label(self) -> str:
        if self.platform == 2:
            known = _OS_LABELS.get((self.major, self.minor))
            return known if known else f"NT {self.major}.{self.minor}"
        return f"platform {self.platform} version {self.major}.{self.minor}"

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "label": self.label}


_OS_TOKEN = re.compile(r"(\d{1,9}):(\d{1,9})\.(\d{1,9})")


def parse_os_attr(text: str) -> tuple[OsAttr, ...]:
    """The tokens of an ``OSAttr`` value such as ``"2:5.1,2:5.2,2:6.0"``, in order.

    Tolerant: tokens that are not ``<platform>:<major>.<minor>`` are ignored, as is
    everything after :data:`MAX_OS_ATTR_TOKENS` tokens.
    """
    out: list[OsAttr] = []
    for n, raw in enumerate(text.split(",")):
        if n >= MAX_OS_ATTR_TOKENS:
            break
        token = raw.strip().strip("\x00").strip()
        m = _OS_TOKEN.fullmatch(token)
        if m is None:
            continue
        out.append(OsAttr(int(m.group(1)), int(m.group(2)), int(m.group(3)), token))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class CatalogMember:
    """One TrustedSubject of the catalog."""

    index: int  #: position in trustedSubjects
    identifier: bytes  #: raw subjectIdentifier
    #: v1: the identifier decoded as UTF-16 text (the hash in hex); otherwise its hex
    tag: str
    #: canonical name ('sha1', 'sha256', ...) of the SpcIndirectDataContent digest
    digest_algorithm: str | None
    digest: bytes | None  #: the member hash from SpcIndirectDataContent
    subject_type: str | None  #: SpcIndirectDataContent data type OID
    sip: SipKind
    sip_guid: str | None  #: CAT_MEMBERINFO subject GUID
    file_name: str | None  #: the ``File`` name/value
    os_attr: tuple[OsAttr, ...]  #: member-level ``OSAttr``
    attributes: dict[str, str]  #: every name/value, refname -> decoded value
    unknown_attributes: tuple[str, ...]  #: OIDs of attributes not understood (or unparsable)

    @property
    def has_indirect_data(self) -> bool:
        return self.digest is not None

    @property
    def identifier_hash(self) -> bytes | None:
        """The hash the identifier names: the raw identifier, or the bytes of a hex text tag
        (``None`` when the identifier is neither)."""
        if self.tag != self.identifier.hex().upper():
            try:
                return bytes.fromhex(self.tag)
            except ValueError:
                return None
        return self.identifier if self.identifier else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (bytes as hex)."""
        return {
            "index": self.index,
            "identifier": self.identifier.hex(),
            "tag": self.tag,
            "digest_algorithm": self.digest_algorithm,
            "digest": self.digest.hex() if self.digest is not None else None,
            "subject_type": self.subject_type,
            "sip": self.sip.value,
            "sip_guid": self.sip_guid,
            "file_name": self.file_name,
            "os_attr": [a.to_dict() for a in self.os_attr],
            "attributes": dict(self.attributes),
            "unknown_attributes": list(self.unknown_attributes),
        }


@dataclass(frozen=True, slots=True)
class Catalog:
    """A parsed catalog (or any other CTL, such as ``authroot.stl``)."""

    version: int  #: 1 (SHA-1 members), 2 (SHA-256 members), 0 for another subjectAlgorithm
    subject_usage: tuple[str, ...]
    subject_algorithm: str  #: dotted OID
    list_identifier: bytes
    sequence_number: int | None
    this_update: datetime | None
    next_update: datetime | None
    members: tuple[CatalogMember, ...]
    attributes: dict[str, str]  #: catalog-level name/values (ctlExtensions)
    os_attr: tuple[OsAttr, ...]  #: parsed catalog-level ``OSAttr``
    signed: bool  #: at least one SignerInfo
    findings: tuple[Finding, ...]
    _by_digest: dict[tuple[str, bytes], tuple[int, ...]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )
    #: built on the first :meth:`find_identifier` (coverage matches by digest only)
    _by_identifier: dict[bytes, tuple[int, ...]] | None = field(
        init=False, repr=False, compare=False, default=None
    )

    def __post_init__(self) -> None:
        by_digest: dict[tuple[str, bytes], list[int]] = {}
        for pos, m in enumerate(self.members):
            if m.digest is not None and m.digest_algorithm is not None:
                by_digest.setdefault((m.digest_algorithm, m.digest), []).append(pos)
        object.__setattr__(self, "_by_digest", {k: tuple(v) for k, v in by_digest.items()})

    @property
    def member_hash_algorithm(self) -> str | None:
        """'sha1' for a version 1 catalog, 'sha256' for version 2, else ``None``."""
        return {1: "sha1", 2: "sha256"}.get(self.version)

    def find_digest(self, algorithm: str, digest: bytes) -> list[CatalogMember]:
        """Members whose SpcIndirectDataContent digest is ``digest`` in ``algorithm``.

        Identifier-only members (no indirect data, such as the 20-byte SHA-1 entries of
        version 2 catalogs) are not matched here: see :meth:`find_identifier`.
        """
        key = (canonical(algorithm.lower()), bytes(digest))
        return [self.members[i] for i in self._by_digest.get(key, ())]

    def find_identifier(self, digest: bytes) -> list[CatalogMember]:
        """Members whose subjectIdentifier names ``digest`` (raw, or as hex text)."""
        index = self._by_identifier
        if index is None:
            by_ident: dict[bytes, list[int]] = {}
            for pos, m in enumerate(self.members):
                ident = m.identifier_hash
                if ident is not None:
                    by_ident.setdefault(ident, []).append(pos)
            index = {k: tuple(v) for k, v in by_ident.items()}
            object.__setattr__(self, "_by_identifier", index)
        return [self.members[i] for i in index.get(bytes(digest), ())]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (bytes as hex, times in ISO 8601); use this rather than
        :func:`dataclasses.asdict`, which would include the private lookup indexes."""
        return {
            "version": self.version,
            "subject_usage": list(self.subject_usage),
            "subject_algorithm": self.subject_algorithm,
            "member_hash_algorithm": self.member_hash_algorithm,
            "list_identifier": self.list_identifier.hex(),
            "sequence_number": self.sequence_number,
            "this_update": self.this_update.isoformat() if self.this_update else None,
            "next_update": self.next_update.isoformat() if self.next_update else None,
            "signed": self.signed,
            "attributes": dict(self.attributes),
            "os_attr": [a.to_dict() for a in self.os_attr],
            "members": [m.to_dict() for m in self.members],
            "findings": [f.to_dict() for f in self.findings],
        }


# --- parsing -----------------------------------------------------------------------------


class _Malformed(Exception):
    """Internal: a DER structure inside the CTL cannot be read."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


_Tlv = der.Tlv


_SEQUENCE = 0x30
_SET = 0x31
_INTEGER = 0x02
_OCTET_STRING = 0x04
_OID = 0x06
_BOOLEAN = 0x01
_UTC_TIME = 0x17
_GENERALIZED_TIME = 0x18
_BMP_STRING = 0x1E
_CTX0_CONSTRUCTED = 0xA0


def _read_tlv(buf: bytes, pos: int, limit: int) -> _Tlv:
    """The TLV at ``pos``; it must end at or before ``limit``."""
    try:
        return der.read_tlv(buf, pos, limit)
    except DerError as exc:
        raise _Malformed(exc.message, pos) from None


def _children(buf: bytes, parent: _Tlv) -> Iterator[_Tlv]:
    try:
        yield from der.children(buf, parent)
    except DerError as exc:
        raise _Malformed(
            exc.message, exc.offset if exc.offset is not None else parent.start
        ) from None


def _expect(tlv: _Tlv, tag: int, what: str) -> _Tlv:
    if tlv.tag != tag:
        raise _Malformed(f"{what}: expected tag 0x{tag:02x}, found 0x{tlv.tag:02x}", tlv.start)
    return tlv


_OID_CACHE: dict[bytes, str] = {}
_OID_CACHE_SIZE = 4096


def _oid(buf: bytes, tlv: _Tlv) -> str:
    _expect(tlv, _OID, "object identifier")
    body = buf[tlv.body : tlv.end]
    cached = _OID_CACHE.get(body)
    if cached is not None:
        return cached
    if not body or len(body) > 128 or body[-1] & 0x80:
        raise _Malformed("malformed object identifier", tlv.start)
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


def _integer(buf: bytes, tlv: _Tlv, max_bytes: int = 32) -> int:
    _expect(tlv, _INTEGER, "integer")
    body = buf[tlv.body : tlv.end]
    if not body or len(body) > max_bytes:
        raise _Malformed("integer empty or too long", tlv.start)
    return int.from_bytes(body, "big", signed=True)


_UTC_RE = re.compile(rb"(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?(Z|[+-]\d{4})")
_GEN_RE = re.compile(
    rb"(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})?(\d{2})?(?:[.,](\d{1,9}))?(Z|[+-]\d{4})?"
)


def _time(buf: bytes, tlv: _Tlv) -> datetime:
    body = bytes(buf[tlv.body : tlv.end])
    m = (_UTC_RE if tlv.tag == _UTC_TIME else _GEN_RE).fullmatch(body)
    if m is None:
        raise _Malformed(f"malformed time {body[:40]!r}", tlv.start)
    try:
        if tlv.tag == _UTC_TIME:
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
        raise _Malformed(f"invalid time {body[:40]!r}: {exc}", tlv.start) from exc


def _utf16(data: bytes, *, big_endian: bool) -> str | None:
    """UTF-16 text up to the first NUL, or ``None`` when ``data`` is not UTF-16."""
    if len(data) % 2:
        return None
    try:
        text = data.decode("utf-16-be" if big_endian else "utf-16-le")
    except UnicodeDecodeError:
        return None
    return text.split("\x00", 1)[0]


def _text_tag(identifier: bytes) -> str | None:
    """A version 1 member tag: printable UTF-16LE text, NUL-terminated."""
    if len(identifier) < 4 or identifier[-2:] != b"\x00\x00":
        return None
    text = _utf16(identifier, big_endian=False)
    if not text or not text.isprintable():
        return None
    return text


class _Sink:
    """Collects findings, at most :data:`MAX_FINDINGS_PER_CODE` per code."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self.counts: dict[str, int] = {}

    def add(
        self,
        code: str,
        severity: Severity,
        message: str,
        *,
        offset: int | None = None,
        **evidence: Any,
    ) -> None:
        n = self.counts.get(code, 0) + 1
        self.counts[code] = n
        if n <= MAX_FINDINGS_PER_CODE:
            self.findings.append(Finding(code, severity, message, LAYER, None, offset, evidence))

    def result(self) -> tuple[Finding, ...]:
        dropped = {c: n - MAX_FINDINGS_PER_CODE for c, n in self.counts.items()}
        dropped = {c: n for c, n in dropped.items() if n > 0}
        out = list(self.findings)
        if dropped:
            out.append(
                Finding(
                    "catalog-findings-truncated",
                    Severity.INFO,
                    f"{sum(dropped.values())} more findings of the same codes were not listed",
                    LAYER,
                    evidence={"dropped": dropped},
                )
            )
        return tuple(out)


def _raw_hex(buf: bytes, tlv: _Tlv) -> str:
    return bytes(buf[tlv.start : min(tlv.end, tlv.start + MAX_EVIDENCE_BYTES)]).hex()


@dataclass(slots=True)
class _NameValue:
    name: str
    value: str
    flags: int | None


def _name_value(buf: bytes, tlv: _Tlv, sink: _Sink, where: str) -> _NameValue:
    """NameValue ::= SEQUENCE { refname BMPString, typeaction INTEGER, value OCTET STRING }.

    Tolerant: the typeaction may be missing. A value that is not UTF-16 text is kept as
    hex (with a finding).
    """
    _expect(tlv, _SEQUENCE, "name/value")
    name: str | None = None
    flags: int | None = None
    raw: bytes | None = None
    for child in _children(buf, tlv):
        if child.tag == _BMP_STRING and name is None:
            name = _utf16(bytes(buf[child.body : child.end]), big_endian=True)
            if name is None:
                raise _Malformed("name/value refname is not a BMPString", child.start)
        elif child.tag == _INTEGER and flags is None:
            flags = _integer(buf, child, 8)
        elif child.tag == _OCTET_STRING and raw is None:
            raw = bytes(buf[child.body : child.end])
    if name is None:
        raise _Malformed("name/value without a refname", tlv.start)
    if raw is None:
        raw = b""
    if flags is not None and flags & ATTR_DATABASE64 and not flags & ATTR_DATAASCII:
        # binary data (written base64 in the catalog definition): shown base64, as
        # osslsigncode shows it
        return _NameValue(name, base64.b64encode(raw).decode("ascii"), flags)
    value = _utf16(raw, big_endian=False)
    if value is None:
        value = raw.hex()
        sink.add(
            "catalog-attribute-undecodable",
            Severity.WARNING,
            f"{where}: the value of name/value {name!r} is not UTF-16 text; kept as hex",
            offset=tlv.start,
            name=name,
            hex=value[: 2 * MAX_EVIDENCE_BYTES],
        )
    return _NameValue(name, value, flags)


def _put(attrs: dict[str, str], nv: _NameValue, sink: _Sink, where: str, offset: int) -> None:
    if nv.name in attrs:
        if attrs[nv.name] != nv.value:
            sink.add(
                "catalog-duplicate-attribute",
                Severity.WARNING,
                f"{where}: name/value {nv.name!r} appears more than once; the first is kept",
                offset=offset,
                name=nv.name,
                kept=attrs[nv.name],
                ignored=nv.value,
            )
        return
    attrs[nv.name] = nv.value


def _lookup(attrs: Mapping[str, str], name: str) -> str | None:
    if name in attrs:
        return attrs[name]
    folded = name.casefold()
    for k, v in attrs.items():
        if k.casefold() == folded:
            return v
    return None


@dataclass(slots=True)
class _Indirect:
    subject_type: str
    algorithm: str
    digest: bytes


def _indirect_data(buf: bytes, tlv: _Tlv) -> _Indirect:
    """SpcIndirectDataContent ::= SEQUENCE { data SEQUENCE { type OID, value ANY OPTIONAL },
    messageDigest SEQUENCE { digestAlgorithm AlgorithmIdentifier, digest OCTET STRING } }"""
    _expect(tlv, _SEQUENCE, "SpcIndirectDataContent")
    parts = list(_children(buf, tlv))
    if len(parts) < 2:
        raise _Malformed("SpcIndirectDataContent has fewer than two fields", tlv.start)
    data = list(_children(buf, _expect(parts[0], _SEQUENCE, "SpcAttributeTypeAndOptionalValue")))
    if not data:
        raise _Malformed("SpcAttributeTypeAndOptionalValue is empty", parts[0].start)
    subject_type = _oid(buf, data[0])
    md = list(_children(buf, _expect(parts[1], _SEQUENCE, "DigestInfo")))
    if len(md) < 2:
        raise _Malformed("DigestInfo has fewer than two fields", parts[1].start)
    alg_fields = list(_children(buf, _expect(md[0], _SEQUENCE, "AlgorithmIdentifier")))
    if not alg_fields:
        raise _Malformed("AlgorithmIdentifier is empty", md[0].start)
    algorithm = canonical(_oid(buf, alg_fields[0]))
    digest = bytes(buf[_expect(md[1], _OCTET_STRING, "digest").body : md[1].end])
    return _Indirect(subject_type, algorithm, digest)


def _member_info(buf: bytes, tlv: _Tlv) -> str:
    """CAT_MEMBERINFO ::= SEQUENCE { subguid BMPString, certversion INTEGER }: the GUID."""
    _expect(tlv, _SEQUENCE, "CAT_MEMBERINFO")
    for child in _children(buf, tlv):
        if child.tag == _BMP_STRING:
            guid = _utf16(bytes(buf[child.body : child.end]), big_endian=True)
            if guid is None:
                raise _Malformed("CAT_MEMBERINFO subguid is not a BMPString", child.start)
            return guid.strip()
    raise _Malformed("CAT_MEMBERINFO without a subject GUID", tlv.start)


def _sip_from_guid(guid: str | None) -> SipKind | None:
    if not guid:
        return None
    norm = "{" + guid.strip().strip("{}").upper() + "}"
    return _SIP_BY_GUID.get(norm, SipKind.UNKNOWN)


#: CAT_MEMBERINFO2 carries one empty context-specific value whose tag number matches the
#: member's SIP in every catalog of the corpus: [0] with PE image data, [1] with an SpcLink
#: (a cabinet), [2] with flat-file data (an inference, not a published schema)
_MEMBERINFO2_SIP = {0: SipKind.PE, 1: SipKind.CAB, 2: SipKind.FLAT}


def _member_info2_hint(tlv: _Tlv) -> SipKind | None:
    if tlv.tag & 0xC0 != 0x80:
        return None
    return _MEMBERINFO2_SIP.get(tlv.tag & 0x1F)


def _sip(subject_type: str | None, by_guid: SipKind | None, hint: SipKind | None) -> SipKind:
    """The member's SIP: PE image data, else the CAT_MEMBERINFO GUID, else the
    CAT_MEMBERINFO2 hint, else the data type (flat-file data, SpcLink = cabinet)."""
    if subject_type == SPC_PE_IMAGE_DATA:
        return SipKind.PE
    if by_guid is not None and by_guid is not SipKind.UNKNOWN:
        return by_guid
    if hint is not None:
        return hint
    if subject_type == SPC_CAB_DATA:
        return SipKind.FLAT
    if subject_type == SPC_LINK:
        return SipKind.CAB
    return SipKind.UNKNOWN


def _parse_member(
    buf: bytes, tlv: _Tlv, index: int, version: int, sink: _Sink
) -> CatalogMember | None:
    where = f"member {index}"
    try:
        _expect(tlv, _SEQUENCE, "TrustedSubject")
        fields = list(_children(buf, tlv))
        if not fields:
            raise _Malformed("empty TrustedSubject", tlv.start)
        ident_tlv = _expect(fields[0], _OCTET_STRING, "subjectIdentifier")
    except _Malformed as exc:
        sink.add(
            "catalog-member-unparsed",
            Severity.WARNING,
            f"{where} cannot be read ({exc}); it is skipped",
            offset=exc.offset,
            member=index,
            hex=_raw_hex(buf, tlv),
        )
        return None
    identifier = bytes(buf[ident_tlv.body : ident_tlv.end])
    text = _text_tag(identifier) if version != 2 else None
    tag = text if text is not None else identifier.hex().upper()

    attrs: dict[str, str] = {}
    unknown: list[str] = []
    indirect: _Indirect | None = None
    guid: str | None = None
    hint: SipKind | None = None
    attr_set: _Tlv | None = fields[1] if len(fields) > 1 else None
    if len(fields) > 2:
        sink.add(
            "catalog-member-unparsed",
            Severity.WARNING,
            f"{where}: TrustedSubject has {len(fields)} fields, not 2; the extra ones are ignored",
            offset=fields[2].start,
            member=index,
        )
    attributes: list[_Tlv] = []
    if attr_set is not None:
        try:
            _expect(attr_set, _SET, "TrustedSubject attributes")
            for attr in _children(buf, attr_set):  # keeps those read before an error
                attributes.append(attr)
        except _Malformed as exc:
            sink.add(
                "catalog-member-unparsed",
                Severity.WARNING,
                f"{where}: attributes cannot be read ({exc})",
                offset=exc.offset,
                member=index,
                hex=_raw_hex(buf, attr_set),
            )
    for attr in attributes:
        oid = "?"
        try:
            _expect(attr, _SEQUENCE, "Attribute")
            parts = list(_children(buf, attr))
            if not parts:
                raise _Malformed("empty Attribute", attr.start)
            oid = _oid(buf, parts[0])
            values: list[_Tlv] = []
            for p in parts[1:]:
                values.extend(_children(buf, p) if p.tag == _SET else [p])
            if oid == SPC_INDIRECT_DATA:
                if not values:
                    raise _Malformed("SpcIndirectDataContent attribute has no value", attr.start)
                if indirect is not None:
                    raise _Malformed("second SpcIndirectDataContent attribute", attr.start)
                indirect = _indirect_data(buf, values[0])
            elif oid == CAT_NAMEVALUE:
                for v in values:
                    _put(attrs, _name_value(buf, v, sink, where), sink, where, v.start)
            elif oid == CAT_MEMBERINFO:
                for v in values:
                    guid = guid or _member_info(buf, v)
            elif oid == CAT_MEMBERINFO2:
                for v in values:
                    hint = hint or _member_info2_hint(v)
            else:
                unknown.append(oid)
                sink.add(
                    "catalog-unknown-attribute",
                    Severity.INFO,
                    f"{where}: attribute {oid} is not understood; kept raw",
                    offset=attr.start,
                    member=index,
                    oid=oid,
                    hex=_raw_hex(buf, attr),
                )
        except _Malformed as exc:
            unknown.append(oid)
            sink.add(
                "catalog-member-unparsed",
                Severity.WARNING,
                f"{where}: attribute {oid} cannot be parsed ({exc}); kept raw",
                offset=exc.offset,
                member=index,
                oid=oid,
                hex=_raw_hex(buf, attr),
            )

    subject_type = indirect.subject_type if indirect else None
    sip = _sip(subject_type, _sip_from_guid(guid), hint)
    os_text = _lookup(attrs, "OSAttr")
    return CatalogMember(
        index=index,
        identifier=identifier,
        tag=tag,
        digest_algorithm=indirect.algorithm if indirect else None,
        digest=indirect.digest if indirect else None,
        subject_type=subject_type,
        sip=sip,
        sip_guid=guid,
        file_name=_lookup(attrs, "File"),
        os_attr=parse_os_attr(os_text) if os_text is not None else (),
        attributes=attrs,
        unknown_attributes=tuple(unknown),
    )


def _extensions(buf: bytes, tlv: _Tlv, sink: _Sink) -> dict[str, str]:
    """ctlExtensions [0] EXPLICIT SEQUENCE OF Extension { extnID, critical, extnValue }."""
    attrs: dict[str, str] = {}
    where = "catalog"
    try:
        inner = list(_children(buf, tlv))
        if len(inner) != 1:
            raise _Malformed("ctlExtensions [0] does not hold exactly one value", tlv.start)
        exts = list(_children(buf, _expect(inner[0], _SEQUENCE, "Extensions")))
    except _Malformed as exc:
        sink.add(
            "catalog-attribute-unparsed",
            Severity.WARNING,
            f"catalog extensions cannot be read ({exc})",
            offset=exc.offset,
            hex=_raw_hex(buf, tlv),
        )
        return attrs
    for ext in exts:
        oid = "?"
        try:
            parts = list(_children(buf, _expect(ext, _SEQUENCE, "Extension")))
            if not parts:
                raise _Malformed("empty Extension", ext.start)
            oid = _oid(buf, parts[0])
            rest = [p for p in parts[1:] if p.tag != _BOOLEAN]
            if oid != CAT_NAMEVALUE:
                sink.add(
                    "catalog-unknown-attribute",
                    Severity.INFO,
                    f"catalog extension {oid} is not understood; kept raw",
                    offset=ext.start,
                    oid=oid,
                    hex=_raw_hex(buf, ext),
                )
                continue
            if not rest:
                raise _Malformed("name/value extension without a value", ext.start)
            value = _expect(rest[0], _OCTET_STRING, "extnValue")
            nv_tlv = _read_tlv(buf, value.body, value.end)
            _put(attrs, _name_value(buf, nv_tlv, sink, where), sink, where, ext.start)
        except _Malformed as exc:
            sink.add(
                "catalog-attribute-unparsed",
                Severity.WARNING,
                f"catalog extension {oid} cannot be parsed ({exc}); kept raw",
                offset=exc.offset,
                oid=oid,
                hex=_raw_hex(buf, ext),
            )
    return attrs


def parse_catalog(
    blob: bytes, *, max_members: int = MAX_MEMBERS, view: SignedDataView | None = None
) -> Catalog:
    """Parse a catalog (or another CTL such as ``authroot.stl``).

    ``view``, when given, is ``parse_signed_data(blob)`` already done by the caller (the
    signature check parses the same bytes). Raises :class:`CatalogFormatError` when
    ``blob`` is not a PKCS#7 SignedData carrying a certificate trust list; oddities inside
    the CTL become findings.
    """
    if view is None:
        try:
            view = parse_signed_data(bytes(blob))
        except MsuInspectError as exc:
            raise CatalogFormatError(f"not a catalog: {exc.message}", offset=exc.offset) from exc
    if view.content_type != MS_CTL:
        raise CatalogFormatError(
            f"not a catalog: the signed content type is {view.content_type}, not {MS_CTL} (CTL)"
        )
    buf = view.content_tlv
    sink = _Sink()
    if view.trailing:
        sink.add(
            "catalog-trailing-data",
            Severity.WARNING,
            f"{len(view.trailing)} bytes follow the PKCS#7 object",
            offset=view.der_length,
            size=len(view.trailing),
        )
    try:
        top = _read_tlv(buf, 0, len(buf))
        fields = list(_children(buf, _expect(top, _SEQUENCE, "CertificateTrustList")))
    except _Malformed as exc:
        raise CatalogFormatError(f"the certificate trust list is malformed: {exc}") from exc

    pos = 0

    def peek(*tags: int) -> _Tlv | None:
        if pos < len(fields) and fields[pos].tag in tags:
            return fields[pos]
        return None

    version_number = 0
    try:
        if (t := peek(_INTEGER)) is not None:
            version_number = _integer(buf, t, 8)
            pos += 1
        usage_tlv = peek(_SEQUENCE)
        if usage_tlv is None:
            raise _Malformed("no subjectUsage", fields[pos].start if fields[pos:] else top.start)
        subject_usage = tuple(_oid(buf, c) for c in _children(buf, usage_tlv))
        pos += 1
    except _Malformed as exc:
        raise CatalogFormatError(f"the certificate trust list is malformed: {exc}") from exc
    if version_number != 0:
        sink.add(
            "catalog-ctl-version",
            Severity.INFO,
            f"CTL version is {version_number}, not v1 (0)",
            version=version_number,
        )
    list_identifier = b""
    if (t := peek(_OCTET_STRING)) is not None:
        list_identifier = bytes(buf[t.body : t.end])
        pos += 1
    sequence_number: int | None = None
    if (t := peek(_INTEGER)) is not None:
        pos += 1
        try:
            sequence_number = _integer(buf, t)
        except _Malformed as exc:
            sink.add(
                "catalog-ctl-field", Severity.WARNING, f"sequenceNumber: {exc}", offset=t.start
            )
    times: list[datetime | None] = []
    while len(times) < 2 and (t := peek(_UTC_TIME, _GENERALIZED_TIME)) is not None:
        pos += 1
        try:
            times.append(_time(buf, t))
        except _Malformed as exc:
            times.append(None)
            sink.add("catalog-ctl-field", Severity.WARNING, f"update time: {exc}", offset=t.start)
    if not times:
        sink.add("catalog-ctl-field", Severity.WARNING, "the CTL has no thisUpdate time")
    this_update = times[0] if times else None
    next_update = times[1] if len(times) > 1 else None
    try:
        alg_tlv = peek(_SEQUENCE)
        if alg_tlv is None:
            raise _Malformed("no subjectAlgorithm", fields[pos].start if fields[pos:] else 0)
        alg_fields = list(_children(buf, alg_tlv))
        if not alg_fields:
            raise _Malformed("empty subjectAlgorithm", alg_tlv.start)
        subject_algorithm = _oid(buf, alg_fields[0])
        pos += 1
    except _Malformed as exc:
        raise CatalogFormatError(f"the certificate trust list is malformed: {exc}") from exc
    version = {CATALOG_LIST_MEMBER: 1, CATALOG_LIST_MEMBER2: 2}.get(subject_algorithm, 0)
    if CATALOG_LIST not in subject_usage:
        sink.add(
            "catalog-not-catalog-list",
            Severity.INFO,
            "the CTL's subjectUsage is not szOID_CATALOG_LIST: a trust list, not a file catalog",
            usage=list(subject_usage),
        )
    if version == 0:
        sink.add(
            "catalog-unknown-subject-algorithm",
            Severity.INFO,
            f"subjectAlgorithm {subject_algorithm} is not a catalog member algorithm",
            oid=subject_algorithm,
        )

    members: list[CatalogMember] = []
    if (subjects := peek(_SEQUENCE)) is not None:
        pos += 1
        index = 0
        try:
            for child in _children(buf, subjects):
                if index >= max_members:
                    sink.add(
                        "catalog-member-limit",
                        Severity.ERROR,
                        f"more than {max_members} members; the rest are not read",
                        offset=child.start,
                        limit=max_members,
                    )
                    break
                member = _parse_member(buf, child, index, version, sink)
                if member is not None:
                    members.append(member)
                index += 1
        except _Malformed as exc:
            sink.add(
                "catalog-member-unparsed",
                Severity.ERROR,
                f"the member list is malformed after member {index} ({exc}); the rest is lost",
                offset=exc.offset,
                member=index,
            )
    seen: set[bytes] = set()
    repeated = 0
    for m in members:
        if m.identifier in seen:
            repeated += 1
        seen.add(m.identifier)
    if repeated:
        sink.add(
            "catalog-repeated-identifier",
            Severity.INFO,
            f"{repeated} members repeat the subjectIdentifier of an earlier member",
            count=repeated,
        )
    attributes: dict[str, str] = {}
    if (t := peek(_CTX0_CONSTRUCTED)) is not None:
        pos += 1
        attributes = _extensions(buf, t, sink)
    if pos < len(fields):
        sink.add(
            "catalog-ctl-field",
            Severity.WARNING,
            f"{len(fields) - pos} unexpected fields at the end of the CTL are ignored",
            offset=fields[pos].start,
            hex=_raw_hex(buf, fields[pos]),
        )
    os_text = _lookup(attributes, "OSAttr")
    return Catalog(
        version=version,
        subject_usage=subject_usage,
        subject_algorithm=subject_algorithm,
        list_identifier=list_identifier,
        sequence_number=sequence_number,
        this_update=this_update,
        next_update=next_update,
        members=tuple(members),
        attributes=attributes,
        os_attr=parse_os_attr(os_text) if os_text is not None else (),
        signed=bool(view.signer_infos),
        findings=sink.result(),
    )
