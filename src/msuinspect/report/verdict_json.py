"""The host verdict and the install plan as JSON-ready dicts."""

from __future__ import annotations

from typing import Any

from msuinspect.host.profile import HostProfile
from msuinspect.report.host_json import profile_fields
from msuinspect.report.verdict_text import headline
from msuinspect.verdict.model import ExpectedError, Reason, Verdict
from msuinspect.verdict.plan import Plan


def _error(e: ExpectedError | None) -> dict[str, Any] | None:
    if e is None:
        return None
    return {
        "code": e.code,
        "message": e.message,
        "source": list(e.source),
        "confidence": e.confidence.value,
    }


def _reason(r: Reason) -> dict[str, Any]:
    return {
        "rule": r.rule,
        "outcome": r.outcome.value,
        "aspect": r.aspect.value,
        "layer": r.layer,
        "path": r.path,
        "summary": r.summary,
        "evidence": r.evidence,
        "source": list(r.source),
        "confidence": r.confidence.value,
        "unknown_field": r.unknown_field,
        "expected_error": _error(r.expected_error),
    }


def host_dict(host: HostProfile) -> dict[str, Any]:
    """The host's fields, its installed packages as their KB numbers."""
    installed = None if host.installed is None else sorted({p.kb for p in host.installed if p.kb})
    return profile_fields(host, installed)


def verdict_dict(v: Verdict, host: HostProfile | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "summary": headline(v),
        "path": v.path,
        "kb": v.kb,
        "can_validate": v.can_validate.value,
        "can_install": v.can_install.value,
        "already_installed": v.already_installed.value,
        "reasons": [_reason(r) for r in v.reasons],
        "missing_prerequisites": list(v.missing_prerequisites),
        "missing_roots": [r.value for r in v.missing_roots],
        "expected_error": _error(v.expected_error),
        "unknown_fields": list(v.unknown_fields),
        "release_date": v.release_date,
        "release_date_source": v.release_date_source,
        "notes": list(v.notes),
        "host": {"label": v.host.label, "sha2": v.host.sha2.value, "sha2_via": v.host.sha2_via},
    }
    if host is not None:
        out["host"]["profile"] = host_dict(host)
    return out


def plan_dict(plan: Plan, host: HostProfile | None = None) -> dict[str, Any]:
    return {
        "host": {"label": plan.host_label, **({"profile": host_dict(host)} if host else {})},
        "steps": [
            {
                "step": s.number,
                "path": s.path,
                "kb": s.kb,
                "title": s.title,
                "category": s.category,
                "release_date": s.release_date,
                "restart": s.restart,
                "why": s.why,
                "note": s.note,
                "verdict": verdict_dict(s.verdict),
            }
            for s in plan.steps
        ],
        "skipped": [{"path": k.path, "kb": k.kb, "reason": k.reason} for k in plan.skipped],
        "cannot_install": [
            {"path": b.path, "kb": b.kb, "verdict": verdict_dict(b.verdict)} for b in plan.blocked
        ],
        "undecided": [
            {"path": b.path, "kb": b.kb, "verdict": verdict_dict(b.verdict)} for b in plan.undecided
        ],
        "missing": [
            {"kb": m.kb, "needed_by": list(m.needed_by), "message": m.message} for m in plan.missing
        ],
        "unreadable": [{"path": p, "error": e} for p, e in plan.unreadable],
    }
