"""``scan`` of an ISO 9660 / Joliet image built with xorriso from the project's fixtures: the
updates inside are scanned without mounting it, with node paths ``media.iso!/dir/x.msu``,
the same reports as for the files themselves, nothing written next to the image or left in
the temporary directory, and a cached rescan; the 7zz reader gives the same."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from scan_helpers import cli, snapshot

from msuinspect.scan import images
from msuinspect.scan.discover import discover

from conftest import FIXTURES, require_tool

ROOT_PEM = str(FIXTURES / "pki" / "root_ca.pem")
MEMBERS = {
    "w60-x64/glb/windows6.0-kb9999901-x64.msu": FIXTURES
    / "sample"
    / "Windows6.0-KB9999901-x64.msu",
    "w60-x64/glb/Windows6.0-KB9999902-x64.msu": FIXTURES
    / "sample"
    / "Windows6.0-KB9999902-x64.msu",
    "cabs/signed_sha256.cab": FIXTURES / "cab" / "signed_sha256.cab",
    "cabs/tampered_signed_sha256.cab": FIXTURES / "cab" / "tampered_signed_sha256.cab",
}


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    xorriso = require_tool("xorriso")
    base = tmp_path_factory.mktemp("iso")
    tree = base / "tree"
    for rel, src in MEMBERS.items():
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, tree / rel)
    (tree / "readme.txt").write_text("not an update\n")
    out = base / "out"
    out.mkdir()
    iso = out / "media.iso"
    subprocess.run(
        [xorriso, "-as", "mkisofs", "-J", "-R", "-V", "WSUSOFFLINE", "-o", str(iso), str(tree)],
        check=True,
        capture_output=True,
    )
    return iso, tree


def _scan(*args: str) -> Any:
    return CliRunner().invoke(cli, ["scan", "-q", *args], catch_exceptions=False)


def _leftovers() -> list[str]:
    return [n for n in os.listdir(tempfile.gettempdir()) if n.startswith("msuinspect-member-")]


def _strip(rec: Any) -> Any:
    """A record without what depends on where the bytes were read (paths; validation time)."""
    if isinstance(rec, dict):
        return {k: _strip(v) for k, v in rec.items() if k not in ("validated_at",)}
    if isinstance(rec, list):
        return [_strip(v) for v in rec]
    return rec


def test_image_is_recognised_by_content(media: tuple[Path, Path], tmp_path: Path) -> None:
    iso, _ = media
    assert images.image_kind(str(iso)) == images.ISO9660
    renamed = tmp_path / "disc.bin"
    shutil.copy2(iso, renamed)
    assert images.image_kind(str(renamed)) == images.ISO9660
    assert images.image_kind(str(FIXTURES / "cab" / "signed_sha256.cab")) is None
    cands = list(discover([str(renamed)]))
    assert [c.path for c in cands] == [
        f"{renamed}!/{m}" for m in sorted(MEMBERS, key=lambda n: (n.casefold(), n))
    ]
    assert {c.backend for c in cands} == {images.LIBARCHIVE}
    # --all: the text file too
    assert len(list(discover([str(renamed)], all_files=True))) == len(MEMBERS) + 1


def test_scan_of_an_image_gives_the_reports_of_its_files(
    media: tuple[Path, Path], tmp_path: Path
) -> None:
    iso, tree = media
    before = snapshot(iso.parent)
    leftovers = _leftovers()
    common = ["--as-of", "2026-01-01", "--trust-root", ROOT_PEM, "--fail-on", "never"]
    db = str(tmp_path / "c.sqlite3")
    res = _scan("-f", "json", "--cache", db, "-j", "2", *common, str(iso))
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    got = {f["path"]: f for f in doc["files"]}
    assert list(got) == [f"{iso}!/{m}" for m in sorted(MEMBERS, key=lambda n: (n.casefold(), n))]
    direct = json.loads(
        _scan("-f", "json", "--no-cache", *common, *(str(tree / m) for m in MEMBERS)).stdout
    )
    for f in direct["files"]:
        rel = os.path.relpath(f["path"], tree)
        mine = got[f"{iso}!/{rel}"]
        # the same analysis, only the location differs: every path is rewritten
        expected = json.loads(json.dumps(f).replace(str(tree / rel), f"{iso}!/{rel}"))
        assert _strip(mine) == _strip(expected)
        assert str(tree) not in json.dumps(mine) and tempfile.gettempdir() + "/msuinspect" not in (
            json.dumps(mine)
        )
    msu = got[f"{iso}!/w60-x64/glb/windows6.0-kb9999901-x64.msu"]
    nodes = [n["path"] for n in msu["package"]["nodes"]]
    assert f"{iso}!/w60-x64/glb/windows6.0-kb9999901-x64.msu!/WSUSSCAN.cab" in nodes
    assert got[f"{iso}!/cabs/tampered_signed_sha256.cab"]["outcome"] == "error"
    # nothing written next to the image, nothing left in the temporary directory
    assert snapshot(iso.parent) == before
    assert _leftovers() == leftovers
    # a rescan takes every member from the cache
    again = _scan("-f", "jsonl", "--cache", db, *common, str(iso))
    lines = again.stdout.splitlines()
    assert len(lines) == 1 + len(MEMBERS)
    assert [json.loads(x)["path"] for x in lines[1:]] == list(got)
    res = CliRunner().invoke(
        cli, ["scan", "-f", "jsonl", "--cache", db, *common, str(iso)], catch_exceptions=False
    )
    assert f"0 analysed, {len(MEMBERS)} from the cache" in res.stderr


def test_7zz_reader_gives_the_same_members(media: tuple[Path, Path]) -> None:
    require_tool("7zz")
    iso, _ = media
    backend, members, _ = images.list_members(str(iso), images.UDF)  # UDF goes to 7zz
    assert backend == images.SEVENZIP
    assert sorted(m.name for m in members) == sorted([*MEMBERS, "readme.txt"])
    for rel, src in MEMBERS.items():
        ref = images.MemberRef(str(iso), rel, images.SEVENZIP)
        with images.member_file(ref) as tmp:
            assert Path(tmp).read_bytes() == src.read_bytes()
            assert Path(tmp).name == Path(rel).name
        lib = images.MemberRef(str(iso), rel, images.LIBARCHIVE)
        with images.member_file(lib) as tmp:
            assert Path(tmp).read_bytes() == src.read_bytes()


def test_a_damaged_image_is_an_error_record(media: tuple[Path, Path], tmp_path: Path) -> None:
    iso, _ = media
    broken = tmp_path / "broken.iso"
    data = bytearray(iso.read_bytes()[: 20 * 2048])  # descriptors, no directory
    broken.write_bytes(bytes(data))
    res = _scan("-f", "jsonl", "--no-cache", str(broken))
    lines = [json.loads(x) for x in res.stdout.splitlines()]
    assert res.exit_code == 1 and "Traceback" not in res.output
    (rec,) = lines[1:]  # one error record for the image, the scan goes on
    assert (rec["path"], rec["outcome"]) == (str(broken), "error")
    assert rec["error"]["code"] == "input-error"
    assert "cannot list the iso9660 image" in rec["error"]["message"]
