"""Disc images (ISO 9660, Joliet, UDF) scanned without mounting them.

An image is recognised by its volume descriptors (``CD001`` for ISO 9660 and Joliet,
``NSR02``/``NSR03`` for UDF, in the sectors from 32 KiB on), not by its name. Its members are
listed and read with libarchive (ISO 9660 with Joliet and Rock Ridge names; the image is
opened read-only with the ``iso9660`` format alone), or with ``7zz`` for a UDF-only image
(libarchive does not read UDF) and as the fallback when libarchive cannot list the image.

Each member becomes a scan candidate whose path is a node path,
``media.iso!/w60-x64/glb/windows6.0-kb4493730-x64.msu``. A worker reads one member at a time:
it streams the member's bytes (in blocks: memory stays bounded whatever the member size)
into a private folder of the system temporary directory, inspects that file, removes it,
and rewrites the temporary path in the report to the node path. A temporary file rather
than a stream because the inspection needs random access (a cabinet's directory, the
signature at its end, the nested cabinets it re-reads); nothing is ever written next to the
image. A worker killed over its time budget leaves its folder behind: the parent removes it
(:func:`remove_worker_temp`).

Members are sniffed by content like files of a folder (``MSCF``, ``MZ``, DER) when
libarchive reads the image; through ``7zz`` only names are listed, so members are kept by
extension (those of :data:`msuinspect.scan.walk.PACKAGE_SUFFIXES`). Links inside an image
are not followed.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from msuinspect.errors import InputError
from msuinspect.scan.walk import PACKAGE_SUFFIXES

_SECTOR = 2048
_FIRST = 16  # volume descriptors start at sector 16 (32 KiB)
_LOOK = 32  # sectors examined
_SNIFF = 4
_MAX_MEMBERS = 1_000_000
_TEMP_PREFIX = "msuinspect-member-"

ISO9660 = "iso9660"
UDF = "udf"

LIBARCHIVE = "libarchive"
SEVENZIP = "7zz"


class ImageError(InputError):
    """A disc image that cannot be listed or whose member cannot be read (``input-error``)."""


@dataclass(frozen=True, slots=True)
class MemberRef:
    """What a worker needs to read one member of an image."""

    image: str
    member: str
    backend: str

    @property
    def node_path(self) -> str:
        return node_path(self.image, self.member)


@dataclass(frozen=True, slots=True)
class ImageMember:
    name: str
    size: int
    #: first bytes (empty when the backend does not give them)
    head: bytes = b""


#: what a worker is given: a file's path, or a member of an image
Target = str | MemberRef


def target_path(target: Target) -> str:
    """The path a report names: the file's, or the member's node path."""
    return target.node_path if isinstance(target, MemberRef) else target


def node_path(image: str, member: str) -> str:
    return f"{image}!/{member}"


def image_kind(path: str) -> str | None:
    """``iso9660`` (also for an ISO 9660 + UDF bridge image), ``udf``, or None."""
    try:
        with open(path, "rb") as f:
            f.seek(_FIRST * _SECTOR)
            data = f.read(_LOOK * _SECTOR)
    except OSError:
        return None
    ids = {data[i + 1 : i + 6] for i in range(0, len(data) - 6, _SECTOR)}
    if b"CD001" in ids:
        return ISO9660
    if ids & {b"NSR02", b"NSR03"}:
        return UDF
    return None


def _clean_name(name: str) -> str:
    name = name.replace("\\", "/")
    while name.startswith(("./", "/")):
        name = name[2:] if name.startswith("./") else name[1:]
    return name


def list_members(path: str, kind: str) -> tuple[str, list[ImageMember], list[str]]:
    """The backend used, the regular files of the image (sorted by case-folded name), and
    notes (links not followed). Raises :class:`ImageError`."""
    if kind == ISO9660:
        try:
            members, notes = _list_libarchive(path)
            return LIBARCHIVE, members, notes
        except ImageError as exc:
            if shutil.which("7zz") is None:
                raise
            first = exc.message
        try:
            members, notes = _list_7zz(path)
        except ImageError as exc:
            raise ImageError(f"{first}; {exc.message}", path=path) from None
        return SEVENZIP, members, notes
    members, notes = _list_7zz(path)
    return SEVENZIP, members, notes


def _sorted(members: list[ImageMember]) -> list[ImageMember]:
    return sorted(members, key=lambda m: (m.name.casefold(), m.name))


def _list_libarchive(path: str) -> tuple[list[ImageMember], list[str]]:
    import libarchive

    members: list[ImageMember] = []
    notes: list[str] = []
    try:
        with libarchive.file_reader(path, format_name="iso9660") as archive:
            for entry in archive:
                if len(members) >= _MAX_MEMBERS:
                    raise ImageError(f"more than {_MAX_MEMBERS} members", path=path)
                name = _clean_name(str(entry.pathname))
                if entry.issym or entry.islnk:
                    notes.append(f"{node_path(path, name)}: link in the image, not followed")
                    continue
                if not entry.isreg or not name:
                    continue
                head = b""
                for block in entry.get_blocks():
                    head = bytes(block[:_SNIFF])
                    break
                members.append(ImageMember(name, int(entry.size or 0), head))
    except libarchive.ArchiveError as exc:
        msg = getattr(exc, "msg", None) or str(exc)
        raise ImageError(f"libarchive cannot list the image: {msg}", path=path) from None
    return _sorted(members), notes


def _7zz() -> str:
    exe = shutil.which("7zz")
    if exe is None:
        raise ImageError("reading this image needs 7zz (Debian package 7zip)")
    return exe


def _list_7zz(path: str) -> tuple[list[ImageMember], list[str]]:
    proc = subprocess.run(
        [_7zz(), "l", "-slt", "-ba", "-sccUTF-8", "--", path],
        capture_output=True,
        check=False,
        timeout=600,
    )
    if proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ImageError(
            f"7zz cannot list the image: {msg[-1] if msg else proc.returncode}", path=path
        )
    members: list[ImageMember] = []
    notes: list[str] = []
    for block in re.split(r"\n\s*\n", proc.stdout.decode("utf-8", "surrogateescape")):
        fields = dict(line.split(" = ", 1) for line in block.splitlines() if " = " in line)
        name = _clean_name(fields.get("Path", ""))
        attrs = fields.get("Attributes", "")
        if not name or attrs.startswith("D") or fields.get("Folder") == "+":
            continue
        if fields.get("Symbolic Link") or fields.get("Link"):
            notes.append(f"{node_path(path, name)}: link in the image, not followed")
            continue
        try:
            size = int(fields.get("Size") or 0)
        except ValueError:
            size = 0
        members.append(ImageMember(name, size))
        if len(members) > _MAX_MEMBERS:
            raise ImageError(f"more than {_MAX_MEMBERS} members", path=path)
    return _sorted(members), notes


def wanted(member: ImageMember, magics: tuple[bytes, ...], all_files: bool) -> bool:
    """Whether a member is an update file (by its first bytes, or by name via 7zz)."""
    if all_files:
        return True
    if member.head:
        return member.head.startswith(magics)
    return os.path.splitext(member.name)[1].lower() in PACKAGE_SUFFIXES


# -- reading one member (in a worker) ---------------------------------------------------------


def copy_member(ref: MemberRef, out: BinaryIO) -> int:
    """Stream the member's bytes into ``out``; returns the number of bytes."""
    if ref.backend == LIBARCHIVE:
        return _copy_libarchive(ref, out)
    return _copy_7zz(ref, out)


def _copy_libarchive(ref: MemberRef, out: BinaryIO) -> int:
    import libarchive

    try:
        with libarchive.file_reader(ref.image, format_name="iso9660") as archive:
            for entry in archive:
                if entry.isreg and _clean_name(str(entry.pathname)) == ref.member:
                    n = 0
                    for block in entry.get_blocks():
                        out.write(block)
                        n += len(block)
                    return n
    except libarchive.ArchiveError as exc:
        raise ImageError(f"cannot read the member: {exc}", path=ref.node_path) from None
    raise ImageError("the member is no longer in the image", path=ref.node_path)


def _copy_7zz(ref: MemberRef, out: BinaryIO) -> int:
    # -spd: the name is a name, not a wildcard pattern
    args = [_7zz(), "x", "-so", "-spd", "-sccUTF-8", "--", ref.image, ref.member]
    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        n = 0
        while chunk := proc.stdout.read(1 << 20):
            out.write(chunk)
            n += len(chunk)
        err = proc.stderr.read() if proc.stderr is not None else b""
        code = proc.wait()
    if code != 0:
        msg = err.decode("utf-8", "replace").strip().splitlines()
        raise ImageError(
            f"7zz cannot extract the member: {msg[-1] if msg else code}", path=ref.node_path
        )
    return n


def _safe_basename(member: str) -> str:
    base = member.rsplit("/", 1)[-1].replace("\x00", "")
    if base in ("", ".", ".."):
        base = "member"
    return base[-200:]


@contextlib.contextmanager
def member_file(ref: MemberRef) -> Iterator[str]:
    """The member as a file of its own in a private folder of the system temporary
    directory (named as in the image, so the name is checked as a claim), removed after."""
    folder = tempfile.mkdtemp(prefix=f"{_TEMP_PREFIX}{os.getpid()}-")
    try:
        target = os.path.join(folder, _safe_basename(ref.member))
        with open(target, "xb") as out:
            copy_member(ref, out)
        yield target
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def remove_worker_temp(pid: int | None) -> None:
    """Remove what a killed worker left in the temporary directory."""
    if pid is None:
        return
    pattern = os.path.join(tempfile.gettempdir(), f"{_TEMP_PREFIX}{pid}-*")
    for folder in glob.glob(pattern):
        shutil.rmtree(folder, ignore_errors=True)


def relocate(record: Any, old: str, new: str) -> Any:
    """Every occurrence of the temporary path ``old`` (a unique random name) in the record,
    in values, keys and messages alike, replaced by the node path ``new``."""
    if isinstance(record, str):
        return record.replace(old, new)
    if isinstance(record, list):
        return [relocate(v, old, new) for v in record]
    if isinstance(record, dict):
        return {relocate(k, old, new): relocate(v, old, new) for k, v in record.items()}
    return record
