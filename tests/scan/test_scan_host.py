"""``scan --host``: a verdict per file, in the table and in JSON, and in the cache key."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from msuinspect.cli import main

from conftest import FIXTURES

ROOT_PEM = str(FIXTURES / "pki" / "root_ca.pem")
VERDICT = FIXTURES / "verdict"


def _scan(*args: str) -> Result:
    return CliRunner().invoke(main, ["scan", "-q", "--jobs", "1", *args], catch_exceptions=False)


def test_scan_with_host_adds_the_verdict(tmp_path: Path) -> None:
    cache = str(tmp_path / "cache.sqlite")
    base = ["--cache", cache, "--trust-root", ROOT_PEM]
    files = [
        str(VERDICT / "Windows6.0-KB9999911-x64.msu"),
        str(VERDICT / "Windows6.0-KB9999912-x64.msu"),
    ]
    table = _scan(*base, "--host", "preset:2008sp2-rtm-x64", *files)
    assert table.exit_code == 0, table.output
    assert "host verdict" in table.stdout.splitlines()[0]
    assert "validate yes, install yes" in table.stdout  # SHA-1 only: fine on a bare host
    assert "validate no, install no" in table.stdout  # SHA-2 only: not before KB4474419
    bare = _scan(*base, "--host", "preset:2008sp2-rtm-x64", "--format", "json", *files)
    docs = json.loads(bare.stdout)["files"]
    assert [f["verdict"]["can_validate"] for f in docs] == ["yes", "no"]
    # another host is another cache key: the SHA-2 host validates the SHA-2-only package
    sha2 = _scan(*base, "--host", "preset:2008sp2-sha2-x64", "--format", "json", *files)
    assert [f["verdict"]["can_validate"] for f in json.loads(sha2.stdout)["files"]] == [
        "yes",
        "yes",
    ]
    plain = _scan(*base, "--format", "json", *files)
    assert all("verdict" not in f for f in json.loads(plain.stdout)["files"])
