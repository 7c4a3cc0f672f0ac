"""The package tree: one node per file, container or member, each under its node path
(``outer.msu!/inner.cab!/update.mum``), carrying what was learnt about it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, TypeAlias

from msuinspect.authenticode.inspect import FileReport
from msuinspect.findings import Finding
from msuinspect.package.kinds import NodeKind

if TYPE_CHECKING:  # the parsers (lxml and all) load with the walk, not with the model
    from msuinspect.package.catalog import Catalog
    from msuinspect.package.cix import ContainerIndex
    from msuinspect.package.manifest import ComponentManifest
    from msuinspect.package.mum import PackageManifest
    from msuinspect.package.properties import PackageProperties
    from msuinspect.package.unattend import Unattend

    #: what a node's content parses into
    ParsedContent: TypeAlias = (
        Catalog
        | PackageManifest
        | ComponentManifest
        | PackageProperties
        | Unattend
        | ContainerIndex
    )


class CoverageStatus(StrEnum):
    COVERED = "covered"  #: a valid catalog of the cabinet lists this file's hash
    #: a valid catalog (signature verifies, trusted) lists this file by name, with another
    #: hash: the only direct evidence of an altered member
    MISMATCH = "mismatch"
    NOT_COVERED = "not-covered"  #: no valid catalog of the cabinet lists this file's hash
    #: the hash a catalog would list cannot be computed offline (a compressed manifest)
    NOT_ANALYSED = "not-analysed"
    UNREADABLE = "unreadable"  #: the member could not be decoded, so it was not hashed
    NOT_APPLICABLE = "not-applicable"  #: catalogs themselves, deltas


@dataclass(slots=True)
class Coverage:
    status: CoverageStatus
    catalog: str | None = None  #: node path of the catalog
    member: int | None = None  #: index of the catalog member
    algorithm: str | None = None
    hash_kind: str | None = None  #: ``flat`` or ``pe`` (Authenticode)
    #: that catalog is valid: its signature verifies and chains to a trusted root
    catalog_valid: bool | None = None
    detail: str | None = None


@dataclass(slots=True)
class PackageNode:
    path: str
    name: str
    kind: NodeKind
    size: int
    sha1: str | None = None
    sha256: str | None = None
    #: PE Authenticode digests (what catalogs list for PE members)
    pe_digests: dict[str, str] = field(default_factory=dict)
    #: the signature report, for signed kinds (cabinets, catalogs, PE files)
    signatures: FileReport | None = None
    #: the parsed content (see msuinspect.package), for the kinds that have one
    parsed: ParsedContent | None = None
    children: list[PackageNode] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    coverage: Coverage | None = None
    #: what the container index (_manifest_.cix.xml) says this member is, if anything
    cix_name: str | None = None

    def walk(self) -> Iterator[PackageNode]:
        yield self
        for c in self.children:
            yield from c.walk()

    def own_findings(self, *, with_signatures: bool = True) -> list[Finding]:
        """This node's findings, then its signature report's, each fact once: the cabinet
        layer and the signature report both note the signature area. Without
        ``with_signatures``, the node's findings that the report does not carry."""
        if self.signatures is None:
            return list(self.findings)
        carried = self.signatures.all_findings
        keys = {(f.code, f.offset) for f in carried}
        mine = [f for f in self.findings if (f.code, f.offset) not in keys]
        return mine + carried if with_signatures else mine

    def all_findings(self) -> list[Finding]:
        return [f for n in self.walk() for f in n.own_findings()]
