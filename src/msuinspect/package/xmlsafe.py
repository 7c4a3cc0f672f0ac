"""Hardened XML parsing for package metadata (update.mum, manifests, unattend files).

Every XML document msuinspect reads comes from an untrusted file, so :func:`parse_xml`:

* refuses inputs larger than ``max_size`` before touching them, and documents nested
  deeper than ``max_depth`` elements (libxml2 itself stops at 256 without
  ``XML_PARSE_HUGE``, which is never set; a lower ``max_depth`` is checked after parsing);
* decodes the text itself (BOM, the UTF-16 byte patterns of the XML spec's appendix F, or
  the encoding declaration; only UTF-8/UTF-16 and ASCII-compatible single-byte code pages
  are accepted), so that nothing can be hidden from the checks below in an encoding they do
  not understand;
* refuses any ``<!DOCTYPE`` or ``<!ENTITY`` declaration *before* parsing: the whole prolog
  is scanned, and the first KiB of text is searched as well. Microsoft's manifests never
  carry a DTD, so there is nothing to lose;
* parses with ``lxml.etree.XMLParser(resolve_entities=False, no_network=True,
  load_dtd=False, huge_tree=False)``, which neither loads nor expands anything external,
  and checks afterwards that libxml2 saw no DTD either;
* maps every syntax error to :class:`XmlError`, with the line and column.

Billion laughs, external entities (XXE), parameter entities and external DTDs are therefore
refused without any file or network access.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator

from lxml import etree

from msuinspect.errors import FormatError, LimitExceededError
from msuinspect.limits import MAX_XML_DEPTH, MAX_XML_SIZE, Limits

#: default size limit of one XML document (``Limits.max_xml_size``)
DEFAULT_MAX_SIZE = MAX_XML_SIZE
#: default, and highest, element depth of one XML document (``Limits.max_xml_depth``);
#: libxml2's own limit without ``huge_tree``
DEFAULT_MAX_DEPTH = MAX_XML_DEPTH
#: characters of text searched for DTD keywords regardless of structure
_HEAD_SCAN = 1024

_DTD_KEYWORD = re.compile(r"<!\s*(?:DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)", re.IGNORECASE)
_XML_DECL = re.compile(rb"""^<\?xml[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']""")
#: encodings (normalised by :func:`codecs.lookup`) that are ASCII supersets, so the DTD scan
#: of the decoded text and libxml2 agree on where markup is
_SINGLE_BYTE = re.compile(r"^(?:ascii|latin-1|iso8859-\d{1,2}|cp125\d)$")


class XmlError(FormatError):
    """A document is not well-formed XML (or not in a supported encoding)."""

    code = "xml-format"

    def __init__(
        self,
        message: str,
        *,
        offset: int | None = None,
        path: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ):
        super().__init__(message, offset=offset, path=path)
        self.line = line
        self.column = column


class UnsafeXmlError(XmlError):
    """A document carries a DTD or entity declaration, which msuinspect never processes."""

    code = "xml-unsafe"


def _make_parser() -> etree.XMLParser:
    # utf-8 is forced: the text was decoded (and checked) here and is handed over re-encoded,
    # whatever the document's own declaration says
    return etree.XMLParser(
        encoding="utf-8",
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=False,
        dtd_validation=False,
        attribute_defaults=False,
    )


def decode_xml_bytes(data: bytes, *, what: str) -> tuple[str, str]:
    """(text without BOM, encoding name) of an XML document's bytes.

    The order follows appendix F of the XML spec: byte order marks first, then the byte
    patterns of an unmarked UTF-16 ``<?``, then the encoding declaration, else UTF-8.
    """
    if data.startswith(
        (b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00", b"\x00\x00\x00<", b"<\x00\x00\x00")
    ):
        raise XmlError(f"{what}: UTF-32 XML is not supported")
    if data.startswith(codecs.BOM_UTF8):
        encoding, body = "utf-8", data[3:]
    elif data.startswith(codecs.BOM_UTF16_LE):
        encoding, body = "utf-16-le", data[2:]
    elif data.startswith(codecs.BOM_UTF16_BE):
        encoding, body = "utf-16-be", data[2:]
    elif data.startswith(b"<\x00?\x00"):
        encoding, body = "utf-16-le", data
    elif data.startswith(b"\x00<\x00?"):
        encoding, body = "utf-16-be", data
    else:
        encoding, body = _declared_encoding(data, what=what), data
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError as exc:
        raise XmlError(
            f"{what}: bytes are not valid {encoding} ({exc.reason})",
            offset=exc.start + (len(data) - len(body)),
        ) from None
    return text, encoding


def _declared_encoding(data: bytes, *, what: str) -> str:
    m = _XML_DECL.match(data.lstrip(b" \t\r\n")[:256])
    if m is None:
        return "utf-8"
    declared = m.group(1).decode("ascii")
    try:
        name = codecs.lookup(declared).name
    except LookupError:
        raise XmlError(f"{what}: unknown encoding {declared!r} in the XML declaration") from None
    if name == "utf-8":
        return "utf-8"
    if name.startswith("utf-16"):
        # a UTF-16 declaration on bytes that are neither marked nor laid out as UTF-16: the
        # declaration is wrong (seen with tools that re-save files); read what is there
        return "utf-8"
    if _SINGLE_BYTE.match(name):
        return name
    raise XmlError(f"{what}: unsupported encoding {declared!r} in the XML declaration")


def _check_prolog(text: str, *, what: str) -> None:
    """Refuse DTD-like declarations in the prolog (or anywhere in the first KiB)."""
    m = _DTD_KEYWORD.search(text, 0, _HEAD_SCAN)
    if m is not None:
        raise UnsafeXmlError(
            f"{what}: document type / entity declarations are not allowed "
            f"({m.group(0)!r} at character {m.start()})"
        )
    pos, n = 0, len(text)
    while pos < n:
        ch = text[pos]
        if ch in " \t\r\n":
            pos += 1
            continue
        if text.startswith("<?", pos):
            end = text.find("?>", pos + 2)
            if end < 0:
                return  # unterminated: the parser reports it
            pos = end + 2
        elif text.startswith("<!--", pos):
            end = text.find("-->", pos + 4)
            if end < 0:
                return
            pos = end + 3
        elif text.startswith("<!", pos):
            raise UnsafeXmlError(
                f"{what}: markup declaration {text[pos : pos + 12]!r} in the prolog "
                f"(character {pos}); DTDs are not allowed"
            )
        else:
            return  # the root element (or junk the parser will reject)


def xml_limits(limits: Limits | None) -> dict[str, int]:
    """The ``max_size`` and ``max_depth`` arguments of :func:`parse_xml` from ``limits``."""
    if limits is None:
        return {"max_size": DEFAULT_MAX_SIZE, "max_depth": DEFAULT_MAX_DEPTH}
    return {"max_size": limits.max_xml_size, "max_depth": limits.max_xml_depth}


def parse_xml(
    data: bytes,
    *,
    what: str,
    max_size: int = DEFAULT_MAX_SIZE,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> etree._Element:
    """Parse untrusted XML bytes into an element tree, refusing anything unsafe.

    ``what`` names the document in error messages ("update.mum", "unattend XML", ...).

    :raises LimitExceededError: ``data`` is longer than ``max_size`` bytes, or its elements
        nest deeper than ``max_depth`` (at most :data:`DEFAULT_MAX_DEPTH`, which libxml2
        enforces itself, as an :class:`XmlError`)
    :raises UnsafeXmlError: a DOCTYPE / ENTITY (or other DTD) declaration is present
    :raises XmlError: the bytes are not well-formed XML in a supported encoding
    """
    if len(data) > max_size:
        raise LimitExceededError(
            f"{what}: {len(data)} bytes of XML exceed the limit of {max_size} bytes "
            "(raise it with --max-xml-size)"
        )
    text, _ = decode_xml_bytes(data, what=what)
    _check_prolog(text, what=what)
    try:
        payload = text.encode("utf-8")
    except UnicodeEncodeError as exc:  # lone surrogates from a broken UTF-16 document
        raise XmlError(f"{what}: text is not encodable ({exc.reason})") from None
    try:
        root = etree.fromstring(payload, _make_parser())
    except etree.XMLSyntaxError as exc:
        line, column = exc.position if exc.position else (exc.lineno, None)
        msg = exc.msg or str(exc)
        raise XmlError(
            f"{what}: malformed XML at line {line}, column {column}: {msg}",
            line=line,
            column=column,
        ) from None
    except (etree.LxmlError, ValueError) as exc:
        raise XmlError(f"{what}: XML cannot be parsed: {exc}") from None
    if root is None:  # pragma: no cover - lxml raises for empty documents
        raise XmlError(f"{what}: empty XML document")
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.externalDTD is not None or docinfo.doctype:
        raise UnsafeXmlError(f"{what}: the parser saw a document type declaration")
    if max_depth < DEFAULT_MAX_DEPTH:
        _check_depth(root, max_depth, what)
    return root


def _check_depth(root: etree._Element, max_depth: int, what: str) -> None:
    """Refuse a tree whose elements nest deeper than ``max_depth`` (one pass, no recursion)."""
    depth = 0
    for event, _el in etree.iterwalk(root, events=("start", "end")):
        if event == "start":
            depth += 1
            if depth > max_depth:
                raise LimitExceededError(
                    f"{what}: elements nest deeper than the limit of {max_depth} levels "
                    "(raise it with --max-xml-depth)"
                )
        else:
            depth -= 1


def local(tag: object) -> str:
    """The local part of an element or attribute name (``{ns}name`` -> ``name``).

    Comments and processing instructions (whose ``tag`` is a function) give ``""``.
    """
    if type(tag) is str:  # the common case first (called for every element and attribute)
        return tag.rpartition("}")[2] if tag.startswith("{") else tag
    if isinstance(tag, etree.QName):
        return str(tag.localname)
    if isinstance(tag, bytes):
        tag = tag.decode("utf-8", "replace")
    if not isinstance(tag, str):
        return ""
    if tag.startswith("{"):
        return tag.rpartition("}")[2]
    return tag


def namespace(tag: object) -> str | None:
    """The namespace URI of an element name, None when it has none."""
    if isinstance(tag, str) and tag.startswith("{"):
        return tag[1:].partition("}")[0]
    return None


def elements(parent: etree._Element) -> Iterator[etree._Element]:
    """Element children of ``parent`` (comments and processing instructions skipped)."""
    for child in parent:
        if isinstance(child.tag, str):
            yield child


def children_named(parent: etree._Element, name: str) -> Iterator[etree._Element]:
    """Element children whose local name is ``name``, in any namespace."""
    for child in elements(parent):
        if local(child.tag) == name:
            yield child


def first_child(parent: etree._Element, name: str) -> etree._Element | None:
    return next(children_named(parent, name), None)


def attributes(el: etree._Element) -> dict[str, str]:
    """An element's attributes by local name (the first wins if two share a local name)."""
    out: dict[str, str] = {}
    for key, value in el.attrib.items():
        name = local(key)
        if name not in out:
            out[name] = str(value)
    return out
