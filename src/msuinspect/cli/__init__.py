"""The ``msuinspect`` command line.

Exit status: 0 when every file was read completely; 1 when a file (or a member) could not
be read or extracted; 2 for usage errors; 3 (``inspect``) when every file was read but a
signature problem was found (an error-severity finding: digest mismatch, untrusted or
invalid signature...); 70 for an internal error (a bug: please report).
Errors are one line each on stderr: ``msuinspect: error: PATH: offset N: message [code]``.
Set ``MSUINSPECT_DEBUG=1`` to get Python tracebacks for internal errors.
"""

from __future__ import annotations

import datetime as _dt
import fnmatch
import json
import os
import re
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from msuinspect import __version__
from msuinspect.authenticode.inspect import inspect_file
from msuinspect.authenticode.trust import TrustStore, load_certificates
from msuinspect.cab.codecs.base import Codec, codecs_by_key, default_codecs
from msuinspect.cab.container import open_cabinet_file
from msuinspect.cab.extract import ExtractReport, OutputFolder, extract
from msuinspect.cab.tree import ContainerNode, scan
from msuinspect.errors import InputError, MsuInspectError
from msuinspect.findings import Severity
from msuinspect.limits import Limits
from msuinspect.package.analyse import analyse_file
from msuinspect.report import (
    cabinet_json,
    cabinet_text,
    package_json,
    package_text,
    signatures_json,
    signatures_text,
)
from msuinspect.scan.walk import iter_inputs

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_SIGNATURE_PROBLEM = 3
EXIT_INTERNAL = 70

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def parse_size(text: str) -> int:
    """``64G``, ``500M``, ``1024`` -> bytes."""
    m = _SIZE.match(text)
    if not m:
        raise click.BadParameter(f"not a size: {text!r} (use e.g. 500M, 64G)")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def limit_options(func: F) -> F:
    """Options shared by every command that reads files."""
    d = Limits()
    opts = [
        click.option(
            "--max-output",
            default=None,
            metavar="SIZE",
            help=f"cap on decompressed bytes per file (default {d.max_total_output >> 30}G)",
        ),
        click.option(
            "--max-ratio",
            type=float,
            default=None,
            metavar="N",
            help=f"cap on a folder's expansion ratio (default {d.max_ratio:g})",
        ),
        click.option(
            "--max-depth",
            type=int,
            default=None,
            metavar="N",
            help=f"cap on cabinet nesting (default {d.max_depth})",
        ),
        click.option(
            "--max-members",
            type=int,
            default=None,
            metavar="N",
            help=f"cap on members per cabinet (default {d.max_members})",
        ),
        click.option(
            "--decoder",
            "decoders",
            multiple=True,
            metavar="NAME",
            help="use only these decoder backends, in this order "
            "(zlib, libarchive, libmspack); repeatable",
        ),
    ]
    for opt in reversed(opts):
        func = opt(func)
    return func


def _limits(kw: dict[str, Any]) -> Limits:
    given: dict[str, Any] = {
        field: kw[option]
        for option, field in (
            ("max_ratio", "max_ratio"),
            ("max_depth", "max_depth"),
            ("max_members", "max_members"),
        )
        if kw.get(option) is not None
    }
    if kw.get("max_output") is not None:
        given["max_total_output"] = parse_size(kw["max_output"])
    if given.get("max_depth", 0) < 0:
        raise click.BadParameter("must be 0 or more", param_hint="--max-depth")
    try:
        return Limits(**given)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _codecs(kw: dict[str, Any]) -> list[Codec]:
    if not kw.get("decoders"):
        return default_codecs()
    try:
        return codecs_by_key(list(kw["decoders"]))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--decoder") from None


def _error(path: str, exc: BaseException) -> None:
    if isinstance(exc, MsuInspectError):
        text = str(exc) if exc.path else f"{path}: {exc}"
        click.echo(f"msuinspect: error: {text} [{exc.code}]", err=True)
    else:
        click.echo(
            f"msuinspect: internal error while reading {path}: {type(exc).__name__}: {exc} "
            "(this is a bug; please report it)",
            err=True,
        )


def _internal_error_dict(exc: BaseException) -> dict[str, Any]:
    return {
        "code": "internal-error",
        "message": f"{type(exc).__name__}: {exc} (this is a bug; please report it)",
        "offset": None,
        "path": None,
    }


def _matcher(patterns: tuple[str, ...]) -> Callable[[str], bool]:
    """Case-insensitive shell-wildcard match on member paths, '/' and '\\' alike."""
    pats = [p.replace("\\", "/").casefold() for p in patterns]

    def match(path: str) -> bool:
        text = path.replace("\\", "/").casefold()
        return any(fnmatch.fnmatchcase(text, p) for p in pats)

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
            click.echo(f"msuinspect: error: {text} [{exc.code}] ({len(paths)} members)", err=True)


def _debug() -> bool:
    return os.environ.get("MSUINSPECT_DEBUG", "") not in ("", "0")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="msuinspect")
def main() -> None:
    """Inspect Windows update packages (MSU, CAB) offline."""


@main.command("list")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
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
        if failed:
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
    if as_json:
        click.echo(json.dumps({"schema": cabinet_json.LIST_SCHEMA, "files": out}, indent=2))
    sys.exit(status)


@main.command("extract")
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
@limit_options
def extract_cmd(
    file: str, output: str, recursive: bool, members: tuple[str, ...], as_json: bool, **kw: Any
) -> None:
    """Extract the members of a cabinet or MSU file into a folder, safely."""
    limits = _limits(kw)
    codecs = _codecs(kw)
    select = _matcher(members) if members else None
    try:
        cf = open_cabinet_file(file, limits=limits, codecs=codecs)
        out = OutputFolder(output)
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
        click.echo(json.dumps(cabinet_json.extract_dict(rep), indent=2))
    else:
        cabinet_text.render_extract(rep, click.echo)
    _member_errors([(e.node_path, e.error) for e in rep.failed if e.error is not None])
    sys.exit(EXIT_FAILED if rep.failed else EXIT_OK)


def _parse_as_of(text: str | None) -> _dt.datetime:
    if not text:
        return _dt.datetime.now(_dt.UTC)
    try:
        value = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"not a date: {text!r} (use e.g. 2019-07-16 or 2019-07-16T12:00:00Z)",
            param_hint="--as-of",
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=_dt.UTC)
    return value


@main.command("inspect")
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@click.option(
    "--jsonl",
    "as_jsonl",
    is_flag=True,
    help="one JSON line per file as each is done (a header line first), for large batches",
)
@click.option(
    "--trust-root",
    "trust_roots",
    multiple=True,
    type=click.Path(dir_okay=False, exists=True),
    metavar="FILE",
    help="also trust the root certificate(s) in FILE (PEM or DER); repeatable",
)
@click.option(
    "--as-of",
    "as_of",
    metavar="DATE",
    help="validate chains of signatures without a valid timestamp at DATE (default: now)",
)
@click.option(
    "--signatures-only",
    is_flag=True,
    help="only the file's own signatures: no package analysis, no whole-file "
    "SHA-1/SHA-256 (just the digests the signatures need)",
)
def inspect_cmd(
    files: tuple[str, ...],
    as_json: bool,
    as_jsonl: bool,
    trust_roots: tuple[str, ...],
    as_of: str | None,
    signatures_only: bool,
) -> None:
    """What a file is and who signed it: for an MSU or update cabinet, the whole package tree
    (nested cabinets, manifests, catalogs, PE files) with every signature verified, catalog
    coverage and a package summary; for a catalog or PE file, its signatures and content.

    A folder among FILES is walked recursively for .msu, .cab, .cat, .exe, .dll, .sys, .ocx
    and .mui files; a file that cannot be read is reported and the scan goes on."""
    if as_json and as_jsonl:
        raise click.UsageError("--json and --jsonl exclude each other")
    moment = _parse_as_of(as_of)
    try:
        extra = [c for path in trust_roots for c in load_certificates(path)]
    except MsuInspectError as exc:
        raise click.BadParameter(str(exc), param_hint="--trust-root") from None
    trust = TrustStore.default(extra)
    records: list[dict[str, Any]] = []
    status = EXIT_OK
    if as_jsonl:
        head = signatures_json.header_dict(signatures_json.INSPECT_JSONL_SCHEMA, trust, moment)
        click.echo(json.dumps(head))

    def emit(record: dict[str, Any]) -> None:
        if as_jsonl:
            click.echo(json.dumps(record))
        else:
            records.append(record)

    def unlistable(folder: str, exc: OSError) -> None:
        nonlocal status
        err = InputError(f"cannot list folder: {exc.strerror}", path=folder)
        _error(folder, err)
        emit({"path": folder, "error": cabinet_json.error_dict(err)})
        status = EXIT_FAILED if status != EXIT_INTERNAL else status

    for path in iter_inputs(files, on_error=unlistable):
        lines: list[str] = []
        try:
            if signatures_only:
                rep = inspect_file(path, trust, as_of=moment, file_hashes=False)
                pkg = None
            else:
                pkg = analyse_file(path, trust, as_of=moment)
                rep = pkg.file
        except Exception as exc:
            if isinstance(exc, MsuInspectError):
                _error(path, exc)
                status = EXIT_FAILED if status != EXIT_INTERNAL else status
                emit({"path": path, "error": cabinet_json.error_dict(exc)})
                continue
            if _debug():
                raise
            _error(path, exc)
            status = EXIT_INTERNAL
            emit({"path": path, "error": _internal_error_dict(exc)})
            continue
        record = signatures_json.file_dict(rep)
        problems = rep.has_errors
        if pkg is not None:
            record["package"] = package_json.package_dict(pkg)
            problems = any(f.severity is Severity.ERROR for f in pkg.all_findings())
        emit(record)
        if rep.error is not None:
            _error(rep.path, rep.error)
            status = EXIT_FAILED if status != EXIT_INTERNAL else status
        elif problems and status == EXIT_OK:
            status = EXIT_SIGNATURE_PROBLEM
        if not (as_json or as_jsonl):
            signatures_text.render_file(rep, lines.append, findings=pkg is None)
            if pkg is not None:
                package_text.render_package(pkg, lines.append)
            click.echo("\n".join(lines))  # each file as soon as it is done
    if as_json:
        doc = signatures_json.header_dict(signatures_json.INSPECT_SCHEMA, trust, moment)
        doc["files"] = records
        click.echo(json.dumps(doc, indent=2))
    sys.exit(status)


@main.command("decoders")
def decoders_cmd() -> None:
    """Show the decoder backends available on this machine."""
    for c in default_codecs():
        kinds = ", ".join(k.name for k in sorted(c.kinds))
        click.echo(f"{c.key:<11} {c.description}  [{kinds}]")


if __name__ == "__main__":  # pragma: no cover
    main()
