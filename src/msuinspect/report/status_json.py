"""``host status --json`` (schema ``msuinspect.host-status/1``, docs/host-status.md)."""

from __future__ import annotations

from typing import Any

from msuinspect.host.profile import HostProfile
from msuinspect.report.host_json import profile_dict
from msuinspect.report.verdict_json import verdict_dict
from msuinspect.status.model import HostStatus, NextStep, Statement, Step
from msuinspect.status.packages import PackageCandidate, PackageMatches, StepMatch

STATUS_SCHEMA = "msuinspect.host-status/1"


def _statement(s: Statement) -> dict[str, Any]:
    return {
        "id": s.id,
        "label": s.label,
        "text": s.text,
        "known": s.known,
        "kbs": list(s.kbs),
        "evidence": list(s.evidence),
        "sources": list(s.sources),
    }


def _step(s: Step) -> dict[str, Any]:
    return {
        "id": s.id,
        "label": s.label,
        "state": s.state.value,
        "optional": s.optional,
        "text": s.text,
        "notes": list(s.notes),
        "kbs": list(s.kbs),
        "evidence": list(s.evidence),
        "sources": list(s.sources),
    }


def _next(n: NextStep) -> dict[str, Any]:
    return {
        "order": n.order,
        "step": n.step,
        "action": n.action,
        "kb": n.kb,
        "title": n.title,
        "date": n.date,
        "restart": n.restart,
        "state": n.state.value,
        "optional": n.optional,
        "why": n.why,
        "confidence": n.confidence,
        "sources": list(n.sources),
    }


def _candidate(c: PackageCandidate) -> dict[str, Any]:
    return {
        "path": c.path,
        "kbs": list(c.kbs),
        "outcome": c.outcome,
        "reasons": list(c.reasons),
        "signing": c.signing,
        "trusted": c.trusted,
        "signature": c.signature,
        "usable": c.usable,
        "unusable": c.unusable,
        "verdict": verdict_dict(c.verdict) if c.verdict is not None else None,
    }


def _match(m: StepMatch) -> dict[str, Any]:
    return {
        "order": m.step.order,
        "kb": m.step.kb,
        "step": m.step.step,
        "state": m.state.value,
        "note": m.note,
        "package": _candidate(m.package) if m.package is not None else None,
        "others": [_candidate(c) for c in m.others],
    }


def matches_dict(matches: PackageMatches) -> dict[str, Any]:
    return {
        "folder": matches.folder,
        "steps": [_match(m) for m in matches.steps],
        "unmatched": [_candidate(c) for c in matches.unmatched],
    }


def status_dict(
    status: HostStatus,
    profile: HostProfile | None = None,
    matches: PackageMatches | None = None,
) -> dict[str, Any]:
    cap = status.capability
    pos = status.rollup
    out: dict[str, Any] = {
        "schema": STATUS_SCHEMA,
        "name": status.name,
        "knowledge_base": status.kb_data_version,
        "identity": [_statement(s) for s in status.identity],
        "road": [_step(s) for s in status.road],
        "rollup": None
        if pos is None
        else {
            "installed_kb": pos.installed_kb,
            "installed_date": pos.installed_date,
            "last_kb": pos.last_kb,
            "last_date": pos.last_date,
            "months_behind": pos.months_behind,
            "known_missing": list(pos.known_missing),
            "unrecognised": list(pos.unrecognised),
            "cumulative": True,
        },
        "capability": {
            "sha2": cap.sha2,
            "sha2_via": cap.sha2_via,
            "roots": None if cap.roots is None else list(cap.roots),
            "text": cap.text,
            "rejects": [{"rules": r, "packages": what} for r, what in cap.rejects],
            "evidence": list(cap.evidence),
            "sources": list(cap.sources),
        },
        "next_steps": [_next(n) for n in status.next_steps],
        "conflicts": [
            {"field": c.field, "values": [{"value": v, "where": w} for v, w in c.values]}
            for c in status.conflicts
        ],
        "unknown": list(status.unknown),
        "notes": list(status.notes),
        "packages": matches_dict(matches) if matches is not None else None,
    }
    if profile is not None:
        out["profile"] = profile_dict(profile)
    return out
