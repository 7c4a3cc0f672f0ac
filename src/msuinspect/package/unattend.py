"""The MSU's unattend XML (``Windows6.0-KB…-x64.xml``; domain.md section 4.3).

It tells wusa/pkgmgr which package to install from which cabinet of the MSU::

    <unattend xmlns="urn:schemas-microsoft-com:unattend">
      <servicing>
        <package action="install">
          <assemblyIdentity name="Package_for_KB…" version="6.0.1.6" …/>
          <source location="%configsetroot%\\Windows6.0-KB…-x64.CAB"/>

``source location`` is attacker-controlled text. It is resolved only when it is the
``%configsetroot%`` placeholder (any case) followed by one separator and a plain file name;
the name is then matched case-insensitively against the MSU's members. Anything else
(``..``, absolute, drive-letter or UNC paths, sub-folders, device names) is reported and
never resolved. Nothing is ever opened: this module only compares strings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from msuinspect.cab import names
from msuinspect.errors import FormatError
from msuinspect.findings import Finding, FindingSink, Severity
from msuinspect.limits import Limits
from msuinspect.package.mum import AssemblyIdentity, check_identity, identity_from_element
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
UNATTEND_NS = "urn:schemas-microsoft-com:unattend"
PLACEHOLDER = "%configsetroot%"

_SOURCE = re.compile(r"^%configsetroot%[\\/](?P<rest>.*)$", re.IGNORECASE | re.DOTALL)


class UnattendFormatError(FormatError):
    """Well-formed XML that is not an unattend file."""

    code = "unattend-format"


@dataclass(frozen=True, slots=True)
class UnattendPackage:
    action: str | None
    identity: AssemblyIdentity
    source_location: str | None  #: as written
    #: the MSU member the source names (its spelling in ``package_members`` when given),
    #: None when the location is unsafe, unresolvable or names no member
    resolved_member: str | None


@dataclass(frozen=True, slots=True)
class Unattend:
    packages: tuple[UnattendPackage, ...]
    namespace: str | None
    findings: tuple[Finding, ...] = field(default=())


def source_member_name(location: str) -> tuple[str | None, str | None]:
    """(member name, None) for a safe ``%configsetroot%\\name``, else (None, reason)."""
    loc = location.strip()
    m = _SOURCE.match(loc)
    if m is None:
        flags = names.classify(loc)
        if PLACEHOLDER in loc.casefold():
            return None, "the %configsetroot% placeholder is not at the start of the location"
        if flags & {names.FLAG_UNC, names.FLAG_ABSOLUTE, names.FLAG_DRIVE}:
            return None, f"absolute location ({', '.join(sorted(flags))})"
        return None, "the location does not start with %configsetroot%"
    rest = m.group("rest")
    if "\\" in rest or "/" in rest:
        if names.FLAG_DOTDOT in names.classify(rest):
            return None, "the location climbs out of %configsetroot% with '..'"
        return None, "the location names a path below %configsetroot%, not a member of the MSU"
    if "%" in rest:
        return None, "the member name contains another environment-variable placeholder"
    flags = names.classify(rest)
    if flags:
        return None, f"the member name is not a plain file name ({', '.join(sorted(flags))})"
    return rest, None


def _resolve(
    name: str, members: list[str] | None, findings: FindingSink, location: str
) -> str | None:
    if members is None:
        return name
    if name in members:
        return name
    matches = [m for m in members if m.casefold() == name.casefold()]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        findings.add(
            "unattend-source-missing",
            Severity.ERROR,
            f"the unattend source {location!r} names {name!r}, which is not a member of the MSU",
            location=location,
            member=name,
        )
    else:
        findings.add(
            "unattend-source-ambiguous",
            Severity.WARNING,
            f"the unattend source {location!r} matches several members that differ only in case",
            location=location,
            members=matches,
        )
    return None


def parse_unattend(
    data: bytes,
    *,
    package_members: Iterable[str] | None = None,
    limits: Limits | None = None,
) -> Unattend:
    """Parse an MSU unattend XML and resolve each package's source to an MSU member.

    ``package_members`` are the member names of the MSU; when given, a source naming no
    member gives the finding ``unattend-source-missing``. Unsafe locations give
    ``unattend-source-unsafe`` (error) and stay unresolved.

    :raises XmlError: not well-formed XML (:class:`UnsafeXmlError` for DTDs)
    :raises UnattendFormatError: the root element is not ``<unattend>``
    :raises LimitExceededError: larger or deeper than the XML limits of ``limits``
    """
    root = parse_xml(data, what="unattend XML", **xml_limits(limits))
    if local(root.tag) != "unattend":
        raise UnattendFormatError(
            f"unattend XML: root element is <{local(root.tag)}>, expected <unattend>"
        )
    members = list(package_members) if package_members is not None else None
    findings = FindingSink(LAYER)
    ns = namespace(root.tag)
    if ns != UNATTEND_NS:
        findings.add(
            "unattend-namespace",
            Severity.WARNING,
            f"unattend namespace is {ns!r}, expected {UNATTEND_NS!r}",
            namespace=ns,
        )
    others = sorted({local(c.tag) for c in elements(root) if local(c.tag) != "servicing"})
    if others:
        findings.add(
            "unattend-unexpected-element",
            Severity.WARNING,
            "the unattend file holds more than servicing instructions: "
            + ", ".join(f"<{o}>" for o in others),
            elements=others,
        )
    packages: list[UnattendPackage] = []
    for servicing in children_named(root, "servicing"):
        for pkg in children_named(servicing, "package"):
            action = attributes(pkg).get("action")
            ident_el = first_child(pkg, "assemblyIdentity")
            if ident_el is None:
                findings.add(
                    "unattend-package-no-identity",
                    Severity.ERROR,
                    "an unattend <package> has no <assemblyIdentity>; it is ignored",
                )
                continue
            identity = identity_from_element(ident_el)
            findings.extend(
                check_identity(identity, "unattend package", code="unattend-identity-incomplete")
            )
            source_el = first_child(pkg, "source")
            location = attributes(source_el).get("location") if source_el is not None else None
            resolved: str | None = None
            if location is None or not location.strip():
                findings.add(
                    "unattend-no-source",
                    Severity.WARNING,
                    f"unattend package {identity.identity_string} has no source location",
                    identity=identity.identity_string,
                )
            else:
                name, reason = source_member_name(location)
                if name is None:
                    findings.add(
                        "unattend-source-unsafe",
                        Severity.ERROR,
                        f"unattend source location {location!r} is not resolved: {reason}",
                        location=location,
                        reason=reason,
                    )
                else:
                    resolved = _resolve(name, members, findings, location)
            packages.append(UnattendPackage(action, identity, location, resolved))
    if not packages:
        findings.add(
            "unattend-no-package",
            Severity.WARNING,
            "the unattend file names no package to install",
        )
    return Unattend(tuple(packages), ns, findings.result())
