"""Safety limits against hostile input, shared by every layer.

All limits are per top-level file: nested cabinets share their parent's budget, so the
whole file's work is bounded by its own size (see ``docs/security.md``).
"""

from __future__ import annotations

from dataclasses import dataclass

from msuinspect.errors import LimitExceededError

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB

#: the deepest nesting msuinspect accepts at all. Reading a cabinet nested N levels deep
#: from a replayed stream chains about 7 Python frames per level; at this depth that stays
#: far below Python's recursion limit (proven by tests/cab/test_hostile.py at this depth).
MAX_SAFE_DEPTH = 32

# Defaults of the limits the parsers above the cabinet layer apply (docs/security.md,
# "Limits owned by other layers"). These names are the defaults' one source of truth; the
# parsers' module-level names (``der.MAX_BER_DEPTH``, ``signed_data.MAX_CERTIFICATES`` ...)
# are these same values.

#: nesting of BER indefinite-length values followed in one PKCS#7 structure
MAX_ASN1_DEPTH = 32
#: the deepest ASN.1 nesting a caller may allow (asn1crypto parses recursively)
MAX_SAFE_ASN1_DEPTH = 256
#: bytes of a stand-alone PKCS#7 / catalog file read into memory
MAX_PKCS7_SIZE = 256 * MIB
#: certificates read from one SignedData (a signature, a catalog, a timestamp token)
MAX_CERTIFICATES = 256
#: signatures collected per file, primary and nested, at any depth
MAX_SIGNATURES = 64
#: bytes of a PE file's attribute certificate table read
MAX_PE_CERTIFICATE_TABLE = 64 * MIB
#: bytes of one XML document (update.mum, manifests, unattend, container index)
MAX_XML_SIZE = 64 * MIB
#: element nesting of one XML document; also the most that may be allowed, libxml2's own
#: limit without ``XML_PARSE_HUGE`` (msuinspect never sets it)
MAX_XML_DEPTH = 256
#: members read from one catalog
MAX_CATALOG_MEMBERS = 1_000_000


@dataclass(frozen=True, slots=True)
class Limits:
    """Caps applied while reading. Every field is configurable from the CLI."""

    #: total decompressed bytes produced for one top-level file, nested cabinets included
    #: (re-decoding for random access counts too), whatever its size
    max_total_output: int = 64 * GIB
    #: total decompressed bytes, and total bytes written by ``extract``, per top-level file:
    #: at most this many times the file's size ...
    max_expansion: float = 100.0
    #: ... or this many bytes, whichever is more (small files)
    expansion_floor: int = 64 * MIB
    #: maximum ratio of decompressed to compressed bytes in a folder ...
    max_ratio: float = 400.0
    #: ... enforced only once the folder has produced this many bytes
    ratio_grace: int = 32 * MIB
    #: members per cabinet (the format itself allows at most 65535)
    max_members: int = 65535
    #: bytes in a member name, excluding the terminating NUL ([MS-CAB] allows 255)
    max_name_length: int = 255
    #: nesting depth of cabinets inside cabinets (an MSU's inner CAB is depth 1); at most
    #: :data:`MAX_SAFE_DEPTH`
    max_depth: int = 4
    #: how often one nested member stream may restart its decoder to seek backwards
    max_restarts: int = 256
    #: bytes of a member read wholly into memory (manifests, properties, catalogs); also
    #: the bytes of nested cabinets a listing or extraction holds in memory at once
    max_in_memory: int = 256 * MIB
    #: folders sharing CFDATA blocks and members sharing bytes are reported as warnings
    #: instead of errors (real Microsoft cabinets never do either)
    allow_shared_data: bool = False
    #: nesting of BER indefinite-length values in a PKCS#7 structure; at most
    #: :data:`MAX_SAFE_ASN1_DEPTH`
    max_asn1_depth: int = MAX_ASN1_DEPTH
    #: bytes of a stand-alone PKCS#7 signature or catalog file (larger: refused)
    max_pkcs7_size: int = MAX_PKCS7_SIZE
    #: certificates read per SignedData; the rest are ignored (``certificates-capped``)
    max_certificates: int = MAX_CERTIFICATES
    #: signatures per file, primary and nested; the rest are not read (``signatures-capped``)
    max_signatures: int = MAX_SIGNATURES
    #: bytes of a PE certificate table read (``pe-certificate-table-too-large`` beyond)
    max_pe_certificate_table: int = MAX_PE_CERTIFICATE_TABLE
    #: bytes of one XML document (larger: refused)
    max_xml_size: int = MAX_XML_SIZE
    #: element nesting of one XML document; at most :data:`MAX_XML_DEPTH`
    max_xml_depth: int = MAX_XML_DEPTH
    #: members read per catalog; the rest are dropped (``catalog-member-limit``)
    max_catalog_members: int = MAX_CATALOG_MEMBERS

    def __post_init__(self) -> None:
        if self.max_ratio <= 1 or self.max_total_output <= 0 or self.max_members <= 0:
            raise ValueError("limits must be positive (ratio > 1)")
        if self.max_expansion <= 1 or self.expansion_floor <= 0:
            raise ValueError("the expansion limit must be above 1 and its floor positive")
        if not 0 <= self.max_depth <= MAX_SAFE_DEPTH:
            raise ValueError(f"max_depth must be between 0 and {MAX_SAFE_DEPTH}")
        if not 1 <= self.max_asn1_depth <= MAX_SAFE_ASN1_DEPTH:
            raise ValueError(f"max_asn1_depth must be between 1 and {MAX_SAFE_ASN1_DEPTH}")
        if not 1 <= self.max_xml_depth <= MAX_XML_DEPTH:
            raise ValueError(f"max_xml_depth must be between 1 and {MAX_XML_DEPTH}")
        positive = {
            "max_pkcs7_size": self.max_pkcs7_size,
            "max_certificates": self.max_certificates,
            "max_signatures": self.max_signatures,
            "max_pe_certificate_table": self.max_pe_certificate_table,
            "max_xml_size": self.max_xml_size,
            "max_catalog_members": self.max_catalog_members,
        }
        for name, value in positive.items():
            if value <= 0:
                raise ValueError(f"{name} must be positive")

    def work_cap(self, input_size: int) -> int:
        """Bytes a file of ``input_size`` bytes may decode, and may have written, in all."""
        relative = max(self.expansion_floor, int(self.max_expansion * max(input_size, 0)))
        return min(self.max_total_output, relative)

    def budget(self, input_size: int) -> OutputBudget:
        """A fresh budget for one top-level file of ``input_size`` bytes."""
        cap = self.work_cap(input_size)
        return OutputBudget(cap, written_limit=cap, input_size=input_size)


class OutputBudget:
    """Counts the work done for one top-level file: decompressed bytes (every folder, every
    nesting level, every re-decode) and bytes written by extraction."""

    __slots__ = ("held", "input_size", "limit", "used", "written", "written_limit")

    def __init__(
        self, limit: int, *, written_limit: int | None = None, input_size: int | None = None
    ) -> None:
        self.limit = limit
        self.used = 0
        self.written_limit = limit if written_limit is None else written_limit
        self.written = 0
        self.input_size = input_size
        #: bytes of nested cabinets currently held in memory by a listing or extraction
        self.held = 0

    def _what(self) -> str:
        if self.input_size is None:
            return f"the limit of {self.limit} bytes"
        return f"the limit of {self.limit} bytes for a file of {self.input_size} bytes"

    def consume(self, n: int) -> None:
        self.used += n
        if self.used > self.limit:
            raise LimitExceededError(
                f"decompressed output exceeds {self._what()} (nested cabinets and shared "
                "data included; raise it with --max-expansion, --expansion-floor or "
                "--max-output)"
            )

    def consume_written(self, n: int) -> None:
        self.written += n
        if self.written > self.written_limit:
            lim = self.written_limit
            size = f" for a file of {self.input_size} bytes" if self.input_size is not None else ""
            raise LimitExceededError(
                f"extracted bytes exceed the limit of {lim} bytes{size} (members sharing data "
                "included; raise it with --max-expansion, --expansion-floor or --max-output)"
            )

    def hold(self, n: int, cap: int) -> bool:
        """Reserve ``n`` bytes of memory for a nested cabinet if ``cap`` allows."""
        if self.held + n > cap:
            return False
        self.held += n
        return True

    def release(self, n: int) -> None:
        self.held = max(0, self.held - n)
