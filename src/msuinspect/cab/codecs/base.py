"""The backend interface every decoder implements (the registry is
:mod:`msuinspect.cab.codecs.registry`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Generator, Iterator

from msuinspect.cab.cfdata import DataBlock
from msuinspect.cab.structs import Compression, CompressionKind


class Codec(ABC):
    """Decodes the CFDATA blocks of one folder into its uncompressed byte stream."""

    #: short identifier (``zlib``, ``libarchive``, ``libmspack``)
    key: str
    #: compression kinds this backend decodes
    kinds: frozenset[CompressionKind]
    #: the backend checks CFDATA checksums itself (in C), so they can be handed to it
    verifies_checksums: bool = False
    #: the backend rejects LZX matches that reach back before the start of the folder;
    #: one that does not returns whatever its window buffer held there (stale memory), so
    #: the decoder has the start of its output checked by one that does
    rejects_lzx_before_start: bool = True

    @property
    @abstractmethod
    def description(self) -> str:
        """Name and version, shown to users (``libarchive 3.6.2``)."""

    @abstractmethod
    def decode(
        self,
        blocks: Iterator[DataBlock],
        compression: Compression,
        block_count: int,
        need: int,
        *,
        keep_checksums: bool = False,
    ) -> Generator[bytes, None, None]:
        """Yield decoded bytes from the start of the folder; at least ``need`` bytes unless the
        data ends first. Raise :class:`~msuinspect.errors.CodecError` on bad data.

        With ``keep_checksums`` (only asked of backends that verify checksums, and only when
        blocks carry no reserve) the blocks' stored checksums are passed on for the backend
        to verify; otherwise they were verified already."""
