"""LZX (and MSZIP) decoding through libarchive, via the libarchive-c binding.

libarchive releases the GIL while decoding and streams; it is the recommended fast path.
It reads a synthetic cabinet (:mod:`.synthetic`) produced on the fly from our own CFDATA
walk, so nothing is written anywhere.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import Any

from msuinspect.cab.cfdata import DataBlock
from msuinspect.cab.codecs.base import Codec
from msuinspect.cab.codecs.synthetic import SyntheticCab
from msuinspect.cab.structs import Compression, CompressionKind
from msuinspect.errors import CodecError, MsuInspectError

_READ_SIZE = 1 << 16
_OUT_BLOCK = 1 << 16


class LibarchiveCodec(Codec):
    key = "libarchive"
    verifies_checksums = True
    kinds = frozenset({CompressionKind.LZX, CompressionKind.MSZIP, CompressionKind.NONE})
    #: libarchive 3.6.2 copies a match from before the folder's start out of its
    #: uninitialised window (libarchive's own test_read_format_cab_lzx_invalid_history.cab
    #: decodes to different bytes from run to run; libmspack and 7-Zip reject it)
    rejects_lzx_before_start = False

    def __init__(self, module: Any) -> None:
        self._la = module
        number = int(module.ffi.version_number())
        self._version = f"{number // 1000000}.{number // 1000 % 1000}.{number % 1000}"

    @property
    def description(self) -> str:
        return f"libarchive {self._version}"

    def decode(
        self,
        blocks: Iterator[DataBlock],
        compression: Compression,
        block_count: int,
        need: int,
        *,
        keep_checksums: bool = False,
    ) -> Generator[bytes, None, None]:
        la = self._la
        stream = _Feed(SyntheticCab(blocks, compression, block_count, need, keep_checksums))
        produced = 0
        try:
            with la.stream_reader(stream, format_name="cab", block_size=_READ_SIZE) as archive:
                for entry in archive:
                    for chunk in entry.get_blocks(block_size=_OUT_BLOCK):
                        produced += len(chunk)
                        yield chunk
                    break
        except la.ArchiveError as exc:
            failure = stream.failure
            if failure:
                inner = failure[0]
                if isinstance(inner, MsuInspectError):
                    raise inner from None
                raise CodecError(f"libarchive input failed: {inner}") from inner
            raise CodecError(f"libarchive: {_clean(exc)}") from None
        if stream.failure:
            inner = stream.failure[0]
            if isinstance(inner, MsuInspectError):
                raise inner
            raise CodecError(f"libarchive input failed: {inner}") from inner
        if produced < need:
            raise CodecError(f"libarchive produced {produced} bytes, {need} needed")


class _Feed:
    """The non-seekable ``readinto`` object libarchive-c pulls from. Exceptions must not
    cross the C boundary, so they are kept and re-raised after libarchive gives up."""

    def __init__(self, cab: SyntheticCab) -> None:
        self.cab = cab
        self.failure: list[BaseException] = []

    def seekable(self) -> bool:
        return False

    def readinto(self, buf: Any) -> int:
        try:
            return self.cab.readinto(memoryview(buf).cast("B"))
        except BaseException as exc:
            self.failure.append(exc)
            return -30  # ARCHIVE_FATAL


def _clean(exc: BaseException) -> str:
    msg = getattr(exc, "msg", None) or str(exc)
    return str(msg).strip()


def load_libarchive() -> LibarchiveCodec | None:
    """The backend, or None when libarchive-c or the libarchive library is missing."""
    try:
        import libarchive
    except (ImportError, OSError, AttributeError):
        return None
    try:
        return LibarchiveCodec(libarchive)
    except Exception:
        return None
