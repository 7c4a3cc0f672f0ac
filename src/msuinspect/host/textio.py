"""Turning evidence bytes into text lines: encodings a redirect produces, line ends, noise.

``systeminfo > file`` from cmd writes the OEM code page (cp437, cp850...), a PowerShell
redirect and redirected ``wmic`` write UTF-16LE with a BOM, copies may be re-encoded to
UTF-8 with LF line ends; ``wmic`` output redirected through cmd has ``\\r\\r\\n`` line ends.
Line numbers are kept as in the file (1-based) so every fact can name its line.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from msuinspect.host.errors import EvidenceError

#: files larger than this are not host evidence (a full collector file is well under 10 MiB)
MAX_EVIDENCE_BYTES = 64 << 20

_OEM_CANDIDATES = ("cp850", "cp437", "cp1252")
# letters that occur in German/French/Spanish/Italian labels and values
_LATIN_LETTERS = frozenset("äöüßÄÖÜéèêëàâçôûùîïÉÈÀÇñáíóúÑ")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Line:
    """One line of an evidence file: 1-based number and text without the line end."""

    number: int
    text: str


@dataclass(frozen=True, slots=True)
class DecodedText:
    text: str
    encoding: str
    lines: tuple[Line, ...]


def _looks_utf16le(data: bytes) -> bool:
    if len(data) < 4:
        return False
    sample = data[:4096]
    odd = sample[1::2]
    even = sample[0::2]
    zeros_odd = odd.count(0)
    zeros_even = even.count(0)
    return zeros_odd > len(odd) * 0.6 and zeros_even < len(even) * 0.1


def _score(text: str) -> int:
    return sum(1 for c in text if c in _LATIN_LETTERS)


def decode(data: bytes, *, name: str = "evidence") -> tuple[str, str]:
    """Bytes -> (text, encoding name). Raises :class:`EvidenceError` for binary data."""
    if len(data) > MAX_EVIDENCE_BYTES:
        raise EvidenceError(f"{len(data)} bytes: too large for host evidence", path=name)
    text: str | None = None
    encoding = ""
    if data.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif data.startswith(codecs.BOM_UTF16_LE):
        encoding = "utf-16-le-bom"
        body = data[2:]
        if len(body) % 2:
            body = body[:-1]  # truncated in the middle of a code unit
        text = body.decode("utf-16-le", errors="replace")
    elif data.startswith(codecs.BOM_UTF16_BE):
        encoding = "utf-16-be-bom"
        body = data[2:]
        if len(body) % 2:
            body = body[:-1]
        text = body.decode("utf-16-be", errors="replace")
    elif _looks_utf16le(data):
        encoding = "utf-16-le"
        body = data if len(data) % 2 == 0 else data[:-1]
        text = body.decode("utf-16-le", errors="replace")
    if text is None and encoding == "utf-8-sig":
        text = data[3:].decode("utf-8", errors="replace")
    if text is None:
        try:
            text = data.decode("utf-8")
            encoding = "utf-8" if any(b > 0x7F for b in data) else "ascii"
        except UnicodeDecodeError:
            best = max(_OEM_CANDIDATES, key=lambda cp: _score(data.decode(cp, errors="replace")))
            encoding = best
            text = data.decode(best, errors="replace")
    controls = len(_CONTROL.findall(text))
    if "\x00" in text or controls > max(8, len(text) // 100):
        raise EvidenceError(
            "binary data, not a text evidence file (no known encoding gives text)", path=name
        )
    if text.count("\ufffd") > max(8, len(text) // 50):
        raise EvidenceError(f"undecodable text ({encoding})", path=name)
    return text, encoding


_LINE_END = re.compile(r"\r*\n|\r+(?!\n)")


def split_lines(text: str, *, first_line: int = 1) -> tuple[Line, ...]:
    """Split on CRLF, CRCRLF, LF or lone CR; strip quoting prefixes (``> ``) of pasted text."""
    parts = _LINE_END.split(text)
    if parts and parts[-1] == "":
        parts.pop()
    nonblank = [p for p in parts if p.strip()]
    if nonblank and all(p.startswith(">") for p in nonblank):
        parts = [p[2:] if p.startswith("> ") else p[1:] for p in parts]
    return tuple(Line(first_line + i, p.rstrip()) for i, p in enumerate(parts))


def read_text(data: bytes, *, name: str = "evidence") -> DecodedText:
    text, encoding = decode(data, name=name)
    return DecodedText(text, encoding, split_lines(text))
