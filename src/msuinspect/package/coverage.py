"""Catalog coverage inside one cabinet: is every member listed, by hash, in a catalog of
the same cabinet?

A catalog member is matched the way Windows matches it: PE files by their PE Authenticode
hash, other files by the hash of their bytes, in the catalog's hash algorithm (SHA-1 for
version 1 catalogs, SHA-256 for version 2). Only catalogs whose own signature verifies count
as covering; the package's metadata (``.mum`` and ``.manifest``) must be covered, or the
package gets an error finding. "Altered" (``mismatch``) is said only on direct evidence: a
catalog whose signature verifies lists the member by name with a different hash. Catalogs
of Windows 6.x packages carry no names for most members, so an unlisted member is
``not-covered``, a compressed manifest ``not-analysed`` and an undecodable one
``unreadable``.
"""

from __future__ import annotations

from typing import cast

from msuinspect.authenticode.algorithms import canonical
from msuinspect.findings import Finding, Severity
from msuinspect.package.catalog import Catalog, CatalogMember, SipKind
from msuinspect.package.kinds import NodeKind
from msuinspect.package.model import Coverage, CoverageStatus, PackageNode

LAYER = "package"
METADATA = (NodeKind.MUM, NodeKind.MANIFEST, NodeKind.MANIFEST_COMPRESSED)
#: catalogs do not list themselves; a delta is not the file it produces (the catalogs and
#: manifests list the produced file, which cannot be rebuilt offline)
_NOT_COVERABLE = (NodeKind.CATALOG, NodeKind.DELTA_PA30)


def _norm(name: str) -> str:
    return name.replace("/", "\\").casefold()


def _catalog_valid(node: PackageNode) -> bool:
    rep = node.signatures
    return bool(
        rep is not None
        and rep.signatures
        and all(s.digest_valid is not False and s.signature_valid for s in rep.signatures)
    )


def _catalog(node: PackageNode) -> Catalog:
    """The catalog a node of :func:`apply_coverage`'s list holds (the list keeps only
    catalog nodes whose content parsed)."""
    return cast(Catalog, node.parsed)


def apply_coverage(container: PackageNode) -> list[Finding]:
    """Set ``coverage`` on every direct member of ``container``; returns findings."""
    catalogs = [
        c
        for c in container.children
        if c.kind is NodeKind.CATALOG and isinstance(c.parsed, Catalog)
    ]
    findings: list[Finding] = []
    if not catalogs:
        return findings
    valid = {id(cat): _catalog_valid(cat) for cat in catalogs}  # paths may repeat
    index = _Index(catalogs)
    matched: set[tuple[str, int]] = set()
    for node in container.children:
        if node.kind in _NOT_COVERABLE:
            node.coverage = Coverage(CoverageStatus.NOT_APPLICABLE)
            continue
        if (
            node.sha1 is None
            and node.sha256 is None
            and any(f.severity is Severity.ERROR for f in node.findings)
        ):
            node.coverage = Coverage(
                CoverageStatus.UNREADABLE, detail="the member could not be decoded"
            )
            continue
        node.coverage = _cover(node, catalogs, index, valid, matched)
        if node.coverage.status is CoverageStatus.NOT_COVERED and node.kind is (
            NodeKind.MANIFEST_COMPRESSED
        ):
            node.coverage = Coverage(
                CoverageStatus.NOT_ANALYSED,
                detail="a compressed manifest: catalogs list the expanded manifest, which "
                "cannot be rebuilt offline",
            )
    # metadata no catalog lists: say how many flat entries of the catalogs match no file,
    # as context; pairing them with files "by elimination" would be a guess, not evidence
    leftover = {
        (m.digest_algorithm, m.digest)
        for cat in catalogs
        for m in _catalog(cat).members
        if (cat.path, m.index) not in matched and m.digest is not None and m.sip is SipKind.FLAT
    }
    for n in container.children:
        cov = n.coverage
        if n.kind in METADATA and cov is not None and cov.status is CoverageStatus.NOT_COVERED:
            n.coverage = Coverage(
                CoverageStatus.NOT_COVERED,
                detail=f"no catalog lists its hash; {len(leftover)} flat catalog entries "
                "match no file of this cabinet"
                if leftover
                else "no catalog lists its hash",
            )
    for node in container.children:
        cov = node.coverage
        if (
            node.kind in METADATA
            and cov is not None
            and cov.status in (CoverageStatus.NOT_COVERED, CoverageStatus.MISMATCH)
        ):
            findings.append(
                Finding(
                    "metadata-not-covered",
                    Severity.ERROR,
                    f"{node.name} is not covered by a valid catalog of this cabinet "
                    f"({cov.status.value}{': ' + cov.detail if cov.detail else ''})",
                    LAYER,
                    path=node.path,
                    evidence={"status": cov.status.value},
                )
            )
        elif cov is not None and cov.status is CoverageStatus.COVERED and not cov.catalog_valid:
            findings.append(
                Finding(
                    "covered-by-invalid-catalog",
                    Severity.ERROR if node.kind in METADATA else Severity.WARNING,
                    f"{node.name} is listed only in a catalog whose signature does not verify",
                    LAYER,
                    path=node.path,
                )
            )
    return findings


def _listed(m: CatalogMember) -> str:
    return f"{m.digest_algorithm} {m.digest.hex() if m.digest else '-'}"


def _mismatch(cat: PackageNode, m: CatalogMember, valid: dict[int, bool], detail: str) -> Coverage:
    return Coverage(
        CoverageStatus.MISMATCH,
        cat.path,
        m.index,
        m.digest_algorithm,
        m.sip.value,
        valid[id(cat)],
        detail,
    )


class _Index:
    """The members of every catalog of a cabinet by digest and by file name, built once, so
    matching a member costs a few lookups instead of a pass over every catalog.

    Entries keep catalog order (and member order within a catalog), which is what decides
    between several matches: see :func:`_cover`.
    """

    def __init__(self, catalogs: list[PackageNode]) -> None:
        #: (algorithm, digest) -> (catalog position, its members with that digest, in order)
        self.by_digest: dict[tuple[str, bytes], list[tuple[int, list[CatalogMember]]]] = {}
        #: normalised file name -> (catalog position, member position, the first such member)
        self.by_name: dict[str, list[tuple[int, int, CatalogMember]]] = {}
        for pos, cat in enumerate(catalogs):
            catalog = _catalog(cat)
            digests: dict[tuple[str, bytes], list[CatalogMember]] = {}
            names: dict[str, tuple[int, CatalogMember]] = {}
            for mpos, m in enumerate(catalog.members):
                if m.digest is not None and m.digest_algorithm is not None:
                    digests.setdefault((m.digest_algorithm, m.digest), []).append(m)
                if m.file_name:
                    names.setdefault(_norm(m.file_name), (mpos, m))
            for key, members in digests.items():
                self.by_digest.setdefault(key, []).append((pos, members))
            for fn, (mpos, m) in names.items():
                self.by_name.setdefault(fn, []).append((pos, mpos, m))

    def first_by_name(self, name: str) -> tuple[int, CatalogMember] | None:
        """The first catalog listing a file called ``name`` (its full name, or its last
        component for names without a folder), with its first such member."""
        want = _norm(name)
        base = want.rsplit("\\", 1)[-1]
        found = [*self.by_name.get(want, ())]
        if base != want:
            found += self.by_name.get(base, ())
        if not found:
            return None
        pos, _mpos, m = min(found, key=lambda e: (e[0], e[1]))
        return pos, m


def _cover(
    node: PackageNode,
    catalogs: list[PackageNode],
    index: _Index,
    valid: dict[int, bool],
    matched: set[tuple[str, int]],
) -> Coverage:
    candidates: list[tuple[str, str, bytes]] = []  # (hash kind, algorithm, digest)
    for alg, hexd in node.pe_digests.items():
        candidates.append(("pe", alg, bytes.fromhex(hexd)))
    for alg, flat in (("sha1", node.sha1), ("sha256", node.sha256)):
        if flat:
            candidates.append(("flat", alg, bytes.fromhex(flat)))
    # every (catalog, candidate) pair with hits, in catalog order then candidate order
    pairs: list[tuple[int, int, str, str, list[CatalogMember]]] = []
    for cpos, (kind, alg, digest) in enumerate(candidates):
        for pos, hits in index.by_digest.get((canonical(alg.lower()), digest), ()):
            pairs.append((pos, cpos, kind, alg, hits))
    pairs.sort(key=lambda p: (p[0], p[1]))
    best: Coverage | None = None
    for pos, _cpos, kind, alg, hits in pairs:
        cat = catalogs[pos]
        for h in hits:  # every catalog listing this file, not only the first
            matched.add((cat.path, h.index))
        ok = valid[id(cat)]
        cov = Coverage(CoverageStatus.COVERED, cat.path, hits[0].index, alg, kind, ok)
        if best is None or (ok and not best.catalog_valid):
            best = cov
    if best is not None:
        return best
    # listed by name with another hash: direct evidence only from a catalog that verifies
    named = index.first_by_name(node.name)
    if named is not None:
        pos, m = named
        cat = catalogs[pos]
        if valid[id(cat)]:
            return _mismatch(cat, m, valid, f"the catalog lists {m.file_name!r} with {_listed(m)}")
        return Coverage(
            CoverageStatus.NOT_COVERED,
            detail=f"listed by name in {cat.name}, whose signature does not verify, with "
            f"another hash ({_listed(m)})",
        )
    return Coverage(CoverageStatus.NOT_COVERED)
