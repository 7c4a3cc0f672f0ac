"""Package manifests (``update.mum``, ``Package_*.mum``; domain.md section 5).

A package manifest is an ``<assembly>`` in the ``urn:schemas-microsoft-com:asm.v3``
namespace holding the package identity (``<assemblyIdentity>``), then a ``<package>`` with
its ``<parent>`` requirements, the ``<installerAssembly>`` (servicing stack) it needs and one
``<update>`` per installable unit; an update names components (``<component>``,
``<updateComponent>``, ``<driver>``...) or sub-packages (``<package>``), possibly wrapped in
``<applicable>`` elements.

:class:`AssemblyIdentity` is shared by the other package parsers (manifests, unattend XML).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from lxml import etree

from msuinspect.errors import FormatError
from msuinspect.findings import Finding, FindingSink, Severity
from msuinspect.limits import Limits
from msuinspect.package.xmlsafe import (
    attributes,
    children_named,
    elements,
    first_child,
    local,
    namespace,
    parse_xml,
    xml_limits,
)

LAYER = "package"
ASM_V3 = "urn:schemas-microsoft-com:asm.v3"
#: substring of the name of the CBS advanced installer that checks the ESU licence
ESU_MARKER = "extendedsecurityupdatesai"

_VERSION = re.compile(r"^\d{1,5}(?:\.\d{1,5}){0,3}$")


class MumFormatError(FormatError):
    """Well-formed XML that is not a package manifest (wrong root, no package identity)."""

    code = "mum-format"


@dataclass(frozen=True, slots=True)
class AssemblyIdentity:
    """An ``<assemblyIdentity>`` (or ``<installerAssembly>``) element's identity attributes.

    Attributes that are absent are None; ``language`` is kept as written (``neutral``,
    ``*``, a culture name), or None for identities without one (older SxS manifests).
    """

    name: str
    version: str | None = None
    processor_architecture: str | None = None
    language: str | None = None
    public_key_token: str | None = None
    build_type: str | None = None
    version_scope: str | None = None
    type: str | None = None

    @property
    def is_neutral(self) -> bool:
        return self.language is None or self.language.casefold() in ("neutral", "none", "")

    @property
    def identity_string(self) -> str:
        """The CBS identity string ``name~publicKeyToken~arch~language~version``.

        The language part is empty for language-neutral packages, e.g.
        ``Package_for_KB2999226~31bf3856ad364e35~amd64~~6.0.1.6``.
        """
        lang = "" if self.is_neutral else (self.language or "")
        return "~".join(
            (
                self.name,
                self.public_key_token or "",
                self.processor_architecture or "",
                lang,
                self.version or "",
            )
        )

    @property
    def version_tuple(self) -> tuple[int, ...] | None:
        """The version as integers (``6.0.1.6`` -> ``(6, 0, 1, 6)``), None if unparsable.

        Parts are 16-bit, as in Windows file versions.
        """
        return parse_version(self.version)

    def matches(self, other: AssemblyIdentity) -> bool:
        """Same identity, comparing names and attributes case-insensitively."""
        return _identity_key(self) == _identity_key(other)


def parse_version(version: str | None) -> tuple[int, ...] | None:
    """``"6.0.6002.19488"`` -> ``(6, 0, 6002, 19488)``; None if not 1-4 dotted 16-bit ints."""
    if version is None or not _VERSION.match(version.strip()):
        return None
    parts = tuple(int(p) for p in version.strip().split("."))
    if any(p > 0xFFFF for p in parts):
        return None
    return parts


def _identity_key(ident: AssemblyIdentity) -> tuple[str, ...]:
    return tuple(
        (v or "").casefold()
        for v in (
            ident.name,
            ident.version,
            ident.processor_architecture,
            "neutral" if ident.is_neutral else ident.language,
            ident.public_key_token,
            ident.build_type,
            ident.version_scope,
            ident.type,
        )
    )


def identity_from_element(el: etree._Element) -> AssemblyIdentity:
    """Read the identity attributes of an ``<assemblyIdentity>``-like element."""
    a = attributes(el)
    return AssemblyIdentity(
        name=a.get("name", ""),
        version=a.get("version"),
        processor_architecture=a.get("processorArchitecture"),
        language=a.get("language"),
        public_key_token=a.get("publicKeyToken"),
        build_type=a.get("buildType"),
        version_scope=a.get("versionScope"),
        type=a.get("type"),
    )


def check_identity(ident: AssemblyIdentity, where: str, *, code: str) -> list[Finding]:
    """Findings for a missing name or an unparsable version."""
    out = FindingSink(LAYER)
    if not ident.name:
        out.add(code, Severity.WARNING, f"{where}: assemblyIdentity has no name")
    if ident.version is not None and ident.version_tuple is None:
        out.add(
            code,
            Severity.WARNING,
            f"{where}: assemblyIdentity version {ident.version!r} is not a dotted version",
            identity=ident.identity_string,
        )
    return out.findings


def dedupe(idents: Iterable[AssemblyIdentity]) -> tuple[AssemblyIdentity, ...]:
    """Identities in first-seen order, without case-insensitive duplicates."""
    seen: set[tuple[str, ...]] = set()
    out: list[AssemblyIdentity] = []
    for ident in idents:
        key = _identity_key(ident)
        if key not in seen:
            seen.add(key)
            out.append(ident)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class PackageInfo:
    """The ``<package>`` element's attributes (all of them in :attr:`attributes`)."""

    attributes: dict[str, str]

    def _get(self, name: str) -> str | None:
        return self.attributes.get(name)

    @property
    def identifier(self) -> str | None:
        return self._get("identifier")

    @property
    def release_type(self) -> str | None:
        return self._get("releaseType")

    @property
    def restart(self) -> str | None:
        return self._get("restart")

    @property
    def applicability_evaluation(self) -> str | None:
        return self._get("applicabilityEvaluation")

    @property
    def self_update(self) -> str | None:
        return self._get("selfUpdate")

    @property
    def permanence(self) -> str | None:
        return self._get("permanence")

    @property
    def psf_name(self) -> str | None:
        return self._get("psfName")

    @property
    def target_partition(self) -> str | None:
        return self._get("targetPartition")

    @property
    def binary_partition(self) -> str | None:
        return self._get("binaryPartition")


@dataclass(frozen=True, slots=True)
class Parent:
    """A ``<parent>``: the package applies when any one of ``identities`` is installed
    (subject to the compare attributes)."""

    identities: tuple[AssemblyIdentity, ...]
    attributes: dict[str, str]

    @property
    def build_compare(self) -> str | None:
        return self.attributes.get("buildCompare")

    @property
    def service_compare(self) -> str | None:
        return self.attributes.get("serviceCompare")

    @property
    def revision_compare(self) -> str | None:
        return self.attributes.get("revisionCompare")

    @property
    def integrate(self) -> str | None:
        return self.attributes.get("integrate")

    @property
    def disposition(self) -> str | None:
        return self.attributes.get("disposition")

    @property
    def set(self) -> str | None:
        return self.attributes.get("set")


@dataclass(frozen=True, slots=True)
class UpdateChild:
    """One identity named by an ``<update>``, with the element that names it.

    ``kind`` is the local name of the element holding the ``<assemblyIdentity>``
    (``component``, ``updateComponent``, ``package``, ``driver``...); an element naming
    several identities gives one UpdateChild each, an element naming none gives one with
    ``identity=None``. ``applicable`` holds the attributes of the enclosing ``<applicable>``
    wrappers, outermost first.
    """

    kind: str
    attributes: dict[str, str]
    identity: AssemblyIdentity | None
    applicable: tuple[dict[str, str], ...] = ()

    @property
    def integrate(self) -> str | None:
        return self.attributes.get("integrate")

    @property
    def elevate(self) -> str | None:
        return self.attributes.get("elevate")

    @property
    def disposition(self) -> str | None:
        """The element's own disposition, else that of the nearest ``<applicable>``."""
        own = self.attributes.get("disposition")
        if own is not None:
            return own
        for wrapper in reversed(self.applicable):
            if "disposition" in wrapper:
                return wrapper["disposition"]
        return None

    @property
    def is_package_reference(self) -> bool:
        return self.kind == "package"


@dataclass(frozen=True, slots=True)
class Update:
    name: str | None
    display_name: str | None
    attributes: dict[str, str]
    children: tuple[UpdateChild, ...]


@dataclass(frozen=True, slots=True)
class CustomElement:
    """A ``mum2:`` (or ``customInformation``) element, attributes as written."""

    qname: str  #: the name as written, e.g. ``mum2:customInformation``
    path: str  #: local names from ``<package>`` down, e.g. ``customInformation/phoneInformation``
    attributes: dict[str, str]


@dataclass(frozen=True, slots=True)
class PackageManifest:
    identity: AssemblyIdentity
    namespace: str | None
    #: root attributes (``description``, ``displayName``, ``company``...), all of them
    root_attributes: dict[str, str]
    package: PackageInfo | None
    parents: tuple[Parent, ...]
    installer_assembly: AssemblyIdentity | None
    updates: tuple[Update, ...]
    #: identities of all non-package children of the updates, deduplicated
    component_identities: tuple[AssemblyIdentity, ...]
    #: identities of the sub-packages the updates reference (``<package>`` children)
    package_references: tuple[AssemblyIdentity, ...]
    #: heuristic, see :func:`parse_mum`
    esu_gated: bool
    esu_evidence: tuple[str, ...]
    custom_information: tuple[CustomElement, ...]
    findings: tuple[Finding, ...] = field(default=())

    def _root(self, name: str) -> str | None:
        return self.root_attributes.get(name)

    @property
    def description(self) -> str | None:
        return self._root("description")

    @property
    def display_name(self) -> str | None:
        return self._root("displayName")

    @property
    def company(self) -> str | None:
        return self._root("company")

    @property
    def copyright(self) -> str | None:
        return self._root("copyright")

    @property
    def support_information(self) -> str | None:
        return self._root("supportInformation")

    @property
    def creation_time_stamp(self) -> str | None:
        return self._root("creationTimeStamp")

    @property
    def last_update_time_stamp(self) -> str | None:
        return self._root("lastUpdateTimeStamp")

    @property
    def manifest_version(self) -> str | None:
        return self._root("manifestVersion")


def _update_children(
    el: etree._Element, wrappers: tuple[dict[str, str], ...]
) -> Iterator[UpdateChild]:
    for child in elements(el):
        kind = local(child.tag)
        if kind == "applicable":
            yield from _update_children(child, (*wrappers, attributes(child)))
            continue
        if kind == "assemblyIdentity":  # an identity directly under the update/wrapper
            holder = "applicable" if wrappers else "update"
            yield UpdateChild(holder, {}, identity_from_element(child), wrappers)
            continue
        attrs = attributes(child)
        idents = [
            identity_from_element(d)
            for d in child.iter()
            if d is not child and local(d.tag) == "assemblyIdentity"
        ]
        if not idents:
            yield UpdateChild(kind, attrs, None, wrappers)
        for ident in idents:
            yield UpdateChild(kind, attrs, ident, wrappers)


def _custom_elements(package: etree._Element) -> list[CustomElement]:
    out: list[CustomElement] = []

    def walk(el: etree._Element, path: tuple[str, ...], inside: bool) -> None:
        for child in elements(el):
            name = local(child.tag)
            here = (*path, name)
            custom = inside or bool(child.prefix) or name == "customInformation"
            if custom:
                qname = f"{child.prefix}:{name}" if child.prefix else name
                out.append(CustomElement(qname, "/".join(here), attributes(child)))
            if name not in ("update", "parent"):
                walk(child, here, custom)

    walk(package, (), False)
    return out


def parse_mum(data: bytes, *, limits: Limits | None = None) -> PackageManifest:
    """Parse a package manifest (``update.mum`` / ``Package_*.mum``).

    Problems that do not prevent reading (missing ``<package>``, identities without a name
    or with a malformed version, several installer assemblies) become findings.

    ``esu_gated`` is a **heuristic** (domain.md section 3): it is set when any
    ``<assemblyIdentity>`` (or ``<installerAssembly>``) anywhere in the manifest names an
    assembly containing ``ExtendedSecurityUpdatesAI`` (case-insensitive), the CBS advanced
    installer that checks the ESU licence. Microsoft documents no ESU flag in package
    manifests; a package can be ESU-only by policy (released after 2020-01-14 for Server
    2008 SP2) without carrying the marker, and the exact component name used for 6.0 is
    unconfirmed. ``esu_evidence`` lists the identity strings that matched.

    :raises XmlError: not well-formed XML (:class:`UnsafeXmlError` for DTDs)
    :raises MumFormatError: the root is not ``<assembly>`` or has no ``<assemblyIdentity>``
    :raises LimitExceededError: larger or deeper than the XML limits of ``limits``
    """
    root = parse_xml(data, what="package manifest", **xml_limits(limits))
    findings = FindingSink(LAYER)
    if local(root.tag) != "assembly":
        raise MumFormatError(
            f"package manifest: root element is <{local(root.tag)}>, expected <assembly>"
        )
    ns = namespace(root.tag)
    if ns != ASM_V3:
        findings.add(
            "mum-namespace",
            Severity.WARNING,
            f"package manifest namespace is {ns!r}, expected {ASM_V3!r}",
            namespace=ns,
        )
    ident_el = first_child(root, "assemblyIdentity")
    if ident_el is None:
        raise MumFormatError("package manifest: <assembly> has no <assemblyIdentity>")
    identity = identity_from_element(ident_el)
    findings.extend(check_identity(identity, "package identity", code="mum-identity-incomplete"))

    pc = _read_package(root, findings)
    package, parents, installers, updates = pc.package, pc.parents, pc.installers, pc.updates
    if len(installers) > 1:
        findings.add(
            "mum-installer-assemblies",
            Severity.WARNING,
            f"{len(installers)} <installerAssembly> elements; the first is reported",
            installers=[i.identity_string for i in installers],
        )
    for up in updates:
        for ch in up.children:
            if ch.identity is not None:
                findings.extend(
                    check_identity(
                        ch.identity, f"update {up.name!r} {ch.kind}", code="mum-identity-incomplete"
                    )
                )

    children = [ch for up in updates for ch in up.children if ch.identity is not None]
    components = dedupe(
        ch.identity for ch in children if ch.identity is not None and not ch.is_package_reference
    )
    references = dedupe(
        ch.identity for ch in children if ch.identity is not None and ch.is_package_reference
    )

    evidence = _esu_evidence(root)
    if evidence:
        findings.add(
            "mum-esu-gated",
            Severity.INFO,
            "the package names an ExtendedSecurityUpdatesAI assembly: it installs only "
            "with an Extended Security Updates licence (heuristic)",
            identities=list(evidence),
        )

    return PackageManifest(
        identity=identity,
        namespace=ns,
        root_attributes=attributes(root),
        package=package,
        parents=tuple(parents),
        installer_assembly=installers[0] if installers else None,
        updates=tuple(updates),
        component_identities=components,
        package_references=references,
        esu_gated=bool(evidence),
        esu_evidence=tuple(evidence),
        custom_information=tuple(pc.custom),
        findings=findings.result(),
    )


@dataclass(slots=True)
class _PackageContent:
    """What the ``<package>`` element holds."""

    package: PackageInfo | None = None
    parents: list[Parent] = field(default_factory=list)
    installers: list[AssemblyIdentity] = field(default_factory=list)
    updates: list[Update] = field(default_factory=list)
    custom: list[CustomElement] = field(default_factory=list)


def _read_package(root: etree._Element, findings: FindingSink) -> _PackageContent:
    """The ``<package>`` element: its attributes, parents, installer assemblies, updates
    and custom elements (a finding when it is missing)."""
    package_el = first_child(root, "package")
    pc = _PackageContent()
    if package_el is None:
        findings.add("mum-no-package", Severity.ERROR, "package manifest has no <package> element")
    else:
        pc.package = package = PackageInfo(attributes(package_el))
        if not package.identifier:
            findings.add(
                "mum-identity-incomplete",
                Severity.WARNING,
                "<package> has no identifier attribute",
            )
        for child in elements(package_el):
            name = local(child.tag)
            if name == "parent":
                idents = tuple(
                    identity_from_element(i) for i in children_named(child, "assemblyIdentity")
                )
                if not idents:
                    findings.add(
                        "mum-parent-empty",
                        Severity.WARNING,
                        "<parent> names no assemblyIdentity",
                    )
                pc.parents.append(Parent(idents, attributes(child)))
            elif name == "installerAssembly":
                pc.installers.append(identity_from_element(child))
            elif name == "update":
                a = attributes(child)
                kids = tuple(_update_children(child, ()))
                pc.updates.append(Update(a.get("name"), a.get("displayName"), a, kids))
        pc.custom = _custom_elements(package_el)
    return pc


def _esu_evidence(root: etree._Element) -> list[str]:
    """The identity strings of every assembly that names the ESU installer (see
    :func:`parse_mum`)."""
    evidence: list[str] = []
    for el in root.iter():
        if local(el.tag) in ("assemblyIdentity", "installerAssembly"):
            ident = identity_from_element(el)
            if ESU_MARKER in ident.name.casefold() and ident.identity_string not in evidence:
                evidence.append(ident.identity_string)
    return evidence
