"""Safe extraction: members become files strictly inside one output folder.

* Only sanitised names (:func:`msuinspect.cab.names.sanitise`) are used as paths.
* On POSIX every directory is entered with ``O_NOFOLLOW`` relative to its parent's file
  descriptor and every file is created with ``O_CREAT | O_EXCL | O_NOFOLLOW``: a symbolic
  link already present in the output folder is never followed, no link is ever created,
  and nothing outside the folder can be reached.
* Names that collide within one extraction get a ``~N`` suffix (found in constant time per
  member) and one finding with a count. What to do with files that were there before is
  the caller's choice (``existing``): rename the new file, skip it, or replace the old file
  (a link is replaced, never followed).
* A member that fails to decode leaves no partial file behind.
* Every byte written counts against the file's work budget (:meth:`Limits.work_cap`), so
  members sharing data or shared folders cannot turn a small file into a huge output.
* With ``recursive``, a member whose bytes start a cabinet is not written as a file but
  expanded into a folder of the same name (``outer.msu!/inner.cab`` members land under
  ``DIR/inner.cab/``); nested cabinets that fit ``Limits.max_in_memory`` are expanded from
  memory, so each level is decoded once. One nested deeper than ``Limits.max_depth`` is
  written as a file and reported as not expanded.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, Literal

from msuinspect.cab.decode import DecodeRecord
from msuinspect.cab.layout import LAYER
from msuinspect.cab.nested import looks_like_cabinet, open_nested
from msuinspect.cab.store import MemberStore
from msuinspect.cab.structs import CabMember
from msuinspect.errors import LimitExceededError, MsuInspectError, OutputError, UnsafePathError
from msuinspect.findings import Finding, Severity
from msuinspect.limits import OutputBudget

_SNIFF = 8
_HAVE_DIR_FD = os.open in os.supports_dir_fd and os.mkdir in os.supports_dir_fd
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_BINARY = getattr(os, "O_BINARY", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _BINARY | _CLOEXEC

#: what to do with a file that was in the output folder before this extraction
Existing = Literal["rename", "skip", "overwrite"]


def _split_ext(name: str) -> tuple[str, str]:
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        return name, ""
    return stem, "." + ext


class OutputFolder:
    """Creates files only inside ``root``; see the module documentation for the rules."""

    def __init__(self, root: str | os.PathLike[str], existing: Existing = "rename") -> None:
        root = os.fspath(root)
        try:
            os.makedirs(root, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot create output folder {root}: {exc.strerror}") from exc
        if os.path.islink(root) or not os.path.isdir(root):
            raise UnsafePathError(f"output folder {root} is not a plain directory")
        self.root = os.path.realpath(root)
        self.existing: Existing = existing
        #: files created by this extraction (casefolded '/'-paths)
        self._created: set[str] = set()
        #: next ``~N`` to try for a name (casefolded '/'-path), so a collision costs O(1)
        self._next: dict[str, int] = {}
        #: directory segments already resolved: (parent used path, segment) -> name used
        self._dirs: dict[tuple[str, str], str] = {}
        self._collisions: list[tuple[str, str]] = []
        self._collision_count = 0
        #: files left alone (``existing="skip"``) and replaced (``"overwrite"``)
        self.skipped = 0
        self.replaced = 0

    @staticmethod
    def is_empty(root: str | os.PathLike[str]) -> bool:
        """True when ``root`` does not exist or holds nothing."""
        try:
            with os.scandir(root) as it:
                return next(it, None) is None
        except FileNotFoundError:
            return True
        except NotADirectoryError:
            return False

    @property
    def findings(self) -> list[Finding]:
        """Name collisions as one finding (with a count and the first example)."""
        if not self._collisions:
            return []
        want, used = self._collisions[0]
        n = self._collision_count
        if n == 1:
            msg = f"{want} is taken; written as {used}"
        else:
            msg = (
                f"{n} names were taken (members with the same name, or a file or link in the "
                f"way) and got a ~N suffix; the first: {want} written as {used}"
            )
        return [
            Finding("extract-name-collision", Severity.WARNING, msg, LAYER, evidence={"count": n})
        ]

    def _collided(self, want: str, used: str) -> None:
        self._collision_count += 1
        if not self._collisions:
            self._collisions.append((want, used))

    # -- directories
    def _enter(self, parts: list[str]) -> tuple[int, list[str]]:
        """An fd for root/parts..., creating directories, never following links, and the
        segments actually used: one taken by a file or a link becomes a free ``seg~N``."""
        fd = os.open(self.root, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
        used: list[str] = []
        try:
            for seg in parts:
                nfd, name = self._enter_one(fd, "/".join(used), seg)
                os.close(fd)
                fd = nfd
                used.append(name)
            return fd, used
        except BaseException:
            os.close(fd)
            raise

    def _open_dir(self, fd: int, cand: str) -> int | None:
        with contextlib.suppress(FileExistsError):
            os.mkdir(cand, 0o755, dir_fd=fd)
        try:
            return os.open(cand, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC, dir_fd=fd)
        except OSError:
            return None  # a file or a link has this name

    def _enter_one(self, fd: int, parent: str, seg: str) -> tuple[int, str]:
        key = (parent, seg)
        known = self._dirs.get(key)
        if known is not None:
            nfd = self._open_dir(fd, known)
            if nfd is not None:
                return nfd, known
        nfd = self._open_dir(fd, seg)
        if nfd is not None:
            self._dirs[key] = seg
            return nfd, seg
        ckey = f"{parent}/{seg}".casefold()
        n = self._next.get(ckey, 1)
        while True:
            cand = f"{seg}~{n}"
            n += 1
            nfd = self._open_dir(fd, cand)
            if nfd is not None:
                self._next[ckey] = n
                self._dirs[key] = cand
                where = f"{parent}/" if parent else ""
                self._collided(f"folder {where}{seg}", f"{where}{cand}")
                return nfd, cand

    def _check_path(self, parts: list[str]) -> str:
        """Portable fallback: the joined path, refusing links and escapes."""
        path = self.root
        for seg in parts:
            path = os.path.join(path, seg)
            if os.path.islink(path):
                raise UnsafePathError(f"{path} is a link; refusing to follow it")
        real = os.path.realpath(os.path.dirname(path))
        if os.path.commonpath([real, self.root]) != self.root:
            raise UnsafePathError(f"{path} would leave the output folder")
        return path

    def make_dirs(self, rel: str) -> None:
        parts = [p for p in rel.split("/") if p]
        if _HAVE_DIR_FD:
            os.close(self._enter(parts)[0])
        else:
            path = self._check_path(parts)
            os.makedirs(path, exist_ok=True)

    # -- files
    def create(self, rel: str) -> tuple[BinaryIO, str] | None:
        """Create a new file at ``rel`` (a sanitised '/'-separated path); returns the open
        file and the relative path actually used (with a ``~N`` suffix on collision), or
        None when an earlier file is in the way and ``existing`` is ``"skip"``."""
        parts = [p for p in rel.split("/") if p]
        if not parts or any(p in (".", "..") for p in parts):
            raise UnsafePathError(f"refusing unsanitised path {rel!r}")
        dirs, name = parts[:-1], parts[-1]
        if _HAVE_DIR_FD:
            dfd, dirs = self._enter(dirs)
            try:
                return self._create_in(rel, dirs, name, dfd, None)
            finally:
                os.close(dfd)
        base = self._check_path([*dirs, name])
        directory = os.path.dirname(base)
        os.makedirs(directory, exist_ok=True)
        return self._create_in(rel, dirs, name, None, directory)

    def _try(self, cand: str, dfd: int | None, directory: str | None) -> int | None:
        try:
            if dfd is not None:
                return os.open(cand, _FLAGS, 0o644, dir_fd=dfd)
            assert directory is not None
            return os.open(os.path.join(directory, cand), _FLAGS, 0o644)
        except FileExistsError:
            return None

    def _replace(self, name: str, dfd: int | None, directory: str | None) -> bool:
        """Remove an earlier regular file or link called ``name`` (never following it)."""
        try:
            if dfd is not None:
                st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
            else:
                assert directory is not None
                st = os.lstat(os.path.join(directory, name))
            if not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
                return False
            if dfd is not None:
                os.unlink(name, dir_fd=dfd)
            else:
                assert directory is not None
                os.unlink(os.path.join(directory, name))
        except OSError:
            return False
        return True

    def _create_in(
        self, rel: str, dirs: list[str], name: str, dfd: int | None, directory: str | None
    ) -> tuple[BinaryIO, str] | None:
        prefix = "/".join(dirs)
        key = f"{prefix}/{name}".casefold()
        try:
            fd = self._try(name, dfd, directory)
            if fd is None and key not in self._created:
                # there before this extraction
                if self.existing == "skip":
                    self.skipped += 1
                    return None
                if self.existing == "overwrite" and self._replace(name, dfd, directory):
                    fd = self._try(name, dfd, directory)
                    if fd is not None:
                        self.replaced += 1
            used = name
            if fd is None:
                stem, ext = _split_ext(name)
                n = self._next.get(key, 1)
                while fd is None:
                    used = f"{stem}~{n}{ext}"
                    n += 1
                    fd = self._try(used, dfd, directory)
                self._next[key] = n
        except OSError as exc:
            raise OutputError(f"cannot create {rel}: {exc.strerror}") from exc
        rel_used = f"{prefix}/{used}" if prefix else used
        self._created.add(key)
        self._created.add(rel_used.casefold())
        if used != name:
            self._collided(f"{prefix}/{name}" if prefix else name, rel_used)
        return os.fdopen(fd, "wb"), rel_used

    def remove(self, rel: str) -> None:
        parts = [p for p in rel.split("/") if p]
        try:
            if _HAVE_DIR_FD:
                dfd, _used = self._enter(parts[:-1])
                try:
                    os.unlink(parts[-1], dir_fd=dfd)
                finally:
                    os.close(dfd)
            else:
                os.unlink(self._check_path(parts))
        except OSError:
            pass


@dataclass(frozen=True, slots=True)
class ExtractedEntry:
    node_path: str  #: e.g. ``outer.msu!/inner.cab!/update.mum``
    target: str | None  #: path written, relative to the output folder ('/'-separated)
    size: int
    error: MsuInspectError | None = None
    expanded: bool = False  #: a nested cabinet expanded into a folder
    skipped: bool = False  #: not written: a file of that name was there before
    #: a cabinet that was not expanded (too deep, or unreadable as a cabinet); why
    not_expanded: str | None = None


@dataclass(slots=True)
class ExtractReport:
    root: str
    entries: list[ExtractedEntry] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    decode_log: list[DecodeRecord] = field(default_factory=list)
    #: members chosen by the caller's ``select`` (all members when there is none)
    selected: int = 0

    @property
    def failed(self) -> list[ExtractedEntry]:
        return [e for e in self.entries if e.error is not None]

    @property
    def not_expanded(self) -> list[ExtractedEntry]:
        return [e for e in self.entries if e.not_expanded is not None]

    @property
    def skipped(self) -> list[ExtractedEntry]:
        return [e for e in self.entries if e.skipped]

    @property
    def files_written(self) -> int:
        return sum(1 for e in self.entries if self._written(e))

    @property
    def bytes_written(self) -> int:
        return sum(e.size for e in self.entries if self._written(e))

    @staticmethod
    def _written(e: ExtractedEntry) -> bool:
        return e.error is None and not e.expanded and not e.skipped


class _FileSink:
    """Writes one member; with ``sniff`` holds back the first bytes to spot a cabinet, and
    keeps a cabinet's bytes in memory when ``budget`` lets it hold ``size`` bytes."""

    def __init__(
        self,
        out: OutputFolder,
        rel: str,
        sniff: bool,
        budget: OutputBudget,
        *,
        write: bool = True,
        size: int = 0,
        hold_cap: int = 0,
    ) -> None:
        self.out = out
        self.rel = rel
        self.sniff = sniff
        self.budget = budget
        self.chosen = write  #: False: only sniff for a cabinet, never create a file
        self.size = size
        self.hold_cap = hold_cap
        self.head = b""
        self.file: BinaryIO | None = None
        self.used: str | None = None
        self.is_cabinet = False
        self.skipped = False
        self.decided = not sniff
        self.error: MsuInspectError | None = None
        self.buffer: bytearray | None = None
        self.held = 0
        self.done = False

    def _decide(self) -> None:
        self.decided = True
        if self.sniff and looks_like_cabinet(self.head):
            self.is_cabinet = True
            if self.budget.hold(self.size, self.hold_cap):
                self.held = self.size
                self.buffer = bytearray(self.head)
            return
        self._open()
        if self.head and self.file is not None:
            self._put(self.head)
        self.head = b""

    def _open(self) -> None:
        if self.error is not None or not self.chosen or self.skipped:
            return
        try:
            made = self.out.create(self.rel)
        except MsuInspectError as exc:
            self.error = exc
            return
        if made is None:
            self.skipped = True
        else:
            self.file, self.used = made

    def _put(self, data: bytes) -> None:
        assert self.file is not None
        self.budget.consume_written(len(data))
        try:
            self.file.write(data)
        except OSError as exc:
            self.error = OutputError(f"cannot write {self.rel}: {exc.strerror}")

    def write(self, data: bytes) -> None:
        if not self.decided:
            self.head += data
            if len(self.head) < _SNIFF:
                return
            data = b""
            self._decide()
        if self.is_cabinet:
            if self.buffer is not None:
                self.buffer += data
            return
        if self.error is not None or self.skipped:
            return
        if self.file is None:
            self._open()
            if self.file is None:
                return
        if data:
            self._put(data)

    def close(self) -> None:
        if not self.decided:
            self._decide()
        if not self.is_cabinet and self.file is None and self.error is None:
            self._open()
        if self.file is not None:
            try:
                self.file.close()
            except OSError as exc:
                self.error = OutputError(f"cannot write {self.rel}: {exc.strerror}")
        self.done = True

    def abort(self, error: MsuInspectError) -> None:
        if self.file is not None:
            self.file.close()
            if self.used is not None:
                self.out.remove(self.used)
        self.file = None
        self.used = None
        self.release()
        self.error = self.error or error

    def discard(self) -> None:
        """Remove a member file left half-written (the walk stopped before its end)."""
        if self.file is not None:
            with contextlib.suppress(OSError):
                self.file.close()
            if self.used is not None:
                self.out.remove(self.used)
        self.file = None
        self.used = None

    def release(self) -> None:
        self.buffer = None
        self.budget.release(self.held)
        self.held = 0


def extract(
    store: MemberStore,
    out: OutputFolder,
    *,
    prefix: str = "",
    recursive: bool = False,
    report: ExtractReport | None = None,
    select: Callable[[str], bool] | None = None,
    _node_prefix: str = "",
) -> ExtractReport:
    """Extract the members of ``store`` under ``out``/``prefix``.

    ``select(relative_node_path)`` chooses members (all when None); the path is relative to
    the top-level file, e.g. ``inner.cab!/update.mum``. With ``recursive``, cabinets inside
    members are expanded whether selected or not, so their members can be selected.
    Recursion is bounded by ``Limits.max_depth`` (at most ``MAX_SAFE_DEPTH``).
    """
    report = report or ExtractReport(out.root)
    sinks: dict[int, _FileSink] = {}
    limits = store.limits

    def rel_of(m: CabMember) -> str:
        return f"{prefix}/{m.safe_name}" if prefix else m.safe_name

    def handler(m: CabMember) -> _FileSink | None:
        chosen = select is None or select(_node_prefix + m.name)
        if not chosen and not recursive:
            return None
        sink = _FileSink(
            out,
            rel_of(m),
            recursive,
            store.budget,
            write=chosen,
            size=m.size,
            hold_cap=limits.max_in_memory,
        )
        sinks[m.index] = sink
        return sink

    try:
        outcomes = store.walk(handler)
    except BaseException:  # a bug, or Ctrl-C: leave no member half-written
        for held in sinks.values():
            if not held.done:
                held.discard()
            held.release()
        raise
    nested: list[tuple[CabMember, _FileSink]] = []
    for oc in outcomes:
        m = oc.member
        sink = sinks.get(m.index)
        error = oc.error or (sink.error if sink is not None else None)
        if sink is not None and sink.is_cabinet and error is None:
            nested.append((m, sink))
            continue
        if sink is not None and not sink.chosen:
            continue
        report.selected += 1
        report.entries.append(
            ExtractedEntry(
                store.member_path(m),
                sink.used if sink is not None else None,
                m.size,
                error,
                skipped=sink is not None and sink.skipped and error is None,
            )
        )
    report.findings.extend(store.findings)
    try:
        while nested:
            nm, ns = nested.pop(0)
            data = bytes(ns.buffer) if ns.buffer is not None else None
            ns.buffer = None
            try:
                _expand(store, nm, data, out, rel_of(nm), report, select, _node_prefix, ns.chosen)
            finally:
                ns.release()
    finally:
        for _nm, ns in nested:
            ns.release()
    report.decode_log.extend(store.decode_log)
    return report


def _expand(
    store: MemberStore,
    m: CabMember,
    data: bytes | None,
    out: OutputFolder,
    rel: str,
    report: ExtractReport,
    select: Callable[[str], bool] | None,
    node_prefix: str,
    chosen: bool,
) -> None:
    """Expand one nested cabinet into the folder ``rel``, or write it as a file and say why
    it was not expanded."""
    path = store.member_path(m)
    limits = store.limits
    reason: str
    if store.depth + 1 > limits.max_depth:
        reason = (
            f"cabinet nested {store.depth + 1} levels deep, beyond --max-depth "
            f"{limits.max_depth}; not expanded, written as a file"
        )
        report.findings.append(
            Finding("cab-nesting-too-deep", Severity.ERROR, reason, LAYER, path=path)
        )
    else:
        try:
            child = open_nested(store, m, data)
        except LimitExceededError:
            raise
        except MsuInspectError as exc:
            reason = f"looks like a cabinet but cannot be read ({exc}); written as a file"
            report.findings.append(
                Finding("nested-cabinet-unreadable", Severity.ERROR, reason, LAYER, path=path)
            )
        else:
            report.entries.append(ExtractedEntry(path, rel + "/", m.size, None, expanded=True))
            extract(
                child,
                out,
                prefix=rel,
                recursive=True,
                report=report,
                select=select,
                _node_prefix=f"{node_prefix}{m.name}!/",
            )
            return
    if chosen:
        report.selected += 1
    report.entries.append(_write_plain(store, m, out, rel, data, reason))


def _write_plain(
    store: MemberStore,
    m: CabMember,
    out: OutputFolder,
    rel: str,
    data: bytes | None = None,
    reason: str | None = None,
) -> ExtractedEntry:
    """Write a member that is a cabinet but is not expanded: from ``data`` when the walk
    kept its bytes, else by streaming it again."""
    path = store.member_path(m)
    try:
        made = out.create(rel)
    except MsuInspectError as exc:
        return ExtractedEntry(path, None, m.size, exc, not_expanded=reason)
    if made is None:
        return ExtractedEntry(path, None, m.size, skipped=True, not_expanded=reason)
    f, used = made
    try:
        with f:
            chunks: Iterator[bytes] = iter((data,)) if data is not None else store.member_chunks(m)
            for chunk in chunks:
                store.budget.consume_written(len(chunk))
                f.write(chunk)
    except MsuInspectError as exc:
        out.remove(used)
        if isinstance(exc, LimitExceededError):
            raise
        return ExtractedEntry(path, None, m.size, exc, not_expanded=reason)
    except OSError as exc:
        out.remove(used)
        err = OutputError(f"cannot write {rel}: {exc.strerror}")
        return ExtractedEntry(path, None, m.size, err, not_expanded=reason)
    return ExtractedEntry(path, used, m.size, not_expanded=reason)
