"""``scan --format table``: one line per file, problems first, then the batch summary.

Only a :class:`~msuinspect.report.batch_common.Row` per file is kept until the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from msuinspect.report.batch_common import (
    Record,
    Row,
    batch_summary,
    media_check_lines,
    row_of,
    worst_first,
)
from msuinspect.report.terminal import printable
from msuinspect.scan.media_checks import MediaChecker, MediaChecks

_COLUMNS = ("outcome", "KB", "size KB", "OS", "arch", "signing", "trusted", "coverage", "file")
_MAX_COVERAGE = 40


#: a file name is attacker-controlled: no control characters reach the terminal
#: (kept under this name for callers of ``batch_table.clean``)
clean = printable


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def table_lines(rows: Sequence[Row], checks: MediaChecks | None = None) -> list[str]:
    ordered = worst_first(rows)
    with_verdict = any(r.verdict for r in ordered)
    columns = _COLUMNS[:-1] + (("host verdict",) if with_verdict else ()) + _COLUMNS[-1:]
    cells = [
        tuple(
            clean(cell)  # KB, OS, coverage and verdict come from the file's manifests too
            for cell in (
                r.outcome,
                r.kb or "-",
                r.size_kb or "-",
                (r.os.split(" ", 1)[0] if r.os else "-"),
                r.arch or "-",
                r.signing or "-",
                r.trusted_text,
                _short(r.coverage, _MAX_COVERAGE) or "-",
                *((r.verdict or "-",) if with_verdict else ()),
                r.path,
            )
        )
        for r in ordered
    ]
    widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, h in enumerate(columns[:-1])]

    def line(values: Sequence[str]) -> str:
        head = "  ".join(v.ljust(w) for v, w in zip(values[:-1], widths, strict=True))
        return f"{head}  {values[-1]}"

    out = [line(columns)]
    for c, r in zip(cells, ordered, strict=True):
        out.append(line(c))
        if r.outcome != "ok" and r.reasons:
            out.append(f"    {clean(r.reasons[0])}")
    out.extend(summary_lines(rows))
    if checks is not None and not checks.empty:
        out.append("offline-media checks:")
        out.extend("  " + clean(line) for line in media_check_lines(checks))
    return out


def summary_lines(rows: Sequence[Row]) -> list[str]:
    s = batch_summary(rows)
    return [
        "",
        f"{s.files} file(s): " + ", ".join(f"{n} {o}" for o, n in s.by_outcome.items()),
        "signing: " + ", ".join(f"{k} {n}" for k, n in s.by_signing.items()),
        "target OS: " + ", ".join(f"{clean(k)} {n}" for k, n in s.by_target.items()),
    ]


class TableWriter:
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.rows: list[Row] = []
        self.checks = MediaChecker()

    def add(self, record: Record) -> None:
        self.rows.append(row_of(record))
        self.checks.add(record)

    def close(self) -> None:
        self.out.write("\n".join(table_lines(self.rows, self.checks.result())) + "\n")
