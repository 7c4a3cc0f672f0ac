"""Host files the user names (evidence for ``host import`` / ``host status``, a TOML
profile for ``--host``) must be regular files of bounded size: a FIFO, a folder or a huge
file is a clear error for that file, found before anything is read (a FIFO used to hang
them, and ``host import /dev/zero`` read gigabytes before its 64 MiB check)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from msuinspect.cli.status_cmd import read_evidence_file
from msuinspect.errors import InputError
from msuinspect.host.errors import HostSpecError
from msuinspect.host.presets import preset
from msuinspect.host.spec import MAX_PROFILE_BYTES, load_host
from msuinspect.host.textio import MAX_EVIDENCE_BYTES
from msuinspect.host.tomlio import write_toml

from support.cli import invoke
from support.corpus import FIXTURES
from support.special_files import guarded_fifo, sparse_file

EVIDENCE = FIXTURES / "host" / "systeminfo-en-6002-rtm.txt"
CAB = FIXTURES / "cab" / "signed_sha256.cab"


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    """A FIFO named host.toml (see :func:`support.special_files.guarded_fifo`)."""
    with guarded_fifo(tmp_path / "host.toml") as path:
        yield path


def test_the_cli_evidence_cap_is_the_host_layers() -> None:
    import msuinspect

    assert msuinspect.MAX_EVIDENCE_BYTES == MAX_EVIDENCE_BYTES == 64 << 20


# --- --host FILE.toml


def test_profile_files_still_load(tmp_path: Path) -> None:
    f = tmp_path / "h.toml"
    f.write_text(write_toml(preset("2008sp2-esu-x64")), encoding="utf-8")
    assert load_host(str(f)) == preset("2008sp2-esu-x64")


def test_profile_fifo_is_refused(fifo: Path) -> None:
    with pytest.raises(
        HostSpecError, match=r"cannot read host profile: a FIFO, not a regular file"
    ):
        load_host(str(fifo))


def test_profile_over_the_cap_is_refused(tmp_path: Path) -> None:
    big = sparse_file(tmp_path / "big.toml", MAX_PROFILE_BYTES + 1)
    with pytest.raises(
        HostSpecError, match=r"host profile too large: 16777217 bytes \(at most 16 MiB\)"
    ):
        load_host(str(big))


def test_profile_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "dir.toml"
    folder.mkdir()
    with pytest.raises(HostSpecError, match="a folder, not a regular file"):
        load_host(str(folder))


@pytest.mark.parametrize("command", ["inspect", "plan"])
def test_host_fifo_is_a_usage_error_in_inspect_and_plan(
    command: str, fifo: Path, tmp_path: Path
) -> None:
    target = str(CAB) if command == "inspect" else str(tmp_path)
    r = invoke(command, "--host", str(fifo), target)
    assert r.exit_code == 2
    assert "a FIFO, not a regular file" in r.stderr
    assert "Traceback" not in r.stderr


def test_host_show_and_status_refuse_a_profile_fifo(fifo: Path) -> None:
    for args in (("show", str(fifo)), ("status", str(fifo))):
        r = invoke("host", *args)
        assert r.exit_code == 2, args
        assert "a FIFO, not a regular file" in r.stderr


# --- evidence files


def test_evidence_reader(tmp_path: Path) -> None:
    assert read_evidence_file(str(EVIDENCE)) == EVIDENCE.read_bytes()
    with pytest.raises(InputError, match="folder, not a regular file") as info:
        read_evidence_file(str(tmp_path))
    assert info.value.path == str(tmp_path)
    big = sparse_file(tmp_path / "big.txt", MAX_EVIDENCE_BYTES + 1)
    with pytest.raises(InputError, match=r"67108865 bytes \(at most 64 MiB\)"):
        read_evidence_file(str(big))


def test_import_reports_every_unreadable_file_and_writes_no_profile(
    fifo: Path, tmp_path: Path
) -> None:
    """A folder, a FIFO, a huge file and a missing one among the FILES: one error line each
    (the folder no longer stops the command as a usage error), then no profile, exit 1."""
    folder = tmp_path / "folder"
    folder.mkdir()
    big = sparse_file(tmp_path / "big.txt", MAX_EVIDENCE_BYTES + 1)
    out = tmp_path / "out.toml"
    files = [str(EVIDENCE), str(folder), str(fifo), str(big), str(tmp_path / "missing.txt")]
    r = invoke("host", "import", "-o", str(out), *files)
    assert r.exit_code == 1
    lines = r.stderr.splitlines()
    assert lines == [
        f"msuinspect: error: {folder}: cannot read host evidence: a folder, not a regular "
        "file [input-error]",
        f"msuinspect: error: {fifo}: cannot read host evidence: a FIFO, not a regular "
        "file [input-error]",
        f"msuinspect: error: {big}: host evidence too large: 67108865 bytes "
        "(at most 64 MiB) [input-error]",
        f"msuinspect: error: {tmp_path / 'missing.txt'}: cannot read host evidence: No such "
        "file or directory [input-error]",
        "msuinspect: no profile written",
    ]
    assert not out.exists()


def test_import_of_good_files_still_works(tmp_path: Path) -> None:
    out = tmp_path / "out.toml"
    r = invoke("host", "import", "-o", str(out), str(EVIDENCE))
    assert r.exit_code == 0, r.stderr
    assert load_host(str(out)).build == 6002


def test_status_refuses_an_evidence_fifo(tmp_path: Path) -> None:
    path = tmp_path / "evidence.txt"
    os.mkfifo(path)  # never opened by the fixed code; the old one hung here, so guard it
    guard = threading.Thread(target=lambda: os.close(os.open(path, os.O_WRONLY)), daemon=True)
    guard.start()
    try:
        r = invoke("host", "status", str(path))
    finally:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        guard.join()
        os.close(fd)
    assert r.exit_code == 1
    assert (
        f"msuinspect: error: {path}: cannot read host evidence: a FIFO, not a regular file"
        in r.stderr
    )


def test_status_refuses_huge_evidence(tmp_path: Path) -> None:
    big = sparse_file(tmp_path / "big.txt", MAX_EVIDENCE_BYTES + 1)
    r = invoke("host", "status", str(big))
    assert r.exit_code == 1
    assert "(at most 64 MiB) [host-evidence]" in r.stderr
