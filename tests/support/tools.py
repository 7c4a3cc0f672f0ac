"""External oracles (cabextract, 7zz, osslsigncode, gcab...): find them or skip, run them.

A missing oracle skips its test, unless ``MSUINSPECT_REQUIRE_ORACLES=1`` (set by CI), which
turns it into a failure so that no oracle test can silently vanish.
``MSUINSPECT_NO_ORACLES=1`` (``make test-fast``) skips every oracle test.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import shutil
import subprocess
from pathlib import Path
from types import ModuleType
from typing import NoReturn

import pytest


def _missing(msg: str) -> NoReturn:
    if os.environ.get("MSUINSPECT_REQUIRE_ORACLES") == "1":
        pytest.fail(msg + " (required because MSUINSPECT_REQUIRE_ORACLES=1)")
    pytest.skip(msg)


def _oracles_disabled() -> None:
    if os.environ.get("MSUINSPECT_NO_ORACLES") == "1":
        pytest.skip("oracles disabled (MSUINSPECT_NO_ORACLES=1)")


def require_tool(name: str) -> str:
    """Path of an external oracle, or skip (fail under MSUINSPECT_REQUIRE_ORACLES=1)."""
    _oracles_disabled()
    path = shutil.which(name)
    if path is None:
        _missing(f"oracle tool {name!r} is not installed")
    return path


def require_module(name: str) -> ModuleType:
    """An oracle Python package, imported; a missing one is treated like a missing tool."""
    _oracles_disabled()
    try:
        return importlib.import_module(name)
    except ImportError:
        _missing(f"oracle Python package {name!r} is not installed")


def run_tool(
    name: str,
    *args: str | Path,
    cwd: Path | None = None,
    timeout: float = 120,
    check: bool = False,
) -> subprocess.CompletedProcess[bytes]:
    """Run oracle ``name`` (found by :func:`require_tool`) with ``args``, output captured."""
    exe = require_tool(name)
    return subprocess.run(
        [exe, *map(str, args)], capture_output=True, cwd=cwd, timeout=timeout, check=check
    )


def output_text(proc: subprocess.CompletedProcess[bytes]) -> str:
    """stdout then stderr, decoded (osslsigncode splits its report between the two)."""
    return (proc.stdout + proc.stderr).decode("utf-8", "replace")


def osslsigncode_verify(path: Path, *extra: str | Path) -> str:
    """``osslsigncode verify`` of ``path`` without revocation checks (offline): its output."""
    proc = run_tool("osslsigncode", "verify", "-ignore-cdp", "-ignore-crl", *extra, "-in", path)
    return output_text(proc)


def cabextract_to(src: Path, dest: Path) -> None:
    """``cabextract -d dest src``; a failure fails the test."""
    run_tool("cabextract", "-q", "-d", dest, src, check=True)


def cabextract_recursive(src: Path, dest: Path) -> None:
    """cabextract applied to ``src``, then to every cabinet it wrote (each replaced by the
    folder of what it holds): the layout ``extract -r`` writes."""
    cabextract_to(src, dest)
    for p in files_under(dest):
        if p.read_bytes()[:8] == b"MSCF\0\0\0\0":
            tmp = p.with_name(p.name + ".expanded")
            cabextract_recursive(p, tmp)
            p.unlink()
            tmp.rename(p)


def gcab_create(out: Path, folder: Path) -> Path:
    """An uncompressed cabinet of every file in ``folder`` (sorted by name), made by gcab."""
    names = sorted(p.name for p in folder.iterdir())
    run_tool("gcab", "-c", out, *names, cwd=folder, check=True)
    return out


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def tree_digests(root: Path) -> dict[str, str]:
    """SHA-256 of every file below ``root``, by its path relative to ``root``."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in files_under(root)
    }
