"""One sentence saying why a signature is not trusted, for people reading a report."""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Sequence

from msuinspect.authenticode.certs import CertInfo
from msuinspect.authenticode.timestamps import TimestampResult
from msuinspect.authenticode.trust import ChainResult

#: the VeriSign (later Symantec) timestamping service of the 2000s, whose root is
#: "Thawte Timestamping CA": not among the pinned roots
_VERISIGN_TSA = re.compile(r"verisign|thawte|symantec", re.I)
_TSA_WORDS = re.compile(r"time ?stamp", re.I)


def _day(t: _dt.datetime) -> str:
    return f"{t:%Y-%m-%d}"


def _expired_part(chain: ChainResult) -> str:
    """Which certificate is outside its validity at the chain's moment."""
    moment = chain.moment
    certs = chain.path[:-1] if chain.anchor is not None else chain.path
    for i, c in enumerate(certs):
        if chain.error_kind == "expired" and c.not_after < moment:
            who = (
                "the signer certificate" if i == 0 else f'the issuing certificate "{c.common_name}"'
            )
            return f"{who} expired {_day(c.not_after)}"
        if chain.error_kind == "not-yet-valid" and c.not_before > moment:
            who = (
                "the signer certificate" if i == 0 else f'the issuing certificate "{c.common_name}"'
            )
            return f"{who} is not valid before {_day(c.not_before)}"
    return chain.error or "a certificate is outside its validity period"


def _is_verisign_tsa(t: TimestampResult) -> bool:
    if t.signer is None:
        return False
    text = f"{t.signer.subject} {t.signer.issuer}"
    return bool(_VERISIGN_TSA.search(text) and _TSA_WORDS.search(text))


def _timestamp_part(stamps: Sequence[TimestampResult]) -> str:
    if not stamps:
        return "no timestamp"
    t = stamps[0]
    when = f" of {_day(t.time)}" if t.time else ""
    who = f' by "{t.signer.common_name}"' if t.signer else ""
    if _is_verisign_tsa(t) and t.chain is not None and t.chain.error_kind == "untrusted-root":
        return (
            f"the timestamp{when}{who} does not count: the pinned roots exclude the "
            'VeriSign/Thawte timestamping service (root "Thawte Timestamping CA"); if you '
            "trust it, add that root with --trust-root FILE"
        )
    why = t.error or (t.chain.error if t.chain is not None and t.chain.error else "")
    return f"the timestamp{when}{who} is not valid" + (f" ({why})" if why else "")


def _root_part(found: Sequence[CertInfo]) -> str:
    last = found[-1] if found else None
    if last is None:
        return "no chain to a trusted root"
    if last.self_signed:
        return (
            f'the chain ends at the self-signed "{last.common_name}", which is not a trusted '
            "root (add it with --trust-root FILE if you trust it)"
        )
    return (
        f'no chain to a trusted root: the certificates found end at "{last.common_name}", '
        f'issued by "{_issuer_cn(last)}", which is neither a pinned root nor in the signature '
        "(add that root with --trust-root FILE if you trust it)"
    )


def _issuer_cn(c: CertInfo) -> str:
    for part in c.issuer.split(", "):
        if part.startswith("CN="):
            return part[3:]
    return c.issuer


def trust_reason(
    *,
    trusted: bool,
    certificate_problems: Sequence[str],
    digest_valid: bool | None,
    message_digest_valid: bool | None,
    signature_valid: bool | None,
    signer_error: str | None,
    chain: ChainResult | None,
    stamps: Sequence[TimestampResult],
    timestamp_used: bool,
    found: Sequence[CertInfo],
) -> str | None:
    """Why the signature is not trusted, in one sentence (None when it is trusted).
    ``found`` is the chain of certificates found for the signer (leaf first), by name."""
    if trusted and not certificate_problems:
        return None
    if certificate_problems:
        return f"{certificate_problems[0]}; the signature cannot be trusted"
    if digest_valid is False:
        return (
            "the signed bytes were changed after signing: their digest differs from the signed one"
        )
    if message_digest_valid is False:
        return "the signed attributes do not match the signed content (messageDigest)"
    if not signature_valid:
        return signer_error or "the signer's signature does not verify"
    if chain is None:
        return "the signer's certificate is not in the signature"
    kind = chain.error_kind
    at = f"at {_day(chain.moment)}" + (", the timestamp time" if timestamp_used else "")
    if kind in ("expired", "not-yet-valid"):
        lead = "" if timestamp_used else f"{_timestamp_part(stamps)}; "
        return f"{lead}{_expired_part(chain)} (checked {at})"
    if kind == "untrusted-root":
        text = _root_part(found or chain.path)
        if stamps and not timestamp_used and _is_verisign_tsa(stamps[0]):
            text += f"; also, {_timestamp_part(stamps)}"
        return text
    if kind == "no-usage":
        return chain.error or "the signer certificate is not valid for code signing"
    return (
        f"the chain is not valid {at}: {chain.error}" if chain.error else "the chain is not valid"
    )
