"""JSON form of cabinet layouts, member trees and extraction reports (schema in
``docs/json-schema.md``)."""

from __future__ import annotations

from typing import Any

from msuinspect.cab.cabinet import Cabinet
from msuinspect.cab.decode import DecodeRecord
from msuinspect.cab.extract import ExtractReport
from msuinspect.cab.structs import SignatureArea
from msuinspect.cab.tree import ContainerNode, MemberNode
from msuinspect.cab.volumes import CabinetSet
from msuinspect.errors import MsuInspectError
from msuinspect.findings import Finding

LIST_SCHEMA = "msuinspect.list/1"
EXTRACT_SCHEMA = "msuinspect.extract/1"


def _text(b: bytes | None) -> str | None:
    return None if b is None else b.decode("latin-1")


def error_dict(exc: MsuInspectError | None) -> dict[str, Any] | None:
    if exc is None:
        return None
    return {"code": exc.code, "message": exc.message, "offset": exc.offset, "path": exc.path}


def signature_dict(sig: SignatureArea | None) -> dict[str, Any] | None:
    if sig is None:
        return None
    return {
        "reserve_offset": sig.reserve_offset,
        "offset": sig.offset,
        "size": sig.size,
        "der_length": sig.der_length,
        "within_file": sig.within_file,
        "bytes_after": sig.bytes_after,
        "reserve_tail_hex": sig.reserve_tail.hex(),
    }


def layout_dict(cab: Cabinet) -> dict[str, Any]:
    lay = cab.layout
    h = lay.header
    return {
        "path": cab.display_name,
        "offset": h.offset,
        "cb_cabinet": h.cb_cabinet,
        "source_size": lay.source_size,
        "version": h.version,
        "folders": [
            {
                "index": fo.index,
                "record_offset": fo.record_offset,
                "data_offset": h.offset + fo.coff_cab_start,
                "blocks": fo.c_cf_data,
                "compression": str(fo.compression),
                "compression_raw": fo.compression.raw,
                "reserve_hex": fo.reserve.hex(),
            }
            for fo in lay.folders
        ],
        "files_count": h.c_files,
        "flags": {
            "raw": h.flags,
            "prev_cabinet": h.has_prev,
            "next_cabinet": h.has_next,
            "reserve_present": h.has_reserve,
        },
        "set_id": h.set_id,
        "index_in_set": h.i_cabinet,
        "reserved": {"reserved1": h.reserved1, "reserved2": h.reserved2, "reserved3": h.reserved3},
        "reserve": {
            "header": h.cb_cf_header,
            "folder": h.cb_cf_folder,
            "data": h.cb_cf_data,
            "header_reserve_offset": h.header_reserve_offset,
            "header_reserve_hex": h.header_reserve[:64].hex(),
        },
        "prev_cabinet": _text(h.prev_cabinet),
        "prev_disk": _text(h.prev_disk),
        "next_cabinet": _text(h.next_cabinet),
        "next_disk": _text(h.next_disk),
        "offsets": {
            "set_strings": h.strings_offset,
            "folders": h.folders_offset,
            "folders_end": h.folders_end,
            "files": h.offset + h.coff_files,
            "files_end": lay.files_end,
            "cabinet_end": lay.end,
        },
        "signature": signature_dict(lay.signature),
    }


def decode_dict(r: DecodeRecord) -> dict[str, Any]:
    return {
        "path": r.path,
        "folder": r.folder,
        "compression": r.compression,
        "decoder": r.codec,
        "failed": [{"decoder": n, "error": e} for n, e in r.failures],
        "blocks": r.blocks,
        "compressed_bytes": r.compressed,
        "decoded_bytes": r.produced,
    }


def findings_list(findings: list[Finding]) -> list[dict[str, Any]]:
    return [f.to_dict() for f in findings]


def member_dict(n: MemberNode) -> dict[str, Any]:
    m = n.member
    dt = m.datetime
    return {
        "path": n.path,
        "index": m.index,
        "name": m.name,
        "raw_name_hex": m.raw_name.hex(),
        "name_is_utf8": m.name_is_utf8,
        "safe_name": m.safe_name,
        "name_flags": sorted(m.name_flags),
        "size": m.size,
        "folder": n.folder,
        "folder_index": m.folder_index,
        "offset_in_folder": m.offset,
        "compression": n.compression,
        "datetime": dt.isoformat() if dt else None,
        "attributes": m.attributes,
        "record_offset": m.record_offset,
        "sha256": n.sha256,
        "error": error_dict(n.error),
        "not_expanded": n.not_expanded,
        "cabinet": container_dict(n.child) if n.child is not None else None,
    }


def container_dict(node: ContainerNode) -> dict[str, Any]:
    store = node.store
    cabinets = store.cabinets if isinstance(store, CabinetSet) else [store]
    return {
        "path": node.path,
        "multivolume_set": isinstance(store, CabinetSet),
        "cabinets": [layout_dict(c) for c in cabinets if isinstance(c, Cabinet)],
        "members": [member_dict(m) for m in node.members],
        "decoding": [decode_dict(r) for r in node.decode_log],
        "findings": findings_list(node.findings),
    }


def extract_dict(rep: ExtractReport) -> dict[str, Any]:
    return {
        "schema": EXTRACT_SCHEMA,
        "output": rep.root,
        "files_written": rep.files_written,
        "bytes_written": rep.bytes_written,
        "selected": rep.selected,
        "entries": [
            {
                "path": e.node_path,
                "target": e.target,
                "size": e.size,
                "expanded": e.expanded,
                "skipped": e.skipped,
                "not_expanded": e.not_expanded,
                "error": error_dict(e.error),
            }
            for e in rep.entries
        ],
        "decoding": [decode_dict(r) for r in rep.decode_log],
        "findings": findings_list(rep.findings),
    }
