"""Catalog coverage inside one cabinet: is every member listed, by hash, in a catalog of
the same cabinet?

A catalog member is matched the way Windows matches it: PE files by their PE Authenticode
hash, other files by the hash of their bytes, in the catalog's hash algorithm (SHA-1 for
version 1 catalogs, SHA-256 for version 2). Only catalogs whose own signature verifies count
as covering; the package's metadata (``.mum`` and ``.manifest``) must be covered, or the
package gets an error finding.
"""

from __future__ import annotations

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
    matched: set[tuple[str, int]] = set()
    for node in container.children:
        if node.kind in _NOT_COVERABLE:
            node.coverage = Coverage(CoverageStatus.NOT_APPLICABLE)
            continue
        node.coverage = _cover(node, catalogs, valid, matched)
    # metadata no catalog lists, while entries of its kind (flat-hashed) match no file:
    # the file was probably altered. One of each pairs them by elimination.
    uncovered = [
        n
        for n in container.children
        if n.kind in METADATA
        and n.coverage is not None
        and n.coverage.status is CoverageStatus.NOT_COVERED
    ]
    leftover = [
        (cat, m)
        for cat in catalogs
        for m in cat.parsed.members
        if (cat.path, m.index) not in matched and m.digest is not None and m.sip is SipKind.FLAT
    ]
    distinct = {(m.digest_algorithm, m.digest) for _c, m in leftover}
    if uncovered and leftover:
        # several catalogs (a package and its _bf twin) may list the same file
        if len(uncovered) == 1 and len(distinct) == 1:
            cat, m = leftover[0]
            uncovered[0].coverage = _mismatch(
                cat,
                m,
                valid,
                f"the catalog's only unmatched entry of this kind ({_listed(m)}) must be this "
                "file's: paired by elimination",
            )
        else:
            for n in uncovered:
                n.coverage = Coverage(
                    CoverageStatus.MISMATCH_INFERRED,
                    detail=f"not listed, while the catalogs have {len(distinct)} flat entries "
                    "that match no file of this cabinet (inferred: probably altered)",
                )
    for node in container.children:
        cov = node.coverage
        if node.kind in METADATA and cov is not None and cov.status is not CoverageStatus.COVERED:
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


def _cover(
    node: PackageNode,
    catalogs: list[PackageNode],
    valid: dict[int, bool],
    matched: set[tuple[str, int]],
) -> Coverage:
    candidates: list[tuple[str, str, bytes]] = []  # (hash kind, algorithm, digest)
    for alg, hexd in node.pe_digests.items():
        candidates.append(("pe", alg, bytes.fromhex(hexd)))
    for alg, flat in (("sha1", node.sha1), ("sha256", node.sha256)):
        if flat:
            candidates.append(("flat", alg, bytes.fromhex(flat)))
    best: Coverage | None = None
    for cat in catalogs:
        catalog: Catalog = cat.parsed
        for kind, alg, digest in candidates:
            hits = catalog.find_digest(alg, digest)
            if not hits:
                continue
            for h in hits:  # every catalog listing this file, not only the first
                matched.add((cat.path, h.index))
            ok = valid[id(cat)]
            cov = Coverage(CoverageStatus.COVERED, cat.path, hits[0].index, alg, kind, ok)
            if best is None or (ok and not best.catalog_valid):
                best = cov
    if best is not None:
        return best
    # listed by name with another hash?
    for cat in catalogs:
        for m in _by_name(cat.parsed, node.name):
            return _mismatch(cat, m, valid, f"the catalog lists {m.file_name!r} with {_listed(m)}")
    return Coverage(CoverageStatus.NOT_COVERED)


def _by_name(catalog: Catalog, name: str) -> list[CatalogMember]:
    want = _norm(name)
    base = want.rsplit("\\", 1)[-1]
    out = []
    for m in catalog.members:
        if not m.file_name:
            continue
        fn = _norm(m.file_name)
        if fn == want or (("\\" not in fn) and fn == base):
            out.append(m)
    return out
