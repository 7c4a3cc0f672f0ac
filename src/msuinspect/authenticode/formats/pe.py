"""PE images (``MZ``): the first PKCS#7 entry of the attribute certificate table, the PE
Authenticode digest (which catalogs list for PE members, so SHA-1 and SHA-256 are always
computed)."""

from __future__ import annotations

from msuinspect.authenticode.formats.base import FileKind, FormatView, SignatureBlob
from msuinspect.authenticode.pe import WIN_CERT_TYPE_PKCS_SIGNED_DATA, parse_pe
from msuinspect.cab.cabinet import Cabinet
from msuinspect.limits import Limits
from msuinspect.source import ByteSource

MAGIC = b"MZ"
#: a WIN_CERTIFICATE's header (dwLength, wRevision, wCertificateType) before its blob
_ENTRY_HEADER = 8


class PEFormat:
    name = "pe"
    kind = FileKind.PE

    def sniff(self, head: bytes) -> bool:
        return head[:2] == MAGIC

    def open(
        self,
        source: ByteSource,
        *,
        cabinet: Cabinet | None = None,
        limits: Limits,
        file_hashes: bool = True,
    ) -> FormatView:
        layout = parse_pe(source, max_table=limits.max_pe_certificate_table)
        entries = [c for c in layout.certificates if c.cert_type == WIN_CERT_TYPE_PKCS_SIGNED_DATA]
        blobs = [SignatureBlob(e.data, e.offset + _ENTRY_HEADER) for e in entries[:1]]
        return FormatView(
            FileKind.PE,
            findings=list(layout.findings),
            blobs=blobs,
            plan=layout.hash_plan(),
            catalog_algorithms=("sha1", "sha256"),
        )
