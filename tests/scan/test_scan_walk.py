"""Expanding inputs: named files pass through, folders are walked in a stable order."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from msuinspect.scan.walk import iter_inputs


def _tree(root: Path) -> None:
    for rel in ("z.MSU", "a.cab", "readme.txt", "sub/x.cat", "sub/y.dll", "Sub2/k.exe"):
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x")


def test_folder_order_suffixes_and_named_files(tmp_path: Path) -> None:
    _tree(tmp_path)
    named = str(tmp_path / "readme.txt")
    got = [os.path.relpath(p, tmp_path) for p in iter_inputs([str(tmp_path), named])]
    assert got == ["a.cab", "z.MSU", "sub/x.cat", "sub/y.dll", "Sub2/k.exe", "readme.txt"]


def test_missing_path_passes_through(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.msu")
    assert list(iter_inputs([missing])) == [missing]


def test_symlinks_are_not_followed_and_deep_trees_do_not_recurse(tmp_path: Path) -> None:
    deep = str(tmp_path)
    for _ in range(150):
        deep = os.path.join(deep, "d")
        os.mkdir(deep)
    last = os.path.join(deep, "last.cab")
    with open(last, "wb") as f:
        f.write(b"x")
    (tmp_path / "loop").symlink_to(tmp_path, target_is_directory=True)
    os.symlink(last, tmp_path / "alias.msu")
    depth, frame = 0, sys._getframe()
    while frame is not None:
        depth, frame = depth + 1, frame.f_back
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + 60)  # a recursive walk of 150 folders would fail
    try:
        got = list(iter_inputs([str(tmp_path)]))
    finally:
        sys.setrecursionlimit(before)
    assert got == [last]


def test_unlistable_folder_is_reported_and_walk_continues(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "hidden.cab").write_bytes(b"x")
    (tmp_path / "z-ok").mkdir()
    (tmp_path / "z-ok" / "ok.cab").write_bytes(b"x")
    real = os.scandir

    def scandir(path: str) -> Any:  # root ignores permissions, so refuse by name
        if os.path.basename(path) == "locked":
            raise PermissionError(13, "Permission denied", path)
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    errors: list[tuple[str, str]] = []
    got = list(iter_inputs([str(tmp_path)], on_error=lambda p, e: errors.append((p, e.strerror))))
    assert got == [str(tmp_path / "z-ok" / "ok.cab")]
    assert errors == [(str(tmp_path / "locked"), "Permission denied")]
