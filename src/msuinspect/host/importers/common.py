"""Helpers shared by the importers: label keys, GUIDs, dates, version checks, CSV and
fixed-width tables."""

from __future__ import annotations

import csv
import datetime as _dt
import re
from collections.abc import Sequence

from msuinspect.host.errors import NotA60HostError
from msuinspect.host.evidence import where
from msuinspect.host.profile import Arch, Product
from msuinspect.host.textio import Line

GUID = re.compile(
    r"\{?[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}?"
)


def label_key(label: str) -> str:
    """A label reduced to lower-case ASCII letters and digits.

    The same key comes out whatever code page the file was decoded with, since the
    non-ASCII letters (``ä``, ``é``, ``ô``...) are dropped: ``Nom de l'hôte`` -> ``nomdelhte``.
    """
    return "".join(c for c in label.casefold() if c.isascii() and c.isalnum())


def filetime_date(hex16: str) -> str | None:
    """A 16-hex-digit FILETIME (``01d4dfd0fb4eb361``) -> ISO date (``2019-03-21``)."""
    try:
        ticks = int(hex16, 16)
        when = _dt.datetime(1601, 1, 1) + _dt.timedelta(microseconds=ticks // 10)
    except (ValueError, OverflowError):
        return None
    return when.date().isoformat() if 1990 <= when.year <= 2100 else None


def iso_date(text: str) -> str | None:
    """Only unambiguous forms: FILETIME hex, ``yyyymmdd``, ``yyyy-mm-dd``, ``yyyy/m/d``.

    Regional ``m/d/yyyy`` versus ``d/m/yyyy`` cannot be told apart without the locale,
    so those stay unknown.
    """
    t = text.strip()
    try:
        if re.fullmatch(r"[0-9a-fA-F]{16}", t):
            return filetime_date(t)
        m = re.fullmatch(r"(\d{4})(\d{2})(\d{2})", t)
        if m:
            return _dt.date(int(m[1]), int(m[2]), int(m[3])).isoformat()
        m = re.match(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\b", t)
        if m:
            return _dt.date(int(m[1]), int(m[2]), int(m[3])).isoformat()
        m = re.match(r"(\d{1,2})\.(\d{1,2})\.(\d{4})\b", t)  # dd.mm.yyyy (German and others)
        if m:
            return _dt.date(int(m[3]), int(m[2]), int(m[1])).isoformat()
    except ValueError:
        return None
    return None


def require_60(major: int, minor: int, build: int | None, *, path: str | None) -> None:
    """Refuse anything but Windows 6.0 (Vista / Server 2008)."""
    if (major, minor) != (6, 0):
        shown = f"{major}.{minor}.{build}" if build is not None else f"{major}.{minor}"
        raise NotA60HostError(f"not a Windows 6.0 host ({shown})", path=path)


def arch_from_text(text: str) -> Arch | None:
    t = text.casefold()
    if re.search(r"\b(x64|amd64)\b|x64-", t):
        return Arch.AMD64
    if re.search(r"\bx86\b|x86-", t):
        return Arch.X86
    if "itanium" in t or re.search(r"\bia64\b|ia64-", t):
        return Arch.IA64
    return None


def product_from_name(name: str) -> Product | None:
    """An OS or product name -> product. ``Serverr`` (OEM-degraded ``Server®``) counts."""
    t = name.casefold()
    if "vista" in t:
        return Product.VISTA
    if "hyper-v server" in t:
        return Product.SERVER_CORE  # Hyper-V Server 2008 is a Server Core installation
    if "server" in t:
        return Product.SERVER_UNKNOWN
    return None


def qfe_entry(hotfix_id: str, installed_on: str, where_: str) -> tuple[str | None, str | None]:
    """``(kb, guid identity)`` of one Win32_QuickFixEngineering row; both None if not understood."""
    from msuinspect.host.evidence import normalise_kb

    text = hotfix_id.strip()
    kb = normalise_kb(text)
    if kb:
        return kb, None
    guid = GUID.fullmatch(text)
    return None, (guid.group().upper() if guid else None)


def columns_from_header(header: str) -> list[tuple[str, int, int | None]]:
    """Fixed-width columns: each header word starts a column that ends where the next starts."""
    starts = [(m.group(), m.start()) for m in re.finditer(r"\S+", header)]
    cols: list[tuple[str, int, int | None]] = []
    for i, (name, start) in enumerate(starts):
        end = starts[i + 1][1] if i + 1 < len(starts) else None
        cols.append((name, start, end))
    return cols


def columns_from_rule(header: str, rule: str) -> list[tuple[str, int, int | None]]:
    """Columns from a ``----  -----`` rule line under a header (PowerShell tables)."""
    runs = [(m.start(), m.end()) for m in re.finditer(r"-+", rule)]
    cols: list[tuple[str, int, int | None]] = []
    for i, (start, _end) in enumerate(runs):
        end = runs[i + 1][0] if i + 1 < len(runs) else None
        cols.append((header[start:end].strip(), start, end))
    return cols


def slice_row(row: str, cols: list[tuple[str, int, int | None]]) -> dict[str, str]:
    return {name: row[start:end].strip() for name, start, end in cols}


def csv_rows(
    lines: Sequence[Line], *, source: str, notes: list[str]
) -> list[tuple[dict[str, str], int]]:
    """The rows of a CSV table whose header is the first non-blank line of ``lines``, each
    with its line number; a row whose field count is not the header's is a note instead."""
    body = [ln for ln in lines if ln.text.strip()]
    reader = csv.reader([ln.text for ln in body])
    header = next(reader)
    rows: list[tuple[dict[str, str], int]] = []
    for ln, values in zip(body[1:], reader, strict=False):
        if len(values) != len(header):
            notes.append(f"{where(source, ln.number)}: CSV row with {len(values)} fields")
            continue
        rows.append((dict(zip(header, values, strict=True)), ln.number))
    return rows
