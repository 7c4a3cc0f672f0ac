"""The servicing road, step by step: SP2, roots, SSU, SHA-2, ESU, monthly rollups.

Each step is ``done``, ``missing``, ``unknown`` or ``not applicable``. ``missing`` is only
said when the evidence supports it (a complete update list, a complete certificate
store, an ``slmgr`` output); otherwise the step is ``unknown`` and says why.
"""

from __future__ import annotations

from msuinspect.host.profile import Arch, EsuLicence, HostProfile, Product, Root
from msuinspect.package.mum import parse_version
from msuinspect.servicing.knowledge import KnowledgeBase, UpdateFact, UpdateKind
from msuinspect.status.evidence import (
    Presence,
    field_evidence,
    merge,
    presence,
    sources_of,
    unrecognised_kbs,
)
from msuinspect.status.model import RollupPosition, Step, StepState
from msuinspect.verdict.host_facts import KB_SHA2, KB_SHA2_X64, KB_SSU_BASELINE, restart_pending

KB_SP2 = "KB948465"
KB_ESU_PREP_LATEST = "KB5016891"
_ROOT_NAMES = {
    Root.ROOT_AUTHORITY: "Microsoft Root Authority",
    Root.ROOT_2001: "Root CA (2001)",
    Root.ROOT_2010: "Root CA 2010",
    Root.ROOT_2011: "Root CA 2011",
}
#: rollups counted as "monthly rollups" (cumulative); security-only ones are not
MONTHLY = (UpdateKind.MONTHLY_ROLLUP, UpdateKind.PREVIEW_ROLLUP)


def root_name(root: Root) -> str:
    return _ROOT_NAMES[root]


def _sp2(profile: HostProfile, kb: KnowledgeBase) -> Step:
    src = sources_of(kb, [KB_SP2])
    p = presence(profile, KB_SP2)
    label = f"SP2 ({KB_SP2})"
    if profile.build in (6002, 6003):
        return Step(
            "sp2",
            label,
            StepState.DONE,
            f"build {profile.build} is SP2 level",
            merge(
                field_evidence(profile, "build"), p.evidence if p.state is StepState.DONE else ()
            ),
            src,
            (KB_SP2,),
        )
    if profile.build in (6000, 6001):
        return Step(
            "sp2",
            label,
            StepState.MISSING,
            f"build {profile.build} is before SP2",
            field_evidence(profile, "build"),
            src,
            (KB_SP2,),
        )
    if p.state is StepState.DONE:
        return Step("sp2", label, StepState.DONE, "listed as installed", p.evidence, src, (KB_SP2,))
    return Step(
        "sp2",
        label,
        StepState.UNKNOWN,
        "the build is not known (SP2 integrated in the install media is not listed as an update)",
        p.evidence,
        src,
        (KB_SP2,),
    )


def _roots(profile: HostProfile, kb: KnowledgeBase) -> Step:
    label = "Root CA 2010 / 2011"
    src = merge(*(f.source for r in (Root.ROOT_2010, Root.ROOT_2011) if (f := kb.root(r))))
    where = field_evidence(profile, "roots")
    if profile.roots is None:
        return Step(
            "roots",
            label,
            StepState.UNKNOWN,
            "no complete 'certutil -store root' output in the evidence",
            where,
            src,
        )
    have = [r for r in (Root.ROOT_2010, Root.ROOT_2011) if r in profile.roots]
    lack = [r for r in (Root.ROOT_2010, Root.ROOT_2011) if r not in profile.roots]
    if not lack:
        return Step("roots", label, StepState.DONE, "both in the machine's root store", where, src)
    text = "not in the machine's root store: " + ", ".join(root_name(r) for r in lack)
    if have:
        text += "; present: " + ", ".join(root_name(r) for r in have)
    return Step("roots", label, StepState.MISSING, text, where, src)


def _restart_note(profile: HostProfile, kb: str) -> tuple[str, ...]:
    pending = restart_pending(profile, kb)
    if pending is True:
        return ("a restart is pending: it takes effect after the restart",)
    if pending is None:
        return (
            "a restart is pending; whether it is this update's is unknown (no CBS state "
            "for it in the evidence)",
        )
    return ()


def _ssu_baseline(profile: HostProfile, kbase: KnowledgeBase) -> Step:
    fact = kbase.get(KB_SSU_BASELINE)
    label = f"SSU {KB_SSU_BASELINE}"
    src = sources_of(kbase, [KB_SSU_BASELINE])
    p = presence(profile, KB_SSU_BASELINE)
    if p.state is StepState.DONE:
        ver = f" (CBS {', '.join(p.versions)})" if p.versions else ""
        return Step(
            "ssu-baseline",
            label,
            StepState.DONE,
            f"installed{ver}",
            p.evidence,
            src,
            (KB_SSU_BASELINE,),
        )
    later = [
        u
        for u in kbase.of_kind(UpdateKind.SSU)
        if fact is not None
        and fact.date
        and u.date
        and u.date.earliest > fact.date.earliest
        and presence(profile, u.kb).state is StepState.DONE
    ]
    if later:
        u = later[-1]
        return Step(
            "ssu-baseline",
            label,
            StepState.DONE,
            f"a later SSU, {u.kb}, is installed",
            presence(profile, u.kb).evidence,
            merge(src, u.source),
            (KB_SSU_BASELINE, u.kb),
        )
    have = parse_version(profile.servicing_stack_version)
    need = parse_version(fact.stack_version if fact else None)
    if have is not None and need is not None and have >= need:
        return Step(
            "ssu-baseline",
            label,
            StepState.DONE,
            f"servicing stack {profile.servicing_stack_version} >= "
            f"{fact.stack_version if fact else ''}",
            field_evidence(profile, "servicing_stack_version"),
            src,
            (KB_SSU_BASELINE,),
        )
    return Step("ssu-baseline", label, p.state, p.why, p.evidence, src, (KB_SSU_BASELINE,))


def _sha2(profile: HostProfile, kbase: KnowledgeBase) -> Step:
    fact = kbase.get(KB_SHA2)
    label = f"SHA-2 {KB_SHA2}"
    src = sources_of(kbase, [KB_SHA2])
    if profile.product is Product.VISTA:
        return Step(
            "sha2",
            label,
            StepState.NOT_APPLICABLE,
            "the Windows 6.0 SHA-2 update is for Server 2008 only (R21)",
            field_evidence(profile, "product"),
            merge(src, ("S15",)),
            (KB_SHA2,),
        )
    p = presence(profile, KB_SHA2)
    want = fact.version if fact else None
    rev = f"v{fact.revision}" if fact and fact.revision else "the known revision"
    if p.state is not StepState.DONE:
        return Step("sha2", label, p.state, p.why, p.evidence, src, (KB_SHA2,))
    versions = p.versions
    notes = _restart_note(profile, KB_SHA2)
    if not versions:
        return Step(
            "sha2",
            label,
            StepState.DONE,
            f"installed; revision unknown (no CBS identity; {rev} = {want})",
            p.evidence,
            src,
            (KB_SHA2,),
            notes=notes,
        )
    newest = max(versions, key=lambda v: parse_version(v) or ())
    have, need = parse_version(newest), parse_version(want)
    if have is not None and need is not None and have < need:
        return Step(
            "sha2",
            label,
            StepState.MISSING,
            f"an older revision is installed (CBS {newest}); {rev} is {want}",
            p.evidence,
            src,
            (KB_SHA2,),
            notes=notes,
        )
    name = f"{rev} (CBS {newest})" if newest == want else f"CBS {newest}"
    return Step(
        "sha2",
        label,
        StepState.DONE,
        f"installed: {name}",
        p.evidence,
        src,
        (KB_SHA2,),
        notes=notes,
    )


def _sha2_x64(profile: HostProfile, kbase: KnowledgeBase) -> Step:
    label = f"SHA-2 {KB_SHA2_X64} (x64)"
    src = sources_of(kbase, [KB_SHA2_X64])
    if profile.arch is not None and profile.arch is not Arch.AMD64:
        return Step(
            "sha2-x64",
            label,
            StepState.NOT_APPLICABLE,
            f"x64 only; this host is {profile.arch.value} (R19)",
            field_evidence(profile, "arch"),
            src,
            (KB_SHA2_X64,),
            optional=True,
        )
    p = presence(profile, KB_SHA2_X64)
    if profile.arch is None:
        text = "x64 only, and the architecture is not known"
        if p.state is StepState.DONE:
            text = "listed; it applies to x64 only, and the architecture is not known"
        return Step(
            "sha2-x64",
            label,
            StepState.UNKNOWN,
            text,
            p.evidence,
            src,
            (KB_SHA2_X64,),
            optional=True,
        )
    text = "installed" if p.state is StepState.DONE else p.why
    return Step(
        "sha2-x64",
        label,
        p.state,
        f"{text} (optional: Microsoft's prerequisites name {KB_SHA2})",
        p.evidence,
        src,
        (KB_SHA2_X64,),
        optional=True,
        notes=_restart_note(profile, KB_SHA2_X64) if p.state is StepState.DONE else (),
    )


def dated(facts: list[UpdateFact]) -> list[UpdateFact]:
    return [f for f in facts if f.date is not None]


#: the recommended latest SSU (verdict-facts §3.1 step 4): July 2022, stack 6.0.6003.21569
KB_SSU_RECOMMENDED = "KB5016129"


def newest_ssu(kbase: KnowledgeBase) -> UpdateFact | None:
    """The SSU the road recommends: KB5016129 (§3.1 step 4), not the newest known one;
    later SSUs (2023-12 .. 2025-01) are weakly sourced and optional (:func:`later_ssus`)."""
    fact = kbase.get(KB_SSU_RECOMMENDED)
    if fact is not None:
        return fact
    ssus = dated(kbase.of_kind(UpdateKind.SSU))
    return ssus[-1] if ssus else None


def later_ssus(kbase: KnowledgeBase) -> list[UpdateFact]:
    """SSUs dated after the recommended one: optional; whether rollups need them is unknown."""
    rec = newest_ssu(kbase)
    if rec is None or rec.date is None:
        return []
    return [
        u
        for u in dated(kbase.of_kind(UpdateKind.SSU))
        if u.date is not None and u.date.earliest > rec.date.latest
    ]


def _ssu_latest(profile: HostProfile, kbase: KnowledgeBase) -> Step:
    ssus = dated(kbase.of_kind(UpdateKind.SSU))
    rec = newest_ssu(kbase) or ssus[-1]
    later = later_ssus(kbase)
    label = f"recommended SSU {rec.kb}"
    pres = {u.kb: presence(profile, u.kb) for u in ssus}
    done = [u for u in ssus if pres[u.kb].state is StepState.DONE]
    newest = done[-1] if done else None
    have = f"newest installed {newest.kb} ({newest.date})" if newest else "no known SSU listed"
    stack_rec = f", servicing stack {rec.stack_version}" if rec.stack_version else ""
    known = f"recommended {rec.kb} ({rec.date}{stack_rec}, §3.1 step 4)"
    stack = ""
    if profile.servicing_stack_version:
        stack = f"; servicing stack {profile.servicing_stack_version}"
        match = [u for u in ssus if u.stack_version == profile.servicing_stack_version]
        if match:
            stack += f" = {match[-1].kb}"
    notes: tuple[str, ...] = ()
    if later:
        names = ", ".join(f"{u.kb} ({u.date}, {u.confidence.value})" for u in later)
        notes = (
            f"later SSUs are known ({names}): optional; whether rollups require them is unknown",
        )
    ev = merge(
        pres[newest.kb].evidence if newest else (),
        field_evidence(profile, "servicing_stack_version"),
    )
    kbs = tuple(dict.fromkeys([*(k.kb for k in (newest, rec) if k)]))
    src = sources_of(kbase, kbs)
    rec_or_later = bool(
        newest is not None
        and newest.date is not None
        and rec.date is not None
        and newest.date.earliest >= rec.date.earliest
    )
    have_v = parse_version(profile.servicing_stack_version)
    need_v = parse_version(rec.stack_version)
    by_stack = have_v is not None and need_v is not None and have_v >= need_v
    if rec_or_later or by_stack:
        text = f"{have}{stack}"
        if not rec_or_later:
            text = f"servicing stack {profile.servicing_stack_version} >= {rec.stack_version}"
        return Step("ssu-latest", label, StepState.DONE, text, ev, src, kbs, notes=notes)
    if profile.installed is None:
        return Step(
            "ssu-latest",
            label,
            StepState.UNKNOWN,
            f"no update list; {known}{stack}",
            ev or field_evidence(profile, "installed"),
            src,
            kbs,
            notes=notes,
        )
    state = StepState.MISSING if profile.installed_complete else StepState.UNKNOWN
    partial = "" if profile.installed_complete else " (the update list is partial)"
    return Step(
        "ssu-latest",
        label,
        state,
        f"{have}; {known}{stack}{partial}",
        merge(ev, field_evidence(profile, "installed")),
        src,
        kbs,
        notes=notes,
    )


def _esu_prep(profile: HostProfile, kbase: KnowledgeBase) -> Step:
    preps = kbase.of_kind(UpdateKind.ESU_PREP)
    label = "ESU licensing preparation"
    kbs = tuple(u.kb for u in preps)
    src = sources_of(kbase, kbs)
    if profile.product is Product.VISTA:
        return Step(
            "esu-prep",
            label,
            StepState.NOT_APPLICABLE,
            "ESU is for Windows Server 2008",
            field_evidence(profile, "product"),
            src,
            kbs,
        )
    pres: dict[str, Presence] = {u.kb: presence(profile, u.kb) for u in preps}
    done = [k for k in kbs if pres[k].state is StepState.DONE]
    staged = [
        f"{k} {', '.join(pres[k].not_installed_states)}"
        for k in kbs
        if pres[k].not_installed_states and pres[k].state is not StepState.DONE
    ]
    notes = (f"known to CBS but not installed: {'; '.join(staged)}",) if staged else ()
    ev = merge(*(pres[k].evidence for k in kbs if pres[k].packages))
    if done:
        text = "installed: " + ", ".join(done)
        if KB_ESU_PREP_LATEST not in done and (latest := kbase.get(KB_ESU_PREP_LATEST)):
            text += f"; {latest.kb} ({latest.date}) is the latest known"
        return Step("esu-prep", label, StepState.DONE, text, ev, src, kbs, notes=notes)
    if all(pres[k].state is StepState.MISSING for k in kbs):
        return Step(
            "esu-prep",
            label,
            StepState.MISSING,
            "none installed: " + ", ".join(kbs),
            merge(ev, field_evidence(profile, "installed")),
            src,
            kbs,
            notes=notes,
        )
    why = pres[KB_ESU_PREP_LATEST].why if KB_ESU_PREP_LATEST in pres else "not listed"
    return Step(
        "esu-prep",
        label,
        StepState.UNKNOWN,
        f"none listed ({why})",
        merge(ev, field_evidence(profile, "installed")),
        src,
        kbs,
        notes=notes,
    )


def _esu_key(profile: HostProfile, kbase: KnowledgeBase) -> Step:
    label = "ESU key (slmgr)"
    where = merge(field_evidence(profile, "esu"), field_evidence(profile, "esu_years"))
    if profile.product is Product.VISTA:
        return Step(
            "esu-key",
            label,
            StepState.NOT_APPLICABLE,
            "ESU is for Windows Server 2008",
            field_evidence(profile, "product"),
        )
    src_all = merge(*(y.source for y in kbase.esu_years))
    if profile.esu is None:
        return Step(
            "esu-key",
            label,
            StepState.UNKNOWN,
            "no 'slmgr /dlv all' output in the evidence",
            where,
            src_all,
        )
    if profile.esu is EsuLicence.NONE:
        return Step(
            "esu-key", label, StepState.MISSING, "no ESU licence is activated", where, src_all
        )
    if profile.esu_years is not None and not profile.esu_years:
        return Step(
            "esu-key", label, StepState.MISSING, "no ESU licence is activated", where, src_all
        )
    year = max(profile.esu_years) if profile.esu_years else int(profile.esu.value[1:])
    y = kbase.esu_year(year)
    text = f"ESU year {year} activated"
    if profile.esu_years is not None:
        if len(profile.esu_years) > 1:
            text += " (activated: year " + ", ".join(map(str, sorted(profile.esu_years))) + ")"
        gaps = [n for n in range(1, year) if n not in profile.esu_years]
        if gaps:
            text += (
                f"; year {', '.join(str(n) for n in gaps)} not activated: that year's "
                "updates are refused (R15)"
            )
    if y is not None:
        text += f" (covers updates through {y.through.isoformat()})"
        if y.azure_only:
            text += "; year 4 is for Azure platforms only"
    return Step("esu-key", label, StepState.DONE, text, where, y.source if y else src_all)


def rollup_position(profile: HostProfile, kbase: KnowledgeBase) -> RollupPosition | None:
    monthly = dated(kbase.of_kind(*MONTHLY))
    if not monthly:
        return None
    last = [u for u in monthly if u.kind is UpdateKind.MONTHLY_ROLLUP][-1]
    installed = [u for u in monthly if presence(profile, u.kb).state is StepState.DONE]
    newest = installed[-1] if installed else None
    months = None
    missing: tuple[str, ...] = ()
    if newest is not None and newest.date is not None and last.date is not None:
        months = (last.date.year * 12 + last.date.month) - (
            newest.date.year * 12 + newest.date.month
        )
        missing = tuple(
            u.kb
            for u in monthly
            if u.kind is UpdateKind.MONTHLY_ROLLUP
            and u.date is not None
            and u.date.earliest > newest.date.latest
        )
    return RollupPosition(
        newest.kb if newest else None,
        str(newest.date) if newest and newest.date else None,
        last.kb,
        str(last.date),
        months,
        missing,
        unrecognised_kbs(profile, kbase),
    )


def _rollup(profile: HostProfile, kbase: KnowledgeBase, pos: RollupPosition | None) -> Step:
    label = "monthly rollup"
    cumulative = "a monthly rollup is cumulative: the newest one includes the earlier ones"
    if pos is None:
        return Step(
            "rollup", label, StepState.UNKNOWN, "the knowledge base lists no monthly rollup"
        )
    src = sources_of(kbase, [k for k in (pos.installed_kb, pos.last_kb) if k])
    last = f"{pos.last_kb} ({pos.last_date})"
    other: tuple[str, ...] = ()
    if pos.unrecognised:
        shown = ", ".join(pos.unrecognised[:4]) + (" ..." if len(pos.unrecognised) > 4 else "")
        other = (f"installed updates the knowledge base does not know (not counted): {shown}",)
    if pos.installed_kb is not None:
        ev = presence(profile, pos.installed_kb).evidence
        kbs = (pos.installed_kb, pos.last_kb)
        head = f"newest installed {pos.installed_kb} ({pos.installed_date})"
        if pos.installed_kb == pos.last_kb:
            return Step(
                "rollup",
                label,
                StepState.DONE,
                f"{head}, the last known",
                ev,
                src,
                kbs,
                notes=(cumulative, *other),
            )
        text = (
            f"{head}; {len(pos.known_missing)} later monthly rollup(s) up to the last "
            f"known {last}, {pos.months_behind} months later"
        )
        state = StepState.MISSING if profile.installed_complete else StepState.UNKNOWN
        if not profile.installed_complete:
            text += " (the update list is partial: a newer one may be installed)"
        return Step(
            "rollup",
            label,
            state,
            text,
            merge(ev, field_evidence(profile, "installed")),
            src,
            (*kbs, *pos.known_missing),
            notes=(cumulative, *other),
        )
    if profile.installed is None:
        return Step(
            "rollup",
            label,
            StepState.UNKNOWN,
            f"no update list; the last known is {last}",
            field_evidence(profile, "installed"),
            src,
            (pos.last_kb,),
            notes=(cumulative,),
        )
    if profile.build == 6003 or pos.unrecognised:
        why = "build 6003 shows a 2019-03-19 or later update" if profile.build == 6003 else ""
        text = "no rollup the knowledge base knows is listed"
        text += f"; {why}, not recognised" if why else "; an unrecognised update may be one"
        return Step(
            "rollup",
            label,
            StepState.UNKNOWN,
            f"{text}; the last known is {last}",
            field_evidence(profile, "installed", "build"),
            src,
            (pos.last_kb,),
            notes=(cumulative, *other),
        )
    state = StepState.MISSING if profile.installed_complete else StepState.UNKNOWN
    text = (
        "no monthly rollup installed"
        if profile.installed_complete
        else "none listed (partial list)"
    )
    return Step(
        "rollup",
        label,
        state,
        f"{text}; the last known is {last}",
        field_evidence(profile, "installed"),
        src,
        (pos.last_kb,),
        notes=(cumulative,),
    )


def servicing_road(
    profile: HostProfile, kbase: KnowledgeBase
) -> tuple[tuple[Step, ...], RollupPosition | None]:
    pos = rollup_position(profile, kbase)
    steps = (
        _sp2(profile, kbase),
        _roots(profile, kbase),
        _ssu_baseline(profile, kbase),
        _sha2(profile, kbase),
        _sha2_x64(profile, kbase),
        _ssu_latest(profile, kbase),
        _esu_prep(profile, kbase),
        _esu_key(profile, kbase),
        _rollup(profile, kbase, pos),
    )
    return steps, pos
