"""``msuinspect scan``: many files, in parallel, cached, in the report format a tool wants;
and ``msuinspect cache stats|clear`` (docs/batch.md)."""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import functools
import hashlib
import io
import math
import os
import signal
import sqlite3
import stat
import sys
import tempfile
import threading
import traceback
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any, BinaryIO, Protocol, TextIO, TypeVar, cast

import click

from msuinspect import (
    DEFAULT_TIMEOUT,
    CacheConfig,
    CacheError,
    Candidate,
    DaskUnavailable,
    FileResult,
    HostProfile,
    InputError,
    MsuInspectError,
    Note,
    NoteKind,
    Outcome,
    Record,
    ResultCache,
    Scan,
    ScanOptions,
    ToRecord,
    cpu_count,
    default_cache_path,
    discover,
    error_record,
    file_kind,
    load_knowledge_base,
    trust_roots_key,
    write_toml,
)
from msuinspect.cli.common import (
    EXIT_CODES_HELP,
    EXIT_FAILED,
    EXIT_INTERNAL,
    _debug,
    _host_profile,
    _parse_as_of,
    _trust_store,
    as_of_option,
    fail_on_option,
    trust_root_option,
)
from msuinspect.cli.inspect_cmd import FAIL_ON, _Status
from msuinspect.report import (
    batch_csv,
    batch_html,
    batch_json,
    batch_sarif,
    batch_table,
    signatures_json,
)
from msuinspect.report.inspect_json import report_dict

EXIT_INTERRUPTED = 130
#: 128 + SIGTERM, as a shell reports a process that SIGTERM ended
EXIT_TERMINATED = 143
FORMATS = ("table", "json", "jsonl", "csv", "sarif", "html")

_SCAN_EXIT_HELP = "\n".join(
    line
    for line in EXIT_CODES_HELP.replace("(inspect)", "(inspect, scan)").split("\n")
    if not line.startswith("  130 ")  # said below, as scan means it
) + (
    "\n  130 interrupted (Ctrl-C); what was done is written"
    "\n  143 terminated (SIGTERM); no report written"
    "\n  (1 also when the report or the cache cannot be written where asked)"
)


def _note(quiet: bool) -> Callable[[str], None]:
    def say(message: str) -> None:
        if not quiet:
            click.echo(f"msuinspect: note: {message}", err=True)

    return say


@contextlib.contextmanager
def _progress(enabled: bool, total_files: int, total_bytes: int) -> Iterator[Any]:
    """A rich progress display on stderr, or None."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    progress = Progress(
        TextColumn("scan"),
        BarColumn(),
        TextColumn("{task.fields[files]} files"),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[current]}", markup=False),
        console=Console(stderr=True),
        transient=True,
    )
    with progress:
        task = progress.add_task(
            "scan", total=max(total_bytes, 1), files=f"0/{total_files}", current=""
        )
        yield _ProgressSink(progress, task, total_files)


class _ProgressSink:
    """Files and bytes done, the rate and time left, and the file a worker last took."""

    def __init__(self, progress: Any, task: Any, total_files: int) -> None:
        self.progress, self.task, self.total, self.done_files = progress, task, total_files, 0

    def start(self, cand: Candidate) -> None:
        name = batch_table.clean(os.path.basename(cand.path))
        self.progress.update(self.task, current=name[-60:])

    def done(self, result: FileResult, cand: Candidate) -> None:
        self.done_files += 1
        self.progress.update(
            self.task, advance=max(cand.size, 0), files=f"{self.done_files}/{self.total}"
        )


_O_NOCTTY = getattr(os, "O_NOCTTY", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def _finite_timeout(value: float) -> float:
    """``--timeout`` must be a number of seconds: ``nan`` and ``inf`` compare false with
    every elapsed time, so a file over its budget would never be stopped."""
    if not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a number of seconds", param_hint="--timeout")
    return value


class _OutputError(Exception):
    """The report cannot be written where it was asked for (one line, exit status 1)."""


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _is_stdout(st: os.stat_result) -> bool:
    """Whether ``st`` is the file standard output already writes to (``-o /dev/stdout``
    while stdout is redirected to a file)."""
    try:
        out = os.fstat(sys.stdout.fileno())
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return False
    return (out.st_dev, out.st_ino) == (st.st_dev, st.st_ino)


class _Output:
    """Where the report goes: stdout, or a file (docs/batch.md, "Where the report goes").

    A file is written under a unique temporary name in its folder, created exclusively and
    without following links, and renamed over ``path`` only when complete (:meth:`commit`),
    and only if ``path`` then is missing or a regular file; ``jsonl`` streams into ``path``
    itself (opened without following a link). A character device or a FIFO that ``path``
    names (``/dev/stdout``, ``/dev/null``, a named pipe; through links too) is written
    directly and never replaced; anything else that is not a regular file (a link to a
    file or to nothing, a socket, ...) is refused. :meth:`discard` drops an unfinished
    report. Opening, writing and publishing raise :class:`_OutputError` only. Text that
    UTF-8 cannot carry (undecodable file names) is written backslash-escaped."""

    def __init__(self, path: str | None, streaming: bool) -> None:
        self.path = path
        self._temp: str | None = None
        self._file: BinaryIO | None = None
        if path is None:
            return
        try:
            st: os.stat_result | None = os.lstat(path)
        except FileNotFoundError:
            st = None
        except OSError as exc:
            raise _OutputError(f"cannot write the report to {path}: {_why(exc)}") from None
        if st is not None and not stat.S_ISREG(st.st_mode):
            self._open_special(path, st)
        elif streaming:
            self._open_streaming(path)
        else:
            self._open_temporary(path)

    @property
    def atomic(self) -> bool:
        """Whether the report is written under a temporary name (dropped if unfinished)."""
        return self._temp is not None

    def _refuse(self, path: str, what: str) -> _OutputError:
        return _OutputError(
            f"not writing the report to {path}: it is {what}, neither a regular file nor a "
            "character device or FIFO (choose another --output FILE)"
        )

    def _open_special(self, path: str, lst: os.stat_result) -> None:
        """A character device or FIFO, named or reached through links: written directly."""
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise self._refuse(path, "a symbolic link to nothing") from None
        except OSError as exc:
            raise _OutputError(f"cannot write the report to {path}: {_why(exc)}") from None
        if stat.S_ISREG(st.st_mode) and _is_stdout(st):
            self.path = None  # the file standard output goes to: written as stdout
            return
        if not (stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode)):
            what = file_kind(lst.st_mode)
            if stat.S_ISLNK(lst.st_mode):
                what += f" to {file_kind(st.st_mode) if not stat.S_ISREG(st.st_mode) else 'a file'}"
            raise self._refuse(path, what)
        try:  # a FIFO: waits for a reader, as a shell's redirection does
            fd = os.open(path, os.O_WRONLY | _O_NOCTTY | _O_CLOEXEC)
        except OSError as exc:
            raise _OutputError(f"cannot write the report to {path}: {_why(exc)}") from None
        opened = os.fstat(fd)
        if not (stat.S_ISCHR(opened.st_mode) or stat.S_ISFIFO(opened.st_mode)):
            os.close(fd)  # replaced meanwhile
            raise self._refuse(path, file_kind(opened.st_mode))
        self._file = os.fdopen(fd, "wb")

    def _open_streaming(self, path: str) -> None:
        # not blocking: a FIFO put there meanwhile must not hold the scan (refused below)
        flags = os.O_WRONLY | os.O_CREAT | _O_NOCTTY | _O_CLOEXEC | _O_NONBLOCK | _O_NOFOLLOW
        try:
            fd = os.open(path, flags, 0o666)
        except OSError as exc:
            raise _OutputError(f"cannot write the report to {path}: {_why(exc)}") from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):  # replaced meanwhile
                raise self._refuse(path, file_kind(st.st_mode))
            if _O_NONBLOCK:
                os.set_blocking(fd, True)
            os.ftruncate(fd, 0)
        except OSError as exc:
            os.close(fd)
            raise _OutputError(f"cannot write the report to {path}: {_why(exc)}") from None
        except _OutputError:
            os.close(fd)
            raise
        self._file = os.fdopen(fd, "wb")

    def _open_temporary(self, path: str) -> None:
        folder = os.path.dirname(os.path.abspath(path))
        name = os.path.basename(path)
        try:  # mkstemp: O_CREAT | O_EXCL | O_NOFOLLOW, a name of its own
            fd, self._temp = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=folder)
        except OSError as exc:
            raise _OutputError(f"cannot write the report to {path}: {_why(exc)}") from None
        if hasattr(os, "fchmod"):  # as an ordinary new file (mkstemp: 0600)
            with contextlib.suppress(OSError):
                os.fchmod(fd, 0o666 & ~_umask())
        self._file = os.fdopen(fd, "wb")

    def _failed(self, exc: OSError) -> _OutputError:
        where = self.path if self.path is not None else "standard output"
        return _OutputError(f"cannot write the report to {where}: {_why(exc)}")

    def write(self, text: str) -> int:
        data = text.encode("utf-8", "backslashreplace")
        try:
            if self._file is not None:
                self._file.write(data)
            else:
                sys.stdout.flush()
                sys.stdout.buffer.write(data)
        except BrokenPipeError:
            if self._file is None:
                raise  # the reader of stdout went away: click's own handling
            raise self._failed(BrokenPipeError(errno.EPIPE, "the reader went away")) from None
        except OSError as exc:
            raise self._failed(exc) from None
        return len(text)

    def flush(self) -> None:
        try:
            if self._file is not None:
                self._file.flush()
            else:
                sys.stdout.buffer.flush()
        except BrokenPipeError:
            if self._file is None:
                raise
            raise self._failed(BrokenPipeError(errno.EPIPE, "the reader went away")) from None
        except OSError as exc:
            raise self._failed(exc) from None

    def commit(self) -> None:
        """The report is complete: close the file and, if it was written under a temporary
        name, rename it over ``path`` (only a missing path or a regular file is replaced)."""
        if self._file is None:
            self.flush()
            return
        try:
            self._file.close()
        except OSError as exc:
            self.discard()
            raise self._failed(exc) from None
        if self._temp is None or self.path is None:
            return
        try:
            try:
                st: os.stat_result | None = os.lstat(self.path)
            except FileNotFoundError:
                st = None
            if st is not None and not stat.S_ISREG(st.st_mode):
                raise self._refuse(self.path, file_kind(st.st_mode))
            os.replace(self._temp, self.path)
            self._temp = None
        except OSError as exc:
            self.discard()
            raise self._failed(exc) from None
        except _OutputError:
            self.discard()
            raise

    def discard(self) -> None:
        """Drop an unfinished report: close the file and remove the temporary one (a
        streamed ``jsonl`` file keeps the lines written so far)."""
        if self._file is not None and not self._file.closed:
            with contextlib.suppress(OSError):
                self._file.close()
        if self._temp is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._temp)
            self._temp = None


class _Writer(Protocol):
    def add(self, record: Record) -> None: ...

    def close(self) -> None: ...


def _writer(fmt: str, out: TextIO, header: dict[str, Any], moment: _dt.datetime) -> _Writer:
    if fmt == "json":
        return batch_json.JsonWriter(out, header)
    if fmt == "jsonl":
        return batch_json.JsonlWriter(out, header)
    if fmt == "csv":
        return batch_csv.CsvWriter(out)
    if fmt == "sarif":
        return batch_sarif.SarifWriter(out)
    if fmt == "html":
        return batch_html.HtmlWriter(out, moment)
    return batch_table.TableWriter(out)


def _cache_config(
    trust_roots: tuple[str, ...], as_of: _dt.datetime | None, host: HostProfile | None
) -> CacheConfig:
    return CacheConfig(
        trust_roots_sha256=trust_roots_key(trust_roots), as_of=as_of, host_key=_host_key(host)
    )


def _host_key(host: HostProfile | None) -> str:
    """The host profile and the knowledge base version a verdict depends on."""
    if host is None:
        return ""
    text = write_toml(host) + "\nknowledge " + load_knowledge_base().data_version
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@click.command("scan", epilog=_SCAN_EXIT_HELP)
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="worker processes (default: the number of CPUs)",
)
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="report format",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="write the report here")
@fail_on_option
@click.option("--cache", "cache_path", type=click.Path(dir_okay=False), help="cache database")
@click.option("--no-cache", is_flag=True, help="neither read nor write the result cache")
@click.option("--all", "all_files", is_flag=True, help="also files that are not update files")
@click.option("-q", "--quiet", is_flag=True, help="no progress display and no notes")
@trust_root_option
@as_of_option
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    callback=lambda _ctx, _param, v: _finite_timeout(v),
    default=DEFAULT_TIMEOUT,
    show_default=True,
    metavar="SECONDS",
    help="time budget per file: a file over it is reported as an error (time-budget)",
)
@click.option(
    "--host",
    "host_spec",
    metavar="SPEC",
    help="also judge each file for this Windows 6.0 host: key=value list, preset:NAME or a "
    ".toml profile (docs/host.md); adds a verdict column to table and html reports and the "
    "verdict to json/jsonl",
)
@click.option(
    "--dask",
    "dask_address",
    metavar="ADDRESS",
    help="run the per-file work on this Dask scheduler (e.g. tcp://host:8786); its workers "
    "must see the same paths; needs msuinspect[dask]; --jobs and --timeout do not apply",
)
def scan(
    paths: tuple[str, ...],
    jobs: int | None,
    fmt: str,
    output: str | None,
    fail_on: str,
    cache_path: str | None,
    no_cache: bool,
    all_files: bool,
    quiet: bool,
    trust_roots: tuple[str, ...],
    as_of: str | None,
    timeout: float,
    host_spec: str | None,
    dask_address: str | None,
) -> None:
    """Inspect every update file under PATHs, in parallel, with one outcome per file.

    Folders are walked recursively; symbolic links inside them are never followed (each is
    noted on stderr); files are told by content (cabinet/MSU, PE, catalog/PKCS#7) and the
    others skipped unless --all. Nothing is written to the scanned folders. Results are
    cached by content (see 'msuinspect cache'), so a rescan analyses only new or changed
    files. Reports come in the order of the files, whatever --jobs."""
    if cache_path is not None and no_cache:
        raise click.UsageError("--cache and --no-cache exclude each other")
    moment = _parse_as_of(as_of) if as_of else None
    host = _host_profile(host_spec)
    trust = _trust_store(trust_roots)
    try:
        config = _cache_config(trust_roots, moment, host)
    except MsuInspectError as exc:
        raise click.BadParameter(str(exc), param_hint="--trust-root") from None
    for warning in trust.warnings:
        click.echo(f"msuinspect: warning: {warning}", err=True)
    to_record: ToRecord = functools.partial(report_dict, host=host)
    say = _note(quiet)
    options = ScanOptions(
        jobs=jobs or cpu_count(),
        timeout=timeout,
        trust_roots=trust_roots,
        as_of=moment,
        dask=dask_address,
        host=host,
        host_key=config.host_key,
    )
    header_moment = moment or _dt.datetime.now(_dt.UTC)
    schema = (
        signatures_json.INSPECT_JSONL_SCHEMA if fmt == "jsonl" else signatures_json.INSPECT_SCHEMA
    )
    header = signatures_json.header_dict(schema, trust, header_moment)

    out: _Output | None = None
    published = False
    try:
        with _sigterm_exits():
            # the report's file and the cache are opened before the walk: a path that
            # cannot be used fails at once, not after the whole walk
            out = _Output(output, streaming=fmt == "jsonl")
            cache = _open_cache(cache_path, no_cache, say)
            try:
                job, status = _scan_into(
                    out,
                    paths=paths,
                    all_files=all_files,
                    say=say,
                    to_record=to_record,
                    cache=cache,
                    config=config,
                    options=options,
                    writer_of=lambda o: _writer(fmt, o, header, header_moment),
                    fail_on=fail_on,
                    show_progress=not quiet and sys.stderr.isatty(),
                )
            finally:
                if cache is not None:
                    cache.close()
            out.commit()
            published = True
    except _OutputError as exc:
        click.echo(f"msuinspect: error: {exc}", err=True)
        sys.exit(EXIT_FAILED)
    except _Terminated:
        click.echo(f"msuinspect: scan terminated (SIGTERM); {_unfinished(out)}", err=True)
        sys.exit(EXIT_TERMINATED)
    except KeyboardInterrupt:  # outside the scan proper (the walk): nothing to report yet
        click.echo(f"msuinspect: scan interrupted; {_unfinished(out)}", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
        raise
    except BrokenPipeError:
        raise  # the reader of stdout went away: click's own handling
    except Exception as exc:
        if _debug():
            traceback.print_exc()
        click.echo(
            f"msuinspect: internal error: {type(exc).__name__}: {exc} (this is a bug; please "
            f"report it); {_unfinished(out)}",
            err=True,
        )
        sys.exit(EXIT_INTERNAL)
    finally:
        if out is not None and not published:
            out.discard()
    if not quiet and job is not None:
        s = job.stats
        parts = [f"{s.files} file(s)", f"{s.analysed} analysed", f"{s.cached} from the cache"]
        if s.timed_out:
            parts.append(f"{s.timed_out} over the time budget")
        click.echo("msuinspect: scan: " + ", ".join(parts), err=True)
    if job is not None and job.stats.interrupted:
        click.echo("msuinspect: scan interrupted; the report holds the files done", err=True)
        sys.exit(EXIT_INTERRUPTED)
    sys.exit(status.code)


def _unfinished(out: _Output | None) -> str:
    """What became of a report that was not finished."""
    if out is None or out.atomic:
        return "no report written"
    return "the report is incomplete"


class _Terminated(SystemExit):
    """SIGTERM: the scan ends as an error would (workers stopped, no temporary file left)."""


@contextlib.contextmanager
def _sigterm_exits() -> Iterator[None]:
    """While scanning, SIGTERM raises :class:`_Terminated` (once; a second one is ignored
    while cleaning up) instead of ending the process on the spot."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(_sig: int, _frame: FrameType | None) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise _Terminated(EXIT_TERMINATED)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _open_cache(
    cache_path: str | None, no_cache: bool, say: Callable[[str], None]
) -> ResultCache | None:
    """The result cache, or None (``--no-cache``, or one that cannot be used: said, and the
    scan goes on without it). A path that is not a regular file ends the scan (status 1)."""
    if no_cache:
        return None
    try:
        return ResultCache(cache_path or default_cache_path(), on_note=say)
    except CacheError as exc:
        if exc.refused:  # not a regular file: never touched
            click.echo(f"msuinspect: error: {exc}", err=True)
            sys.exit(EXIT_FAILED)
        say(f"{exc}; scanning without a cache")
    except (OSError, ValueError) as exc:
        say(f"{exc}; scanning without a cache")
    return None


def _scan_into(
    out: _Output,
    *,
    paths: tuple[str, ...],
    all_files: bool,
    say: Callable[[str], None],
    to_record: ToRecord,
    cache: ResultCache | None,
    config: CacheConfig,
    options: ScanOptions,
    writer_of: Callable[[TextIO], _Writer],
    fail_on: str,
    show_progress: bool,
) -> tuple[Scan | None, _Status]:
    """Walk, scan and write every record to ``out`` (not committed yet). A second Ctrl-C
    stops at once and the report holds what is done (``job.stats.interrupted``)."""
    records_before: list[Record] = []

    def on_note(note: Note) -> None:
        if note.kind is NoteKind.UNLISTABLE:
            click.echo(f"msuinspect: error: {note.path}: {note.detail} [input-error]", err=True)
            exc = InputError(note.detail, path=note.path)
            records_before.append(error_record(note.path, exc, to_record))
        elif note.kind is NoteKind.SYMLINK_SKIPPED:
            say(f"{note.path}: skipped, not followed: {note.detail}")
        else:
            say(f"{note.path}: skipped: {note.detail}")

    candidates = list(discover(paths, all_files=all_files, on_note=on_note))
    status = _Status(FAIL_ON.get(fail_on))
    writer = writer_of(cast(TextIO, out))

    def take(record: Record, internal: bool = False) -> None:
        if internal:
            status.internal()
            message = (record.get("error") or {}).get("message")
            click.echo(
                f"msuinspect: internal error while reading {record.get('path')}: {message}",
                err=True,
            )
        else:
            status.add(Outcome(record.get("outcome", "error")))
        writer.add(record)

    for rec in records_before:
        take(rec)
    total_bytes = sum(max(c.size, 0) for c in candidates)
    job: Scan | None = None
    try:
        with _progress(show_progress, len(candidates), total_bytes) as sink:
            job = Scan(
                candidates,
                options,
                to_record,
                cache=cache,
                cache_config=config,
                on_start=sink.start if sink else None,
                on_result=sink.done if sink else None,
                handle_sigint=True,
            )
            for result in job.results():
                take(result.record, result.internal)
    except KeyboardInterrupt:  # a second Ctrl-C
        if job is None:
            raise
        job.stats.interrupted = True
    except DaskUnavailable as exc:
        raise click.UsageError(str(exc)) from None
    writer.close()
    return job, status


@click.group("cache")
def cache() -> None:
    """The scan result cache: where it is, how full, and emptying it."""


_CACHE_EXIT_HELP = (
    "\b\nExit status:\n  0   done\n  1   the cache cannot be read or written\n"
    "  2   usage error\n  70  internal error (a bug)"
)


_T = TypeVar("_T")

_cache_option = click.option(
    "--cache", "cache_path", type=click.Path(dir_okay=False), help="cache database"
)


def _on_cache(cache_path: str | None, use: Callable[[ResultCache], _T]) -> tuple[str, _T] | None:
    """``use`` on the cache at ``cache_path`` (default: the user's), with its path; none (and a
    line saying so) where there is no cache yet; a cache that cannot be read or written
    ends the command with status 1."""
    path = cache_path or default_cache_path()
    if not os.path.exists(path):
        click.echo(f"{path}: no cache yet")
        return None
    try:
        with ResultCache(path, on_note=_note(False)) as c:
            return path, use(c)
    except (CacheError, sqlite3.Error, OSError) as exc:
        click.echo(f"msuinspect: error: {exc}", err=True)
        sys.exit(EXIT_FAILED)


@cache.command("stats", epilog=_CACHE_EXIT_HELP)
@_cache_option
def cache_stats(cache_path: str | None) -> None:
    """Where the cache is and what it holds."""
    done = _on_cache(cache_path, ResultCache.stats)
    if done is None:
        return
    s = done[1]
    click.echo(f"{s.path}")
    click.echo(f"  results {s.results}, files {s.files}, {s.bytes_on_disk} bytes on disk")
    for version, n in sorted(s.versions.items()):
        click.echo(f"  msuinspect {version}: {n} result(s)")


@cache.command("clear", epilog=_CACHE_EXIT_HELP)
@_cache_option
def cache_clear(cache_path: str | None) -> None:
    """Remove every entry of the cache."""
    done = _on_cache(cache_path, ResultCache.clear)
    if done is not None:
        click.echo(f"{done[0]}: cleared")
