"""Verifying one SignerInfo: its certificate, its messageDigest, its signature.

Covers RSA PKCS#1 v1.5 and ECDSA, and the old countersignatures whose RSA signature is over
a bare digest rather than a DigestInfo (VeriSign-era MD5/SHA-1 timestamps).
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass

from asn1crypto import cms, x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key

from msuinspect.authenticode.algorithms import canonical, crypto_hash, new_hash
from msuinspect.cms.certificates import ASN1_ERRORS, first_line
from msuinspect.cms.oids import PKCS9_CONTENT_TYPE, PKCS9_MESSAGE_DIGEST, PKCS9_SIGNING_TIME


@dataclass(frozen=True, slots=True)
class SignerCheck:
    """Outcome of checking one SignerInfo over a given content."""

    certificate: x509.Certificate | None
    digest_algorithm: str  #: SignerInfo digestAlgorithm, canonical name
    signature_algorithm: str  #: e.g. ``rsassa_pkcs1v15``, ``sha256_ecdsa``
    message_digest_valid: bool | None  #: None when there is no messageDigest attribute
    signature_valid: bool | None  #: None when it could not be checked (no certificate)
    legacy_bare_digest: bool  #: the RSA signature is over a bare digest (old countersignatures)
    error: str | None


def find_signer_certificate(
    si: cms.SignerInfo, certificates: Sequence[x509.Certificate]
) -> x509.Certificate | None:
    sid = si["sid"]
    if sid.name == "issuer_and_serial_number":
        ias = sid.chosen
        serial = ias["serial_number"].native
        for c in certificates:
            if c.serial_number == serial and _same_name(c.issuer, ias["issuer"]):
                return c
        return None
    ski = sid.chosen.native
    for c in certificates:
        if c.key_identifier == ski:
            return c
    return None


def _same_name(a: x509.Name, b: x509.Name) -> bool:
    """``a == b``; the same DER is the same name, so only different encodings need
    asn1crypto's comparison (slow: string preparation of every attribute, every time)."""
    return bool(a.dump() == b.dump() or a == b)


#: why a SignerInfo with signed attributes but no messageDigest binds no content
NO_MESSAGE_DIGEST = (
    "the signed attributes carry no messageDigest attribute: nothing binds the content "
    "(RFC 5652 requires it)"
)


def signed_attribute(si: cms.SignerInfo, oid: str) -> object | None:
    attrs = si["signed_attrs"]
    if not attrs:
        return None
    for a in attrs:
        if a["type"].dotted == oid:
            values = a["values"]
            return values[0] if len(values) else None
    return None


def signing_time(si: cms.SignerInfo) -> object | None:
    value = signed_attribute(si, PKCS9_SIGNING_TIME)
    try:
        return value.native if value is not None else None  # type: ignore[attr-defined]
    except ASN1_ERRORS:
        return None


def signed_bytes(si: cms.SignerInfo, content: bytes) -> bytes:
    """What the signature is over: the signed attributes re-encoded as a SET (tag 0x31),
    or the content itself when there are none."""
    attrs = si["signed_attrs"]
    if attrs is None or not len(attrs):
        return content
    der: bytes = attrs.dump()
    return b"\x31" + der[1:]


def check_signer(
    si: cms.SignerInfo,
    content: bytes,
    certificates: Sequence[x509.Certificate],
    content_type: str | None = None,
) -> SignerCheck:
    """Check ``si`` over ``content`` (the bytes whose digest the messageDigest attribute
    holds: the encapsulated content's body, or a signature value for countersignatures).
    ``content_type`` is the encapsulated content's type (eContentType), given for a
    SignedData's own signer: its signed contentType attribute must name the same type
    (RFC 5652 5.3, 11.1), or the content is not the one that was signed. A SignerInfo
    that cannot be parsed gives a failed check, never an exception."""
    try:
        return _check_signer(si, content, certificates, content_type)
    except ASN1_ERRORS as exc:
        return SignerCheck(
            None,
            "unknown",
            "unknown",
            False,
            False,
            False,
            f"the SignerInfo cannot be parsed: {first_line(exc)}",
        )


def _check_signer(
    si: cms.SignerInfo,
    content: bytes,
    certificates: Sequence[x509.Certificate],
    content_type: str | None = None,
) -> SignerCheck:
    digest_alg = canonical(si["digest_algorithm"]["algorithm"].native)
    sig_alg_obj = si["signature_algorithm"]
    try:
        sig_alg = str(sig_alg_obj.signature_algo)
    except ValueError:
        sig_alg = sig_alg_obj["algorithm"].dotted
    cert = find_signer_certificate(si, certificates)
    md_valid: bool | None = None
    error: str | None = None
    try:
        expected = signed_attribute(si, PKCS9_MESSAGE_DIGEST)
        if expected is None and si["signed_attrs"]:
            # RFC 5652 5.3: with signed attributes, messageDigest is what binds the
            # content; without it the signature holds for any content
            md_valid = False
            error = NO_MESSAGE_DIGEST
        elif expected is not None:
            h = new_hash(digest_alg)
            h.update(content)
            md_valid = hmac.compare_digest(h.digest(), expected.native)  # type: ignore[attr-defined]
            if not md_valid:
                error = "the messageDigest attribute does not match the signed content"
    except ASN1_ERRORS as exc:
        md_valid = False
        error = f"cannot check messageDigest: {exc}"
    mismatch = None
    if content_type is not None and si["signed_attrs"]:
        mismatch = _content_type_mismatch(si, content_type)
    if cert is None:
        return SignerCheck(
            None,
            digest_alg,
            sig_alg,
            md_valid,
            None,
            False,
            error or "the signer's certificate is not in the signature",
        )
    data = signed_bytes(si, content)
    signature = si["signature"].native
    ok, legacy, sig_error = verify_signature(cert, sig_alg, digest_alg, signature, data)
    if not ok and error is None:
        error = sig_error
    if ok and mismatch is not None:
        # the signature is over attributes that name another content type: it does not
        # sign this content (RFC 5652: verification fails)
        ok, error = False, error or mismatch
    return SignerCheck(cert, digest_alg, sig_alg, md_valid, ok, legacy, error)


def _content_type_mismatch(si: cms.SignerInfo, content_type: str) -> str | None:
    """Why the signed contentType attribute does not bind ``content_type``, or None."""
    attr = signed_attribute(si, PKCS9_CONTENT_TYPE)
    if attr is None:
        return "the signed attributes carry no contentType attribute (RFC 5652 requires one)"
    try:
        signed = attr.dotted  # type: ignore[attr-defined]
    except (AttributeError, *ASN1_ERRORS):
        return "the contentType attribute cannot be read"
    if signed != content_type:
        return (
            f"the signed contentType attribute ({signed}) does not match the type of the "
            f"content ({content_type}): the content is not the one that was signed"
        )
    return None


def verify_signature(
    cert: x509.Certificate, sig_alg: str, digest_alg: str, signature: bytes, data: bytes
) -> tuple[bool, bool, str | None]:
    """(valid, over a bare digest, error) for ``signature`` by ``cert`` over ``data``."""
    try:
        key = load_der_public_key(cert.public_key.dump())
        hash_alg = crypto_hash(digest_alg)
    except (*ASN1_ERRORS, NotImplementedError) as exc:
        return False, False, f"unsupported key or digest: {exc}"
    try:
        if isinstance(key, rsa.RSAPublicKey):
            if "pss" in sig_alg:
                return False, False, "RSASSA-PSS signatures are not supported"
            try:
                key.verify(signature, data, padding.PKCS1v15(), hash_alg)
                return True, False, None
            except InvalidSignature:
                # VeriSign-era countersignatures sign the bare digest without DigestInfo
                h = new_hash(digest_alg)
                h.update(data)
                try:
                    recovered = key.recover_data_from_signature(signature, padding.PKCS1v15(), None)
                except InvalidSignature:
                    return False, False, "the signature does not verify"
                if hmac.compare_digest(recovered, h.digest()):
                    return True, True, None
                return False, False, "the signature does not verify"
        if isinstance(key, ec.EllipticCurvePublicKey):
            try:
                key.verify(signature, data, ec.ECDSA(hash_alg))
                return True, False, None
            except InvalidSignature:
                return False, False, "the signature does not verify"
        return False, False, f"unsupported public key type {type(key).__name__}"
    except (ValueError, TypeError) as exc:
        return False, False, f"signature check failed: {exc}"


__all__ = [
    "NO_MESSAGE_DIGEST",
    "SignerCheck",
    "check_signer",
    "find_signer_certificate",
    "signed_attribute",
    "signing_time",
    "verify_signature",
]
