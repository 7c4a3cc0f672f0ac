"""What scan takes in (CLI audit of 2026-12-02): a file met twice is inspected once, no more
workers than files, and a --timeout that is a number of seconds."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from support.cli import invoke
from support.corpus import FIXTURES

CAB = FIXTURES / "cab/signed_sha256.cab"


def test_a_file_given_again_inside_a_folder_is_inspected_once(tmp_path: Path) -> None:
    folder = tmp_path / "downloads"
    folder.mkdir()
    shutil.copy(CAB, folder / CAB.name)
    again = folder / CAB.name
    r = invoke("scan", "--no-cache", "-f", "json", str(folder), str(again), str(again))
    doc = json.loads(r.stdout)
    assert [f["path"] for f in doc["files"]] == [str(folder / CAB.name)]
    assert r.stderr.count("the same file as") == 2
    dups = doc.get("media_checks", {}).get("duplicates") or []
    assert dups == []  # not a duplicate of itself


def test_a_hard_link_under_another_name_is_its_own_claim(tmp_path: Path) -> None:
    a = tmp_path / "Windows6.0-KB9999901-x64.cab"
    shutil.copy(CAB, a)
    b = tmp_path / "other.cab"
    b.hardlink_to(a)
    r = invoke("scan", "--no-cache", "-f", "json", str(tmp_path))
    assert sorted(f["path"] for f in json.loads(r.stdout)["files"]) == sorted([str(a), str(b)])


def test_no_more_workers_than_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import msuinspect.scan.engine as engine

    started: list[int] = []
    real = engine.WorkerPool

    class Counting(real):  # type: ignore[misc, valid-type]
        def __init__(self, jobs: int, *args: object) -> None:
            started.append(jobs)
            super().__init__(jobs, *args)

    monkeypatch.setattr(engine, "WorkerPool", Counting)
    r = invoke("scan", "--no-cache", "-q", "-j", "64", "--fail-on", "never", "-f", "json", str(CAB))
    assert r.exit_code == 0, r.stderr
    assert started == [1]


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "0"])
def test_timeout_must_be_a_positive_number_of_seconds(value: str) -> None:
    r = invoke("scan", "--no-cache", "--timeout", value, str(CAB))
    assert r.exit_code == 2
    assert "--timeout" in r.stderr
