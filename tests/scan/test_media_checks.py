"""Offline-media checks over a scan: duplicates, download-name SHA-1 mismatches, files not
Microsoft-signed, a KB in several versions; in the table, the JSON summary and the HTML."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner
from scan_helpers import cli

from msuinspect.scan.media_checks import (
    DECIDED_BY_BUILD_DATE,
    DECIDED_BY_VERSION,
    UNDECIDED,
    identity_version,
    media_checks,
)

from conftest import FIXTURES, REPO

ROOT_PEM = str(FIXTURES / "pki" / "root_ca.pem")
SCHEMA = json.loads((REPO / "docs" / "inspect.schema.json").read_text(encoding="utf-8"))
WRONG_SHA1 = "0123456789abcdef0123456789abcdef01234567"
MISNAMED = f"windows6.0-kb9999911-x64_{WRONG_SHA1}.msu"


def _scan(*args: str) -> Any:
    return CliRunner().invoke(cli, ["scan", "--no-cache", "-q", *args], catch_exceptions=False)


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("media")
    (root / "copy").mkdir()
    sample = FIXTURES / "sample"
    shutil.copy2(sample / "Windows6.0-KB9999901-x64.msu", root / "Windows6.0-KB9999901-x64.msu")
    # the same KB as a bare inner cabinet: other bytes, same identity and build
    shutil.copy2(sample / "KB9999901" / "Windows6.0-KB9999901-x64.cab", root / "KB9999901.cab")
    shutil.copy2(sample / "Windows6.0-KB9999902-x64.msu", root / "Windows6.0-KB9999902-x64.msu")
    shutil.copy2(sample / "Windows6.0-KB9999902-x64.msu", root / "copy" / "renamed.msu")
    shutil.copy2(FIXTURES / "verdict" / "Windows6.0-KB9999911-x64.msu", root / MISNAMED)
    shutil.copy2(FIXTURES / "cab" / "stored_2files.cab", root / "plain.cab")
    return root


@pytest.fixture(scope="module")
def doc(media: Path) -> dict[str, Any]:
    res = _scan("-f", "json", "--trust-root", ROOT_PEM, "--fail-on", "never", str(media))
    out: dict[str, Any] = json.loads(res.stdout)
    return out


def test_json_summary_validates_and_names_each_check(media: Path, doc: dict[str, Any]) -> None:
    assert list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(doc)) == []
    summary = doc["summary"]
    assert summary["files"] == len(doc["files"]) == 6
    assert sum(summary["by_outcome"].values()) == 6
    m = summary["media_checks"]
    by_name = {Path(f["path"]).name: f for f in doc["files"]}

    (dup,) = m["duplicates"]
    assert dup["paths"] == sorted(
        [str(media / "Windows6.0-KB9999902-x64.msu"), str(media / "copy" / "renamed.msu")]
    )
    assert dup["sha256"] == by_name["renamed.msu"]["sha256"]

    (mis,) = m["download_name_sha1_mismatches"]
    assert mis == {"path": str(media / MISNAMED), "sha1": by_name[MISNAMED]["sha1"]}
    assert mis["sha1"] != WRONG_SHA1

    # the test PKI is not Microsoft's: every file is listed, the unsigned one as such
    nms = {Path(n["path"]).name: n for n in m["not_microsoft_signed"]}
    assert set(nms) == set(by_name)
    assert nms["plain.cab"]["why"] == "unsigned" and nms["plain.cab"]["signer_classes"] == []
    assert nms["renamed.msu"]["signer_classes"] == ["other"]

    (kb,) = m["kb_versions"]  # KB9999902 twice is the same content: not two versions
    assert (kb["kb"], kb["architecture"], kb["target_version"]) == ("9999901", "amd64", "6.0")
    assert sorted(Path(v["path"]).name for v in kb["versions"]) == [
        "KB9999901.cab",
        "Windows6.0-KB9999901-x64.msu",
    ]
    assert {v["identity_version"] for v in kb["versions"]} == {"6.0.1.0"}
    assert (kb["winner"], kb["decided_by"]) == (None, UNDECIDED)


def test_table_and_html_show_the_checks(media: Path) -> None:
    base = ["--trust-root", ROOT_PEM, "--fail-on", "never", str(media)]
    table = _scan(*base).stdout
    assert "offline-media checks:" in table
    assert "duplicates: 1 content(s) under several names" in table
    assert "download-name SHA-1 mismatches: 1" in table
    assert "not Microsoft-signed: 6" in table
    assert "KB9999901 (6.0 amd64) in 2 versions:" in table and "winner: undecided" in table
    page = _scan("-f", "html", *base).stdout
    assert "Duplicates (1)" in page and "Not Microsoft-signed (6)" in page
    assert "KB9999901 (6.0 amd64) in 2 versions (undecided)" in page


def _variant(record: dict[str, Any], path: str, sha: str, version: str, built: str) -> Any:
    """A real record of the bytes at ``path`` as another build would read (identity version
    and build date changed, the rest as scanned)."""
    out = json.loads(json.dumps(record))
    out["path"], out["sha256"] = path, sha
    s = out["package"]["summary"]
    s["package_identities"] = [i.rsplit("~", 1)[0] + "~" + version for i in s["package_identities"]]
    s["build_date"] = built
    return out


def test_winner_by_identity_version_then_build_day(doc: dict[str, Any]) -> None:
    base = next(f for f in doc["files"] if f["path"].endswith("Windows6.0-KB9999901-x64.msu"))
    a = _variant(base, "a.msu", "a" * 64, "6.0.1.3", "2019-01-01")
    b = _variant(base, "b.msu", "b" * 64, "6.0.1.12", "2018-01-01")
    (k,) = media_checks([a, b]).kb_versions
    assert (k.winner, k.decided_by) == ("b.msu", DECIDED_BY_VERSION)  # 12 > 3, numerically
    c = _variant(base, "c.cab", "c" * 64, "6.0.1.3", "2019-02-01T10:00:00Z")
    (k,) = media_checks([a, c]).kb_versions
    assert (k.winner, k.decided_by) == ("c.cab", DECIDED_BY_BUILD_DATE)
    # a day and a moment of the same day are the same build
    d = _variant(base, "d.cab", "d" * 64, "6.0.1.3", "2019-01-01T23:00:00Z")
    (k,) = media_checks([a, d]).kb_versions
    assert (k.winner, k.decided_by) == (None, UNDECIDED)
    # order does not matter
    assert media_checks([b, a, c]) == media_checks([c, b, a])


def test_identity_version_parsing() -> None:
    assert identity_version("Package_for_KB1~31bf3856ad364e35~amd64~~6.0.1.3") == (6, 0, 1, 3)
    assert identity_version("Package_for_KB1~31bf3856ad364e35~amd64~~x.1") is None
    assert identity_version("no identity") is None


@pytest.mark.corpus
def test_corpus_kb2999226_newest_identity_wins(corpus: Path, tmp_path: Path) -> None:
    files = sorted(str(p) for p in corpus.rglob("*KB2999226-x64*") if p.suffix in (".cab", ".msu"))
    if len(files) < 2:
        pytest.skip("the corpus has no two KB2999226 x64 packages")
    res = _scan("-f", "json", "--fail-on", "never", *files)
    ks = [k for k in json.loads(res.stdout)["summary"]["media_checks"]["kb_versions"]]
    (k,) = [k for k in ks if k["kb"] == "2999226"]
    best = max(k["versions"], key=lambda v: identity_version("~~~~" + v["identity_version"]))
    assert k["decided_by"] == DECIDED_BY_VERSION and k["winner"] == best["path"]
