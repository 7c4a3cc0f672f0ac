"""Turn a downloaded file into its package tree: containers, members, parsed metadata,
signatures on every layer, and catalog coverage per cabinet.

Each cabinet is decoded once: every member is hashed (SHA-1, SHA-256) as it streams by;
members worth a closer look (PE files, catalogs, manifests, properties, XML, nested
cabinets) are held in memory, up to ``Limits.max_in_memory``, and examined as soon as they
are complete, so a nested cabinet is verified and walked from memory without decoding its
parent again. A nested cabinet larger than that is read as a replayed stream of its parent's
folder (re-decoded; no temporary files).
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from msuinspect.authenticode.formats import SIGNABLE_KINDS, FileKind
from msuinspect.authenticode.inspect import FileReport, inspect_source
from msuinspect.authenticode.trust import TrustStore
from msuinspect.cab.cabinet import Cabinet
from msuinspect.cab.container import CabinetFile, open_cabinet_file
from msuinspect.cab.nested import MemberSource, looks_like_cabinet, open_nested
from msuinspect.cab.store import MemberStore
from msuinspect.cab.tree import MemberNode, scan
from msuinspect.cms.signed_data import SignedDataView
from msuinspect.errors import MsuInspectError
from msuinspect.findings import Finding, Severity
from msuinspect.limits import Limits
from msuinspect.package.catalog import Catalog, parse_catalog
from msuinspect.package.cix import ContainerIndex, parse_cix
from msuinspect.package.coverage import apply_coverage
from msuinspect.package.kinds import NOT_ANALYSED, NodeKind, cabinet_kind, sniff
from msuinspect.package.manifest import parse_manifest
from msuinspect.package.memo import Content, ContentMemo
from msuinspect.package.model import PackageNode
from msuinspect.package.mum import parse_mum
from msuinspect.package.properties import parse_properties
from msuinspect.package.summary import PackageSummary, summarise
from msuinspect.package.unattend import parse_unattend
from msuinspect.source import ByteSource, BytesSource, FileSource

LAYER = "package"
_HEAD = 4096
#: kinds whose bytes are kept (one member at a time) to be parsed or verified
_EXAMINED = {
    NodeKind.PE,
    NodeKind.PKCS7,
    NodeKind.MUM,
    NodeKind.MANIFEST,
    NodeKind.MANIFEST_COMPRESSED,
    NodeKind.PROPERTIES,
    NodeKind.UNATTEND,
    NodeKind.CONTAINER_INDEX,
    NodeKind.XML,
    NodeKind.TEXT,
}
_TEXT_LIMIT = 16 << 20


@dataclass(slots=True)
class PackageReport:
    """Everything known about one top-level file."""

    root: PackageNode
    summary: PackageSummary
    #: the signature report of the file itself (also on ``root.signatures`` when it is signed)
    file: FileReport
    findings: list[Finding] = field(default_factory=list)

    def all_findings(self) -> list[Finding]:
        return [*self.findings, *self.root.all_findings()]


class _Context:
    def __init__(
        self, trust: TrustStore, as_of: _dt.datetime, limits: Limits, memo: ContentMemo | None
    ) -> None:
        self.trust = trust
        self.as_of = as_of
        self.limits = limits
        # Members with the same bytes get the same signature report, catalog and nested
        # cabinet layout, whatever their path: computed once per file, or once per batch
        # with the caller's memo. Microsoft cabinets repeat files (the same DLL under several
        # names, the same catalog in several copies of a payload).
        self.memo = memo if memo is not None else ContentMemo()
        self.memo.settle(trust, as_of, limits)


def analyse_file(
    path: str | os.PathLike[str],
    trust: TrustStore,
    *,
    as_of: _dt.datetime | None = None,
    limits: Limits | None = None,
    memo: ContentMemo | None = None,
) -> PackageReport:
    """Analyse one file. Raises only for a file that cannot be opened at all."""
    source = FileSource(path)
    return analyse_source(source, trust, as_of=as_of, limits=limits, memo=memo)


def analyse_source(
    source: ByteSource,
    trust: TrustStore,
    *,
    as_of: _dt.datetime | None = None,
    limits: Limits | None = None,
    memo: ContentMemo | None = None,
) -> PackageReport:
    """Analyse one file. ``memo``, shared by the files of a batch, lets them share the
    results that depend only on bytes (:mod:`msuinspect.package.memo`); without ``as_of``
    they are validated at the memo's moment."""
    if as_of is None:
        as_of = memo.moment() if memo is not None else _dt.datetime.now(_dt.UTC)
    ctx = _Context(trust, as_of, limits or Limits(), memo)
    name = os.path.basename(source.display_name)
    with source.open() as f:
        head = f.read(_HEAD)
    kind = sniff(head, name)
    root = PackageNode(source.display_name, name, kind, source.size)
    # a cabinet is opened (its header parsed) once: the signature check gets the cabinet
    # at offset 0 that the walk below goes through
    cf: CabinetFile | None = None
    cf_error: MsuInspectError | None = None
    first: Cabinet | None = None
    if kind is NodeKind.CABINET:
        try:
            cf = open_cabinet_file(source, limits=ctx.limits)
        except MsuInspectError as exc:
            cf_error = exc
        else:
            first = next(
                (c for c in cf.cabinets if c.source is source and c.layout.base == 0), None
            )
    report = inspect_source(source, trust, as_of=ctx.as_of, cabinet=first, limits=ctx.limits)
    _remember_file(ctx, report, first)
    if kind in _EXAMINED and source.size <= ctx.limits.max_in_memory:
        with source.open() as f:
            data = f.read()
        _examine(root, data, ctx, report=report)
    else:
        _take_report(root, report)
    if kind is NodeKind.CABINET and report.error is None:
        try:
            if cf_error is not None:
                raise cf_error
            assert cf is not None
            if cf.units:
                root.kind = cabinet_kind([m.name for m in cf.units[0].members])
            for unit in cf.units:
                if root.kind is NodeKind.WSUS_METADATA:
                    _opaque(root, len(unit.members))
                else:
                    _walk(unit, root, ctx)
            root.findings.extend(cf.findings)
        except MsuInspectError as exc:
            root.findings.append(_error_finding(root.path, exc))
        root.kind = _container_kind(root)
    _not_analysed(root)
    summary = summarise(root)
    findings = list(summary.findings)
    return PackageReport(root, summary, report, findings)


def _remember_file(ctx: _Context, report: FileReport, cabinet: Cabinet | None) -> None:
    """Keep a top-level cabinet's report and layout for the rest of a batch: the same bytes
    come again inside an MSU (a folder holds the MSU and the cabinets extracted from it).
    Kept as a member's would be: without the whole-file hashes a member's report has no
    need of (the walk's own hashes say the same)."""
    if report.error is not None or report.sha256 is None:
        return
    if report.kind not in (FileKind.CAB, FileKind.MSU):
        return
    content = (report.sha256, report.size)
    if cabinet is not None and cabinet.layout.base == 0:
        ctx.memo.keep_layout(content, cabinet.parsed)
    ctx.memo.keep_report(content, replace(report, sha1=None, sha256=None, signed_data=None))


def _take_report(node: PackageNode, report: FileReport) -> None:
    # a member's SHA-1/SHA-256 come from the scan that decoded it; the report has them only
    # for a top-level file
    node.sha1, node.sha256 = report.sha1 or node.sha1, report.sha256 or node.sha256
    if report.authenticode_digests:
        node.pe_digests = dict(report.authenticode_digests)
    if report.signatures or report.kind in SIGNABLE_KINDS:
        node.signatures = report
    else:
        # not attached (e.g. a PKCS#7 file whose SignedData cannot be parsed): its findings
        # still belong to the node, or a broken signature would read as "unsigned, ok"
        node.findings.extend(f.with_path(node.path) for f in report.all_findings)
    if report.error is not None:
        node.findings.append(_error_finding(node.path, report.error))
    if report.kind is FileKind.CATALOG and node.kind is NodeKind.PKCS7:
        node.kind = NodeKind.CATALOG


def _error_finding(path: str, exc: MsuInspectError) -> Finding:
    return Finding(exc.code, Severity.ERROR, exc.message, LAYER, path=path, offset=exc.offset)


class _Hook:
    """Examines members as the scan decodes them (see :class:`msuinspect.cab.tree.ContentHook`)."""

    def __init__(self, on_member: Callable[[MemberNode, bytes], None]) -> None:
        self.on_member = on_member
        #: the kind of each member from its first bytes (the ``head`` the scan keeps), by path
        self.head_kinds: dict[str, NodeKind] = {}

    def head_kind(self, node: MemberNode) -> NodeKind:
        kind = self.head_kinds.get(node.path)
        if kind is None:
            kind = sniff(node.head, node.member.name)
        return kind

    def wants(self, node: MemberNode, head: bytes) -> bool:
        # the scan holds nothing larger than Limits.max_in_memory
        kind = self.head_kinds[node.path] = sniff(head, node.member.name)
        if kind is NodeKind.CABINET:
            return looks_like_cabinet(head)
        if kind in (NodeKind.PE, NodeKind.PKCS7):
            return True
        if kind in _EXAMINED:
            return node.member.size <= _TEXT_LIMIT
        # XML and text need more than 8 bytes to be told apart: keep small members
        return node.member.size <= 64 * 1024

    def take(self, node: MemberNode, data: bytes) -> None:
        self.on_member(node, data)


def _walk(store: MemberStore, container: PackageNode, ctx: _Context) -> None:
    """Fill ``container`` with the members of ``store``, recursively."""
    nodes: dict[str, PackageNode] = {}

    member_names = [m.name for m in store.members]
    expanded: set[str] = set()

    def on_member(mn: MemberNode, data: bytes) -> None:
        node = PackageNode(mn.path, mn.member.name, sniff(data[:_HEAD], mn.member.name), len(data))
        nodes[mn.path] = node
        if node.kind is NodeKind.CABINET:
            expanded.add(mn.path)
            _nested(store, mn, node, ctx, data)
        else:
            content = (mn.sha256, len(data)) if mn.sha256 is not None else None
            _examine(node, data, ctx, member_names, content=content)

    hook = _Hook(on_member)
    tree = scan(
        store,
        decode=True,
        hashes=True,
        recursive=False,
        algorithms=("sha1", "sha256"),
        hook=hook,
    )
    container.findings.extend(tree.findings)
    for mn in tree.members:
        node = nodes.get(mn.path)
        if node is None:
            kind = hook.head_kind(mn)
            node = PackageNode(mn.path, mn.member.name, kind, mn.member.size)
        node.sha1 = node.sha1 or mn.sha1
        node.sha256 = node.sha256 or mn.sha256
        if mn.error is not None:
            node.findings.append(_error_finding(mn.path, mn.error))
        container.children.append(node)
        if (
            node.kind is NodeKind.CABINET
            and mn.error is None
            and mn.path not in expanded
            and looks_like_cabinet(mn.head)
        ):
            _nested(store, mn, node, ctx)
    _apply_cix(container)
    container.findings.extend(apply_coverage(container))


def _nested(
    store: MemberStore,
    mn: MemberNode,
    node: PackageNode,
    ctx: _Context,
    data: bytes | None = None,
) -> None:
    """Verify and walk a nested cabinet: from ``data`` when the scan kept its bytes, else
    from a replayed stream of the parent's folder."""
    child: Cabinet | None = None
    error: MsuInspectError | None = None
    content = (mn.sha256, len(data)) if data is not None and mn.sha256 is not None else None
    parsed = ctx.memo.layout(content) if content is not None else None
    try:
        child = open_nested(store, mn.member, data, parsed=parsed)
    except MsuInspectError as exc:
        error = exc
    if child is not None and content is not None and parsed is None:
        ctx.memo.keep_layout(content, child.parsed)
    # the signature check reads the cabinet just opened (one header parse per cabinet)
    source: ByteSource
    if child is not None:
        source = child.source
    elif data is None:
        source = MemberSource(store, mn.member)
    else:
        source = BytesSource(data, mn.path)
    report = _signature_report(node, source, ctx, content, cabinet=child)
    _take_report(node, report)
    if child is None:
        assert error is not None
        node.findings.append(_error_finding(node.path, error))
        return
    node.kind = cabinet_kind([m.name for m in child.members])
    if node.kind is NodeKind.WSUS_METADATA:
        _opaque(node, len(child.members))
        return
    try:
        _walk(child, node, ctx)
    except MsuInspectError as exc:
        node.findings.append(_error_finding(node.path, exc))
    node.kind = _container_kind(node)


def _opaque(node: PackageNode, members: int) -> None:
    """WSUS metadata (the package.cab of WSUSSCAN.cab, domain.md 4.4) is applicability data
    for Windows Update: checked and counted, not expanded member by member."""
    node.findings.append(
        Finding(
            "opaque-container",
            Severity.INFO,
            f"{members} members of this Windows Update metadata cabinet are not expanded",
            LAYER,
            path=node.path,
            evidence={"members": members},
        )
    )


def _examine(
    node: PackageNode,
    data: bytes,
    ctx: _Context,
    siblings: list[str] | None = None,
    report: FileReport | None = None,
    content: Content | None = None,
) -> None:
    """Parse or verify one member held in memory, or a top-level file with its ``report``.

    ``content`` (the member's SHA-256 and size) lets members with the same bytes share one
    signature check and one catalog parse."""
    kind = node.kind
    try:
        if report is None and kind in (NodeKind.PE, NodeKind.PKCS7):
            report = _signature_report(node, BytesSource(data, node.path), ctx, content)
        view = None
        if report is not None:
            _take_report(node, report)
            view, report.signed_data = report.signed_data, None
        if node.kind is NodeKind.CATALOG:
            node.parsed = _catalog(data, view, ctx, content, node.path)
            node.findings.extend(node.parsed.findings)
        elif kind in (NodeKind.PE, NodeKind.PKCS7):
            pass  # verified above
        elif kind is NodeKind.MUM:
            node.parsed = parse_mum(data, limits=ctx.limits)
            node.findings.extend(node.parsed.findings)
        elif kind in (NodeKind.MANIFEST, NodeKind.MANIFEST_COMPRESSED):
            node.parsed = parse_manifest(data, limits=ctx.limits)
            node.findings.extend(node.parsed.findings)
        elif kind is NodeKind.PROPERTIES or node.name.casefold().endswith("-pkgproperties.txt"):
            node.kind = NodeKind.PROPERTIES
            node.parsed = parse_properties(data)
            node.findings.extend(node.parsed.findings)
        elif kind is NodeKind.UNATTEND:
            node.parsed = parse_unattend(data, package_members=siblings, limits=ctx.limits)
            node.findings.extend(node.parsed.findings)
        elif kind is NodeKind.CONTAINER_INDEX:
            node.parsed = parse_cix(data, limits=ctx.limits)
            node.findings.extend(node.parsed.findings)
    except MsuInspectError as exc:
        node.findings.append(_error_finding(node.path, exc))
    node.findings = [fi.with_path(node.path) for fi in node.findings]


def _signature_report(
    node: PackageNode,
    source: ByteSource,
    ctx: _Context,
    content: Content | None,
    *,
    cabinet: Cabinet | None = None,
) -> FileReport:
    """The signature report of a member (a nested ``cabinet`` already opened, if any),
    computed once per distinct content."""
    known = ctx.memo.report(content) if content is not None else None
    if known is not None:
        return _moved(known, node.path)
    report = inspect_source(
        source,
        ctx.trust,
        as_of=ctx.as_of,
        file_hashes=False,
        cabinet=cabinet,
        limits=ctx.limits,
    )
    if content is not None and report.error is None:
        ctx.memo.keep_report(content, report)
    return report


def _moved(report: FileReport, path: str) -> FileReport:
    """A copy of ``report`` for the same bytes at ``path``: the findings that name the
    report's path name ``path``."""
    old = report.path

    def at(fi: Finding) -> Finding:
        return replace(fi, path=path) if fi.path == old else fi

    return replace(
        report,
        path=path,
        signatures=[
            replace(sig, findings=[at(fi) for fi in sig.findings]) for sig in report.signatures
        ],
        findings=[at(fi) for fi in report.findings],
        authenticode_digests=dict(report.authenticode_digests),
        signed_data=None,
    )


def _catalog(
    data: bytes,
    view: SignedDataView | None,
    ctx: _Context,
    content: Content | None,
    path: str,
) -> Catalog:
    """The parsed catalog, once per distinct content; each node gets its own findings."""
    known = ctx.memo.catalog(content) if content is not None else None
    if known is not None:
        return replace(known, findings=tuple(replace(fi, path=path) for fi in known.findings))
    catalog = parse_catalog(data, view=view, path=path, limits=ctx.limits)
    if content is not None:
        ctx.memo.keep_catalog(content, catalog)
    return catalog


def _apply_cix(container: PackageNode) -> None:
    indexes = [c.parsed for c in container.children if isinstance(c.parsed, ContainerIndex)]
    if not indexes:
        return
    by_member = indexes[0].by_member()
    for child in container.children:
        f = by_member.get(child.name.casefold())
        if f is None:
            continue
        child.cix_name = f.name
        if f.source_type == "PA30" and child.kind is NodeKind.DATA:
            child.kind = NodeKind.DELTA_PA30


def _container_kind(node: PackageNode) -> NodeKind:
    """MSU anatomy from the members' kinds (by content); member names only for the PSFX
    generation, whose parts have no magic of their own."""
    names = {c.name.casefold() for c in node.children}
    kinds = {c.kind for c in node.children}
    if any(
        n.endswith(".psf") or "aggregatedmetadata" in n or n.startswith("desktopdeployment")
        for n in names
    ):
        return NodeKind.MSU_PSFX
    if NodeKind.WSUSSCAN in kinds and NodeKind.UPDATE_CAB in kinds:
        return NodeKind.MSU
    if NodeKind.MUM in kinds:
        return NodeKind.UPDATE_CAB
    return node.kind


def _not_analysed(root: PackageNode) -> None:
    seen: set[NodeKind] = set()
    for node in root.walk():
        why = NOT_ANALYSED.get(node.kind)
        if why is None or node.kind in seen:
            continue
        seen.add(node.kind)
        count = sum(1 for n in root.walk() if n.kind is node.kind)
        root.findings.append(
            Finding(
                "not-analysed",
                Severity.INFO,
                f"{count} node(s) are {why}; recognised, not analysed in depth",
                LAYER,
                path=node.path,
                evidence={"kind": node.kind.value, "count": count},
            )
        )
