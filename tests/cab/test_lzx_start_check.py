"""LZX folders go first to a backend that rejects matches before the folder's start
(libmspack); the output of one that does not (libarchive 3.6.2 copies them out of its
uninitialised window) is checked over its first window by one that does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from msuinspect.cab.cabinet import Cabinet
from msuinspect.cab.codecs.base import Codec
from msuinspect.cab.codecs.registry import default_codecs
from msuinspect.cab.structs import CompressionKind
from msuinspect.cab.tree import scan
from msuinspect.source import FileSource

from support.codecs import RewritingCodec
from support.corpus import corpus_dir

pytestmark = pytest.mark.corpus


def _corpus(rel: str) -> Path:
    root = corpus_dir()
    if root is None:
        pytest.skip("real-file corpus not found")
    return Path(root) / rel


def _codec(key: str) -> Codec:
    for c in default_codecs():
        if c.key == key:
            return c
    pytest.skip(f"{key} not installed")


class _Lenient(RewritingCodec):
    """libmspack's output, presented as a backend that does not check LZX history, with
    one byte changed at ``flip`` (None: unchanged)."""

    key = "lenient"
    rejects_lzx_before_start = False

    def __init__(self, inner: Codec, flip: int | None) -> None:
        super().__init__(inner, frozenset({CompressionKind.LZX}))
        self.flip = flip

    def rewrite(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        pos = 0
        for chunk in chunks:
            if self.flip is not None and pos <= self.flip < pos + len(chunk):
                b = bytearray(chunk)
                b[self.flip - pos] ^= 0xFF
                chunk = bytes(b)
            pos += len(chunk)
            yield chunk


def _digests(cab: Cabinet) -> list[tuple[str, str | None, str | None]]:
    tree = scan(cab, decode=True, hashes=True, recursive=False)
    return [(m.member.name, m.sha256, m.error.code if m.error else None) for m in tree.members]


def test_invalid_history_is_refused_every_time() -> None:
    """libarchive's own test cabinet: a match before the start. Decoded bytes would be stale
    memory (they differed between runs); like cabextract and 7-Zip, msuinspect refuses it."""
    path = _corpus("cab/libarchive/test_read_format_cab_lzx_invalid_history.cab")
    for keys in (None, ["libarchive"]):
        codecs = None if keys is None else [_codec(k) for k in keys]
        for _ in range(3):
            cab = Cabinet.open(FileSource(str(path)), codecs=codecs)
            assert [(n, h, e) for n, h, e in _digests(cab)] == [("x", None, "decode-error")]
            assert "rejects" in " ".join(r.describe() for r in cab.decode_log)


def test_the_first_window_is_checked_and_the_rest_is_not_held() -> None:
    """A real LZX:21 folder larger than its window: a change in the first 2 MiB is caught
    (the backends disagree), the unchanged output passes with the right digests."""
    path = _corpus("cab/ms/vc2008_x86_VC_RED.cab")
    mspack = _codec("libmspack")
    good = _digests(Cabinet.open(FileSource(str(path)), codecs=[mspack]))
    assert all(e is None for _n, _h, e in good)
    same = Cabinet.open(FileSource(str(path)), codecs=[_Lenient(mspack, None)])
    assert _digests(same) == good
    changed = Cabinet.open(FileSource(str(path)), codecs=[_Lenient(mspack, 1000)])
    got = _digests(changed)
    assert all(e == "decode-error" for _n, _h, e in got)
    assert "disagree" in " ".join(r.describe() for r in changed.decode_log)


def test_lzx_goes_to_the_strict_backend_first() -> None:
    path = _corpus("cab/libarchive/test_read_format_cab_lzx_invalid_history.cab")
    cab = Cabinet.open(FileSource(str(path)))
    _digests(cab)
    (record,) = cab.decode_log
    assert record.failures[0][0].startswith("libmspack")
    big = Cabinet.open(FileSource(str(_corpus("cab/ms/vc2008_x86_VC_RED.cab"))))
    assert all(e is None for _n, _h, e in _digests(big))
    assert [r.codec for r in big.decode_log] == [_codec("libmspack").description]
