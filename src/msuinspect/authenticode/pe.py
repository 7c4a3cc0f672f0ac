"""PE files: where the Authenticode signature is and which bytes it covers.

The PE Authenticode digest covers the whole file except the optional header's CheckSum
(4 bytes), the security entry of the data directory (8 bytes) and the attribute certificate
table it points to; bytes after the table are covered (they make the digest fail, which is
why they are reported). The table holds 8-byte aligned WIN_CERTIFICATE entries
(dwLength, wRevision, wCertificateType, bCertificate); type 2 is PKCS#7 SignedData.
Headers are read with pefile (``fast_load``).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import pefile

from msuinspect.authenticode.ranges import HashPlan
from msuinspect.errors import FormatError
from msuinspect.findings import Finding, FindingSink, Severity
from msuinspect.limits import MAX_PE_CERTIFICATE_TABLE
from msuinspect.source import ByteSource

LAYER = "authenticode"
#: certificate tables larger than this are not read (real ones are tens of KB); the default
#: of ``Limits.max_pe_certificate_table``
MAX_CERTIFICATE_TABLE = MAX_PE_CERTIFICATE_TABLE
WIN_CERT_TYPE_PKCS_SIGNED_DATA = 0x0002
_SECURITY_INDEX = 4


class PEFormatError(FormatError):
    code = "pe-format"


@dataclass(frozen=True, slots=True)
class WinCertificate:
    offset: int
    length: int  #: dwLength (header included)
    revision: int
    cert_type: int
    data: bytes  #: bCertificate


@dataclass(slots=True)
class PELayout:
    size: int
    pe32plus: bool
    checksum_offset: int
    checksum: int
    security_entry_offset: int
    table_offset: int  #: 0 when there is no certificate table
    table_size: int
    certificates: list[WinCertificate] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def signed(self) -> bool:
        return any(c.cert_type == WIN_CERT_TYPE_PKCS_SIGNED_DATA for c in self.certificates)

    def hash_plan(self) -> HashPlan:
        ranges = [(0, self.checksum_offset), (self.checksum_offset + 4, self.security_entry_offset)]
        after_dir = self.security_entry_offset + 8
        if self.table_offset and self.table_size and self.table_offset >= after_dir:
            t_end = min(self.table_offset + self.table_size, self.size)
            ranges.append((after_dir, min(self.table_offset, self.size)))
            if t_end < self.size:
                ranges.append((t_end, self.size))
            return HashPlan(tuple(r for r in ranges if r[1] > r[0]))
        ranges.append((after_dir, self.size))
        # an unsigned image is hashed as if padded to 8 bytes (as when it gets signed)
        pad = (8 - self.size % 8) % 8 if not self.table_offset else 0
        return HashPlan(tuple(r for r in ranges if r[1] > r[0]), pad)


#: bytes read for the headers (pefile parses them from memory, with fast_load)
_HEADER_BYTES = 1 << 20


def parse_pe(source: ByteSource, *, max_table: int = MAX_CERTIFICATE_TABLE) -> PELayout:
    """Read the headers of the PE in ``source`` and its certificate table (at most
    ``max_table`` bytes of it, ``Limits.max_pe_certificate_table``)."""
    size = source.size
    with source.open() as f:
        head = f.read(_HEADER_BYTES)
    try:
        pe = pefile.PE(data=head, fast_load=True)
    except pefile.PEFormatError as exc:
        raise PEFormatError(f"not a valid PE file: {exc}", offset=0) from exc
    try:
        opt = pe.OPTIONAL_HEADER
        opt_offset = opt.get_file_offset()
        magic = opt.Magic
        if magic not in (0x10B, 0x20B):
            raise PEFormatError(f"unknown optional header magic 0x{magic:x}", offset=opt_offset)
        pe32plus = magic == 0x20B
        checksum_offset = opt_offset + 64
        dirs_offset = opt_offset + (112 if pe32plus else 96)
        nrva = opt.NumberOfRvaAndSizes
        sec_off = dirs_offset + 8 * _SECURITY_INDEX
        table_va = table_size = 0
        findings: list[Finding] = []
        if nrva > _SECURITY_INDEX and len(pe.OPTIONAL_HEADER.DATA_DIRECTORY) > _SECURITY_INDEX:
            entry = pe.OPTIONAL_HEADER.DATA_DIRECTORY[_SECURITY_INDEX]
            table_va, table_size = entry.VirtualAddress, entry.Size
        layout = PELayout(
            size,
            pe32plus,
            checksum_offset,
            opt.CheckSum,
            sec_off,
            table_va,
            table_size,
            findings=findings,
        )
    finally:
        # no pe.close(): it only matters for an mmap (not used: pefile reads ``head``) and
        # it runs a full gc.collect(), which cost more than all signature work on packages
        del pe
    if table_va and table_size:
        _read_table(source, layout, max_table)
    return layout


def _read_table(source: ByteSource, layout: PELayout, max_table: int) -> None:
    notes = FindingSink(LAYER, into=layout.findings)

    start, size = layout.table_offset, layout.table_size
    if start + size > layout.size:
        notes.add(
            "pe-certificate-table-outside-file",
            Severity.ERROR,
            f"the certificate table [{start}, {start + size}) runs past the end of the file "
            f"({layout.size} bytes)",
            start,
        )
        size = max(0, layout.size - start)
    if start % 8:
        notes.add(
            "pe-certificate-table-unaligned",
            Severity.WARNING,
            "the certificate table is not 8-byte aligned",
            start,
        )
    if size > max_table:
        notes.add(
            "pe-certificate-table-too-large",
            Severity.ERROR,
            f"the certificate table claims {size} bytes; only {max_table} are read "
            "(raise the cap with --max-pe-certificate-table)",
            start,
            limit=max_table,
        )
        size = max_table
    with source.open() as f:
        f.seek(start)
        table = f.read(size)
    pos = 0
    while pos + 8 <= len(table):
        length, revision, ctype = struct.unpack_from("<IHH", table, pos)
        if length < 8 or pos + length > len(table):
            notes.add(
                "pe-certificate-entry-invalid",
                Severity.ERROR,
                f"WIN_CERTIFICATE at {start + pos} declares {length} bytes",
                start + pos,
            )
            break
        layout.certificates.append(
            WinCertificate(start + pos, length, revision, ctype, table[pos + 8 : pos + length])
        )
        pos += (length + 7) & ~7
    if pos < len(table) and any(table[pos:]):
        notes.add(
            "signature-trailing-data",
            Severity.WARNING,
            f"{len(table) - pos} bytes in the certificate table after its last entry",
            start + pos,
        )
    if len(layout.certificates) > 1:
        notes.add(
            "pe-multiple-certificates",
            Severity.WARNING,
            f"{len(layout.certificates)} WIN_CERTIFICATE entries; Windows reads only the first",
            start,
        )
    end = layout.table_offset + layout.table_size
    if end < layout.size:
        notes.add(
            "pe-data-after-certificate-table",
            Severity.WARNING,
            f"{layout.size - end} bytes follow the certificate table; they are covered by "
            "the Authenticode digest but not where signing tools put them",
            end,
        )
