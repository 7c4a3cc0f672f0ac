"""JSON form of signature inspection (schema ``msuinspect.inspect/1``, docs/json-schema.md)."""

from __future__ import annotations

import datetime as _dt
from typing import Any

from msuinspect.authenticode.certs import CertInfo
from msuinspect.authenticode.inspect import FileReport
from msuinspect.authenticode.signature import AuthenticodeSignature
from msuinspect.authenticode.timestamps import TimestampResult
from msuinspect.authenticode.trust import ChainResult, TrustStore
from msuinspect.report.cabinet_json import error_dict, findings_list

INSPECT_SCHEMA = "msuinspect.inspect/1"
#: ``inspect --jsonl``: a header line with this schema, then one file object per line
INSPECT_JSONL_SCHEMA = "msuinspect.inspect-jsonl/1"


def _time(t: _dt.datetime | None) -> str | None:
    if t is None:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=_dt.UTC)
    return t.astimezone(_dt.UTC).isoformat().replace("+00:00", "Z")


def cert_dict(c: CertInfo | None) -> dict[str, Any] | None:
    if c is None:
        return None
    return {
        "subject": c.subject,
        "issuer": c.issuer,
        "serial": c.serial,
        "not_before": _time(c.not_before),
        "not_after": _time(c.not_after),
        "signature_algorithm": c.signature_algorithm,
        "hash_algorithm": c.hash_algorithm,
        "strength": c.strength.value,
        "public_key": c.public_key,
        "sha1": c.sha1,
        "sha256": c.sha256,
        "self_signed": c.self_signed,
        "eku": list(c.eku),
    }


def chain_dict(ch: ChainResult | None) -> dict[str, Any] | None:
    if ch is None:
        return None
    return {
        "trusted": ch.trusted,
        "validated_at": _time(ch.moment),
        "error_kind": ch.error_kind,
        "error": ch.error,
        "weak_hashes": list(ch.weak_hashes),
        "path": [cert_dict(c) for c in ch.path],
    }


def timestamp_dict(t: TimestampResult | None) -> dict[str, Any] | None:
    if t is None:
        return None
    return {
        "kind": t.kind,
        "time": _time(t.time),
        "digest_algorithm": t.digest_algorithm,
        "valid": t.valid,
        "imprint_valid": t.imprint_valid,
        "signature_valid": t.signature_valid,
        "signer": cert_dict(t.signer),
        "chain": chain_dict(t.chain),
        "error": t.error,
        "certificate_problems": list(t.certificate_problems),
    }


def signature_dict(s: AuthenticodeSignature) -> dict[str, Any]:
    return {
        "index": s.index,
        "nested": s.nested,
        "parent": s.parent,
        "content_type": s.content_type,
        "subject_type": s.subject_type,
        "digest_algorithm": s.digest_algorithm,
        "strength": s.strength.value,
        "signed_digest": s.signed_digest,
        "computed_digest": s.computed_digest,
        "digest_valid": s.digest_valid,
        "signer_digest_algorithm": s.signer_digest_algorithm,
        "signature_algorithm": s.signature_algorithm,
        "message_digest_valid": s.message_digest_valid,
        "signature_valid": s.signature_valid,
        "signer": cert_dict(s.signer),
        "chain": [cert_dict(c) for c in s.chain.path] if s.chain is not None else [],
        "chain_result": chain_dict(s.chain),
        "trusted": s.trusted,
        "trust_reason": s.trust_reason,
        "signer_class": s.signer_class.value,
        "certificate_problems": list(s.certificate_problems),
        "der_encoded": s.der_encoded,
        "trust_anchor": cert_dict(s.trust_anchor),
        "validated_at": _time(s.validated_at),
        "validated_at_timestamp": s.validated_at_timestamp,
        "timestamp": timestamp_dict(s.timestamp),
        "timestamps": [timestamp_dict(t) for t in s.timestamps],
        "program_name": s.program_name,
        "more_info_url": s.more_info_url,
        "signed_attributes": list(s.signed_attributes),
        "unknown_unauthenticated_attributes": list(s.unknown_unsigned_attributes),
        "certificates": [cert_dict(c) for c in s.certificates],
        "findings": findings_list(s.findings),
    }


def file_dict(r: FileReport) -> dict[str, Any]:
    findings = r.all_findings
    return {
        "path": r.path,
        "kind": r.kind.value,
        "size": r.size,
        "sha1": r.sha1,
        "sha256": r.sha256,
        "signing": r.signing.value,
        "error": error_dict(r.error),
        "signatures": [signature_dict(s) for s in r.signatures],
        "authenticode_digests": dict(r.authenticode_digests),
        "findings": findings_list(findings),
    }


def header_dict(schema: str, trust: TrustStore, as_of: _dt.datetime) -> dict[str, Any]:
    """What an ``inspect`` document (or ``--jsonl`` stream) says once, before its files."""
    return {
        "schema": schema,
        "as_of": _time(as_of),
        "trust_roots": [{"subject": c.subject, "sha1": c.sha1} for c in trust.root_infos],
        "skipped_trust_roots": [
            {"name": k.name, "problem": k.problem} for k in trust.skipped_roots
        ],
    }
