"""Safe extraction: members become files strictly inside one output folder.

* Only sanitised names (:func:`msuinspect.cab.names.sanitise`) are used as paths.
* On POSIX every directory is entered with ``O_NOFOLLOW`` relative to its parent's file
  descriptor and every file is created with ``O_CREAT | O_EXCL | O_NOFOLLOW``: a symbolic
  link already present in the output folder is never followed, no link is ever created,
  and nothing outside the folder can be reached or overwritten.
* Existing files are never overwritten; a name that is taken gets a ``~N`` suffix and a
  finding.
* A member that fails to decode leaves no partial file behind.
* With ``recursive``, a member whose bytes start a cabinet is not written as a file but
  expanded into a folder of the same name (``outer.msu!/inner.cab`` members land under
  ``DIR/inner.cab/``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from msuinspect.cab.decode import DecodeRecord
from msuinspect.cab.layout import LAYER
from msuinspect.cab.nested import looks_like_cabinet, open_nested
from msuinspect.cab.store import MemberStore
from msuinspect.cab.structs import CabMember
from msuinspect.errors import MsuInspectError, OutputError, UnsafePathError
from msuinspect.findings import Finding, Severity

_SNIFF = 8
_MAX_SUFFIX = 1000
_HAVE_DIR_FD = os.open in os.supports_dir_fd and os.mkdir in os.supports_dir_fd
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_BINARY = getattr(os, "O_BINARY", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class OutputFolder:
    """Creates files only inside ``root``; see the module documentation for the rules."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        root = os.fspath(root)
        try:
            os.makedirs(root, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot create output folder {root}: {exc.strerror}") from exc
        if os.path.islink(root) or not os.path.isdir(root):
            raise UnsafePathError(f"output folder {root} is not a plain directory")
        self.root = os.path.realpath(root)
        self.findings: list[Finding] = []
        self._renamed: set[tuple[str, str]] = set()

    # -- directories
    def _enter(self, parts: list[str]) -> tuple[int, list[str]]:
        """An fd for root/parts..., creating directories, never following links, and the
        segments actually used: one taken by a file or a link becomes the first free
        ``seg~N``."""
        fd = os.open(self.root, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
        used: list[str] = []
        try:
            for seg in parts:
                nfd, name = self._enter_one(fd, seg)
                os.close(fd)
                fd = nfd
                used.append(name)
            return fd, used
        except BaseException:
            os.close(fd)
            raise

    def _enter_one(self, fd: int, seg: str) -> tuple[int, str]:
        for n in range(_MAX_SUFFIX):
            cand = seg if n == 0 else f"{seg}~{n}"
            with contextlib.suppress(FileExistsError):
                os.mkdir(cand, 0o755, dir_fd=fd)
            try:
                nfd = os.open(cand, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC, dir_fd=fd)
            except OSError:
                continue  # a file or a link has this name
            if n and (seg, cand) not in self._renamed:
                self._renamed.add((seg, cand))
                self.findings.append(
                    Finding(
                        "extract-name-collision",
                        Severity.WARNING,
                        f"folder {seg!r} is taken by a file or link; using {cand!r}",
                        LAYER,
                    )
                )
            return nfd, cand
        raise UnsafePathError(f"cannot create folder {seg!r}: {_MAX_SUFFIX} names taken")

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
    def create(self, rel: str) -> tuple[BinaryIO, str]:
        """Create a new file at ``rel`` (a sanitised '/'-separated path); returns the open
        file and the relative path actually used (with a ``~N`` suffix on collision)."""
        parts = [p for p in rel.split("/") if p]
        if not parts or any(p in (".", "..") for p in parts):
            raise UnsafePathError(f"refusing unsanitised path {rel!r}")
        dirs, name = parts[:-1], parts[-1]
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _BINARY | _CLOEXEC
        stem, dot, ext = name.rpartition(".")
        if not dot or not stem:
            stem, ext = name, ""
        else:
            ext = "." + ext
        if _HAVE_DIR_FD:
            dfd, dirs = self._enter(dirs)
            try:
                for n in range(_MAX_SUFFIX):
                    cand = name if n == 0 else f"{stem}~{n}{ext}"
                    try:
                        fd = os.open(cand, flags, 0o644, dir_fd=dfd)
                    except FileExistsError:
                        continue
                    except OSError as exc:
                        raise OutputError(f"cannot create {rel}: {exc.strerror}") from exc
                    return self._opened(fd, dirs, name, cand)
            finally:
                os.close(dfd)
        else:
            base = self._check_path([*dirs, name])
            os.makedirs(os.path.dirname(base), exist_ok=True)
            for n in range(_MAX_SUFFIX):
                cand = name if n == 0 else f"{stem}~{n}{ext}"
                try:
                    fd = os.open(os.path.join(os.path.dirname(base), cand), flags, 0o644)
                except FileExistsError:
                    continue
                except OSError as exc:
                    raise OutputError(f"cannot create {rel}: {exc.strerror}") from exc
                return self._opened(fd, dirs, name, cand)
        raise OutputError(f"cannot create {rel}: {_MAX_SUFFIX} names already taken")

    def _opened(self, fd: int, dirs: list[str], name: str, used: str) -> tuple[BinaryIO, str]:
        rel_used = "/".join([*dirs, used])
        if used != name:
            self.findings.append(
                Finding(
                    "extract-name-collision",
                    Severity.WARNING,
                    f"{'/'.join([*dirs, name])} already exists; written as {rel_used}",
                    LAYER,
                )
            )
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


@dataclass(slots=True)
class ExtractReport:
    root: str
    entries: list[ExtractedEntry] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    decode_log: list[DecodeRecord] = field(default_factory=list)

    @property
    def failed(self) -> list[ExtractedEntry]:
        return [e for e in self.entries if e.error is not None]

    @property
    def files_written(self) -> int:
        return sum(1 for e in self.entries if e.error is None and not e.expanded)

    @property
    def bytes_written(self) -> int:
        return sum(e.size for e in self.entries if e.error is None and not e.expanded)


class _FileSink:
    """Writes one member; with ``sniff`` holds back the first bytes to spot a cabinet."""

    def __init__(self, out: OutputFolder, rel: str, sniff: bool, write: bool = True) -> None:
        self.out = out
        self.rel = rel
        self.sniff = sniff
        self.chosen = write  #: False: only sniff for a cabinet, never create a file
        self.head = b""
        self.file: BinaryIO | None = None
        self.used: str | None = None
        self.is_cabinet = False
        self.decided = not sniff
        self.error: MsuInspectError | None = None
        self.done = False

    def _decide(self) -> None:
        self.decided = True
        if self.sniff and looks_like_cabinet(self.head):
            self.is_cabinet = True
            return
        self._open()
        if self.head and self.file is not None:
            self.file.write(self.head)
        self.head = b""

    def _open(self) -> None:
        if self.error is not None or not self.chosen:
            return
        try:
            self.file, self.used = self.out.create(self.rel)
        except MsuInspectError as exc:
            self.error = exc

    def write(self, data: bytes) -> None:
        if not self.decided:
            self.head += data
            if len(self.head) < _SNIFF:
                return
            data = b""
            self._decide()
        if self.is_cabinet or self.error is not None:
            return
        if self.file is None:
            self._open()
            if self.file is None:
                return
        try:
            self.file.write(data)
        except OSError as exc:
            self.error = OutputError(f"cannot write {self.rel}: {exc.strerror}")

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
        self.error = self.error or error


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
    """
    report = report or ExtractReport(out.root)
    sinks: dict[int, _FileSink] = {}

    def rel_of(m: CabMember) -> str:
        return f"{prefix}/{m.safe_name}" if prefix else m.safe_name

    def handler(m: CabMember) -> _FileSink | None:
        chosen = select is None or select(_node_prefix + m.name)
        if not chosen and not recursive:
            return None
        sink = _FileSink(out, rel_of(m), recursive, write=chosen)
        sinks[m.index] = sink
        return sink

    outcomes = store.walk(handler)
    nested: list[CabMember] = []
    for oc in outcomes:
        m = oc.member
        sink = sinks.get(m.index)
        error = oc.error or (sink.error if sink is not None else None)
        if sink is not None and sink.is_cabinet and error is None:
            nested.append(m)
            continue
        if sink is not None and not sink.chosen:
            continue
        report.entries.append(
            ExtractedEntry(
                store.member_path(m), sink.used if sink is not None else None, m.size, error
            )
        )
    report.findings.extend(store.findings)
    for m in nested:
        path = store.member_path(m)
        try:
            child = open_nested(store, m)
        except MsuInspectError as exc:
            report.findings.append(
                Finding(
                    "nested-cabinet-unreadable",
                    Severity.ERROR,
                    f"{path} looks like a cabinet but cannot be read ({exc}); written as a file",
                    LAYER,
                    path=path,
                )
            )
            report.entries.append(_write_plain(store, m, out, rel_of(m)))
            continue
        report.entries.append(ExtractedEntry(path, rel_of(m) + "/", m.size, None, expanded=True))
        extract(
            child,
            out,
            prefix=rel_of(m),
            recursive=True,
            report=report,
            select=select,
            _node_prefix=f"{_node_prefix}{m.name}!/",
        )
    report.decode_log.extend(store.decode_log)
    return report


def _write_plain(store: MemberStore, m: CabMember, out: OutputFolder, rel: str) -> ExtractedEntry:
    """Write a member by streaming it (used when a nested cabinet cannot be expanded)."""
    path = store.member_path(m)
    try:
        f, used = out.create(rel)
    except MsuInspectError as exc:
        return ExtractedEntry(path, None, m.size, exc)
    try:
        with f:
            chunks: Iterator[bytes] = store.member_chunks(m)
            for chunk in chunks:
                f.write(chunk)
    except MsuInspectError as exc:
        out.remove(used)
        return ExtractedEntry(path, None, m.size, exc)
    return ExtractedEntry(path, used, m.size)
