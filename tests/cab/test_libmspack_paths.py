"""libmspack decodes a folder through in-memory files (its own C stdio, no call into Python
per block) when the folder is small enough, and streams through callbacks otherwise; a
folder whose compressed data outgrows the in-memory copy midway is replayed from the copy.
All three give the bytes the other backends give."""

from __future__ import annotations

from pathlib import Path

import pytest

import msuinspect.cab.codecs.libmspack_codec as mspack
from msuinspect.cab.cabinet import Cabinet
from msuinspect.cab.codecs.registry import codecs_by_key, default_codecs
from msuinspect.cab.tree import scan
from msuinspect.source import FileSource

from support.corpus import FIXTURES, corpus_dir


def _digests(path: Path, key: str) -> list[tuple[str, str | None, str | None]]:
    cab = Cabinet.open(FileSource(str(path)), codecs=codecs_by_key([key]))
    tree = scan(cab, decode=True, hashes=True, recursive=False)
    return [(m.member.name, m.sha256, m.error.code if m.error else None) for m in tree.members]


def _cabinets() -> list[object]:
    params: list[object] = [
        pytest.param(p, id=p.name) for p in sorted((FIXTURES / "cab").glob("mszip*.cab"))
    ]
    root = corpus_dir()
    if root is not None:
        real = [Path(root) / "cab/ms/vc2008_x86_VC_RED.cab"]
        real += sorted(Path(root, "cab/update").glob("*.cab"))[:3]
        params += [pytest.param(p, id=p.name, marks=pytest.mark.corpus) for p in real]
    return params


@pytest.mark.parametrize("path", _cabinets())
def test_memory_streaming_and_replay_agree(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if "libmspack" not in {c.key for c in default_codecs()}:
        pytest.skip("libmspack not installed")
    reference = _digests(path, "libarchive")
    assert all(e is None for _n, _h, e in reference)
    assert _digests(path, "libmspack") == reference  # in memory (small folders)
    monkeypatch.setattr(mspack, "_MEMORY_IN", 40_000)  # outgrows the copy: replayed
    assert _digests(path, "libmspack") == reference
    monkeypatch.setattr(mspack, "_MEMORY_OUT", 0)  # streamed through callbacks
    assert _digests(path, "libmspack") == reference


def test_no_file_descriptor_is_left_open(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    if "libmspack" not in {c.key for c in default_codecs()}:
        pytest.skip("libmspack not installed")
    path = FIXTURES / "cab" / "mszip_multiblock.cab"
    before = len(os.listdir("/proc/self/fd"))
    for limit in (mspack._MEMORY_IN, 1000):
        monkeypatch.setattr(mspack, "_MEMORY_IN", limit)
        for _ in range(5):
            _digests(path, "libmspack")
    assert len(os.listdir("/proc/self/fd")) == before
