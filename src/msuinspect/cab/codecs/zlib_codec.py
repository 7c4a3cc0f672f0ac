"""In-house decoder for stored and MSZIP folders (zlib).

MSZIP ([MS-MCI]): every CFDATA block holds ``CK`` followed by a raw deflate stream that
decompresses to exactly ``cbUncomp`` bytes; the 32 KiB window carries over from the
previous block, so each block is inflated with the previous output as preset dictionary.
"""

from __future__ import annotations

import zlib
from collections.abc import Generator, Iterator

from msuinspect.cab.cfdata import DataBlock
from msuinspect.cab.codecs.base import Codec
from msuinspect.cab.structs import Compression, CompressionKind
from msuinspect.errors import CodecError

_WINDOW = 32768


class ZlibCodec(Codec):
    key = "zlib"
    kinds = frozenset({CompressionKind.NONE, CompressionKind.MSZIP})

    @property
    def description(self) -> str:
        return f"in-house stored/MSZIP reader (zlib {zlib.ZLIB_RUNTIME_VERSION})"

    def decode(
        self,
        blocks: Iterator[DataBlock],
        compression: Compression,
        block_count: int,
        need: int,
        *,
        keep_checksums: bool = False,
    ) -> Generator[bytes, None, None]:
        if compression.kind is CompressionKind.NONE:
            return self._stored(blocks)
        return self._mszip(blocks)

    @staticmethod
    def _stored(blocks: Iterator[DataBlock]) -> Generator[bytes, None, None]:
        for b in blocks:
            if b.cb_data != b.cb_uncomp:
                raise CodecError(
                    f"stored CFDATA block has {b.cb_data} bytes but declares {b.cb_uncomp}",
                    offset=b.offset,
                )
            yield b.data

    @staticmethod
    def _mszip(blocks: Iterator[DataBlock]) -> Generator[bytes, None, None]:
        history = b""
        for b in blocks:
            if b.cb_uncomp == 0:
                raise CodecError(
                    "CFDATA block continues in the next cabinet (cbUncomp = 0)", offset=b.offset
                )
            if b.data[:2] != b"CK":
                raise CodecError("MSZIP block does not start with 'CK'", offset=b.offset)
            d = zlib.decompressobj(-15, zdict=history) if history else zlib.decompressobj(-15)
            try:
                out = d.decompress(memoryview(b.data)[2:], b.cb_uncomp)
            except zlib.error as exc:
                raise CodecError(f"MSZIP block does not inflate: {exc}", offset=b.offset) from exc
            if len(out) != b.cb_uncomp or d.unconsumed_tail:
                raise CodecError(
                    f"MSZIP block inflates to {len(out)}{'+' if d.unconsumed_tail else ''} "
                    f"bytes, {b.cb_uncomp} declared",
                    offset=b.offset,
                )
            history = out if len(out) >= _WINDOW else (history + out)[-_WINDOW:]
            yield out
