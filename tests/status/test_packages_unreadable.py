"""``host status --packages``: a package that could not be read completely (outcome
``error``: truncated, a CFDATA block that fails its checksum) makes the exit status 1, as
docs/host-status.md says; the status is still printed, with the package unusable."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from msuinspect.cli.host import host

from support.corpus import FIXTURES

ROOT_PEM = FIXTURES / "pki" / "root_ca.pem"
RTM = FIXTURES / "host" / "systeminfo-en-6002-rtm.txt"
STAND_IN = FIXTURES / "verdict" / "Windows6.0-KB4474419-x64.msu"


def _truncated(folder: Path) -> None:
    data = STAND_IN.read_bytes()
    (folder / "download-0.msu").write_bytes(data[: len(data) // 2])


def _bad_checksum(folder: Path) -> None:
    shutil.copy(FIXTURES / "cab" / "tampered_signed_sha256.cab", folder / "tampered.cab")


@pytest.mark.parametrize("make", [_truncated, _bad_checksum], ids=["truncated", "checksum"])
def test_a_package_read_incompletely_exits_1(tmp_path: Path, make: Callable[[Path], None]) -> None:
    folder = tmp_path / "pkgs"
    folder.mkdir()
    shutil.copy(STAND_IN, folder / "whole.msu")
    make(folder)
    args = ["status", str(RTM), "--packages", str(folder), "--trust-root", str(ROOT_PEM)]
    res = CliRunner().invoke(host, [*args, "--json"])
    assert res.exit_code == 1, res.output
    doc = json.loads(res.stdout)
    bad = [c for c in doc["packages"]["unmatched"] if c["outcome"] == "error"]
    assert len(bad) == 1 and not bad[0]["usable"]
    # the whole package is still matched to its step
    step = next(m for m in doc["packages"]["steps"] if m["kb"] == "KB4474419")
    assert step["state"] == "found"
    # without the damaged file the same folder is fine
    for p in folder.iterdir():
        if p.name != "whole.msu":
            p.unlink()
    assert CliRunner().invoke(host, [*args, "--json"]).exit_code == 0
