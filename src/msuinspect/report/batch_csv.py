"""``scan --format csv``: one row per file, for spreadsheets.

A cell that a spreadsheet would read as a formula (it starts with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return: file names are attacker-controlled) is prefixed with
``'``, as OWASP's CSV-injection advice says.
"""

from __future__ import annotations

import csv
import json
from typing import TextIO

from msuinspect.report.batch_common import Record, iter_findings, row_of, summary_of

COLUMNS = (
    "path",
    "outcome",
    "reasons",
    "kind",
    "size",
    "sha256",
    "sha1",
    "signing",
    "trusted",
    "kb",
    "target_version",
    "target_product",
    "architecture",
    "generation",
    "release_type",
    "build_date",
    "coverage",
    "findings",
    "error_code",
)
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def csv_row(record: Record) -> list[str]:
    row = row_of(record)
    s = summary_of(record)
    values: list[object] = [
        row.path,
        row.outcome,
        "; ".join(row.reasons),
        row.kind,
        row.size,
        record.get("sha256"),
        record.get("sha1"),
        row.signing,
        "" if row.trusted is None else str(row.trusted).lower(),
        row.kb,
        s.get("target_version"),
        s.get("target_product"),
        row.arch,
        row.generation,
        s.get("release_type"),
        row.build_date,
        json.dumps(s.get("coverage") or {}, sort_keys=True) if s.get("coverage") else "",
        sum(1 for _ in iter_findings(record)),
        row.error_code,
    ]
    return [_cell(v) for v in values]


class CsvWriter:
    """The header row, then a row per file as it comes."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self._w = csv.writer(out, lineterminator="\n")
        self._w.writerow(COLUMNS)

    def add(self, record: Record) -> None:
        self._w.writerow(csv_row(record))

    def close(self) -> None:
        self.out.flush()
