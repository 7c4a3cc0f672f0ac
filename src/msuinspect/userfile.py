"""Reading a small file the user named (a trust root, a host profile): regular files only,
of bounded size, without ever blocking.

A name on the command line may be a FIFO (the open would wait for a writer), a device
(``/dev/zero`` never ends) or a pseudo-file (``/proc/kmsg`` says it is a regular, empty
file and then blocks on read). :func:`read_user_file` therefore checks the type and size
with ``stat`` before opening, opens with ``O_NONBLOCK`` (a FIFO swapped in meanwhile opens
at once), checks again on the open descriptor, and reads at most ``limit + 1`` bytes, so a
file that is larger than it said is refused too. Trust roots, host profiles and host
evidence files are read through it (the command line through the public API).
"""

from __future__ import annotations

import os
import stat

from msuinspect.errors import InputError

_CHUNK = 1 << 20


def file_kind(mode: int) -> str:
    """A short name for the type of a file from its ``st_mode`` (for messages)."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISLNK(mode):  # from lstat
        return "a symbolic link"
    if stat.S_ISREG(mode):
        return "a regular file"
    return "not a regular file"


def _mib(n: int) -> str:
    return f"{n >> 20} MiB" if n % (1 << 20) == 0 else f"{n} bytes"


def _check(path: str, st: os.stat_result, limit: int, what: str) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise InputError(
            f"cannot read {what}: {file_kind(st.st_mode)}, not a regular file", path=path
        )
    if st.st_size > limit:
        raise InputError(f"{what} too large: {st.st_size} bytes (at most {_mib(limit)})", path=path)


def read_user_file(path: str | os.PathLike[str], *, limit: int, what: str) -> bytes:
    """The bytes of the regular file ``path`` (links followed: the user named it), at most
    ``limit`` bytes. Raises :class:`InputError` (its ``path`` set; messages "cannot read
    {what}: a FIFO, not a regular file", "{what} too large: ...", "cannot read {what}:
    {reason}") without reading anything from a file that is not regular or is over the
    limit, and without blocking."""
    name = os.fspath(path)
    try:
        _check(name, os.stat(name), limit, what)
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
        fd = os.open(name, flags)
    except OSError as exc:
        raise InputError(f"cannot read {what}: {exc.strerror or exc}", path=name) from None
    try:
        _check(name, os.fstat(fd), limit, what)  # the file opened is the file checked
        data = bytearray()
        while len(data) <= limit:
            chunk = os.read(fd, min(_CHUNK, limit + 1 - len(data)))
            if not chunk:
                break
            data += chunk
    except OSError as exc:  # EAGAIN from a pseudo-file with nothing to read, EIO...
        raise InputError(f"cannot read {what}: {exc.strerror or exc}", path=name) from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise InputError(f"{what} too large: more than {_mib(limit)}", path=name)
    return bytes(data)
