"""``scan --format json`` and ``jsonl``, written as files finish.

``json`` is the ``msuinspect.inspect/1`` document of ``inspect --json`` (the same bytes
``json.dumps(doc, indent=2)`` gives), written file by file so that a batch of any size is
never held in memory; ``jsonl`` is the ``msuinspect.inspect-jsonl/1`` stream.
"""

from __future__ import annotations

import json
from typing import Any, TextIO

Record = dict[str, Any]


class JsonWriter:
    """The whole document: ``header`` keys, then ``"files": [...]``, one record at a time."""

    def __init__(self, out: TextIO, header: dict[str, Any]) -> None:
        self.out = out
        head = json.dumps({**header, "files": []}, indent=2)
        # everything up to the empty list, which is reopened
        self.out.write(head[: head.rindex("[]")] + "[")
        self.count = 0

    def add(self, record: Record) -> None:
        body = json.dumps(record, indent=2).replace("\n", "\n    ")
        self.out.write(("," if self.count else "") + "\n    " + body)
        self.count += 1

    def close(self) -> None:
        self.out.write("\n  ]\n}\n" if self.count else "]\n}\n")


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
