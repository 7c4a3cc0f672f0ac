"""Stand-alone PKCS#7 files: a catalog (SignedData whose content is a certificate trust
list), a detached Authenticode signature, or an APPX/MSIX ``.p7x`` (the same after a
4-byte ``PKCX`` magic). Such a file signs other bytes: it has no Authenticode digest of
its own. What it is shows only once its SignedData is parsed, so the format parses it."""

from __future__ import annotations

from msuinspect.authenticode.formats.base import LAYER, FileKind, FormatView, SignatureBlob
from msuinspect.authenticode.formats.blob import parse_blob
from msuinspect.cab.cabinet import Cabinet
from msuinspect.cms import der, oids
from msuinspect.cms.der import DerError
from msuinspect.errors import LimitExceededError, TruncatedError
from msuinspect.findings import Finding, Severity
from msuinspect.limits import Limits
from msuinspect.source import ByteSource

#: APPX/MSIX signature files (.p7x) are a PKCS#7 blob after this 4-byte magic
P7X_MAGIC = b"PKCX"


def looks_like_der(head: bytes) -> bool:
    """Whether ``head`` may start a ContentInfo (a SignedData's): a DER or BER SEQUENCE whose
    first element is an OBJECT IDENTIFIER (its content type), or that is cut off before
    that element shows (a damaged signature is reported as one). Other DER that starts
    with a SEQUENCE (an X.509 certificate, a key, a CRL: their first element is a SEQUENCE
    or an INTEGER) is not a signed file, so not an unparseable signature either."""
    try:
        tag, header_len, _, _ = der.ber_header(head)
    except DerError:
        return False
    if tag != 0x30:
        return False
    try:
        first, _, _, _ = der.ber_header(head, header_len)
    except DerError:
        return True
    return first == 0x06


def _check_complete(blob: bytes, base: int) -> None:
    """A file that ends before its outer SEQUENCE does was cut short (an interrupted
    download): an error outcome, not a signature that cannot be parsed."""
    try:
        _tag, header_len, length, _der = der.ber_header(blob)
    except DerError:
        return
    if length is not None and header_len + length > len(blob):
        raise TruncatedError(
            f"the file ends after {len(blob)} bytes, but its SignedData declares "
            f"{header_len + length}: it is truncated",
            offset=base + len(blob),
        )


class PKCS7Format:
    name = "pkcs7"
    kind = FileKind.PKCS7

    def sniff(self, head: bytes) -> bool:
        return looks_like_der(head) or head[:4] == P7X_MAGIC

    def open(
        self,
        source: ByteSource,
        *,
        cabinet: Cabinet | None = None,
        limits: Limits,
        file_hashes: bool = True,
    ) -> FormatView:
        if source.size > limits.max_pkcs7_size:
            raise LimitExceededError(
                f"the {source.size}-byte PKCS#7 file is larger than the limit of "
                f"{limits.max_pkcs7_size} bytes (raise it with --max-pkcs7-size)"
            )
        with source.open() as f:
            blob = f.read()
        base = 0
        if blob[:4] == P7X_MAGIC:
            blob, base = blob[4:], 4
        if not looks_like_der(blob):
            return FormatView(FileKind.UNKNOWN)
        _check_complete(blob, base)
        parsed = parse_blob(blob, base, limits)
        view = FormatView(FileKind.PKCS7)
        if base == 0:
            view.signed_data = parsed.signed_data
        after: tuple[Finding, ...] = ()
        if parsed.signed_data is None:
            view.kind = FileKind.UNKNOWN  # DER, but not a PKCS#7 SignedData
        elif parsed.signed_data.content_type == oids.MS_CTL:
            view.kind = FileKind.CATALOG  # signed, or an unsigned catalog (no signers)
        elif parsed.signatures and parsed.signatures[0].file_digest_algorithm is not None:
            after = (
                Finding(
                    "detached-signature",
                    Severity.INFO,
                    "a detached Authenticode signature: the file it signs is not here, so "
                    "its digest cannot be checked",
                    LAYER,
                ),
            )
        view.blobs.append(SignatureBlob(blob, base, after, parsed))
        return view
