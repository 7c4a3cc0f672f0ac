"""The collector: a ``.cmd`` script for a stock 2008 SP2 host, and reading what it wrote.

The script runs each command with its output appended to one file, between ASCII marker
lines ``##### msuinspect begin NAME #####`` and ``##### msuinspect end NAME exit=N #####``
(``N`` is the command's exit code: ``reg query`` gives 1 when the key does not exist).
Each section keeps its own encoding (``wmic`` is piped through ``more`` so it arrives in
the OEM code page like the rest, but a UTF-16 section would still be read), so the file is
split on the marker bytes first and every section is decoded on its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from msuinspect.host.textio import MAX_EVIDENCE_BYTES, decode

COLLECTOR_VERSION = 1
HEADER = f"##### msuinspect-evidence {COLLECTOR_VERSION} #####"

_CBS = r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing"


@dataclass(frozen=True, slots=True)
class Section:
    name: str
    command: str  # as run by cmd.exe (before redirection)
    kind: str  # the importer that reads it
    absent_fact: tuple[str, bool] | None = None  # (field, value) when reg query exits 1
    purpose: str = ""


SECTIONS: tuple[Section, ...] = (
    Section("systeminfo", "systeminfo", "systeminfo", None, "OS, build, architecture, hotfixes"),
    Section("wmic-qfe", "wmic qfe list full", "wmic-qfe", None, "installed updates with dates"),
    Section(
        "reg-cbs-packages",
        f'reg query "{_CBS}\\Packages" /s /v CurrentState',
        "reg-query",
        None,
        "CBS package identities, versions and states",
    ),
    Section(
        "reg-cbs-version",
        f'reg query "{_CBS}\\Version"',
        "reg-query",
        None,
        "servicing stack version",
    ),
    Section(
        "reg-cbs-rebootpending",
        f'reg query "{_CBS}\\RebootPending"',
        "reg-query",
        ("pending_restart", False),
        "pending restart",
    ),
    Section(
        "reg-currentversion",
        r'reg query "HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion"',
        "reg-query",
        None,
        "BuildLabEx: build, revision, architecture",
    ),
    Section(
        "reg-sha2",
        r'reg query "HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Servicing\Codesigning\SHA2"',
        "reg-query",
        ("sha2_flags", False),
        "SHA-2 code-signing flags",
    ),
    Section("certutil-root", "certutil -store root", "certutil", None, "roots (Root store)"),
    Section(
        "certutil-authroot", "certutil -store authroot", "certutil", None, "roots (AuthRoot store)"
    ),
    Section(
        "slmgr",
        r'cscript //nologo "%windir%\system32\slmgr.vbs" /dlv all',
        "slmgr",
        None,
        "ESU licence and activation",
    ),
)
SECTION_BY_NAME = {s.name: s for s in SECTIONS}


def collector_script() -> str:
    """The ``.cmd`` script: ASCII, CRLF line ends, cmd.exe only (no PowerShell)."""
    lines = [
        "@echo off",
        f"rem msuinspect host collector {COLLECTOR_VERSION}: writes the evidence that",
        'rem "msuinspect host import FILE" reads, as one file. It only reads the system.',
        "rem Run it in an elevated command prompt (systeminfo lists hotfixes only then).",
        "rem Usage: collect.cmd [OUTPUT-FILE]   default: %COMPUTERNAME%-evidence.txt",
        "setlocal",
        'set "OUT=%~1"',
        'if "%OUT%"=="" set "OUT=%COMPUTERNAME%-evidence.txt"',
        f'>"%OUT%" echo {HEADER}',
    ]
    for s in SECTIONS:
        lines.append(f"rem {s.purpose}")
        lines.append(f'>>"%OUT%" echo ##### msuinspect begin {s.name} #####')
        if s.kind == "wmic-qfe":
            # wmic writes UTF-16 when redirected; through a pipe and more it writes text
            lines.append(f'{s.command} 2>&1 | more >>"%OUT%"')
        else:
            lines.append(f'{s.command} >>"%OUT%" 2>&1')
        lines.append(f'>>"%OUT%" echo ##### msuinspect end {s.name} exit=%ERRORLEVEL% #####')
    lines += ['echo msuinspect: evidence written to "%OUT%"', "endlocal", ""]
    text = "\r\n".join(lines)
    text.encode("ascii")  # the script must stay ASCII
    return text


_MARK = re.compile(
    rb"^#{5} msuinspect (begin|end) ([a-z0-9-]{1,40})(?: exit=(-?\d{1,12}))? ?#{5}[ \t]*\r*$",
    re.MULTILINE,
)
_MARK_TEXT = re.compile(
    r"^#{5} msuinspect (begin|end) ([a-z0-9-]{1,40})(?: exit=(-?\d{1,12}))? ?#{5}[ \t]*\r*$",
    re.MULTILINE,
)


@dataclass(frozen=True, slots=True)
class RawSection:
    name: str
    data: bytes | None  # raw bytes (each section decoded on its own)
    text: str | None  # already decoded (the whole file was UTF-16)
    first_line: int  # file line number of the section's first line
    exit_code: int | None  # None: no end marker (truncated)


def is_collector(data: bytes) -> bool:
    head = data[:4096]
    if b"msuinspect-evidence" in head or _MARK.search(head):
        return True
    return b"m\x00s\x00u\x00i\x00n\x00s\x00p\x00e\x00c\x00t\x00" in head


def _newlines(chunk: bytes | str) -> int:
    if isinstance(chunk, bytes):
        return chunk.count(b"\n")
    return chunk.count("\n")


def split_sections(data: bytes, *, name: str) -> list[RawSection]:
    """The sections of a collector file, in file order."""
    if len(data) > MAX_EVIDENCE_BYTES:
        decode(data, name=name)  # raises the size error
    if b"#\x00#\x00" in data[:8192]:  # the whole file is UTF-16 (re-encoded copy)
        text, _enc = decode(data, name=name)
        return _split_text(text)
    marks = list(_MARK.finditer(data))
    out: list[RawSection] = []
    for i, m in enumerate(marks):
        if m.group(1) != b"begin":
            continue
        sec = m.group(2).decode("ascii")
        body_start = m.end() + 1
        nxt = marks[i + 1] if i + 1 < len(marks) else None
        body_end = nxt.start() if nxt else len(data)
        ended = nxt is not None and nxt.group(1) == b"end" and nxt.group(2) == m.group(2)
        code = int(nxt.group(3)) if ended and nxt is not None and nxt.group(3) else None
        out.append(
            RawSection(
                sec,
                data[body_start:body_end],
                None,
                _newlines(data[:body_start]) + 1,
                code if ended else None,
            )
        )
    return out


def _split_text(text: str) -> list[RawSection]:
    marks = list(_MARK_TEXT.finditer(text))
    out: list[RawSection] = []
    for i, m in enumerate(marks):
        if m.group(1) != "begin":
            continue
        body_start = m.end() + 1
        nxt = marks[i + 1] if i + 1 < len(marks) else None
        body_end = nxt.start() if nxt else len(text)
        ended = nxt is not None and nxt.group(1) == "end" and nxt.group(2) == m.group(2)
        code = int(nxt.group(3)) if ended and nxt is not None and nxt.group(3) else None
        out.append(
            RawSection(
                m.group(2),
                None,
                text[body_start:body_end],
                _newlines(text[:body_start]) + 1,
                code if ended else None,
            )
        )
    return out
