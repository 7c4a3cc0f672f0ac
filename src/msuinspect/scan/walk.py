"""Expand command-line inputs into the files to inspect.

A path that names a file (or names nothing) is passed through unchanged, so the caller
reports its error. A folder is walked recursively in a stable order (a folder's files by
case-folded name, then its subfolders the same way), without following symbolic links, and
yields the regular files whose extension marks a Windows update artefact. Folders that
cannot be listed are reported to ``on_error`` and the walk goes on.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator

#: extensions collected from folders (explicitly named files are always inspected)
PACKAGE_SUFFIXES: frozenset[str] = frozenset(
    {".msu", ".cab", ".cat", ".exe", ".dll", ".sys", ".ocx", ".mui"}
)


def iter_inputs(
    paths: Iterable[str],
    *,
    suffixes: frozenset[str] = PACKAGE_SUFFIXES,
    on_error: Callable[[str, OSError], None] | None = None,
    on_skip: Callable[[str, str], None] | None = None,
) -> Iterator[str]:
    """Yield every file to inspect, in order: named files as given, folders expanded.

    ``on_skip(path, why)`` hears of each entry of a folder that has one of ``suffixes`` but
    is not inspected: a symbolic link (never followed) or not a regular file (a FIFO, a
    device). A name that ends in dots or spaces (``a.cab.``) counts with the extension
    before them, as Windows reads it."""
    for path in paths:
        if os.path.isdir(path):
            yield from _walk(path, suffixes, on_error, on_skip)
        else:
            yield path


def suffix_of(name: str) -> str:
    """The extension of ``name`` as Windows reads it (trailing dots and spaces dropped)."""
    return os.path.splitext(name.rstrip(". "))[1].lower()


def _walk(
    top: str,
    suffixes: frozenset[str],
    on_error: Callable[[str, OSError], None] | None,
    on_skip: Callable[[str, str], None] | None,
) -> Iterator[str]:
    def report(path: str, exc: OSError, _folder: bool) -> None:
        if on_error is not None:
            on_error(path, exc)

    for entry in tree_entries(top, report):
        try:
            if suffix_of(entry.name) not in suffixes:
                continue
            if entry.is_file(follow_symlinks=False):
                yield entry.path
            elif on_skip is not None:
                if entry.is_symlink():
                    try:
                        target = os.readlink(entry.path)
                    except OSError:
                        target = "?"
                    on_skip(entry.path, f"symbolic link to {target}, not followed")
                else:
                    on_skip(entry.path, "not a regular file")
        except OSError as exc:
            report(entry.path, exc, False)


def tree_entries(
    top: str, on_error: Callable[[str, OSError, bool], None]
) -> Iterator[os.DirEntry[str]]:
    """Every entry below ``top`` that is not a directory, depth first in a stable order (a
    folder's entries by case-folded name, then its subfolders the same way); directories
    are entered, never through a symbolic link. ``on_error(path, error, is_folder)`` hears
    of a folder that cannot be listed or an entry that cannot be examined; the walk goes
    on."""
    # an explicit stack: folder depth is bounded by the file system, not by Python's
    # recursion limit; entries are pushed in reverse so the walk yields in sorted order
    stack: list[str] = [top]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: (e.name.casefold(), e.name))
        except OSError as exc:
            on_error(folder, exc, True)
            continue
        subfolders: list[str] = []
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    subfolders.append(entry.path)
                    continue
            except OSError as exc:
                on_error(entry.path, exc, False)
                continue
            yield entry
        stack.extend(reversed(subfolders))
