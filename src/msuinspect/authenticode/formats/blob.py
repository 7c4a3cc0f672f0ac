"""Reading a signature blob as PKCS#7 SignedData, with what parsing notices: the same for
every format's blobs."""

from __future__ import annotations

from msuinspect.authenticode.formats.base import LAYER, ParsedBlob
from msuinspect.authenticode.signature import ParsedSignature, capped_finding, collect_signatures
from msuinspect.cms.certificates import ASN1_ERRORS
from msuinspect.cms.der import DerError
from msuinspect.cms.signed_data import SignedDataView, parse_signed_data
from msuinspect.findings import Finding, Severity
from msuinspect.limits import Limits


def parse_blob(blob: bytes, offset: int, limits: Limits) -> ParsedBlob:
    """The signatures in ``blob`` (at ``offset`` of its file) and its SignedData."""
    findings: list[Finding] = []
    view: SignedDataView | None = None
    parsed: list[ParsedSignature]
    try:
        view = parse_signed_data(blob, limits)
        collected = collect_signatures(view, limits)
        parsed = collected.signatures
    except (DerError, *ASN1_ERRORS) as exc:
        findings.append(
            Finding(
                "unparsed-signature",
                Severity.ERROR,
                f"the signature cannot be parsed: {exc}",
                LAYER,
                offset=offset,
            )
        )
        return ParsedBlob([], view, findings)
    capped = capped_finding(collected)
    if capped is not None:
        findings.append(capped)
    trailing = view.trailing
    if trailing and (len(trailing) >= 8 or any(trailing)):
        findings.append(
            Finding(
                "signature-trailing-data",
                Severity.ERROR,
                f"{len(trailing)} bytes after the signature's DER inside the signature "
                "area are not zero padding (cf. CVE-2013-3900)",
                LAYER,
                offset=offset + view.der_length,
                evidence={"count": len(trailing)},
            )
        )
    return ParsedBlob(parsed, view, findings)
