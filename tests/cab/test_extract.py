"""Extraction writes only sanitised names under the output folder, never follows or creates
links, never overwrites, leaves no partial files, and expands nested cabinets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from msuinspect.cab.container import open_cabinet_file
from msuinspect.cab.extract import ExtractReport, OutputFolder, extract

from support.corpus import FIXTURES
from support.tools import cabextract_to, tree_digests


def _extract(path: Path, dest: Path, recursive: bool = False) -> ExtractReport:
    cf = open_cabinet_file(path)
    out = OutputFolder(dest)
    rep = ExtractReport(out.root)
    for unit in cf.units:
        extract(unit, out, recursive=recursive, report=rep)
    rep.findings.extend(out.findings)
    return rep


def _all_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() or p.is_symlink())


def _assert_contained(root: Path, outside: Path | None = None) -> None:
    real_root = os.path.realpath(root)
    for p in root.rglob("*"):
        assert not p.is_symlink() or p.name == "trap", p
        assert os.path.commonpath([os.path.realpath(p), real_root]) == real_root or p.name == "trap"
    if outside is not None:
        assert list(outside.iterdir()) == []


def test_traversal_names_stay_inside(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    rep = _extract(FIXTURES / "cab/hostile/traversal_names.cab", dest)
    assert not rep.failed
    _assert_contained(dest)
    targets = [e.target for e in rep.entries]
    assert all(t and ".." not in t.split("/") and not t.startswith("/") for t in targets)
    assert "ok/normal.txt" in targets
    # every member was written, with its own bytes
    assert len(_all_files(dest)) == len(rep.entries)


@pytest.mark.corpus
def test_dirwalk_vulns(corpus: Path, tmp_path: Path) -> None:
    dest = tmp_path / "out"
    rep = _extract(corpus / "cab/cabextract/dirwalk-vulns.cab", dest)
    assert not rep.failed
    _assert_contained(dest)
    assert len(_all_files(dest)) == 29


def test_symlink_in_output_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "out"
    dest.mkdir()
    # a link where a member folder will be created, pointing outside the output folder
    (dest / "ok").symlink_to(outside, target_is_directory=True)
    rep = _extract(FIXTURES / "cab/hostile/traversal_names.cab", dest)
    assert list(outside.iterdir()) == []
    assert (dest / "ok").is_symlink()
    written = [e.target for e in rep.entries if e.target and e.target.startswith("ok")]
    assert written == ["ok~1/normal.txt"]
    assert "extract-name-collision" in [f.code for f in rep.findings]


def test_existing_files_are_not_overwritten(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "ok").mkdir()
    (dest / "ok" / "normal.txt").write_bytes(b"keep me")
    rep = _extract(FIXTURES / "cab/hostile/traversal_names.cab", dest)
    assert (dest / "ok" / "normal.txt").read_bytes() == b"keep me"
    assert "ok/normal~1.txt" in [e.target for e in rep.entries]


def test_failed_member_leaves_no_file(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    rep = _extract(FIXTURES / "cab/hostile/overlapping_members.cab", dest)
    assert [e.node_path.rsplit("/", 1)[-1] for e in rep.failed] == ["beyond.bin"]
    names = sorted(p.name for p in _all_files(dest))
    assert names == ["first.bin", "second.bin"]
    data = b"".join(bytes([c]) for c in range(65, 91)) * 4
    assert (dest / "first.bin").read_bytes() == data[0:64]
    assert (dest / "second.bin").read_bytes() == data[40:104]


def test_recursive_msu_extraction(tmp_path: Path) -> None:
    """outer.msu!/inner.cab members land under DIR/inner.cab/, byte-identical to cabextract."""
    msu = FIXTURES / "sample/Windows6.0-KB9999901-x64.msu"
    dest = tmp_path / "out"
    rep = _extract(msu, dest, recursive=True)
    assert not rep.failed
    inner_dir = dest / "Windows6.0-KB9999901-x64.cab"
    assert inner_dir.is_dir()
    assert (dest / "WSUSSCAN.cab").is_dir()
    assert (dest / "Windows6.0-KB9999901-x64-pkgProperties.txt").is_file()
    # the oracle: cabextract the outer, then the inner cabinet
    ref = tmp_path / "ref"
    cabextract_to(msu, ref)
    ref_inner = tmp_path / "ref_inner"
    cabextract_to(ref / "Windows6.0-KB9999901-x64.cab", ref_inner)
    assert tree_digests(inner_dir) == tree_digests(ref_inner)
    assert len(tree_digests(inner_dir)) >= 4


def test_non_recursive_writes_nested_cab_as_file(tmp_path: Path) -> None:
    msu = FIXTURES / "sample/Windows6.0-KB9999901-x64.msu"
    dest = tmp_path / "out"
    rep = _extract(msu, dest)
    assert not rep.failed
    assert (dest / "Windows6.0-KB9999901-x64.cab").is_file()
    assert (dest / "Windows6.0-KB9999901-x64.cab").read_bytes()[:4] == b"MSCF"


def test_an_interrupted_extraction_leaves_no_half_written_member(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C (or a bug) in the middle of a member: the member file written so far is
    removed, so no file under its real name is shorter than the member; members finished
    before are kept."""
    import msuinspect.cab.extract as extract_mod

    real_put = extract_mod._FileSink._put
    calls = {"n": 0}

    def put_then_stop(self: extract_mod._FileSink, data: bytes) -> None:
        real_put(self, data[: len(data) // 2 or 1])
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(extract_mod._FileSink, "_put", put_then_stop)
    dest = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        _extract(FIXTURES / "cab/stored_2files.cab", dest)
    left = [p for p in dest.rglob("*") if p.is_file()]
    assert len(left) <= 1  # the first member was finished (short, by the patch) or not
    assert not (dest / "readme.txt").exists()  # the member being written is gone
