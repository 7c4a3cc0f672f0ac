"""What every command of the CLI shares: exit statuses, error lines, dates, the trust and
host options."""

from __future__ import annotations

import datetime as _dt
import json
import os
from typing import TYPE_CHECKING, Any

import click

from msuinspect import MsuInspectError
from msuinspect.report.terminal import printable

if TYPE_CHECKING:  # the commands that need them load these layers (cli._LazyGroup)
    from msuinspect import HostProfile, TrustStore

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_SIGNATURE_PROBLEM = 3
EXIT_INTERNAL = 70

EXIT_CODES_HELP = (
    "\b\nExit status:\n"
    "  0   every file read (and, for inspect, no file reached --fail-on)\n"
    "  1   a file or member could not be read (an 'error' outcome)\n"
    "  2   usage error\n"
    "  3   (inspect) every file read, but a file reached --fail-on (default: a 'problem')\n"
    "  70  internal error (a bug; please report it)\n"
    "  130 interrupted (Ctrl-C)"
)


#: characters of JSON gathered before one write to standard output
_JSON_WRITE = 1 << 20


def echo_json(doc: Any) -> None:
    """Print ``doc`` as indented JSON, exactly as ``click.echo(json.dumps(doc, indent=2))``
    would, but written as it is encoded: the whole text of a big package's report (tens of
    MB, millions of small pieces before they are joined) is never held in memory at once."""
    pending: list[str] = []
    size = 0
    for chunk in json.JSONEncoder(indent=2).iterencode(doc):
        pending.append(chunk)
        size += len(chunk)
        if size >= _JSON_WRITE:
            click.echo("".join(pending), nl=False)
            pending.clear()
            size = 0
    click.echo("".join(pending))


def warn(message: str) -> None:
    """One ``msuinspect: warning:`` line on standard error, escaped for the terminal."""
    click.echo(f"msuinspect: warning: {printable(message)}", err=True)


def _error(path: str, exc: BaseException) -> None:
    """One stderr line for a file that failed; names and messages escaped (a file name or a
    member name may hold a newline or an escape sequence)."""
    if isinstance(exc, MsuInspectError):
        text = str(exc) if exc.path else f"{path}: {exc}"
        click.echo(f"msuinspect: error: {printable(text)} [{exc.code}]", err=True)
    else:
        click.echo(
            f"msuinspect: internal error while reading {printable(path)}: "
            f"{type(exc).__name__}: {printable(str(exc))} (this is a bug; please report it)",
            err=True,
        )


def _internal_error_dict(exc: BaseException) -> dict[str, Any]:
    return {
        "code": "internal-error",
        "message": f"{type(exc).__name__}: {exc} (this is a bug; please report it)",
        "offset": None,
        "path": None,
    }


def _debug() -> bool:
    return os.environ.get("MSUINSPECT_DEBUG", "") not in ("", "0")


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


#: ``--trust-root FILE`` (repeatable), as ``trust_roots``; read with :func:`_trust_store`
trust_root_option = click.option(
    "--trust-root",
    "trust_roots",
    multiple=True,
    type=click.Path(dir_okay=False, exists=True),
    metavar="FILE",
    help="also trust the root certificate(s) in FILE (PEM or DER); repeatable",
)

#: ``--fail-on LEVEL``, as ``fail_on`` (``inspect`` and ``scan``)
fail_on_option = click.option(
    "--fail-on",
    type=click.Choice(["error", "problem", "warning", "never"]),
    default="problem",
    show_default=True,
    help="the least outcome that makes the exit status non-zero",
)

#: ``--as-of DATE``, as ``as_of``; read with :func:`_parse_as_of`
as_of_option = click.option(
    "--as-of",
    "as_of",
    metavar="DATE",
    help="validate chains of signatures without a valid timestamp at DATE (default: now)",
)


def _trust_store(trust_roots: tuple[str, ...]) -> TrustStore:
    """The default trust store plus the roots of ``--trust-root``; a file that cannot be
    read is a usage error."""
    from msuinspect import TrustStore, load_certificates

    try:
        extra = [c for path in trust_roots for c in load_certificates(path)]
        return TrustStore.default(extra)
    except MsuInspectError as exc:
        raise click.BadParameter(printable(str(exc)), param_hint="--trust-root") from None


def _host_profile(host_spec: str | None) -> HostProfile | None:
    """The host of ``--host`` (none without it); a spec that cannot be read is a usage error."""
    if host_spec is None:
        return None
    from msuinspect import load_host

    try:
        return load_host(host_spec)
    except MsuInspectError as exc:
        raise click.BadParameter(printable(str(exc)), param_hint="--host") from None
