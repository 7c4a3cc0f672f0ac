"""``msuinspect plan FOLDER --host SPEC``: the packages of a folder, in install order for
one Windows Server 2008 SP2 host; what cannot be installed and why; what is missing.

Registered by ``msuinspect.cli`` with ``main.add_command(plan)``.
Exit status: 0 the plan was made; 1 a file could not be read; 2 usage error.
"""

from __future__ import annotations

import sys

import click

from msuinspect import (
    MsuInspectError,
    Outcome,
    PackageFacts,
    TrustStore,
    inspect,
    iter_inputs,
    load_certificates,
    load_host,
    load_knowledge_base,
    make_plan,
    package_facts,
)
from msuinspect.cli.common import EXIT_INTERNAL, _debug, _error, echo_json, warn
from msuinspect.report import verdict_json, verdict_text
from msuinspect.report.terminal import printable


@click.command(
    "plan",
    epilog="\b\nExit status:\n  0   the plan was made from every file\n"
    "  1   a file or folder could not be read (the plan covers the rest)\n"
    "  2   usage error (a bad --host or --trust-root)\n  70  internal error (a bug)",
)
@click.argument("folder", type=click.Path(exists=True))
@click.option("--host", "host_spec", required=True, metavar="SPEC",
              help="the host: key=value list, preset:NAME, or a .toml profile")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@click.option("--trust-root", "trust_roots", multiple=True, type=click.Path(dir_okay=False),
              help="an extra trusted root (PEM/DER); counts as present on the host")  # fmt: skip
def plan(folder: str, host_spec: str, as_json: bool, trust_roots: tuple[str, ...]) -> None:
    """Order the update packages in FOLDER for the host given by --host."""
    try:
        host = load_host(host_spec)
        extra = [c for p in trust_roots for c in load_certificates(p)]
        kb = load_knowledge_base()
    except MsuInspectError as exc:
        raise click.UsageError(printable(str(exc))) from exc
    trust = TrustStore.default(extra)
    for warning in trust.warnings:
        warn(warning)
    items: list[tuple[str, PackageFacts]] = []
    unreadable: list[tuple[str, str]] = []

    def on_unlistable(path: str, exc: OSError) -> None:
        unreadable.append((path, exc.strerror or str(exc)))

    internal = False

    def skipped(path: str, why: str) -> None:
        click.echo(f"msuinspect: note: {printable(path)}: skipped: {printable(why)}", err=True)

    for path in iter_inputs([folder], on_error=on_unlistable, on_skip=skipped):
        try:
            report = inspect(path, trust=trust)
        except Exception as exc:  # a bug: report it for this file and go on
            if _debug():
                raise
            _error(path, exc)
            internal = True
            continue
        if report.package is None:
            unreadable.append((path, report.error.message if report.error else "unreadable"))
            continue
        if report.outcome.outcome is Outcome.ERROR:  # truncated, undecodable: not a package
            reasons = report.outcome.reasons
            unreadable.append((path, reasons[0] if reasons else "could not be read completely"))
            continue
        items.append((path, package_facts(report.package)))
    result = make_plan(items, host, kb, unreadable=unreadable)
    if as_json:
        echo_json(verdict_json.plan_dict(result, host))
    else:
        for line in verdict_text.render_plan(result):
            click.echo(line)
    if internal:
        sys.exit(EXIT_INTERNAL)
    if unreadable:
        sys.exit(1)
