"""Cabinets built from nothing ([MS-CAB]), and the CFDATA checksum written from the
specification.

A cabinet here is a header, one CFFOLDER per folder, the CFFILE table, then chains of CFDATA
blocks; several folders may name the same chain, several members the same bytes -- which is
how the hostile tests build overlaps. Checksums are 0 ("not checked") unless asked for.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence

STORED, MSZIP = 0, 1
#: the most uncompressed bytes one CFDATA block holds
BLOCK = 32768
#: set ID of every cabinet built here
SET_ID = 0x4D53

#: one CFFILE: name, size, folder index, offset in the folder's uncompressed bytes
Member = tuple[bytes, int, int, int]


def ref_csum(data: bytes, seed: int = 0) -> int:
    """[MS-CAB] 2.4 ``CSUMCompute``, transcribed word by word (the reference the
    implementation in ``msuinspect.cab.checksum`` is tested against)."""
    csum = seed
    n = len(data)
    i = 0
    for _ in range(n // 4):
        csum ^= data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24)
        i += 4
    ul = 0
    rem = n % 4
    if rem == 3:
        ul |= data[i] << 16
        i += 1
    if rem >= 2:
        ul |= data[i] << 8
        i += 1
    if rem >= 1:
        ul |= data[i]
    return (csum ^ ul) & 0xFFFFFFFF


def ref_cfdata_checksum(header_tail: bytes, data: bytes) -> int:
    """The checksum stored in CFDATA: the data, then cbData/cbUncomp/reserve, chained."""
    return ref_csum(header_tail, ref_csum(data, 0))


def cfdata(body: bytes, uncompressed: int, *, checksum: bool = False) -> bytes:
    """One CFDATA block (no reserve) holding ``body``."""
    tail = struct.pack("<HH", len(body), uncompressed)
    csum = ref_cfdata_checksum(tail, body) if checksum else 0
    return struct.pack("<I", csum) + tail + body


def stored_blocks(data: bytes, *, checksums: bool = False) -> list[bytes]:
    """CFDATA blocks holding ``data`` uncompressed, :data:`BLOCK` bytes each."""
    return [
        cfdata(data[i : i + BLOCK], len(data[i : i + BLOCK]), checksum=checksums)
        for i in range(0, len(data), BLOCK)
    ]


def mszip_blocks(data: bytes) -> list[bytes]:
    """CFDATA blocks holding ``data`` as MSZIP, each block a self-contained deflate stream."""
    out = []
    seen: dict[bytes, bytes] = {}  # repeated blocks are compressed once
    for i in range(0, len(data), BLOCK):
        chunk = data[i : i + BLOCK]
        block = seen.get(chunk)
        if block is None:
            c = zlib.compressobj(9, zlib.DEFLATED, -15)
            block = seen[chunk] = cfdata(b"CK" + c.compress(chunk) + c.flush(), len(chunk))
        out.append(block)
    return out


def cabinet(
    members: Sequence[Member],
    chains: Sequence[Sequence[bytes]],
    folders: Sequence[tuple[int, int]],
    *,
    declared_blocks: Sequence[int] | None = None,
) -> bytes:
    """A cabinet whose folders (chain index, compression) point into ``chains`` (lists of
    CFDATA blocks); several folders may name the same chain. ``declared_blocks`` overrides
    each folder's CFDATA count (default: its chain's length)."""
    table = b"".join(
        struct.pack("<IIHHHH", size, off, fidx, 0x5A21, 0x6000, 0x20) + name + b"\0"
        for name, size, fidx, off in members
    )
    coff_files = 36 + 8 * len(folders)
    data_start = coff_files + len(table)
    starts, area = [], b""
    for blocks in chains:
        starts.append(data_start + len(area))
        area += b"".join(blocks)
    counts = declared_blocks or [len(chains[ci]) for ci, _ in folders]
    folder_recs = b"".join(
        struct.pack("<IHH", starts[ci], count, comp)
        for (ci, comp), count in zip(folders, counts, strict=True)
    )
    total = data_start + len(area)
    header = struct.pack(
        "<4sIIIIIBBHHHHH",
        b"MSCF",
        0,
        total,
        0,
        coff_files,
        0,
        3,
        1,
        len(folders),
        len(members),
        0,
        SET_ID,
        0,
    )
    return header + folder_recs + table + area


def stored_cab(files: Sequence[tuple[bytes, bytes]], *, checksums: bool = False) -> bytes:
    """One stored folder holding ``files`` (name, bytes) one after the other."""
    members: list[Member] = []
    off = 0
    for name, body in files:
        members.append((name, len(body), 0, off))
        off += len(body)
    payload = b"".join(b for _, b in files)
    return cabinet(members, [stored_blocks(payload, checksums=checksums)], [(0, STORED)])
