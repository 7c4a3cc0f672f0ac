"""What every command of the CLI shares: exit statuses, error lines, dates."""

from __future__ import annotations

import datetime as _dt
import os
from typing import Any

import click

from msuinspect.errors import MsuInspectError

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
    "  70  internal error (a bug; please report it)"
)


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
