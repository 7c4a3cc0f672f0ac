"""Special files for tests of code that must never block on them or read them whole: a
FIFO whose writer lets a wrong reader finish (so a test fails instead of hanging), and a
sparse file of any size (no data blocks written)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def guarded_fifo(path: Path) -> Iterator[Path]:
    """A FIFO at ``path`` with a writer (a thread) that closes as soon as a reader opens it:
    code that wrongly opens it to read sees an empty file and ends, so the test fails
    instead of hanging. At the end a non-blocking reader releases the writer if nobody
    opened it."""
    os.mkfifo(path)

    def writer() -> None:
        os.close(os.open(path, os.O_WRONLY))  # waits for a reader

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        yield path
    finally:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        thread.join()
        os.close(fd)


def sparse_file(path: Path, size: int) -> Path:
    """A file of ``size`` bytes that is a hole (no data blocks written)."""
    with open(path, "wb") as f:
        f.truncate(size)
    return path
