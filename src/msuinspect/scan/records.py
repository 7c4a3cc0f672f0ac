"""What one file of a scan yields: its JSON file object (docs/json-schema.md), whether it came
from the cache, and the records the scan itself makes (over the time budget, a bug).

The scan handles file objects as plain JSON-able dicts: the worker turns its
:class:`msuinspect.api.Report` into one with the converter the caller passes (the report
layer's ``report_dict``), the cache stores them, and the batch renderers read them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from msuinspect.api import Report
from msuinspect.errors import MsuInspectError
from msuinspect.package.outcome import outcome_of_error

Record = dict[str, Any]
#: turns a report into its JSON file object; must be a module-level function (it is sent
#: to worker processes by reference)
ToRecord = Callable[[Report], Record]


class TimeBudgetError(MsuInspectError):
    """A file took longer than the per-file time budget; its worker was stopped."""

    code = "time-budget"


class WorkerCrashed(Exception):
    """The process inspecting a file died (a crash in native code, the OOM killer)."""


@dataclass(slots=True)
class FileResult:
    """One file of a scan, in scan order."""

    index: int
    path: str
    record: Record
    #: taken from the result cache, not analysed
    cached: bool = False
    #: an internal error (a bug) rather than a verdict on the file
    internal: bool = False
    #: seconds the analysis took (0 for a cached result)
    seconds: float = 0.0

    @property
    def outcome(self) -> str:
        return str(self.record.get("outcome", "error"))


def error_record(path: str, exc: MsuInspectError, to_record: ToRecord) -> Record:
    """The file object of a file that could not be inspected at all."""
    if exc.path is None:
        exc.path = path
    return to_record(Report(path, outcome_of_error(exc), error=exc))


def internal_record(path: str, exc: BaseException) -> Record:
    """The file object of a file whose inspection hit a bug (exit status 70)."""
    message = f"{type(exc).__name__}: {exc} (this is a bug; please report it)"
    return {
        "path": path,
        "outcome": "error",
        "reasons": [f"internal-error: {message}"],
        "error": {"code": "internal-error", "message": message, "offset": None, "path": None},
    }


def moved(record: Record, old: str, new: str) -> Record:
    """A record made for the file at ``old``, as it reads for the same bytes at ``new``: every
    string (value or key) that is the file's path, or a node path under it (``old!/...``,
    ``old@offset``), is rewritten. Free-text messages are left as they are."""
    if old == new:
        return record

    def fix(text: str) -> str:
        if text == old:
            return new
        if text.startswith(old) and text[len(old) : len(old) + 1] in ("!", "@"):
            return new + text[len(old) :]
        return text

    old_name, new_name = os.path.basename(old), os.path.basename(new)

    def walk(value: Any) -> Any:
        if isinstance(value, str):
            return fix(value)
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, dict):
            return {fix(k): _name(v) if k == "name" else walk(v) for k, v in value.items()}
        return value

    def _name(value: Any) -> Any:
        # a node's name is a base name, not a path: the file's own follows its new name
        return new_name if value == old_name else value

    out: Record = walk(record)
    return out
