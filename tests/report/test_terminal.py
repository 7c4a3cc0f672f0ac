"""``report.terminal.printable``: every character that can drive a terminal or forge a line
becomes a visible escape; ordinary text is left alone."""

from __future__ import annotations

import os

import pytest

from msuinspect.report.terminal import escaping, printable


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("x.msu\nOK: KB4474419.msu", "x.msu\\nOK: KB4474419.msu"),
        ("a\rb\tc", "a\\rb\\tc"),
        ("\x1b]0;PWNED\x07\x1b[2J", "\\x1b]0;PWNED\\x07\\x1b[2J"),
        ("\x00\x7f\x85\x9b", "\\x00\\x7f\\x85\\x9b"),  # NUL, DEL, NEL, CSI (C1)
        ("invoice\u202etxt.exe", "invoice\\u202etxt.exe"),
        (
            "\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069",
            "\\u202a\\u202b\\u202c\\u202d\\u2066\\u2067\\u2068\\u2069",
        ),
        ("one\u2028two\u2029three", "one\\u2028two\\u2029three"),
        ("\u200e\u200f\u061c", "\\u200e\\u200f\\u061c"),  # LRM, RLM, ALM
        ("hidden\U000e0041", "hidden\\U000e0041"),  # an invisible tag character
        ("lone \ud800", "lone \\ud800"),
    ],
)
def test_controls_become_visible_escapes(raw: str, shown: str) -> None:
    assert printable(raw) == shown


@pytest.mark.parametrize(
    "text",
    [
        "Windows6.0-KB4474419-v3-x64.msu",
        "amd64_microsoft-windows-foo_31bf3856ad364e35\\bar.dll",  # backslashes stay
        "Ünïcödé — 日本語 ملف עברית",
        "👨\u200d👩\u200d👧 zero\u200cwidth non-joiner",  # joiners scripts and emoji need
        "",
    ],
)
def test_ordinary_text_is_unchanged(text: str) -> None:
    assert printable(text) == text


def test_an_undecodable_file_name_byte_shows_as_that_byte() -> None:
    name = os.fsdecode(b"bad\xff\x80\x9b.msu")  # surrogateescape on POSIX
    assert printable(name) == "bad\\xff\\x80\\x9b.msu"


def test_printing_twice_changes_nothing_more() -> None:
    once = printable("x\n\x1b\u202e\udcff")
    assert printable(once) == once


def test_escaping_wraps_an_emit_once() -> None:
    lines: list[str] = []
    emit = escaping(lines.append)
    assert escaping(emit) is emit
    emit("OK: a\nOK: b")
    assert lines == ["OK: a\\nOK: b"]
