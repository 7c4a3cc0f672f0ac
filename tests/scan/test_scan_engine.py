"""The batch engine on real bytes: order whatever the jobs, the cache, the time budget,
symbolic links, and a scanned tree left untouched."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from scan_helpers import HANG_MARK, crashing_report_dict, hanging_report_dict, snapshot

from msuinspect.report.inspect_json import report_dict
from msuinspect.scan.cache import CacheConfig, CacheError, ResultCache, trust_roots_key
from msuinspect.scan.discover import Note, NoteKind, discover
from msuinspect.scan.engine import Scan, ScanOptions

from conftest import FIXTURES

ROOT_PEM = str(FIXTURES / "pki" / "root_ca.pem")


def _tree(tmp: Path) -> Path:
    """A small download folder: signed samples, verdict MSUs, cabinets, a text file."""
    root = tmp / "downloads"
    (root / "verdict").mkdir(parents=True)
    (root / "cab").mkdir()
    for p in sorted((FIXTURES / "sample").glob("*.msu")):
        shutil.copy2(p, root / p.name)
    for p in sorted((FIXTURES / "verdict").glob("*.msu"))[:4]:
        shutil.copy2(p, root / "verdict" / p.name)
    for name in ("signed_sha256.cab", "tampered_signed_sha256.cab", "stored_2files.cab"):
        shutil.copy2(FIXTURES / "cab" / name, root / "cab" / name)
    (root / "readme.txt").write_text("not an update\n")
    return root


def _run(
    root: Path,
    *,
    jobs: int = 2,
    cache: ResultCache | None = None,
    timeout: float | None = 120.0,
    to_record=report_dict,  # type: ignore[no-untyped-def]
    notes: list[Note] | None = None,
) -> tuple[list[dict[str, object]], Scan]:
    cands = list(discover([str(root)], on_note=notes.append if notes is not None else None))
    opts = ScanOptions(jobs=jobs, timeout=timeout, trust_roots=(ROOT_PEM,))
    config = CacheConfig(trust_roots_sha256=trust_roots_key([ROOT_PEM]))
    job = Scan(cands, opts, to_record, cache=cache, cache_config=config)
    return [r.record for r in job.results()], job


def _strip_times(record: object) -> object:
    """Drop the moment-of-validation fields (``--as-of`` defaults to now)."""
    if isinstance(record, dict):
        return {k: _strip_times(v) for k, v in record.items() if k != "validated_at"}
    if isinstance(record, list):
        return [_strip_times(v) for v in record]
    return record


def test_same_records_in_the_same_order_for_one_and_two_jobs(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    one, _ = _run(root, jobs=1)
    two, _ = _run(root, jobs=2)
    paths = [r["path"] for r in one]
    assert paths == [r["path"] for r in two]
    # the folder's files by name, then its subfolders; the text file is skipped
    rel = [os.path.relpath(str(p), root) for p in paths]
    assert rel[:2] == ["Windows6.0-KB9999901-x64.msu", "Windows6.0-KB9999902-x64.msu"]
    assert rel[2:5] == [
        "cab/signed_sha256.cab",
        "cab/stored_2files.cab",
        "cab/tampered_signed_sha256.cab",
    ]
    assert all(r.startswith("verdict/") for r in rel[5:]) and len(rel) == 9
    assert _strip_times(one) == _strip_times(two)
    outcomes = {os.path.basename(str(r["path"])): r["outcome"] for r in one}
    assert outcomes["Windows6.0-KB9999902-x64.msu"] in ("ok", "warning")
    assert outcomes["tampered_signed_sha256.cab"] in ("problem", "error")  # altered bytes
    assert outcomes["stored_2files.cab"] == "problem"  # unsigned


def test_rescan_analyses_nothing_and_a_new_file_alone(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    db = str(tmp_path / "cache.sqlite3")
    with ResultCache(db) as cache:
        first, job = _run(root, cache=cache)
    assert (job.stats.analysed, job.stats.cached) == (9, 0)
    with ResultCache(db) as cache:
        again, job = _run(root, cache=cache)
    assert (job.stats.analysed, job.stats.cached) == (0, 9)
    assert again == first
    shutil.copy2(FIXTURES / "cab" / "signed_sha1.cab", root / "cab" / "added.cab")
    with ResultCache(db) as cache:
        third, job = _run(root, cache=cache)
    assert (job.stats.analysed, job.stats.cached) == (1, 9)
    assert [r["path"] for r in third if r not in first] == [str(root / "cab" / "added.cab")]
    # the same bytes under another folder: no stat match, analysed, and its record is right
    moved = tmp_path / "moved"
    shutil.copytree(root, moved)
    with ResultCache(db) as cache:
        fourth, job = _run(moved, cache=cache)
    assert job.stats.analysed == 10
    assert all(str(r["path"]).startswith(str(moved)) for r in fourth)


def test_changed_file_is_analysed_again(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    db = str(tmp_path / "cache.sqlite3")
    with ResultCache(db) as cache:
        _run(root, cache=cache)
    target = root / "cab" / "signed_sha256.cab"
    data = bytearray(target.read_bytes())
    data[-1] ^= 1
    target.write_bytes(bytes(data))
    with ResultCache(db) as cache:
        records, job = _run(root, cache=cache)
    assert job.stats.analysed == 1
    changed = next(r for r in records if r["path"] == str(target))
    assert changed["outcome"] != "ok"


def test_trust_roots_and_as_of_are_part_of_the_key() -> None:
    a = CacheConfig(trust_roots_sha256=("aa",)).key()
    assert a != CacheConfig().key()
    import datetime as dt

    when = dt.datetime(2019, 7, 16, tzinfo=dt.UTC)
    assert CacheConfig(as_of=when).key() != CacheConfig().key()
    assert CacheConfig().key(dt.date(2026, 1, 1)) != CacheConfig().key(dt.date(2026, 1, 2))
    assert CacheConfig(host_key="x").key() != CacheConfig().key()


def test_corrupt_cache_is_reported_and_rebuilt(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    db = tmp_path / "cache.sqlite3"
    db.write_bytes(b"this is not a database" * 100)
    notes: list[str] = []
    with ResultCache(str(db), on_note=notes.append) as cache:
        _, job = _run(root, cache=cache)
    assert len(notes) == 1 and "set aside" in notes[0] and "rebuilt" in notes[0]
    assert (tmp_path / "cache.sqlite3.corrupt").exists()  # never deleted: maybe not ours
    assert job.stats.analysed == 9
    with ResultCache(str(db), on_note=notes.append) as cache:
        _, job = _run(root, cache=cache)
    assert job.stats.cached == 9 and len(notes) == 1
    # one of ours with an unreadable row: the row is dropped, never trusted
    con = sqlite3.connect(db)
    con.execute("UPDATE results SET record = x'00112233'")
    con.commit()
    con.close()
    notes.clear()
    with ResultCache(str(db), on_note=notes.append) as cache:
        _, job = _run(root, cache=cache)
    assert job.stats.analysed == 9 and notes


def test_cache_of_another_schema_version_is_rebuilt(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite3"
    ResultCache(str(db)).close()
    con = sqlite3.connect(db)
    con.execute("UPDATE meta SET value = '0' WHERE key = 'schema'")
    con.commit()
    con.close()
    notes: list[str] = []
    ResultCache(str(db), on_note=notes.append).close()
    assert notes and "rebuilt" in notes[0]


def test_damaged_pages_mid_scan_are_set_aside_and_rebuilt(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    db = tmp_path / "cache.sqlite3"
    with ResultCache(str(db)) as cache:
        _run(root, cache=cache)
    con = sqlite3.connect(db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    data = bytearray(db.read_bytes())
    page = 4096
    for off in range(2 * page, len(data)):  # every page after the schema and meta pages
        data[off] = 0xA5
    db.write_bytes(bytes(data))
    notes: list[str] = []
    with ResultCache(str(db), on_note=notes.append) as cache:
        records, job = _run(root, cache=cache)
    assert len(records) == 9
    assert any("is damaged" in n and "rebuilt" in n for n in notes), notes
    with ResultCache(str(db)) as cache:
        _, job = _run(root, cache=cache)
    assert job.stats.cached == 9


def test_foreign_database_is_left_alone(tmp_path: Path) -> None:
    db = tmp_path / "other.sqlite3"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE precious (x)")
    con.execute("INSERT INTO precious VALUES (42)")
    con.commit()
    con.close()
    with pytest.raises(CacheError, match="another application"):
        ResultCache(str(db))
    con = sqlite3.connect(db)
    assert con.execute("SELECT x FROM precious").fetchall() == [(42,)]
    con.close()


def test_time_budget_kills_the_worker_and_the_scan_goes_on(tmp_path: Path) -> None:
    root = tmp_path / "t"
    root.mkdir()
    for p in sorted((FIXTURES / "sample").glob("*.msu")):
        shutil.copy2(p, root / p.name)
    shutil.copy2(FIXTURES / "cab" / "signed_sha256.cab", root / "z.cab")
    records, job = _run(root, jobs=1, timeout=3.0, to_record=hanging_report_dict)
    assert [os.path.basename(str(r["path"])) for r in records] == [
        "Windows6.0-KB9999901-x64.msu",
        "Windows6.0-KB9999902-x64.msu",
        "z.cab",
    ]
    hung, after, last = records
    assert HANG_MARK in str(hung["path"])
    assert hung["outcome"] == "error"
    assert hung["error"]["code"] == "time-budget"  # type: ignore[index]
    assert hung["reasons"][0].startswith("time-budget:")  # type: ignore[index]
    assert after["outcome"] in ("ok", "warning") and last["outcome"] in ("ok", "warning")
    assert job.stats.timed_out == 1 and job.stats.workers_replaced == 1


def test_a_worker_that_dies_is_replaced_and_its_file_reported(tmp_path: Path) -> None:
    root = tmp_path / "t"
    root.mkdir()
    for p in sorted((FIXTURES / "sample").glob("*.msu")):
        shutil.copy2(p, root / p.name)
    records, job = _run(root, jobs=1, to_record=crashing_report_dict)
    crashed, after = records
    assert crashed["error"]["code"] == "internal-error"  # type: ignore[index]
    assert "status 139" in crashed["error"]["message"]  # type: ignore[index]
    assert after["outcome"] in ("ok", "warning")
    assert job.stats.crashed == 1 and job.stats.workers_replaced == 1


def test_time_budget_on_a_large_corpus_file(corpus: Path) -> None:
    big = corpus / "cab" / "ms" / "vc2008_x86_VC_RED.cab"
    if not big.is_file():
        pytest.skip("vc2008_x86_VC_RED.cab not in the corpus")
    cands = list(discover([str(big)]))
    job = Scan(cands, ScanOptions(jobs=1, timeout=0.001), report_dict)
    (record,) = [r.record for r in job.results()]
    assert record["outcome"] == "error"
    assert record["error"]["code"] == "time-budget"
    assert set(record) == {"path", "outcome", "reasons", "error"}


def test_symlinks_are_not_followed_and_said(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy2(FIXTURES / "cab" / "signed_sha256.cab", outside / "secret.cab")
    root = tmp_path / "media"
    root.mkdir()
    shutil.copy2(FIXTURES / "cab" / "signed_sha1.cab", root / "real.cab")
    os.symlink(outside / "secret.cab", root / "link.cab")
    os.symlink(outside, root / "linkdir")
    notes: list[Note] = []
    records, _ = _run(root, notes=notes)
    assert [os.path.basename(str(r["path"])) for r in records] == ["real.cab"]
    skipped = sorted(os.path.basename(n.path) for n in notes)
    assert skipped == ["link.cab", "linkdir"]
    assert all(n.kind is NoteKind.SYMLINK_SKIPPED for n in notes)


def test_only_update_files_unless_all(tmp_path: Path) -> None:
    root = tmp_path / "mixed"
    root.mkdir()
    shutil.copy2(FIXTURES / "cab" / "signed_sha1.cab", root / "renamed.bin")  # by content
    (root / "notes.msu").write_text("<html>download error</html>")  # by content: not one
    (root / "empty.cab").write_bytes(b"")
    skipped: list[str] = []
    found = [c.path for c in discover([str(root)], on_skip=skipped.append)]
    assert [os.path.basename(p) for p in found] == ["renamed.bin"]
    assert sorted(os.path.basename(p) for p in skipped) == ["empty.cab", "notes.msu"]
    every = [os.path.basename(c.path) for c in discover([str(root)], all_files=True)]
    assert every == ["empty.cab", "notes.msu", "renamed.bin"]


def test_nothing_is_written_to_the_scanned_tree(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    before = snapshot(root)
    with ResultCache(str(tmp_path / "cache.sqlite3")) as cache:
        _run(root, cache=cache)
        _run(root, cache=cache)
    assert snapshot(root) == before


def test_stop_yields_what_is_done_and_the_cache_keeps_it(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    db = str(tmp_path / "cache.sqlite3")
    cands = list(discover([str(root)]))
    with ResultCache(db) as cache:
        job = Scan(cands, ScanOptions(jobs=1, trust_roots=(ROOT_PEM,)), report_dict, cache=cache)
        got = []
        for result in job.results():
            got.append(result)
            if len(got) == 3:
                job.stop()
        assert job.stats.interrupted
    assert 3 <= len(got) < len(cands)
    assert [r.index for r in got] == sorted(r.index for r in got)
    with ResultCache(db) as cache:
        job = Scan(cands, ScanOptions(jobs=1, trust_roots=(ROOT_PEM,)), report_dict, cache=cache)
        list(job.results())
    assert job.stats.cached >= 3


def test_dask_local_cluster_gives_the_same_records(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    root = _tree(tmp_path)
    local, _ = _run(root, jobs=2)
    cands = list(discover([str(root)]))
    db = str(tmp_path / "cache.sqlite3")
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
        ResultCache(db) as cache,
    ):
        opts = ScanOptions(trust_roots=(ROOT_PEM,), dask=client)
        config = CacheConfig(trust_roots_sha256=trust_roots_key([ROOT_PEM]))
        job = Scan(cands, opts, report_dict, cache=cache, cache_config=config)
        remote = [r.record for r in job.results()]
        assert job.stats.analysed == len(cands)
        # the cache was written on the client: a rescan analyses nothing
        job = Scan(cands, opts, report_dict, cache=cache, cache_config=config)
        assert [r.record for r in job.results()] == remote
        assert job.stats.analysed == 0
    assert _strip_times(remote) == _strip_times(local)
