"""``msuinspect scan``'s report file and cache path: file names that are not valid UTF-8, an
output or cache path that is not a regular file (a FIFO, a link), a scan that fails, is
interrupted or terminated, and a report that cannot be written. Nothing but the file asked
for is ever written, renamed or replaced; no traceback; no temporary file left behind."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from msuinspect.cli import scan_cmd
from msuinspect.report import batch_json
from msuinspect.report.batch_sarif import artifact_uri
from msuinspect.scan.cache import CacheError, CachePathError, ResultCache

from support.cli import invoke
from support.corpus import FIXTURES

ROOT_PEM = str(FIXTURES / "pki" / "root_ca.pem")
CAB = FIXTURES / "cab" / "signed_sha256.cab"
#: a file name that is not valid UTF-8, as Python holds it (``b"b\xff.cab"``)
BAD_NAME = os.fsdecode(b"b\xff.cab")
_F_SETPIPE_SZ = 1031  # Linux


def _one_cab(tmp: Path) -> Path:
    root = tmp / "in"
    root.mkdir()
    shutil.copy2(CAB, root / "a.cab")
    return root


def _undecodable_tree(tmp: Path) -> Path:
    root = tmp / "u9"
    root.mkdir()
    shutil.copy2(CAB, root / "a.cab")
    try:
        shutil.copy2(CAB, os.path.join(root, BAD_NAME))
    except (OSError, UnicodeError):
        pytest.skip("this file system does not take a file name that is not valid UTF-8")
    return root


def _scan(*args: str) -> Any:
    return invoke("scan", "-q", "--trust-root", ROOT_PEM, "--as-of", "2026-01-01", *args)


def _no_traceback(text: str) -> None:
    assert "Traceback" not in text


# -- 1. file names that are not valid UTF-8 ------------------------------------------------


def test_undecodable_name_is_scanned_and_cached(tmp_path: Path) -> None:
    root = _undecodable_tree(tmp_path)
    db = str(tmp_path / "c.sqlite3")
    first = invoke("scan", "--cache", db, "-f", "jsonl", "--trust-root", ROOT_PEM, str(root))
    _no_traceback(first.stderr)
    assert first.exit_code == 0, first.stderr
    lines = [json.loads(x) for x in first.stdout.splitlines()[1:]]
    assert sorted(rec["path"] for rec in lines) == sorted(
        [os.path.join(str(root), "a.cab"), os.path.join(str(root), BAD_NAME)]
    )
    assert "2 file(s), 2 analysed, 0 from the cache" in first.stderr
    # the path round-trips through the cache: the rescan reads neither file
    again = invoke("scan", "--cache", db, "-f", "jsonl", "--trust-root", ROOT_PEM, str(root))
    assert again.exit_code == 0, again.stderr
    assert "2 file(s), 0 analysed, 2 from the cache" in again.stderr
    assert again.stdout.splitlines()[1:] == first.stdout.splitlines()[1:]


def test_undecodable_name_in_the_library_cache(tmp_path: Path) -> None:
    root = _undecodable_tree(tmp_path)
    from msuinspect.report.inspect_json import report_dict
    from msuinspect.scan.cache import CacheConfig
    from msuinspect.scan.discover import discover
    from msuinspect.scan.engine import Scan, ScanOptions

    cands = list(discover([str(root)]))
    with ResultCache(str(tmp_path / "c.sqlite3")) as cache:
        job = Scan(cands, ScanOptions(jobs=1), report_dict, cache=cache)
        first = [r.record for r in job.results()]
    with ResultCache(str(tmp_path / "c.sqlite3")) as cache:
        job = Scan(cands, ScanOptions(jobs=1), report_dict, cache=cache, cache_config=CacheConfig())
        again = [r.record for r in job.results()]
        assert job.stats.cached == 2 and job.stats.analysed == 0
    assert [r["path"] for r in again] == [r["path"] for r in first]
    assert os.path.join(str(root), BAD_NAME) in {r["path"] for r in again}


def test_sarif_uri_of_an_undecodable_name(tmp_path: Path) -> None:
    assert artifact_uri(os.fsdecode(b"dl/b\xff c.cab")) == "dl/b%FF%20c.cab"
    assert artifact_uri(os.fsdecode(b"/dl/b\xff.cab")) == "file:///dl/b%FF.cab"
    root = _undecodable_tree(tmp_path)
    # without the test root: the cabinets are untrusted, a result each
    res = invoke("scan", "-q", "--no-cache", "-f", "sarif", "--fail-on", "never", str(root))
    _no_traceback(res.stderr)
    assert res.exit_code == 0, res.stderr
    log = json.loads(res.stdout)
    uris = {
        loc["physicalLocation"]["artifactLocation"]["uri"]
        for result in log["runs"][0]["results"]
        for loc in result["locations"]
    }
    assert any(u.endswith("/b%FF.cab") for u in uris), uris


# -- 2. output and cache paths that are not a regular file ---------------------------------


def test_output_to_a_fifo_is_written_and_stays_a_fifo(tmp_path: Path) -> None:
    root = _one_cab(tmp_path)
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    # a reader is there first (so the scan's open does not wait), with room for the report
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        with contextlib.suppress(OSError):
            import fcntl

            fcntl.fcntl(fd, _F_SETPIPE_SZ, 1 << 20)
        res = _scan("--no-cache", "-f", "json", "--fail-on", "never", "-o", str(fifo), str(root))
        data = b""
        with contextlib.suppress(BlockingIOError):
            while chunk := os.read(fd, 1 << 16):
                data += chunk
    finally:
        os.close(fd)
    assert res.exit_code == 0, res.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert len(json.loads(data)["files"]) == 1
    assert sorted(os.listdir(tmp_path)) == ["in", "report.fifo"]


def test_output_through_a_link_to_a_fifo_is_written(tmp_path: Path) -> None:
    """As ``-o /dev/stdout`` (a link to a pipe or a terminal) works."""
    root = _one_cab(tmp_path)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    (tmp_path / "stdout").symlink_to(fifo)
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        res = _scan(
            "--no-cache",
            "-f",
            "csv",
            "--fail-on",
            "never",
            "-o",
            str(tmp_path / "stdout"),
            str(root),
        )
        data = os.read(fd, 1 << 16)
    finally:
        os.close(fd)
    assert res.exit_code == 0, res.stderr
    assert data.startswith(b"path,outcome,")
    assert os.path.islink(tmp_path / "stdout") and stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_planted_part_link_is_not_followed(tmp_path: Path) -> None:
    root = _one_cab(tmp_path)
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    out = tmp_path / "report.json"
    (tmp_path / "report.json.part").symlink_to(victim)
    res = _scan("--no-cache", "-f", "json", "--fail-on", "never", "-o", str(out), str(root))
    assert res.exit_code == 0, res.stderr
    assert victim.read_text() == "precious\n"
    assert os.readlink(tmp_path / "report.json.part") == str(victim)
    assert len(json.loads(out.read_text())["files"]) == 1
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~_umask()
    assert sorted(os.listdir(tmp_path)) == ["in", "report.json", "report.json.part", "victim"]


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_output_that_is_a_link_is_refused_and_left_alone(tmp_path: Path, fmt: str) -> None:
    root = _one_cab(tmp_path)
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    link = tmp_path / "report"
    link.symlink_to(victim)
    res = _scan("--no-cache", "-f", fmt, "-o", str(link), str(root))
    assert res.exit_code == 1
    assert res.stderr.count("\n") == 1 and "symbolic link" in res.stderr
    _no_traceback(res.stderr)
    assert victim.read_text() == "precious\n"
    assert os.readlink(link) == str(victim)
    assert sorted(os.listdir(tmp_path)) == ["in", "report", "victim"]


def test_cache_that_is_a_fifo_is_refused_and_left_alone(tmp_path: Path) -> None:
    root = _one_cab(tmp_path)
    fifo = tmp_path / "cache.fifo"
    os.mkfifo(fifo)
    for args in (
        ("scan", "-q", "--cache", str(fifo), str(root)),
        ("cache", "stats", "--cache", str(fifo)),
        ("cache", "clear", "--cache", str(fifo)),
    ):
        res = invoke(*args)
        assert res.exit_code == 1, args
        assert "not a regular file" in res.stderr and res.stderr.count("\n") == 1, res.stderr
        assert res.stdout == ""
        assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
        assert sorted(os.listdir(tmp_path)) == ["cache.fifo", "in"]
    with pytest.raises(CachePathError, match="a FIFO"):
        ResultCache(str(fifo))


def test_a_corrupt_cache_behind_a_link_is_not_moved(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage"
    garbage.write_bytes(b"\x00garbage" * 64)
    link = tmp_path / "c.sqlite3"
    link.symlink_to(garbage)
    notes: list[str] = []
    with pytest.raises(CacheError):
        ResultCache(str(link), on_note=notes.append)
    assert "not a regular file" in " ".join(notes)
    assert os.readlink(link) == str(garbage)
    assert garbage.read_bytes() == b"\x00garbage" * 64
    assert sorted(os.listdir(tmp_path)) == ["c.sqlite3", "garbage"]
    (tmp_path / "dangling").symlink_to(tmp_path / "none")
    with pytest.raises(CachePathError, match="link to nothing"):
        ResultCache(str(tmp_path / "dangling"))
    assert not (tmp_path / "none").exists()


# -- 3. a scan that fails, is interrupted or terminated ------------------------------------


def test_internal_error_publishes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _one_cab(tmp_path)
    outdir = tmp_path / "out"
    outdir.mkdir()
    out = outdir / "report.json"
    out.write_text("the previous report\n")

    def boom(self: batch_json.JsonWriter, record: dict[str, Any]) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(batch_json.JsonWriter, "add", boom)
    res = _scan("--no-cache", "-f", "json", "-o", str(out), str(root))
    assert res.exit_code == 70
    assert "msuinspect: internal error: RuntimeError: boom" in res.stderr
    _no_traceback(res.stderr)
    assert out.read_text() == "the previous report\n"
    assert os.listdir(outdir) == ["report.json"]


def test_ctrl_c_outside_the_scan_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _one_cab(tmp_path)
    outdir = tmp_path / "out"
    outdir.mkdir()

    def interrupted(self: batch_json.JsonWriter) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(batch_json.JsonWriter, "close", interrupted)
    res = _scan("--no-cache", "-f", "json", "-o", str(outdir / "report.json"), str(root))
    assert res.exit_code == 130
    assert "interrupted" in res.stderr
    assert os.listdir(outdir) == []


@pytest.mark.slow
def test_sigterm_leaves_no_temporary_file(tmp_path: Path) -> None:
    big = tmp_path / "many"
    big.mkdir()
    for i in range(40):
        for p in sorted((FIXTURES / "verdict").glob("*.msu"))[:3]:
            sub = big / f"d{i:02}"
            sub.mkdir(exist_ok=True)
            shutil.copy2(p, sub / p.name)
    outdir = tmp_path / "out"
    outdir.mkdir()
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); from scan_helpers import cli\n"
        "if __name__ == '__main__':\n    cli(sys.argv[2:])"
    )
    args = [sys.executable, "-c", code, str(Path(__file__).parent), "scan", "-j", "1"]
    args += ["-f", "json", "-o", str(outdir / "report.json"), "--no-cache", str(big)]
    proc = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
    for _ in range(600):  # wait for the report to be under way, not for a time
        names = os.listdir(outdir)
        if names and (outdir / names[0]).stat().st_size > 0:
            break
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "terminated" in err and "Traceback" not in err
    assert os.listdir(outdir) == []


# -- 4. a report that cannot be written -----------------------------------------------------


def test_missing_output_folder_fails_before_the_walk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _one_cab(tmp_path)

    def no_walk(*_args: object, **_kw: object) -> list[object]:
        raise AssertionError("the tree was walked")

    monkeypatch.setattr(scan_cmd, "discover", no_walk)
    out = tmp_path / "missing" / "report.json"
    for fmt in ("json", "jsonl"):
        res = _scan("--no-cache", "-f", fmt, "-o", str(out), str(root))
        assert res.exit_code == 1
        assert res.stderr == (
            f"msuinspect: error: cannot write the report to {out}: No such file or directory\n"
        )
    assert not (tmp_path / "missing").exists()


def test_full_disk_is_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    """A file size limit (``RLIMIT_FSIZE``) makes writes fail as a full disk does."""
    resource = pytest.importorskip("resource")
    root = tmp_path / "in"
    root.mkdir()
    for name in ("a.cab", "b.cab", "c.cab"):
        shutil.copy2(CAB, root / name)
    outdir = tmp_path / "out"
    outdir.mkdir()

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    for fmt in ("json", "jsonl"):
        args = [sys.executable, "-m", "msuinspect", "scan", "-q", "--no-cache", "-f", fmt]
        args += ["--fail-on", "never", "-o", str(outdir / f"report.{fmt}"), str(root)]
        proc = subprocess.run(
            args, capture_output=True, text=True, timeout=120, preexec_fn=small_files
        )
        assert proc.returncode == 1, proc.stderr
        assert proc.stderr == (
            f"msuinspect: error: cannot write the report to {outdir / f'report.{fmt}'}: "
            "File too large\n"
        )
    # the streamed jsonl keeps what was written; the others leave nothing
    assert os.listdir(outdir) == ["report.jsonl"]
