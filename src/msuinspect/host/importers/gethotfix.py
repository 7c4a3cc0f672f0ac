"""PowerShell ``Get-HotFix``: the default table and ``Export-Csv`` (with or without ``#TYPE``).

The table truncates columns with ``...``; ``InstalledOn`` uses the local date format, so
only unambiguous dates are kept.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from msuinspect.host.errors import EvidenceError
from msuinspect.host.evidence import EvidenceRead, Fact, where
from msuinspect.host.importers.common import (
    columns_from_rule,
    csv_rows,
    iso_date,
    qfe_entry,
    slice_row,
)
from msuinspect.host.profile import InstalledPackage
from msuinspect.host.textio import Line

KIND = "get-hotfix"


def _form(lines: Sequence[Line]) -> tuple[str, int] | None:
    for i, ln in enumerate(lines[:60]):
        t = ln.text.strip()
        if t.startswith("#TYPE") and i + 1 < len(lines) and "HotFixID" in lines[i + 1].text:
            return "csv", i + 1
        if t.startswith('"') and '"HotFixID"' in t:
            return "csv", i
        if (
            re.match(r"^Source\s+Description\s+HotFixID\b", t)
            and i + 1 < len(lines)
            and re.match(r"^-+(\s+-+)+\s*$", lines[i + 1].text.strip())
        ):
            return "table", i
    return None


def sniff(lines: Sequence[Line]) -> bool:
    return _form(lines) is not None


def parse(lines: Sequence[Line], *, source: str, encoding: str) -> EvidenceRead:
    form = _form(lines)
    if form is None:
        raise EvidenceError("not Get-HotFix output", path=source)
    kind, start = form
    notes: list[str] = []
    rows: list[tuple[dict[str, str], int]] = []
    if kind == "csv":
        rows.extend(csv_rows(lines[start:], source=source, notes=notes))
    else:
        cols = columns_from_rule(lines[start].text, lines[start + 1].text)
        for ln in lines[start + 2 :]:
            if not ln.text.strip():
                continue
            rows.append((slice_row(ln.text, cols), ln.number))
    if not rows:
        raise EvidenceError("Get-HotFix output without any update row (truncated?)", path=source)
    seen: dict[str, InstalledPackage] = {}
    facts: list[Fact] = []
    for rec, number in rows:
        hotfix = rec.get("HotFixID", "")
        node = rec.get("Source") or rec.get("CSName") or rec.get("PSComputerName")
        if node and not facts:
            facts.append(Fact("name", node, where(source, number), "Source"))
        if hotfix.endswith(("...", "\u2026")):  # Windows PowerShell / PowerShell 7
            notes.append(f"{where(source, number)}: HotFixID truncated by the table: {hotfix!r}")
            continue
        kb, guid = qfe_entry(hotfix, rec.get("InstalledOn", ""), where(source, number))
        if kb is None and guid is None:
            notes.append(f"{where(source, number)}: HotFixID {hotfix!r} not understood")
            continue
        seen.setdefault(
            kb or guid or "",
            InstalledPackage(
                kb=kb,
                identity=guid,
                installed_on=iso_date(rec.get("InstalledOn", "")),
                source=where(source, number),
            ),
        )
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
