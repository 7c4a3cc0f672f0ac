"""Authenticode signatures: the primary SignerInfo and every nested one, each verified.

:func:`collect` walks a SignedData and its nested signatures (unauthenticated attribute
1.3.6.1.4.1.311.2.4.1 of a SignerInfo, to any depth, in order) without checking anything,
so the caller knows which digest algorithms to compute. :func:`verify` then checks each one
against the digests computed over the file: the signed digest, the messageDigest attribute,
the signature, the timestamps, and the chain at the right moment.
"""

from __future__ import annotations

import datetime as _dt
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from asn1crypto import cms, x509

from msuinspect import limits as _lim
from msuinspect.authenticode.algorithms import Strength, canonical, strength, weakest
from msuinspect.authenticode.certs import CertInfo, describe
from msuinspect.authenticode.explain import trust_reason
from msuinspect.authenticode.identity import SignerClass, classify
from msuinspect.authenticode.signer import (
    NO_MESSAGE_DIGEST,
    SignerCheck,
    check_signer,
    signed_attribute,
)
from msuinspect.authenticode.timestamps import (
    TimestampResult,
    legacy_countersignature,
    rfc3161_token,
)
from msuinspect.authenticode.trust import ChainResult, TrustStore, display_chain
from msuinspect.cms import oids
from msuinspect.cms.certificates import ASN1_ERRORS, first_line
from msuinspect.cms.der import DerError
from msuinspect.cms.signed_data import SignedDataView, parse_signed_data
from msuinspect.cms.spc import SpcIndirectDataContent, SpcSpOpusInfo, spc_link_text, spc_string_text
from msuinspect.findings import Finding, FindingSink, Severity
from msuinspect.limits import Limits

LAYER = "authenticode"
#: signatures (primary and nested) collected per file at most (hostile input); the
#: default of ``Limits.max_signatures``
MAX_SIGNATURES = _lim.MAX_SIGNATURES

_KNOWN_UNSIGNED = {
    oids.SPC_NESTED_SIGNATURE,
    oids.SPC_RFC3161_TIMESTAMP,
    oids.PKCS9_COUNTERSIGNATURE,
}


@dataclass(slots=True)
class ParsedSignature:
    """One SignerInfo with its SignedData, before verification."""

    index: int
    parent: int | None
    view: SignedDataView
    signer_info: cms.SignerInfo
    #: SpcIndirectDataContent, None for catalogs and other content
    indirect: SpcIndirectDataContent | None
    errors: list[str] = field(default_factory=list)
    #: the unauthenticated attributes: (type OID, values), in order
    unsigned: list[tuple[str, list[Any]]] = field(default_factory=list)
    #: why the unauthenticated attributes could not be read in full (None when they could)
    unsigned_error: str | None = None

    @property
    def nested(self) -> bool:
        return self.parent is not None

    @property
    def file_digest_algorithm(self) -> str | None:
        if self.indirect is None:
            return None
        return canonical(self.indirect["message_digest"]["digest_algorithm"]["algorithm"].native)

    @property
    def signed_digest(self) -> bytes | None:
        if self.indirect is None:
            return None
        return bytes(self.indirect["message_digest"]["digest"].native)

    @property
    def subject_type(self) -> str | None:
        if self.indirect is None:
            return None
        return str(self.indirect["data"]["type"].dotted)


@dataclass(slots=True)
class AuthenticodeSignature:
    """Everything known about one signature, verified."""

    index: int
    nested: bool
    parent: int | None
    content_type: str
    subject_type: str | None  #: SPC_PE_IMAGE_DATA, SPC_CAB_DATA... (None for catalogs)
    digest_algorithm: str  #: the file-digest algorithm (the signer's for catalogs)
    signed_digest: str | None  #: hex
    computed_digest: str | None  #: hex
    digest_valid: bool | None
    signer_digest_algorithm: str
    signature_algorithm: str
    message_digest_valid: bool | None
    signature_valid: bool | None
    legacy_bare_digest: bool
    signer: CertInfo | None
    certificates: tuple[CertInfo, ...]
    chain: ChainResult | None
    validated_at: _dt.datetime | None
    validated_at_timestamp: bool
    timestamps: tuple[TimestampResult, ...]
    program_name: str | None
    more_info_url: str | None
    signed_attributes: tuple[str, ...]
    unknown_unsigned_attributes: tuple[str, ...]
    findings: list[Finding] = field(default_factory=list)
    #: microsoft-windows / microsoft / microsoft-hardware / other (docs/trust.md)
    signer_class: SignerClass = SignerClass.OTHER
    #: why the signature is not trusted, one sentence (None when it is)
    trust_reason: str | None = None
    #: certificates of the signature that cannot be parsed: the signature is not trusted
    certificate_problems: tuple[str, ...] = ()
    #: False when the SignedData holding this signature is BER rather than DER
    der_encoded: bool = True

    @property
    def trusted(self) -> bool:
        return bool(
            self.digest_valid is not False
            and self.signature_valid
            and self.message_digest_valid is not False
            and self.chain is not None
            and self.chain.trusted
            and not self.certificate_problems
        )

    @property
    def trust_anchor(self) -> CertInfo | None:
        return self.chain.anchor if self.chain is not None else None

    @property
    def timestamp(self) -> TimestampResult | None:
        valid = [t for t in self.timestamps if t.valid]
        if valid:
            return valid[0]
        return self.timestamps[0] if self.timestamps else None

    @property
    def strength(self) -> Strength:
        """sha2 / sha1 / weak: the weaker of the file digest and the signer's digest."""
        return weakest(self.digest_algorithm, self.signer_digest_algorithm)


def _unsigned_attributes(si: cms.SignerInfo) -> tuple[list[tuple[str, list[Any]]], str | None]:
    """(type, values) of each unauthenticated attribute readable, and why reading stopped."""
    out: list[tuple[str, list[Any]]] = []
    try:
        attrs = si["unsigned_attrs"]
        for a in attrs or []:
            out.append((a["type"].dotted, list(a["values"])))
    except ASN1_ERRORS as exc:
        return out, f"the unauthenticated attributes cannot be parsed: {first_line(exc)}"
    return out, None


def _values(unsigned: list[tuple[str, list[Any]]], oid: str) -> list[Any]:
    return [v for t, vs in unsigned if t == oid for v in vs]


@dataclass(slots=True)
class Collected:
    """The signatures of a SignedData, and whether ``Limits.max_signatures`` cut them."""

    signatures: list[ParsedSignature]
    #: more signatures (side by side or nested) were present than were collected
    capped: bool = False
    #: the cap applied
    limit: int = MAX_SIGNATURES


def collect(view: SignedDataView, limits: Limits | None = None) -> list[ParsedSignature]:
    """The primary signature(s) of ``view`` and every nested one, depth first, in order,
    at most ``limits.max_signatures`` (default: the limits ``view`` was parsed with)."""
    return collect_signatures(view, limits).signatures


def collect_signatures(view: SignedDataView, limits: Limits | None = None) -> Collected:
    """Like :func:`collect`, saying whether the cap left signatures out."""
    limits = limits or view.limits
    out = Collected([], limit=limits.max_signatures)
    _collect_view(view, None, out, limits)
    return out


def _collect_view(view: SignedDataView, parent: int | None, out: Collected, limits: Limits) -> None:
    found = out.signatures
    indirect: SpcIndirectDataContent | None = None
    errors: list[str] = []
    if view.content_type == oids.SPC_INDIRECT_DATA:
        try:
            indirect = SpcIndirectDataContent.load(view.content_tlv, strict=True)
            # parse now what the properties read
            indirect["message_digest"]["digest"].native  # noqa: B018
            indirect["message_digest"]["digest_algorithm"]["algorithm"].native  # noqa: B018
            indirect["data"]["type"].dotted  # noqa: B018
        except ASN1_ERRORS as exc:
            errors.append(f"SpcIndirectDataContent cannot be parsed: {exc}")
            indirect = None
    for si in view.signer_infos:
        if len(found) >= limits.max_signatures:
            out.capped = True
            return
        unsigned, unsigned_error = _unsigned_attributes(si)
        ps = ParsedSignature(
            len(found), parent, view, si, indirect, list(errors), unsigned, unsigned_error
        )
        found.append(ps)
        for value in _values(unsigned, oids.SPC_NESTED_SIGNATURE):
            if len(found) >= limits.max_signatures:
                out.capped = True  # without parsing it: the cap also bounds the work
                return
            try:
                nested_view = parse_signed_data(value.dump(), limits)
            except (DerError, *ASN1_ERRORS) as exc:
                ps.errors.append(f"a nested signature cannot be parsed: {exc}")
                continue
            _collect_view(nested_view, ps.index, out, limits)


def capped_finding(collected: Collected) -> Finding | None:
    """The ``signatures-capped`` finding when the cap left signatures out."""
    if not collected.capped:
        return None
    n = collected.limit
    return Finding(
        "signatures-capped",
        Severity.WARNING,
        f"the file holds more than {n} signatures (primary and nested); only the first {n} "
        "are read and verified, the others are ignored (raise the cap with --max-signatures)",
        LAYER,
        evidence={"limit": n},
    )


#: clock differences tolerated when comparing a timestamp with the validation time
_TOLERANCE = _dt.timedelta(seconds=1)

#: content types named in messages
_CONTENT_NAMES = {
    oids.MS_CTL: "a certificate trust list (a catalog)",
    oids.PKCS7_DATA: "data",
    oids.TST_INFO: "a timestamp token",
}


def verify(
    parsed: ParsedSignature,
    computed: Callable[[str], bytes | None],
    trust: TrustStore,
    as_of: _dt.datetime,
    *,
    embedded: bool = False,
) -> AuthenticodeSignature:
    """Verify one collected signature. ``computed(algorithm)`` returns the digest of the
    signed bytes in that algorithm (None when the format has no file digest).
    ``embedded``: the signature is embedded in a file it must sign (a PE, a cabinet), so
    its content must be an SpcIndirectDataContent carrying the file's digest; any other
    content (a catalog's CTL, data) signs something else, whatever its signer."""
    view = parsed.view
    si = parsed.signer_info
    notes = _signature_findings(parsed)
    problems = _note_structure(parsed, notes)
    check = check_signer(si, view.content_body, view.certificates, view.content_type)
    file_alg = parsed.file_digest_algorithm
    signed = parsed.signed_digest
    comp: bytes | None
    digest_valid: bool | None
    if embedded and (file_alg is None or signed is None):
        comp, digest_valid = None, False
        notes.add(
            "digest-mismatch",
            Severity.ERROR,
            f"the signature carries no digest of this file (its content is "
            f"{_CONTENT_NAMES.get(view.content_type, view.content_type)}, not "
            "SpcIndirectDataContent): it signs something else, not this file",
            content_type=view.content_type,
        )
    else:
        comp, digest_valid = _file_digest(parsed, computed, check, notes)
    if embedded and digest_valid is None:
        digest_valid = False  # a digest that cannot be computed does not vouch for the file
    _note_signer_check(check, file_alg, notes)
    stamps = _timestamps(parsed, trust, notes)
    good = [t for t in stamps if t.valid and t.time is not None]
    # a timestamp from after the moment asked for: the signature did not exist then
    for t in good:
        if t.time is not None and t.time > as_of + _TOLERANCE:
            notes.add(
                "timestamp-after-as-of",
                Severity.WARNING,
                f"the {t.kind} timestamp of {t.time:%Y-%m-%d %H:%M:%S}Z is later than the "
                f"validation time asked for ({as_of:%Y-%m-%d %H:%M:%S}Z): the signature did "
                "not exist then; its chain is checked at the timestamp's time",
            )

    # the chain, at the timestamp time when there is a valid timestamp
    moment = good[0].time if good else as_of
    assert moment is not None
    chain = _chain(check, view.certificates, trust, moment, bool(good), notes)

    # strength of the signature itself
    algs = [a for a in (file_alg, check.digest_algorithm) if a]
    if any(strength(a) is Strength.WEAK for a in algs):
        notes.add(
            "weak-digest",
            Severity.WARNING,
            f"the signature uses {'/'.join(a.upper() for a in algs)}",
            algorithms=algs,
        )

    # attributes
    program, url = _opus_info(si)
    signed_names = tuple(
        oids.ATTRIBUTE_NAMES.get(a["type"].dotted, a["type"].dotted)
        for a in si["signed_attrs"] or []
    )
    unknown = tuple(t for t, _v in parsed.unsigned if t not in _KNOWN_UNSIGNED)
    for oid in unknown:
        notes.add(
            "unknown-unauthenticated-attribute",
            Severity.WARNING,
            f"unauthenticated attribute {oid} is not understood (it is not covered by the "
            "signature)",
            oid=oid,
        )
    trusted = bool(
        digest_valid is not False
        and check.signature_valid
        and check.message_digest_valid is not False
        and chain is not None
        and chain.trusted
    )
    found: tuple[CertInfo, ...] = ()
    if not trusted and check.certificate is not None:
        pool = [*view.certificates, *trust.roots]
        found = tuple(describe(c) for c in display_chain(check.certificate, pool))
    reason = trust_reason(
        trusted=trusted,
        certificate_problems=problems,
        digest_valid=digest_valid,
        message_digest_valid=check.message_digest_valid,
        signature_valid=check.signature_valid,
        signer_error=check.error,
        chain=chain,
        stamps=stamps,
        timestamp_used=bool(good),
        found=found,
    )
    return AuthenticodeSignature(
        index=parsed.index,
        nested=parsed.nested,
        parent=parsed.parent,
        content_type=view.content_type,
        subject_type=parsed.subject_type,
        digest_algorithm=file_alg or check.digest_algorithm,
        signed_digest=signed.hex() if signed is not None else None,
        computed_digest=comp.hex() if comp is not None else None,
        digest_valid=digest_valid,
        signer_digest_algorithm=check.digest_algorithm,
        signature_algorithm=check.signature_algorithm,
        message_digest_valid=check.message_digest_valid,
        signature_valid=check.signature_valid,
        legacy_bare_digest=check.legacy_bare_digest,
        signer=describe(check.certificate) if check.certificate is not None else None,
        certificates=tuple(describe(c) for c in view.certificates),
        chain=chain,
        validated_at=moment,
        validated_at_timestamp=bool(good),
        timestamps=tuple(stamps),
        program_name=program,
        more_info_url=url,
        signed_attributes=signed_names,
        unknown_unsigned_attributes=unknown,
        findings=notes.findings,
        signer_class=classify(chain) if not problems else SignerClass.OTHER,
        trust_reason=reason,
        certificate_problems=problems,
        der_encoded=view.der_encoded,
    )


def _note_structure(parsed: ParsedSignature, notes: FindingSink) -> tuple[str, ...]:
    """Findings about how the signature was read (parse errors, certificates that cannot
    be parsed, BER, unreadable unauthenticated attributes); the certificate problems."""
    view = parsed.view
    for err in parsed.errors:
        notes.add("unparsed-signature", Severity.ERROR, err)
    problems = tuple(
        f"certificate #{u.index} of the signature ({u.name}) cannot be parsed: {u.problem}"
        for u in view.unparsed_certificates
    )
    for text in problems:
        notes.add(
            "certificate-unparsed", Severity.ERROR, f"{text}; it is left out of chain building"
        )
    if view.certificates_skipped:
        notes.add(
            "certificates-capped",
            Severity.WARNING,
            _capped_certificates_text(view.certificates_skipped, view.limits.max_certificates),
            count=view.certificates_skipped,
            limit=view.limits.max_certificates,
        )
    if not view.der_encoded:
        notes.add(
            "pkcs7-not-der",
            Severity.WARNING,
            "the PKCS#7 SignedData is BER-encoded (indefinite or long-form lengths), not DER "
            "as signing tools write it: the signature was re-encoded after signing (Windows "
            "accepts it; the signed bytes are unaffected)",
        )
    if parsed.unsigned_error is not None:
        notes.add("unparsed-unauthenticated-attributes", Severity.WARNING, parsed.unsigned_error)
    return problems


def _capped_certificates_text(skipped: int, limit: int, what: str = "signature") -> str:
    return (
        f"the {what} carries {skipped} certificate(s) beyond the {limit} read; they are "
        "ignored, so a chain that needs them fails (raise the cap with --max-certificates)"
    )


def _file_digest(
    parsed: ParsedSignature,
    computed: Callable[[str], bytes | None],
    check: SignerCheck,
    notes: FindingSink,
) -> tuple[bytes | None, bool | None]:
    """The digest computed over the signed bytes (when the format has one) and whether it
    matches the signed one; for content signatures, whether the messageDigest matches."""
    file_alg = parsed.file_digest_algorithm
    signed = parsed.signed_digest
    comp: bytes | None = None
    digest_valid: bool | None
    if file_alg is not None and signed is not None:
        try:
            comp = computed(file_alg)
        except ValueError as exc:
            notes.add("unparsed-signature", Severity.ERROR, f"digest {file_alg} unsupported: {exc}")
        digest_valid = None if comp is None else hmac.compare_digest(comp, signed)
        if digest_valid is False:
            notes.add(
                "digest-mismatch",
                Severity.ERROR,
                f"the file's {file_alg.upper()} digest {comp.hex() if comp else ''} differs "
                f"from the signed one {signed.hex()}",
                algorithm=file_alg,
            )
    else:
        # catalogs and other content: the signature covers the content itself
        digest_valid = check.message_digest_valid
        if digest_valid is False:
            notes.add(
                "digest-mismatch",
                Severity.ERROR,
                "the signed messageDigest does not match the content",
            )
    return comp, digest_valid


def _note_signer_check(check: SignerCheck, file_alg: str | None, notes: FindingSink) -> None:
    """Findings from the SignerInfo check: messageDigest, the signature value, its form."""
    if check.message_digest_valid is False and file_alg is not None:
        notes.add(
            "signature-invalid",
            Severity.ERROR,
            NO_MESSAGE_DIGEST
            if check.error == NO_MESSAGE_DIGEST
            else "the messageDigest attribute does not match the SpcIndirectDataContent",
        )
    if check.signature_valid is False:
        notes.add(
            "signature-invalid", Severity.ERROR, check.error or "the signature does not verify"
        )
    elif check.signature_valid is None:
        notes.add(
            "signature-invalid", Severity.ERROR, check.error or "the signature could not be checked"
        )
    if check.legacy_bare_digest:
        notes.add(
            "legacy-signature-format",
            Severity.INFO,
            "the RSA signature is over a bare digest, without DigestInfo",
        )


def _timestamps(
    parsed: ParsedSignature, trust: TrustStore, notes: FindingSink
) -> list[TimestampResult]:
    """Every legacy countersignature and RFC 3161 token, verified, with findings for those
    that are not valid or use weak hashes."""
    view = parsed.view
    sig_value = bytes(parsed.signer_info["signature"].native)
    stamps: list[TimestampResult] = []
    for cs in _values(parsed.unsigned, oids.PKCS9_COUNTERSIGNATURE):
        stamps.append(legacy_countersignature(cs, sig_value, view.certificates, trust))
    for tok in _values(parsed.unsigned, oids.SPC_RFC3161_TIMESTAMP):
        try:
            token = tok.dump()
        except ASN1_ERRORS as exc:
            notes.add(
                "timestamp-invalid", Severity.WARNING, f"an RFC 3161 token cannot be read: {exc}"
            )
            continue
        stamps.append(rfc3161_token(token, sig_value, view.certificates, trust, view.limits))
    for t in stamps:
        if t.certificates_skipped:
            notes.add(
                "certificates-capped",
                Severity.WARNING,
                _capped_certificates_text(
                    t.certificates_skipped, view.limits.max_certificates, "RFC 3161 timestamp"
                ),
                count=t.certificates_skipped,
                limit=view.limits.max_certificates,
            )
        if not t.valid:
            why = t.error or (t.chain.error if t.chain is not None and t.chain.error else "")
            notes.add(
                "timestamp-invalid",
                Severity.WARNING,
                f"{t.kind} timestamp{f' of {t.time:%Y-%m-%d %H:%M:%S}Z' if t.time else ''} "
                f"is not valid{': ' + why if why else ''}",
            )
        elif t.chain is not None and t.chain.weak_hashes:
            notes.add(
                "weak-digest",
                Severity.WARNING,
                f"the timestamp chain uses {', '.join(t.chain.weak_hashes).upper()}",
                algorithms=list(t.chain.weak_hashes),
            )
        if t.valid and strength(t.digest_algorithm) is Strength.WEAK:
            # a valid timestamp is what lets an expired signer count: say what it rests on
            notes.add(
                "weak-digest",
                Severity.WARNING,
                f"the {t.kind} timestamp uses {t.digest_algorithm.upper()}",
                algorithms=[t.digest_algorithm],
            )
    return stamps


def _chain(
    check: SignerCheck,
    certificates: Sequence[x509.Certificate],
    trust: TrustStore,
    moment: _dt.datetime,
    timestamped: bool,
    notes: FindingSink,
) -> ChainResult | None:
    """The signer's chain at ``moment`` (``timestamped``: the time of a valid timestamp),
    with findings when it is not trusted or uses weak hashes."""
    if check.certificate is None:
        return None
    chain = trust.validate(check.certificate, certificates, moment, "code_signing")
    if not chain.trusted:
        kind = chain.error_kind
        if kind == "untrusted-root":
            notes.add(
                "untrusted-root", Severity.ERROR, f"no chain to a trusted root: {chain.error}"
            )
        elif kind == "expired" and not timestamped:
            notes.add(
                "expired-no-timestamp",
                Severity.ERROR,
                f"a certificate has expired at {moment:%Y-%m-%d} and there is no valid "
                f"timestamp: {chain.error}",
            )
        elif kind == "no-usage":
            notes.add("no-code-signing-usage", Severity.ERROR, chain.error or "")
        else:
            notes.add("chain-invalid", Severity.ERROR, f"the chain is not valid: {chain.error}")
    elif chain.weak_hashes:
        notes.add(
            "weak-digest",
            Severity.WARNING,
            f"the certificate chain uses {', '.join(chain.weak_hashes).upper()}",
            algorithms=list(chain.weak_hashes),
        )
    return chain


def _opus_info(si: cms.SignerInfo) -> tuple[str | None, str | None]:
    """The program name and more-info link of SpcSpOpusInfo, where they can be read."""
    program = url = None
    opus = signed_attribute(si, oids.SPC_SP_OPUS_INFO)
    if opus is not None:
        try:
            info = SpcSpOpusInfo.load(opus.dump())  # type: ignore[attr-defined]
            if info["program_name"]:
                program = spc_string_text(info["program_name"])
            if info["more_info"]:
                url = spc_link_text(info["more_info"])
        except ASN1_ERRORS:
            pass
    return program, url


def needed_algorithms(parsed: Sequence[ParsedSignature]) -> list[str]:
    out: list[str] = []
    for p in parsed:
        a = p.file_digest_algorithm
        if a and a not in out:
            out.append(a)
    return out


def _signature_findings(parsed: ParsedSignature) -> FindingSink:
    """The findings of one signature: each message names it, each evidence holds its index."""
    return FindingSink(
        LAYER, prefix=f"signature #{parsed.index}: ", context={"signature": parsed.index}
    )


def failed_signature(parsed: ParsedSignature, message: str) -> AuthenticodeSignature:
    """The report of a signature whose verification stopped on malformed input."""
    notes = _signature_findings(parsed)
    notes.add("unparsed-signature", Severity.ERROR, message)
    try:
        content_type = parsed.view.content_type
    except ASN1_ERRORS:
        content_type = "unknown"
    return AuthenticodeSignature(
        index=parsed.index,
        nested=parsed.nested,
        parent=parsed.parent,
        content_type=content_type,
        subject_type=None,
        digest_algorithm="unknown",
        signed_digest=None,
        computed_digest=None,
        digest_valid=None,
        signer_digest_algorithm="unknown",
        signature_algorithm="unknown",
        message_digest_valid=None,
        signature_valid=False,
        legacy_bare_digest=False,
        signer=None,
        certificates=(),
        chain=None,
        validated_at=None,
        validated_at_timestamp=False,
        timestamps=(),
        program_name=None,
        more_info_url=None,
        signed_attributes=(),
        unknown_unsigned_attributes=(),
        findings=notes.findings,
        trust_reason=message,
    )
