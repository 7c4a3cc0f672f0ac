"""Text that is safe to put on a terminal or in a log line.

File names, cabinet member names, certificate names, URLs and manifest text are chosen by
whoever made the file. Printed raw, a newline forges a whole report line, ESC/OSC sequences
drive the terminal, and bidi controls reorder what the reader sees. :func:`printable` turns
every such character into a visible escape and leaves ordinary text -- letters of any script,
punctuation, backslashes of Windows paths -- as it is. JSON output needs none of this: JSON
escapes control characters itself.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable
from functools import lru_cache

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

#: joiners that scripts (and emoji) need; every other format character is escaped
_KEPT_FORMAT = frozenset("\u200c\u200d")

#: lone surrogates that ``os.fsdecode`` (surrogateescape) makes of undecodable bytes
_ESCAPED_BYTE = range(0xDC80, 0xDD00)


@lru_cache(maxsize=4096)
def _escape(ch: str) -> str:
    """The visible form of one character (itself when it is harmless)."""
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    category = unicodedata.category(ch)
    if category == "Cs":
        if code in _ESCAPED_BYTE:
            return f"\\x{code - 0xDC00:02x}"
        return f"\\u{code:04x}"
    # Cc: C0, DEL, C1.  Zl/Zp: U+2028/U+2029.  Cf: bidi controls (U+202A-U+202E,
    # U+2066-U+2069, U+200E/F, U+061C), invisible tags, BOM, soft hyphen ...
    if category in ("Cc", "Zl", "Zp") or (category == "Cf" and ch not in _KEPT_FORMAT):
        if code < 0x100:
            return f"\\x{code:02x}"
        if code < 0x10000:
            return f"\\u{code:04x}"
        return f"\\U{code:08x}"
    return ch


def printable(text: str) -> str:
    """``text`` with every control, line/paragraph separator, bidi/format character and
    lone surrogate replaced by a visible escape (``\\n``, ``\\x1b``, ``\\u202e``; an
    undecodable file-name byte as ``\\xNN``); anything else unchanged."""
    if text.isascii() and text.isprintable():
        return text
    return "".join(_escape(ch) for ch in text)


Emit = Callable[[str], None]


class EscapingEmit:
    """An ``emit`` that passes each line through :func:`printable` first. A text renderer's
    lines never need a control character of their own, so escaping whole lines covers every
    name, message and URL in them, including those a renderer forgets to mark."""

    __slots__ = ("emit",)

    def __init__(self, emit: Emit) -> None:
        self.emit = emit

    def __call__(self, line: str) -> None:
        self.emit(printable(line))


def escaping(emit: Emit) -> Emit:
    """``emit`` wrapped in :class:`EscapingEmit` (once: a wrapped one is returned as is)."""
    return emit if isinstance(emit, EscapingEmit) else EscapingEmit(emit)


def printable_lines(lines: Iterable[str]) -> list[str]:
    """:func:`printable` of each line."""
    return [printable(line) for line in lines]
