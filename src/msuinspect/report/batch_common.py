"""Facts the batch reports (table, CSV, SARIF, HTML) show for one file object.

Every batch renderer reads the JSON file object (docs/json-schema.md), whether it was just
made or came from the scan cache, through these helpers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from msuinspect.scan.media_checks import MediaChecks

Record = dict[str, Any]

OUTCOME_ORDER = ("error", "problem", "warning", "ok")
_RANK = {o: i for i, o in enumerate(OUTCOME_ORDER)}


def worst_first(rows: Iterable[Row]) -> list[Row]:
    """Problems first: by outcome, most severe first; scan order within an outcome."""
    return sorted(rows, key=lambda r: _RANK.get(r.outcome, 0))


@dataclass(frozen=True, slots=True)
class Row:
    """One file, as a line of a table."""

    path: str
    outcome: str
    kind: str
    size: int | None
    kb: str
    os: str
    arch: str
    signing: str
    trusted: bool | None
    coverage: str
    generation: str
    build_date: str
    error_code: str
    reasons: tuple[str, ...]
    #: with --host: "validate yes/no/unknown, install yes/no/unknown" (empty without)
    verdict: str = ""

    @property
    def size_kb(self) -> str:
        return "" if self.size is None else f"{(self.size + 1023) // 1024}"

    @property
    def trusted_text(self) -> str:
        return {True: "yes", False: "no", None: "-"}[self.trusted]


def summary_of(record: Record) -> Record:
    package = record.get("package") or {}
    summary = package.get("summary") or {}
    return summary if isinstance(summary, dict) else {}


def trusted_of(record: Record) -> bool | None:
    """Whether a signature of the file itself verifies to a trusted root (None: unsigned or
    unread)."""
    sigs = record.get("signatures") or ()
    if not sigs:
        return None
    return any(bool(s.get("trusted")) for s in sigs)


def coverage_text(summary: Record) -> str:
    cov = summary.get("coverage") or {}
    if not isinstance(cov, dict) or not cov:
        return ""
    return ", ".join(f"{k} {v}" for k, v in sorted(cov.items()))


def row_of(record: Record) -> Row:
    s = summary_of(record)
    error = record.get("error") or {}
    version = s.get("target_version") or ""
    product = s.get("target_product") or ""
    return Row(
        path=str(record.get("path", "")),
        outcome=str(record.get("outcome", "error")),
        kind=str(record.get("kind") or ""),
        size=record.get("size") if isinstance(record.get("size"), int) else None,
        kb=",".join(f"KB{k}" for k in s.get("kb_numbers") or ()),
        os=f"{version} ({product})" if version and product else str(version),
        arch=str(s.get("architecture") or ""),
        signing=str(record.get("signing") or ""),
        trusted=trusted_of(record),
        coverage=coverage_text(s),
        generation=str(s.get("generation") or ""),
        build_date=str(s.get("build_date") or ""),
        error_code=str(error.get("code") or "") if isinstance(error, dict) else "",
        reasons=tuple(str(r) for r in record.get("reasons") or ()),
        verdict=verdict_text(record),
    )


def verdict_text(record: Record) -> str:
    v = record.get("verdict")
    if not isinstance(v, dict):
        return ""
    return f"validate {v.get('can_validate')}, install {v.get('can_install')}"


@dataclass(frozen=True, slots=True)
class BatchSummary:
    files: int
    by_outcome: dict[str, int]
    by_signing: dict[str, int]
    by_target: dict[str, int]


def batch_summary(rows: Iterable[Row]) -> BatchSummary:
    outcomes: Counter[str] = Counter()
    signing: Counter[str] = Counter()
    target: Counter[str] = Counter()
    n = 0
    for row in rows:
        n += 1
        outcomes[row.outcome] += 1
        signing[row.signing or "-"] += 1
        target[row.os or "-"] += 1
    return BatchSummary(
        n,
        {o: outcomes[o] for o in OUTCOME_ORDER if outcomes[o]},
        dict(sorted(signing.items(), key=lambda kv: (-kv[1], kv[0]))),
        dict(sorted(target.items(), key=lambda kv: (-kv[1], kv[0]))),
    )


@dataclass(frozen=True, slots=True)
class FindingRef:
    """A finding of a file object, wherever it sits (file, package summary, node)."""

    code: str
    severity: str
    message: str
    node_path: str
    offset: int | None
    evidence: Record


def iter_findings(record: Record) -> Iterator[FindingRef]:
    """Every finding of a file object once (the same finding can be listed on the file and
    on its root node)."""
    path = str(record.get("path", ""))
    seen: set[tuple[str, str, int | None, str]] = set()
    package = record.get("package") or {}
    lists: list[Iterable[Record]] = [record.get("findings") or (), package.get("findings") or ()]
    lists += [n.get("findings") or () for n in package.get("nodes") or ()]
    for findings in lists:
        for f in findings:
            offset = f.get("offset") if isinstance(f.get("offset"), int) else None
            evidence = f.get("evidence")
            ref = FindingRef(
                str(f.get("code", "")),
                str(f.get("severity", "info")),
                str(f.get("message", "")),
                str(f.get("path") or path),
                offset,
                evidence if isinstance(evidence, dict) else {},
            )
            key = (ref.code, ref.node_path, ref.offset, ref.message)
            if key not in seen:
                seen.add(key)
                yield ref


def reason_code(reason: str) -> str:
    """``"unsigned: the cab carries..."`` -> ``"unsigned"``."""
    return reason.split(":", 1)[0].strip()


def summary_dict(summary: BatchSummary, checks: MediaChecks) -> Record:
    """The ``summary`` object of a ``scan --format json`` document (docs/batch.md)."""
    return {
        "files": summary.files,
        "by_outcome": summary.by_outcome,
        "by_signing": summary.by_signing,
        "by_target": summary.by_target,
        "media_checks": checks.to_dict(),
    }


def media_check_lines(checks: MediaChecks) -> list[str]:
    """The offline-media checks as plain lines (names still to be cleaned by the caller)."""
    out: list[str] = []
    if checks.duplicates:
        out.append(f"duplicates: {len(checks.duplicates)} content(s) under several names")
        for d in checks.duplicates:
            out.append(f"  {d.sha256[:16]}…: " + ", ".join(d.paths))
    if checks.name_sha1_mismatches:
        out.append(f"download-name SHA-1 mismatches: {len(checks.name_sha1_mismatches)}")
        out += [f"  {m.path} (content SHA-1 {m.sha1})" for m in checks.name_sha1_mismatches]
    if checks.not_microsoft_signed:
        out.append(f"not Microsoft-signed: {len(checks.not_microsoft_signed)}")
        out += [f"  {n.path}: {n.why}" for n in checks.not_microsoft_signed]
    for k in checks.kb_versions:
        target = " ".join(x for x in (k.target_version, k.architecture) if x) or "-"
        out.append(f"KB{k.kb} ({target}) in {len(k.candidates)} versions:")
        for c in k.candidates:
            mark = "* " if c.path == k.winner else "  "
            out.append(
                f"  {mark}{c.path} (identity {c.identity_version or '?'}, "
                f"built {c.build_date or '?'})"
            )
        out.append(
            f"  winner: {k.winner} (by {k.decided_by})"
            if k.winner
            else "  winner: undecided (no copy is ok or a warning, or the trustworthy ones "
            "share their identity version and build date, or those are unknown)"
        )
    return out
