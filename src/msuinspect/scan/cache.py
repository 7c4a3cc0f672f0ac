"""The scan's result cache: an SQLite database, written by the scanning process only.

Two tables (docs/batch.md):

``files``
    ``(path, size, mtime_ns, ctime_ns, inode, device) -> sha256``: what a file held when it
    was last analysed. A file whose ``stat`` still says the same is not read at all. The
    change time is part of the key because, unlike the modification time, no user can set
    it back.
``results``
    ``(sha256, file name, configuration) -> file object``. The file *name* is part of the key
    because a report reads it (the ``WindowsN.N-KBnnnn-arch`` claim, the Update Catalog's
    SHA-1 in download names); the configuration is the tool version, the extra trust roots
    (sorted SHA-256 of each), the moment of validation (``--as-of``, or today's date when
    none is given: trust changes with time) and the host profile. A record made under
    another folder is rewritten to the file's path when reused.

A ``meta`` table names the application and the schema version. A file that is not an SQLite
database, one of ours with another schema version, or one SQLite finds damaged while it is
used, is reported once, set aside as ``PATH.corrupt`` (never deleted: it may not be ours)
and rebuilt; an SQLite database of another application is left alone (reported; the scan
runs without a cache). A path that exists but is not a regular file (a device, a FIFO, a
folder) is refused (:class:`CachePathError`), and nothing but a regular file is ever set aside.
A stored entry that cannot be read is dropped. Nothing read from the cache is trusted beyond
a JSON object whose ``sha256`` is the key's.

Paths are stored as text when they are valid Unicode, else (a file name that is not valid
UTF-8, held by Python as lone surrogates) as a BLOB of their UTF-8 bytes with the surrogates
kept (``surrogatepass``), so that every path round-trips and none can collide with another.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import hashlib
import json
import os
import sqlite3
import stat
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from msuinspect import __version__
from msuinspect.authenticode.trust import load_certificates
from msuinspect.scan.discover import Candidate
from msuinspect.scan.records import Record, moved
from msuinspect.userfile import file_kind

APPLICATION = "msuinspect-scan-cache"
SCHEMA_VERSION = "1"
_COMMIT_EVERY = 64

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE files (
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL, inode INTEGER NOT NULL, device INTEGER NOT NULL,
    sha256 TEXT NOT NULL
);
CREATE TABLE results (
    key TEXT PRIMARY KEY, sha256 TEXT NOT NULL, name TEXT NOT NULL, config TEXT NOT NULL,
    path TEXT NOT NULL, record BLOB NOT NULL, stored REAL NOT NULL
);
"""
#: findings whose facts depend on files next to the scanned one (multi-volume sets): such
#: a result is not cached, since the neighbours may change without the file changing
_NEIGHBOUR_CODES = ("cab-multivolume", "cab-set-")


class CacheError(Exception):
    """The cache file cannot be used (reported; the scan goes on without it, unless
    :attr:`refused`)."""

    #: the path itself must not be used (:class:`CachePathError`): a command ends with an
    #: error rather than scanning without a cache
    refused: bool = False


class CachePathError(CacheError):
    """The cache path names something that is not a regular file (a device, a FIFO, a
    folder, a dangling link): refused, and never opened, renamed or replaced."""

    refused = True


def _db_path(path: str) -> str | bytes:
    """A path as stored: the text itself, or, when it is not valid Unicode (an undecodable
    file name), its UTF-8 bytes with the surrogates kept (a BLOB, which never equals a TEXT)."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return path.encode("utf-8", "surrogatepass")
    return path


def _from_db_path(value: object) -> str:
    """:func:`_db_path` undone."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogatepass")
    return str(value)


def _check_path(path: str) -> None:
    """Refuse a cache path that exists and is not a regular file (following a link, which
    must lead to one)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.lexists(path):
            raise CachePathError(
                f"cache {path} is a symbolic link to nothing; not using it "
                "(choose another --cache PATH)"
            ) from None
        return
    except OSError as exc:
        raise CacheError(f"cache {path} cannot be used: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise CachePathError(
            f"cache {path} is not a regular file ({file_kind(st.st_mode)}); not using it "
            "(choose another --cache PATH)"
        )


def _is_regular(path: str) -> bool:
    """Whether ``path`` itself (not what a link leads to) is a regular file."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def default_cache_path() -> str:
    """``<user cache dir>/msuinspect/scan-cache.sqlite3`` (platformdirs)."""
    import platformdirs

    return os.path.join(platformdirs.user_cache_dir("msuinspect"), "scan-cache.sqlite3")


@functools.cache
def tool_build() -> str:
    """The version and a fingerprint of this installation's code and bundled data
    (``0.1.0+3f2a…``): a result made by another build, even of the same version (a
    development tree, a patched install), is never reused. Read once per process, only by
    a scan that uses the cache."""
    root = Path(__file__).resolve().parent.parent  # the msuinspect package
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.suffix in {".py", ".pem", ".toml", ".json", ".txt", ".crt", ".cer"} and (
            "__pycache__" not in path.parts
        ):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(path.read_bytes())
    return f"{__version__}+{digest.hexdigest()[:16]}"


@dataclass(frozen=True, slots=True)
class CacheConfig:
    """Everything besides the bytes and the name that a report depends on."""

    trust_roots_sha256: tuple[str, ...] = ()
    #: ``--as-of`` as given, or None: then results are reused within the same UTC day
    as_of: _dt.datetime | None = None
    #: a key for the host profile (``--host``); empty when there is none
    host_key: str = ""
    tool_version: str = field(default_factory=lambda: tool_build())
    #: other options a report depends on (e.g. limits), as a stable string
    options: str = ""

    def key(self, today: _dt.date | None = None) -> str:
        moment = (
            self.as_of.astimezone(_dt.UTC).isoformat()
            if self.as_of is not None
            else "day:" + (today or _dt.datetime.now(_dt.UTC).date()).isoformat()
        )
        return json.dumps(
            {
                "version": self.tool_version,
                "roots": sorted(self.trust_roots_sha256),
                "as_of": moment,
                "host": self.host_key,
                "options": self.options,
            },
            sort_keys=True,
        )


@dataclass(slots=True)
class CacheStats:
    path: str
    results: int
    files: int
    bytes_on_disk: int
    versions: dict[str, int] = field(default_factory=dict)


def cacheable(record: Record, sha256: str | None = None) -> bool:
    """Whether a record may be stored: an analysis of known bytes (``sha256``: the file's,
    when the record has none) that depends on nothing but them, the name and the options."""
    sha = record.get("sha256") or sha256
    if not isinstance(sha, str) or len(sha) != 64:
        return False
    if record.get("sha256") not in (None, sha):
        return False
    error = record.get("error")
    if isinstance(error, dict) and error.get("code") in {"internal-error", "time-budget"}:
        return False
    return not any(str(code).startswith(_NEIGHBOUR_CODES) for code in _codes(record))


def _in_a_set(cand: Candidate) -> bool:
    """Whether the file is a cabinet of a multi-volume set (CFHEADER flags: a previous or a
    next cabinet): its analysis depends on the other files of the set, which the cache key
    does not cover (a complete set carries no finding that says so). A member of a disc
    image is never read here (its bytes are inside the image)."""
    if cand.image:
        return False
    try:
        with open(cand.path, "rb") as f:
            head = f.read(32)
    except OSError:
        return False
    return len(head) == 32 and head[:4] == b"MSCF" and bool(head[30] & 0x03)


def _codes(record: Record) -> Iterable[str]:
    for f in record.get("findings") or ():
        yield str(f.get("code", ""))
    package = record.get("package") or {}
    for f in package.get("findings") or ():
        yield str(f.get("code", ""))
    for node in package.get("nodes") or ():
        for f in node.get("findings") or ():
            yield str(f.get("code", ""))


class ResultCache:
    """The cache database at ``path``; ``on_note`` hears (once each) of a file rebuilt or
    left alone, or of the cache being dropped after an error mid-scan."""

    def __init__(self, path: str, *, on_note: Callable[[str], None] | None = None) -> None:
        self.path = path
        self._note = on_note or (lambda _msg: None)
        self._pending = 0
        self._db: sqlite3.Connection | None = None
        _check_path(path)
        parent = os.path.dirname(os.path.abspath(path))
        os.makedirs(parent, exist_ok=True)
        try:
            self._db = self._open()
        except _Foreign as exc:
            raise CacheError(str(exc)) from None
        except (sqlite3.DatabaseError, _Stale) as exc:
            self._rebuild(f"cache {path} is unusable ({exc})")
            if self._db is None:
                raise CacheError(f"cannot create cache {path}") from None

    def _rebuild(self, why: str) -> None:
        """Set the bad file aside (``PATH.corrupt``, replacing an older regular file: never
        deleted, it may not be ours) and start an empty cache at ``PATH``. Only a regular file
        is ever moved or removed (not a link, a device, a FIFO)."""
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None
        aside = self.path + ".corrupt"
        try:
            if os.path.lexists(self.path):
                if not _is_regular(self.path):
                    raise OSError(f"{self.path} is not a regular file; left alone")
                if os.path.lexists(aside) and not _is_regular(aside):
                    raise OSError(f"{aside} exists and is not a regular file; left alone")
                os.replace(self.path, aside)
            for suffix in ("-wal", "-shm", "-journal"):
                if _is_regular(self.path + suffix):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(self.path + suffix)
            _check_path(self.path)
            self._db = self._open()
        except (OSError, sqlite3.DatabaseError, _Stale, _Foreign, CacheError) as exc:
            self._note(f"{why}; cannot rebuild it ({exc}); going on without a cache")
            self._db = None
            return
        self._note(f"{why}; set aside as {aside} and rebuilt")

    # -- opening ---------------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        try:
            db.execute("PRAGMA busy_timeout = 30000")
            tables = {
                row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
            if not tables:
                db.execute("PRAGMA journal_mode = WAL")
                db.execute("BEGIN IMMEDIATE")
                # another process may have created it meanwhile
                again = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
                if again == 0:
                    for statement in _SCHEMA.split(";"):
                        if statement.strip():
                            db.execute(statement)
                    db.executemany(
                        "INSERT INTO meta VALUES (?, ?)",
                        [("application", APPLICATION), ("schema", SCHEMA_VERSION)],
                    )
                db.execute("COMMIT")
                tables = {"meta", "files", "results"}
            if "meta" not in tables:
                raise _Foreign(
                    f"{self.path} is an SQLite database of another application; "
                    "not using it as a cache (choose another --cache PATH)"
                )
            meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
            if meta.get("application") != APPLICATION:
                raise _Foreign(
                    f"{self.path} is not an msuinspect cache; not using it "
                    "(choose another --cache PATH)"
                )
            if meta.get("schema") != SCHEMA_VERSION or not {"files", "results"} <= tables:
                raise _Stale(f"cache schema {meta.get('schema')!r}, expected {SCHEMA_VERSION}")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
        except BaseException:
            db.close()
            raise
        return db

    def _fail(self, exc: sqlite3.Error) -> None:
        """An error mid-scan: a damaged database is set aside and rebuilt; anything else
        (locked too long, disk full) is said once and the scan goes on without a cache."""
        if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
            self._pending = 0
            self._rebuild(f"cache {self.path} is damaged ({exc})")
            return
        self._note(f"cache {self.path} failed ({exc}); going on without it")
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
        self._db = None

    @property
    def usable(self) -> bool:
        return self._db is not None

    # -- reading ---------------------------------------------------------------------------

    def known_sha256(self, cand: Candidate) -> str | None:
        """The SHA-256 of the file when its ``stat`` is what it was at the last analysis."""
        if self._db is None or cand.size < 0:
            return None
        try:
            row = self._db.execute(
                "SELECT sha256 FROM files WHERE path = ? AND size = ? AND mtime_ns = ? "
                "AND ctime_ns = ? AND inode = ? AND device = ?",
                (
                    _db_path(cand.path),
                    cand.size,
                    cand.mtime_ns,
                    cand.ctime_ns,
                    cand.inode,
                    cand.device,
                ),
            ).fetchone()
        except sqlite3.Error as exc:
            self._fail(exc)
            return None
        return str(row[0]) if row else None

    def has(self, sha256: str, path: str, config: str) -> bool:
        """Whether a result is stored for these bytes under this name (not read yet)."""
        if self._db is None:
            return False
        key = _result_key(sha256, os.path.basename(path), config)
        try:
            row = self._db.execute("SELECT 1 FROM results WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error as exc:
            self._fail(exc)
            return False
        return row is not None

    def get(self, sha256: str, path: str, config: str) -> Record | None:
        """The stored file object for these bytes under this name, as it reads at ``path``."""
        if self._db is None:
            return None
        key = _result_key(sha256, os.path.basename(path), config)
        try:
            row = self._db.execute(
                "SELECT path, record FROM results WHERE key = ?", (key,)
            ).fetchone()
        except sqlite3.Error as exc:
            self._fail(exc)
            return None
        if row is None:
            return None
        try:
            record = json.loads(zlib.decompress(row[1]))
            if not isinstance(record, dict) or record.get("sha256") not in (None, sha256):
                raise ValueError("record does not match its key")
        except (zlib.error, ValueError, TypeError) as exc:
            self._note(f"cache {self.path}: dropping an unreadable entry ({exc})")
            self._write("DELETE FROM results WHERE key = ?", (key,))
            return None
        return moved(record, _from_db_path(row[0]), path)

    # -- writing ---------------------------------------------------------------------------

    def put(
        self, cand: Candidate, record: Record, config: str, *, sha256: str | None = None
    ) -> bool:
        """Store an analysed file's record (``sha256``: the file's, when the record has
        none), and its ``stat`` when the file did not change while it was read. Returns
        whether it was stored."""
        if self._db is None or not cacheable(record, sha256) or _in_a_set(cand):
            return False
        sha = str(record.get("sha256") or sha256)
        name = os.path.basename(cand.path)
        key = _result_key(sha, name, config)
        blob = zlib.compress(json.dumps(record, separators=(",", ":")).encode(), 6)
        self._write(
            "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?, ?)",
            (key, sha, _db_path(name), config, _db_path(cand.path), blob, time.time()),
        )
        try:
            st = os.stat(cand.stat_path, follow_symlinks=False)
        except OSError:
            st = None
        # the file (or, for a member, the image holding it) did not change while read
        unchanged = st is not None and (
            st.st_mtime_ns,
            st.st_ctime_ns,
            st.st_ino,
            st.st_dev,
        ) == (cand.mtime_ns, cand.ctime_ns, cand.inode, cand.device)
        if cand.image == "" and st is not None and st.st_size != cand.size:
            unchanged = False
        if unchanged and record.get("size") in (None, cand.size):
            self._write(
                "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    _db_path(cand.path),
                    cand.size,
                    cand.mtime_ns,
                    cand.ctime_ns,
                    cand.inode,
                    cand.device,
                    sha,
                ),
            )
        return True

    def _write(self, sql: str, params: tuple[Any, ...]) -> None:
        if self._db is None:
            return
        try:
            if not self._db.in_transaction:
                self._db.execute("BEGIN IMMEDIATE")
            self._db.execute(sql, params)
            self._pending += 1
            if self._pending >= _COMMIT_EVERY:
                self.commit()
        except sqlite3.Error as exc:
            self._fail(exc)

    def commit(self) -> None:
        if self._db is None:
            return
        try:
            if self._db.in_transaction:
                self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._fail(exc)
        self._pending = 0

    def close(self) -> None:
        self.commit()
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self) -> ResultCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- maintenance -----------------------------------------------------------------------

    def stats(self) -> CacheStats:
        if self._db is None:
            raise CacheError(f"cache {self.path} is not open")
        results = self._db.execute("SELECT count(*) FROM results").fetchone()[0]
        files = self._db.execute("SELECT count(*) FROM files").fetchone()[0]
        versions: dict[str, int] = {}
        for config, n in self._db.execute("SELECT config, count(*) FROM results GROUP BY config"):
            try:
                version = str(json.loads(config).get("version"))
            except (ValueError, AttributeError):
                version = "?"
            versions[version] = versions.get(version, 0) + int(n)
        size = sum(
            os.path.getsize(self.path + s) for s in ("", "-wal") if os.path.exists(self.path + s)
        )
        return CacheStats(self.path, int(results), int(files), size, versions)

    def clear(self) -> None:
        """Remove every entry (the file stays, empty)."""
        if self._db is None:
            raise CacheError(f"cache {self.path} is not open")
        self._db.execute("BEGIN IMMEDIATE")
        self._db.execute("DELETE FROM results")
        self._db.execute("DELETE FROM files")
        self._db.execute("COMMIT")
        self._db.execute("VACUUM")


class _Foreign(Exception):
    pass


class _Stale(Exception):
    pass


def _result_key(sha256: str, name: str, config: str) -> str:
    text = "\x1f".join((sha256, name, config))
    # a name that is not valid Unicode keeps its surrogates (the same bytes otherwise)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def trust_roots_key(pem_paths: Iterable[str]) -> tuple[str, ...]:
    """The sorted SHA-256 of each extra root certificate (DER) in these files."""
    out = set()
    for path in pem_paths:
        for cert in load_certificates(path):
            out.add(hashlib.sha256(cert.dump()).hexdigest())
    return tuple(sorted(out))
