"""``certutil -store root`` (and ``-store authroot``): which Microsoft roots the host holds.

Each certificate block starts with ``================ Certificate N ================``
(the word is translated) and has ``Serial Number:``, ``Subject:`` and
``Cert Hash(sha1):`` lines; 6.0 prints the thumbprint as byte pairs separated by
spaces, later versions without. A root is recognised by its SHA-1 thumbprint, or by its
serial number together with its exact subject CN. The store list is complete only when the
closing ``CertUtil: -store ...`` line is present.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from msuinspect.host.errors import EvidenceError
from msuinspect.host.evidence import EvidenceRead, Fact, where
from msuinspect.host.profile import Root
from msuinspect.host.roots import root_by_serial_and_name, root_by_thumbprint
from msuinspect.host.textio import Line

KIND = "certutil"

_BLOCK = re.compile(r"^=+\s*\S.*?\s\d+\s*=+$")
_THUMB = re.compile(r"(?<![0-9a-fA-F])((?:[0-9a-fA-F]{2} ?){19}[0-9a-fA-F]{2})(?![0-9a-fA-F])")
_SERIAL = re.compile(
    r"^(?:serial number|seriennummer|num[ée]ro de s[ée]rie|n[úu]mero de serie|numero di serie)"
    r"\s*:\s*([0-9a-fA-F ]+)$",
    re.I,
)
_DONE = re.compile(r"^CertUtil:\s*-store\b", re.IGNORECASE)


def sniff(lines: Sequence[Line]) -> bool:
    if any(_DONE.match(ln.text.strip()) for ln in lines[:400]):
        return True  # also a dump that failed before its first certificate
    blocks = sum(1 for ln in lines[:400] if _BLOCK.match(ln.text.strip()))
    return blocks >= 1 and any("sha1" in ln.text.casefold() for ln in lines)


#: the stores whose dump says which roots the host trusts
_ROOT_STORES = frozenset({"root", "authroot"})
#: system store names certutil prints as the first line of a dump (a later one starts the
#: next store when several dumps are concatenated)
_STORES = _ROOT_STORES | frozenset(
    {
        "ca",
        "my",
        "disallowed",
        "trust",
        "trustedpublisher",
        "trustedpeople",
        "addressbook",
        "smartcardroot",
        "request",
        "remote desktop",
        "trustedusers",
        "trusteddevices",
    }
)
_STORE_LINE = re.compile(r"^[A-Za-z][A-Za-z ]{0,40}$")
_FAILED = re.compile(r"\bFAILED\b|\b0x8[0-9a-fA-F]{7}\b", re.IGNORECASE)


class _Store:
    """One ``certutil -store NAME`` dump: its name line, certificate blocks and end."""

    def __init__(self, name: str | None, line: int) -> None:
        self.name = name
        self.line = line
        self.blocks: list[list[Line]] = []
        self.done: Line | None = None
        self.failed: Line | None = None


def _stores(lines: Sequence[Line]) -> list[_Store]:
    stores: list[_Store] = []
    for ln in lines:
        t = ln.text.strip()
        if not t:
            continue
        if not stores or t.casefold() in _STORES:
            # the first line of a dump names its store; a command line echoed before it
            # (``C:\>certutil -store root``) leaves the store unknown
            name = t if _STORE_LINE.match(t) and not _BLOCK.match(t) else None
            if not stores or name is not None:
                stores.append(_Store(name, ln.number))
                if name is not None:
                    continue
        cur = stores[-1]
        if cur.done is not None:
            continue  # error text after the end line of a dump
        if _BLOCK.match(t):
            cur.blocks.append([ln])
        elif _DONE.match(t):
            cur.done = ln
            if _FAILED.search(t):
                cur.failed = ln
        elif cur.blocks:
            cur.blocks[-1].append(ln)
    return stores


def _root_of(block: list[Line]) -> tuple[Root | None, int]:
    # every thumbprint-shaped line naming sha1: the certificate hash, but also the
    # ``Key Id Hash(rfc-sha1)`` some versions print first
    for ln in block:
        if "sha1" in ln.text.casefold() and (m := _THUMB.search(ln.text)):
            root = root_by_thumbprint(m.group(1))
            if root is not None:
                return root, ln.number
    serial = next((m.group(1) for ln in block if (m := _SERIAL.match(ln.text.strip()))), None)
    if serial:
        for ln in block:
            if "CN=" in ln.text.upper():
                root = root_by_serial_and_name(serial, ln.text.split(":", 1)[-1])
                if root is not None:
                    return root, ln.number
    return None, block[0].number


def parse(lines: Sequence[Line], *, source: str, encoding: str) -> EvidenceRead:
    """Roots only from complete dumps of the Root / AuthRoot stores: the store name is the
    first line certutil prints; another store (Disallowed, CA, My...) says nothing about
    which roots the host trusts, and a dump that failed or was cut short is not a list."""
    stores = _stores(lines)
    if not any(st.blocks or st.done for st in stores):
        raise EvidenceError("certutil output without any certificate block", path=source)
    notes: list[str] = []
    found: dict[Root, int] = {}
    usable = True
    names: list[str] = []
    root_stores = 0
    for st in stores:
        shown = repr(st.name) if st.name else "unknown (no store name line)"
        at = where(source, st.line)
        present: dict[Root, int] = {}
        for block in st.blocks:
            root, number = _root_of(block)
            if root is not None:
                present.setdefault(root, number)
        listed = ", ".join(r.value for r in present) or "none recognised"
        if st.name is None or st.name.casefold() not in _ROOT_STORES:
            notes.append(
                f"roots: {at}: certutil dump of store {shown}: only the Root and AuthRoot "
                f"stores say which roots the host trusts (listed here: {listed})"
            )
            continue
        root_stores += 1
        if st.failed is not None:
            usable = False
            notes.append(
                f"roots: {where(source, st.failed.number)}: certutil -store {st.name} failed: "
                f"the list is not complete; present: {listed}"
            )
        elif st.done is None:
            usable = False
            notes.append(
                f"roots: store {st.name} ({at}) has no closing 'CertUtil: -store' line "
                f"(truncated?); present: {listed}"
            )
        else:
            names.append(st.name)
            for root, number in present.items():
                found.setdefault(root, number)
    facts: list[Fact] = []
    if root_stores and usable:
        first = min(found.values()) if found else stores[0].line
        how = "certutil -store " + "+".join(dict.fromkeys(names))
        facts.append(Fact("roots", frozenset(found), where(source, first), how))
        for root, number in sorted(found.items(), key=lambda kv: kv[1]):
            notes.append(f"root {root.value} present ({where(source, number)})")
    return EvidenceRead(
        source=source, kind=KIND, encoding=encoding, facts=tuple(facts), notes=tuple(notes)
    )
