"""``wmic qfe`` output: ``list full`` (``Name=Value`` records), ``/format:csv`` and the table.

Redirected wmic output is UTF-16LE with a BOM and often ``\\r\\r\\n`` line ends (handled by
:mod:`msuinspect.host.textio`). On 6.0 ``InstalledOn`` is often a 16-hex-digit FILETIME.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from msuinspect.host.errors import EvidenceError
from msuinspect.host.evidence import EvidenceRead, Fact, where
from msuinspect.host.importers.common import (
    columns_from_header,
    csv_rows,
    iso_date,
    qfe_entry,
    slice_row,
)
from msuinspect.host.profile import InstalledPackage
from msuinspect.host.textio import Line

KIND = "wmic-qfe"

_LIST_LINE = re.compile(r"^([A-Za-z]+)=(.*)$")


def _form(lines: Sequence[Line]) -> str | None:
    for ln in lines[:60]:
        t = ln.text.strip()
        if not t:
            continue
        if re.match(r"(?i)^HotFixID=", t):
            return "list"
        if t.startswith("Node,") and "HotFixID" in t:
            return "csv"
        table = re.match(r"^Caption\s+.*\bHotFixID\b", t) or re.match(r"^HotFixID\s", t + " ")
        if table and "," not in t:
            return "table"
    return None


def sniff(lines: Sequence[Line]) -> bool:
    return _form(lines) is not None


def _row(
    rec: dict[str, str], line: int, source: str, notes: list[str]
) -> tuple[InstalledPackage | None, str | None]:
    hotfix = rec.get("HotFixID", "")
    kb, guid = qfe_entry(hotfix, rec.get("InstalledOn", ""), where(source, line))
    if kb is None and guid is None:
        if hotfix:
            notes.append(f"{where(source, line)}: HotFixID {hotfix!r} not understood")
        return None, rec.get("CSName") or None
    pkg = InstalledPackage(
        kb=kb,
        identity=guid,
        installed_on=iso_date(rec.get("InstalledOn", "")),
        source=where(source, line),
    )
    return pkg, rec.get("CSName") or rec.get("Node") or None


def parse(lines: Sequence[Line], *, source: str, encoding: str) -> EvidenceRead:
    form = _form(lines)
    notes: list[str] = []
    rows: list[tuple[dict[str, str], int]] = []
    if form == "list":
        rec: dict[str, str] = {}
        first = 0
        for ln in [*lines, Line(-1, "")]:
            m = _LIST_LINE.match(ln.text.strip())
            if m:
                if not rec:
                    first = ln.number
                rec[m.group(1)] = m.group(2).strip()
            elif ln.text.strip():
                notes.append(
                    f"{where(source, ln.number)}: line {ln.text.strip()[:40]!r} cut short?"
                )
            elif rec:
                rows.append((rec, first))
                rec = {}
        # every record of 'wmic qfe list' names the same properties: fewer is a cut record
        fields = set(rows[0][0]) if rows else set()
        for rec, number in rows:
            if set(rec) < fields:
                notes.append(
                    f"{where(source, number)}: record without "
                    f"{', '.join(sorted(fields - set(rec)))} (output cut short?)"
                )
    elif form == "csv":
        start = next(i for i, ln in enumerate(lines) if ln.text.startswith("Node,"))
        rows.extend(csv_rows(lines[start:], source=source, notes=notes))
    elif form == "table":
        start = next(i for i, ln in enumerate(lines) if "HotFixID" in ln.text)
        cols = columns_from_header(lines[start].text)
        for ln in lines[start + 1 :]:
            if ln.text.strip():
                rows.append((slice_row(ln.text, cols), ln.number))
    else:
        raise EvidenceError("not wmic qfe output", path=source)
    if not rows:
        raise EvidenceError("wmic qfe output without any update row (truncated?)", path=source)
    seen: dict[str, InstalledPackage] = {}
    facts: list[Fact] = []
    for rec, number in rows:
        pkg, node = _row(rec, number, source, notes)
        if node and not facts:
            facts.append(Fact("name", node, where(source, number), "CSName"))
        if pkg is not None:
            key = pkg.kb or pkg.identity or ""
            seen.setdefault(key, pkg)
    return EvidenceRead(
        source=source,
        kind=KIND,
        encoding=encoding,
        facts=tuple(facts),
        installed=tuple(seen.values()),
        installed_complete=not notes,
        installed_where=where(source, rows[0][1]),
        notes=tuple(notes),
    )
