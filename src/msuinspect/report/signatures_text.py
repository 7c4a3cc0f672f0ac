"""Plain-text rendering of signature inspection."""

from __future__ import annotations

from collections.abc import Callable

from msuinspect.authenticode.algorithms import display
from msuinspect.authenticode.certs import CertInfo
from msuinspect.authenticode.inspect import FileReport
from msuinspect.authenticode.signature import AuthenticodeSignature
from msuinspect.cms import oids
from msuinspect.report.cabinet_text import render_findings
from msuinspect.report.terminal import escaping

Emit = Callable[[str], None]

_SUBJECTS = {
    oids.SPC_PE_IMAGE_DATA: "PE image",
    oids.SPC_CAB_DATA: "cabinet / flat file",
    oids.SPC_LINK: "cabinet (SpcLink)",
    oids.SPC_SIPINFO: "SIP-defined content",
}


def _yn(v: bool | None) -> str:
    return "n/a" if v is None else ("ok" if v else "FAILED")


def _cert(c: CertInfo) -> str:
    return (
        f"{c.common_name} [{c.hash_algorithm.upper()}, {c.public_key}, "
        f"{c.not_before:%Y-%m-%d}..{c.not_after:%Y-%m-%d}, SHA-1 {c.sha1[:16]}]"
    )


def _issuer_cn(c: CertInfo) -> str:
    for part in c.issuer.split(", "):
        if part.startswith("CN="):
            return part[3:]
    return c.issuer


def render_signature(s: AuthenticodeSignature, emit: Emit) -> None:
    emit = escaping(emit)
    kind = "nested" if s.nested else "primary"
    subject = _SUBJECTS.get(s.subject_type or "", s.subject_type or "catalog/content")
    emit(
        f"  signature #{s.index} ({kind}) {s.strength.value.upper()}: file digest "
        f"{display(s.digest_algorithm)} over {subject}, signer "
        f"{display(s.signer_digest_algorithm)}/{s.signature_algorithm}"
    )
    emit(
        f"    digest {_yn(s.digest_valid)}  signature {_yn(s.signature_valid)}  "
        f"trusted {'yes' if s.trusted else 'NO'}"
        + (f"  anchor {s.trust_anchor.common_name}" if s.trust_anchor else "")
        + (
            f"  (validated at {s.validated_at:%Y-%m-%d %H:%M:%S}Z"
            f"{', the timestamp time' if s.validated_at_timestamp else ''})"
            if s.validated_at
            else ""
        )
    )
    emit(f"    signer class {s.signer_class.value}")
    if s.trust_reason:
        emit(f"    why not trusted: {s.trust_reason}")
    if s.signed_digest:
        emit(f"    signed digest   {s.signed_digest}")
        emit(f"    computed digest {s.computed_digest or '-'}")
    if s.chain is not None:
        for i, c in enumerate(s.chain.path):
            emit(f"    {'signer' if i == 0 else 'issuer'} {_cert(c)}")
    elif s.signer is not None:
        emit(f"    signer {_cert(s.signer)}")
    shown = {c.sha1 for c in s.chain.path} if s.chain is not None else set()
    if s.signer is not None:
        shown.add(s.signer.sha1)
    others = [c for c in s.certificates if c.sha1 not in shown]
    if not s.trusted and others:
        emit("    other certificates in the signature:")
        for c in others:
            emit(f"      {_cert(c)} issued by {_issuer_cn(c)}")
    for t in s.timestamps:
        when = f"{t.time:%Y-%m-%d %H:%M:%S}Z" if t.time else "?"
        who = t.signer.common_name if t.signer else "?"
        emit(
            f"    timestamp {t.kind} {when} {display(t.digest_algorithm)} by {who}: "
            f"{'valid' if t.valid else 'NOT valid'}"
        )
    if s.program_name or s.more_info_url:
        emit(f"    program {s.program_name or '-'}  {s.more_info_url or ''}".rstrip())


def render_file(r: FileReport, emit: Emit, *, findings: bool = True) -> None:
    emit = escaping(emit)
    emit(f"{r.path}")
    emit(f"  kind {r.kind.value}, {r.size} bytes, signing: {r.signing.value}")
    if r.sha256:
        emit(f"  sha256 {r.sha256}")
        emit(f"  sha1   {r.sha1}")
    if r.error is not None:
        emit(f"  error: {r.error.message} [{r.error.code}]")
    for s in r.signatures:
        render_signature(s, emit)
    if findings:
        render_findings(r.all_findings, emit)
