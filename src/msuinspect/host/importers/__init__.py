"""Evidence importers and the dispatcher that recognises each format by its content.

One module per format: :mod:`.systeminfo`, :mod:`.wmic` (``wmic qfe``), :mod:`.gethotfix`
(PowerShell ``Get-HotFix``), :mod:`.regquery` (``reg query``), :mod:`.certutil`
(``certutil -store``), :mod:`.slmgr` (``slmgr /dlv all``) and :mod:`.collector` (the file
``msuinspect host collector`` makes, holding all of them). The file name never decides.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from msuinspect.host.errors import EvidenceError
from msuinspect.host.evidence import EvidenceRead, Fact, MixedEvidenceError, where
from msuinspect.host.importers import (
    certutil,
    collector,
    gethotfix,
    regquery,
    slmgr,
    systeminfo,
    wmic,
)
from msuinspect.host.textio import Line, decode, split_lines

Sniff = Callable[[Sequence[Line]], bool]
Parse = Callable[..., EvidenceRead]

#: kind -> (sniff, parse), in the order the dispatcher tries them
IMPORTERS: dict[str, tuple[Sniff, Parse]] = {
    certutil.KIND: (certutil.sniff, certutil.parse),
    slmgr.KIND: (slmgr.sniff, slmgr.parse),
    regquery.KIND: (regquery.sniff, regquery.parse),
    wmic.KIND: (wmic.sniff, wmic.parse),
    gethotfix.KIND: (gethotfix.sniff, gethotfix.parse),
    systeminfo.KIND: (systeminfo.sniff, systeminfo.parse),
}

FORMATS_HELP = (
    "systeminfo, wmic qfe (list or CSV), Get-HotFix (table or Export-Csv), reg query "
    "(CBS Packages/Version/RebootPending, Windows NT\\CurrentVersion, Codesigning\\SHA2), "
    "certutil -store root/authroot, slmgr /dlv all, or a 'msuinspect host collector' file"
)


def sniff_kind(lines: Sequence[Line]) -> str | None:
    """The importer kind that recognises these lines, or ``None``."""
    for kind, (sniff, _parse) in IMPORTERS.items():
        if sniff(lines):
            return kind
    return None


def read_evidence(data: bytes, *, name: str) -> list[EvidenceRead]:
    """Read one evidence file (any supported format, or a collector file)."""
    if not data.strip(b"\x00\r\n\t \xff\xfe\xef\xbb\xbf"):
        raise EvidenceError("empty file", path=name)
    if collector.is_collector(data):
        return _read_collector(data, name=name)
    text, encoding = decode(data, name=name)
    lines = split_lines(text)
    kind = sniff_kind(lines)
    if kind is None:
        raise EvidenceError(f"not recognised as host evidence (expected {FORMATS_HELP})", path=name)
    read = IMPORTERS[kind][1](lines, source=name, encoding=encoding)
    if read.installed_complete and not text.endswith(("\n", "\r")):
        # every line a command prints ends with a line end: without one the file was cut
        read = EvidenceRead(
            read.source,
            read.kind,
            read.encoding,
            read.facts,
            read.installed,
            False,
            read.installed_where,
            (
                *read.notes,
                "the file does not end with a line end (cut short?): the list is partial",
            ),
        )
    return [read]


def _read_collector(data: bytes, *, name: str) -> list[EvidenceRead]:
    sections = collector.split_sections(data, name=name)
    if not sections:
        raise EvidenceError("collector file without any section (truncated?)", path=name)
    reads: list[EvidenceRead] = []
    seen: set[str] = set()
    for raw in sections:
        source = f"{name}[{raw.name}]"
        spec = collector.SECTION_BY_NAME.get(raw.name)
        if spec is None:
            reads.append(
                EvidenceRead(
                    source, "unknown", "", notes=(f"unknown section {raw.name!r} skipped",)
                )
            )
            continue
        seen.add(raw.name)
        if raw.text is not None:
            text, encoding = raw.text, "utf-16"
        else:
            assert raw.data is not None
            try:
                text, encoding = decode(raw.data, name=source)
            except EvidenceError as exc:
                reads.append(EvidenceRead(source, spec.kind, "", notes=(exc.message,)))
                continue
        lines = split_lines(text, first_line=raw.first_line)
        truncated = raw.exit_code is None
        if spec.absent_fact is not None and raw.exit_code == 1:
            field, value = spec.absent_fact
            at = where(name, raw.first_line)
            reads.append(
                EvidenceRead(
                    source, spec.kind, encoding, facts=(Fact(field, value, at, "key absent"),)
                )
            )
            continue
        if not any(ln.text.strip() for ln in lines):
            reads.append(EvidenceRead(source, spec.kind, encoding, notes=("section is empty",)))
            continue
        try:
            read = IMPORTERS[spec.kind][1](lines, source=name, encoding=encoding)
        except EvidenceError as exc:
            if exc.code == "not-6.0-host" or isinstance(exc, MixedEvidenceError):
                raise
            reads.append(EvidenceRead(source, spec.kind, encoding, notes=(exc.message,)))
            continue
        notes = read.notes
        complete = read.installed_complete
        if truncated:
            notes = (*notes, "no end marker: the section is truncated")
            complete = False
        facts, installed, where_ = read.facts, read.installed, read.installed_where
        if raw.exit_code not in (None, 0):
            # a command that failed tells nothing reliable, whatever it printed before
            notes = (
                *notes,
                f"the command exited with {raw.exit_code}: nothing is taken from this section",
            )
            facts, installed, complete, where_ = (), None, False, None
        reads.append(
            EvidenceRead(
                source,
                read.kind,
                read.encoding,
                facts,
                installed,
                complete,
                where_,
                notes,
            )
        )
    missing = [s.name for s in collector.SECTIONS if s.name not in seen]
    if missing:
        reads.append(
            EvidenceRead(name, "collector", "", notes=(f"sections missing: {', '.join(missing)}",))
        )
    return reads
