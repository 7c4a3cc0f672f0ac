"""``scan --format json`` and ``jsonl``, written as files finish.

``json`` is the ``msuinspect.inspect/1`` document of ``inspect --json`` (the same bytes
``json.dumps(doc, indent=2)`` gives), written file by file so that a batch of any size is
never held in memory, followed by the batch ``summary`` (counts and the offline-media
checks, docs/batch.md); ``jsonl`` is the ``msuinspect.inspect-jsonl/1`` stream, a line per
file and nothing else (a consumer of the stream computes the summary from the lines).
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from msuinspect.report.batch_common import Record, Row, batch_summary, row_of, summary_dict
from msuinspect.scan.media_checks import MediaChecker


class JsonWriter:
    """The whole document: ``header`` keys, then ``"files": [...]``, one record at a time,
    then ``"summary"``."""

    def __init__(self, out: TextIO, header: dict[str, Any]) -> None:
        self.out = out
        head = json.dumps({**header, "files": []}, indent=2)
        # everything up to the empty list, which is reopened
        self.out.write(head[: head.rindex("[]")] + "[")
        self.count = 0
        self.rows: list[Row] = []
        self.checks = MediaChecker()

    def add(self, record: Record) -> None:
        self.rows.append(row_of(record))
        self.checks.add(record)
        body = json.dumps(record, indent=2).replace("\n", "\n    ")
        self.out.write(("," if self.count else "") + "\n    " + body)
        self.count += 1

    def close(self) -> None:
        summary = summary_dict(batch_summary(self.rows), self.checks.result())
        body = json.dumps(summary, indent=2).replace("\n", "\n  ")
        self.out.write(("\n  ]" if self.count else "]") + ',\n  "summary": ' + body + "\n}\n")


class JsonlWriter:
    """The header line, then one line per file."""

    def __init__(self, out: TextIO, header: dict[str, Any]) -> None:
        self.out = out
        self.out.write(json.dumps(header) + "\n")
        self.out.flush()

    def add(self, record: Record) -> None:
        self.out.write(json.dumps(record) + "\n")
        self.out.flush()

    def close(self) -> None:
        self.out.flush()
