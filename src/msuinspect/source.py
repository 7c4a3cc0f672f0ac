"""Byte sources: where a container's bytes come from.

A :class:`ByteSource` can be opened any number of times; each ``open()`` returns an
independent, seekable binary stream positioned at 0. A file on disk is the simple case; a
member of a cabinet is another (see :mod:`msuinspect.cab.nested`), whose stream re-runs the
parent's decoder when asked to seek backwards, so nothing is ever spooled to disk.
"""

from __future__ import annotations

import io
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from typing import BinaryIO

from msuinspect.errors import InputError, LimitExceededError

READ_BUFFER = 1 << 16


class ByteSource(ABC):
    """Something that can be read from the start, any number of times."""

    #: the node path shown to users, e.g. ``Windows6.0-KB1-x64.msu!/Windows6.0-KB1-x64.cab``
    display_name: str

    @property
    @abstractmethod
    def size(self) -> int:
        """Size in bytes."""

    @abstractmethod
    def open(self) -> BinaryIO:
        """A new independent seekable stream positioned at offset 0."""

    @property
    def local_path(self) -> str | None:
        """A filesystem path holding exactly these bytes, if there is one."""
        return None

    @property
    def random_access(self) -> bool:
        """True when reading at any offset is cheap (not a re-decoded nested member)."""
        return True


class FileSource(ByteSource):
    """A regular file on disk."""

    def __init__(self, path: str | os.PathLike[str], display_name: str | None = None) -> None:
        self.path = os.fspath(path)
        self.display_name = display_name if display_name is not None else self.path
        try:
            st = os.stat(self.path)
        except OSError as exc:
            raise InputError(f"cannot read: {exc.strerror}", path=self.path) from exc
        if not os.path.isfile(self.path):
            raise InputError("not a regular file", path=self.path)
        self._size = st.st_size

    @property
    def size(self) -> int:
        return self._size

    @property
    def local_path(self) -> str | None:
        return self.path

    def open(self) -> BinaryIO:
        try:
            return open(self.path, "rb", buffering=READ_BUFFER)
        except OSError as exc:
            raise InputError(f"cannot read {self.path}: {exc.strerror}") from exc


class BytesSource(ByteSource):
    """Bytes already in memory (tests, small members)."""

    def __init__(self, data: bytes, display_name: str = "<bytes>") -> None:
        self.data = data
        self.display_name = display_name

    @property
    def size(self) -> int:
        return len(self.data)

    def open(self) -> BinaryIO:
        return io.BytesIO(self.data)


class ReplayStream(io.RawIOBase):
    """A seekable raw stream over a restartable chunk producer.

    ``factory()`` returns an iterator over the stream's bytes from offset 0. Forward seeks
    skip (decode and discard); backward seeks start a new iterator, at most ``max_restarts``
    times, so a hostile access pattern cannot loop forever.
    """

    def __init__(
        self, factory: Callable[[], Iterator[bytes]], size: int, max_restarts: int
    ) -> None:
        super().__init__()
        self._factory = factory
        self._size = size
        self._max_restarts = max_restarts
        self._restarts = 0
        self._it: Iterator[bytes] | None = None
        self._buf = memoryview(b"")
        self._it_pos = 0  # stream offset of self._buf[0]
        self._pos = 0  # logical position

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            target = offset
        elif whence == io.SEEK_CUR:
            target = self._pos + offset
        elif whence == io.SEEK_END:
            target = self._size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if target < 0:
            raise ValueError("negative seek position")
        self._pos = target
        return target

    def _restart(self) -> None:
        if self._it is not None:
            self._restarts += 1
            if self._restarts > self._max_restarts:
                raise LimitExceededError(
                    f"nested stream restarted more than {self._max_restarts} times"
                )
            close = getattr(self._it, "close", None)
            if close is not None:
                close()
        self._it = self._factory()
        self._buf = memoryview(b"")
        self._it_pos = 0

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        want = len(b)
        if want == 0 or self._pos >= self._size:
            return 0
        if self._it is None or self._pos < self._it_pos:
            self._restart()
        assert self._it is not None
        while True:
            end = self._it_pos + len(self._buf)
            if self._it_pos <= self._pos < end:
                start = self._pos - self._it_pos
                n = min(want, end - self._pos, self._size - self._pos)
                b[:n] = self._buf[start : start + n]
                self._pos += n
                return n
            # advance to the next chunk
            self._it_pos = end
            try:
                chunk = next(self._it)
            except StopIteration:
                self._buf = memoryview(b"")
                return 0
            self._buf = memoryview(chunk)

    def close(self) -> None:
        if self._it is not None:
            close = getattr(self._it, "close", None)
            if close is not None:
                close()
            self._it = None
        super().close()
