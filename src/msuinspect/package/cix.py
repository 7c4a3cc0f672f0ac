"""The container index of a CBS cabinet (``_manifest_.cix.xml``, namespace
``urn:ContainerIndex``): which real file each numbered member is, its SHA-1, and whether the
member is the file itself or an MSDelta (PA30) patch that produces it."""

from __future__ import annotations

from dataclasses import dataclass, field

from msuinspect.findings import Finding
from msuinspect.limits import Limits
from msuinspect.package.xmlsafe import local, parse_xml, xml_limits


@dataclass(frozen=True, slots=True)
class CixFile:
    id: str
    name: str  #: the real path, e.g. ``amd64_…_6.1.7601.17793_none_…\\winsat.exe``
    length: int | None
    sha1: str | None  #: of the real file
    #: the cabinet member holding the bytes: the file itself, or a delta source
    source_member: str | None
    source_type: str | None  #: ``PA30`` for a delta, ``RAW`` for the file itself
    source_sha1: str | None
    basis: str | None  #: id of the file a delta applies to


@dataclass(slots=True)
class ContainerIndex:
    name: str | None
    files: list[CixFile] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def by_member(self) -> dict[str, CixFile]:
        """Cabinet member name -> the file it carries (or patches towards)."""
        out: dict[str, CixFile] = {}
        for f in self.files:
            if f.source_member is not None:  # files with only a Basis repeat another file
                out[f.source_member.casefold()] = f
        return out


def parse_cix(data: bytes, *, limits: Limits | None = None) -> ContainerIndex:
    root = parse_xml(data, what="container index", **xml_limits(limits))
    cix = ContainerIndex(root.get("name"))
    for el in root.iter():
        if not isinstance(el.tag, str) or local(el.tag) != "File":
            continue
        sha1 = src = stype = ssha1 = basis = None
        for child in el:
            if not isinstance(child.tag, str):
                continue
            tag = local(child.tag)
            if tag == "Hash" and (child.get("alg") or "").upper() == "SHA1":
                sha1 = (child.get("value") or "").lower() or None
            elif tag == "Delta":
                for d in child:
                    if not isinstance(d.tag, str):
                        continue
                    if local(d.tag) == "Source":
                        src = d.get("name")
                        stype = d.get("type")
                        for h in d:
                            if isinstance(h.tag, str) and local(h.tag) == "Hash":
                                ssha1 = (h.get("value") or "").lower() or None
                    elif local(d.tag) == "Basis":
                        basis = d.get("file")
        length = el.get("length")
        cix.files.append(
            CixFile(
                id=el.get("id") or "",
                name=el.get("name") or "",
                length=int(length) if length and length.isdigit() else None,
                sha1=sha1,
                source_member=src,
                source_type=stype,
                source_sha1=ssha1,
                basis=basis,
            )
        )
    return cix
