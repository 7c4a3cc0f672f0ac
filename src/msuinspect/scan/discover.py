"""The files of a scan: folders walked without following links, update files told by content.

A folder is walked depth first in a stable order (a folder's files by case-folded name, then
its subfolders the same way), with an explicit stack. A symbolic link met inside a folder is
never followed, and is reported as a :class:`Note`; so is a folder that cannot be listed. A
regular file is kept when its first bytes look like something ``inspect`` reads (``MSCF``: a
cabinet or MSU; ``MZ``: a PE file; ``0x30``: a DER SEQUENCE, i.e. a catalog or PKCS#7 file),
or always with ``all_files``. A path named on the command line is always kept (a missing one
too, so its error is reported) and, being the user's choice, may itself be a link.

A disc image (ISO 9660, Joliet, UDF: told by its volume descriptors, whatever its name) is
not a file to inspect but a folder of a kind: its members are listed without mounting it
(:mod:`msuinspect.scan.images`) and each update file among them is a candidate whose path
is a node path (``media.iso!/w60-x64/glb/x.msu``), in case-folded name order. An image that
cannot be listed is reported as a folder that cannot be listed.

Files are opened read-only and without blocking, and only the first bytes of a regular,
non-empty file are read; nothing is written.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum

from msuinspect.scan import images
from msuinspect.scan.walk import tree_entries

#: first bytes of the files a scan inspects
UPDATE_MAGICS: tuple[bytes, ...] = (b"MSCF", b"MZ", b"\x30")
_SNIFF = 4
_SHORTEST_MAGIC = min(len(m) for m in UPDATE_MAGICS)


class NoteKind(StrEnum):
    SYMLINK_SKIPPED = "symlink-skipped"
    UNLISTABLE = "unlistable"
    NOT_REGULAR = "not-regular"
    #: a link inside a disc image, not followed
    IMAGE_LINK = "image-link"
    #: a file reached a second time (overlapping paths, hard links): inspected once
    REPEATED = "repeated"


@dataclass(frozen=True, slots=True)
class Note:
    """Something the walk did not take, said once."""

    kind: NoteKind
    path: str
    detail: str


@dataclass(frozen=True, slots=True)
class Candidate:
    """A file to inspect, with what ``stat`` said when it was found (the cache's quick key);
    ``size`` is -1 when the file could not be stat'ed (its error is reported by the scan)."""

    path: str
    size: int = -1
    mtime_ns: int = 0
    ctime_ns: int = 0
    inode: int = 0
    device: int = 0
    #: a member of a disc image: the image file, the member's name in it and the reader
    #: (``path`` is then the node path and the ``stat`` fields are the image's, but ``size``)
    image: str = ""
    member: str = ""
    backend: str = ""

    @classmethod
    def from_stat(cls, path: str, st: os.stat_result) -> Candidate:
        return cls(path, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)

    @property
    def stat_path(self) -> str:
        """The file whose ``stat`` this candidate carries."""
        return self.image or self.path

    def target(self) -> images.Target:
        """What a worker is given."""
        if self.image:
            return images.MemberRef(self.image, self.member, self.backend)
        return self.path


def looks_like_update(path: str) -> bool:
    """Whether the file's first bytes are those of a cabinet, PE or DER file.

    Only a regular file that is not empty is read: the file is opened without blocking (a
    FIFO put in its place after the walk saw it opens at once) and checked on its
    descriptor before anything is read, and a file of size 0 is not read at all (nothing to
    sniff; ``/proc/kmsg`` says it is a regular empty file and then blocks on read, and a
    read of it consumes kernel messages). Anything else is kept (True), so the inspection
    reports why it cannot be read."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return True  # let the inspection report why it cannot be read
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return True
        if st.st_size < _SHORTEST_MAGIC:
            return False
        head = os.read(fd, _SNIFF)
    except OSError:
        return True
    finally:
        os.close(fd)
    return head.startswith(UPDATE_MAGICS)


def _image_kind(path: str, size: int) -> str | None:
    return images.image_kind(path) if size >= 17 * 2048 else None


def expand_image(
    path: str,
    st: os.stat_result,
    kind: str,
    all_files: bool,
    note: Callable[[NoteKind, str, str], None],
) -> Iterator[Candidate]:
    """The update files of a disc image, as candidates."""
    try:
        backend, members, notes = images.list_members(path, kind)
    except images.ImageError as exc:
        note(NoteKind.UNLISTABLE, path, f"cannot list the {kind} image: {exc.message}")
        return
    for text in notes:
        where, _, detail = text.rpartition(": ")
        note(NoteKind.IMAGE_LINK, where, detail)
    for m in members:
        if images.wanted(m, UPDATE_MAGICS, all_files):
            yield Candidate(
                images.node_path(path, m.name),
                m.size,
                st.st_mtime_ns,
                st.st_ctime_ns,
                st.st_ino,
                st.st_dev,
                image=path,
                member=m.name,
                backend=backend,
            )


def discover(
    paths: Iterable[str],
    *,
    all_files: bool = False,
    on_note: Callable[[Note], None] | None = None,
    on_skip: Callable[[str], None] | None = None,
) -> Iterator[Candidate]:
    """Yield every file to inspect, in order: named files as given, folders expanded.

    ``on_note`` hears of links not followed and folders not listed; ``on_skip`` of each file
    left out because its content is not an update file (quietly, by default)."""

    def note(kind: NoteKind, path: str, detail: str) -> None:
        if on_note is not None:
            on_note(Note(kind, path, detail))

    # a file met again at the same place (overlapping paths: a folder and a file in it,
    # ./a.cab and a.cab) is inspected once; a hard link elsewhere or under another name is
    # a claim of its own: kept
    seen: dict[tuple[int, int, str], str] = {}
    for c in _discover(paths, all_files, on_note, on_skip, note):
        if c.inode and not c.image:
            key = (c.device, c.inode, os.path.realpath(c.path))
            first = seen.get(key)
            if first is not None:
                note(NoteKind.REPEATED, c.path, f"the same file as {first}: inspected once")
                continue
            seen[key] = c.path
        yield c


def _discover(
    paths: Iterable[str],
    all_files: bool,
    on_note: Callable[[Note], None] | None,
    on_skip: Callable[[str], None] | None,
    note: Callable[[NoteKind, str, str], None],
) -> Iterator[Candidate]:
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            yield Candidate(path)
            continue
        if stat.S_ISDIR(st.st_mode):
            yield from _walk(path, all_files, on_note, on_skip)
        elif (
            stat.S_ISREG(st.st_mode)
            and not looks_like_update(path)
            and (kind := _image_kind(path, st.st_size))
        ):
            yield from expand_image(path, st, kind, all_files, note)
        else:
            yield Candidate.from_stat(path, st)


def _walk(
    top: str,
    all_files: bool,
    on_note: Callable[[Note], None] | None,
    on_skip: Callable[[str], None] | None,
) -> Iterator[Candidate]:
    def note(kind: NoteKind, path: str, detail: str) -> None:
        if on_note is not None:
            on_note(Note(kind, path, detail))

    def unreadable(path: str, exc: OSError, folder: bool) -> None:
        what = "cannot list folder" if folder else "cannot read"
        note(NoteKind.UNLISTABLE, path, f"{what}: {exc.strerror}")

    for entry in tree_entries(top, unreadable):
        try:
            if entry.is_symlink():
                try:
                    target = os.readlink(entry.path)
                except OSError:
                    target = "?"
                note(NoteKind.SYMLINK_SKIPPED, entry.path, f"symbolic link to {target}")
            elif entry.is_file(follow_symlinks=False):
                st = entry.stat(follow_symlinks=False)
                if looks_like_update(entry.path):
                    yield Candidate.from_stat(entry.path, st)
                elif kind := _image_kind(entry.path, st.st_size):
                    yield from expand_image(entry.path, st, kind, all_files, note)
                elif all_files:
                    yield Candidate.from_stat(entry.path, st)
                elif on_skip is not None:
                    on_skip(entry.path)
            else:
                note(NoteKind.NOT_REGULAR, entry.path, "not a regular file")
        except OSError as exc:
            unreadable(entry.path, exc, False)
