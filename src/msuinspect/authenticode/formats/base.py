"""The seam between the signed file formats and the signature pass.

Each format (a cabinet or MSU, a PE image, a PKCS#7 or catalog file, anything else) is a
:class:`SignedFormat`: it recognises its first bytes and opens a file into a
:class:`FormatView` that says what the file is (:class:`FileKind`), where its signature
blobs are, which bytes its signatures cover (the :class:`HashPlan`) and what the format
itself noticed. :mod:`msuinspect.authenticode.inspect` parses the blobs, hashes the file
once and verifies, the same way for every format (the shape of osslsigncode's
``file_format_st`` table and of signify's ``AuthenticodeFile`` subclasses).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from msuinspect.authenticode.ranges import HashPlan
from msuinspect.authenticode.signature import ParsedSignature
from msuinspect.cab.cabinet import Cabinet
from msuinspect.cms.signed_data import SignedDataView
from msuinspect.errors import MsuInspectError
from msuinspect.findings import Finding
from msuinspect.limits import Limits
from msuinspect.source import ByteSource

LAYER = "authenticode"

#: algorithm -> digest
Digests = dict[str, bytes]


class FileKind(StrEnum):
    MSU = "msu"
    CAB = "cab"
    PE = "pe"
    CATALOG = "catalog"
    PKCS7 = "pkcs7"
    UNKNOWN = "unknown"


#: the kinds that carry a signature of their own (signed or not): a report on one of them
#: is a signature report even when it found no signature
SIGNABLE_KINDS = frozenset({FileKind.CAB, FileKind.MSU, FileKind.PE, FileKind.CATALOG})


@dataclass(frozen=True, slots=True)
class ParsedBlob:
    """A signature blob read as SignedData: its signatures, the SignedData (None when it
    cannot be parsed) and what parsing noticed (in report order)."""

    signatures: list[ParsedSignature]
    signed_data: SignedDataView | None
    findings: list[Finding]


@dataclass(frozen=True, slots=True)
class SignatureBlob:
    """One signature blob of a file: its bytes and their offset in the file.

    ``after`` are findings about the area around the blob, reported after the ones its
    parsing gives; ``parsed`` is set when the format had to parse the blob to know what the
    file is (a PKCS#7 file), so that it is not parsed twice."""

    data: bytes
    offset: int
    after: tuple[Finding, ...] = ()
    parsed: ParsedBlob | None = None


@dataclass(slots=True)
class FormatView:
    """One file as its format sees it."""

    kind: FileKind
    #: the format's own findings, reported before anything its blobs give
    findings: list[Finding] = field(default_factory=list)
    blobs: list[SignatureBlob] = field(default_factory=list)
    #: the bytes the file's Authenticode digest covers; None when the file has no such
    #: digest (a detached signature or a catalog signs other bytes)
    plan: HashPlan | None = None
    #: Authenticode digests computed whatever the signatures name, and kept in the report
    #: (``authenticode_digests``): what catalogs list for this format's files (PE)
    catalog_algorithms: tuple[str, ...] = ()
    #: (Authenticode, whole-file) digests the format computed while reading its blobs (a
    #: nested cabinet read as a stream); used when they hold every algorithm needed
    prehashed: tuple[Digests, Digests] | None = None
    #: the SignedData of a PKCS#7 file, for a catalog parser to reuse
    signed_data: SignedDataView | None = None
    #: what stopped the format part-way; its findings so far stand
    error: MsuInspectError | None = None


class SignedFormat(Protocol):
    """One signed file format (see the module docstring)."""

    @property
    def name(self) -> str:
        """A short name for the format (``cab``, ``pe``, ``pkcs7``, ``flat``)."""
        ...

    @property
    def kind(self) -> FileKind:
        """What a file this format recognises is, before it is opened (the view may
        refine it: a cabinet holding WSUSSCAN.cab is an MSU, a PKCS#7 file a catalog)."""
        ...

    def sniff(self, head: bytes) -> bool:
        """Whether ``head`` (the first 64 bytes or more) starts a file of this format."""
        ...

    def open(
        self,
        source: ByteSource,
        *,
        cabinet: Cabinet | None = None,
        limits: Limits,
        file_hashes: bool = True,
    ) -> FormatView:
        """Read ``source`` within ``limits``. ``cabinet`` is the cabinet at offset 0 of
        ``source`` when the caller opened it already (only the cabinet format uses it);
        ``file_hashes``: whether the whole-file SHA-1/SHA-256 are wanted (a format that
        hashes while reading its blobs computes them in the same pass). Raises
        :class:`MsuInspectError` for a file the format cannot read at all."""
        ...
