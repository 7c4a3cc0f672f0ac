"""``scan`` reads the first bytes of regular files only: a FIFO, a socket or a device is
never opened to sniff it (found in a folder: a ``not-regular`` note; named: its error comes
from the inspection), and an empty file is not read at all: ``/proc/kmsg`` says it is a
regular empty file and then blocks on read (``scan /proc/kmsg`` used to hang in the
parent)."""

from __future__ import annotations

import os
import shutil
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from msuinspect.scan.discover import Note, NoteKind, discover

from conftest import FIXTURES
from support.special_files import guarded_fifo

CAB = FIXTURES / "cab" / "signed_sha1.cab"


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    """A FIFO in its own folder (see :func:`support.special_files.guarded_fifo`)."""
    folder = tmp_path / "with-fifo"
    folder.mkdir()
    with guarded_fifo(folder / "pipe.cab") as path:
        yield path


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """(st_mode, st_ino) of every file ``os.read`` is called on from now on."""
    seen: list[tuple[int, int]] = []
    real = os.read

    def read(fd: int, n: int) -> bytes:
        st = os.fstat(fd)
        seen.append((st.st_mode, st.st_ino))
        return real(fd, n)

    monkeypatch.setattr(os, "read", read)
    return seen


def test_fifo_and_socket_in_a_folder_are_noted_and_never_read(
    fifo: Path, reads: list[tuple[int, int]]
) -> None:
    folder = fifo.parent
    shutil.copy2(CAB, folder / "real.cab")
    sock_path = folder / "s.cab"
    if len(str(sock_path)) >= 100:
        pytest.skip("temporary path too long for a Unix socket")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(sock_path))
        notes: list[Note] = []
        found = [c.path for c in discover([str(folder)], on_note=notes.append)]
    assert found == [str(folder / "real.cab")]
    assert sorted((n.kind, os.path.basename(n.path)) for n in notes) == [
        (NoteKind.NOT_REGULAR, "pipe.cab"),
        (NoteKind.NOT_REGULAR, "s.cab"),
    ]
    assert all(stat.S_ISREG(mode) for mode, _ino in reads)


def test_empty_files_are_not_read(tmp_path: Path, reads: list[tuple[int, int]]) -> None:
    """Nothing to sniff in an empty file; a pseudo-file that says it is one may block."""
    folder = tmp_path / "media"
    folder.mkdir()
    empty = folder / "empty.cab"
    empty.write_bytes(b"")
    shutil.copy2(CAB, folder / "real.cab")
    skipped: list[str] = []
    found = [c.path for c in discover([str(folder)], on_skip=skipped.append)]
    assert found == [str(folder / "real.cab")]
    assert skipped == [str(empty)]
    named = list(discover([str(empty)]))  # named: kept, its error comes from the inspection
    assert [c.path for c in named] == [str(empty)]
    assert empty.stat().st_ino not in {ino for _mode, ino in reads}
    assert (folder / "real.cab").stat().st_ino in {ino for _mode, ino in reads}


def test_a_fifo_swapped_in_after_the_stat_is_not_read(
    fifo: Path, reads: list[tuple[int, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file is checked again on the descriptor, which is opened without blocking."""
    regular = os.stat(CAB)
    real_stat = os.stat

    def stat_(path: str, *args: object, **kwargs: object) -> os.stat_result:
        if os.fspath(path) == str(fifo):  # still a regular file when the scan looked
            return regular
        return real_stat(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "stat", stat_)
    found = list(discover([str(fifo)]))
    assert [c.path for c in found] == [str(fifo)]
    assert reads == []


def test_named_fifo_is_kept_for_the_inspection_to_refuse(
    fifo: Path, reads: list[tuple[int, int]]
) -> None:
    found = list(discover([str(fifo)]))
    assert [c.path for c in found] == [str(fifo)]
    assert reads == []
