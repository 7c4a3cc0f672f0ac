"""Timestamps on a signature: the legacy Authenticode countersignature (PKCS#9
counterSignature, 1.2.840.113549.1.9.6) and the RFC 3161 token Microsoft stores as
unauthenticated attribute 1.3.6.1.4.1.311.3.3.1. Both bind a time to the digest of the
signer's signature value."""

from __future__ import annotations

import datetime as _dt
import hmac
from collections.abc import Sequence
from dataclasses import dataclass

from asn1crypto import cms, tsp, x509

from msuinspect.authenticode.algorithms import canonical, new_hash
from msuinspect.authenticode.certs import CertInfo, describe
from msuinspect.authenticode.signer import check_signer, signing_time
from msuinspect.authenticode.trust import ChainResult, TrustStore
from msuinspect.cms.certificates import ASN1_ERRORS, first_line
from msuinspect.cms.der import DerError
from msuinspect.cms.oids import TST_INFO
from msuinspect.cms.signed_data import parse_signed_data
from msuinspect.limits import Limits


@dataclass(frozen=True, slots=True)
class TimestampResult:
    kind: str  #: ``rfc3161`` or ``legacy``
    time: _dt.datetime | None
    digest_algorithm: str  #: the algorithm of the imprint over the signature value
    imprint_valid: bool  #: the timestamp is over this signature's value
    signature_valid: bool | None  #: the timestamp authority's signature verifies
    signer: CertInfo | None
    chain: ChainResult | None
    error: str | None
    #: certificates of an RFC 3161 token that cannot be parsed (the timestamp is then
    #: not valid)
    certificate_problems: tuple[str, ...] = ()
    #: certificates of an RFC 3161 token past ``Limits.max_certificates``, not read
    certificates_skipped: int = 0
    #: False when an RFC 3161 token's content is not a TSTInfo (then it is not valid)
    content_ok: bool = True

    @property
    def valid(self) -> bool:
        return (
            self.time is not None
            and self.imprint_valid
            and bool(self.signature_valid)
            and self.chain is not None
            and self.chain.trusted
            and not self.certificate_problems
            and self.content_ok
        )


def _unparsed(kind: str, what: str, exc: BaseException) -> TimestampResult:
    return TimestampResult(
        kind,
        None,
        "unknown",
        False,
        None,
        None,
        None,
        f"{what} cannot be parsed: {first_line(exc)}",
    )


def legacy_countersignature(
    cs: cms.SignerInfo,
    signature_value: bytes,
    certificates: Sequence[x509.Certificate],
    trust: TrustStore,
) -> TimestampResult:
    """The countersignature ``cs`` over ``signature_value``; never raises for bad input."""
    try:
        return _legacy(cs, signature_value, certificates, trust)
    except ASN1_ERRORS as exc:
        return _unparsed("legacy", "the countersignature", exc)


def _legacy(
    cs: cms.SignerInfo,
    signature_value: bytes,
    certificates: Sequence[x509.Certificate],
    trust: TrustStore,
) -> TimestampResult:
    check = check_signer(cs, signature_value, certificates)
    when = signing_time(cs)
    time = when if isinstance(when, _dt.datetime) else None
    chain = None
    if check.certificate is not None and time is not None:
        chain = trust.validate(check.certificate, certificates, time, "time_stamping")
    error = check.error
    if time is None and error is None:
        error = "the countersignature has no signing time"
    return TimestampResult(
        kind="legacy",
        time=time,
        digest_algorithm=check.digest_algorithm,
        imprint_valid=bool(check.message_digest_valid),
        signature_valid=check.signature_valid,
        signer=describe(check.certificate) if check.certificate is not None else None,
        chain=chain,
        error=error,
    )


def rfc3161_token(
    token: bytes,
    signature_value: bytes,
    outer_certs: Sequence[x509.Certificate],
    trust: TrustStore,
    limits: Limits | None = None,
) -> TimestampResult:
    """The RFC 3161 ``token`` over ``signature_value``, parsed within ``limits``; never
    raises for bad input."""
    try:
        return _rfc3161(token, signature_value, outer_certs, trust, limits)
    except ASN1_ERRORS as exc:
        return _unparsed("rfc3161", "the RFC 3161 token", exc)


def _rfc3161(
    token: bytes,
    signature_value: bytes,
    outer_certs: Sequence[x509.Certificate],
    trust: TrustStore,
    limits: Limits | None,
) -> TimestampResult:
    try:
        view = parse_signed_data(token, limits)
        tst = tsp.TSTInfo.load(view.content_body)
        imprint = tst["message_imprint"]
        alg = canonical(imprint["hash_algorithm"]["algorithm"].native)
        hashed = imprint["hashed_message"].native
        gen_time = tst["gen_time"].native
    except (DerError, *ASN1_ERRORS) as exc:
        return TimestampResult(
            "rfc3161",
            None,
            "unknown",
            False,
            None,
            None,
            None,
            f"the RFC 3161 token cannot be parsed: {exc}",
        )
    h = new_hash(alg)
    h.update(signature_value)
    imprint_ok = hmac.compare_digest(h.digest(), hashed)
    if not view.signer_infos:
        return TimestampResult(
            "rfc3161",
            gen_time if isinstance(gen_time, _dt.datetime) else None,
            alg,
            imprint_ok,
            None,
            None,
            None,
            "the RFC 3161 token has no signer",
        )
    pool = [*view.certificates, *outer_certs]
    check = check_signer(view.signer_infos[0], view.content_body, pool, view.content_type)
    chain = None
    if check.certificate is not None and isinstance(gen_time, _dt.datetime):
        chain = trust.validate(check.certificate, pool, gen_time, "time_stamping")
    error = check.error
    if view.content_type != TST_INFO:
        error = f"the RFC 3161 token's content is {view.content_type}, not a TSTInfo"
    if not imprint_ok:
        error = "the timestamp is not over this signature (message imprint mismatch)"
    problems = tuple(
        f"certificate #{u.index} of the token ({u.name}) cannot be parsed: {u.problem}"
        for u in view.unparsed_certificates
    )
    if problems and error is None:
        error = problems[0]
    return TimestampResult(
        kind="rfc3161",
        time=gen_time if isinstance(gen_time, _dt.datetime) else None,
        digest_algorithm=alg,
        imprint_valid=imprint_ok,
        signature_valid=check.signature_valid and bool(check.message_digest_valid),
        signer=describe(check.certificate) if check.certificate is not None else None,
        chain=chain,
        error=error,
        certificate_problems=problems,
        certificates_skipped=view.certificates_skipped,
        content_ok=view.content_type == TST_INFO,
    )
