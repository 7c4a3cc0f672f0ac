"""The per-file outcome: one word a batch can act on, with the reasons behind it.

==========  ==================================================================================
outcome     when
==========  ==================================================================================
``error``   the file, or part of it, could not be read: missing or unreadable, truncated,
            a structure that cannot be parsed, a folder that cannot be decoded, a safety
            limit hit. What was read is still reported.
``problem`` read completely, but not trustworthy as an update: unsigned, a digest that does
            not match, a signature that does not verify or is not trusted, metadata no valid
            catalog covers, a name that contradicts the content, not a package or signed file
            at all (an HTML page, a text file, an empty file) — every error-level finding.
``warning`` trustworthy, with something odd worth a look: every warning-level finding except
            SHA-1 (the norm for Windows 6.0-era packages: noted, not warned); also a part of
            a package alone (a .mum, a manifest, an unattend or pkgProperties file), which
            has no signature of its own to vouch for it.
``ok``      none of the above.
==========  ==================================================================================

The CLI maps outcomes to exit statuses (``--fail-on``, docs/user-guide.md).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from msuinspect.authenticode.formats import SIGNABLE_KINDS
from msuinspect.authenticode.inspect import FileKind, FileReport, primary_signature
from msuinspect.errors import MsuInspectError
from msuinspect.findings import Finding, Severity
from msuinspect.package.analyse import PackageReport
from msuinspect.package.kinds import NodeKind


class Outcome(StrEnum):
    OK = "ok"
    WARNING = "warning"
    PROBLEM = "problem"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Outcome.OK: 0, Outcome.WARNING: 1, Outcome.PROBLEM: 2, Outcome.ERROR: 3}

#: finding codes that mean "this part could not be read" (docs/findings.md)
READ_ERROR_CODES = frozenset(
    {
        "input-error",
        "not-a-cabinet",
        "truncated",
        "cab-format",
        "cab-truncated",
        "cab-cffile-overlap",
        "cab-cfdata-beyond-eof",
        "cab-unknown-compression",
        "cab-signature-outside-file",
        "pe-certificate-table-outside-file",
        "cab-set-member-unreadable",
        "cfdata-checksum",
        "cabinet-set",
        "decode-error",
        "member-beyond-folder-data",
        "unsupported-compression",
        "limit-exceeded",
        "nested-cabinet-unreadable",
    }
)

#: top-level kinds that are neither an update package nor a signed file
_NOT_A_PACKAGE = {
    NodeKind.DATA: "binary data",
    NodeKind.TEXT: "a text file",
    NodeKind.XML: "an XML file",
    NodeKind.HTML: "an HTML page (a download error page?)",
}


#: top-level kinds that are parts of an update package and carry no signature of their
#: own: only a catalog of their package (or the signed cabinet holding them) vouches for
#: them, so alone they are never ``ok``
_PARTS = {
    NodeKind.MUM: "a package manifest (.mum)",
    NodeKind.MANIFEST: "a component manifest",
    NodeKind.MANIFEST_COMPRESSED: "a compressed component manifest",
    NodeKind.PROPERTIES: "an MSU's pkgProperties file",
    NodeKind.UNATTEND: "an MSU's unattend file",
    NodeKind.CONTAINER_INDEX: "a container index (_manifest_.cix.xml)",
    NodeKind.DELTA_PA30: "a delta (PA30) payload",
    NodeKind.COMPRESSED_DCS: "a DCS-compressed payload",
    NodeKind.EXPRESS_PSF: "a PSF express payload",
}


@dataclass(frozen=True, slots=True)
class FileOutcome:
    outcome: Outcome
    #: one line each, most severe first: why the outcome is not ``ok``
    reasons: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {"outcome": self.outcome.value, "reasons": list(self.reasons)}


def counts_for_outcome(f: Finding) -> Severity:
    """The severity a finding carries into the outcome (SHA-1 notes do not warn)."""
    if f.code == "weak-digest":
        algorithms = {str(a).lower() for a in f.evidence.get("algorithms", ("md5",))}
        if "md5" not in algorithms:
            return Severity.INFO
    return f.severity


def _grouped(findings: Iterable[Finding]) -> list[str]:
    count: Counter[str] = Counter()
    first: dict[str, Finding] = {}
    for f in findings:
        count[f.code] += 1
        first.setdefault(f.code, f)
    out = []
    for code, n in count.items():
        msg = first[code].message
        out.append(f"{code}: {msg}" + (f" (and {n - 1} more)" if n > 1 else ""))
    return out


def outcome_of(file: FileReport, package: PackageReport | None = None) -> FileOutcome:
    """Judge one file from its signature report and, when analysed, its package report."""
    findings = package.all_findings() if package is not None else list(file.all_findings)
    reasons: list[str] = []
    read_errors = [
        f for f in findings if f.code in READ_ERROR_CODES and f.severity is Severity.ERROR
    ]
    if file.error is not None and file.error.code not in {f.code for f in read_errors}:
        reasons.append(f"{file.error.code}: {file.error.message}")
    reasons.extend(_grouped(read_errors))
    unreadable = bool(reasons)

    kind = package.root.kind if package is not None else None
    if file.size == 0:
        reasons.append("not-a-package: the file is empty")
    elif kind in _NOT_A_PACKAGE:
        reasons.append(
            f"not-a-package: the content is {_NOT_A_PACKAGE[kind]}, not an update package "
            "or a signed file"
        )
    elif package is None and file.kind is FileKind.UNKNOWN:
        reasons.append("not-a-package: not a cabinet, PE, catalog or PKCS#7 file")
    elif file.kind in SIGNABLE_KINDS and not file.signatures and not unreadable:
        reasons.append(f"unsigned: the {file.kind.value} carries no Authenticode signature")
    elif file.signatures and not any(s.trusted for s in file.signatures):
        reasons.append("untrusted: no signature of the file verifies to a trusted root")
    elif (primary := primary_signature(file.signatures)) is not None and not primary.trusted:
        other = next(s.index for s in file.signatures if s.trusted)
        reasons.append(
            f"untrusted: the primary signature #{primary.index} does not verify to a trusted "
            f"root (signature #{other} does, but Windows checks the primary one)"
        )
    problems = [
        f
        for f in findings
        if counts_for_outcome(f) is Severity.ERROR and f.code not in READ_ERROR_CODES
    ]
    reasons.extend(_grouped(problems))
    if unreadable:
        return FileOutcome(Outcome.ERROR, tuple(reasons))
    if reasons:
        return FileOutcome(Outcome.PROBLEM, tuple(reasons))
    warnings = _grouped(f for f in findings if counts_for_outcome(f) is Severity.WARNING)
    if kind in _PARTS:
        warnings.insert(
            0,
            f"not-signed-alone: the content is {_PARTS[kind]}, a part of an update package "
            "with no signature of its own: only a catalog of its package, or the signed "
            "cabinet that holds it, vouches for it (inspect the package)",
        )
    if warnings:
        return FileOutcome(Outcome.WARNING, tuple(warnings))
    return FileOutcome(Outcome.OK)


def outcome_of_error(exc: MsuInspectError) -> FileOutcome:
    """The outcome of a file that could not be opened at all."""
    return FileOutcome(Outcome.ERROR, (f"{exc.code}: {exc.message}",))
