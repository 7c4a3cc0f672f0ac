"""Signatures on every layer: a cabinet or MSU, the cabinets inside it, and every PE file,
catalog and PKCS#7 blob among their members, each reported under its node path
(``outer.msu!/inner.cab!/update.cat``).

Containers are decoded once (plus once per nested cabinet for its own signature);
members to inspect are held in memory only while they are checked.
"""

from __future__ import annotations

import datetime as _dt
import os

from msuinspect.authenticode.inspect import (
    FileKind,
    FileReport,
    inspect_file,
    inspect_source,
    sniff,
)
from msuinspect.authenticode.trust import TrustStore
from msuinspect.cab.container import open_cabinet_file
from msuinspect.cab.nested import MemberSource, looks_like_cabinet
from msuinspect.cab.tree import ContainerNode, MemberNode, scan
from msuinspect.errors import MsuInspectError
from msuinspect.source import BytesSource

_MEMBER_KINDS = (FileKind.PE, FileKind.PKCS7)


class _Inspector:
    """The scan hook: inspects PE files and PKCS#7 members as they are decoded."""

    def __init__(self, trust: TrustStore, as_of: _dt.datetime, file_hashes: bool) -> None:
        self.trust = trust
        self.as_of = as_of
        self.file_hashes = file_hashes
        self.reports: dict[str, FileReport] = {}

    def wants(self, node: MemberNode, head: bytes) -> bool:
        return sniff(head) in _MEMBER_KINDS and not looks_like_cabinet(head)

    def take(self, node: MemberNode, data: bytes) -> None:
        self.reports[node.path] = inspect_source(
            BytesSource(data, node.path),
            self.trust,
            as_of=self.as_of,
            file_hashes=self.file_hashes,
        )


def inspect_deep(
    path: str | os.PathLike[str],
    trust: TrustStore,
    *,
    as_of: _dt.datetime | None = None,
    file_hashes: bool = True,
) -> list[FileReport]:
    """The report of the file, then one per signed layer inside it, depth first."""
    as_of = as_of or _dt.datetime.now(_dt.UTC)
    top = inspect_file(path, trust, as_of=as_of, file_hashes=file_hashes)
    reports = [top]
    if top.error is not None or top.kind not in (FileKind.CAB, FileKind.MSU):
        return reports
    try:
        cf = open_cabinet_file(os.fspath(path))
        inspector = _Inspector(trust, as_of, file_hashes)
        for unit in cf.units:
            tree = scan(unit, decode=True, hashes=False, recursive=True, hook=inspector)
            _collect(tree, inspector, trust, as_of, file_hashes, reports)
    except MsuInspectError as exc:
        top.error = exc
    return reports


def _collect(
    node: ContainerNode,
    inspector: _Inspector,
    trust: TrustStore,
    as_of: _dt.datetime,
    file_hashes: bool,
    out: list[FileReport],
) -> None:
    for mn in node.members:
        if mn.child is not None:
            out.append(
                inspect_source(
                    MemberSource(node.store, mn.member), trust, as_of=as_of, file_hashes=file_hashes
                )
            )
            _collect(mn.child, inspector, trust, as_of, file_hashes, out)
        elif mn.path in inspector.reports:
            out.append(inspector.reports[mn.path])
