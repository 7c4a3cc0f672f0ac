"""The MSU's ``*-pkgProperties.txt`` (domain.md section 4.2).

One ``Key="Value"`` per line; wusa reads the title and KB number from it. Real files (all
in the corpus) are ASCII with CRLF line ends; the format is believed to be UTF-16LE in some
generations, so the encoding is sniffed: a BOM (UTF-8, UTF-16LE/BE), else UTF-16 recognised
by its NUL bytes, else UTF-8, else cp1252. Keys are matched case-insensitively and without
regard to spaces (``Applies to`` / ``Applies To``); the original spelling is kept in
:attr:`PackageProperties.raw`.
"""

from __future__ import annotations

import codecs
import datetime as _dt
import re
from dataclasses import dataclass, field

from msuinspect.errors import LimitExceededError
from msuinspect.findings import Finding, FindingSink, Severity

LAYER = "package"
DEFAULT_MAX_SIZE = 1 << 20

#: the 14 keys public tools know, by their usual spelling
KNOWN_KEYS = (
    "ApplicabilityInfo",
    "Applies to",
    "Build Date",
    "Company",
    "File Version",
    "Installation Type",
    "Installer Engine",
    "Installer Version",
    "KB Article Number",
    "Language",
    "Package Type",
    "Processor Architecture",
    "Product Name",
    "Support Link",
)

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_KB = re.compile(r"^(?:KB)?\s*(\d{1,10})$", re.IGNORECASE)
_DATE = re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$")
_SNIFF = 512


def normalise_key(key: str) -> str:
    """The lookup form of a key: case-folded, without whitespace."""
    return "".join(key.split()).casefold()


@dataclass(frozen=True, slots=True)
class PackageProperties:
    #: how the bytes were decoded: ``utf-8``, ``utf-8-bom``, ``utf-16-le-bom``,
    #: ``utf-16-be-bom``, ``utf-16-le`` / ``utf-16-be`` (no BOM, sniffed), ``cp1252``
    encoding: str
    #: every key as written -> its value (the first one, for duplicates)
    raw: dict[str, str]
    #: :func:`normalise_key` of each key -> the key as written
    index: dict[str, str]
    findings: tuple[Finding, ...] = field(default=())

    def get(self, key: str) -> str | None:
        """The value of ``key``, matched case- and space-insensitively."""
        original = self.index.get(normalise_key(key))
        return None if original is None else self.raw[original]

    @property
    def applies_to(self) -> str | None:
        return self.get("Applies to")

    @property
    def kb_article(self) -> str | None:
        """The KB number as digits (a ``KB`` prefix is stripped), None if not a number."""
        return _kb_digits(self.get("KB Article Number"))

    @property
    def package_type(self) -> str | None:
        return self.get("Package Type")

    @property
    def processor_architecture(self) -> str | None:
        return self.get("Processor Architecture")

    @property
    def build_date(self) -> _dt.date | None:
        """``Build Date`` (``YYYY/MM/DD``) as a date, None if absent or unparsable."""
        return _parse_date(self.get("Build Date"))

    @property
    def installer_engine(self) -> str | None:
        return self.get("Installer Engine")

    @property
    def installer_version(self) -> str | None:
        return self.get("Installer Version")

    @property
    def installation_type(self) -> str | None:
        return self.get("Installation Type")

    @property
    def language(self) -> str | None:
        return self.get("Language")

    @property
    def support_link(self) -> str | None:
        return self.get("Support Link")

    @property
    def product_name(self) -> str | None:
        return self.get("Product Name")

    @property
    def company(self) -> str | None:
        return self.get("Company")

    @property
    def file_version(self) -> str | None:
        return self.get("File Version")

    @property
    def applicability_info(self) -> str | None:
        return self.get("ApplicabilityInfo")


def _kb_digits(value: str | None) -> str | None:
    if value is None:
        return None
    m = _KB.match(value.strip())
    return m.group(1) if m else None


def _parse_date(value: str | None) -> _dt.date | None:
    if value is None:
        return None
    m = _DATE.match(value.strip())
    if m is None:
        return None
    try:
        return _dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def _sniff_utf16(data: bytes) -> str | None:
    """``utf-16-le`` / ``utf-16-be`` when the NUL bytes fall on one parity, else None."""
    head = data[:_SNIFF]
    pairs = len(head) // 2
    if pairs == 0:
        return None
    odd = sum(1 for i in range(1, 2 * pairs, 2) if head[i] == 0)
    even = sum(1 for i in range(0, 2 * pairs, 2) if head[i] == 0)
    if odd * 2 >= pairs and even * 8 <= pairs:
        return "utf-16-le"
    if even * 2 >= pairs and odd * 8 <= pairs:
        return "utf-16-be"
    return None


def decode_properties(data: bytes) -> tuple[str, str, bool]:
    """(text, encoding label, lossy): decode pkgProperties bytes as described above."""
    boms = (
        (codecs.BOM_UTF8, "utf-8", "utf-8-bom"),
        (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16-le-bom"),
        (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16-be-bom"),
    )
    for bom, codec, label in boms:
        if data.startswith(bom):
            return _decode(data[len(bom) :], codec, label)
    sniffed = _sniff_utf16(data)
    if sniffed is not None:
        return _decode(data, sniffed, sniffed)
    try:
        return data.decode("utf-8"), "utf-8", False
    except UnicodeDecodeError:
        return _decode(data, "cp1252", "cp1252")


def _decode(body: bytes, codec: str, label: str) -> tuple[str, str, bool]:
    try:
        return body.decode(codec), label, False
    except UnicodeDecodeError:
        return body.decode(codec, errors="replace"), label, True


def parse_properties(data: bytes, *, max_size: int = DEFAULT_MAX_SIZE) -> PackageProperties:
    """Parse a ``*-pkgProperties.txt``. Only an oversized input raises; everything else
    that is odd (unquoted values, duplicate keys, lines without ``=``, an unparsable build
    date or KB number) becomes a finding.

    :raises LimitExceededError: ``data`` is longer than ``max_size`` bytes
    """
    if len(data) > max_size:
        raise LimitExceededError(
            f"pkgProperties: {len(data)} bytes exceed the limit of {max_size} bytes"
        )
    text, encoding, lossy = decode_properties(data)
    findings = FindingSink(LAYER)
    if lossy:
        findings.add(
            "properties-encoding",
            Severity.WARNING,
            f"pkgProperties bytes are not valid {encoding}; undecodable bytes were replaced",
            encoding=encoding,
        )
    text = text.removeprefix("\ufeff")
    raw: dict[str, str] = {}
    index: dict[str, str] = {}
    for lineno, line in enumerate(_LINE_BREAK.split(text), start=1):
        stripped = line.strip().strip("\x00")
        if not stripped:
            continue
        key, eq, value = stripped.partition("=")
        key = key.strip()
        if not eq or not key:
            findings.add(
                "properties-bad-line",
                Severity.WARNING,
                f'pkgProperties line {lineno} is not Key="Value": {stripped[:80]!r}',
                line=lineno,
            )
            continue
        value = value.strip()
        if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
            value = value[1:-1]
        else:
            findings.add(
                "properties-unquoted",
                Severity.INFO,
                f"pkgProperties line {lineno}: the value of {key!r} is not in double quotes",
                line=lineno,
                key=key,
            )
            value = value.strip('"')
        norm = normalise_key(key)
        if norm in index:
            first = index[norm]
            findings.add(
                "properties-duplicate-key",
                Severity.WARNING,
                f"pkgProperties line {lineno}: key {key!r} repeats {first!r}; "
                "the first value is used",
                line=lineno,
                key=key,
                kept=raw[first],
                ignored=value,
            )
            continue
        index[norm] = key
        raw[key] = value

    props = PackageProperties(encoding, raw, index)
    if not raw:
        findings.add("properties-empty", Severity.WARNING, 'pkgProperties holds no Key="Value"')
    else:
        missing = [k for k in KNOWN_KEYS if normalise_key(k) not in index]
        if missing:
            findings.add(
                "properties-missing-key",
                Severity.INFO,
                "pkgProperties lacks " + ", ".join(repr(k) for k in missing),
                keys=missing,
            )
    kb = props.get("KB Article Number")
    if kb is not None and props.kb_article is None:
        findings.add(
            "properties-bad-value",
            Severity.WARNING,
            f"pkgProperties 'KB Article Number' {kb!r} is not a KB number",
            key="KB Article Number",
            value=kb,
        )
    built = props.get("Build Date")
    if built is not None and props.build_date is None:
        findings.add(
            "properties-bad-value",
            Severity.WARNING,
            f"pkgProperties 'Build Date' {built!r} is not a YYYY/MM/DD date",
            key="Build Date",
            value=built,
        )
    return PackageProperties(encoding, raw, index, findings.result())
