"""``slmgr /dlv all`` (via ``cscript //nologo slmgr.vbs``): the ESU licence and its year.

Each licence block has ``Name:``, ``Description:``, ``Activation ID:`` and ``License Status:``
lines. The Server 2008/R2 ESU activation IDs per year are those of verdict-facts §3.1 step 6;
an add-on named ``...ESU-YearN...`` is taken for year N. Two facts: ``esu_years``, every
year whose licence is ``Licensed`` (``"1+3"``, ``"none"``), which the verdict uses per year
(R15), and ``esu``, the highest such year (``none`` when none is licensed).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from msuinspect.host.errors import EvidenceError
from msuinspect.host.evidence import EvidenceRead, Fact, where
from msuinspect.host.importers.common import GUID, label_key, require_60
from msuinspect.host.profile import EsuLicence
from msuinspect.host.textio import Line

KIND = "slmgr"

#: Server 2008/R2 ESU activation IDs (verdict-facts §3.1 step 6, source S18)
ESU_ACTIVATION_IDS: dict[str, EsuLicence] = {
    "553673ed-6ddf-419c-a153-b760283472fd": EsuLicence.YEAR1,
    "04fa0286-fa74-401e-bbe9-fbfbb158010d": EsuLicence.YEAR2,
    "16c08c85-0c8b-4009-9b2b-f1f7319e45f9": EsuLicence.YEAR3,
}
#: the Windows application ID every Windows licence block names
WINDOWS_APPLICATION_ID = "55c92734-d682-4d71-983e-d6ec3f16059f"

_STATUS_KEYS = frozenset({"licensestatus", "lizenzstatus", "tatdelalicence", "statutdelalicence"})
_LICENSED = frozenset({"licensed", "lizenziert", "aveclicence", "souslicence"})
_ACTIVATION_KEYS = frozenset({"activationid", "aktivierungsid", "iddactivation", "iddelactivation"})
_NAME_KEYS = frozenset({"name", "nom"})
_YEAR_NAME = re.compile(r"ESU-Year\s*(\d)", re.IGNORECASE)
_YEARS = {1: EsuLicence.YEAR1, 2: EsuLicence.YEAR2, 3: EsuLicence.YEAR3, 4: EsuLicence.YEAR4}


def _split(text: str) -> tuple[str, str] | None:
    m = re.match(r"^([^:]{2,60}?)\s*:\s*(.*)$", text.strip())
    return (label_key(m.group(1)), m.group(2).strip()) if m else None


def sniff(lines: Sequence[Line]) -> bool:
    for ln in lines[:400]:
        low = ln.text.casefold()
        if WINDOWS_APPLICATION_ID in low or any(i in low for i in ESU_ACTIVATION_IDS):
            return True
        kv = _split(ln.text)
        if kv and kv[0] in _ACTIVATION_KEYS and GUID.search(kv[1]):
            return True
    return False


_SERVICE_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)\.\d+$")


def _refuse_other_windows(lines: Sequence[Line], source: str) -> None:
    """The licensing service version line (``Software licensing service version:
    6.1.7601.17514``, translated label holding "version") names the Windows version."""
    for ln in lines[:400]:
        kv = _split(ln.text)
        if kv and "versi" in kv[0] and (m := _SERVICE_VERSION.match(kv[1])):
            require_60(int(m[1]), int(m[2]), int(m[3]), path=source)
            return


def parse(lines: Sequence[Line], *, source: str, encoding: str) -> EvidenceRead:
    _refuse_other_windows(lines, source)
    blocks: list[list[Line]] = [[]]
    for ln in lines:
        if not ln.text.strip():
            if blocks[-1]:
                blocks.append([])
            continue
        kv = _split(ln.text)
        # a new "Name:" line starts a new licence even without a blank line between
        if (
            kv
            and kv[0] in _NAME_KEYS
            and any((_split(x.text) or ("", ""))[0] in _STATUS_KEYS for x in blocks[-1])
        ):
            blocks.append([])
        blocks[-1].append(ln)
    licensed: dict[EsuLicence, int] = {}
    esu_seen: list[tuple[EsuLicence, str, int]] = []
    statuses = 0
    for block in blocks:
        year: EsuLicence | None = None
        status: str | None = None
        status_line = 0
        for ln in block:
            kv = _split(ln.text)
            low = ln.text.casefold()
            for act_id, y in ESU_ACTIVATION_IDS.items():
                if act_id in low:
                    year = y
            if kv and kv[0] in _NAME_KEYS and year is None:
                m = _YEAR_NAME.search(kv[1])
                if m and int(m.group(1)) in _YEARS:
                    year = _YEARS[int(m.group(1))]
            if kv and kv[0] in _STATUS_KEYS:
                status, status_line = label_key(kv[1]), ln.number
        if status is not None:
            statuses += 1
        if year is not None and status is not None:
            esu_seen.append((year, status, status_line))
            if status in _LICENSED:
                licensed.setdefault(year, status_line)
    if statuses == 0:
        raise EvidenceError(
            "slmgr output without any 'License Status' line (truncated, or run without /dlv all?)",
            path=source,
        )
    notes = [
        f"ESU {y.value}: {'licensed' if s in _LICENSED else 'not activated'} ({where(source, n)})"
        for y, s, n in esu_seen
    ]
    order = [EsuLicence.YEAR1, EsuLicence.YEAR2, EsuLicence.YEAR3, EsuLicence.YEAR4]
    if licensed:
        best = max(licensed, key=order.index)
        fact = Fact("esu", best, where(source, licensed[best]), "slmgr /dlv all: highest year")
        years = sorted(licensed, key=order.index)
        years_fact = Fact(
            "esu_years",
            "+".join(y.value[1:] for y in years),
            "; ".join(where(source, licensed[y]) for y in years),
            "slmgr /dlv all: each Licensed ESU year",
        )
    else:
        first = esu_seen[0][2] if esu_seen else lines[0].number
        fact = Fact("esu", EsuLicence.NONE, where(source, first), "no ESU licence is Licensed")
        years_fact = Fact("esu_years", "none", where(source, first), "no ESU licence is Licensed")
    return EvidenceRead(
        source=source,
        kind=KIND,
        encoding=encoding,
        facts=(fact, years_fact),
        notes=tuple(notes),
    )
