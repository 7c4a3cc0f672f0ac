"""Order the packages of a folder for one host.

Each package is judged against the host as it would be after the steps already planned
(a simulated install: the KB is added, restarts are assumed done). Among the packages
installable at each point, servicing stack and SHA-2 bootstrap packages go first (SSU
before SHA-2 is the community's order, not a documented requirement), then by release
date. Older copies of the same package, and monthly rollups older than a newer one in the
folder (rollups are cumulative), are skipped with the reason. What remains cannot be
installed (with why) or is undecided (with the unknown fact); prerequisites the verdicts
name that the folder lacks are listed as missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from msuinspect.host.profile import HostProfile, InstalledPackage
from msuinspect.package.mum import parse_version
from msuinspect.servicing.knowledge import KnowledgeBase, PartialDate, UpdateKind
from msuinspect.verdict.facts import PackageFacts
from msuinspect.verdict.host_facts import (
    KB_SHA2,
    KB_SHA2_X64,
    KB_SSU_BASELINE,
    host_label,
    sha2_support,
)
from msuinspect.verdict.judge import is_not_applicable, judge, release_date
from msuinspect.verdict.model import Answer, Aspect, Verdict

RECOMMENDED_ORDER = (
    "SSU before SHA-2: recommended order (community tools), not a documented requirement"
)
_CATEGORY_RANK = {"ssu": 0, "sha2": 1, "esu-prep": 3, "update": 4}


@dataclass(frozen=True, slots=True)
class PlanStep:
    number: int
    path: str
    kb: str | None
    title: str | None
    category: str  #: ssu, sha2, esu-prep, update
    release_date: str | None
    restart: bool
    why: str
    note: str | None
    verdict: Verdict  #: judged on the host as it is at this step


@dataclass(frozen=True, slots=True)
class Skipped:
    path: str
    kb: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class Blocked:
    path: str
    kb: str | None
    verdict: Verdict  #: judged on the host after every planned step


@dataclass(frozen=True, slots=True)
class Missing:
    kb: str | None  #: None for a root certificate
    needed_by: tuple[str, ...]
    message: str


@dataclass(frozen=True, slots=True)
class Plan:
    host_label: str
    steps: tuple[PlanStep, ...]
    skipped: tuple[Skipped, ...]
    blocked: tuple[Blocked, ...]
    undecided: tuple[Blocked, ...]
    missing: tuple[Missing, ...]
    unreadable: tuple[tuple[str, str], ...] = ()


def _category(facts: PackageFacts, kb: KnowledgeBase) -> str:
    entry = kb.get(facts.kb)
    if entry is None:
        return "update"
    if entry.kind is UpdateKind.SSU:
        return "ssu"
    if entry.kind is UpdateKind.SHA2:
        return "sha2"
    if entry.kind is UpdateKind.ESU_PREP:
        return "esu-prep"
    return entry.kind.value


def _date_key(facts: PackageFacts, kb: KnowledgeBase) -> tuple[int, PartialDate]:
    rel = release_date(facts, kb).date
    return (0, rel) if rel is not None else (1, PartialDate(9999, 12))


def _installed(host: HostProfile, facts: PackageFacts) -> HostProfile:
    pkg = InstalledPackage(facts.kb, facts.identity, facts.version, "installed", source="plan")
    return replace(host, installed=(*(host.installed or ()), pkg), pending_restart=False)


def _copies(items: Sequence[tuple[str, PackageFacts]]) -> dict[str, str]:
    """path -> why it is skipped: older copies of the same KB (and architecture)."""
    out: dict[str, str] = {}
    by_key: dict[tuple[str | None, str | None], list[tuple[str, PackageFacts]]] = {}
    for path, f in items:
        if f.kb is not None:
            by_key.setdefault((f.kb, f.arch), []).append((path, f))
    for group in by_key.values():
        if len(group) < 2:
            continue
        best = max(group, key=lambda pf: parse_version(pf[1].version) or ())
        for path, f in group:
            if path != best[0]:
                out[path] = f"another copy of {f.kb} is newer or equal: {best[0]}"
    return out


def _rollup_date(f: PackageFacts, kb: KnowledgeBase) -> PartialDate | None:
    entry = kb.get(f.kb)
    if entry is not None and entry.kind is UpdateKind.MONTHLY_ROLLUP:
        return entry.date
    return None


def _newer_rollups(
    f: PackageFacts, others: Sequence[tuple[str, PackageFacts]], kb: KnowledgeBase
) -> list[tuple[str, PackageFacts, PartialDate]]:
    """The monthly rollups among ``others`` (same architecture) strictly newer than ``f``."""
    mine = _rollup_date(f, kb)
    if mine is None:
        return []
    out = []
    for p, g in others:
        d = _rollup_date(g, kb)
        if g is not f and d is not None and g.arch == f.arch and mine.latest < d.earliest:
            out.append((p, g, d))
    return sorted(out, key=lambda t: t[2])


def _superseded_text(kb_: str | None, date: PartialDate, state: str) -> str:
    return (
        f"superseded by {kb_} ({date}) in this folder, {state}: "
        "monthly rollups are cumulative (verdict-facts 3.1)"
    )


def _blocked_note(path: str, f: PackageFacts, v: Verdict) -> str:
    r = v.deciding(Aspect.INSTALL) or v.deciding(Aspect.VALIDATE)
    why = f"{r.summary} ({r.rule})" if r is not None else f"install {v.can_install.value}"
    return f"newer rollup {f.kb or path} in this folder cannot be installed: {why}"


def _why(facts: PackageFacts, needed_by: dict[str, list[str]], category: str) -> str:
    users = needed_by.get(facts.kb or "", [])
    if users:
        return "needed by " + ", ".join(sorted(set(users)))
    if category == "ssu":
        return "servicing stack update"
    if category == "sha2":
        return "SHA-2 code signing support"
    if category == "esu-prep":
        return "ESU licensing preparation"
    return "installable on this host at this point"


def make_plan(
    items: Sequence[tuple[str, PackageFacts]],
    host: HostProfile,
    kb: KnowledgeBase,
    *,
    unreadable: Sequence[tuple[str, str]] = (),
) -> Plan:
    label = host_label(host, sha2_support(host))
    skipped: list[Skipped] = []
    first = {path: judge(f, host, kb) for path, f in items}
    remaining: list[tuple[str, PackageFacts]] = []
    for path, f in items:
        v = first[path]
        if not f.is_package:
            skipped.append(Skipped(path, f.kb, "not an update package"))
        elif v.already_installed is Answer.YES:
            skipped.append(Skipped(path, f.kb, "already installed on this host"))
        else:
            remaining.append((path, f))
    superseded = _copies([(p, f) for p, f in remaining if not is_not_applicable(first[p])])
    for path, why in superseded.items():
        skipped.append(Skipped(path, dict(remaining)[path].kb, why))
    remaining = [(p, f) for p, f in remaining if p not in superseded]
    needed_by: dict[str, list[str]] = {}
    for path, f in remaining:
        for pre in first[path].missing_prerequisites:
            needed_by.setdefault(pre, []).append(f.kb or path)

    steps: list[PlanStep] = []
    current = host
    while remaining:
        verdicts = {p: judge(f, current, kb) for p, f in remaining}
        ready = [(p, f) for p, f in remaining if verdicts[p].can_install is Answer.YES]
        # a rollup is skipped only for a newer one the host can take now (never for a
        # blocked one: the plan installs the newest rollup the host can take)
        dropped = False
        for path, f in ready:
            newer = _newer_rollups(f, ready, kb)
            if newer:
                p_new, g_new, d_new = newer[-1]
                text = _superseded_text(g_new.kb, d_new, "which this host can install")
                skipped.append(Skipped(path, f.kb, text))
                remaining = [(p, g) for p, g in remaining if p != path]
                dropped = True
        if dropped:
            continue
        if not ready:
            break
        path, f = min(
            ready,
            key=lambda pf: (
                _CATEGORY_RANK.get(_category(pf[1], kb), 4),
                0 if pf[1].kb == KB_SSU_BASELINE else 1,
                _date_key(pf[1], kb),
                pf[1].kb or "",
            ),
        )
        category = _category(f, kb)
        entry = kb.get(f.kb)
        others = {g.kb for _p, g in remaining if g is not f}
        note = None
        if f.kb == KB_SSU_BASELINE and others & {KB_SHA2, KB_SHA2_X64}:
            note = RECOMMENDED_ORDER
        blocked_newer = _newer_rollups(f, [(p, g) for p, g in remaining if p != path], kb)
        if blocked_newer:
            p_new, g_new, _d = blocked_newer[-1]
            note = "the newest rollup this host can take; " + _blocked_note(
                p_new, g_new, verdicts[p_new]
            )
        restart = bool(entry and entry.restart) or (f.restart or "").casefold() == "required"
        rel = release_date(f, kb).date
        steps.append(
            PlanStep(
                len(steps) + 1, path, f.kb, entry.title if entry else None, category,
                str(rel) if rel else None, restart, _why(f, needed_by, category), note,
                verdicts[path],
            )
        )  # fmt: skip
        current = _installed(current, f)
        remaining = [(p, g) for p, g in remaining if p != path]

    # left-over rollups older than a planned or remaining newer one are not needed
    planned_items = [(st.path, f) for st in steps for p, f in items if p == st.path]
    for path, f in list(remaining):
        newer = _newer_rollups(f, [*planned_items, *remaining], kb)
        if newer:
            p_new, g_new, d_new = newer[-1]
            state = "planned" if any(p_new == st.path for st in steps) else "itself blocked"
            skipped.append(Skipped(path, f.kb, _superseded_text(g_new.kb, d_new, state)))
            remaining = [(p, g) for p, g in remaining if p != path]
    blocked: list[Blocked] = []
    undecided: list[Blocked] = []
    missing: dict[str, list[str]] = {}
    present = {f.kb for _p, f in items if f.kb}
    planned = {s.kb for s in steps}
    for path, f in remaining:
        v = judge(f, current, kb)
        (blocked if v.can_install is Answer.NO else undecided).append(Blocked(path, f.kb, v))
        if is_not_applicable(v):
            continue
        for pre in v.missing_prerequisites:
            if pre not in present and pre not in planned:
                missing.setdefault(pre, []).append(f.kb or path)
        for root in v.missing_roots:
            missing.setdefault(f"root:{root.value}", []).append(f.kb or path)
    missing_items = []
    for key, users in missing.items():
        users_text = ", ".join(sorted(set(users)))
        if key.startswith("root:"):
            name = "Microsoft Root Certificate Authority " + key[5:]
            msg = f"{name} must be imported on the host (needed by {users_text})"
            missing_items.append(Missing(None, tuple(users), msg))
        else:
            entry = kb.get(key)
            title = f" ({entry.title})" if entry is not None and entry.title else ""
            msg = f"{key}{title} is required and not present here (needed by {users_text})"
            missing_items.append(Missing(key, tuple(users), msg))
    return Plan(
        label, tuple(steps), tuple(skipped), tuple(blocked), tuple(undecided),
        tuple(missing_items), tuple(unreadable),
    )  # fmt: skip
