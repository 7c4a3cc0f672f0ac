"""``scan --format sarif``: a SARIF 2.1.0 log for code-scanning dashboards.

One run; its rules are the stable finding and error codes (docs/findings.md, through the
generated :mod:`msuinspect.report.batch_rules`) plus the outcome reasons that are not
findings (``unsigned``, ``untrusted``, ``not-a-package``, ``not-signed-alone``). Each result
is one finding of a file (listed once, wherever the file object carries it), or one reason
of a file's outcome
that no finding already gives; it points at the file (``physicalLocation``, with the byte
offset when the finding is about the file itself) and at the node inside it
(``logicalLocations``: ``outer.msu!/inner.cab!/update.mum``).
"""

from __future__ import annotations

import io
import json
import os
import urllib.parse
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import Any, TextIO

from msuinspect import __version__
from msuinspect.report.batch_common import Record, iter_findings, reason_code
from msuinspect.report.batch_rules import RULES

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"

#: outcome reasons that are not finding codes (msuinspect.package.outcome)
REASON_RULES: dict[str, tuple[str, str]] = {
    "unsigned": ("error", "a cabinet, MSU, PE or catalog carries no Authenticode signature"),
    "untrusted": ("error", "no signature of the file verifies to a trusted root"),
    "not-signed-alone": (
        "warning",
        "a part of an update package (a .mum, a manifest, an unattend or pkgProperties file) "
        "inspected alone: it has no signature of its own to vouch for it",
    ),
    "not-a-package": (
        "error",
        "the file is empty, or neither an update package nor a signed file (an HTML page, "
        "a text file, binary data)",
    ),
}
_LEVEL = {"error": "error", "warning": "warning", "info": "note"}
_OUTCOME_LEVEL = {"error": "error", "problem": "error", "warning": "warning", "ok": "note"}


def artifact_uri(path: str) -> str:
    """A URI reference for a file path (absolute: ``file://``; relative: percent-encoded).
    The path's bytes as the operating system has them are encoded, so a file name that is
    not valid UTF-8 (held as lone surrogates) keeps its own bytes (``b%FF.cab``)."""
    posix = path.replace(os.sep, "/") if os.sep != "/" else path
    if os.path.isabs(path):
        return "file://" + urllib.parse.quote(_os_bytes(str(PurePosixPath(posix))))
    return urllib.parse.quote(_os_bytes(posix))


def _os_bytes(path: str) -> bytes:
    """The path as bytes (``os.fsencode``; a string no file name decodes to keeps its
    surrogates)."""
    try:
        return os.fsencode(path)
    except UnicodeEncodeError:
        return path.encode("utf-8", "surrogatepass")


class _Rules:
    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.rules: list[dict[str, Any]] = []

    def of(self, code: str) -> int:
        if code not in self.index:
            self.index[code] = len(self.rules)
            self.rules.append(_rule(code))
        return self.index[code]


def _rule(code: str) -> dict[str, Any]:
    if code in RULES:
        section, second, meaning = RULES[code]
        level = _LEVEL.get(second.split("/")[0], "error")
        where = section
    elif code in REASON_RULES:
        level, meaning = REASON_RULES[code]
        where = "Outcomes"
    else:
        level, meaning, where = "warning", f"{code} (not described in docs/findings.md)", ""
    return {
        "id": code,
        "name": "".join(part.capitalize() for part in code.split("-")),
        "shortDescription": {"text": meaning.split(". ")[0][:200]},
        "fullDescription": {"text": meaning},
        "help": {"text": f"{meaning}\n\nSee docs/findings.md ({where})."},
        "defaultConfiguration": {"level": level},
        "properties": {"category": where},
    }


def _location(file_path: str, node_path: str, offset: int | None) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": artifact_uri(file_path)}}
    if offset is not None and offset >= 0 and node_path == file_path:
        physical["region"] = {"byteOffset": offset}
    loc: dict[str, Any] = {"physicalLocation": physical}
    loc["logicalLocations"] = [
        {"fullyQualifiedName": node_path, "kind": "module" if node_path == file_path else "member"}
    ]
    return loc


def results_of(record: Record, rules: _Rules) -> list[dict[str, Any]]:
    """The SARIF results of one file object."""
    path = str(record.get("path", ""))
    outcome = str(record.get("outcome", "error"))
    out: list[dict[str, Any]] = []
    codes: set[str] = set()
    for f in iter_findings(record):
        codes.add(f.code)
        out.append(
            {
                "ruleId": f.code,
                "ruleIndex": rules.of(f.code),
                "level": _LEVEL.get(f.severity, "note"),
                "message": {"text": f.message or f.code},
                "locations": [_location(path, f.node_path, f.offset)],
                "properties": {"outcome": outcome, "nodePath": f.node_path},
            }
        )
    for reason in record.get("reasons") or ():
        code = reason_code(str(reason))
        if not code or code in codes:
            continue
        codes.add(code)
        out.append(
            {
                "ruleId": code,
                "ruleIndex": rules.of(code),
                "level": _OUTCOME_LEVEL.get(outcome, "error"),
                "message": {"text": str(reason)},
                "locations": [_location(path, path, None)],
                "properties": {"outcome": outcome, "nodePath": path},
            }
        )
    return out


class SarifWriter:
    """Results are collected per file (the records themselves are not kept); the log is
    written at the end."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.rules = _Rules()
        self.results: list[dict[str, Any]] = []
        self.outcomes = {o: 0 for o in ("ok", "warning", "problem", "error")}
        self.files = 0

    def add(self, record: Record) -> None:
        self.files += 1
        outcome = str(record.get("outcome"))
        if outcome in self.outcomes:
            self.outcomes[outcome] += 1
        self.results.extend(results_of(record, self.rules))

    def log(self) -> dict[str, Any]:
        return {
            "$schema": SARIF_SCHEMA,
            "version": SARIF_VERSION,
            "runs": [
                {
                    "tool": {
                        "driver": {
                            "name": "msuinspect",
                            "version": __version__,
                            "rules": self.rules.rules,
                        }
                    },
                    "results": self.results,
                    "columnKind": "unicodeCodePoints",
                    "properties": {"files": self.files, "outcomes": self.outcomes},
                }
            ],
        }

    def close(self) -> None:
        self.out.write(json.dumps(self.log(), indent=2) + "\n")


def sarif_log(records: Sequence[Record]) -> dict[str, Any]:
    """The SARIF log of these file objects."""
    w = SarifWriter(io.StringIO())
    for rec in records:
        w.add(rec)
    return w.log()
