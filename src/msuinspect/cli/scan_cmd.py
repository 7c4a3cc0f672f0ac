"""``msuinspect scan``: many files, in parallel, cached, in the report format a tool wants;
and ``msuinspect cache stats|clear`` (docs/batch.md)."""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import hashlib
import os
import sys
from collections.abc import Callable, Iterator
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
    load_knowledge_base,
    trust_roots_key,
    write_toml,
)
from msuinspect.cli.common import (
    EXIT_CODES_HELP,
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
FORMATS = ("table", "json", "jsonl", "csv", "sarif", "html")

_SCAN_EXIT_HELP = EXIT_CODES_HELP.replace("(inspect)", "(inspect, scan)") + (
    "\n  130 interrupted (Ctrl-C); what was done is written"
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


class _Output:
    """Where the report goes: stdout, or a file. A file is written under a temporary name
    and renamed when complete, except ``jsonl``, which streams into the file itself. Text
    that UTF-8 cannot carry (undecodable file names) is written backslash-escaped."""

    def __init__(self, path: str | None, streaming: bool) -> None:
        self.path = path
        self._target = path if streaming or path is None else f"{path}.part"
        self._file: BinaryIO | None = None
        if self._target is not None:
            self._file = open(self._target, "wb")  # noqa: SIM115 - closed in close()

    def write(self, text: str) -> int:
        data = text.encode("utf-8", "backslashreplace")
        if self._file is not None:
            self._file.write(data)
        else:
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
        return len(text)

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()
        else:
            sys.stdout.buffer.flush()

    def close(self) -> None:
        if self._file is not None and not self._file.closed:
            self._file.close()
            if self.path is not None and self._target is not None and self._target != self.path:
                os.replace(self._target, self.path)


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
    ".toml profile (docs/host.md); adds a verdict column",
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

    cache: ResultCache | None = None
    if not no_cache:
        try:
            cache = ResultCache(cache_path or default_cache_path(), on_note=say)
        except (CacheError, OSError) as exc:
            say(f"{exc}; scanning without a cache")

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
    show_progress = not quiet and sys.stderr.isatty()
    status = _Status(FAIL_ON.get(fail_on))
    schema = (
        signatures_json.INSPECT_JSONL_SCHEMA if fmt == "jsonl" else signatures_json.INSPECT_SCHEMA
    )
    header = signatures_json.header_dict(schema, trust, header_moment)
    out = _Output(output, streaming=fmt == "jsonl")
    writer = _writer(fmt, cast(TextIO, out), header, header_moment)

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
    interrupted = False
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
            interrupted = job.stats.interrupted
    except KeyboardInterrupt:  # a second Ctrl-C
        interrupted = True
    except DaskUnavailable as exc:
        raise click.UsageError(str(exc)) from None
    finally:
        if cache is not None:
            cache.close()
        writer.close()
        out.close()
    if not quiet and job is not None:
        s = job.stats
        parts = [f"{s.files} file(s)", f"{s.analysed} analysed", f"{s.cached} from the cache"]
        if s.timed_out:
            parts.append(f"{s.timed_out} over the time budget")
        click.echo("msuinspect: scan: " + ", ".join(parts), err=True)
    if interrupted:
        click.echo("msuinspect: scan interrupted; the report holds the files done", err=True)
        sys.exit(EXIT_INTERRUPTED)
    sys.exit(status.code)


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
    except CacheError as exc:
        click.echo(f"msuinspect: error: {exc}", err=True)
        sys.exit(1)


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
