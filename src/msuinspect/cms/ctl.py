"""Certificate trust lists: the DER of a catalog's signed content, read field by field.

A catalog (``.cat``) is a SignedData whose encapsulated content (type
``1.3.6.1.4.1.311.10.1``, szOID_CTL) is a ``CertificateTrustList`` ([domain.md] section 6)::

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
only input that is not a CTL at all raises :class:`CatalogFormatError`. What the fields
mean for a Windows catalog (its version, each member's SIP, ``OSAttr``) is
:mod:`msuinspect.package.catalog`'s concern.

Findings are bounded (:data:`MAX_FINDINGS_PER_CODE`), so hostile input costs time linear in
its size and bounded memory.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from msuinspect.cms import der
from msuinspect.cms.der import DerError, Tlv
from msuinspect.cms.oids import (
    CAT_MEMBERINFO,
    CAT_MEMBERINFO2,
    CAT_NAMEVALUE,
    MS_CTL,
    SPC_INDIRECT_DATA,
)
from msuinspect.cms.signed_data import SignedDataView
from msuinspect.errors import FormatError
from msuinspect.findings import FindingSink, Severity

LAYER = "catalog"

#: most findings kept per code; the rest are counted in one summary finding
MAX_FINDINGS_PER_CODE = 50
#: bytes of an unparsed attribute kept (as hex) in a finding's evidence
MAX_EVIDENCE_BYTES = 256

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


def ctl_findings(path: str | None = None) -> FindingSink:
    """The sink a CTL's findings go to: at most :data:`MAX_FINDINGS_PER_CODE` per code, the
    rest counted in one ``catalog-findings-truncated`` finding."""
    return FindingSink(
        LAYER,
        path,
        max_per_code=MAX_FINDINGS_PER_CODE,
        truncated_code="catalog-findings-truncated",
    )


def utf16(data: bytes, *, big_endian: bool) -> str | None:
    """UTF-16 text up to the first NUL, or ``None`` when ``data`` is not UTF-16."""
    if len(data) % 2:
        return None
    try:
        text = data.decode("utf-16-be" if big_endian else "utf-16-le")
    except UnicodeDecodeError:
        return None
    return text.split("\x00", 1)[0]


def _raw_hex(buf: bytes, tlv: Tlv) -> str:
    return bytes(buf[tlv.start : min(tlv.end, tlv.start + MAX_EVIDENCE_BYTES)]).hex()


@dataclass(slots=True)
class _NameValue:
    name: str
    value: str
    flags: int | None


def _name_value(buf: bytes, tlv: Tlv, sink: FindingSink, where: str) -> _NameValue:
    """NameValue ::= SEQUENCE { refname BMPString, typeaction INTEGER, value OCTET STRING }.

    Tolerant: the typeaction may be missing. A value that is not UTF-16 text is kept as
    hex (with a finding).
    """
    der.expect(tlv, der.SEQUENCE, "name/value")
    name: str | None = None
    flags: int | None = None
    raw: bytes | None = None
    for child in der.children(buf, tlv):
        if child.tag == der.BMP_STRING and name is None:
            name = utf16(bytes(buf[child.body : child.end]), big_endian=True)
            if name is None:
                raise DerError("name/value refname is not a BMPString", offset=child.start)
        elif child.tag == der.INTEGER and flags is None:
            flags = der.integer(buf, child, 8)
        elif child.tag == der.OCTET_STRING and raw is None:
            raw = bytes(buf[child.body : child.end])
    if name is None:
        raise DerError("name/value without a refname", offset=tlv.start)
    if raw is None:
        raw = b""
    if flags is not None and flags & ATTR_DATABASE64 and not flags & ATTR_DATAASCII:
        # binary data (written base64 in the catalog definition): shown base64, as
        # osslsigncode shows it
        return _NameValue(name, base64.b64encode(raw).decode("ascii"), flags)
    value = utf16(raw, big_endian=False)
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


def _put(attrs: dict[str, str], nv: _NameValue, sink: FindingSink, where: str, offset: int) -> None:
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


@dataclass(frozen=True, slots=True)
class IndirectData:
    """What a member's ``SpcIndirectDataContent`` says."""

    subject_type: str  #: the data type OID
    algorithm: str  #: the digest algorithm OID
    digest: bytes


def _indirect_data(buf: bytes, tlv: Tlv) -> IndirectData:
    """SpcIndirectDataContent ::= SEQUENCE { data SEQUENCE { type OID, value ANY OPTIONAL },
    messageDigest SEQUENCE { digestAlgorithm AlgorithmIdentifier, digest OCTET STRING } }"""
    der.expect(tlv, der.SEQUENCE, "SpcIndirectDataContent")
    parts = list(der.children(buf, tlv))
    if len(parts) < 2:
        raise DerError("SpcIndirectDataContent has fewer than two fields", offset=tlv.start)
    data = list(
        der.children(buf, der.expect(parts[0], der.SEQUENCE, "SpcAttributeTypeAndOptionalValue"))
    )
    if not data:
        raise DerError("SpcAttributeTypeAndOptionalValue is empty", offset=parts[0].start)
    subject_type = der.oid(buf, data[0])
    md = list(der.children(buf, der.expect(parts[1], der.SEQUENCE, "DigestInfo")))
    if len(md) < 2:
        raise DerError("DigestInfo has fewer than two fields", offset=parts[1].start)
    alg_fields = list(der.children(buf, der.expect(md[0], der.SEQUENCE, "AlgorithmIdentifier")))
    if not alg_fields:
        raise DerError("AlgorithmIdentifier is empty", offset=md[0].start)
    algorithm = der.oid(buf, alg_fields[0])
    digest = bytes(buf[der.expect(md[1], der.OCTET_STRING, "digest").body : md[1].end])
    return IndirectData(subject_type, algorithm, digest)


def _member_info(buf: bytes, tlv: Tlv) -> str:
    """CAT_MEMBERINFO ::= SEQUENCE { subguid BMPString, certversion INTEGER }: the GUID."""
    der.expect(tlv, der.SEQUENCE, "CAT_MEMBERINFO")
    for child in der.children(buf, tlv):
        if child.tag == der.BMP_STRING:
            guid = utf16(bytes(buf[child.body : child.end]), big_endian=True)
            if guid is None:
                raise DerError("CAT_MEMBERINFO subguid is not a BMPString", offset=child.start)
            return guid.strip()
    raise DerError("CAT_MEMBERINFO without a subject GUID", offset=tlv.start)


@dataclass(frozen=True, slots=True)
class TrustedSubject:
    """One TrustedSubject of the CTL, its attributes read."""

    index: int  #: position in trustedSubjects
    identifier: bytes  #: raw subjectIdentifier
    indirect: IndirectData | None  #: the SpcIndirectDataContent attribute
    guid: str | None  #: CAT_MEMBERINFO subject GUID
    #: tag numbers of the context-specific values of CAT_MEMBERINFO2, in order
    info2_tags: tuple[int, ...]
    attributes: dict[str, str]  #: every name/value, refname -> decoded value
    unknown_attributes: tuple[str, ...]  #: OIDs of attributes not understood (or unparsable)


@dataclass(frozen=True, slots=True)
class CtlHeader:
    """The CTL's fields before trustedSubjects."""

    version: int  #: the CTL's own version field (0 = v1)
    subject_usage: tuple[str, ...]
    list_identifier: bytes
    sequence_number: int | None
    this_update: datetime | None
    next_update: datetime | None
    subject_algorithm: str  #: dotted OID


def _malformed(exc: DerError) -> CatalogFormatError:
    return CatalogFormatError(f"the certificate trust list is malformed: {exc.message}")


class CtlReader:
    """Reads the CTL of one SignedData field by field, in order: :meth:`header`, then
    :meth:`subjects`, :meth:`extensions` and :meth:`finish`; findings go to ``sink``."""

    def __init__(self, view: SignedDataView, sink: FindingSink) -> None:
        if view.content_type != MS_CTL:
            raise CatalogFormatError(
                f"not a catalog: the signed content type is {view.content_type}, not {MS_CTL} (CTL)"
            )
        self.buf = buf = view.content_tlv
        self.sink = sink
        if view.trailing:
            sink.add(
                "catalog-trailing-data",
                Severity.WARNING,
                f"{len(view.trailing)} bytes follow the PKCS#7 object",
                offset=view.der_length,
                size=len(view.trailing),
            )
        try:
            self.top = der.read_tlv(buf, 0, len(buf))
            top = der.expect(self.top, der.SEQUENCE, "CertificateTrustList")
            self.fields = list(der.children(buf, top))
        except DerError as exc:
            raise _malformed(exc) from exc
        self.pos = 0

    def _peek(self, *tags: int) -> Tlv | None:
        if self.pos < len(self.fields) and self.fields[self.pos].tag in tags:
            return self.fields[self.pos]
        return None

    def _next_start(self, default: int) -> int:
        return self.fields[self.pos].start if self.fields[self.pos :] else default

    def header(self) -> CtlHeader:
        """version, subjectUsage, listIdentifier, sequenceNumber, the update times and
        subjectAlgorithm; raises :class:`CatalogFormatError` when the required ones cannot
        be read."""
        buf, sink = self.buf, self.sink
        version_number = 0
        try:
            if (t := self._peek(der.INTEGER)) is not None:
                version_number = der.integer(buf, t, 8)
                self.pos += 1
            usage_tlv = self._peek(der.SEQUENCE)
            if usage_tlv is None:
                raise DerError("no subjectUsage", offset=self._next_start(self.top.start))
            subject_usage = tuple(der.oid(buf, c) for c in der.children(buf, usage_tlv))
            self.pos += 1
        except DerError as exc:
            raise _malformed(exc) from exc
        if version_number != 0:
            sink.add(
                "catalog-ctl-version",
                Severity.INFO,
                f"CTL version is {version_number}, not v1 (0)",
                version=version_number,
            )
        list_identifier = b""
        if (t := self._peek(der.OCTET_STRING)) is not None:
            list_identifier = bytes(buf[t.body : t.end])
            self.pos += 1
        sequence_number: int | None = None
        if (t := self._peek(der.INTEGER)) is not None:
            self.pos += 1
            try:
                sequence_number = der.integer(buf, t)
            except DerError as exc:
                sink.add(
                    "catalog-ctl-field",
                    Severity.WARNING,
                    f"sequenceNumber: {exc.message}",
                    offset=t.start,
                )
        this_update, next_update = self._times()
        try:
            alg_tlv = self._peek(der.SEQUENCE)
            if alg_tlv is None:
                raise DerError("no subjectAlgorithm", offset=self._next_start(0))
            alg_fields = list(der.children(buf, alg_tlv))
            if not alg_fields:
                raise DerError("empty subjectAlgorithm", offset=alg_tlv.start)
            subject_algorithm = der.oid(buf, alg_fields[0])
            self.pos += 1
        except DerError as exc:
            raise _malformed(exc) from exc
        return CtlHeader(
            version=version_number,
            subject_usage=subject_usage,
            list_identifier=list_identifier,
            sequence_number=sequence_number,
            this_update=this_update,
            next_update=next_update,
            subject_algorithm=subject_algorithm,
        )

    def _times(self) -> tuple[datetime | None, datetime | None]:
        """thisUpdate and nextUpdate (``None`` where missing or unreadable)."""
        times: list[datetime | None] = []
        while len(times) < 2 and (t := self._peek(der.UTC_TIME, der.GENERALIZED_TIME)) is not None:
            self.pos += 1
            try:
                times.append(der.time(self.buf, t))
            except DerError as exc:
                times.append(None)
                self.sink.add(
                    "catalog-ctl-field",
                    Severity.WARNING,
                    f"update time: {exc.message}",
                    offset=t.start,
                )
        if not times:
            self.sink.add("catalog-ctl-field", Severity.WARNING, "the CTL has no thisUpdate time")
        return (times[0] if times else None), (times[1] if len(times) > 1 else None)

    def subjects(self, max_subjects: int) -> Iterator[TrustedSubject]:
        """The trustedSubjects that can be read (at most ``max_subjects``); the others are
        findings."""
        subjects = self._peek(der.SEQUENCE)
        if subjects is None:
            return
        self.pos += 1
        buf, sink = self.buf, self.sink
        index = 0
        try:
            for child in der.children(buf, subjects):
                if index >= max_subjects:
                    sink.add(
                        "catalog-member-limit",
                        Severity.ERROR,
                        f"more than {max_subjects} members; the rest are not read "
                        "(raise the cap with --max-catalog-members)",
                        offset=child.start,
                        limit=max_subjects,
                    )
                    break
                subject = _subject(buf, child, index, sink)
                if subject is not None:
                    yield subject
                index += 1
        except DerError as exc:
            sink.add(
                "catalog-member-unparsed",
                Severity.ERROR,
                f"the member list is malformed after member {index} ({exc.message}); "
                "the rest is lost",
                offset=exc.offset,
                member=index,
            )

    def extensions(self) -> dict[str, str]:
        """The catalog-level name/values of ctlExtensions (empty when there are none)."""
        if (t := self._peek(der.CTX0_CONSTRUCTED)) is None:
            return {}
        self.pos += 1
        return _extensions(self.buf, t, self.sink)

    def finish(self) -> None:
        """A finding for fields after the last one the CTL defines."""
        if self.pos < len(self.fields):
            extra = self.fields[self.pos]
            self.sink.add(
                "catalog-ctl-field",
                Severity.WARNING,
                f"{len(self.fields) - self.pos} unexpected fields at the end of the CTL are "
                "ignored",
                offset=extra.start,
                hex=_raw_hex(self.buf, extra),
            )


def _subject(buf: bytes, tlv: Tlv, index: int, sink: FindingSink) -> TrustedSubject | None:
    where = f"member {index}"
    try:
        der.expect(tlv, der.SEQUENCE, "TrustedSubject")
        fields = list(der.children(buf, tlv))
        if not fields:
            raise DerError("empty TrustedSubject", offset=tlv.start)
        ident_tlv = der.expect(fields[0], der.OCTET_STRING, "subjectIdentifier")
    except DerError as exc:
        sink.add(
            "catalog-member-unparsed",
            Severity.WARNING,
            f"{where} cannot be read ({exc.message}); it is skipped",
            offset=exc.offset,
            member=index,
            hex=_raw_hex(buf, tlv),
        )
        return None
    if len(fields) > 2:
        sink.add(
            "catalog-member-unparsed",
            Severity.WARNING,
            f"{where}: TrustedSubject has {len(fields)} fields, not 2; the extra ones are ignored",
            offset=fields[2].start,
            member=index,
        )
    attr_set = fields[1] if len(fields) > 1 else None
    attributes = _subject_attributes(buf, attr_set, index, sink) if attr_set is not None else []
    return _read_attributes(
        buf, attributes, index, bytes(buf[ident_tlv.body : ident_tlv.end]), sink
    )


def _subject_attributes(buf: bytes, attr_set: Tlv, index: int, sink: FindingSink) -> list[Tlv]:
    """The Attributes of a TrustedSubject: those read before an error, with a finding."""
    attributes: list[Tlv] = []
    try:
        der.expect(attr_set, der.SET, "TrustedSubject attributes")
        for attr in der.children(buf, attr_set):  # keeps those read before an error
            attributes.append(attr)
    except DerError as exc:
        sink.add(
            "catalog-member-unparsed",
            Severity.WARNING,
            f"member {index}: attributes cannot be read ({exc.message})",
            offset=exc.offset,
            member=index,
            hex=_raw_hex(buf, attr_set),
        )
    return attributes


def _read_attributes(
    buf: bytes, attributes: list[Tlv], index: int, identifier: bytes, sink: FindingSink
) -> TrustedSubject:
    where = f"member {index}"
    attrs: dict[str, str] = {}
    unknown: list[str] = []
    indirect: IndirectData | None = None
    guid: str | None = None
    info2_tags: list[int] = []
    for attr in attributes:
        oid = "?"
        try:
            der.expect(attr, der.SEQUENCE, "Attribute")
            parts = list(der.children(buf, attr))
            if not parts:
                raise DerError("empty Attribute", offset=attr.start)
            oid = der.oid(buf, parts[0])
            values: list[Tlv] = []
            for p in parts[1:]:
                values.extend(der.children(buf, p) if p.tag == der.SET else [p])
            if oid == SPC_INDIRECT_DATA:
                if not values:
                    raise DerError(
                        "SpcIndirectDataContent attribute has no value", offset=attr.start
                    )
                if indirect is not None:
                    raise DerError("second SpcIndirectDataContent attribute", offset=attr.start)
                indirect = _indirect_data(buf, values[0])
            elif oid == CAT_NAMEVALUE:
                for v in values:
                    _put(attrs, _name_value(buf, v, sink, where), sink, where, v.start)
            elif oid == CAT_MEMBERINFO:
                for v in values:
                    guid = guid or _member_info(buf, v)
            elif oid == CAT_MEMBERINFO2:
                info2_tags.extend(v.tag & 0x1F for v in values if v.tag & 0xC0 == 0x80)
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
        except DerError as exc:
            unknown.append(oid)
            sink.add(
                "catalog-member-unparsed",
                Severity.WARNING,
                f"{where}: attribute {oid} cannot be parsed ({exc.message}); kept raw",
                offset=exc.offset,
                member=index,
                oid=oid,
                hex=_raw_hex(buf, attr),
            )
    return TrustedSubject(
        index=index,
        identifier=identifier,
        indirect=indirect,
        guid=guid,
        info2_tags=tuple(info2_tags),
        attributes=attrs,
        unknown_attributes=tuple(unknown),
    )


def _extensions(buf: bytes, tlv: Tlv, sink: FindingSink) -> dict[str, str]:
    """ctlExtensions [0] EXPLICIT SEQUENCE OF Extension { extnID, critical, extnValue }."""
    attrs: dict[str, str] = {}
    where = "catalog"
    try:
        inner = list(der.children(buf, tlv))
        if len(inner) != 1:
            raise DerError("ctlExtensions [0] does not hold exactly one value", offset=tlv.start)
        exts = list(der.children(buf, der.expect(inner[0], der.SEQUENCE, "Extensions")))
    except DerError as exc:
        sink.add(
            "catalog-attribute-unparsed",
            Severity.WARNING,
            f"catalog extensions cannot be read ({exc.message})",
            offset=exc.offset,
            hex=_raw_hex(buf, tlv),
        )
        return attrs
    for ext in exts:
        oid = "?"
        try:
            parts = list(der.children(buf, der.expect(ext, der.SEQUENCE, "Extension")))
            if not parts:
                raise DerError("empty Extension", offset=ext.start)
            oid = der.oid(buf, parts[0])
            rest = [p for p in parts[1:] if p.tag != der.BOOLEAN]
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
                raise DerError("name/value extension without a value", offset=ext.start)
            value = der.expect(rest[0], der.OCTET_STRING, "extnValue")
            nv_tlv = der.read_tlv(buf, value.body, value.end)
            _put(attrs, _name_value(buf, nv_tlv, sink, where), sink, where, ext.start)
        except DerError as exc:
            sink.add(
                "catalog-attribute-unparsed",
                Severity.WARNING,
                f"catalog extension {oid} cannot be parsed ({exc.message}); kept raw",
                offset=exc.offset,
                oid=oid,
                hex=_raw_hex(buf, ext),
            )
    return attrs
