"""Parse a PKCS#7 SignedData (an Authenticode signature, a catalog, a timestamp token) into
a typed view that keeps the exact bytes digests are computed over."""

from __future__ import annotations

from dataclasses import dataclass

from asn1crypto import cms, core, x509

from msuinspect.cms import der
from msuinspect.cms.der import DerError
from msuinspect.cms.oids import PKCS7_SIGNED_DATA

#: what asn1crypto raises on malformed input (it parses lazily, so also on first access)
_ASN1_ERRORS = (ValueError, TypeError, KeyError, IndexError, OverflowError)


@dataclass(frozen=True)
class SignedDataView:
    """A parsed SignedData ContentInfo."""

    info: cms.ContentInfo
    der_length: int  #: bytes of the input that the DER ContentInfo spans
    trailing: bytes  #: input bytes after the DER object (padding or stuffing)
    content_type: str  #: dotted OID of the encapsulated content
    content_tlv: bytes  #: the encapsulated content's own TLV (inside the [0] wrapper)
    certificates: tuple[x509.Certificate, ...]
    signer_infos: tuple[cms.SignerInfo, ...]

    @property
    def content_body(self) -> bytes:
        """The contents octets of the encapsulated content: what ``messageDigest`` covers
        (the SEQUENCE body of SpcIndirectDataContent / a CTL, the TSTInfo inside an OCTET
        STRING)."""
        return der.contents(self.content_tlv)


def parse_signed_data(blob: bytes) -> SignedDataView:
    """Parse ``blob`` (a DER ContentInfo possibly followed by other bytes)."""
    length = der.total_length(blob)
    if length > len(blob):
        raise DerError(
            f"signature DER object claims {length} bytes but only {len(blob)} are present"
        )
    body = blob[:length]
    try:
        info = cms.ContentInfo.load(body, strict=True)
        if info["content_type"].dotted != PKCS7_SIGNED_DATA:
            raise DerError(f"PKCS#7 content type is {info['content_type'].dotted}, not signedData")
        sd = info["content"]
        eci = sd["encap_content_info"]
        content_type = eci["content_type"].dotted
        wrapped = eci["content"]
        certs: list[x509.Certificate] = []
        for choice in sd["certificates"] or []:
            if choice.name == "certificate":
                certs.append(choice.chosen)
        signers = tuple(sd["signer_infos"])
        # parse the parts every caller needs now, so malformed input fails here
        for si in signers:
            si["sid"].chosen  # noqa: B018
            si["digest_algorithm"]["algorithm"].dotted  # noqa: B018
            si["signature_algorithm"]["algorithm"].dotted  # noqa: B018
            si["signature"].native  # noqa: B018
        for c in certs:
            c["tbs_certificate"]["serial_number"].native  # noqa: B018
    except _ASN1_ERRORS as exc:
        raise DerError(f"signature is not a valid PKCS#7 SignedData: {exc}") from exc
    try:
        if wrapped is None or isinstance(wrapped, core.Void) or not wrapped.contents:
            content_tlv = b""
        else:
            # the [0] EXPLICIT wrapper around the content's own TLV
            content_tlv = der.contents(wrapped.dump())
    except _ASN1_ERRORS as exc:
        raise DerError(f"the signed content cannot be parsed: {exc}") from exc
    return SignedDataView(
        info=info,
        der_length=length,
        trailing=blob[length:],
        content_type=content_type,
        content_tlv=content_tlv,
        certificates=tuple(certs),
        signer_infos=signers,
    )
