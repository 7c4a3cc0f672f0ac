"""``msuinspect inspect``: what a file is, who signed it, and one outcome per file."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from msuinspect import (
    READ_ERROR_CODES,
    ContentMemo,
    Finding,
    InputError,
    MsuInspectError,
    Outcome,
    Report,
    inspect,
    iter_inputs,
    outcome_of_error,
)
from msuinspect.cli.common import (
    EXIT_CODES_HELP,
    EXIT_FAILED,
    EXIT_INTERNAL,
    EXIT_OK,
    EXIT_SIGNATURE_PROBLEM,
    _debug,
    _error,
    _host_profile,
    _internal_error_dict,
    _parse_as_of,
    _trust_store,
    as_of_option,
    echo_json,
    fail_on_option,
    trust_root_option,
    warn,
)
from msuinspect.cli.limit_opts import all_limit_options, limits_from_options
from msuinspect.report import file_text, inspect_json, signatures_json
from msuinspect.report.terminal import printable

FAIL_ON = {"error": Outcome.ERROR, "problem": Outcome.PROBLEM, "warning": Outcome.WARNING}


def _read_errors(path: str, findings: list[Finding], shown: MsuInspectError | None = None) -> None:
    """One stderr line per distinct read error (a folder that cannot be decoded fails all
    its members: one line naming them); not again the file's own error, ``shown``, which
    is also kept as a finding."""
    groups: dict[tuple[str, int | None, str], list[str]] = {}
    for f in findings:
        if shown is not None and (f.code, f.offset) == (shown.code, shown.offset):
            continue
        if f.code in READ_ERROR_CODES:
            node = f.path or path
            node = node[len(path) + 2 :] if node.startswith(path + "!/") else node
            names = groups.setdefault((f.code, f.offset, f.message), [])
            if node not in names:
                names.append(node)
    for (code, offset, message), names in groups.items():
        where = f"offset {offset}: " if offset is not None else ""
        members = ""
        if names and names != [path]:
            listed = ", ".join(names[:5]) + (
                f" and {len(names) - 5} more" if len(names) > 5 else ""
            )
            members = f" ({len(names)} member(s): {listed})"
        line = f"{path}: {where}{message} [{code}]{members}"
        click.echo(f"msuinspect: error: {printable(line)}", err=True)


class _Status:
    """The exit status of a batch: the worst outcome at or over the threshold."""

    def __init__(self, threshold: Outcome | None) -> None:
        self.threshold = threshold
        self.code = EXIT_OK
        self.outcomes: list[Outcome] = []

    def add(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)
        if self.code == EXIT_INTERNAL or self.threshold is None:
            return
        if outcome.rank < self.threshold.rank:
            return
        if outcome is Outcome.ERROR:
            self.code = EXIT_FAILED
        elif self.code == EXIT_OK:
            self.code = EXIT_SIGNATURE_PROBLEM

    def internal(self) -> None:
        self.outcomes.append(Outcome.ERROR)
        self.code = EXIT_INTERNAL


@click.command("inspect", epilog=EXIT_CODES_HELP)
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@click.option(
    "--jsonl",
    "as_jsonl",
    is_flag=True,
    help="one JSON line per file as each is done (a header line first), for large batches",
)
@trust_root_option
@as_of_option
@click.option(
    "--signatures-only",
    is_flag=True,
    help="only the file's own signatures: no package analysis, no whole-file "
    "SHA-1/SHA-256 (just the digests the signatures need)",
)
@click.option(
    "--tree",
    is_flag=True,
    help="text: also the whole package tree and every finding (JSON always has them)",
)
@click.option(
    "--host",
    "host_spec",
    metavar="SPEC",
    help="also judge each file for this Windows 6.0 host: a key=value list, e.g. "
    "build=6002,arch=amd64,kb=KB4474419,esu=y2; "
    "preset:NAME (msuinspect host presets); or a .toml profile (docs/host.md)",
)
@fail_on_option
@all_limit_options
def inspect_cmd(
    files: tuple[str, ...],
    as_json: bool,
    as_jsonl: bool,
    trust_roots: tuple[str, ...],
    as_of: str | None,
    signatures_only: bool,
    tree: bool,
    host_spec: str | None,
    fail_on: str,
    **kw: Any,
) -> None:
    """What a file is and who signed it: for an MSU or update cabinet, the package summary,
    every signature verified on every layer, and catalog coverage; for a catalog or PE file,
    its signatures and content. With --host, whether that Windows Server 2008 SP2 host could
    validate and install it, and what to install first. Each file gets one outcome, shown
    first:

    \b
      ok       read completely, signed, trusted, nothing odd
      warning  trustworthy, with something odd worth a look
      problem  read, but not trustworthy as an update: unsigned, altered, untrusted,
               not a package at all, a name that contradicts the content, ...
      error    could not be read completely (truncated, undecodable, unreadable)

    A folder among FILES is walked for .msu, .cab, .cat, .exe, .dll, .sys, .ocx and .mui
    files; a file that cannot be read is reported and the batch goes on. A batch ends with
    one summary line. The limit options bound the work per file (docs/security.md)."""
    if as_json and as_jsonl:
        raise click.UsageError("--json and --jsonl exclude each other")
    limits = limits_from_options(kw)
    moment = _parse_as_of(as_of)
    trust = _trust_store(trust_roots)
    for warning in trust.warnings:
        warn(warning)
    host = _host_profile(host_spec)
    records: list[dict[str, Any]] = []
    status = _Status(FAIL_ON.get(fail_on))
    text = not (as_json or as_jsonl)
    if as_jsonl:
        head = signatures_json.header_dict(signatures_json.INSPECT_JSONL_SCHEMA, trust, moment)
        click.echo(json.dumps(head))

    def emit(record: dict[str, Any]) -> None:
        if as_jsonl:
            click.echo(json.dumps(record))
        elif as_json:
            records.append(record)

    def failed(path: str, exc: MsuInspectError) -> None:
        _error(path, exc)
        outcome = outcome_of_error(exc)
        status.add(outcome.outcome)
        emit(inspect_json.report_dict(Report(path, outcome, error=exc)))
        if text:
            out: list[str] = []
            file_text.render_outcome(path, outcome, out.append)
            click.echo("\n".join(out))

    def unlistable(folder: str, exc: OSError) -> None:
        failed(folder, InputError(f"cannot list folder: {exc.strerror}", path=folder))

    memo = ContentMemo()  # what depends only on bytes, shared by the files of this run

    def skipped(path: str, why: str) -> None:
        click.echo(f"msuinspect: note: {printable(path)}: skipped: {printable(why)}", err=True)

    for path in iter_inputs(files, on_error=unlistable, on_skip=skipped):
        try:
            report = inspect(
                path,
                trust=trust,
                as_of=moment,
                limits=limits,
                signatures_only=signatures_only,
                host=host,
                memo=memo,
            )
        except Exception as exc:
            if _debug():
                raise
            _error(path, exc)
            status.internal()
            emit({"path": path, "outcome": "error", "error": _internal_error_dict(exc)})
            continue
        if report.file is None:
            assert report.error is not None
            failed(path, report.error)
            continue
        rep, pkg, outcome = report.file, report.package, report.outcome
        if not text:  # the JSON object of a big package is large: build it only when asked
            emit(inspect_json.report_dict(report, host))
        status.add(outcome.outcome)
        if outcome.outcome is Outcome.ERROR:
            if rep.error is not None:
                _error(rep.path, rep.error)
            _read_errors(
                rep.path, pkg.all_findings() if pkg is not None else rep.all_findings, rep.error
            )
        if text:
            lines: list[str] = []
            file_text.render_inspection(
                rep, pkg, outcome, lines.append, tree=tree, verdict=report.verdict
            )
            click.echo("\n".join(lines))  # each file as soon as it is done
    if as_json:
        doc = signatures_json.header_dict(signatures_json.INSPECT_SCHEMA, trust, moment)
        doc["files"] = records
        echo_json(doc)
    elif text and len(status.outcomes) != 1:
        file_text.render_batch_summary(status.outcomes, click.echo)
    sys.exit(status.code)
