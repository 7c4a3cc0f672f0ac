"""Parse a PKCS#7 SignedData (an Authenticode signature, a catalog, a timestamp token) into
a typed view that keeps the exact bytes digests are computed over.

DER is expected, but BER (indefinite lengths, lengths in long form) is accepted, as
Windows' PKCS#7 decoder accepts it: the view says whether the structure was DER
(``der_encoded``) so that callers can report a re-encoded signature. Certificates that
cannot be parsed in full are kept out of ``certificates`` and listed in
``unparsed_certificates``, so one broken certificate cannot break the rest of the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from asn1crypto import cms, core, x509

from msuinspect import limits as _lim
from msuinspect.cms import der
from msuinspect.cms.certificates import ASN1_ERRORS, label, shared
from msuinspect.cms.der import DerError
from msuinspect.cms.oids import PKCS7_SIGNED_DATA
from msuinspect.limits import Limits

#: what asn1crypto raises on malformed input (it parses lazily, so also on first access)
_ASN1_ERRORS = ASN1_ERRORS
#: certificates read from one SignedData at most (hostile input); the default of
#: ``Limits.max_certificates``
MAX_CERTIFICATES = _lim.MAX_CERTIFICATES


@dataclass(frozen=True, slots=True)
class UnparsedCertificate:
    """A certificate of the SignedData that cannot be used."""

    index: int  #: position in the SignedData's certificate set
    name: str  #: its subject when readable, else the first bytes of its encoding
    problem: str


@dataclass(frozen=True)
class SignedDataView:
    """A parsed SignedData ContentInfo."""

    info: cms.ContentInfo
    der_length: int  #: bytes of the input that the ContentInfo spans
    trailing: bytes  #: input bytes after the ContentInfo (padding or stuffing)
    content_type: str  #: dotted OID of the encapsulated content
    content_tlv: bytes  #: the encapsulated content's own TLV (inside the [0] wrapper)
    certificates: tuple[x509.Certificate, ...]  #: the usable ones
    signer_infos: tuple[cms.SignerInfo, ...]
    #: False when the ContentInfo/SignedData structure is BER rather than DER
    der_encoded: bool = True
    unparsed_certificates: tuple[UnparsedCertificate, ...] = ()
    #: entries of the certificate set past ``Limits.max_certificates``, not read
    certificates_skipped: int = 0
    #: the limits it was parsed with; nested signatures and timestamp tokens inside it are
    #: parsed with the same
    limits: Limits = field(default_factory=Limits, repr=False, compare=False)

    @property
    def content_body(self) -> bytes:
        """The contents octets of the encapsulated content: what ``messageDigest`` covers
        (the SEQUENCE body of SpcIndirectDataContent / a CTL, the TSTInfo inside an OCTET
        STRING)."""
        if not self.content_tlv:
            return b""
        return der.ber_contents(self.content_tlv, max_depth=self.limits.max_asn1_depth)


def _structure_is_der(body: bytes, max_depth: int) -> bool:
    """Whether the ContentInfo, its [0] wrapper, the SignedData, the SignedData's fields
    and the encapsulated content's wrapper all use DER lengths."""
    ok = True

    def kids(start: int, stop: int | None) -> list[tuple[int, int, int]]:
        """(offset, header length, total length) of the TLVs from ``start``."""
        nonlocal ok
        out: list[tuple[int, int, int]] = []
        pos = start
        while (stop is None or pos < stop) and pos < len(body):
            if stop is None and body[pos : pos + 2] == b"\x00\x00":
                break
            _t, hlen, _clen, der_form = der.ber_header(body, pos)
            size, _ = der.ber_extent(body, pos, max_depth=max_depth)
            ok = ok and der_form
            out.append((pos, hlen, size))
            pos += size
            if len(out) > 16:
                break
        return out

    def inside(tlv: tuple[int, int, int]) -> list[tuple[int, int, int]]:
        pos, hlen, size = tlv
        _t, _h, clen, _d = der.ber_header(body, pos)
        return kids(pos + hlen, None if clen is None else pos + size)

    top = kids(0, 1)
    ci = inside(top[0])  # contentType, [0]
    if len(ci) < 2:
        return ok
    sd = inside(ci[1])  # the SignedData SEQUENCE
    if not sd:
        return ok
    fields = inside(sd[0])  # version, digestAlgorithms, encapContentInfo, [0] certs...
    if len(fields) >= 3:
        eci = inside(fields[2])
        if len(eci) >= 2:
            inside(eci[1])
    return ok


def parse_signed_data(blob: bytes, limits: Limits | None = None) -> SignedDataView:
    """Parse ``blob`` (a ContentInfo possibly followed by other bytes), within ``limits``
    (default :class:`Limits`): ``max_asn1_depth`` nested indefinite lengths, and
    ``max_certificates`` certificates read (``certificates_skipped`` counts the others)."""
    limits = limits or Limits()
    depth = limits.max_asn1_depth
    length, _ = der.ber_extent(blob, max_depth=depth)
    body = blob[:length]
    skipped = 0
    try:
        der_encoded = _structure_is_der(body, depth)
    except DerError:
        der_encoded = False
    try:
        info = cms.ContentInfo.load(body, strict=True)
        if info["content_type"].dotted != PKCS7_SIGNED_DATA:
            raise DerError(f"PKCS#7 content type is {info['content_type'].dotted}, not signedData")
        sd = info["content"]
        eci = sd["encap_content_info"]
        content_type = eci["content_type"].dotted
        wrapped = eci["content"]
        raw_certs: list[x509.Certificate] = []
        cert_set = sd["certificates"] or []
        for i, choice in enumerate(cert_set):
            if len(raw_certs) >= limits.max_certificates:
                skipped = len(cert_set) - i
                break
            if choice.name == "certificate":
                raw_certs.append(choice.chosen)
        signers = tuple(sd["signer_infos"])
        # parse the parts every caller needs now, so malformed input fails here
        for si in signers:
            si["sid"].native  # noqa: B018
            si["digest_algorithm"]["algorithm"].dotted  # noqa: B018
            si["signature_algorithm"]["algorithm"].dotted  # noqa: B018
            si["signature"].native  # noqa: B018
            attrs = si["signed_attrs"]
            if attrs:
                for a in attrs:
                    a["type"].dotted  # noqa: B018
                    list(a["values"])
    except _ASN1_ERRORS as exc:
        raise DerError(f"signature is not a valid PKCS#7 SignedData: {exc}") from exc
    certs: list[x509.Certificate] = []
    bad: list[UnparsedCertificate] = []
    for i, raw in enumerate(raw_certs):
        cert, problem = shared(raw)
        if problem is None:
            certs.append(cert)
        else:
            bad.append(UnparsedCertificate(i, label(raw), problem))
    try:
        if wrapped is None or isinstance(wrapped, core.Void) or not wrapped.contents:
            content_tlv = b""
        else:
            # the [0] EXPLICIT wrapper around the content's own TLV
            w = wrapped.dump()
            _tag, hlen, _clen, _der = der.ber_header(w)
            size, _ = der.ber_extent(w, hlen, max_depth=depth)
            content_tlv = w[hlen : hlen + size]
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
        der_encoded=der_encoded,
        unparsed_certificates=tuple(bad),
        certificates_skipped=skipped,
        limits=limits,
    )
