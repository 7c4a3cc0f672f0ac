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

_OEM_CANDIDATES = ("cp850", "cp437", "cp1252", "cp866", "gbk")
# letters that occur in German/French/Spanish/Italian labels and values
_LATIN_LETTERS = frozenset("äöüßÄÖÜéèêëàâçôûùîïÉÈÀÇñáíóúÑ")
# a word: letters of any script, digits and every non-ASCII character
_WORD = re.compile(r"(?:[^\x00-\x7f\s]|[A-Za-z0-9])+")
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


def _script(c: str) -> str:
    o = ord(c)
    if o < 0x80:
        return "ascii"
    if 0x400 <= o < 0x530:
        return "cyrillic"
    if 0x2E80 <= o < 0xA000 or 0xF900 <= o < 0xFB00 or 0xFF00 <= o < 0xFFF0:
        return "cjk"
    return "latin" if o < 0x250 and c.isalpha() else "other"


def _score(text: str) -> int:
    """How much a decoding looks like real words: each non-ASCII character counts for
    when its word is in one script (Latin letters with ASCII ones; Cyrillic or CJK on
    their own), against when the word mixes scripts or holds symbols (``Ö÷»``)."""
    score = 0
    for word in _WORD.findall(text):
        scripts = {_script(c) for c in word}
        high = sum(1 for c in word if ord(c) >= 0x80)
        known = sum(1 for c in word if c in _LATIN_LETTERS)
        mixed = len(scripts - {"ascii", "latin"}) > 1 or bool(
            scripts & {"cyrillic", "cjk"} and any(c.isascii() and c.isalpha() for c in word)
        )
        if "other" in scripts or mixed:
            score -= 2 * high
        else:
            score += high + known
    return score


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
