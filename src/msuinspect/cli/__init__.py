"""The ``msuinspect`` command line.

Exit status: 0 when every file was read completely; 1 when a file (or a member) could not
be read or extracted; 2 for usage errors; 3 (``inspect``) when every file was read but a
signature problem was found (an error-severity finding: digest mismatch, untrusted or
invalid signature...); 70 for an internal error (a bug: please report).
Errors are one line each on stderr: ``msuinspect: error: PATH: offset N: message [code]``.
Set ``MSUINSPECT_DEBUG=1`` to get Python tracebacks for internal errors.
"""

from __future__ import annotations

import errno
import fnmatch
import gc
import importlib
import os
import sys
import threading
from collections.abc import Callable
from typing import Any

import click

from msuinspect import (
    Codec,
    ContainerNode,
    ExtractReport,
    Limits,
    MsuInspectError,
    OutputFolder,
    __version__,
    codecs_by_key,
    default_codecs,
    extract,
    open_cabinet_file,
)
from msuinspect import scan_tree as scan
from msuinspect.cli.common import (
    EXIT_FAILED,
    EXIT_INTERNAL,
    EXIT_OK,
    _debug,
    _error,
    _internal_error_dict,
    echo_json,
)
from msuinspect.cli.limit_opts import limit_options, limits_from_options
from msuinspect.cli.limit_opts import parse_size as parse_size
from msuinspect.report import (
    cabinet_json,
    cabinet_text,
)
from msuinspect.report.terminal import printable


def _limits(kw: dict[str, Any]) -> Limits:
    """The limits asked for by the options of :func:`limit_options` (cli/limit_opts.py)."""
    return limits_from_options(kw)


def _codecs(kw: dict[str, Any]) -> list[Codec]:
    if not kw.get("decoders"):
        return default_codecs()
    try:
        return codecs_by_key(list(kw["decoders"]))
    except ValueError as exc:
        raise click.BadParameter(printable(str(exc)), param_hint="--decoder") from None


def _matcher(patterns: tuple[str, ...], hit: set[str] | None = None) -> Callable[[str], bool]:
    """Case-insensitive shell-wildcard match on member paths, '/' and '\\' alike; the
    patterns that matched something are added to ``hit``."""
    pats = [(p, p.replace("\\", "/").casefold()) for p in patterns]

    def match(path: str) -> bool:
        text = path.replace("\\", "/").casefold()
        found = False
        for orig, p in pats:
            if fnmatch.fnmatchcase(text, p):
                found = True
                if hit is None:
                    break
                hit.add(orig)
        return found

    return match


def _member_errors(failures: list[tuple[str, MsuInspectError]]) -> None:
    """One line per distinct error: members failed by the same folder error share a line."""
    groups: dict[int, list[str]] = {}
    errors: dict[int, MsuInspectError] = {}
    for path, exc in failures:
        groups.setdefault(id(exc), []).append(path)
        errors[id(exc)] = exc
    for key, paths in groups.items():
        exc = errors[key]
        if len(paths) == 1:
            _error(paths[0], exc)
        else:
            where = exc.path or paths[0]
            text = str(exc) if exc.path else f"{where}: {exc}"
            click.echo(
                f"msuinspect: error: {printable(text)} [{exc.code}] ({len(paths)} members)",
                err=True,
            )


#: commands whose module is imported only when the command runs (or --help lists them), so
#: that `list` and `extract` do not pay for the signature, package, host and scan layers
_LAZY = {
    "inspect": "msuinspect.cli.inspect_cmd:inspect_cmd",
    "plan": "msuinspect.cli.plan:plan",
    "scan": "msuinspect.cli.scan_cmd:scan",
    "cache": "msuinspect.cli.scan_cmd:cache",
    "host": "msuinspect.cli.host:host",
}


class _LazyGroup(click.Group):
    """A group whose commands in :data:`_LAZY` are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_LAZY})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _LAZY and cmd_name not in self.commands:
            module, attr = _LAZY[cmd_name].split(":")
            command = getattr(importlib.import_module(module), attr)
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)


_M_ARENA_MAX = -8  # glibc mallopt parameter


def _one_malloc_arena() -> None:
    """Ask glibc for one malloc arena. By default every thread that allocates gets its own,
    and the decoder threads of a walk (cab/prefetch.py) then keep freed memory spread over
    several: full inspect of the benchmark LZX cabinet peaked at 191 MB RSS with the
    default and 155 MB with one arena, in the same time. The command owns its process, so
    :func:`run` asks before any thread starts; the library leaves the allocator alone. Not glibc
    (no ``mallopt``), not Linux: nothing to do."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_ARENA_MAX, 1)


def _fewer_collections() -> None:
    """Run the cyclic garbage collector less often. A package walk allocates millions of
    short-lived objects that reference counting frees (members, DER nodes, findings); with
    the default threshold of 700 allocations the collector ran thousands of times per batch
    for next to nothing. The command owns its process (see :func:`run`); the library leaves
    it alone."""
    _gen0, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(_GC_GEN0, gen1, gen2)


#: allocations between two young-generation collections (CPython's default is 700)
_GC_GEN0 = 20_000


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="msuinspect")
def main() -> None:
    """Inspect Windows update packages (MSU, CAB) offline."""


def run() -> None:
    """The ``msuinspect`` command (and ``python -m msuinspect``): the process-wide settings
    of a process that is only this command (one malloc arena, fewer collections), then
    :func:`main`, then an exit that skips the interpreter's teardown when nothing needs it.
    A Python caller of :func:`main` (or click's test runner) gets none of them.

    Tearing down a process that inspected a batch (freeing every module, cache and report
    one by one) took 50-100 ms of a one-second run; the operating system frees all of it at
    once. Output is flushed first. A command that started helper processes or threads
    (``scan``) exits the normal way, so that they are stopped and cleaned up as usual."""
    _one_malloc_arena()
    _fewer_collections()
    code = _main_exit_status()
    if isinstance(code, str) or "multiprocessing" in sys.modules or _other_threads():
        sys.exit(code)
    status = code if isinstance(code, int) else 0
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):  # the reader went away; Python would say 120
        sys.exit(code)
    os._exit(status)


#: the exit status of a command stopped by Ctrl-C (128 + SIGINT), as ``scan`` documents
EXIT_INTERRUPTED = 130


def _main_exit_status() -> int | str | None:
    """Run :func:`main` as click's standalone mode does (usage errors shown, exit 2; a
    broken pipe quietly, exit 1), except that Ctrl-C is exit 130 with one line, not
    click's "Aborted!" and exit 1, which the documentation reserves for unreadable files.
    ``scan`` handles Ctrl-C itself (it writes what was done) and exits 130 too."""
    try:
        main.main(prog_name="msuinspect", standalone_mode=False)
    except SystemExit as exc:
        return exc.code
    except click.exceptions.Abort:  # KeyboardInterrupt (or EOF on a prompt) inside click
        click.echo("\nmsuinspect: interrupted", err=True)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        click.echo("\nmsuinspect: interrupted", err=True)
        return EXIT_INTERRUPTED
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except OSError as exc:
        if exc.errno != errno.EPIPE:
            raise
        # the reader went away: nothing more can be written, and flushing must not fail
        sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115
        return 1
    return 0


def _other_threads() -> bool:
    main_thread = threading.main_thread()
    return any(t is not main_thread and not t.daemon for t in threading.enumerate())


_LIST_EXIT_HELP = (
    "\b\nExit status:\n"
    "  0   every file and member read (with -r, every nested cabinet expanded)\n"
    "  1   a file or member could not be read, a limit refused a file, or (with -r) a\n"
    "      nested cabinet was not expanded (deeper than --max-depth, or unreadable)\n"
    "  2   usage error\n"
    "  70  internal error (a bug; please report it)\n"
    "  130 interrupted (Ctrl-C)"
)
_EXTRACT_EXIT_HELP = (
    "\b\nExit status:\n"
    "  0   every selected member written (or skipped with --skip-existing)\n"
    "  1   a member could not be read or written, a limit refused the file, a nested\n"
    "      cabinet was not expanded (deeper than --max-depth, or unreadable; it is\n"
    "      written as a file), or no member matched -m\n"
    "  2   usage error, including a non-empty output folder without --overwrite or\n"
    "      --skip-existing\n"
    "  70  internal error (a bug; please report it)\n"
    "  130 interrupted (Ctrl-C)"
)


def _not_expanded(items: list[tuple[str, str]]) -> None:
    """One stderr line per nested cabinet that was not expanded."""
    for path, why in items:
        click.echo(
            f"msuinspect: error: {printable(path)}: {printable(why)} [not-expanded]", err=True
        )


@main.command("list", epilog=_LIST_EXIT_HELP)
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("-r", "--recursive", is_flag=True, help="also list cabinets inside members")
@click.option("--hash", "hashes", is_flag=True, help="decode every member and show its SHA-256")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@click.option("--no-search", is_flag=True, help="do not look for cabinets at other offsets")
@click.option("--no-sets", is_flag=True, help="do not join multi-volume sets")
@limit_options
def list_cmd(
    files: tuple[str, ...],
    recursive: bool,
    hashes: bool,
    as_json: bool,
    no_search: bool,
    no_sets: bool,
    **kw: Any,
) -> None:
    """List the members of cabinets and MSU files, with their layout facts."""
    limits = _limits(kw)
    codecs = _codecs(kw)
    status = EXIT_OK
    out: list[dict[str, Any]] = []
    for path in files:
        record: dict[str, Any] = {"path": path, "error": None, "units": [], "findings": []}
        try:
            cf = open_cabinet_file(
                path, limits=limits, codecs=codecs, follow_sets=not no_sets, search=not no_search
            )
            trees: list[ContainerNode] = [
                scan(u, decode=hashes or recursive, hashes=hashes, recursive=recursive)
                for u in cf.units
            ]
        except Exception as exc:
            if _debug() and not isinstance(exc, MsuInspectError):
                raise
            _error(path, exc)
            if isinstance(exc, MsuInspectError):
                status = max(status, EXIT_FAILED)
                record["error"] = cabinet_json.error_dict(exc)
            else:
                status = EXIT_INTERNAL
                record["error"] = _internal_error_dict(exc)
            out.append(record)
            continue
        failed = [mn for t in trees for mn in t.iter_members() if mn.error is not None]
        unexpanded = [
            (mn.path, mn.not_expanded)
            for t in trees
            for mn in t.iter_members()
            if mn.not_expanded is not None
        ]
        if failed or unexpanded:
            status = max(status, EXIT_FAILED)
        if as_json:
            record["units"] = [cabinet_json.container_dict(t) for t in trees]
            record["findings"] = cabinet_json.findings_list(cf.findings)
            out.append(record)
        else:
            lines: list[str] = []
            for t in trees:
                cabinet_text.render_tree(t, codecs, lines.append)
            cabinet_text.render_findings(cf.findings, lines.append)
            click.echo("\n".join(lines))
        _member_errors([(mn.path, mn.error) for mn in failed if mn.error is not None])
        _not_expanded(unexpanded)
    if as_json:
        echo_json({"schema": cabinet_json.LIST_SCHEMA, "files": out})
    sys.exit(status)


@main.command("extract", epilog=_EXTRACT_EXIT_HELP)
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(file_okay=False),
    help="folder to write into (created if missing); nothing is written elsewhere",
)
@click.option(
    "-r",
    "--recursive",
    is_flag=True,
    help="expand cabinets inside members into folders of the same name",
)
@click.option(
    "-m",
    "--member",
    "members",
    multiple=True,
    metavar="PATTERN",
    help="extract only members whose name matches (shell wildcards, case-insensitive; "
    "with -r, nested members match as 'inner.cab!/name'); repeatable",
)
@click.option("--json", "as_json", is_flag=True, help="machine-readable report")
@click.option(
    "--overwrite",
    is_flag=True,
    help="replace files already in the output folder (a link is replaced, never followed)",
)
@click.option(
    "--skip-existing",
    is_flag=True,
    help="leave files already in the output folder alone and do not write those members",
)
@limit_options
def extract_cmd(
    file: str,
    output: str,
    recursive: bool,
    members: tuple[str, ...],
    as_json: bool,
    overwrite: bool,
    skip_existing: bool,
    **kw: Any,
) -> None:
    """Extract the members of a cabinet or MSU file into a folder, safely.

    Into a folder that is not empty, say what to do with the files already there:
    --overwrite or --skip-existing. Members of one cabinet whose names collide get a ~N
    suffix either way."""
    limits = _limits(kw)
    codecs = _codecs(kw)
    if overwrite and skip_existing:
        raise click.UsageError("--overwrite and --skip-existing exclude each other")
    if not (overwrite or skip_existing) and not OutputFolder.is_empty(output):
        raise click.UsageError(
            f"the output folder {output} is not empty; add --overwrite to replace files "
            "already there, or --skip-existing to keep them"
        )
    hit: set[str] = set()
    select = _matcher(members, hit) if members else None
    try:
        cf = open_cabinet_file(file, limits=limits, codecs=codecs)
        out = OutputFolder(
            output, existing="overwrite" if overwrite else "skip" if skip_existing else "rename"
        )
        rep = ExtractReport(out.root)
        rep.findings.extend(cf.findings)
        for unit in cf.units:
            extract(unit, out, recursive=recursive, report=rep, select=select)
        rep.findings.extend(out.findings)
    except Exception as exc:
        if _debug() and not isinstance(exc, MsuInspectError):
            raise
        _error(file, exc)
        sys.exit(EXIT_FAILED if isinstance(exc, MsuInspectError) else EXIT_INTERNAL)
    if as_json:
        echo_json(cabinet_json.extract_dict(rep))
    else:
        cabinet_text.render_extract(rep, click.echo)
    _member_errors([(e.node_path, e.error) for e in rep.failed if e.error is not None])
    _not_expanded([(e.node_path, e.not_expanded) for e in rep.not_expanded if e.not_expanded])
    unmatched = [p for p in members if p not in hit]
    for pattern in unmatched:
        hint = ""
        if not recursive and any(
            m.name.casefold().endswith((".cab", ".msu")) for u in cf.units for m in u.members
        ):
            hint = "; members of cabinets inside this file are only searched with -r"
        click.echo(
            f"msuinspect: error: {printable(file)}: -m {pattern!r} matched no member{hint}",
            err=True,
        )
    nothing = bool(members) and rep.selected == 0
    bad = rep.failed or rep.not_expanded or nothing
    sys.exit(EXIT_FAILED if bad else EXIT_OK)


@main.command("decoders", epilog="\b\nExit status:\n  0   done\n  70  internal error (a bug)")
def decoders_cmd() -> None:
    """Show the decoder backends available on this machine."""
    for c in default_codecs():
        kinds = ", ".join(k.name for k in sorted(c.kinds))
        click.echo(f"{c.key:<11} {c.description}  [{kinds}]")


if __name__ == "__main__":  # pragma: no cover
    main()
