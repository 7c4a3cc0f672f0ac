"""Component manifests (``<component folder key>.manifest``) and component folder names.

A component manifest is an ``<assembly>`` (``urn:schemas-microsoft-com:asm.v3`` for CBS
components, ``asm.v1`` for older SxS assemblies such as the VC90 runtime) with the
component's identity, its dependencies, and one ``<file>`` per payload file. Each file's
digest is in an ``<asmv2:hash>`` child (``dsig:DigestMethod`` + base64 ``dsig:DigestValue``);
older SxS manifests also carry ``hash=``/``hashalg=`` attributes on ``<file>``.

Since Windows 10 many manifests inside update cabinets are stored compressed: ``DCM\\x01``
followed by a PA30 (MSDelta) patch against a base manifest inside the servicing stack.
Those are recognised and not expanded.

:func:`parse_component_folder_name` splits the WinSxS key form
``arch_name_publicKeyToken_version_language_pseudokey`` (domain.md section 5.3b).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field

from lxml import etree

from msuinspect.cab import names
from msuinspect.errors import FormatError
from msuinspect.findings import Finding, FindingSink, Severity
from msuinspect.limits import Limits
from msuinspect.package.mum import (
    AssemblyIdentity,
    check_identity,
    dedupe,
    identity_from_element,
)
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
DCM_MAGIC = b"DCM\x01"
KNOWN_NAMESPACES = ("urn:schemas-microsoft-com:asm.v3", "urn:schemas-microsoft-com:asm.v1")

#: digest sizes in bytes, by the names used as keys of :attr:`ManifestFile.hashes`
DIGEST_SIZES = {"md5": 16, "sha1": 20, "sha256": 32, "sha384": 48, "sha512": 64}
_ALGORITHM_ALIASES = {
    "sha-1": "sha1",
    "sha-256": "sha256",
    "sha-384": "sha384",
    "sha-512": "sha512",
}
_HEX = re.compile(r"^(?:[0-9a-fA-F]{2})+$")


class ManifestFormatError(FormatError):
    """Well-formed XML that is not a component manifest."""

    code = "manifest-format"


@dataclass(frozen=True, slots=True)
class ManifestFile:
    name: str
    destination_path: str | None
    source_name: str | None
    source_path: str | None
    import_path: str | None
    #: algorithm (``sha256``, ``sha1``...) -> lower-case hex digest. A ``hash=`` attribute
    #: that disagrees with the ``<hash>`` digest of the same algorithm is kept as
    #: ``<algorithm>-attribute``.
    hashes: dict[str, str]


@dataclass(frozen=True, slots=True)
class ComponentManifest:
    identity: AssemblyIdentity | None
    namespace: str | None
    dependencies: tuple[AssemblyIdentity, ...]
    files: tuple[ManifestFile, ...]
    registry_key_count: int
    #: the bytes are a ``DCM\x01`` + PA30 delta: nothing else was read
    is_delta_compressed: bool = False
    findings: tuple[Finding, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class ComponentKey:
    """The parts of a WinSxS component folder name.

    ``name`` (and possibly ``language``) may be truncated to ``first..last`` as Windows
    does; ``name_truncated`` says so. ``language`` is ``neutral`` where the folder says
    ``none`` (or the old SxS ``x-ww``).
    """

    processor_architecture: str
    name: str
    public_key_token: str
    version: str
    language: str
    pseudokey: str

    @property
    def name_truncated(self) -> bool:
        return ".." in self.name

    @property
    def is_neutral(self) -> bool:
        return self.language == "neutral"

    def matches(self, identity: AssemblyIdentity) -> bool:
        """Whether ``identity`` could be the component this folder holds (case-insensitive;
        a truncated name matches on its kept prefix and suffix)."""
        if (
            identity.processor_architecture or ""
        ).casefold() != self.processor_architecture.casefold():
            return False
        if (identity.public_key_token or "none").casefold() != self.public_key_token.casefold():
            return False
        if (identity.version or "").casefold() != self.version.casefold():
            return False
        lang = "neutral" if identity.is_neutral else (identity.language or "")
        if not _truncated_match(lang.casefold(), self.language.casefold()):
            return False
        return _truncated_match(identity.name.casefold(), self.name.casefold())


def _truncated_match(full: str, key: str) -> bool:
    if ".." not in key:
        return full == key
    head, _, tail = key.partition("..")
    return len(full) >= len(head) + len(tail) and full.startswith(head) and full.endswith(tail)


_ARCH = r"(?P<arch>[A-Za-z0-9]+(?:\.[A-Za-z0-9]+)?)"
_KEY_FORM = re.compile(
    rf"^{_ARCH}_(?P<name>[^_\\/:]+(?:_[^_\\/:]+)*?)"
    r"_(?P<token>[0-9A-Fa-f]{16}|none)"
    r"_(?P<version>\d+(?:\.\d+){1,3})"
    r"_(?P<lang>[A-Za-z0-9-]+(?:\.\.[A-Za-z0-9-]+)?)"
    r"_(?P<pseudokey>[0-9A-Fa-f]{16}|[0-9A-Fa-f]{8})$"
)


def parse_component_folder_name(name: str) -> ComponentKey | None:
    """Split ``arch_name_token_version_lang_pseudokey`` (a trailing ``.manifest`` or
    ``.cat`` is ignored). None when ``name`` does not have that form.

    >>> k = parse_component_folder_name(
    ...     "amd64_microsoft-windows-ucrt_31bf3856ad364e35_6.3.9600.18036_none_9cb7723fed4cd2c2")
    >>> (k.name, k.version, k.language)
    ('microsoft-windows-ucrt', '6.3.9600.18036', 'neutral')
    """
    if len(name) > 1024:
        return None
    base = name
    for ext in (".manifest", ".cat"):
        if base.casefold().endswith(ext):
            base = base[: -len(ext)]
            break
    m = _KEY_FORM.match(base)
    if m is None:
        return None
    component = m.group("name")
    if component.startswith("..") or component.endswith("..") or component.count("..") > 1:
        return None
    lang = m.group("lang")
    if lang.casefold() in ("none", "x-ww"):
        lang = "neutral"
    return ComponentKey(
        processor_architecture=m.group("arch"),
        name=component,
        public_key_token=m.group("token"),
        version=m.group("version"),
        language=lang,
        pseudokey=m.group("pseudokey"),
    )


def _algorithm_name(uri: str) -> str | None:
    frag = uri.rpartition("#")[2].strip().casefold()
    frag = _ALGORITHM_ALIASES.get(frag, frag)
    return frag if frag in DIGEST_SIZES else None


def _file_hashes(el: etree._Element, fname: str, findings: FindingSink) -> dict[str, str]:
    hashes: dict[str, str] = {}
    for hash_el in children_named(el, "hash"):
        method = next((d for d in hash_el.iter() if local(d.tag) == "DigestMethod"), None)
        value_el = next((d for d in hash_el.iter() if local(d.tag) == "DigestValue"), None)
        uri = (attributes(method).get("Algorithm") or "") if method is not None else ""
        alg = _algorithm_name(uri)
        text = "".join((value_el.text or "").split()) if value_el is not None else ""
        if alg is None or not text:
            findings.add(
                "manifest-hash-unreadable",
                Severity.WARNING,
                f"file {fname!r}: <hash> with algorithm {uri!r} and "
                f"{'a' if text else 'no'} digest value is not understood",
                file=fname,
                algorithm=uri,
            )
            continue
        try:
            digest = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            digest = b""
        if len(digest) != DIGEST_SIZES[alg]:
            findings.add(
                "manifest-hash-unreadable",
                Severity.WARNING,
                f"file {fname!r}: {alg} digest {text[:64]!r} is not base64 of "
                f"{DIGEST_SIZES[alg]} bytes",
                file=fname,
                algorithm=alg,
            )
            continue
        hashes.setdefault(alg, digest.hex())
    a = attributes(el)
    legacy = a.get("hash")
    if legacy is not None:
        alg_attr = a.get("hashalg") or "SHA1"
        alg = _algorithm_name("#" + alg_attr)
        value = legacy.strip()
        if alg is None or not _HEX.match(value) or len(value) != 2 * DIGEST_SIZES[alg]:
            findings.add(
                "manifest-hash-unreadable",
                Severity.WARNING,
                f"file {fname!r}: hash={value[:64]!r} hashalg={alg_attr!r} is not understood",
                file=fname,
                algorithm=alg_attr,
            )
        elif alg not in hashes:
            hashes[alg] = value.lower()
        elif hashes[alg] != value.lower():
            hashes[f"{alg}-attribute"] = value.lower()
            findings.add(
                "manifest-hash-attribute-differs",
                Severity.INFO,
                f"file {fname!r}: the hash= attribute ({alg}) differs from the <hash> "
                "digest; both are kept",
                file=fname,
                digest=hashes[alg],
                attribute=value.lower(),
            )
    return hashes


def _check_name(value: str | None, what: str, fname: str, findings: FindingSink) -> None:
    if value is None:
        return
    flags = names.classify(value)
    if flags:
        findings.add(
            "manifest-file-name-unsafe",
            Severity.WARNING,
            f"file {fname!r}: {what} {value!r} is not a plain relative name "
            f"({', '.join(sorted(flags))})",
            file=fname,
            flags=sorted(flags),
        )


def parse_manifest(data: bytes, *, limits: Limits | None = None) -> ComponentManifest:
    """Parse a component manifest; a ``DCM\\x01`` delta gives an object with only
    :attr:`ComponentManifest.is_delta_compressed` set and a ``manifest-compressed`` finding.

    :raises XmlError: not well-formed XML (:class:`UnsafeXmlError` for DTDs)
    :raises ManifestFormatError: the root element is not ``<assembly>``
    :raises LimitExceededError: larger or deeper than the XML limits of ``limits``
    """
    if data.startswith(DCM_MAGIC):
        notes = FindingSink(LAYER)
        notes.add(
            "manifest-compressed",
            Severity.INFO,
            "compressed manifest (DCM\\x01 + PA30): an MSDelta patch against a base "
            "manifest of the servicing stack, which this tool does not expand",
            magic=data[:8].hex(),
        )
        return ComponentManifest(
            identity=None,
            namespace=None,
            dependencies=(),
            files=(),
            registry_key_count=0,
            is_delta_compressed=True,
            findings=notes.result(),
        )
    root = parse_xml(data, what="component manifest", **xml_limits(limits))
    if local(root.tag) != "assembly":
        raise ManifestFormatError(
            f"component manifest: root element is <{local(root.tag)}>, expected <assembly>"
        )
    findings = FindingSink(LAYER)
    ns = namespace(root.tag)
    if ns not in KNOWN_NAMESPACES:
        findings.add(
            "manifest-namespace",
            Severity.WARNING,
            f"component manifest namespace is {ns!r}",
            namespace=ns,
        )
    ident_el = first_child(root, "assemblyIdentity")
    identity: AssemblyIdentity | None = None
    if ident_el is None:
        findings.add(
            "manifest-no-identity",
            Severity.ERROR,
            "component manifest has no <assemblyIdentity>",
        )
    else:
        identity = identity_from_element(ident_el)
        findings.extend(
            check_identity(identity, "component identity", code="manifest-identity-incomplete")
        )
    deps = dedupe(
        identity_from_element(i)
        for dep in children_named(root, "dependency")
        for i in dep.iter()
        if local(i.tag) == "assemblyIdentity"
    )
    files: list[ManifestFile] = []
    for el in elements(root):
        if local(el.tag) != "file":
            continue
        a = attributes(el)
        fname = a.get("name", "")
        if not fname:
            findings.add("manifest-file-no-name", Severity.WARNING, "a <file> has no name")
        _check_name(fname or None, "name", fname, findings)
        _check_name(a.get("sourceName"), "sourceName", fname, findings)
        files.append(
            ManifestFile(
                name=fname,
                destination_path=a.get("destinationPath"),
                source_name=a.get("sourceName"),
                source_path=a.get("sourcePath"),
                import_path=a.get("importPath"),
                hashes=_file_hashes(el, fname, findings),
            )
        )
    registry_keys = sum(1 for el in root.iter() if local(el.tag) == "registryKey")
    return ComponentManifest(
        identity=identity,
        namespace=ns,
        dependencies=deps,
        files=tuple(files),
        registry_key_count=registry_keys,
        is_delta_compressed=False,
        findings=findings.result(),
    )
