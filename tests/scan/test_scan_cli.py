"""``msuinspect scan`` and ``msuinspect cache`` through click, every report format checked by
an independent reader (jsonschema, csv, sarif-tools, an HTML parser)."""

from __future__ import annotations

import csv
import html.parser
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner, Result
from scan_helpers import cli

from msuinspect.scan.cache import cacheable

from conftest import FIXTURES, REPO

ROOT_PEM = str(FIXTURES / "pki" / "root_ca.pem")
SCHEMA = json.loads((REPO / "docs" / "inspect.schema.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
FILE_VALIDATOR = jsonschema.Draft202012Validator({**SCHEMA, "oneOf": [{"$ref": "#/$defs/file"}]})


def _scan(*args: str) -> Result:
    return CliRunner().invoke(cli, ["scan", *args], catch_exceptions=False)


def _tree(tmp: Path) -> Path:
    root = tmp / "dl"
    root.mkdir()
    for p in sorted((FIXTURES / "sample").glob("*.msu")):
        shutil.copy2(p, root / p.name)
    for name in ("signed_sha256.cab", "stored_2files.cab", "tampered_signed_sha256.cab"):
        shutil.copy2(FIXTURES / "cab" / name, root / name)
    return root


def _errors(doc: Any, validator: jsonschema.Draft202012Validator = VALIDATOR) -> list[str]:
    return [f"{e.json_path}: {e.message[:200]}" for e in validator.iter_errors(doc)]


def test_schema_is_valid_and_rejects_a_wrong_outcome() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    bad = {"path": "x", "outcome": "fine", "reasons": [], "error": None}
    assert _errors(bad, FILE_VALIDATOR)


def test_json_and_jsonl_validate_and_agree(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    common = ["--no-cache", "-q", "--as-of", "2026-01-01", "--trust-root", ROOT_PEM, str(root)]
    res = _scan("-f", "json", *common)
    doc = json.loads(res.stdout)
    assert _errors(doc) == []
    assert len(doc["files"]) == 5
    lines = _scan("-f", "jsonl", "-j", "1", *common).stdout.splitlines()
    head, files = json.loads(lines[0]), [json.loads(x) for x in lines[1:]]
    assert head["schema"] == "msuinspect.inspect-jsonl/1" and _errors(head) == []
    assert all(_errors(f, FILE_VALIDATOR) == [] for f in files)
    assert files == doc["files"]


def test_exit_statuses_follow_fail_on(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    base = ["--no-cache", "-q", "--trust-root", ROOT_PEM]
    # the tampered cabinet cannot be read in full (CFDATA checksum): an error outcome
    assert _scan(*base, str(root)).exit_code == 1
    assert _scan(*base, "--fail-on", "never", str(root)).exit_code == 0
    unsigned = str(root / "stored_2files.cab")
    assert _scan(*base, unsigned).exit_code == 3
    assert _scan(*base, "--fail-on", "error", unsigned).exit_code == 0
    missing = str(root / "missing.msu")
    res = _scan(*base, "-f", "jsonl", missing)
    assert res.exit_code == 1
    assert json.loads(res.stdout.splitlines()[1])["error"]["code"] == "input-error"


def test_table_csv_and_output_file(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    base = ["--no-cache", "-q", "--trust-root", ROOT_PEM, str(root)]
    table = _scan(*base).stdout.splitlines()
    assert table[0].split()[:3] == ["outcome", "KB", "size"]
    outcomes = [line.split()[0] for line in table[1:6] if not line.startswith(" ")]
    assert outcomes[0] == "error"  # problems first
    assert any(line.startswith("5 file(s): ") for line in table)
    out = tmp_path / "report.csv"
    assert _scan("-f", "csv", "-o", str(out), *base).stdout == ""
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    names = sorted((p.name for p in root.iterdir()), key=lambda n: (n.casefold(), n))
    assert [Path(r["path"]).name for r in rows] == names
    kb = {Path(r["path"]).name: r["kb"] for r in rows}
    assert kb["Windows6.0-KB9999902-x64.msu"] == "KB9999902"


def test_csv_and_html_are_safe_with_hostile_names(tmp_path: Path) -> None:
    root = tmp_path / "hostile"
    root.mkdir()
    evil = '=cmd|"calc"!A1 <img src=x onerror=alert(1)>.cab'  # no "/" in a file name
    shutil.copy2(FIXTURES / "cab" / "signed_sha256.cab", root / evil)
    base = ["--no-cache", "-q", "--trust-root", ROOT_PEM, str(root)]
    page = _scan("-f", "html", *base).stdout
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page

    class Scripts(html.parser.HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.scripts = 0
            self.rows = 0

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            self.scripts += tag in ("script", "img")
            self.rows += tag == "tr" and ("class", "file") in attrs

    parser = Scripts()
    parser.feed(page)
    assert (parser.scripts, parser.rows) == (1, 1)
    assert re.search(r"script-src 'sha256-[A-Za-z0-9+/=]+'", html.unescape(page))
    rows = list(csv.reader(io.StringIO(_scan("-f", "csv", *base).stdout)))
    assert rows[1][0] == os.path.join(str(root), evil)  # a path never starts with "="
    name_only = _scan("-f", "csv", "--no-cache", "-q", evil)  # relative: starts with "="
    assert name_only.exit_code == 1
    assert list(csv.reader(io.StringIO(name_only.stdout)))[1][0] == "'" + evil


def test_symlink_note_and_all(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    (root / "readme.txt").write_text("hello")
    os.symlink(FIXTURES / "cab" / "signed_sha1.cab", root / "link.cab")
    res = _scan("--no-cache", "-f", "jsonl", str(root))
    assert "link.cab: skipped, not followed: symbolic link to" in res.stderr
    assert len(res.stdout.splitlines()) == 1 + 5
    res = _scan("--no-cache", "-q", "-f", "jsonl", "--all", str(root))
    assert res.stderr == ""
    assert len(res.stdout.splitlines()) == 1 + 6


def test_cache_commands_and_a_corrupt_cache(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    db = tmp_path / "c.sqlite3"
    db.write_bytes(b"\x00garbage" * 64)
    res = _scan("--cache", str(db), "-f", "jsonl", "--trust-root", ROOT_PEM, str(root))
    assert "set aside as" in res.stderr and "5 analysed" in res.stderr
    assert (tmp_path / "c.sqlite3.corrupt").read_bytes() == b"\x00garbage" * 64
    res = _scan("--cache", str(db), "-f", "jsonl", "--trust-root", ROOT_PEM, str(root))
    assert "0 analysed, 5 from the cache" in res.stderr
    stats = CliRunner().invoke(cli, ["cache", "stats", "--cache", str(db)])
    assert "results 5, files 5" in stats.stdout
    assert CliRunner().invoke(cli, ["cache", "clear", "--cache", str(db)]).exit_code == 0
    stats = CliRunner().invoke(cli, ["cache", "stats", "--cache", str(db)])
    assert "results 0, files 0" in stats.stdout


def test_sarif_is_read_by_sarif_tools(tmp_path: Path) -> None:
    sarif_bin = shutil.which("sarif") or str(Path(sys.executable).parent / "sarif")
    if not Path(sarif_bin).exists():
        if os.environ.get("MSUINSPECT_REQUIRE_ORACLES") == "1":
            pytest.fail("sarif-tools is not installed (required: MSUINSPECT_REQUIRE_ORACLES=1)")
        pytest.skip("sarif-tools is not installed")
    root = _tree(tmp_path)
    out = tmp_path / "scan.sarif"
    _scan("-f", "sarif", "-o", str(out), "--no-cache", "-q", "--trust-root", ROOT_PEM, str(root))
    log = json.loads(out.read_text(encoding="utf-8"))
    assert log["version"] == "2.1.0"
    run = log["runs"][0]
    ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    for res in run["results"]:
        assert ids[res["ruleIndex"]] == res["ruleId"]
        assert res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].startswith(
            "file://"
        )
    assert "digest-mismatch" in ids and "unsigned" in ids
    ours: dict[str, int] = {}
    for res in run["results"]:
        ours[res["level"]] = ours.get(res["level"], 0) + 1
    text = subprocess.run(
        [sarif_bin, "summary", str(out)], capture_output=True, text=True, check=True
    ).stdout
    found = re.findall(r"^(error|warning|note): (\d+)$", text, re.M)
    theirs = {level: int(n) for level, n in found if int(n)}
    assert theirs == ours


def test_rules_table_matches_docs_findings() -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from regen_rules import DOC, parse

    from msuinspect.report.batch_rules import RULES

    assert parse(DOC.read_text(encoding="utf-8")) == RULES, (
        "docs/findings.md changed: run .venv/bin/python tests/scan/regen_rules.py"
    )


@pytest.mark.corpus
def test_corpus_in_every_format(corpus: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "c.sqlite3")
    first = _scan("--cache", db, "-q", "-f", "json", "--fail-on", "never", str(corpus))
    assert first.exit_code == 0
    doc = json.loads(first.stdout)
    assert _errors(doc) == []
    n = len(doc["files"])
    assert n > 150
    assert not any((f.get("error") or {}).get("code") == "internal-error" for f in doc["files"])
    again = _scan("--cache", db, "-f", "csv", "--fail-on", "never", str(corpus))
    # a cabinet of a multi-volume set depends on its neighbours too: never cached
    from msuinspect.scan.cache import _in_a_set
    from msuinspect.scan.discover import Candidate

    sets = sum(
        1
        for f in doc["files"]
        if not cacheable(f, "0" * 64) or _in_a_set(Candidate(str(f["path"])))
    )
    assert sets < 30
    assert f"{sets} analysed, {n - sets} from the cache" in again.stderr
    assert len(list(csv.DictReader(io.StringIO(again.stdout)))) == n
    page = _scan("--cache", db, "-q", "-f", "html", "--fail-on", "never", str(corpus)).stdout
    assert page.count('<tr class="file"') == n
    sarif = json.loads(_scan("--cache", db, "-q", "-f", "sarif", str(corpus)).stdout)
    assert sarif["runs"][0]["properties"]["files"] == n


def test_sigint_leaves_valid_partial_jsonl_and_a_usable_cache(tmp_path: Path) -> None:
    big = tmp_path / "many"
    big.mkdir()
    for i in range(40):
        for p in sorted((FIXTURES / "verdict").glob("*.msu"))[:3]:
            sub = big / f"d{i:02}"
            sub.mkdir(exist_ok=True)
            shutil.copy2(p, sub / p.name)
    out, db = tmp_path / "partial.jsonl", tmp_path / "c.sqlite3"
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); from scan_helpers import cli\n"
        "if __name__ == '__main__':\n    cli(sys.argv[2:])"
    )
    args = [sys.executable, "-c", code, str(Path(__file__).parent), "scan", "-j", "1"]
    args += ["-f", "jsonl", "-o", str(out), "--cache", str(db), str(big)]
    proc = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
    for _ in range(600):  # wait for a few files to be written, not for a time
        if out.exists() and len(out.read_text(encoding="utf-8").splitlines()) >= 4:
            break
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    lines = out.read_text(encoding="utf-8").splitlines()
    assert 4 <= len(lines) < 121
    assert _errors(json.loads(lines[0])) == []
    assert all(_errors(json.loads(x), FILE_VALIDATOR) == [] for x in lines[1:])
    done = len(lines) - 1
    res = _scan("--cache", str(db), "-f", "jsonl", "--fail-on", "never", str(big))
    assert f"{done} from the cache" in res.stderr
    assert len(res.stdout.splitlines()) == 121


def test_registered_command_in_a_subprocess(tmp_path: Path) -> None:
    import click

    from msuinspect.cli import main

    assert {"scan", "cache"} <= set(main.list_commands(click.Context(main)))
    root = _tree(tmp_path)
    db = str(tmp_path / "c.sqlite3")
    args = [sys.executable, "-m", "msuinspect", "scan", "--cache", db, "-f", "jsonl"]
    args += ["--trust-root", ROOT_PEM, str(root)]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr  # the tampered cabinet is an error outcome
    lines = proc.stdout.splitlines()
    assert len(lines) == 6 and "Traceback" not in proc.stderr
    assert all(_errors(json.loads(x), FILE_VALIDATOR) == [] for x in lines[1:])
    stats = subprocess.run(
        [sys.executable, "-m", "msuinspect", "cache", "stats", "--cache", db],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "results 5, files 5" in stats.stdout
