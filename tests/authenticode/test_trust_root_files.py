"""A ``--trust-root`` file must be a regular file of at most 16 MiB: a FIFO, a folder or a
huge file is a clear error found before anything is read (it used to hang on a FIFO and
read ``/dev/zero`` until memory ran out). Also the bounded reader behind it
(:mod:`msuinspect.userfile`)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from msuinspect.authenticode.trust import MAX_TRUST_ROOT_BYTES, load_certificates
from msuinspect.errors import InputError
from msuinspect.userfile import read_user_file

from support.cli import invoke
from support.corpus import FIXTURES
from support.special_files import guarded_fifo, sparse_file

ROOT = FIXTURES / "pki" / "root_ca.pem"
CAB = FIXTURES / "cab" / "signed_sha256.cab"


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    """A FIFO named root.fifo (see :func:`support.special_files.guarded_fifo`)."""
    with guarded_fifo(tmp_path / "root.fifo") as path:
        yield path


def test_real_roots_still_load() -> None:
    certs = load_certificates(ROOT)
    assert len(certs) == 1
    assert MAX_TRUST_ROOT_BYTES == 16 << 20


def test_fifo_is_refused_without_being_opened(fifo: Path) -> None:
    with pytest.raises(
        InputError, match=r"root\.fifo: cannot read trust root: a FIFO, not a regular file"
    ):
        load_certificates(fifo)


def test_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="a folder, not a regular file"):
        load_certificates(tmp_path)


def test_file_over_16_mib_is_refused(tmp_path: Path) -> None:
    big = sparse_file(tmp_path / "big.pem", MAX_TRUST_ROOT_BYTES + 1)
    with pytest.raises(
        InputError, match=r"trust root too large: 16777217 bytes \(at most 16 MiB\)"
    ):
        load_certificates(big)


def test_missing_file_is_still_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"cannot read trust root: No such file"):
        load_certificates(tmp_path / "nope.pem")


@pytest.mark.parametrize("command", ["inspect", "scan"])
def test_cli_reports_a_fifo_as_a_usage_error(command: str, fifo: Path) -> None:
    """The same exit status (2, usage) and form as an unreadable --trust-root file."""
    r = invoke(command, "--trust-root", str(fifo), str(CAB))
    assert r.exit_code == 2
    assert "Invalid value for --trust-root" in r.stderr
    assert "cannot read trust root: a FIFO, not a regular file" in r.stderr
    assert "Traceback" not in r.stderr


def test_cli_reports_a_huge_file_as_a_usage_error(tmp_path: Path) -> None:
    big = sparse_file(tmp_path / "big.pem", MAX_TRUST_ROOT_BYTES + 1)
    r = invoke("inspect", "--trust-root", str(big), str(CAB))
    assert r.exit_code == 2
    assert "too large" in r.stderr and "at most 16 MiB" in r.stderr


# --- the reader itself


def test_reader_reads_up_to_the_limit(tmp_path: Path) -> None:
    p = tmp_path / "f"
    p.write_bytes(b"x" * 10)
    assert read_user_file(p, limit=10, what="file") == b"x" * 10
    with pytest.raises(InputError, match=r"file too large: 10 bytes \(at most 9 bytes\)"):
        read_user_file(p, limit=9, what="file")


def test_reader_stops_one_byte_over_a_file_larger_than_it_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file whose size says less than it holds (``/proc``) is read to the limit + 1 only."""
    p = tmp_path / "f"
    p.write_bytes(b"x" * 100)
    real_stat, real_fstat = os.stat, os.fstat

    def small(st: os.stat_result) -> os.stat_result:
        fields = list(st)
        fields[stat.ST_SIZE] = 0
        return os.stat_result(fields)

    reads: list[int] = []
    real_read = os.read

    def read(fd: int, n: int) -> bytes:
        reads.append(n)
        return real_read(fd, n)

    monkeypatch.setattr(os, "stat", lambda path: small(real_stat(path)))
    monkeypatch.setattr(os, "fstat", lambda fd: small(real_fstat(fd)))
    monkeypatch.setattr(os, "read", read)
    with pytest.raises(InputError, match="file too large: more than 10 bytes"):
        read_user_file(p, limit=10, what="file")
    assert sum(reads) == 11
