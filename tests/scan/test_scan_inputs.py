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
    (tmp_path / "sub").mkdir()
    c = tmp_path / "sub" / a.name  # the same name in another folder
    c.hardlink_to(a)
    r = invoke("scan", "--no-cache", "-f", "json", str(tmp_path))
    paths = sorted(f["path"] for f in json.loads(r.stdout)["files"])
    assert paths == sorted([str(a), str(b), str(c)])


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


def test_a_cached_record_moved_to_another_path_keeps_node_names() -> None:
    """A record made for a bare name and reused for the same bytes in a folder: paths move,
    a node's name (a base name) stays what inspect says (scan audit)."""
    from msuinspect.scan.records import moved

    record = {
        "path": "a.msu",
        "package": {
            "nodes": [{"path": "a.msu", "name": "a.msu"}, {"path": "a.msu!/x.cab", "name": "x.cab"}]
        },
    }
    out = moved(record, "a.msu", "dX/a.msu")
    assert out["path"] == "dX/a.msu"
    assert out["package"]["nodes"][0] == {"path": "dX/a.msu", "name": "a.msu"}
    assert out["package"]["nodes"][1] == {"path": "dX/a.msu!/x.cab", "name": "x.cab"}
    renamed = moved(record, "a.msu", "dX/b.msu")
    assert renamed["package"]["nodes"][0]["name"] == "b.msu"


def test_the_cabinets_of_a_set_are_never_served_from_the_cache(
    corpus: Path, tmp_path: Path
) -> None:
    """A set's analysis depends on its other files: after one is removed, the others must
    not come back from the cache as they were (scan audit)."""
    parts = sorted((corpus / "cab/cabextract").glob("split-*.cab"))
    if len(parts) < 3:
        pytest.skip("the corpus has no split-*.cab set")
    folder = tmp_path / "set"
    folder.mkdir()
    for p in parts:
        shutil.copy(p, folder / p.name)
    cache = str(tmp_path / "c.db")
    for _ in range(2):
        r = invoke("scan", "--cache", cache, "-f", "json", "--fail-on", "never", str(folder))
        assert r.exit_code == 0, r.stderr
    assert "0 from the cache" in r.stderr
    (folder / parts[2].name).unlink()
    r = invoke("scan", "--cache", cache, "-f", "json", "--fail-on", "never", str(folder))
    outcomes = {Path(f["path"]).name: f["outcome"] for f in json.loads(r.stdout)["files"]}
    assert outcomes[parts[0].name] == "error", outcomes


def _record(path: str, outcome: str, version: str, signatures: list[dict[str, object]]) -> dict:
    ident = f"Package_for_KB1234567~31bf3856ad364e35~amd64~~{version}"
    return {
        "path": path,
        "kind": "msu",
        "outcome": outcome,
        "sha256": path.ljust(64, "0")[:64],
        "signatures": signatures,
        "package": {
            "summary": {
                "kb_numbers": ["1234567"],
                "architecture": "amd64",
                "target_version": "6.0",
                "package_identities": [ident],
            },
            "nodes": [
                {"signatures": [_ms_signature()]},  # a Microsoft-signed member inside
            ],
        },
    }


def _ms_signature() -> dict[str, object]:
    return {
        "nested": False,
        "parent": None,
        "signer_class": "microsoft",
        "digest_valid": True,
        "signature_valid": True,
        "trusted": True,
    }


def test_a_microsoft_signed_member_does_not_make_its_file_microsoft_signed() -> None:
    """An unsigned MSU repacked around a genuine WSUSSCAN.cab or catalog is not Microsoft-
    signed (scan audit)."""
    from msuinspect import media_checks

    unsigned = _record("fake.msu", "problem", "6.0.1.7", [])
    genuine = _record("real.msu", "ok", "6.0.1.6", [_ms_signature()])
    checks = media_checks([unsigned, genuine])
    assert [n.path for n in checks.not_microsoft_signed] == ["fake.msu"]
    # and an unsigned copy never wins the KB-version comparison, however high its version
    (kb,) = checks.kb_versions
    assert kb.winner == "real.msu"
    assert kb.decided_by == "the only trustworthy copy"


def test_the_cache_is_keyed_by_the_build_not_only_the_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The version does not change with every fix (it stayed 0.1.0 through this session's
    signature fixes): a result made by another build must not be served (scan audit)."""
    import msuinspect.scan.cache as cache

    build = cache.tool_build()
    version, _, fingerprint = build.partition("+")
    assert version and len(fingerprint) == 16
    assert cache.CacheConfig().tool_version == build
    db = str(tmp_path / "c.db")
    args = ("scan", "--cache", db, "-f", "json", "--fail-on", "never", str(CAB))
    invoke(*args)
    assert "1 from the cache" in invoke(*args).stderr
    monkeypatch.setattr(cache, "tool_build", lambda: f"{version}+{'0' * 16}")  # a new build
    assert "0 from the cache" in invoke(*args).stderr
