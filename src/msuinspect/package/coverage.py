"""Catalog coverage inside one cabinet: is every member listed, by hash, in a catalog of
the same cabinet?

A catalog member is matched the way Windows matches it: PE files by their PE Authenticode
hash only (never by a hash of the whole file), other files by the hash of their bytes, in
the catalog's hash algorithm (SHA-1 for version 1 catalogs, SHA-256 for version 2). Only
*valid* catalogs count as covering: their signature verifies and chains to a trusted root.
A member found only in a catalog that is not valid is ``not-covered`` (the detail says
which catalog and why it does not count).

"Altered" (``mismatch``) is said only on direct evidence: a valid catalog lists the member
by name with another hash. That evidence wins over a catalog that lists the member's hash
(two valid catalogs that disagree about a file are named together). Catalogs of Windows 6.x
packages carry no names for most members, so an unlisted member is ``not-covered``, a
compressed manifest ``not-analysed`` and an undecodable one ``unreadable``.

The package's metadata (``.mum`` and ``.manifest``) must be covered, or the package gets an
error finding; so must it when the cabinet holds no catalog at all. A payload file a valid
catalog contradicts is an error too (``member-hash-mismatch``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from msuinspect.authenticode.algorithms import canonical
from msuinspect.authenticode.inspect import primary_signature
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


def _why_invalid(node: PackageNode) -> str | None:
    """Why a catalog does not count as covering (None: it counts): it must be signed, every
    signature must verify (digest and signature value), and its primary signature must
    chain to a trusted root. A trusted nested signature does not do: anyone can attach one
    (an unsigned attribute), and a genuine catalog's signature attached to a forged list
    signs the genuine list, not this one."""
    rep = node.signatures
    if rep is None or not rep.signatures:
        return "which is not signed"
    if not all(s.digest_valid is not False and s.signature_valid for s in rep.signatures):
        return "whose signature does not verify"
    primary = primary_signature(rep.signatures)
    if primary is None or not primary.trusted:
        return "whose primary signature chains to no trusted root"
    return None


def _catalog(node: PackageNode) -> Catalog:
    """The catalog a node of :func:`apply_coverage`'s list holds (the list keeps only
    catalog nodes whose content parsed)."""
    return cast(Catalog, node.parsed)


def _unreadable(node: PackageNode) -> bool:
    return (
        node.sha1 is None
        and node.sha256 is None
        and any(f.severity is Severity.ERROR for f in node.findings)
    )


def apply_coverage(container: PackageNode) -> list[Finding]:
    """Set ``coverage`` on every direct member of ``container``; returns findings."""
    catalogs = [
        c
        for c in container.children
        if c.kind is NodeKind.CATALOG and isinstance(c.parsed, Catalog)
    ]
    if not catalogs:
        _no_catalog(container)
    else:
        _with_catalogs(container, catalogs)
    return _findings(container)


def _no_catalog(container: PackageNode) -> None:
    """A cabinet without a catalog covers nothing: its metadata is not covered (members
    that are not metadata get no coverage, as in a cabinet that is no package)."""
    for node in container.children:
        if node.kind not in METADATA:
            continue
        if _unreadable(node):
            node.coverage = Coverage(
                CoverageStatus.UNREADABLE, detail="the member could not be decoded"
            )
        else:
            node.coverage = Coverage(
                CoverageStatus.NOT_COVERED, detail="this cabinet holds no catalog"
            )


def _with_catalogs(container: PackageNode, catalogs: list[PackageNode]) -> None:
    why = {id(cat): _why_invalid(cat) for cat in catalogs}  # paths may repeat
    index = _Index(catalogs)
    matched: set[tuple[str, int]] = set()
    for node in container.children:
        if node.kind in _NOT_COVERABLE:
            node.coverage = Coverage(CoverageStatus.NOT_APPLICABLE)
            continue
        if _unreadable(node):
            node.coverage = Coverage(
                CoverageStatus.UNREADABLE, detail="the member could not be decoded"
            )
            continue
        node.coverage = _Matcher(node, catalogs, index, why, matched).coverage()
        if (
            node.kind is NodeKind.MANIFEST_COMPRESSED
            and node.coverage.status is CoverageStatus.NOT_COVERED
            and node.coverage.catalog is None  # no catalog lists it, valid or not
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
        if n.kind not in METADATA or cov is None or cov.status is not CoverageStatus.NOT_COVERED:
            continue
        if cov.detail is None and leftover:
            cov.detail = (
                f"no catalog lists its hash; {len(leftover)} flat catalog entries match no "
                "file of this cabinet"
            )
        cov.detail = cov.detail or "no catalog lists its hash"


def _findings(container: PackageNode) -> list[Finding]:
    findings: list[Finding] = []
    for node in container.children:
        cov = node.coverage
        if cov is None:
            continue
        evidence: dict[str, object] = {"status": cov.status.value}
        if cov.catalog is not None:
            evidence["catalog"] = cov.catalog
        said = f"{cov.status.value}{': ' + cov.detail if cov.detail else ''}"
        if node.kind in METADATA and cov.status in (
            CoverageStatus.NOT_COVERED,
            CoverageStatus.MISMATCH,
        ):
            findings.append(
                Finding(
                    "metadata-not-covered",
                    Severity.ERROR,
                    f"{node.name} is not covered by a valid catalog of this cabinet ({said})",
                    LAYER,
                    path=node.path,
                    evidence=evidence,
                )
            )
        elif cov.status is CoverageStatus.MISMATCH:
            findings.append(
                Finding(
                    "member-hash-mismatch",
                    Severity.ERROR,
                    f"{node.name} is altered: a catalog whose signature verifies lists this "
                    f"file with another hash ({cov.detail})",
                    LAYER,
                    path=node.path,
                    evidence=evidence,
                )
            )
        elif cov.status is CoverageStatus.NOT_COVERED and cov.catalog_valid is False:
            findings.append(
                Finding(
                    "covered-by-invalid-catalog",
                    Severity.WARNING,
                    f"{node.name} is not covered: {cov.detail}",
                    LAYER,
                    path=node.path,
                    evidence=evidence,
                )
            )
    return findings


def _listed(m: CatalogMember) -> str:
    return f"{m.digest_algorithm} {m.digest.hex() if m.digest else '-'}"


class _Index:
    """The members of every catalog of a cabinet by digest and by file name, built once, so
    matching a member costs a few lookups instead of a pass over every catalog.

    Entries keep catalog order (and member order within a catalog), which is what decides
    between several matches: see :class:`_Matcher`.
    """

    def __init__(self, catalogs: list[PackageNode]) -> None:
        #: (algorithm, digest) -> (catalog position, its members with that digest, in order)
        self.by_digest: dict[tuple[str, bytes], list[tuple[int, list[CatalogMember]]]] = {}
        #: normalised file name -> (catalog position, its members with that name, in order)
        self.by_name: dict[str, list[tuple[int, list[CatalogMember]]]] = {}
        for pos, cat in enumerate(catalogs):
            catalog = _catalog(cat)
            digests: dict[tuple[str, bytes], list[CatalogMember]] = {}
            names: dict[str, list[CatalogMember]] = {}
            for m in catalog.members:
                if m.digest is not None and m.digest_algorithm is not None:
                    digests.setdefault((m.digest_algorithm, m.digest), []).append(m)
                if m.file_name:
                    names.setdefault(_norm(m.file_name), []).append(m)
            for key, members in digests.items():
                self.by_digest.setdefault(key, []).append((pos, members))
            for fn, members in names.items():
                self.by_name.setdefault(fn, []).append((pos, members))

    def named(self, name: str) -> dict[int, list[CatalogMember]]:
        """Per catalog, its members called ``name``: by the full name where the catalog
        lists it so, else by its last component."""
        want = _norm(name)
        base = want.rsplit("\\", 1)[-1]
        out: dict[int, list[CatalogMember]] = {}
        for pos, members in self.by_name.get(want, ()):
            out.setdefault(pos, []).extend(members)
        if base != want:
            for pos, members in self.by_name.get(base, ()):
                out.setdefault(pos, members)
        return out


@dataclass(slots=True)
class _Hit:
    pos: int
    kind: str  #: "pe" or "flat"
    algorithm: str
    member: CatalogMember


class _Matcher:
    """The coverage of one member against the catalogs of its cabinet."""

    def __init__(
        self,
        node: PackageNode,
        catalogs: list[PackageNode],
        index: _Index,
        why: dict[int, str | None],
        matched: set[tuple[str, int]],
    ) -> None:
        self.node = node
        self.catalogs = catalogs
        self.index = index
        self.why = why
        self.matched = matched
        flat = {
            canonical(a): bytes.fromhex(h)
            for a, h in (("sha1", node.sha1), ("sha256", node.sha256))
            if h
        }
        pe = {canonical(a.lower()): bytes.fromhex(h) for a, h in node.pe_digests.items()}
        self.is_pe = node.kind is NodeKind.PE or bool(pe)
        #: the hashes Windows would look up: PE Authenticode for PE files, else flat
        self.hashes = pe if self.is_pe else flat
        self.kind = "pe" if self.is_pe else "flat"
        #: a PE file's flat hashes: listed, they are the wrong kind of hash, not another file
        self.flat = flat if self.is_pe else {}

    def _valid(self, pos: int) -> bool:
        return self.why[id(self.catalogs[pos])] is None

    def _hits(self, hashes: dict[str, bytes], kind: str) -> list[_Hit]:
        out: list[_Hit] = []
        for alg, digest in hashes.items():
            for pos, members in self.index.by_digest.get((alg, digest), ()):
                out.append(_Hit(pos, kind, alg, members[0]))
                for m in members:  # every catalog listing this file, not only the first
                    self.matched.add((self.catalogs[pos].path, m.index))
        out.sort(key=lambda h: h.pos)
        return out

    def _disagreements(self) -> list[tuple[int, CatalogMember]]:
        """The valid catalogs that list this member by name, none of their entries of that
        name with the member's hash (compared in the entry's algorithm)."""
        out: list[tuple[int, CatalogMember]] = []
        for pos, members in sorted(self.index.named(self.node.name).items()):
            if not self._valid(pos):
                continue
            comparable = [
                m for m in members if m.digest is not None and m.digest_algorithm in self.hashes
            ]
            if not comparable:
                continue
            if any(m.digest == self.hashes[m.digest_algorithm or ""] for m in comparable):
                continue
            if any(m.digest == self.flat.get(m.digest_algorithm or "") for m in comparable):
                continue  # a PE file listed by its flat hash: see coverage()
            out.append((pos, comparable[0]))
        return out

    def coverage(self) -> Coverage:
        hits = self._hits(self.hashes, self.kind)
        flat_hits = self._hits(self.flat, "flat") if self.is_pe else []
        valid_hits = [h for h in hits if self._valid(h.pos)]
        against = self._disagreements()
        if against:
            return self._mismatch(against, valid_hits)
        if valid_hits:
            h = valid_hits[0]
            cat = self.catalogs[h.pos]
            return Coverage(
                CoverageStatus.COVERED, cat.path, h.member.index, h.algorithm, h.kind, True
            )
        if hits:
            h = hits[0]
            cat = self.catalogs[h.pos]
            return Coverage(
                CoverageStatus.NOT_COVERED,
                cat.path,
                h.member.index,
                h.algorithm,
                h.kind,
                False,
                f"listed only in {cat.name}, {self.why[id(cat)]}",
            )
        if flat_hits:
            h = flat_hits[0]
            cat = self.catalogs[h.pos]
            return Coverage(
                CoverageStatus.NOT_COVERED,
                cat.path,
                h.member.index,
                h.algorithm,
                "flat",
                self._valid(h.pos),
                f"{cat.name} lists the hash of the whole file; Windows matches a PE file "
                "by its PE Authenticode hash, which no catalog lists",
            )
        for pos, members in sorted(self.index.named(self.node.name).items()):
            cat = self.catalogs[pos]
            if not self._valid(pos) and members[0].digest is not None:
                return Coverage(
                    CoverageStatus.NOT_COVERED,
                    detail=f"listed by name in {cat.name}, {self.why[id(cat)]}, with "
                    f"another hash ({_listed(members[0])})",
                )
        return Coverage(CoverageStatus.NOT_COVERED)

    def _mismatch(
        self, against: list[tuple[int, CatalogMember]], valid_hits: list[_Hit]
    ) -> Coverage:
        pos, m = against[0]
        cat = self.catalogs[pos]
        said = [
            f"{self.catalogs[p].name} lists {x.file_name!r} with {_listed(x)}" for p, x in against
        ]
        agree = sorted({self.catalogs[h.pos].name for h in valid_hits})
        if agree:
            said.append(f"{', '.join(agree)} list{'s' if len(agree) == 1 else ''} this file's hash")
        return Coverage(
            CoverageStatus.MISMATCH,
            cat.path,
            m.index,
            m.digest_algorithm,
            m.sip.value,
            True,
            "; ".join(said),
        )
