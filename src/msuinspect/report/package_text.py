"""Plain-text rendering of the package summary and tree."""

from __future__ import annotations

from collections.abc import Callable

from msuinspect.package.analyse import PackageReport
from msuinspect.package.catalog import Catalog
from msuinspect.package.kinds import NodeKind
from msuinspect.package.model import PackageNode
from msuinspect.report.cabinet_text import render_findings
from msuinspect.report.terminal import escaping

Emit = Callable[[str], None]


def render_summary(rep: PackageReport, emit: Emit) -> None:
    emit = escaping(emit)
    s = rep.summary
    emit(f"  package: {s.generation}")
    if s.kb_numbers:
        what = f"KB{', KB'.join(s.kb_numbers)}"
        rel = f' "{s.release_type}"' if s.release_type else ""
        emit(f"    {what}{rel}" + (f", restart {s.restart}" if s.restart else ""))
    if s.target_version:
        emit(
            f"    for Windows {s.target_version} ({s.target_product or 'unknown product'})"
            + (f", {s.architecture}" if s.architecture else "")
        )
    if s.parents:
        meaning = f" = {'; '.join(s.parent_meaning)}" if s.parent_meaning else ""
        emit(f"    parent: {', '.join(s.parents)}{meaning}")
    if s.component_version_min:
        extra = ""
        if s.carries_6003 is not None:
            extra = f"; 6003-level binaries: {'yes' if s.carries_6003 else 'no'}"
        emit(
            f"    {s.component_count} component(s), versions {s.component_version_min} .. "
            f"{s.component_version_max}{extra}"
        )
    if s.build_date:
        emit(f"    built: {s.build_date}")
    if s.esu_gated:
        emit(f"    ESU-gated (inferred): {', '.join(s.esu_evidence)}")
    if s.support_link:
        emit(f"    support: {s.support_link}")
    if s.catalog_versions:
        emit(f"    catalogs: version {', '.join(str(v) for v in s.catalog_versions)}")
    if s.coverage:
        emit("    coverage: " + ", ".join(f"{k} {v}" for k, v in sorted(s.coverage.items())))
    if s.download_name_sha1 and s.download_name_sha1 != "not-present":
        emit(f"    download name SHA-1: {s.download_name_sha1}")


def _node_line(n: PackageNode) -> str:
    parts = [f"{n.name}", f"[{n.kind.value}]", f"{n.size} B"]
    if n.signatures is not None:
        if n.signatures.trusted:
            trusted = ", trusted"
        else:
            trusted = ", partly trusted" if n.signatures.partly_trusted else ""
        parts.append(f"{n.signatures.signing.value}{trusted}")
    if isinstance(n.parsed, Catalog):
        c = n.parsed
        os_attr = ",".join(a.text for a in c.os_attr)
        parts.append(
            f"catalog v{c.version}, {len(c.members)} members"
            + (f", OSAttr {os_attr}" if os_attr else "")
        )
    if n.coverage is not None and n.coverage.status.value != "not-applicable":
        cov = n.coverage
        where = f" by {cov.catalog.rsplit('!/', 1)[-1]}" if cov.catalog else ""
        parts.append(f"{cov.status.value}{where}")
    if n.cix_name and n.cix_name.casefold() != n.name.casefold():
        parts.append(f"-> {n.cix_name}")
    return "  ".join(parts)


def render_tree(node: PackageNode, emit: Emit, depth: int = 0) -> None:
    emit = escaping(emit)
    pad = "    " + "  " * depth
    emit(pad + _node_line(node))
    deltas = [c for c in node.children if c.kind is NodeKind.DELTA_PA30]
    for c in node.children:
        if c.kind is NodeKind.DELTA_PA30:
            continue
        render_tree(c, emit, depth + 1)
    if deltas:
        size = sum(d.size for d in deltas)
        emit(f"{pad}  ... {len(deltas)} PA30 delta payload(s), {size} B (see --json for each)")


def render_package(rep: PackageReport, emit: Emit) -> None:
    emit = escaping(emit)
    render_summary(rep, emit)
    emit("  tree:")
    render_tree(rep.root, emit)
    render_findings(rep.all_findings(), emit)
