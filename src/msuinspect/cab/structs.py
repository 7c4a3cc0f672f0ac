"""[MS-CAB] structures as typed, immutable records.

Every record keeps the absolute file offset it was read from, so that higher layers (the
Authenticode digest, reports) can point at bytes.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from enum import IntEnum
from typing import NamedTuple

SIGNATURE = b"MSCF"
CFHEADER_SIZE = 36

FLAG_PREV_CABINET = 0x0001
FLAG_NEXT_CABINET = 0x0002
FLAG_RESERVE_PRESENT = 0x0004

IFOLD_CONTINUED_FROM_PREV = 0xFFFD
IFOLD_CONTINUED_TO_NEXT = 0xFFFE
IFOLD_CONTINUED_PREV_AND_NEXT = 0xFFFF

ATTR_READONLY = 0x01
ATTR_HIDDEN = 0x02
ATTR_SYSTEM = 0x04
ATTR_ARCHIVE = 0x20
ATTR_EXEC = 0x40
ATTR_NAME_IS_UTF = 0x80

#: largest uncompressed size of one CFDATA block
MAX_BLOCK_UNCOMPRESSED = 32768
#: largest compressed size libmspack accepts for one block (32 KiB + worst-case overhead)
MAX_BLOCK_COMPRESSED = 32768 + 6144
#: largest folder offset any CAB reader accepts
MAX_FOLDER_EXTENT = 0x7FFF8000

#: the 20-byte header reserve of a signed cabinet starts with this little-endian marker
AUTHENTICODE_RESERVE_SIZE = 20
AUTHENTICODE_MARKER = 0x00100000


class CompressionKind(IntEnum):
    NONE = 0
    MSZIP = 1
    QUANTUM = 2
    LZX = 3


@dataclass(frozen=True, slots=True)
class Compression:
    """The ``typeCompress`` field of a CFFOLDER, decoded."""

    raw: int

    @property
    def kind(self) -> CompressionKind | None:
        k = self.raw & 0x000F
        return CompressionKind(k) if k in CompressionKind._value2member_map_ else None

    @property
    def window_bits(self) -> int | None:
        """LZX and Quantum window size as a power of two."""
        if self.kind in (CompressionKind.LZX, CompressionKind.QUANTUM):
            return (self.raw >> 8) & 0x1F
        return None

    @property
    def quantum_level(self) -> int | None:
        return (self.raw >> 4) & 0xF if self.kind is CompressionKind.QUANTUM else None

    def __str__(self) -> str:
        kind = self.kind
        if kind is None:
            return f"unknown(0x{self.raw:04x})"
        if kind is CompressionKind.NONE:
            return "None"
        if kind is CompressionKind.MSZIP:
            return "MSZIP"
        if kind is CompressionKind.LZX:
            return f"LZX:{self.window_bits}"
        return f"Quantum:{self.quantum_level}:{self.window_bits}"


@dataclass(frozen=True, slots=True)
class CabHeader:
    """CFHEADER plus the optional reserve fields and cabinet-set strings."""

    offset: int  #: absolute offset of ``MSCF`` in the source
    reserved1: int
    cb_cabinet: int
    reserved2: int
    coff_files: int
    reserved3: int
    version_minor: int
    version_major: int
    c_folders: int
    c_files: int
    flags: int
    set_id: int
    i_cabinet: int
    cb_cf_header: int  #: 0 when RESERVE_PRESENT is not set
    cb_cf_folder: int
    cb_cf_data: int
    header_reserve_offset: int | None  #: absolute offset of abReserve
    header_reserve: bytes
    prev_cabinet: bytes | None
    prev_disk: bytes | None
    next_cabinet: bytes | None
    next_disk: bytes | None
    strings_offset: int  #: absolute offset of the first cabinet-set string (or folders)
    folders_offset: int  #: absolute offset of the CFFOLDER array
    folders_end: int  #: absolute offset just past the CFFOLDER array

    @property
    def has_reserve(self) -> bool:
        return bool(self.flags & FLAG_RESERVE_PRESENT)

    @property
    def has_prev(self) -> bool:
        return bool(self.flags & FLAG_PREV_CABINET)

    @property
    def has_next(self) -> bool:
        return bool(self.flags & FLAG_NEXT_CABINET)

    @property
    def version(self) -> str:
        return f"{self.version_major}.{self.version_minor}"


@dataclass(frozen=True, slots=True)
class CabFolder:
    index: int
    record_offset: int  #: absolute offset of this CFFOLDER record
    coff_cab_start: int  #: offset of the first CFDATA, relative to the cabinet start
    c_cf_data: int
    compression: Compression
    reserve: bytes


class CabMember(NamedTuple):
    """One CFFILE entry.

    A named tuple rather than a frozen dataclass: a WSUS ``package.cab`` has about 5,000
    members and a batch opens dozens of them, and a tuple is built several times faster
    (``tuple.__new__``, no per-field ``object.__setattr__``). It is immutable all the same;
    use ``_replace`` for a modified copy.
    """

    index: int  # type: ignore[assignment]  # shadows tuple.index, as intended
    record_offset: int  #: absolute offset of this CFFILE record
    raw_name: bytes
    name: str  #: decoded: UTF-8 if the attribute says so, else ISO-8859-1 (like cabextract)
    safe_name: str  #: relative, '/'-separated name that is safe to create under a folder
    name_flags: frozenset[str]  #: why the raw name is not a plain relative path
    size: int  #: cbFile
    folder_index: int  #: iFolder as stored (0xFFFD..0xFFFF mean continued folders)
    offset: int  #: uoffFolderStart
    dos_date: int
    dos_time: int
    attributes: int

    @property
    def name_is_utf8(self) -> bool:
        return bool(self.attributes & ATTR_NAME_IS_UTF)

    @property
    def continued(self) -> bool:
        return self.folder_index >= IFOLD_CONTINUED_FROM_PREV

    @property
    def end(self) -> int:
        return self.offset + self.size

    @property
    def datetime(self) -> _dt.datetime | None:
        return dos_datetime(self.dos_date, self.dos_time)

    @property
    def attribute_letters(self) -> str:
        letters = [
            ("r", ATTR_READONLY),
            ("h", ATTR_HIDDEN),
            ("s", ATTR_SYSTEM),
            ("a", ATTR_ARCHIVE),
            ("x", ATTR_EXEC),
            ("u", ATTR_NAME_IS_UTF),
        ]
        return "".join(c if self.attributes & bit else "-" for c, bit in letters)


@dataclass(frozen=True, slots=True)
class SignatureArea:
    """Where a signed cabinet keeps its Authenticode PKCS#7 blob ([MS-CAB] header reserve).

    Offsets are absolute. ``der_length`` is the length of the DER object found at ``offset``
    (None when the bytes there do not start a DER SEQUENCE or run past the file end).
    """

    reserve_offset: int
    marker: int
    offset: int
    size: int
    reserve_tail: bytes  #: abReserve bytes 12..19 (osslsigncode writes zeros)
    file_size: int
    der_length: int | None
    probed: bool = True  #: False when the blob's first bytes were not read (nested source)

    @property
    def end(self) -> int:
        return self.offset + self.size

    @property
    def within_file(self) -> bool:
        return self.offset > 0 and self.end <= self.file_size

    @property
    def bytes_after(self) -> int:
        """Bytes in the file after the declared signature area."""
        return self.file_size - self.end


@dataclass(frozen=True, slots=True)
class CabLayout:
    """Everything about a cabinet's structure that can be known without decompressing."""

    header: CabHeader
    folders: tuple[CabFolder, ...]
    members: tuple[CabMember, ...]
    files_end: int  #: absolute offset just past the CFFILE table
    source_size: int  #: size of the source holding the cabinet
    signature: SignatureArea | None
    extra: dict[str, int] = field(default_factory=dict)

    @property
    def base(self) -> int:
        return self.header.offset

    @property
    def end(self) -> int:
        """Absolute offset of the end of the cabinet as declared by cbCabinet."""
        return self.header.offset + self.header.cb_cabinet


def dos_datetime(date: int, time: int) -> _dt.datetime | None:
    """Decode a DOS date/time pair; None when the fields do not form a real date."""
    try:
        return _dt.datetime(
            ((date >> 9) & 0x7F) + 1980,
            (date >> 5) & 0x0F,
            date & 0x1F,
            (time >> 11) & 0x1F,
            (time >> 5) & 0x3F,
            (time & 0x1F) * 2,
        )
    except ValueError:
        return None
