"""PE images (``MZ``): the first entry of the attribute certificate table (the only one
Windows reads; when it is not PKCS#7 there is no signature to read), the PE Authenticode
digest (which catalogs list for PE members, so SHA-1 and SHA-256 are always
computed)."""

from __future__ import annotations

from msuinspect.authenticode.formats.base import LAYER, FileKind, FormatView, SignatureBlob
from msuinspect.authenticode.pe import WIN_CERT_TYPE_PKCS_SIGNED_DATA, parse_pe
from msuinspect.cab.cabinet import Cabinet
from msuinspect.findings import Finding, Severity
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
        findings = list(layout.findings)
        blobs: list[SignatureBlob] = []
        if layout.certificates:
            # Windows reads the first entry only, whatever its type
            first = layout.certificates[0]
            if first.cert_type == WIN_CERT_TYPE_PKCS_SIGNED_DATA:
                blobs.append(SignatureBlob(first.data, first.offset + _ENTRY_HEADER))
            else:
                later = [
                    i
                    for i, c in enumerate(layout.certificates)
                    if c.cert_type == WIN_CERT_TYPE_PKCS_SIGNED_DATA
                ]
                findings.append(
                    Finding(
                        "pe-certificate-not-pkcs7",
                        Severity.ERROR,
                        f"the first WIN_CERTIFICATE is of type {first.cert_type:#06x}, not a "
                        "PKCS#7 signature: Windows reads only the first entry, so it finds no "
                        "signature"
                        + (
                            f" (a PKCS#7 entry follows as entry {later[0]}; not read)"
                            if later
                            else ""
                        ),
                        LAYER,
                        offset=first.offset,
                        evidence={"cert_type": first.cert_type},
                    )
                )
        return FormatView(
            FileKind.PE,
            findings=findings,
            blobs=blobs,
            plan=layout.hash_plan(),
            catalog_algorithms=("sha1", "sha256"),
        )
