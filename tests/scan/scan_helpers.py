"""Helpers the scan tests share, importable by worker processes (``scan_helpers``)."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import time
from pathlib import Path
from typing import Any

import click

from msuinspect.api import Report
from msuinspect.cli.scan_cmd import cache, scan
from msuinspect.report.inspect_json import report_dict

#: a file whose name contains this never finishes under :func:`hanging_report_dict`
HANG_MARK = "KB9999901"


def hanging_report_dict(report: Report) -> dict[str, Any]:
    """``report_dict``, but a worker given a file named with :data:`HANG_MARK` hangs (a
    stand-in for a file that takes too long, without depending on how fast the machine is)."""
    in_worker = multiprocessing.parent_process() is not None
    if in_worker and HANG_MARK in report.path and report.error is None:
        time.sleep(3600)
    return report_dict(report)


def crashing_report_dict(report: Report) -> dict[str, Any]:
    """``report_dict``, but a worker given a file named with :data:`HANG_MARK` dies (a
    stand-in for a crash in a native decoder)."""
    if multiprocessing.parent_process() is not None and HANG_MARK in report.path:
        os._exit(139)
    return report_dict(report)


@click.group()
def cli() -> None:
    """The two commands of tests/scan, as the lead registers them on ``msuinspect``."""


cli.add_command(scan)
cli.add_command(cache)


def snapshot(root: Path) -> dict[str, tuple[int, int, str]]:
    """Every entry under root: (mode, mtime_ns, sha256 of a file's bytes)."""
    out: dict[str, tuple[int, int, str]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            digest = ""
            if os.path.isfile(p) and not os.path.islink(p):
                digest = hashlib.sha256(Path(p).read_bytes()).hexdigest()
            out[os.path.relpath(p, root)] = (st.st_mode, st.st_mtime_ns, digest)
    return out
