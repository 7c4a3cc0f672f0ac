"""The Authenticode view of one file: what kind it is, its signatures, verified.

Kinds are recognised by content, by the signed formats of
:mod:`msuinspect.authenticode.formats`: ``MSCF`` (cabinet; an MSU when it holds
``WSUSSCAN.cab``), ``MZ`` (PE), a DER SignedData (a catalog when its content is a
certificate trust list, else a detached PKCS#7). The file is read once to compute its
SHA-1, SHA-256 and every Authenticode digest its signatures name.
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass, field, replace
from enum import StrEnum

from msuinspect.authenticode.algorithms import Strength, new_hash
from msuinspect.authenticode.formats import FileKind, FormatView, detect
from msuinspect.authenticode.formats.blob import parse_blob
from msuinspect.authenticode.ranges import WHOLE_FILE, HashPlan, hash_file
from msuinspect.authenticode.signature import (
    AuthenticodeSignature,
    ParsedSignature,
    failed_signature,
    needed_algorithms,
    verify,
)
from msuinspect.authenticode.trust import TrustStore
from msuinspect.cab.cabinet import Cabinet
from msuinspect.cms.certificates import ASN1_ERRORS, first_line
from msuinspect.cms.der import DerError
from msuinspect.cms.signed_data import SignedDataView
from msuinspect.errors import MsuInspectError
from msuinspect.findings import Finding, Severity
from msuinspect.limits import MAX_PKCS7_SIZE, Limits
from msuinspect.source import ByteSource, FileSource

__all__ = [
    "MAX_BLOB",
    "FileKind",
    "FileReport",
    "Signing",
    "inspect_file",
    "inspect_source",
    "sniff",
]

LAYER = "authenticode"
#: a detached signature or catalog larger than this is not read into memory; the default of
#: ``Limits.max_pkcs7_size``
MAX_BLOB = MAX_PKCS7_SIZE


class Signing(StrEnum):
    """How a file is signed, for the SHA-1 to SHA-2 transition."""

    UNSIGNED = "unsigned"
    SHA1_ONLY = "sha1-only"
    SHA2_ONLY = "sha2-only"
    DUAL_SHA1_PRIMARY = "dual-sha1-primary"
    DUAL_SHA2_PRIMARY = "dual-sha2-primary"
    WEAK = "weak"  #: only MD5/MD2 signatures
    UNKNOWN = "unknown"


@dataclass(slots=True)
class FileReport:
    path: str
    kind: FileKind
    size: int
    sha1: str | None = None
    sha256: str | None = None
    signatures: list[AuthenticodeSignature] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    error: MsuInspectError | None = None
    #: for PE files, the SIP-style digests catalogs use (PE Authenticode hash)
    authenticode_digests: dict[str, str] = field(default_factory=dict)
    #: a PKCS#7 file's parsed SignedData, so that a catalog parser can reuse it instead of
    #: parsing the file again; not part of the report (the package walk drops it)
    signed_data: SignedDataView | None = field(default=None, repr=False, compare=False)

    @property
    def all_findings(self) -> list[Finding]:
        out = list(self.findings)
        for s in self.signatures:
            out.extend(s.findings)
        return out

    @property
    def trusted(self) -> bool:
        """Signed, and every signature chains to a trusted root."""
        return bool(self.signatures) and all(s.trusted for s in self.signatures)

    @property
    def partly_trusted(self) -> bool:
        """Some signatures chain to a trusted root and others do not (the primary one may
        be either: see :func:`primary_signature`)."""
        return any(s.trusted for s in self.signatures) and not self.trusted

    @property
    def has_errors(self) -> bool:
        """An error-severity finding (bad digest, untrusted signature...)."""
        return any(f.severity is Severity.ERROR for f in self.all_findings)

    @property
    def signing(self) -> Signing:
        top = [s for s in self.signatures if not s.nested and s.parent is None]
        if not self.signatures:
            return Signing.UNSIGNED
        strengths = {s.strength for s in self.signatures}
        primary = top[0].strength if top else Strength.UNKNOWN
        if Strength.SHA1 in strengths and Strength.SHA2 in strengths:
            return (
                Signing.DUAL_SHA2_PRIMARY if primary is Strength.SHA2 else Signing.DUAL_SHA1_PRIMARY
            )
        if strengths == {Strength.SHA2}:
            return Signing.SHA2_ONLY
        if strengths <= {Strength.SHA1, Strength.WEAK} and Strength.SHA1 in strengths:
            return Signing.SHA1_ONLY
        if strengths == {Strength.WEAK}:
            return Signing.WEAK
        return Signing.UNKNOWN


def sniff(head: bytes) -> FileKind:
    """The kind of the file that starts with ``head``, before it is opened."""
    return detect(head).kind


def inspect_file(
    path: str | os.PathLike[str],
    trust: TrustStore,
    *,
    as_of: _dt.datetime | None = None,
    file_hashes: bool = True,
) -> FileReport:
    """Inspect the signatures of one file; never raises for a bad file (see ``error``)."""
    path = os.fspath(path)
    try:
        source = FileSource(path)
    except MsuInspectError as exc:
        return FileReport(path, FileKind.UNKNOWN, 0, error=exc)
    return inspect_source(source, trust, as_of=as_of, file_hashes=file_hashes)


def inspect_source(
    source: ByteSource,
    trust: TrustStore,
    *,
    as_of: _dt.datetime | None = None,
    file_hashes: bool = True,
    cabinet: Cabinet | None = None,
    limits: Limits | None = None,
) -> FileReport:
    """Inspect the signatures of a file, an in-memory blob or a cabinet member.

    The file's format (:data:`~msuinspect.authenticode.formats.FORMATS`) gives its kind,
    signature blobs and hash plan; the blobs are parsed, the file hashed once and every
    signature verified. ``cabinet`` is the cabinet at offset 0 of ``source`` when the
    caller has opened it already (the package walk does), so its header is not parsed
    twice; otherwise a cabinet is opened here. Everything is read within ``limits``
    (default :class:`Limits`): the cabinet's, and the ASN.1, certificate, signature, PE
    certificate table and PKCS#7 file limits.
    """
    limits = limits or Limits()
    path = source.display_name
    as_of = as_of or _dt.datetime.now(_dt.UTC)
    report = FileReport(path, FileKind.UNKNOWN, source.size)
    try:
        with source.open() as f:
            head = f.read(64)
        fmt = detect(head)
        report.kind = fmt.kind
        view = fmt.open(source, cabinet=cabinet, limits=limits, file_hashes=file_hashes)
        _check(source, view, report, trust, as_of, file_hashes, limits)
    except MsuInspectError as exc:
        report.error = exc.with_path(path)
    report.findings = [fi.with_path(path) for fi in report.findings]
    for sig in report.signatures:
        sig.findings = [fi.with_path(path) for fi in sig.findings]
    return report


def _check(
    source: ByteSource,
    view: FormatView,
    report: FileReport,
    trust: TrustStore,
    as_of: _dt.datetime,
    file_hashes: bool,
    limits: Limits,
) -> None:
    """Parse the view's blobs, hash the file once and verify, filling ``report``."""
    report.kind = view.kind
    report.signed_data = view.signed_data
    report.findings.extend(view.findings)
    if view.error is not None:
        raise view.error
    parsed: list[ParsedSignature] = []
    for blob in view.blobs:
        got = blob.parsed if blob.parsed is not None else parse_blob(blob.data, blob.offset, limits)
        report.findings.extend(got.findings)
        report.findings.extend(blob.after)
        parsed.extend(got.signatures)
    algs = needed_algorithms(parsed)
    algs += [a for a in view.catalog_algorithms if a not in algs]
    if view.prehashed is not None and set(algs) <= set(view.prehashed[0]):
        digests, whole = view.prehashed
    else:
        digests, whole = _run_hashes(source, view.plan, algs, file_hashes)
    _set_file_hashes(report, whole)
    if view.catalog_algorithms:
        report.authenticode_digests = {a: d.hex() for a, d in digests.items()}
    report.signatures = _verify_all(parsed, digests, trust, as_of, view.plan is not None)
    _vouched_by_another(report.signatures)


#: the findings of a signature whose chain does not reach a trusted root
_CHAIN_CODES = frozenset(
    {"untrusted-root", "expired-no-timestamp", "no-code-signing-usage", "chain-invalid"}
)


def _vouched_by_another(signatures: list[AuthenticodeSignature]) -> None:
    """Where the file's primary signature is trusted, another signature that is whole (its
    digest matches, its signature value verifies) but chains to no trusted root does not
    make the file untrusted: anyone can add a nested signature (an unsigned attribute).
    Its chain findings become warnings that say so. An untrusted primary stays an error
    whatever else is trusted: Windows checks the primary signature (and a host without
    SHA-2 support reads nothing else). A digest or signature value that fails stays an
    error: that is what an altered file looks like (a SHA-1 collision shows as a SHA-256
    signature that no longer matches)."""
    primary = primary_signature(signatures)
    if primary is None or not primary.trusted:
        return
    why = (
        f"the primary signature #{primary.index} is trusted and vouches for the same bytes; "
        "an added signature is an unsigned attribute anyone can add"
    )
    for s in signatures:
        whole = (
            s.digest_valid is not False
            and s.signature_valid
            and s.message_digest_valid is not False
            and not s.certificate_problems
        )
        if s.trusted or not whole:
            continue
        s.findings = [
            replace(f, severity=Severity.WARNING, message=f"{f.message} ({why})")
            if f.code in _CHAIN_CODES and f.severity is Severity.ERROR
            else f
            for f in s.findings
        ]


def primary_signature(signatures: list[AuthenticodeSignature]) -> AuthenticodeSignature | None:
    """The file's primary signature: the first signer of its outermost SignedData (the one
    Windows checks); None when unsigned."""
    return next((s for s in signatures if not s.nested and s.parent is None), None)


def _verify_all(
    parsed: list[ParsedSignature],
    digests: dict[str, bytes],
    trust: TrustStore,
    as_of: _dt.datetime,
    embedded: bool = False,
) -> list[AuthenticodeSignature]:
    """Verify each signature; ``digests`` holds the file digests computed (none for a
    detached signature or a catalog). Malformed input that only shows during verification
    fails that signature, not the report."""
    out: list[AuthenticodeSignature] = []

    def computed(alg: str) -> bytes | None:
        if alg not in digests:
            new_hash(alg)  # an algorithm hashlib lacks: ValueError, a finding in verify
        return digests.get(alg)

    for p in parsed:
        try:
            out.append(verify(p, computed, trust, as_of, embedded=embedded))
        except (DerError, *ASN1_ERRORS) as exc:
            out.append(failed_signature(p, f"the signature cannot be verified: {first_line(exc)}"))
    return out


def _hashable(alg: str) -> bool:
    """Whether hashlib can compute ``alg`` (hostile signatures name any OID)."""
    try:
        new_hash(alg)
    except ValueError:
        return False
    return True


def _run_hashes(
    source: ByteSource,
    plan: HashPlan | None,
    algorithms: list[str],
    file_hashes: bool,
) -> tuple[dict[str, bytes], dict[str, bytes]]:
    algorithms = [a for a in algorithms if _hashable(a)]
    plans = {"authenticode": (plan, algorithms)} if plan is not None and algorithms else {}
    with source.open() as f:
        res = hash_file(f, source.size, plans, whole_file=("sha1", "sha256") if file_hashes else ())
    return res.digests.get("authenticode", {}), res.digests.get(WHOLE_FILE, {})


def _set_file_hashes(report: FileReport, whole: dict[str, bytes]) -> None:
    if "sha1" in whole:
        report.sha1 = whole["sha1"].hex()
    if "sha256" in whole:
        report.sha256 = whole["sha256"].hex()
