"""Windows catalog (``.cat``) files: what the certificate trust list of a catalog means.

:mod:`msuinspect.cms.ctl` reads the CTL inside the PKCS#7 SignedData ([domain.md] section
6); this module turns it into a :class:`Catalog`: its version (by subjectAlgorithm), each
member's hash and the SIP that computes it, the ``File`` and ``OSAttr`` name/values, and
lookups by digest and by identifier. Oddities become findings (layer ``catalog``), never
exceptions; only input that is not a catalog at all raises :class:`CatalogFormatError`.

Members are bounded (:data:`MAX_MEMBERS`) and so are findings, so hostile input costs time
linear in its size and bounded memory.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from msuinspect.authenticode.algorithms import canonical
from msuinspect.cms.ctl import CatalogFormatError as CatalogFormatError
from msuinspect.cms.ctl import CtlReader, TrustedSubject, ctl_findings, utf16
from msuinspect.cms.oids import (
    CATALOG_LIST,
    CATALOG_LIST_MEMBER,
    CATALOG_LIST_MEMBER2,
    SPC_CAB_DATA,
    SPC_LINK,
    SPC_PE_IMAGE_DATA,
)
from msuinspect.cms.signed_data import SignedDataView, parse_signed_data
from msuinspect.errors import MsuInspectError
from msuinspect.findings import Finding, Severity
from msuinspect.limits import MAX_CATALOG_MEMBERS, Limits

#: most members read from one catalog; the rest are dropped with a finding (the default of
#: ``Limits.max_catalog_members``)
MAX_MEMBERS = MAX_CATALOG_MEMBERS
#: most tokens read from one OSAttr value
MAX_OS_ATTR_TOKENS = 256

SIP_GUID_FLAT = "{DE351A42-8E59-11D0-8C47-00C04FC295EE}"
SIP_GUID_PE = "{C689AAB8-8E78-11D0-8C47-00C04FC295EE}"
SIP_GUID_JAVA = "{C689AAB9-8E78-11D0-8C47-00C04FC295EE}"
SIP_GUID_CAB = "{C689AABA-8E78-11D0-8C47-00C04FC295EE}"
SIP_GUID_MSI = "{000C10F1-0000-0000-C000-000000000046}"


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


def _sip_from_guid(guid: str | None) -> SipKind | None:
    if not guid:
        return None
    norm = "{" + guid.strip().strip("{}").upper() + "}"
    return _SIP_BY_GUID.get(norm, SipKind.UNKNOWN)


#: CAT_MEMBERINFO2 carries one empty context-specific value whose tag number matches the
#: member's SIP in every catalog of the corpus: [0] with PE image data, [1] with an SpcLink
#: (a cabinet), [2] with flat-file data (an inference, not a published schema)
_MEMBERINFO2_SIP = {0: SipKind.PE, 1: SipKind.CAB, 2: SipKind.FLAT}


def _member_info2_hint(tags: tuple[int, ...]) -> SipKind | None:
    """The SIP named by the first CAT_MEMBERINFO2 tag number that names one."""
    for tag in tags:
        if (hint := _MEMBERINFO2_SIP.get(tag)) is not None:
            return hint
    return None


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


def _text_tag(identifier: bytes) -> str | None:
    """A version 1 member tag: printable UTF-16LE text, NUL-terminated."""
    if len(identifier) < 4 or identifier[-2:] != b"\x00\x00":
        return None
    text = utf16(identifier, big_endian=False)
    if not text or not text.isprintable():
        return None
    return text


def _lookup(attrs: Mapping[str, str], name: str) -> str | None:
    if name in attrs:
        return attrs[name]
    folded = name.casefold()
    for k, v in attrs.items():
        if k.casefold() == folded:
            return v
    return None


def _member(subject: TrustedSubject, version: int) -> CatalogMember:
    identifier = subject.identifier
    text = _text_tag(identifier) if version != 2 else None
    indirect = subject.indirect
    subject_type = indirect.subject_type if indirect else None
    sip = _sip(subject_type, _sip_from_guid(subject.guid), _member_info2_hint(subject.info2_tags))
    os_text = _lookup(subject.attributes, "OSAttr")
    return CatalogMember(
        index=subject.index,
        identifier=identifier,
        tag=text if text is not None else identifier.hex().upper(),
        digest_algorithm=canonical(indirect.algorithm) if indirect else None,
        digest=indirect.digest if indirect else None,
        subject_type=subject_type,
        sip=sip,
        sip_guid=subject.guid,
        file_name=_lookup(subject.attributes, "File"),
        os_attr=parse_os_attr(os_text) if os_text is not None else (),
        attributes=subject.attributes,
        unknown_attributes=subject.unknown_attributes,
    )


def parse_catalog(
    blob: bytes,
    *,
    max_members: int | None = None,
    view: SignedDataView | None = None,
    path: str | None = None,
    limits: Limits | None = None,
) -> Catalog:
    """Parse a catalog (or another CTL such as ``authroot.stl``).

    ``view``, when given, is ``parse_signed_data(blob)`` already done by the caller (the
    signature check parses the same bytes). Raises :class:`CatalogFormatError` when
    ``blob`` is not a PKCS#7 SignedData carrying a certificate trust list; oddities inside
    the CTL become findings (about ``path``, the catalog's node path, when given).
    At most ``max_members`` members are read (default ``limits.max_catalog_members``);
    ``limits`` (default :class:`Limits`) also bound the SignedData's parse.
    """
    limits = limits or Limits()
    if max_members is None:
        max_members = limits.max_catalog_members
    if view is None:
        try:
            view = parse_signed_data(bytes(blob), limits)
        except MsuInspectError as exc:
            raise CatalogFormatError(f"not a catalog: {exc.message}", offset=exc.offset) from exc
    sink = ctl_findings(path)
    reader = CtlReader(view, sink)
    header = reader.header()
    version = {CATALOG_LIST_MEMBER: 1, CATALOG_LIST_MEMBER2: 2}.get(header.subject_algorithm, 0)
    if CATALOG_LIST not in header.subject_usage:
        sink.add(
            "catalog-not-catalog-list",
            Severity.INFO,
            "the CTL's subjectUsage is not szOID_CATALOG_LIST: a trust list, not a file catalog",
            usage=list(header.subject_usage),
        )
    if version == 0:
        sink.add(
            "catalog-unknown-subject-algorithm",
            Severity.INFO,
            f"subjectAlgorithm {header.subject_algorithm} is not a catalog member algorithm",
            oid=header.subject_algorithm,
        )
    members = [_member(s, version) for s in reader.subjects(max_members)]
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
    attributes = reader.extensions()
    reader.finish()
    os_text = _lookup(attributes, "OSAttr")
    return Catalog(
        version=version,
        subject_usage=header.subject_usage,
        subject_algorithm=header.subject_algorithm,
        list_identifier=header.list_identifier,
        sequence_number=header.sequence_number,
        this_update=header.this_update,
        next_update=header.next_update,
        members=tuple(members),
        attributes=attributes,
        os_attr=parse_os_attr(os_text) if os_text is not None else (),
        signed=bool(view.signer_infos),
        findings=sink.result(),
    )
