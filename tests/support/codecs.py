"""Test decoders: a real backend's output, changed on the way (a failure after some bytes,
a flipped byte), for the fallback and checking paths of :mod:`msuinspect.cab.decode`."""

from __future__ import annotations

from collections.abc import Generator, Iterator

from msuinspect.cab.cfdata import DataBlock
from msuinspect.cab.codecs.base import Codec
from msuinspect.cab.structs import Compression, CompressionKind


class RewritingCodec(Codec):
    """``inner``'s output passed through :meth:`rewrite`, under another key and kinds."""

    key = "rewriting"

    def __init__(self, inner: Codec, kinds: frozenset[CompressionKind]) -> None:
        self.inner = inner
        self.kinds = kinds

    @property
    def description(self) -> str:
        return f"{self.key} test codec"

    def rewrite(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        yield from chunks

    def decode(
        self,
        blocks: Iterator[DataBlock],
        compression: Compression,
        block_count: int,
        need: int,
        *,
        keep_checksums: bool = False,
    ) -> Generator[bytes, None, None]:
        yield from self.rewrite(self.inner.decode(blocks, compression, block_count, need))
