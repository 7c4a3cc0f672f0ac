"""LZX and Quantum decoding through libmspack (the library behind cabextract), via ctypes.

The fallback backend: used when libarchive is not installed or fails on a folder, and the
only in-process backend for Quantum. libmspack reads through an ``mspack_system`` whose I/O
callbacks serve a synthetic cabinet (:mod:`.synthetic`) and pass decoded bytes back, so no
file is ever opened or written. libmspack pushes output, so decoding runs in a worker
thread that hands chunks over a small bounded queue.

Struct layouts follow ``mspack.h`` of libmspack 0.x (ABI ``libmspack.so.0``, unchanged
since 2003).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import queue
import threading
from collections.abc import Generator, Iterator
from typing import Any

from msuinspect.cab.cfdata import DataBlock
from msuinspect.cab.codecs.base import Codec
from msuinspect.cab.codecs.synthetic import SyntheticCab
from msuinspect.cab.structs import Compression, CompressionKind
from msuinspect.errors import CodecError, MsuInspectError

c_off_t = ctypes.c_int64

_OPEN = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int)
_CLOSE = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
_READ = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int)
_WRITE = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int)
_SEEK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, c_off_t, ctypes.c_int)
_TELL = ctypes.CFUNCTYPE(c_off_t, ctypes.c_void_p)
_MESSAGE = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_char_p)


class _System(ctypes.Structure):
    _fields_ = [
        ("open", ctypes.c_void_p),
        ("close", ctypes.c_void_p),
        ("read", ctypes.c_void_p),
        ("write", ctypes.c_void_p),
        ("seek", ctypes.c_void_p),
        ("tell", ctypes.c_void_p),
        ("message", ctypes.c_void_p),
        ("alloc", ctypes.c_void_p),
        ("free", ctypes.c_void_p),
        ("copy", ctypes.c_void_p),
        ("null_ptr", ctypes.c_void_p),
    ]


_FN2 = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)
_EXTRACT = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p)
_SET_PARAM = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_int)


class _Decompressor(ctypes.Structure):
    _fields_ = [
        ("open", ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p)),
        ("close", ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)),
        ("search", ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p)),
        ("append", _FN2),
        ("prepend", _FN2),
        ("extract", _EXTRACT),
        ("set_param", _SET_PARAM),
        ("last_error", ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)),
    ]


class _Cabinet(ctypes.Structure):
    _fields_ = [
        ("next", ctypes.c_void_p),
        ("filename", ctypes.c_char_p),
        ("base_offset", c_off_t),
        ("length", ctypes.c_uint),
        ("prevcab", ctypes.c_void_p),
        ("nextcab", ctypes.c_void_p),
        ("prevname", ctypes.c_char_p),
        ("nextname", ctypes.c_char_p),
        ("previnfo", ctypes.c_char_p),
        ("nextinfo", ctypes.c_char_p),
        ("files", ctypes.c_void_p),
        ("folders", ctypes.c_void_p),
        ("set_id", ctypes.c_ushort),
        ("set_index", ctypes.c_ushort),
        ("header_resv", ctypes.c_ushort),
        ("flags", ctypes.c_int),
    ]


_ERRORS = {
    1: "bad arguments",
    2: "open error",
    3: "read error",
    4: "write error",
    5: "seek error",
    6: "out of memory",
    7: "bad signature",
    8: "error in data format",
    9: "checksum error",
    10: "compression error",
    11: "decompression error",
}

_IN = 1
_OUT = 2
_RETAIN = 1 << 20
_QUEUE_DEPTH = 2
#: output gathered before it is handed over (libmspack writes 32 KiB frames)
_OUT_BATCH = 1 << 20
#: bytes from the start that are always read through the buffer (the synthetic headers and
#: the first blocks), where libmspack may seek back
_HEAD_KEEP = 64 << 10


class _InputStream:
    """The synthetic cabinet as libmspack sees it: seekable backwards within what it has read
    recently (libmspack re-reads header bytes), forwards by skipping."""

    def __init__(self, cab: SyntheticCab) -> None:
        self.cab = cab
        self.buf = bytearray()
        self.buf_start = 0  # absolute offset of buf[0]
        self.pos = 0

    def read(self, dest: int, n: int) -> int:
        end_buf = self.buf_start + len(self.buf)
        if self.pos == end_buf and self.pos >= _HEAD_KEEP:
            # past the headers libmspack reads the blocks once, in order: straight into its
            # buffer, nothing kept (a seek back there fails, and the next backend is tried)
            got = self.cab.readinto(memoryview((ctypes.c_char * n).from_address(dest)).cast("B"))
            self.pos += got
            self.buf.clear()
            self.buf_start = self.pos
            return got
        if self.pos > end_buf:
            skipped = self.cab.skip(self.pos - end_buf)
            self.buf.clear()
            self.buf_start = end_buf + skipped
            end_buf = self.buf_start
            if self.pos > end_buf:
                return 0
        if self.pos < self.buf_start:
            return -1
        want_end = self.pos + n
        if want_end > end_buf:
            extra = bytearray(want_end - end_buf)
            got = self.cab.readinto(memoryview(extra))
            self.buf += memoryview(extra)[:got]
            end_buf += got
        take = min(n, end_buf - self.pos)
        if take > 0:
            start = self.pos - self.buf_start
            view = (ctypes.c_char * take).from_buffer(self.buf, start)
            ctypes.memmove(dest, view, take)
            del view  # releases the buffer, which is trimmed below
            self.pos += take
        if len(self.buf) > 2 * _RETAIN:
            drop = len(self.buf) - _RETAIN
            del self.buf[:drop]
            self.buf_start += drop
        return take


class LibmspackCodec(Codec):
    key = "libmspack"
    verifies_checksums = True
    kinds = frozenset(
        {CompressionKind.LZX, CompressionKind.QUANTUM, CompressionKind.MSZIP, CompressionKind.NONE}
    )

    def __init__(self, lib: ctypes.CDLL) -> None:
        self._lib = lib
        lib.mspack_create_cab_decompressor.restype = ctypes.c_void_p
        lib.mspack_create_cab_decompressor.argtypes = [ctypes.POINTER(_System)]
        lib.mspack_destroy_cab_decompressor.restype = None
        lib.mspack_destroy_cab_decompressor.argtypes = [ctypes.c_void_p]
        lib.mspack_version.restype = ctypes.c_int
        lib.mspack_version.argtypes = [ctypes.c_int]
        default_p = ctypes.c_void_p.in_dll(lib, "mspack_default_system")
        if not default_p.value:
            raise OSError("libmspack has no default system")
        self._default = ctypes.cast(default_p.value, ctypes.POINTER(_System)).contents
        d = self._default
        #: the default system's own file functions (C stdio), for in-memory files
        self._c_open = _OPEN(d.open)
        self._c_close = _CLOSE(d.close)
        self._c_seek = _SEEK(d.seek)
        self._c_tell = _TELL(d.tell)
        # the library interface version (MSPACK_VER_LIBRARY = 0); 1 for all 0.x releases
        self._interface = lib.mspack_version(0)
        if self._interface != 1:
            raise OSError(f"unexpected libmspack interface version {self._interface}")

    @property
    def description(self) -> str:
        return "libmspack (libmspack.so.0)"

    def decode(
        self,
        blocks: Iterator[DataBlock],
        compression: Compression,
        block_count: int,
        need: int,
        *,
        keep_checksums: bool = False,
    ) -> Generator[bytes, None, None]:
        cab = SyntheticCab(blocks, compression, block_count, need, keep_checksums)
        files = _MemoryFiles.make(cab, need)
        if files is not None:
            yield from self._decode_in_memory(cab, files, need)
            return
        job = _Job(self, cab)
        job.start()
        produced = 0
        try:
            while True:
                item = job.out.get()
                if item is None:
                    break
                produced += len(item)
                yield item
        finally:
            job.cancel()
        job.finish(produced, need)

    def _decode_in_memory(
        self, cab: SyntheticCab, files: _MemoryFiles, need: int
    ) -> Generator[bytes, None, None]:
        """libmspack reading and writing in-memory files through its own C stdio: no call
        into Python per CFDATA block or 32 KiB frame, so it decodes at cabextract's speed
        and leaves the GIL to the other threads. The output is read once the folder is
        done."""
        job = _Job(self, cab, files)
        produced = 0
        try:
            job.start()
            job.thread.join()
            os.lseek(files.output, 0, os.SEEK_SET)
            size = min(files.written, need)
            while data := os.read(files.output, min(_OUT_BATCH, size - produced)):
                produced += len(data)
                yield data
        finally:
            files.close()
        job.finish(produced, need)


#: at most this many decoded bytes go through in-memory files (more: the streaming path)
_MEMORY_OUT = 16 << 20
#: at most this many bytes of synthetic cabinet (compressed data) are copied to memory
_MEMORY_IN = 24 << 20


class _MemoryFiles:
    """An anonymous in-memory input file holding the whole synthetic cabinet, and one for
    the output, named ``/proc/self/fd/N`` for libmspack's C stdio (Linux)."""

    def __init__(self, input_fd: int, output_fd: int) -> None:
        self.input = input_fd
        self.output = output_fd
        #: bytes libmspack wrote to the output (its position when it closed the file)
        self.written = 0

    @staticmethod
    def make(cab: SyntheticCab, need: int) -> _MemoryFiles | None:
        """The files for a folder of at most :data:`_MEMORY_OUT` bytes, its input copied;
        None when this path is not available or the folder is larger (the caller streams,
        and the copy is replayed first: ``cab`` is left positioned after it)."""
        if need > _MEMORY_OUT or not _MEMFD:
            return None
        try:
            fd_in = os.memfd_create("msuinspect-cab", os.MFD_CLOEXEC)
        except OSError:
            return None
        view = memoryview(bytearray(1 << 20))
        written = 0
        try:
            while n := cab.readinto(view):
                chunk = view[:n]
                while chunk:
                    chunk = chunk[os.write(fd_in, chunk) :]
                written += n
                if written > _MEMORY_IN:
                    cab.replay_first(fd_in, written)
                    return None
            fd_out = os.memfd_create("msuinspect-out", os.MFD_CLOEXEC)
            with contextlib.suppress(OSError):  # one allocation, not a fault per page
                os.posix_fallocate(fd_out, 0, need)
        except BaseException:
            os.close(fd_in)
            raise
        return _MemoryFiles(fd_in, fd_out)

    def close(self) -> None:
        for fd in (self.input, self.output):
            os.close(fd)


_MEMFD = hasattr(os, "memfd_create") and os.path.isdir("/proc/self/fd")


class _Job:
    """One libmspack extraction running in a worker thread."""

    def __init__(
        self, codec: LibmspackCodec, cab: SyntheticCab, files: _MemoryFiles | None = None
    ) -> None:
        self.codec = codec
        #: in-memory files read and written by libmspack's C stdio, or None (callbacks)
        self.files = files
        self.c_files: set[int] = set()
        self.out_file: int | None = None
        self.input = _InputStream(cab)
        self.out: queue.Queue[bytes | None] = queue.Queue(_QUEUE_DEPTH)
        self.pending = bytearray()
        self.cancelled = threading.Event()
        self.failure: BaseException | None = None
        self.error_code = 0
        self.thread = threading.Thread(target=self._run, name="libmspack", daemon=True)
        self._callbacks: list[Any] = []

    def start(self) -> None:
        self.thread.start()

    def cancel(self) -> None:
        self.cancelled.set()
        # unblock a producer waiting on a full queue
        while self.thread.is_alive():
            try:
                self.out.get_nowait()
            except queue.Empty:
                self.thread.join(0.01)

    def finish(self, produced: int, need: int) -> None:
        """Raise what went wrong: the job's failure, or too little output."""
        self.raise_failure()
        if produced < need:
            raise CodecError(f"libmspack produced {produced} bytes, {need} needed")

    def raise_failure(self) -> None:
        if self.failure is not None:
            if isinstance(self.failure, MsuInspectError):
                raise self.failure
            raise CodecError(f"libmspack input failed: {self.failure}") from self.failure
        if self.error_code:
            reason = _ERRORS.get(self.error_code, f"error {self.error_code}")
            raise CodecError(f"libmspack: {reason}")

    # ---- callbacks (run in the worker thread; must never raise) ----
    def _open(self, _self: Any, name: bytes, mode: int) -> int:
        if self.files is not None and (name, mode) in ((b"in", 0), (b"out", 1)):
            fd = self.files.input if mode == 0 else self.files.output
            path = f"/proc/self/fd/{fd}".encode()
            # the output was allocated in one go (see _MemoryFiles.make): open it for update,
            # not truncated; its length is where libmspack stopped writing (see _close)
            c_mode = mode if mode == 0 else 2
            handle = self.codec._c_open(ctypes.addressof(self.codec._default), path, c_mode)
            if handle:
                self.c_files.add(handle)
                if mode == 1:
                    self.out_file = handle
            return handle or 0
        if name == b"in" and mode == 0:
            self.input.pos = 0
            return _IN
        if name == b"out" and mode == 1:
            return _OUT
        return 0

    def _close(self, f: Any) -> None:
        if f in self.c_files:
            if f == self.out_file and self.files is not None:
                self.files.written = int(self.codec._c_tell(f))
            self.c_files.discard(f)
            self.codec._c_close(f)

    def _read(self, f: Any, dest: Any, n: int) -> int:
        if f != _IN or self.cancelled.is_set():
            return -1
        try:
            return self.input.read(dest, n)
        except BaseException as exc:
            if self.failure is None:
                self.failure = exc
            return -1

    def _write(self, f: Any, src: Any, n: int) -> int:
        if f != _OUT:
            return -1
        # libmspack writes one 32 KiB frame at a time: gather them, hand over ~1 MiB
        self.pending += ctypes.string_at(src, n)
        if len(self.pending) >= _OUT_BATCH and not self._flush():
            return -1
        return n

    def _flush(self) -> bool:
        """Hand the gathered output to the consumer; False when cancelled."""
        if not self.pending:
            return True
        data = bytes(self.pending)
        self.pending.clear()
        while not self.cancelled.is_set():
            try:
                self.out.put(data, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _seek(self, f: Any, offset: int, mode: int) -> int:
        if f in self.c_files:
            return int(self.codec._c_seek(f, offset, mode))
        if f != _IN:
            return -1
        if mode == 0:
            self.input.pos = offset
        elif mode == 1:
            self.input.pos += offset
        else:
            self.input.pos = 0x7FFFFFFF + offset
        return 0 if self.input.pos >= 0 else -1

    def _tell(self, f: Any) -> int:
        if f in self.c_files:
            return int(self.codec._c_tell(f))
        return self.input.pos if f == _IN else 0

    def _message(self, _f: Any, _fmt: bytes) -> None:
        return None

    def _run(self) -> None:
        lib = self.codec._lib
        d = self.codec._default
        cbs = [
            _OPEN(self._open),
            _CLOSE(self._close),
            _READ(self._read),
            _WRITE(self._write),
            _SEEK(self._seek),
            _TELL(self._tell),
            _MESSAGE(self._message),
        ]
        self._callbacks = cbs
        pointers = [ctypes.cast(cb, ctypes.c_void_p) for cb in cbs]
        if self.files is not None:
            # both files are the default system's: read and write are called for no other
            pointers[2] = ctypes.c_void_p(d.read)
            pointers[3] = ctypes.c_void_p(d.write)
        system = _System(*pointers, d.alloc, d.free, d.copy, None)
        cabd_p = lib.mspack_create_cab_decompressor(ctypes.byref(system))
        try:
            if not cabd_p:
                self.error_code = 6
                return
            cabd = ctypes.cast(cabd_p, ctypes.POINTER(_Decompressor)).contents
            cab_p = cabd.open(cabd_p, b"in")
            if not cab_p:
                self.error_code = cabd.last_error(cabd_p) or 8
                return
            try:
                cab = ctypes.cast(cab_p, ctypes.POINTER(_Cabinet)).contents
                rc = cabd.extract(cabd_p, cab.files, b"out")
                if rc and not self.cancelled.is_set():
                    self.error_code = rc
            finally:
                cabd.close(cabd_p, cab_p)
        except BaseException as exc:
            self.failure = exc
        finally:
            if cabd_p:
                lib.mspack_destroy_cab_decompressor(cabd_p)
            for f in list(self.c_files):  # files libmspack left open
                self._close(f)
            self._flush()
            while not self.cancelled.is_set():
                try:
                    self.out.put(None, timeout=0.05)
                    break
                except queue.Full:
                    continue


def load_libmspack() -> LibmspackCodec | None:
    """The backend, or None when libmspack is not installed."""
    path = ctypes.util.find_library("mspack") or "libmspack.so.0"
    try:
        lib = ctypes.CDLL(path)
        return LibmspackCodec(lib)
    except (OSError, AttributeError, ValueError):
        return None
