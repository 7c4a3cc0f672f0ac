"""Walk the CFDATA blocks of one folder, verifying checksums and bounds.

The walk is lazy: a decoder pulls blocks only as far as it needs output. It is shared by all
decoder backends, so checksum and structure checks do not depend on which backend runs.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from msuinspect.cab.checksum import cfdata_checksum
from msuinspect.cab.structs import (
    MAX_BLOCK_COMPRESSED,
    MAX_BLOCK_UNCOMPRESSED,
    CabFolder,
    CabLayout,
)
from msuinspect.errors import CabFormatError, ChecksumError, TruncatedError

_BLOCK = struct.Struct("<IHH")


@dataclass(frozen=True, slots=True)
class DataBlock:
    offset: int  #: absolute offset of the CFDATA header
    csum: int
    cb_data: int
    cb_uncomp: int
    reserve: bytes
    data: bytes


class BlockCounter:
    """Running totals of one folder walk (for ratio limits and reports)."""

    __slots__ = ("blocks", "compressed", "exhausted", "overflowed", "uncompressed")

    def __init__(self) -> None:
        self.blocks = 0
        self.compressed = 0
        self.uncompressed = 0
        self.overflowed = False
        #: set by the caller once every block of the folder has been read
        self.exhausted = False


def iter_blocks(
    f: BinaryIO,
    layout: CabLayout,
    folder: CabFolder,
    *,
    need: int,
    counter: BlockCounter | None = None,
    on_overflow: Callable[[int], None] | None = None,
    verify_checksums: bool = True,
) -> Iterator[DataBlock]:
    """Yield the folder's CFDATA blocks in order.

    ``need`` is how many uncompressed bytes the caller wants; it only matters when the
    declared block count (a 16-bit field) is too small for the declared members, which
    happens in cabinets over 2 GiB: then blocks are read on while they look valid and
    ``on_overflow`` is told.
    """
    counter = counter or BlockCounter()
    base = layout.base
    end_limit = layout.source_size
    hdr_len = 8 + layout.header.cb_cf_data
    pos = base + folder.coff_cab_start
    declared = folder.c_cf_data
    count = 0  # blocks of this folder (the counter may span several folders of a set)
    produced = 0
    overflowing = False
    f.seek(pos)
    while True:
        if count >= declared or overflowing:
            # more blocks than a 16-bit count can say: continue only while the members need
            # more bytes and the next header is sane (a backend that reads ahead must not
            # run into the end of the file)
            if produced >= need or pos + hdr_len > end_limit:
                return
            peek = f.read(hdr_len)
            f.seek(pos)
            if len(peek) < hdr_len:
                return
            _c, cb_data, cb_uncomp = _BLOCK.unpack_from(peek)
            if not (0 < cb_uncomp <= MAX_BLOCK_UNCOMPRESSED and cb_data <= MAX_BLOCK_COMPRESSED):
                return
            if count >= declared:
                declared += 65536
                overflowing = True
                if not counter.overflowed:
                    counter.overflowed = True
                    if on_overflow is not None:
                        on_overflow(pos)
        header = f.read(hdr_len)
        if len(header) < hdr_len:
            raise TruncatedError(
                f"file ends inside CFDATA header #{count} of folder {folder.index}",
                offset=pos,
            )
        csum, cb_data, cb_uncomp = _BLOCK.unpack_from(header)
        if cb_data > MAX_BLOCK_COMPRESSED:
            raise CabFormatError(
                f"CFDATA block #{count} of folder {folder.index} declares "
                f"{cb_data} compressed bytes (maximum {MAX_BLOCK_COMPRESSED})",
                offset=pos,
            )
        if cb_uncomp > MAX_BLOCK_UNCOMPRESSED:
            raise CabFormatError(
                f"CFDATA block #{count} of folder {folder.index} declares "
                f"{cb_uncomp} uncompressed bytes (maximum {MAX_BLOCK_UNCOMPRESSED})",
                offset=pos,
            )
        data = f.read(cb_data)
        if len(data) < cb_data:
            raise TruncatedError(
                f"file ends inside CFDATA block #{count} of folder {folder.index}",
                offset=pos,
            )
        if verify_checksums and csum != 0:
            calc = cfdata_checksum(header[4:], data)
            if calc != csum:
                raise ChecksumError(
                    f"CFDATA block #{count} of folder {folder.index}: checksum "
                    f"0x{csum:08x} stored, 0x{calc:08x} computed",
                    offset=pos,
                )
        count += 1
        produced += cb_uncomp
        counter.blocks += 1
        counter.compressed += cb_data
        counter.uncompressed += cb_uncomp
        yield DataBlock(pos, csum, cb_data, cb_uncomp, bytes(header[8:]), data)
        pos += hdr_len + cb_data


def last_block_is_split(f: BinaryIO, layout: CabLayout, folder: CabFolder) -> bool:
    """Whether the folder's last CFDATA block continues in the next cabinet of a set
    (its ``cbUncomp`` is 0). Reads only block headers."""
    hdr_len = 8 + layout.header.cb_cf_data
    pos = layout.base + folder.coff_cab_start
    for i in range(folder.c_cf_data):
        f.seek(pos)
        header = f.read(hdr_len)
        if len(header) < hdr_len:
            return False
        _csum, cb_data, cb_uncomp = _BLOCK.unpack_from(header)
        if i == folder.c_cf_data - 1:
            return bool(cb_uncomp == 0)
        pos += hdr_len + cb_data
    return False
