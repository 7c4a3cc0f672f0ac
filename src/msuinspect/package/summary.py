"""The package summary: what update this is, for which Windows, built when, signed how.

Identity (KB, package identity, target Windows version, architecture, release type,
build date, support link, restart) comes from signed content, never from the file name: the
package manifests (``*.mum``: identity, ``identifier``, ``releaseType``, parents,
components) and component manifests that a valid catalog covers, and the catalogs'
``OSAttr``. When a package has covered manifests, the others (altered, or added beside the
catalog) never feed its identity: coverage already reports them. When none is covered, the
manifests still answer, under a source that says so ("package manifest (not covered by a
valid catalog)"). The ``*-pkgProperties.txt`` (``Applies to``, ``KB Article Number``,
``Processor Architecture``, ``Build Date``, ``Support Link``) and the unattend XML are hints
that no catalog covers: they only fill what the manifests lack, and where they contradict
the manifests the summary says so with a finding. Every value records which source said it.

The download name (``Windows6.0-KB4474419-x64.msu``) is only a claim: it is parsed into
``name_claim`` and checked against the content. A name that contradicts the content is an
error-level ``name-content-conflict``; a file that is not an update package gets no KB and
no target, whatever its name says.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from typing import TypeVar

from msuinspect.authenticode.identity import SignerClass
from msuinspect.findings import Finding, FindingSink, Severity
from msuinspect.package.catalog import Catalog
from msuinspect.package.kinds import NodeKind
from msuinspect.package.manifest import ComponentManifest
from msuinspect.package.model import CoverageStatus, PackageNode
from msuinspect.package.mum import PackageManifest
from msuinspect.package.properties import PackageProperties
from msuinspect.package.unattend import Unattend

LAYER = "package"
_T = TypeVar("_T")

#: NT version -> products (domain.md; Vista and Server 2008 share 6.0)
PRODUCTS = {
    "5.1": "Windows XP",
    "5.2": "Windows Server 2003 / XP x64",
    "6.0": "Windows Vista / Windows Server 2008",
    "6.1": "Windows 7 / Windows Server 2008 R2",
    "6.2": "Windows 8 / Windows Server 2012",
    "6.3": "Windows 8.1 / Windows Server 2012 R2",
    "10.0": "Windows 10 / 11 / Windows Server 2016 and later",
}
#: parent packages whose meaning is known (domain.md section 2, verdict-facts R3/R4 and the
#: corpus), by name
KNOWN_PARENTS = {
    "package_for_kb948465": ("6.0", "Windows Vista / Server 2008 Service Pack 2"),
}
#: edition parents, by (name, version): the foundation package of each 6.x edition
KNOWN_EDITION_PARENTS = {
    ("microsoft-windows-foundation-package", "6.0.6000.16386"): (
        "6.0",
        "Windows Vista (client foundation)",
    ),
    ("microsoft-windows-foundation-package", "6.0.6001.18000"): (
        "6.0",
        "Windows Server 2008 (server foundation)",
    ),
    ("microsoft-windows-servercore-package", "6.0.6001.18000"): (
        "6.0",
        "Windows Server 2008 Server Core",
    ),
    ("microsoft-windows-client-features-package", "6.1.7601.17514"): (
        "6.1",
        "Windows 7 SP1 (client features)",
    ),
    ("microsoft-windows-server-features-package", "6.1.7601.17514"): (
        "6.1",
        "Windows Server 2008 R2 SP1 (server features)",
    ),
}
#: ``Windows6.0-KB…``, and the marketing forms ``Windows7-KB…``, ``Windows8-RT-KB…``,
#: ``Windows8.1-KB…`` (:data:`_MARKETING` maps them to NT versions)
_FILE_NAME = re.compile(
    r"^windows(?P<ver>\d+(?:\.\d+)?)(?:-rt)?-kb(?P<kb>\d+)(?:-v(?P<rev>\d+))?"
    r"-(?P<arch>x64|x86|ia64|arm64|arm)",
    re.IGNORECASE,
)
#: the names an MSU gives its unattend and properties members (``Windows6.0-KB…-x64.xml``,
#: ``…-x64-pkgProperties.txt``): such a name claims a member of that package, not a package
_MEMBER_SUFFIXES = (".xml", ".txt")
_DOWNLOAD_SHA1 = re.compile(r"_(?P<sha1>[0-9a-f]{40})\.(?:msu|cab)$", re.IGNORECASE)
_ARCH_NAMES = {"x64": "amd64", "amd64": "amd64", "x86": "x86", "ia64": "ia64", "arm64": "arm64"}
_KB = re.compile(r"KB(\d{5,8})", re.IGNORECASE)


@dataclass(slots=True)
class PackageSummary:
    generation: str  #: classic-msu, update-cab, psfx-msu, wim-msu, catalog, pe, other
    kb_numbers: list[str] = field(default_factory=list)
    package_identities: list[str] = field(default_factory=list)
    release_type: str | None = None
    restart: str | None = None
    description: str | None = None
    support_link: str | None = None
    target_version: str | None = None  #: NT version, e.g. "6.0"
    target_product: str | None = None
    target_sources: dict[str, str] = field(default_factory=dict)  #: source -> version said
    architecture: str | None = None
    architecture_sources: dict[str, str] = field(default_factory=dict)
    parents: list[str] = field(default_factory=list)  #: identity strings
    parent_meaning: list[str] = field(default_factory=list)
    component_count: int = 0
    component_version_min: str | None = None
    component_version_max: str | None = None
    carries_6003: bool | None = None  #: a component at 6.0.6003.x (None: not a 6.0 package)
    build_date: str | None = None
    esu_gated: bool = False
    esu_evidence: list[str] = field(default_factory=list)
    signing: dict[str, str] = field(default_factory=dict)  #: node path -> signing class
    catalog_versions: list[int] = field(default_factory=list)
    coverage: dict[str, int] = field(default_factory=dict)  #: status -> count
    download_name_sha1: str | None = None  #: match, mismatch or not-present
    #: an update package by content (a package manifest, or the MSU anatomy)
    is_update_package: bool = False
    kb_sources: dict[str, list[str]] = field(default_factory=dict)  #: source -> KBs said
    #: what the file name claims (``kb``, ``version``, ``arch``); a claim, never evidence
    name_claim: dict[str, str] = field(default_factory=dict)
    #: which source gave ``release_type``, ``restart``, ``description``, ``support_link``
    #: and ``build_date`` (field name -> source)
    release_sources: dict[str, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)


#: marketing versions used in file names and 'Applies to' -> NT versions
_MARKETING = {"8": "6.2", "8.0": "6.2", "8.1": "6.3", "7": "6.1", "7.0": "6.1", "10": "10.0"}


def _nt(version: str) -> str:
    return _MARKETING.get(version, version)


_PRODUCT_NAMES = (
    ("server 2008 r2", "6.1"),
    ("server 2008", "6.0"),
    ("vista", "6.0"),
    ("server 2012 r2", "6.3"),
    ("server 2012", "6.2"),
    ("windows 7", "6.1"),
    ("windows 8.1", "6.3"),
    ("windows 8", "6.2"),
    ("windows 10", "10.0"),
    ("windows 11", "10.0"),
)


def applies_to_version(text: str) -> str | None:
    """NT version named by an ``Applies to`` value (``Windows 6.1``, ``Windows Server 2008``)."""
    m = re.search(r"windows\s+(\d+\.\d+)", text, re.IGNORECASE)
    if m:
        return _nt(m.group(1))
    low = text.casefold()
    for name, version in _PRODUCT_NAMES:
        if name in low:
            return version
    return None


def _vt(version: str) -> tuple[int, ...]:
    out = []
    for part in version.split("."):
        out.append(int(part) if part.isdigit() else -1)
    return tuple(out)


#: top-level kinds that are update packages by their anatomy alone: generations this tool
#: recognises but does not analyse (their manifests are not read)
_UNANALYSED_PACKAGE_KINDS = (NodeKind.MSU_PSFX, NodeKind.MSU_WIM)


def _add(sources: dict[str, list[str]], source: str, kb: str) -> None:
    said = sources.setdefault(source, [])
    if kb not in said:
        said.append(kb)


def _os_build_version(version: str) -> str | None:
    """The NT version of a parent identity that carries an OS build (``6.1.7601.17514``,
    ``6.0.6001.18000``); package versions such as ``6.0.1.18005`` carry none."""
    parts = version.split(".")
    if len(parts) != 4 or not all(p.isdigit() for p in parts):
        return None
    nt = f"{int(parts[0])}.{int(parts[1])}"
    return nt if nt in PRODUCTS and int(parts[2]) >= 2600 else None


def _check_name(s: PackageSummary, root: PackageNode, notes: FindingSink) -> None:
    """The file name is a claim: say where the content contradicts it."""
    claim = s.name_claim
    if not claim:
        return
    said = f"the file name claims KB{claim['kb']} for Windows {claim['version']} {claim['arch']}"
    if not s.is_update_package:
        if root.name.lower().endswith(_MEMBER_SUFFIXES):
            return  # an MSU's own unattend or properties file, named after its package
        notes.add(
            "name-content-conflict",
            Severity.ERROR,
            f"{said}, but the content is not an update package (it is {s.generation})",
            claim=dict(claim),
            content={"kind": s.generation},
        )
        return
    wrong: list[str] = []
    if s.kb_numbers and claim["kb"] not in s.kb_numbers:
        wrong.append(f"the content is KB{', KB'.join(s.kb_numbers)}")
    if s.target_version and claim["version"] != s.target_version:
        wrong.append(f"the content targets Windows {s.target_version}")
    if s.architecture and claim["arch"] != s.architecture:
        wrong.append(f"the content is for {s.architecture}")
    if wrong:
        notes.add(
            "name-content-conflict",
            Severity.ERROR,
            f"{said}, but {'; '.join(wrong)}: the summary shows the content's answer",
            claim=dict(claim),
            content={
                "kb": list(s.kb_numbers),
                "version": s.target_version,
                "arch": s.architecture,
            },
        )


#: the layers whose signer says who publishes an update package
_PUBLISHING_LAYERS = (NodeKind.MSU, NodeKind.UPDATE_CAB, NodeKind.CATALOG)
#: classes of a Microsoft servicing identity (docs/trust.md): Windows component signing on
#: catalogs, Microsoft Corporation on the MSU and update cabinets
_SERVICING = (SignerClass.MICROSOFT_WINDOWS, SignerClass.MICROSOFT)


def _check_signers(s: PackageSummary, root: PackageNode, notes: FindingSink) -> None:
    """An update package whose publishing layers are signed by anyone but a Microsoft
    servicing identity (a third party's driver signed through Microsoft's hardware program,
    another publisher, a private PKI) is not a Windows update, whatever it claims."""
    seen: dict[tuple[str, str], list[str]] = {}
    for n in root.walk():
        if n.kind not in _PUBLISHING_LAYERS or n.signatures is None:
            continue
        for sig in n.signatures.signatures:
            if sig.signer_class in _SERVICING:
                continue
            who = sig.signer.common_name if sig.signer is not None else "an unknown signer"
            seen.setdefault((sig.signer_class.value, who), []).append(n.path)
    for (klass, who), paths in seen.items():
        notes.add(
            "signer-not-microsoft-servicing",
            Severity.WARNING,
            f"signed by {who!r} (signer class {klass}), not a Microsoft servicing identity, "
            f"on {len(paths)} layer(s) of this update package",
            path=paths[0],
            signer=who,
            signer_class=klass,
            layers=paths,
        )


#: the source suffix of identity read from manifests no valid catalog covers
UNCOVERED = " (not covered by a valid catalog)"


def vouched(
    pairs: list[tuple[PackageNode, _T]],
) -> tuple[list[tuple[PackageNode, _T]], str]:
    """The manifests identity may come from, and the suffix of their source: those a valid
    catalog covers when there are any; else all of them, said to be uncovered."""
    covered = [
        (n, x)
        for n, x in pairs
        if n.coverage is not None and n.coverage.status is CoverageStatus.COVERED
    ]
    if covered or not pairs:
        return covered, ""
    return pairs, UNCOVERED


@dataclass(slots=True)
class _Parsed:
    """The parsed content of a package tree by type, each with the node that holds it.

    ``mums`` and ``manifests`` are the ones identity comes from (see :func:`vouched`);
    ``mum_src`` and ``manifest_src`` the suffix their sources carry."""

    mums: list[tuple[PackageNode, PackageManifest]]
    props: list[tuple[PackageNode, PackageProperties]]
    unattends: list[tuple[PackageNode, Unattend]]
    catalogs: list[tuple[PackageNode, Catalog]]
    manifests: list[tuple[PackageNode, ComponentManifest]]
    mum_src: str = ""
    manifest_src: str = ""

    @classmethod
    def of(cls, nodes: list[PackageNode]) -> _Parsed:
        mums, mum_src = vouched(
            [(n, n.parsed) for n in nodes if isinstance(n.parsed, PackageManifest)]
        )
        manifests, manifest_src = vouched(
            [(n, n.parsed) for n in nodes if isinstance(n.parsed, ComponentManifest)]
        )
        return cls(
            mums=mums,
            props=[(n, n.parsed) for n in nodes if isinstance(n.parsed, PackageProperties)],
            unattends=[(n, n.parsed) for n in nodes if isinstance(n.parsed, Unattend)],
            catalogs=[(n, n.parsed) for n in nodes if isinstance(n.parsed, Catalog)],
            manifests=manifests,
            mum_src=mum_src,
            manifest_src=manifest_src,
        )


def summarise(root: PackageNode) -> PackageSummary:
    gen = {
        NodeKind.MSU: "classic-msu",
        NodeKind.UPDATE_CAB: "update-cab",
        NodeKind.MSU_PSFX: "psfx-msu",
        NodeKind.MSU_WIM: "wim-msu",
        NodeKind.CATALOG: "catalog",
        NodeKind.PE: "pe",
        NodeKind.MUM: "package-manifest",
        NodeKind.MANIFEST: "component-manifest",
    }.get(root.kind, root.kind.value)
    s = PackageSummary(gen)
    notes = FindingSink(LAYER, root.path, into=s.findings)
    nodes = list(root.walk())
    parsed = _Parsed.of(nodes)
    _identities(s, root, parsed, notes)
    main = _main_manifest(s, parsed)
    _target(s, parsed, notes)
    _architecture(s, main, parsed, notes)
    _check_unattend(main, parsed, notes)
    _check_name(s, root, notes)
    _signing_and_coverage(s, nodes, parsed)
    if s.is_update_package:
        _check_signers(s, root, notes)
        _check_compressed_manifests(s, nodes, notes)
    _download_name(s, root, notes)
    return s


#: NT versions before Windows 10: their packages carry plain XML manifests only
_BEFORE_DCM = {"6.0", "6.1", "6.2", "6.3"}


def _check_compressed_manifests(
    s: PackageSummary, nodes: list[PackageNode], notes: FindingSink
) -> None:
    """A DCM/PA30-compressed manifest is a delta against a servicing stack's base manifests,
    which Windows 10 introduced; it cannot be rebuilt offline, so it is not checked against
    the catalogs. In a package for an earlier Windows it has no business: it would hide an
    altered manifest from the coverage check."""
    if s.target_version not in _BEFORE_DCM:
        return
    for n in nodes:
        if n.kind is NodeKind.MANIFEST_COMPRESSED:
            notes.add(
                "compressed-manifest-unexpected",
                Severity.ERROR,
                f"{n.name} is a DCM-compressed manifest in a package for Windows "
                f"{s.target_version}: such manifests exist only from Windows 10 on, and this "
                "one cannot be checked against the catalogs",
                path=n.path,
            )


def _identities(s: PackageSummary, root: PackageNode, parsed: _Parsed, notes: FindingSink) -> None:
    """KB numbers and identities: package manifests; pkgProperties as a hint, in the KB
    numbers only when no manifest names one; what the file name claims.

    An update package by content: a package manifest that parses, or a generation this tool
    recognises but does not analyse (PSFX, WIM). A cabinet whose ``.mum`` members are not
    package manifests is not one, whatever its member names say."""
    mums, props = parsed.mums, parsed.props
    s.is_update_package = root.kind in _UNANALYSED_PACKAGE_KINDS or bool(mums)
    if not s.is_update_package and root.kind in (NodeKind.MSU, NodeKind.UPDATE_CAB):
        s.generation = NodeKind.CABINET.value  # the anatomy, by names, without the content
    manifest_source = "package manifest" + parsed.mum_src
    for _n, m in mums:
        ident = (m.package.identifier if m.package is not None else None) or ""
        found = _KB.findall(ident) or _KB.findall(m.identity.name)
        for k in found:
            _add(s.kb_sources, manifest_source, k)
        if m.identity.identity_string not in s.package_identities:
            s.package_identities.append(m.identity.identity_string)
    for _n, p in props:
        if p.kb_article:
            _add(s.kb_sources, HINT_KB, p.kb_article)
    said = s.kb_sources.get(manifest_source, [])
    hinted = s.kb_sources.get(HINT_KB, [])
    if s.is_update_package:
        s.kb_numbers = list(said or hinted)
    if said and any(k not in said for k in hinted):
        notes.add(
            "kb-disagreement",
            Severity.WARNING,
            f"the package manifests name KB{', KB'.join(said)}, but the pkgProperties hint "
            f"says KB{', KB'.join(hinted)}: the summary shows the manifests' answer",
            manifests=list(said),
            pkgproperties=list(hinted),
        )
    fm = _FILE_NAME.match(root.name)
    if fm:
        s.name_claim = {
            "kb": fm.group("kb"),
            "version": _nt(fm.group("ver")),
            "arch": _ARCH_NAMES.get(fm.group("arch").lower(), fm.group("arch").lower()),
        }


#: the source name of pkgProperties' KB
HINT_KB = "pkgProperties (hint)"
_ISO_DATE = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})")


def iso_date(text: str | None) -> str | None:
    """``YYYY-MM-DD`` of a manifest time stamp (``2019-04-09T12:00:00Z``), None if it is
    no date."""
    m = _ISO_DATE.match(text or "")
    if m is None:
        return None
    try:
        return _dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isoformat()
    except ValueError:
        return None


def _main_manifest(s: PackageSummary, parsed: _Parsed) -> PackageManifest | None:
    """The main package manifest (update.mum, else the first), and what it says about the
    release; pkgProperties only fills what it lacks."""
    mums = parsed.mums
    main = next((m for n, m in mums if n.name.casefold() == "update.mum"), None)
    if main is None and mums:
        main = mums[0][1]
    src = s.release_sources
    if main is not None:
        said = "package manifest" + parsed.mum_src

        def put(name: str, value: str | None) -> None:
            if value:
                setattr(s, name, value)
                src[name] = said

        if main.package is not None:
            put("release_type", main.package.release_type)
            put("restart", main.package.restart)
        put("description", main.description)
        put("support_link", main.support_information)
        put("build_date", iso_date(main.creation_time_stamp))
    for _n, p in parsed.props:
        hint = "pkgProperties (hint)"
        if not s.support_link and p.support_link:
            s.support_link, src["support_link"] = p.support_link, hint
        if not s.build_date and p.build_date is not None:
            s.build_date, src["build_date"] = p.build_date.isoformat(), hint
        if not s.release_type and p.package_type:
            s.release_type, src["release_type"] = p.package_type, hint
    return main


def _target(s: PackageSummary, parsed: _Parsed, notes: FindingSink) -> None:
    """The target version, from every source but the name; the component versions."""
    src = s.target_sources
    parent_src = "parent package" + parsed.mum_src
    for _n, m in parsed.mums:
        for parent in m.parents:
            for pid in parent.identities:
                known = KNOWN_PARENTS.get(pid.name.casefold()) or KNOWN_EDITION_PARENTS.get(
                    (pid.name.casefold(), pid.version or "")
                )
                label = f"{pid.name} {pid.version}"
                if label not in s.parents:
                    s.parents.append(label)
                if known is not None:
                    src.setdefault(parent_src, known[0])
                    if known[1] not in s.parent_meaning:
                        s.parent_meaning.append(known[1])
                elif pid.version and (nt := _os_build_version(pid.version)):
                    src.setdefault(parent_src, nt)
    for _n, c in parsed.catalogs:
        if c.os_attr:
            best = max(c.os_attr, key=lambda a: (a.major, a.minor))
            src.setdefault("catalog OSAttr (highest)", f"{best.major}.{best.minor}")
    for _n, p in parsed.props:
        if p.applies_to:
            said = applies_to_version(p.applies_to)
            if said:
                src["pkgProperties Applies to (hint)"] = said
    # components by identity (name, architecture, version): the package manifests list
    # them, the component manifests are them; a component named twice is one
    components: dict[tuple[str, str, str], str] = {}
    identities = [cid for _n, m in parsed.mums for cid in m.component_identities]
    identities += [cm.identity for _n, cm in parsed.manifests if cm.identity is not None]
    for cid in identities:
        if cid.version and cid.version.count(".") == 3:
            key = (cid.name.casefold(), (cid.processor_architecture or "").casefold(), cid.version)
            components.setdefault(key, cid.version)
    for _n, m in parsed.mums:
        if m.esu_gated:
            s.esu_gated = True
            s.esu_evidence.extend(m.esu_evidence)
    comp_versions = list(components.values())
    comp_src = "component versions" + (parsed.manifest_src or parsed.mum_src)
    if comp_versions:
        s.component_count = len(components)
        s.component_version_min = min(comp_versions, key=_vt)
        s.component_version_max = max(comp_versions, key=_vt)
        nt = ".".join(s.component_version_max.split(".")[:2])
        if nt in PRODUCTS:
            src.setdefault(comp_src, nt)
    versions = set(src.values())
    if versions and s.is_update_package:
        # signed content first; OSAttr lists every version the catalog is valid for, so it
        # only has to include the target
        primary = (
            src.get(parent_src)
            or src.get(comp_src)
            or src.get("pkgProperties Applies to (hint)")
            or next(iter(src.values()))
        )
        s.target_version = primary
        s.target_product = PRODUCTS.get(primary)
        if len(versions) > 1:
            notes.add(
                "target-disagreement",
                Severity.WARNING,
                "the package's sources disagree on the target Windows version: "
                + ", ".join(f"{k} says {v}" for k, v in src.items()),
                sources=dict(src),
            )
    if s.target_version == "6.0" and comp_versions:
        s.carries_6003 = any(v.startswith("6.0.6003.") for v in comp_versions)


def _architecture(
    s: PackageSummary, main: PackageManifest | None, parsed: _Parsed, notes: FindingSink
) -> None:
    """The architecture: the package manifest, component manifests, then the hints."""
    arch_src = s.architecture_sources
    main_src = "update.mum" + parsed.mum_src
    if main is not None and main.identity.processor_architecture:
        arch_src[main_src] = main.identity.processor_architecture.lower()
    comp_arches = {
        cm.identity.processor_architecture.lower()
        for _n, cm in parsed.manifests
        if cm.identity is not None and cm.identity.processor_architecture
    } - {"neutral", "msil", "wow64", "*"}
    if len(comp_arches) == 1:
        arch_src["component manifests" + parsed.manifest_src] = next(iter(comp_arches))
    for _n, p in parsed.props:
        if p.processor_architecture:
            arch_src["pkgProperties (hint)"] = _ARCH_NAMES.get(
                p.processor_architecture.lower(), p.processor_architecture.lower()
            )
    for _n, u in parsed.unattends:
        for pkg in u.packages:
            if pkg.identity.processor_architecture:
                arch_src.setdefault("unattend (hint)", pkg.identity.processor_architecture.lower())
    arches = set(arch_src.values())
    if arches and s.is_update_package:
        s.architecture = arch_src.get(main_src) or next(iter(arch_src.values()))
        if len(arches) > 1:
            notes.add(
                "architecture-disagreement",
                Severity.WARNING,
                "the package's sources disagree on the architecture: "
                + ", ".join(f"{k} says {v}" for k, v in arch_src.items()),
            )


def _check_unattend(main: PackageManifest | None, parsed: _Parsed, notes: FindingSink) -> None:
    """The unattend XML names the package to install (``Package_for_KBnnnn`` and its
    version): a hint, compared with the main package manifest, ``update.mum`` (when that
    one is not among the manifests identity comes from, coverage already says why)."""
    main_node = next((n for n, m in parsed.mums if m is main), None)
    if main is None or main_node is None or main_node.name.casefold() != "update.mum":
        return
    want = (main.identity.name.casefold(), main.identity.version or "")
    for n, u in parsed.unattends:
        for pkg in u.packages:
            ident = pkg.identity
            if (ident.name.casefold(), ident.version or "") == want:
                continue
            notes.add(
                "unattend-identity-disagreement",
                Severity.WARNING,
                f"the unattend XML names package {ident.name} {ident.version}, but the "
                f"package manifest is {main.identity.name} {main.identity.version}",
                path=n.path,
                unattend=ident.identity_string,
                manifest=main.identity.identity_string,
            )


def _signing_and_coverage(s: PackageSummary, nodes: list[PackageNode], parsed: _Parsed) -> None:
    """Signing per layer, catalog versions, coverage counts."""
    for n in nodes:
        if n.signatures is not None and n.kind not in (NodeKind.PE,):
            s.signing[n.path] = n.signatures.signing.value
        if n.coverage is not None:
            key = n.coverage.status.value
            s.coverage[key] = s.coverage.get(key, 0) + 1
    s.catalog_versions = sorted({c.version for _n, c in parsed.catalogs})
    if parsed.catalogs:
        s.coverage.setdefault(CoverageStatus.COVERED.value, 0)


def _download_name(s: PackageSummary, root: PackageNode, notes: FindingSink) -> None:
    """The SHA-1 in Microsoft Update Catalog download names, against the file's."""
    dm = _DOWNLOAD_SHA1.search(root.name)
    if dm is None:
        s.download_name_sha1 = "not-present"
    elif root.sha1 is None:
        s.download_name_sha1 = "unknown"
    elif dm.group("sha1").lower() == root.sha1.lower():
        s.download_name_sha1 = "match"
    else:
        s.download_name_sha1 = "mismatch"
        notes.add(
            "download-name-sha1-mismatch",
            Severity.ERROR,
            f"the file name carries SHA-1 {dm.group('sha1').lower()} but the file's SHA-1 is "
            f"{root.sha1} (corrupt or altered download)",
        )
