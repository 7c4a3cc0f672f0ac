"""Plain-text rendering of cabinet listings and extraction reports."""

from __future__ import annotations

from collections.abc import Callable

from msuinspect.cab.cabinet import Cabinet
from msuinspect.cab.codecs.base import Codec
from msuinspect.cab.decode import codec_order
from msuinspect.cab.extract import ExtractReport
from msuinspect.cab.tree import ContainerNode
from msuinspect.cab.volumes import CabinetSet
from msuinspect.findings import Finding
from msuinspect.report.terminal import escaping

Emit = Callable[[str], None]


def _flags(cab: Cabinet) -> str:
    h = cab.layout.header
    names = [
        n
        for n, on in (("PREV", h.has_prev), ("NEXT", h.has_next), ("RESERVE", h.has_reserve))
        if on
    ]
    return "|".join(names) or "none"


def render_layout(cab: Cabinet, codecs: list[Codec], emit: Emit, indent: str = "  ") -> None:
    emit = escaping(emit)
    lay = cab.layout
    h = lay.header
    emit(
        f"{indent}cabinet  v{h.version} at offset {h.offset}: {h.c_folders} folder(s), "
        f"{h.c_files} file(s), cbCabinet {h.cb_cabinet} of {lay.source_size - h.offset} bytes, "
        f"setID {h.set_id}, iCabinet {h.i_cabinet}, flags {_flags(cab)}"
    )
    if h.has_reserve:
        emit(
            f"{indent}reserve  header {h.cb_cf_header} B at {h.header_reserve_offset}, "
            f"folder {h.cb_cf_folder} B, data {h.cb_cf_data} B"
        )
    if h.has_prev:
        emit(f"{indent}previous {_s(h.prev_cabinet)} ({_s(h.prev_disk)})")
    if h.has_next:
        emit(f"{indent}next     {_s(h.next_cabinet)} ({_s(h.next_disk)})")
    emit(
        f"{indent}layout   CFFOLDER at {h.folders_offset}..{h.folders_end}, CFFILE at "
        f"{h.offset + h.coff_files}..{lay.files_end} (coffFiles {h.coff_files})"
    )
    sig = lay.signature
    if sig is not None:
        der = f", DER {sig.der_length} B" if sig.der_length is not None else ""
        after = f", {sig.bytes_after} B after it" if sig.bytes_after else ""
        emit(f"{indent}signature Authenticode blob at {sig.offset}, {sig.size} B{der}{after}")
    else:
        emit(f"{indent}signature none (no Authenticode reserve)")
    for fo in lay.folders:
        able = [c.key for c in codec_order(codecs, fo.compression)]
        plan = "decoders: " + (" > ".join(able) if able else "none available")
        emit(
            f"{indent}folder {fo.index}  {fo.compression}, {fo.c_cf_data} block(s), data at "
            f"{h.offset + fo.coff_cab_start}; {plan}"
        )


def _s(b: bytes | None) -> str:
    return "" if b is None else b.decode("latin-1")


def render_tree(node: ContainerNode, codecs: list[Codec], emit: Emit, depth: int = 0) -> None:
    emit = escaping(emit)
    pad = "  " * depth
    store = node.store
    if depth == 0:
        emit(node.path)
    if isinstance(store, CabinetSet):
        emit(f"{pad}  multi-volume set of {len(store.cabinets)} cabinet(s):")
        for cab in store.cabinets:
            emit(f"{pad}  - {cab.display_name}")
            render_layout(cab, codecs, emit, pad + "    ")
    elif isinstance(store, Cabinet):
        render_layout(store, codecs, emit, pad + "  ")
    hashed = any(m.sha256 for m in node.members)
    header = f"{pad}  {'#':>5} {'size':>12} {'folder':>6} {'offset':>10}  {'date':19}  attrs   "
    emit(header + ("sha256" + " " * 59 if hashed else "") + "name")
    for mn in node.members:
        m = mn.member
        dt = m.datetime
        date = dt.strftime("%Y-%m-%d %H:%M:%S") if dt else "invalid-date".ljust(19)
        folder = str(m.folder_index) if not m.continued else f"0x{m.folder_index:04x}"
        digest = (mn.sha256 or "-").ljust(64) + " " if hashed else ""
        emit(
            f"{pad}  {m.index:>5} {m.size:>12} {folder:>6} {m.offset:>10}  {date}  "
            f"{m.attribute_letters}  {digest}{m.name}"
        )
        if m.name_flags:
            emit(
                f"{pad}        ! unsafe name ({', '.join(sorted(m.name_flags))}); "
                f"extracted as {m.safe_name}"
            )
        if mn.error is not None:
            emit(f"{pad}        ! error: {mn.error.message} [{mn.error.code}]")
        if mn.not_expanded is not None:
            emit(f"{pad}        ! not expanded: {mn.not_expanded}")
        if mn.child is not None:
            emit(f"{pad}        -> {mn.path}")
            render_tree(mn.child, codecs, emit, depth + 4)
    for rec in node.decode_log:
        emit(f"{pad}  decoding: {rec.describe()}")
    render_findings(node.findings, emit, pad + "  ")


def render_findings(findings: list[Finding], emit: Emit, pad: str = "  ") -> None:
    emit = escaping(emit)
    for f in findings:
        where = f" at offset {f.offset}" if f.offset is not None else ""
        emit(f"{pad}{f.severity.value}: {f.code}: {f.message}{where}")


def render_extract(rep: ExtractReport, emit: Emit) -> None:
    emit = escaping(emit)
    for e in rep.entries:
        if e.error is not None:
            emit(f"  FAILED {e.node_path}: {e.error.message} [{e.error.code}]")
        elif e.not_expanded is not None:
            emit(f"  NOT EXPANDED {e.node_path}: {e.not_expanded}")
    for rec in rep.decode_log:
        emit(f"  decoding {rec.path}: {rec.describe()}")
    render_findings(rep.findings, emit)
    skipped = len(rep.skipped)
    unexpanded = len(rep.not_expanded)
    emit(
        f"extracted {rep.files_written} file(s), {rep.bytes_written} bytes, into {rep.root}"
        + (f"; {skipped} skipped (already there)" if skipped else "")
        + (f"; {unexpanded} nested cabinet(s) not expanded" if unexpanded else "")
        + (f"; {len(rep.failed)} failed" if rep.failed else "")
    )
