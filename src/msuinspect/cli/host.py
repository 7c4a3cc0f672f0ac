"""``msuinspect host``: import evidence, show a profile, print the collector script.

Registered by :mod:`msuinspect.cli` with ``main.add_command(host)``. Exit status: 0 ok,
1 evidence could not be used (no profile written), 2 usage error or bad ``--host`` spec.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from msuinspect import (
    PRESET_DESCRIPTIONS,
    PRESETS,
    EvidenceError,
    HostSpecError,
    InputError,
    MsuInspectError,
    collector_script,
    import_evidence,
    load_host,
    write_toml,
)
from msuinspect.cli.common import echo_json
from msuinspect.cli.status_cmd import read_evidence_file, status_cmd
from msuinspect.report import host_json, host_text
from msuinspect.report.terminal import printable


def _fail(exc: MsuInspectError) -> None:
    click.echo(f"msuinspect: error: {printable(str(exc))} [{exc.code}]", err=True)


_EXIT_HELP = (
    "\b\nExit status:\n  0   done\n  1   evidence that cannot be used (no profile is "
    "written), or a file that cannot be read or written\n  2   usage error\n"
    "  70  internal error (a bug)"
)
#: ``host show``: a spec or profile file that cannot be read is a usage error
_SHOW_EXIT_HELP = (
    "\b\nExit status:\n  0   done\n  2   usage error (a bad spec, or a profile file that "
    "cannot be read)\n  70  internal error (a bug)"
)
#: ``host presets`` and ``host collector`` read nothing: only these can happen
_PLAIN_EXIT_HELP = "\b\nExit status:\n  0   done\n  2   usage error\n  70  internal error (a bug)"


@click.group("host", context_settings={"help_option_names": ["-h", "--help"]})
def host() -> None:
    """Describe a Windows Server 2008 SP2 host: evidence import, profiles, the collector."""


@host.command("import", epilog=_EXIT_HELP)
@click.argument("files", nargs=-1, required=True)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), help="write the profile as TOML here"
)
@click.option("--name", default=None, help="a label for the host (default: its host name)")
@click.option("--json", "as_json", is_flag=True, help="print what was learned as JSON")
def import_cmd(files: tuple[str, ...], output: str | None, name: str | None, as_json: bool) -> None:
    """Read evidence FILEs (systeminfo, wmic qfe, Get-HotFix, reg query, certutil,
    slmgr, or a collector file) and print what they tell and what they do not."""
    inputs: list[tuple[str, bytes]] = []
    unread = False
    for f in files:  # each file that cannot be read is said; then nothing is imported
        try:
            inputs.append((f, read_evidence_file(f)))
        except InputError as exc:
            _fail(exc)
            unread = True
    if unread:
        click.echo("msuinspect: no profile written", err=True)
        sys.exit(1)
    try:
        result = import_evidence(inputs, name=name)
    except EvidenceError as exc:
        _fail(exc)
        click.echo("msuinspect: no profile written", err=True)
        sys.exit(1)
    if as_json:
        echo_json(host_json.import_dict(result))
    else:
        click.echo(host_text.render_import(result), nl=False)
    if output:
        try:
            Path(output).write_text(write_toml(result.profile), encoding="utf-8")
        except OSError as exc:
            click.echo(
                f"msuinspect: error: {printable(output)}: {exc.strerror} [output-error]",
                err=True,
            )
            sys.exit(1)
        if not as_json:
            click.echo(f"profile written to {output}")


@host.command("show", epilog=_SHOW_EXIT_HELP)
@click.argument("spec")
@click.option("--json", "as_json", is_flag=True, help="print the profile as JSON")
@click.option("--toml", "as_toml", is_flag=True, help="print the profile as TOML")
def show_cmd(spec: str, as_json: bool, as_toml: bool) -> None:
    """Print the profile a --host SPEC describes (key=value list, preset:NAME, FILE.toml)."""
    try:
        profile = load_host(spec)
    except HostSpecError as exc:
        _fail(exc)
        sys.exit(2)
    if as_json:
        echo_json({"schema": host_json.HOST_SCHEMA, **host_json.profile_dict(profile)})
    elif as_toml:
        click.echo(write_toml(profile), nl=False)
    else:
        click.echo(host_text.render_profile(profile), nl=False)


@host.command("presets", epilog=_PLAIN_EXIT_HELP)
def presets_cmd() -> None:
    """List the --host presets."""
    for name in PRESETS:
        base = name.rsplit("-", 1)[0]
        click.echo(f"{name:<22} {PRESET_DESCRIPTIONS[base]}")


@host.command("collector", epilog=_PLAIN_EXIT_HELP)
def collector_cmd() -> None:
    """Print the .cmd script that gathers host evidence on a 2008 SP2 host (ASCII, CRLF).

    Save it as collect.cmd, run it elevated on the host, carry the file it writes back
    and give that to 'msuinspect host import'.
    """
    click.echo(collector_script().encode("ascii"), nl=False)  # bytes: written unchanged


host.add_command(status_cmd)  # in its own module: it needs the verdict and package layers
