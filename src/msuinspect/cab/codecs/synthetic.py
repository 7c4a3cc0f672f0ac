"""A single-folder, single-file cabinet built on the fly from one folder's CFDATA blocks.

Third-party decoders parse cabinets themselves and some reject valid Microsoft cabinets
(libarchive refuses members that are not contiguous, for example). Feeding them this
minimal cabinet instead means the project's own parser alone decides the members, and the
backends only decompress. CFDATA blocks are re-emitted without reserve and with checksum 0
(checksums were already verified by :mod:`msuinspect.cab.cfdata`), unless the backend is
asked to verify them itself (``keep_checksums``), which it does in C.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator

from msuinspect.cab.cfdata import DataBlock
from msuinspect.cab.structs import MAX_FOLDER_EXTENT, Compression
from msuinspect.errors import CodecError

_NAME = b"x\x00"
HEADER_LEN = 36 + 8 + 16 + len(_NAME)


def synthetic_header(compression: Compression, block_count: int, need: int) -> bytes:
    if need > MAX_FOLDER_EXTENT:
        raise CodecError(
            f"folder extent {need} exceeds what a single CAB member can describe "
            f"({MAX_FOLDER_EXTENT}); this backend cannot decode it"
        )
    cfheader = struct.pack(
        "<4sIIIIIBBHHHHH",
        b"MSCF",
        0,
        0x7FFFFFFF,  # cbCabinet: unknown in advance; decoders do not rely on it
        0,
        36 + 8,  # coffFiles
        0,
        3,
        1,
        1,  # cFolders
        1,  # cFiles
        0,  # flags
        0,
        0,
    )
    cffolder = struct.pack("<IHH", HEADER_LEN, min(block_count, 0xFFFF), compression.raw)
    cffile = struct.pack("<IIHHHH", need, 0, 0, 0x21, 0, 0x20) + _NAME
    return cfheader + cffolder + cffile


class SyntheticCab:
    """A forward-only byte stream: the synthetic header, then the folder's blocks."""

    def __init__(
        self,
        blocks: Iterator[DataBlock],
        compression: Compression,
        block_count: int,
        need: int,
        keep_checksums: bool = False,
    ) -> None:
        self._blocks = blocks
        self._keep = keep_checksums
        self._chunk = memoryview(synthetic_header(compression, block_count, need))
        self._pos_in_chunk = 0
        self.position = 0
        self.eof = False
        #: bytes to serve again first: (file, length, served), see :meth:`replay_first`
        self._replay: tuple[int, int, int] | None = None

    def _next_chunk(self) -> bool:
        try:
            b = next(self._blocks)
        except StopIteration:
            self.eof = True
            return False
        csum = b.csum if self._keep else 0
        self._chunk = memoryview(struct.pack("<IHH", csum, b.cb_data, b.cb_uncomp) + b.data)
        self._pos_in_chunk = 0
        return True

    def replay_first(self, fd: int, n: int) -> None:
        """Serve the ``n`` bytes already read (kept in the file ``fd``, which this object
        now owns and closes) again from the start, then carry on."""
        self._replay = (fd, n, 0)
        self.position = 0

    def _read_replay(self, buf: memoryview) -> int:
        assert self._replay is not None
        fd, n, done = self._replay
        filled = 0
        while filled < len(buf) and done < n:
            got = os.preadv(fd, [buf[filled : filled + n - done]], done)
            if got <= 0:
                break
            filled += got
            done += got
        if done >= n or filled < len(buf):
            os.close(fd)
            self._replay = None
        else:
            self._replay = (fd, n, done)
        return filled

    def readinto(self, buf: memoryview) -> int:
        """Copy up to ``len(buf)`` bytes (fewer only at the end); 0 at the end."""
        filled = 0
        want = len(buf)
        if self._replay is not None:
            filled = self._read_replay(buf)
        while filled < want:
            avail = len(self._chunk) - self._pos_in_chunk
            if avail == 0:
                if self.eof or not self._next_chunk():
                    break
                continue
            n = min(avail, want - filled)
            buf[filled : filled + n] = self._chunk[self._pos_in_chunk : self._pos_in_chunk + n]
            self._pos_in_chunk += n
            filled += n
        self.position += filled
        return filled

    def skip(self, n: int) -> int:
        """Discard up to ``n`` bytes; returns how many were skipped."""
        scratch = memoryview(bytearray(min(n, 1 << 16)))
        done = 0
        while done < n:
            got = self.readinto(scratch[: min(len(scratch), n - done)])
            if got == 0:
                break
            done += got
        return done
