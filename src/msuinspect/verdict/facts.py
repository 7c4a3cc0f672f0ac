"""What the verdict needs to know about a package, taken from its analysed content.

:func:`package_facts` reads a :class:`~msuinspect.package.analyse.PackageReport` and keeps
exactly what the rules use: the signed layers with their signatures (file-digest
algorithm, primary or nested, the Microsoft root the chain ends at, timestamp, digest and
signature validity), catalog versions, and the package's identity, KB, target NT version,
architecture, parents, release date, release type and ESU marker — all from the signed
content (manifests, pkgProperties, unattend XML, catalogs). The file name is recorded in
``name_claims`` for reports and never decides anything.

Tests build :class:`PackageFacts` directly; the verdict is a pure function of it.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from msuinspect.authenticode.certs import describe
from msuinspect.authenticode.inspect import FileReport
from msuinspect.authenticode.signature import AuthenticodeSignature
from msuinspect.authenticode.trust import microsoft_roots
from msuinspect.host.profile import Root
from msuinspect.host.roots import root_by_thumbprint
from msuinspect.package.analyse import PackageReport
from msuinspect.package.catalog import Catalog
from msuinspect.package.kinds import NodeKind
from msuinspect.package.model import PackageNode
from msuinspect.package.mum import PackageManifest, parse_version
from msuinspect.package.properties import PackageProperties
from msuinspect.package.summary import PRODUCTS, applies_to_version, vouched
from msuinspect.package.unattend import Unattend


class Layer(StrEnum):
    OUTER_MSU = "outer-msu"
    INNER_CAB = "inner-cab"  #: the update cabinet (inside an MSU, or the file itself)
    CATALOG = "catalog"
    WSUSSCAN = "wsusscan"  #: Windows Update metadata; not known to be checked at install
    PE = "pe"  #: embedded PE signatures; PE payloads are covered by catalogs


#: layers a host checks before installing (verdict-facts 2, "how to combine the rules")
CHECKED_LAYERS = (Layer.OUTER_MSU, Layer.INNER_CAB, Layer.CATALOG)

LAYER_LABELS = {
    Layer.OUTER_MSU: "outer MSU",
    Layer.INNER_CAB: "update CAB",
    Layer.CATALOG: "catalog",
    Layer.WSUSSCAN: "WSUSSCAN.cab",
    Layer.PE: "PE file",
}

#: prefixes of :attr:`SignatureFact.root` for anchors the host model does not name
EXTRA_ROOT = "extra:"  #: a root given with --trust-root: counts as present on the host
OTHER_MICROSOFT_ROOT = "microsoft:"  #: another pinned Microsoft root (2014, 2017, 2018...)

#: parent package identities whose meaning is known (verdict-facts R3/R4, Q7)
SP2_PARENT = "package_for_kb948465"
FOUNDATION = "microsoft-windows-foundation-package"
SERVER_CORE = "microsoft-windows-servercore-package"
SERVER_FOUNDATION_VERSION = "6.0.6001.18000"
CLIENT_FOUNDATION_VERSION = "6.0.6000.16386"

_KB = re.compile(r"KB(\d{5,8})", re.IGNORECASE)
_FILE_NAME = re.compile(
    r"^windows(?P<ver>\d+\.\d+)-kb(?P<kb>\d+)(?:-v(?P<rev>\d+))?-(?P<arch>x64|x86|ia64|arm64)",
    re.IGNORECASE,
)
_ARCH = {"x64": "amd64", "amd64": "amd64", "x86": "x86", "ia64": "ia64", "arm64": "arm64"}
_MARKETING = {"7": "6.1", "7.0": "6.1", "8": "6.2", "8.0": "6.2", "8.1": "6.3"}


class ParentRole(StrEnum):
    SP2 = "sp2"  #: package_for_KB948465 (Service Pack 2)
    SERVER = "server"  #: Foundation 6.0.6001.18000 (Server 2008)
    SERVER_CORE = "server-core"  #: ServerCore 6.0.6001.18000
    CLIENT = "client"  #: Foundation 6.0.6000.16386 (Vista)
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class ParentFact:
    name: str
    version: str | None
    role: ParentRole

    @property
    def label(self) -> str:
        return f"{self.name} {self.version or '?'}"


@dataclass(frozen=True, slots=True)
class SignatureFact:
    """One signature of a layer, as a host would see it."""

    index: int
    nested: bool
    digest_algorithm: str  #: the file digest (the signer's digest for catalogs): sha1, sha256...
    signer_digest_algorithm: str = ""
    #: a :class:`Root` value, ``extra:<sha1>``, ``microsoft:<name>``, or None (no known anchor)
    root: str | None = None
    root_name: str | None = None
    chain_ok: bool | None = None  #: the chain validates at the signing (timestamp) moment
    chain_error: str | None = None  #: untrusted-root, expired, not-yet-valid, no-usage, invalid
    timestamp: _dt.datetime | None = None  #: the valid timestamp's time
    digest_ok: bool | None = None
    signature_ok: bool | None = None
    signer: str | None = None
    chain_hashes: tuple[str, ...] = ()  #: hash algorithms of the chain's certificate signatures

    @property
    def root_id(self) -> Root | None:
        if self.root is None:
            return None
        try:
            return Root(self.root)
        except ValueError:
            return None

    @property
    def is_extra_root(self) -> bool:
        return bool(self.root and self.root.startswith(EXTRA_ROOT))


@dataclass(frozen=True, slots=True)
class LayerFacts:
    layer: Layer
    path: str
    signatures: tuple[SignatureFact, ...]
    catalog_version: int | None = None  #: 1 (SHA-1 members) or 2 (SHA-256 members)

    @property
    def primary(self) -> SignatureFact | None:
        return next((s for s in self.signatures if not s.nested), None)

    @property
    def label(self) -> str:
        return LAYER_LABELS[self.layer]


@dataclass(frozen=True, slots=True)
class PackageFacts:
    path: str
    name: str = ""
    is_package: bool = True  #: a package manifest was found
    kb: str | None = None  #: ``KB4474419``, from content
    identity: str | None = None  #: the main package identity string
    identity_name: str | None = None
    version: str | None = None
    target_version: str | None = None  #: NT version, "6.0"
    target_sources: dict[str, str] = field(default_factory=dict)
    arch: str | None = None  #: amd64, x86, ia64
    arch_sources: dict[str, str] = field(default_factory=dict)
    parents: tuple[ParentFact, ...] = ()
    release_date: _dt.date | None = None
    release_date_source: str | None = None
    signing_date: _dt.date | None = None  #: the earliest valid timestamp of the outer layer
    release_type: str | None = None
    restart: str | None = None
    esu_marker: bool = False
    esu_evidence: tuple[str, ...] = ()
    carries_6003: bool | None = None
    layers: tuple[LayerFacts, ...] = ()
    name_claims: dict[str, str] = field(default_factory=dict)  #: what the file name says
    notes: tuple[str, ...] = ()  #: content disagreements worth showing

    def roles(self) -> set[ParentRole]:
        return {p.role for p in self.parents}


# -- signatures --------------------------------------------------------------------------


_PINNED: dict[str, str] | None = None


def _pinned_microsoft() -> dict[str, str]:
    """SHA-1 -> common name of every pinned Microsoft root."""
    global _PINNED
    if _PINNED is None:
        _PINNED = {}
        for cert in microsoft_roots():
            info = describe(cert)
            _PINNED[info.sha1] = info.common_name
    return _PINNED


def root_of(sha1: str | None) -> str | None:
    """The root id of a chain anchor's SHA-1 thumbprint (see :class:`SignatureFact`)."""
    if sha1 is None:
        return None
    sha1 = sha1.lower()
    known = root_by_thumbprint(sha1)  # the roots the host model names
    if known is not None:
        return known.value
    name = _pinned_microsoft().get(sha1)
    if name is not None:
        return OTHER_MICROSOFT_ROOT + name
    return EXTRA_ROOT + sha1


def signature_fact(sig: AuthenticodeSignature) -> SignatureFact:
    anchor = sig.trust_anchor
    ts = sig.timestamp
    chain = sig.chain
    return SignatureFact(
        index=sig.index,
        nested=sig.nested,
        digest_algorithm=sig.digest_algorithm,
        signer_digest_algorithm=sig.signer_digest_algorithm,
        root=root_of(anchor.sha1 if anchor is not None else None),
        root_name=anchor.common_name if anchor is not None else None,
        chain_ok=chain.trusted if chain is not None else None,
        chain_error=chain.error_kind if chain is not None else "invalid",
        timestamp=ts.time if ts is not None and ts.valid else None,
        digest_ok=sig.digest_valid,
        signature_ok=sig.signature_valid,
        signer=sig.signer.common_name if sig.signer is not None else None,
        chain_hashes=tuple(c.hash_algorithm for c in chain.path[:-1]) if chain else (),
    )


def _layer_of(node: PackageNode, root: PackageNode) -> Layer | None:
    kind = node.kind
    if kind is NodeKind.MSU:
        return Layer.OUTER_MSU if node is root else Layer.INNER_CAB
    if kind is NodeKind.UPDATE_CAB:
        return Layer.INNER_CAB
    if kind is NodeKind.CATALOG:
        return Layer.CATALOG
    if kind is NodeKind.WSUSSCAN:
        return Layer.WSUSSCAN
    if kind is NodeKind.PE:
        return Layer.PE
    return None


def layer_facts(node: PackageNode, layer: Layer, report: FileReport) -> LayerFacts:
    version = node.parsed.version if isinstance(node.parsed, Catalog) else None
    return LayerFacts(
        layer, node.path, tuple(signature_fact(s) for s in report.signatures), version
    )


# -- content -------------------------------------------------------------------------------


def parent_role(name: str, version: str | None) -> ParentRole:
    low = name.casefold()
    if low == SP2_PARENT:
        return ParentRole.SP2
    if low == FOUNDATION and version == SERVER_FOUNDATION_VERSION:
        return ParentRole.SERVER
    if low == FOUNDATION and version == CLIENT_FOUNDATION_VERSION:
        return ParentRole.CLIENT
    if low == SERVER_CORE and version is not None and version.startswith("6.0."):
        return ParentRole.SERVER_CORE
    return ParentRole.OTHER


def _parent_nt(name: str, version: str | None) -> str | None:
    if name.casefold() == SP2_PARENT:
        return "6.0"
    parts = parse_version(version)
    if parts is not None and len(parts) == 4 and parts[2] >= 6000:
        nt = f"{parts[0]}.{parts[1]}"
        return nt if nt in PRODUCTS else None
    return None


def _date_of(text: str | None) -> _dt.date | None:
    if not text:
        return None
    try:
        return _dt.date.fromisoformat(text.strip()[:10])
    except ValueError:
        return None


def _first(values: Iterable[str | None]) -> str | None:
    return next((v for v in values if v), None)


def package_facts(report: PackageReport) -> PackageFacts:
    """The verdict's view of one analysed file."""
    root = report.root
    nodes = list(root.walk())
    props = [p for n in nodes if isinstance(p := n.parsed, PackageProperties)]
    unattends = [u for n in nodes if isinstance(u := n.parsed, Unattend)]
    catalogs = [c for n in nodes if isinstance(c := n.parsed, Catalog)]
    notes: list[str] = []
    # as the package summary: the manifests a valid catalog covers decide, when there are
    # any; an added or altered .mum beside them does not (coverage reports it)
    mums, uncovered_suffix = vouched(
        [(n, n.parsed) for n in nodes if isinstance(n.parsed, PackageManifest)]
    )
    if uncovered_suffix:
        notes.append("identity read from package manifests that no valid catalog covers")

    main_node_mum = next(
        ((n, m) for n, m in mums if n.name.casefold() == "update.mum"), mums[0] if mums else None
    )
    main = main_node_mum[1] if main_node_mum else None

    # KB: the package identity, then the package identifier, pkgProperties, unattend
    kb_candidates: list[str] = []
    if main is not None:
        kb_candidates += _KB.findall(main.identity.name)
        if main.package is not None and main.package.identifier:
            kb_candidates += _KB.findall(main.package.identifier)
    for p in props:
        if p.kb_article:
            kb_candidates.append(p.kb_article)
    for u in unattends:
        for pkg in u.packages:
            kb_candidates += _KB.findall(pkg.identity.name)
    kbs = list(dict.fromkeys(f"KB{k}" for k in kb_candidates))
    if len(kbs) > 1:
        notes.append("the package's content names several KB numbers: " + ", ".join(kbs))

    # target NT version
    target: dict[str, str] = {}
    for _n, m in mums:
        for parent in m.parents:
            for pid in parent.identities:
                nt = _parent_nt(pid.name, pid.version)
                if nt:
                    target.setdefault("parent package", nt)
    for p in props:
        if p.applies_to and (said := applies_to_version(p.applies_to)):
            target.setdefault("pkgProperties Applies to", said)
    comp_versions = [cid.version for _n, m in mums for cid in m.component_identities if cid.version]
    comp_versions = [v for v in comp_versions if parse_version(v) and v.count(".") == 3]
    if comp_versions:
        top = max(comp_versions, key=lambda v: parse_version(v) or ())
        nt = ".".join(top.split(".")[:2])
        if nt in PRODUCTS:
            target.setdefault("component versions", nt)
    for c in catalogs:
        if c.os_attr:
            best = max(c.os_attr, key=lambda a: (a.major, a.minor))
            target.setdefault("catalog OSAttr (highest)", f"{best.major}.{best.minor}")
    target_version = _first(
        target.get(k) for k in ("parent package", "pkgProperties Applies to", "component versions")
    )
    if target_version is None and target:
        target_version = next(iter(target.values()))
    if len({target.get(k) for k in target if k != "catalog OSAttr (highest)"}) > 1:
        notes.append(
            "the package's content disagrees on the target: "
            + ", ".join(f"{k} says {v}" for k, v in target.items())
        )

    # architecture
    arches: dict[str, str] = {}
    if main is not None and main.identity.processor_architecture:
        arches["update.mum"] = _ARCH.get(main.identity.processor_architecture.lower(), "other")
    for p in props:
        if p.processor_architecture:
            a = p.processor_architecture.lower()
            arches.setdefault("pkgProperties", _ARCH.get(a, a))
    for u in unattends:
        for pkg in u.packages:
            if pkg.identity.processor_architecture:
                a = pkg.identity.processor_architecture.lower()
                arches.setdefault("unattend", _ARCH.get(a, a))
    arch = _first(arches.get(k) for k in ("update.mum", "pkgProperties", "unattend"))
    if len(set(arches.values())) > 1:
        notes.append(
            "the package's content disagrees on the architecture: "
            + ", ".join(f"{k} says {v}" for k, v in arches.items())
        )

    # parents
    parents: list[ParentFact] = []
    for _n, m in mums:
        for parent in m.parents:
            for pid in parent.identities:
                pf = ParentFact(pid.name, pid.version, parent_role(pid.name, pid.version))
                if all(
                    (q.name.casefold(), q.version) != (pf.name.casefold(), pf.version)
                    for q in parents
                ):
                    parents.append(pf)

    # release date: pkgProperties Build Date, then the manifest's creationTimeStamp
    release: _dt.date | None = None
    release_source: str | None = None
    for p in props:
        if p.build_date is not None:
            release, release_source = p.build_date, "pkgProperties Build Date"
            break
    if release is None and main is not None and (d := _date_of(main.creation_time_stamp)):
        release, release_source = d, "update.mum creationTimeStamp"

    layers: list[LayerFacts] = []
    for n in nodes:
        layer = _layer_of(n, root)
        if layer is None or n.signatures is None:
            continue
        layers.append(layer_facts(n, layer, n.signatures))
    outer = next((lf for lf in layers if lf.layer in (Layer.OUTER_MSU, Layer.INNER_CAB)), None)
    signing = None
    if outer is not None:
        times = [s.timestamp for s in outer.signatures if s.timestamp is not None]
        signing = min(times).date() if times else None

    claims: dict[str, str] = {}
    fm = _FILE_NAME.match(root.name)
    if fm:
        claims = {
            "target": _MARKETING.get(fm.group("ver"), fm.group("ver")),
            "kb": f"KB{fm.group('kb')}",
            "arch": _ARCH.get(fm.group("arch").lower(), fm.group("arch").lower()),
        }
        contradictions = [
            f"{what} {said} (content: {actual})"
            for what, said, actual in (
                ("target", claims["target"], target_version),
                ("KB", claims["kb"], kbs[0] if kbs else None),
                ("architecture", claims["arch"], arch),
            )
            if actual is not None and said != actual
        ]
        if contradictions:
            notes.append(
                "the file name contradicts the content, which decides: " + "; ".join(contradictions)
            )

    esu_evidence = tuple(e for _n, m in mums for e in m.esu_evidence)
    return PackageFacts(
        path=root.path,
        name=root.name,
        is_package=main is not None,
        kb=kbs[0] if kbs else None,
        identity=main.identity.identity_string if main is not None else None,
        identity_name=main.identity.name if main is not None else None,
        version=main.identity.version if main is not None else None,
        target_version=target_version,
        target_sources=target,
        arch=arch,
        arch_sources=arches,
        parents=tuple(parents),
        release_date=release,
        release_date_source=release_source,
        signing_date=signing,
        release_type=main.package.release_type if main and main.package else None,
        restart=main.package.restart if main and main.package else None,
        esu_marker=bool(esu_evidence),
        esu_evidence=esu_evidence,
        carries_6003=(
            any(v.startswith("6.0.6003.") for v in comp_versions)
            if target_version == "6.0" and comp_versions
            else None
        ),
        layers=tuple(layers),
        name_claims=claims,
        notes=tuple(notes),
    )
