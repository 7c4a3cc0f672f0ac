"""``systeminfo`` output: OS name and version, system type, host name, the Hotfix(s) block.

Labels are translated and the value column differs per language, so labels are matched by
:func:`label_key` against the tables below (English, German, French), with
language-independent fallbacks: the OS version is the value shaped ``6.0.6002 ... 6002``,
the OS name is the line just before it, the system type is the ``x64-based``/``X86-based``
value, and the hotfix block is the one whose ``[NN]:`` entries are KB numbers.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from msuinspect.host.errors import EvidenceError
from msuinspect.host.evidence import (
    EvidenceRead,
    Fact,
    MixedEvidenceError,
    normalise_kb,
    where,
)
from msuinspect.host.importers.common import (
    GUID,
    arch_from_text,
    label_key,
    product_from_name,
    require_60,
)
from msuinspect.host.profile import InstalledPackage
from msuinspect.host.textio import Line

KIND = "systeminfo"

# canonical field -> label keys (see _key) in English, German, French, Spanish, Italian,
# Russian and Chinese
LABELS: dict[str, frozenset[str]] = {
    "host_name": frozenset(
        {"hostname", "nomdelhte", "nombredehost", "nomehost", "имяузла", "主机名"}
    ),
    "os_name": frozenset(
        {
            "osname",
            "betriebssystemname",
            "nomdusystmedexploitation",
            "nombredelsistemaoperativo",
            "nomeso",
            "названиеос",
            "os名称",
        }
    ),
    "os_version": frozenset(
        {
            "osversion",
            "betriebssystemversion",
            "versiondusystme",
            "versindelsistemaoperativo",
            "versioneso",
            "версияос",
            "os版本",
        }
    ),
    "system_type": frozenset(
        {
            "systemtype",
            "systemtyp",
            "typedusystme",
            "tipodesistema",
            "tiposistema",
            "типсистемы",
            "系统类型",
        }
    ),
    "hotfixes": frozenset(
        {
            "hotfixs",
            "hotfixes",
            "correctifs",
            "revisines",
            "aggiornamentirapidi",
            "исправлениея",
            "修补程序",
        }
    ),
}
# other labels that only systeminfo prints (used to recognise the format)
_OTHER_LABELS = frozenset(
    {
        "osmanufacturer",
        "osconfiguration",
        "osbuildtype",
        "originalinstalldate",
        "systemboottime",
        "systemuptime",
        "processors",
        "biosversion",
        "totalphysicalmemory",
        "networkcards",
        "betriebssystemhersteller",
        "betriebssystemkonfiguration",
        "systemtyp",
        "prozessoren",
        "gesamterphysikalischerspeicher",
        "netzwerkkarten",
        "fabricantdusystmedexploitation",
        "processeurs",
        "versiondubios",
        "cartesrseau",
    }
)
_ALL_KEYS = frozenset().union(*LABELS.values()) | _OTHER_LABELS

_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d{4,5})\b(?:.*?\b(\d{4,5}))?\s*$")


def _version(value: str) -> re.Match[str] | None:
    """The OS version value ``6.0.6002 Service Pack 2 Build 6002`` (short values only, so a
    hostile long line is never searched)."""
    return _VERSION.match(value) if len(value) <= 200 else None


_ENTRY = re.compile(r"^\s+\[(\d+)\]\s*:(.*)$")
_NA = re.compile(r"^(?:N/A|N/D|\u041d/\u0414|\u6682\u7f3a|n\. ?v\.|k\. ?A\.)$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class _Item:
    line: Line
    key: str  # label key ("" when no label found)
    value: str
    entries: tuple[tuple[Line, str], ...]  # [NN]: continuation entries


#: a label is short: colons further right are never the label's (keeps _split linear)
_LABEL_MAX = 120
_NON_LATIN = re.compile(r"[\u0400-\u052f\u2e80-\u9fff\uf900-\ufaff]")


def _key(label: str) -> str:
    """:func:`label_key`, but a Cyrillic or Chinese label keeps its own letters."""
    if _NON_LATIN.search(label):
        return "".join(c for c in label.casefold() if c.isalnum())
    return label_key(label)


def _split(text: str, column: int | None) -> tuple[str, str] | None:
    # a known label: try each colon near the start, left to right (a French label contains
    # a colon); linear in the line length, whatever it holds
    head = text[:_LABEL_MAX]
    for colon in re.finditer(":", head):
        key = _key(head[: colon.start()])
        if key in _ALL_KEYS:
            return key, text[colon.end() :].strip()
    if column and len(text) > column and text[column - 1] == " " and ":" in text[:column]:
        return _key(text[:column].rstrip().rstrip(":")), text[column:].strip()
    m = re.search(r":(?=\s|$)", text)
    if m:
        return _key(text[: m.start()]), text[m.end() :].strip()
    return None


def _items(lines: Sequence[Line]) -> list[_Item]:
    cols = Counter(len(ln.text) - len(ln.text.lstrip()) for ln in lines if _ENTRY.match(ln.text))
    column = cols.most_common(1)[0][0] if cols else None
    items: list[_Item] = []
    current: tuple[Line, str, str] | None = None
    entries: list[tuple[Line, str]] = []
    for ln in lines:
        if not ln.text.strip():
            continue
        if ln.text[0] in " \t\u00a0":
            m = _ENTRY.match(ln.text)
            if m and current is not None:
                entries.append((ln, m.group(2).strip()))
            continue
        if current is not None:
            items.append(_Item(current[0], current[1], current[2], tuple(entries)))
        entries = []
        split = _split(ln.text, column)
        current = (ln, split[0], split[1]) if split else (ln, "", ln.text.strip())
    if current is not None:
        items.append(_Item(current[0], current[1], current[2], tuple(entries)))
    return items


def sniff(lines: Sequence[Line]) -> bool:
    keys = {it.key for it in _items(lines[:80])}
    if len(keys & _ALL_KEYS) >= 2:
        return True
    return any(_version(it.value) and it.value.count(".") == 2 for it in _items(lines[:80]))


def _find(items: list[_Item], field: str) -> _Item | None:
    for it in items:
        if it.key in LABELS[field]:
            return it
    return None


def _looks_like_hotfix(value: str) -> bool:
    return bool(normalise_kb(value) or GUID.fullmatch(value.strip()))


def _single_output(items: list[_Item], source: str) -> None:
    """Refuse a file holding more than one systeminfo output (two hosts, or the same host
    twice): which one to believe is not for the importer to pick."""
    for field in ("host_name", "os_version", "hotfixes"):
        found = [it for it in items if it.key in LABELS[field]]
        if len(found) > 1:
            shown = ", ".join(
                f"line {it.line.number}" + (f" ({it.value})" if field == "host_name" else "")
                for it in found
            )
            raise MixedEvidenceError(
                f"{len(found)} systeminfo outputs in one file ({field.replace('_', ' ')} at "
                f"{shown}): give each host's output on its own",
                path=source,
            )


def parse(lines: Sequence[Line], *, source: str, encoding: str) -> EvidenceRead:
    items = _items(lines)
    _single_output(items, source)
    facts: list[Fact] = []
    notes: list[str] = []

    version = _find(items, "os_version")
    if version is None or not _version(version.value):
        version = next((it for it in items if _version(it.value)), None)
    if version is None:
        raise EvidenceError(
            "systeminfo output without an OS version line (truncated?)", path=source
        )
    vm = _version(version.value)
    assert vm is not None
    major, minor, build = int(vm[1]), int(vm[2]), int(vm[3])
    require_60(major, minor, build, path=source)
    facts.append(Fact("build", build, where(source, version.line.number), "OS version"))
    if build not in (6002, 6003):
        notes.append(f"build {build} is not Service Pack 2 (6002/6003)")

    name = _find(items, "os_name")
    if name is None:
        idx = items.index(version)
        name = items[idx - 1] if idx > 0 else None
    product = product_from_name(name.value) if name else None
    if name is not None and product is not None:
        facts.append(Fact("product", product, where(source, name.line.number), "OS name"))
    else:
        notes.append("product: no OS name line naming Server or Vista")

    # the architecture only from the System Type line: a host name such as X86-SQL01 or a
    # processor line says nothing about the installed Windows
    stype = _find(items, "system_type")
    arch = arch_from_text(stype.value) if stype else None
    if stype is not None and arch is not None:
        facts.append(Fact("arch", arch, where(source, stype.line.number), "System Type"))
    elif stype is not None:
        notes.append(f"arch: System Type {stype.value!r} not understood")
    else:
        notes.append("arch: no System Type line")

    host = _find(items, "host_name")
    if host is not None and host.value:
        facts.append(Fact("name", host.value, where(source, host.line.number), "Host Name"))

    hot = _find(items, "hotfixes")
    if hot is None:
        hot = next(
            (
                it
                for it in items
                if it.entries
                and sum(_looks_like_hotfix(v) for _, v in it.entries) * 2 >= len(it.entries)
            ),
            None,
        )
    installed: tuple[InstalledPackage, ...] | None = None
    complete = False
    hot_where: str | None = None
    if hot is None:
        notes.append("installed updates: no Hotfix(s) block (truncated?)")
    elif _NA.match(hot.value) or (not hot.entries and not re.search(r"\d", hot.value)):
        notes.append(
            f"installed updates: the Hotfix(s) block says {hot.value!r} "
            "(systeminfo run without administrator rights?)"
        )
    else:
        hot_where = where(source, hot.line.number)
        count_m = re.search(r"\d+", hot.value)
        count = int(count_m.group()) if count_m else None
        seen: dict[str, InstalledPackage] = {}
        for ln, value in hot.entries:
            kb = normalise_kb(value)
            guid = GUID.fullmatch(value.strip())
            key = kb or (guid.group().upper() if guid else None)
            if key is None:
                notes.append(f"{where(source, ln.number)}: hotfix entry {value!r} not understood")
                continue
            if key not in seen:
                seen[key] = InstalledPackage(
                    kb=kb, identity=None if kb else key, source=where(source, ln.number)
                )
        installed = tuple(seen.values())
        complete = count is not None and count == len(hot.entries)
        if count is not None and count > len(hot.entries):
            notes.append(
                f"installed updates: {count} stated but {len(hot.entries)} listed "
                "(systeminfo truncates long lists): the list is partial"
            )
        elif count is None:
            notes.append("installed updates: the hotfix count is missing; the list may be partial")
    return EvidenceRead(
        source=source,
        kind=KIND,
        encoding=encoding,
        facts=tuple(facts),
        installed=installed,
        installed_complete=complete,
        installed_where=hot_where,
        notes=tuple(notes),
    )
