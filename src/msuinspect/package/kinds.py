"""What a file is, by content (not by extension), and which update generations this tool
analyses in depth (domain.md sections 4 and 4.5).

The signed formats (cabinet, PE, PKCS#7) are recognised by the same magic checks as the
signature pass (:mod:`msuinspect.authenticode.formats`); the kinds here are the package's
finer ones (an update cabinet, WSUSSCAN.cab, a package manifest...)."""

from __future__ import annotations

import re
from enum import StrEnum

from msuinspect.authenticode.formats import CABINET, PE
from msuinspect.authenticode.formats.pkcs7 import looks_like_der


class NodeKind(StrEnum):
    MSU = "msu"  #: classic MSU: WSUSSCAN.cab + update .cab(s) + pkgProperties + unattend .xml
    MSU_PSFX = "msu-psfx"  #: Windows 10/11 combined or PSFX v2 MSU (not analysed in depth)
    MSU_WIM = "msu-wim"  #: Windows 11 24H2+ MSU that is a WIM container (not analysed)
    UPDATE_CAB = "update-cab"  #: a CBS package cabinet (holds *.mum)
    WSUSSCAN = "wsusscan"  #: WSUSSCAN.cab: a cabinet holding only package.cab (or package.xml)
    #: the WSUS metadata cabinet inside WSUSSCAN.cab (core\N, extended\N, localized\...)
    WSUS_METADATA = "wsus-metadata"
    CABINET = "cabinet"  #: any other cabinet
    CATALOG = "catalog"
    PKCS7 = "pkcs7"
    MUM = "mum"  #: package manifest
    MANIFEST = "manifest"  #: component manifest (XML)
    MANIFEST_COMPRESSED = "manifest-dcm"  #: DCM/PA30-compressed component manifest
    PROPERTIES = "pkgproperties"
    UNATTEND = "unattend"
    CONTAINER_INDEX = "container-index"  #: _manifest_.cix.xml
    PE = "pe"
    DELTA_PA30 = "delta-pa30"  #: an MSDelta (PA30) patch: payload delivered as a delta
    COMPRESSED_DCS = "compressed-dcs"  #: a WinSxS DCS-compressed file
    EXPRESS_PSF = "express-psf"  #: a PSF express payload
    XML = "xml"
    HTML = "html"  #: an HTML page (often a download error page saved under a package name)
    TEXT = "text"
    DATA = "data"


#: kinds this tool recognises but does not analyse in depth
NOT_ANALYSED = {
    NodeKind.MSU_PSFX: "a Windows 10/11 PSFX MSU (checkpoint/combined cumulative update)",
    NodeKind.MSU_WIM: "a WIM-container MSU (Windows 11 build 25336 and later)",
    NodeKind.MANIFEST_COMPRESSED: "a DCM/PA30-compressed manifest (a delta against the "
    "servicing stack's base manifests)",
    NodeKind.DELTA_PA30: "an MSDelta (PA30) patch; the file it produces cannot be rebuilt offline",
    NodeKind.COMPRESSED_DCS: "a DCS-compressed WinSxS file",
    NodeKind.EXPRESS_PSF: "a PSF express (differential) payload",
}

_XML_ROOT = re.compile(rb"<([A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)[\s>/]")
WIM_MAGIC = b"MSWIM\x00\x00\x00"


def _as_utf8(head: bytes) -> bytes:
    """The first bytes of a text file as UTF-8: UTF-16 (with or without a BOM) decoded, a
    UTF-8 BOM dropped."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        head = head.decode("utf-16", errors="ignore").encode("utf-8")
    elif len(head) > 1 and head[1:2] == b"\x00":
        head = head.decode("utf-16-le", errors="ignore").encode("utf-8")
    return head.removeprefix(b"\xef\xbb\xbf")


def _xml_root(text: bytes) -> str | None:
    """The local name of the first element of ``text`` (see :func:`_as_utf8`)."""
    stripped = text.lstrip()
    if not stripped.startswith(b"<"):
        return None
    pos = 0
    # skip the XML declaration, comments and processing instructions
    while True:
        m = _XML_ROOT.search(stripped, pos)
        if m is None:
            return None
        start = m.start()
        if stripped[start + 1 : start + 2] in (b"?", b"!"):
            pos = start + 2
            continue
        return m.group(2).decode("ascii", errors="replace")


_PROPERTY_KEYS = re.compile(
    rb'^(?:Applies to|KB Article Number|Package Type|Installer Engine|Build Date)="',
    re.IGNORECASE | re.MULTILINE,
)
_WSUS_METADATA_DIRS = frozenset({"core", "extended", "localized"})
#: the members of a WSUSSCAN.cab (casefolded)
_WSUSSCAN_NAMES = frozenset({"package.cab", "package.xml"})


def cabinet_kind(member_names: list[str]) -> NodeKind:
    """What a cabinet is, from the names of its members (the cabinet's own content, covered
    by its signature), not from the cabinet's file name.

    WSUSSCAN.cab holds one ``package.cab`` (``package.xml`` in some builds); that
    ``package.cab`` holds a ``package.xml`` and WSUS metadata under ``core\\``,
    ``extended\\`` and ``localized\\``. A cabinet with package manifests is an update
    cabinet; MSU anatomy is decided by the caller from the kinds of the members.
    """
    if member_names and all(n.casefold() in _WSUSSCAN_NAMES for n in member_names):
        return NodeKind.WSUSSCAN
    in_dirs = 0
    for name in member_names:
        n = name.casefold()
        top, sep, _ = n.replace("/", "\\").partition("\\")
        if sep and top in _WSUS_METADATA_DIRS:
            in_dirs += 1
        elif n != "package.xml":
            break
    else:
        if in_dirs:
            return NodeKind.WSUS_METADATA
    if any(n.casefold().endswith(".mum") for n in member_names):
        return NodeKind.UPDATE_CAB
    return NodeKind.CABINET


def sniff(head: bytes, name: str = "") -> NodeKind:
    """The kind of a file from its first bytes (at least 4 KiB where available). The name
    is used only for a PSF express payload, which has no magic of its own; see
    :func:`cabinet_kind` for what a cabinet is."""
    lname = name.replace("\\", "/").rsplit("/", 1)[-1].casefold()
    if CABINET.sniff(head):
        return NodeKind.CABINET
    if head.startswith(WIM_MAGIC):
        return NodeKind.MSU_WIM
    if PE.sniff(head):
        return NodeKind.PE
    if head.startswith(b"DCM\x01"):
        return NodeKind.MANIFEST_COMPRESSED
    if head.startswith(b"PA30"):
        return NodeKind.DELTA_PA30
    if head.startswith(b"DCS\x01") or head.startswith(b"DCN\x01"):
        return NodeKind.COMPRESSED_DCS
    if head.startswith(b"PSTREAM") or lname.endswith(".psf"):
        return NodeKind.EXPRESS_PSF
    if looks_like_der(head):  # not a .p7x: the package walk reads those as data
        return NodeKind.PKCS7
    text = _as_utf8(head[:4096])
    root = _xml_root(text)
    if root is not None:
        if root == "assembly":
            if b"<package" in head or lname.endswith(".mum"):
                return NodeKind.MUM
            return NodeKind.MANIFEST
        if root == "unattend":
            return NodeKind.UNATTEND
        if root == "Container":
            return NodeKind.CONTAINER_INDEX
        if root.casefold() == "html":
            return NodeKind.HTML
        return NodeKind.XML
    if _PROPERTY_KEYS.search(text):
        return NodeKind.PROPERTIES
    if text.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html")):
        return NodeKind.HTML
    if head and all(32 <= b < 127 or b in (9, 10, 13) for b in head[:512]):
        return NodeKind.TEXT
    return NodeKind.DATA
