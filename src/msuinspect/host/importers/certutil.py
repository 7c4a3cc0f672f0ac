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
    r"^(?:serial number|seriennummer|num[ée]ro de s[ée]rie)\s*:\s*([0-9a-fA-F ]+)$", re.I
)
_DONE = re.compile(r"^CertUtil:\s*-store\b", re.IGNORECASE)


def sniff(lines: Sequence[Line]) -> bool:
    blocks = sum(1 for ln in lines[:400] if _BLOCK.match(ln.text.strip()))
    return blocks >= 1 and any(
        "sha1" in ln.text.casefold() or _DONE.match(ln.text.strip()) for ln in lines
    )


def parse(lines: Sequence[Line], *, source: str, encoding: str) -> EvidenceRead:
    blocks: list[list[Line]] = []
    complete = False
    for ln in lines:
        t = ln.text.strip()
        if _BLOCK.match(t):
            blocks.append([ln])
        elif _DONE.match(t):
            complete = True
        elif blocks:
            blocks[-1].append(ln)
    if not blocks and not complete:
        raise EvidenceError("certutil output without any certificate block", path=source)
    found: dict[Root, int] = {}
    for block in blocks:
        thumb_line = next(
            (ln for ln in block if "sha1" in ln.text.casefold() and _THUMB.search(ln.text)), None
        )
        root: Root | None = None
        at = block[0].number
        if thumb_line is not None:
            m = _THUMB.search(thumb_line.text)
            assert m is not None
            root = root_by_thumbprint(m.group(1))
            at = thumb_line.number
        if root is None:
            serial = next(
                (m.group(1) for ln in block if (m := _SERIAL.match(ln.text.strip()))), None
            )
            subjects = [ln.text for ln in block if "CN=" in ln.text.upper()]
            if serial:
                for subj in subjects:
                    root = root_by_serial_and_name(serial, subj.split(":", 1)[-1])
                    if root is not None:
                        break
        if root is not None:
            found.setdefault(root, at)
    notes: list[str] = []
    facts: list[Fact] = []
    if complete:
        first = min(found.values()) if found else lines[0].number if lines else 1
        facts.append(Fact("roots", frozenset(found), where(source, first), "certutil -store"))
        for root, number in sorted(found.items(), key=lambda kv: kv[1]):
            notes.append(f"root {root.value} present ({where(source, number)})")
    else:
        notes.append(
            "roots: certutil output has no closing 'CertUtil: -store' line (truncated?); "
            "present: " + (", ".join(r.value for r in found) or "none recognised")
        )
    return EvidenceRead(
        source=source, kind=KIND, encoding=encoding, facts=tuple(facts), notes=tuple(notes)
    )
