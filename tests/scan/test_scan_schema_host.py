"""docs/inspect.schema.json describes the ``--host`` output too: every file object of
``scan --format json --host`` and ``inspect --json --host`` validates, with its verdict, and
the schema rejects a verdict with a wrong value."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from msuinspect.cli import main

from conftest import FIXTURES, REPO

ROOT_PEM = str(FIXTURES / "pki" / "root_ca.pem")
SCHEMA = json.loads((REPO / "docs" / "inspect.schema.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
#: a SHA-2 host with two of the packages installed: the ``installed`` reason appears
INSTALLED_HOST = "build=6003,arch=amd64,kb=KB4474419+KB4493730,roots=2010+2011,esu=y2"


def _run(*args: str) -> dict[str, Any]:
    res = CliRunner().invoke(main, list(args), catch_exceptions=False)
    doc: dict[str, Any] = json.loads(res.stdout)
    return doc


def _errors(doc: Any) -> list[str]:
    return [f"{e.json_path}: {e.message[:200]}" for e in VALIDATOR.iter_errors(doc)]


@pytest.mark.parametrize("host", ["preset:2008sp2-rtm-x64", INSTALLED_HOST])
def test_scan_and_inspect_with_host_validate(host: str) -> None:
    files = [str(p) for p in sorted((FIXTURES / "verdict").glob("*.msu"))]
    common = ["--trust-root", ROOT_PEM, "--host", host]
    scanned = _run("scan", "--no-cache", "-q", "--jobs", "1", "-f", "json", *common, *files)
    inspected = _run("inspect", "--json", *common, *files)
    for doc in (scanned, inspected):
        assert _errors(doc) == []
        assert len(doc["files"]) == len(files)
        assert all("verdict" in f for f in doc["files"])
    rules = {r["rule"] for f in inspected["files"] for r in f["verdict"]["reasons"]}
    assert ("installed" in rules) is (host == INSTALLED_HOST)


def test_schema_rejects_a_wrong_verdict() -> None:
    files = [str(FIXTURES / "verdict" / "Windows6.0-KB4474419-x64.msu")]
    doc = _run("inspect", "--json", "--host", INSTALLED_HOST, "--trust-root", ROOT_PEM, *files)
    assert _errors(doc) == []
    for key, value in (
        ("can_validate", "maybe"),
        ("missing_roots", ["1999"]),
        ("reasons", [{"rule": "X1"}]),
    ):
        bad = copy.deepcopy(doc)
        bad["files"][0]["verdict"][key] = value
        assert _errors(bad), key
