"""Next steps in the recommended install order (verdict-facts §3.1, corrections 4).

Order: roots, KB4493730, KB4474419 (restart), pending restart, the recommended latest SSU
KB5016129 (later, weakly sourced SSUs only as optional), ESU
preparation (restart), ESU key, the newest monthly rollup the licence allows. Microsoft
requires KB4493730 and KB4474419 and a restart but states no order between them; SSU
first is community practice. A step whose state is ``unknown`` is proposed as "if not
installed", never as missing.
"""

from __future__ import annotations

import datetime as _dt

from msuinspect.host.profile import EsuLicence, HostProfile, Root
from msuinspect.servicing.knowledge import KnowledgeBase, UpdateFact, UpdateKind
from msuinspect.status.evidence import presence
from msuinspect.status.model import NextStep, RollupPosition, Step, StepState
from msuinspect.status.road import (
    KB_ESU_PREP_LATEST,
    MONTHLY,
    dated,
    later_ssus,
    newest_ssu,
    root_name,
)
from msuinspect.verdict.host_facts import KB_SHA2, KB_SSU_BASELINE

_KIND = {
    UpdateKind.MONTHLY_ROLLUP: "Monthly Rollup",
    UpdateKind.PREVIEW_ROLLUP: "Preview of Monthly Rollup",
    UpdateKind.SECURITY_ONLY: "Security-only update",
    UpdateKind.SSU: "Servicing stack update",
    UpdateKind.ESU_PREP: "ESU licensing preparation package",
    UpdateKind.SHA2: "SHA-2 code signing support update",
    UpdateKind.SERVICE_PACK: "Service Pack",
}
_OPEN = (StepState.MISSING, StepState.UNKNOWN)


def title_of(fact: UpdateFact) -> str:
    if fact.title:
        return fact.title
    return f"{_KIND.get(fact.kind, fact.kind.value)} ({fact.date or 'date unknown'})"


def licence_through(profile: HostProfile, kbase: KnowledgeBase) -> _dt.date | None:
    """The last release day the host's licence lets it install (None: not known)."""
    if profile.esu_years is not None:
        if not profile.esu_years:
            return kbase.threshold("esu_after").value.earliest
        y = kbase.esu_year(max(profile.esu_years))
        return y.through if y is not None else None
    if profile.esu is None:
        return None
    if profile.esu is EsuLicence.NONE:
        return kbase.threshold("esu_after").value.earliest
    y = kbase.esu_year(int(profile.esu.value[1:]))
    return y.through if y is not None else None


def target_rollup(
    profile: HostProfile, kbase: KnowledgeBase, pos: RollupPosition | None
) -> UpdateFact | None:
    """The newest monthly rollup the licence allows, newer than the newest installed."""
    monthly = [u for u in dated(kbase.of_kind(*MONTHLY)) if u.kind is UpdateKind.MONTHLY_ROLLUP]
    through = licence_through(profile, kbase)
    if through is not None:
        monthly = [u for u in monthly if u.date is not None and u.date.earliest <= through]
    if not monthly:
        return None
    target = monthly[-1]
    if pos is not None and pos.installed_date is not None:
        have = kbase.get(pos.installed_kb)
        if have is not None and have.date and target.date and target.date <= have.date:
            return None
    return target


def _state(step: Step) -> StepState:
    return StepState.MISSING if step.state is StepState.MISSING else StepState.UNKNOWN


def next_steps(
    profile: HostProfile,
    kbase: KnowledgeBase,
    road: tuple[Step, ...],
    pos: RollupPosition | None,
) -> tuple[NextStep, ...]:
    steps = {s.id: s for s in road}
    out: list[NextStep] = []

    def add(
        step: Step | None,
        action: str,
        kb: str | None,
        title: str,
        why: str,
        *,
        restart: bool | None = None,
        optional: bool = False,
        sources: tuple[str, ...] = (),
        state: StepState | None = None,
    ) -> None:
        fact = kbase.get(kb) if kb else None
        out.append(
            NextStep(
                order=len(out) + 1,
                step=step.id if step else action,
                action=action,
                kb=kb,
                title=title,
                date=str(fact.date) if fact and fact.date else None,
                restart=restart if restart is not None else (fact.restart if fact else None),
                why=why,
                state=state or (_state(step) if step else StepState.MISSING),
                sources=sources or (fact.source if fact else step.sources if step else ()),
                confidence=fact.confidence.value if fact else None,
                optional=optional,
            )
        )

    def fact_step(step: Step, kb: str, why: str, restart: bool | None = None) -> None:
        fact = kbase.get(kb)
        if fact is not None:
            add(step, "install", kb, title_of(fact), why, restart=restart)

    roots = steps["roots"]
    if roots.state in _OPEN:
        lack = [Root.ROOT_2010, Root.ROOT_2011]
        if profile.roots is not None:
            lack = [r for r in lack if r not in profile.roots]
        names = " and ".join(root_name(r) for r in lack)
        add(
            roots,
            "import-roots",
            None,
            f"import {names} (certutil -addstore Root)",
            "every SHA-2 Microsoft chain ends at one of them; an offline host does not fetch them",
            restart=False,
        )
    ssu = steps["ssu-baseline"]
    if ssu.state in _OPEN:
        fact_step(ssu, KB_SSU_BASELINE, "the servicing stack every package from July 2019 needs")
    sha2 = steps["sha2"]
    if sha2.state in _OPEN:
        fact_step(
            sha2,
            KB_SHA2,
            "SHA-2 code signing support; needed to install packages from July 2019",
            restart=True,
        )
    if profile.pending_restart or any("restart is pending" in n for s in road for n in s.notes):
        add(None, "restart", None, "restart the host", "a restart is pending", restart=True)
    latest = steps["ssu-latest"]
    last_ssu = newest_ssu(kbase)
    if latest.state in _OPEN and last_ssu is not None and last_ssu.kb != KB_SSU_BASELINE:
        stack = f", servicing stack {last_ssu.stack_version}" if last_ssu.stack_version else ""
        fact_step(
            latest,
            last_ssu.kb,
            f"the recommended latest servicing stack update (verdict-facts §3.1 step 4{stack}); "
            "later SSUs supersede earlier ones (inference)",
        )
    later = [u for u in later_ssus(kbase) if presence(profile, u.kb).state is not StepState.DONE]
    if later and not any(presence(profile, u.kb).state is StepState.DONE
                         for u in later_ssus(kbase)):  # fmt: skip
        newest = later[-1]
        add(
            latest,
            "install",
            newest.kb,
            title_of(newest),
            f"optional: a later SSU ({newest.date}, {newest.confidence.value} source); "
            "whether monthly rollups require it is unknown",
            optional=True,
            state=StepState.MISSING if profile.installed_complete else StepState.UNKNOWN,
        )
    prep = steps["esu-prep"]
    if prep.state in _OPEN:
        fact_step(
            prep,
            KB_ESU_PREP_LATEST,
            "ESU licensing preparation (the latest known "
            "package); needed before the ESU key and ESU-era updates",
            restart=True,
        )
    key = steps["esu-key"]
    if key.state in _OPEN:
        add(
            key,
            "activate-esu",
            None,
            "install and activate the ESU key (slmgr /ipk KEY, slmgr /dlv all, slmgr /ato ID)",
            "ESU-era updates install only with an "
            "activated ESU key for their year; 2008 SP2 may need a restart first (R22)",
            restart=None,
            sources=key.sources,
        )
    rollup = steps["rollup"]
    target = target_rollup(profile, kbase, pos)
    if rollup.state in _OPEN and target is not None:
        through = licence_through(profile, kbase)
        why = "cumulative: the newest one the host's licence allows, from the knowledge base"
        if through is None:
            why = "cumulative: the last one the knowledge base knows (the ESU licence is not known)"
        fact_step(rollup, target.kb, why)
    return tuple(out)
