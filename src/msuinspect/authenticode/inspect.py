"""The Authenticode view of one file: what kind it is, its signatures, verified.

Kinds are recognised by content: ``MSCF`` (cabinet; an MSU when it holds ``WSUSSCAN.cab``),
``MZ`` (PE), a DER SignedData (a catalog when its content is a certificate trust list, else
a detached PKCS#7). The file is read once to compute its SHA-1, SHA-256 and every
Authenticode digest its signatures name.
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass, field
from enum import StrEnum

from msuinspect.authenticode.algorithms import Strength, new_hash
from msuinspect.authenticode.cab_digest import cab_hash_plan
from msuinspect.authenticode.pe import WIN_CERT_TYPE_PKCS_SIGNED_DATA, parse_pe
from msuinspect.authenticode.ranges import WHOLE_FILE, HashPlan, hash_file
from msuinspect.authenticode.signature import (
    AuthenticodeSignature,
    ParsedSignature,
    capped_finding,
    collect_signatures,
    failed_signature,
    needed_algorithms,
    verify,
)
from msuinspect.authenticode.trust import TrustStore
from msuinspect.cab.cabinet import Cabinet
from msuinspect.cms import der, oids
from msuinspect.cms.certificates import ASN1_ERRORS, first_line
from msuinspect.cms.der import DerError
from msuinspect.cms.signed_data import SignedDataView, parse_signed_data
from msuinspect.errors import LimitExceededError, MsuInspectError
from msuinspect.findings import Finding, Severity
from msuinspect.limits import MAX_PKCS7_SIZE, Limits
from msuinspect.source import ByteSource, FileSource

LAYER = "authenticode"
#: APPX/MSIX signature files (.p7x) are a PKCS#7 blob after this 4-byte magic
_P7X_MAGIC = b"PKCX"
#: a detached signature or catalog larger than this is not read into memory; the default of
#: ``Limits.max_pkcs7_size``
MAX_BLOB = MAX_PKCS7_SIZE


class FileKind(StrEnum):
    MSU = "msu"
    CAB = "cab"
    PE = "pe"
    CATALOG = "catalog"
    PKCS7 = "pkcs7"
    UNKNOWN = "unknown"


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
    if head[:4] == b"MSCF":
        return FileKind.CAB
    if head[:2] == b"MZ":
        return FileKind.PE
    if head[:1] == b"\x30" or head[:4] == _P7X_MAGIC:
        return FileKind.PKCS7
    return FileKind.UNKNOWN


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

    ``cabinet`` is the cabinet at offset 0 of ``source`` when the caller has opened it
    already (the package walk does), so its header is not parsed twice; otherwise a
    cabinet is opened here. Everything is read within ``limits`` (default
    :class:`Limits`): the cabinet's, and the ASN.1, certificate, signature, PE certificate
    table and PKCS#7 file limits.
    """
    limits = limits or Limits()
    path = source.display_name
    as_of = as_of or _dt.datetime.now(_dt.UTC)
    report = FileReport(path, FileKind.UNKNOWN, source.size)
    try:
        with source.open() as f:
            head = f.read(64)
        report.kind = sniff(head)
        if report.kind is FileKind.CAB:
            cab = cabinet if cabinet is not None else Cabinet.open(source, limits=limits)
            _cabinet(source, cab, report, trust, as_of, file_hashes, limits)
        elif report.kind is FileKind.PE:
            _pe(source, report, trust, as_of, file_hashes, limits)
        elif report.kind is FileKind.PKCS7:
            _pkcs7(source, report, trust, as_of, file_hashes, limits)
        else:
            _hash_only(source, report, file_hashes)
            report.findings.append(
                Finding(
                    "unknown-format",
                    Severity.INFO,
                    "not a cabinet, PE, catalog or PKCS#7 file",
                    LAYER,
                    path=path,
                )
            )
    except MsuInspectError as exc:
        report.error = exc.with_path(path)
    report.findings = [fi.with_path(path) for fi in report.findings]
    for sig in report.signatures:
        sig.findings = [fi.with_path(path) for fi in sig.findings]
    return report


def _verify_all(
    parsed: list[ParsedSignature],
    digests: dict[str, bytes],
    trust: TrustStore,
    as_of: _dt.datetime,
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
            out.append(verify(p, computed, trust, as_of))
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


def _hash_only(source: ByteSource, report: FileReport, file_hashes: bool) -> None:
    _ad, whole = _run_hashes(source, None, [], file_hashes)
    _set_file_hashes(report, whole)


def _cabinet(
    source: ByteSource,
    cab: Cabinet,
    report: FileReport,
    trust: TrustStore,
    as_of: _dt.datetime,
    file_hashes: bool,
    limits: Limits,
) -> None:
    names = {m.name.casefold() for m in cab.members}
    if "wsusscan.cab" in names:
        report.kind = FileKind.MSU
    report.findings.extend(
        f
        for f in cab.findings
        if f.code.startswith("cab-signature")
        or f.code in ("cab-data-after-signature", "cab-reserve-unhashed-nonzero")
    )
    sig = cab.signature
    parsed: list[ParsedSignature] = []
    plan = cab_hash_plan(cab.layout)
    prehashed: tuple[dict[str, bytes], dict[str, bytes]] | None = None
    blob: bytes | None = None
    if sig is not None and sig.within_file and not source.random_access:
        # a nested cabinet: reading the signature at its end costs a full decode, so one
        # pass hashes with the usual algorithms and keeps the signature bytes
        with source.open() as f:
            res = hash_file(
                f,
                source.size,
                {"authenticode": (plan, ("sha1", "sha256"))},
                whole_file=("sha1", "sha256") if file_hashes else (),
                capture=(sig.offset, sig.end),
            )
        prehashed = (res.digests.get("authenticode", {}), res.digests.get(WHOLE_FILE, {}))
        blob = res.captured
    elif sig is not None:
        blob = cab.read_signature_blob()
    if sig is not None:
        if blob is None:
            report.findings.append(
                Finding(
                    "unparsed-signature",
                    Severity.ERROR,
                    "the signature area lies outside the file",
                    LAYER,
                    offset=sig.offset,
                )
            )
        else:
            parsed = _parse_blob(blob, report, sig.offset, limits)
            if sig.bytes_after > 0:
                report.findings.append(
                    Finding(
                        "signature-trailing-data",
                        Severity.ERROR,
                        f"{sig.bytes_after} bytes follow the signature at the end of the "
                        "file; they are not covered by any signature",
                        LAYER,
                        offset=sig.end,
                        evidence={"count": sig.bytes_after},
                    )
                )
    algs = needed_algorithms(parsed)
    if prehashed is not None and set(algs) <= set(prehashed[0]):
        digests, whole = prehashed
    else:
        digests, whole = _run_hashes(source, plan, algs, file_hashes)
    _set_file_hashes(report, whole)
    report.signatures = _verify_all(parsed, digests, trust, as_of)


def _parse_blob(
    blob: bytes, report: FileReport, offset: int, limits: Limits
) -> list[ParsedSignature]:
    """Collect the signatures in an embedded blob, reporting bytes after the DER."""
    return _parse_signed(blob, report, offset, limits)[0]


def _parse_signed(
    blob: bytes, report: FileReport, offset: int, limits: Limits
) -> tuple[list[ParsedSignature], SignedDataView | None]:
    """The signatures in ``blob`` and its SignedData (None when that cannot be parsed)."""
    view: SignedDataView | None = None
    try:
        view = parse_signed_data(blob, limits)
        collected = collect_signatures(view, limits)
        parsed = collected.signatures
    except (DerError, *ASN1_ERRORS) as exc:
        report.findings.append(
            Finding(
                "unparsed-signature",
                Severity.ERROR,
                f"the signature cannot be parsed: {exc}",
                LAYER,
                offset=offset,
            )
        )
        return [], view
    capped = capped_finding(collected)
    if capped is not None:
        report.findings.append(capped)
    trailing = view.trailing
    if trailing and (len(trailing) >= 8 or any(trailing)):
        report.findings.append(
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
    return parsed, view


def _pe(
    source: ByteSource,
    report: FileReport,
    trust: TrustStore,
    as_of: _dt.datetime,
    file_hashes: bool,
    limits: Limits,
) -> None:
    layout = parse_pe(source, max_table=limits.max_pe_certificate_table)
    report.findings.extend(layout.findings)
    parsed: list[ParsedSignature] = []
    entries = [c for c in layout.certificates if c.cert_type == WIN_CERT_TYPE_PKCS_SIGNED_DATA]
    if entries:
        first = entries[0]
        parsed = _parse_blob(first.data, report, first.offset + 8, limits)
    plan = layout.hash_plan()
    algs = needed_algorithms(parsed)
    for a in ("sha1", "sha256"):
        if a not in algs:
            algs.append(a)
    digests, whole = _run_hashes(source, plan, algs, file_hashes)
    _set_file_hashes(report, whole)
    report.authenticode_digests = {a: d.hex() for a, d in digests.items()}
    report.signatures = _verify_all(parsed, digests, trust, as_of)


def _pkcs7(
    source: ByteSource,
    report: FileReport,
    trust: TrustStore,
    as_of: _dt.datetime,
    file_hashes: bool,
    limits: Limits,
) -> None:
    if report.size > limits.max_pkcs7_size:
        raise LimitExceededError(
            f"the {report.size}-byte PKCS#7 file is larger than the limit of "
            f"{limits.max_pkcs7_size} bytes (raise it with --max-pkcs7-size)"
        )
    with source.open() as f:
        blob = f.read()
    base = 0
    if blob[:4] == _P7X_MAGIC:
        blob, base = blob[4:], 4
    try:
        der.ber_header(blob)
    except DerError:
        report.kind = FileKind.UNKNOWN
        _hash_only(source, report, file_hashes)
        return
    parsed, view = _parse_signed(blob, report, base, limits)
    if base == 0:
        report.signed_data = view
    if view is None:
        report.kind = FileKind.UNKNOWN  # DER, but not a PKCS#7 SignedData
    elif view.content_type == oids.MS_CTL:
        report.kind = FileKind.CATALOG  # signed, or an unsigned catalog (no signers)
    elif parsed and parsed[0].file_digest_algorithm is not None:
        report.findings.append(
            Finding(
                "detached-signature",
                Severity.INFO,
                "a detached Authenticode signature: the file it signs is not here, so its "
                "digest cannot be checked",
                LAYER,
            )
        )
    _ad, whole = _run_hashes(source, None, [], file_hashes)
    _set_file_hashes(report, whole)
    report.signatures = _verify_all(parsed, {}, trust, as_of)
