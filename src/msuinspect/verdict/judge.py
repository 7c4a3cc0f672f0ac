"""The verdict: could this 6002/6003 host validate and install this package, and if not,
what first? A pure function of :class:`PackageFacts`, :class:`HostProfile` and the
:class:`KnowledgeBase` (docs/verdict-rules.md lists every rule with its source).

Installation follows R1-R5 and R13-R22; validation R6-R12 (:mod:`.validate`).
``can_install`` is yes only when validation is yes and no install rule fails or is unknown.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

from msuinspect.host.profile import Arch, EsuLicence, HostProfile, Product
from msuinspect.package.mum import parse_version
from msuinspect.servicing.knowledge import (
    ROLLUP_KINDS,
    Confidence,
    KnowledgeBase,
    PartialDate,
    UpdateFact,
    UpdateKind,
)
from msuinspect.verdict.facts import PackageFacts, ParentRole
from msuinspect.verdict.host_facts import (
    KB_SHA2,
    KB_SHA2_X64,
    KB_SSU_BASELINE,
    has_any,
    has_stack,
    host_label,
    restart_pending,
    sha2_support,
)
from msuinspect.verdict.model import (
    Answer,
    Aspect,
    ExpectedError,
    HostSummary,
    Reason,
    RuleOutcome,
    Verdict,
)
from msuinspect.verdict.validate import E_BAD_DIGEST, judge_validation

#: NT versions -> products, for "not applicable: targets ..."
PRODUCTS = {
    "5.1": "Windows XP",
    "5.2": "Windows Server 2003",
    "6.0": "Windows Vista / Server 2008",
    "6.1": "Windows 7 / Server 2008 R2",
    "6.2": "Windows 8 / Server 2012",
    "6.3": "Windows 8.1 / Server 2012 R2",
    "10.0": "Windows 10 / 11 / Server 2016 and later",
}
#: the order prerequisites are proposed in (SSU before SHA-2 is recommended, not required)
PREREQUISITE_ORDER = (KB_SSU_BASELINE, KB_SHA2, "KB4537830", "KB5016891")
KB_ESU_SSU = "KB4537830"
KB_ESU_PREP_WEAK = "KB4538484"
#: the first kernel giving build 6003: the 2019-03-19 preview rollup KB4489887 (Correction 7)
BUILD_6003_FROM = _dt.date(2019, 3, 19)
#: the ESU prep-check (verdict-facts §3.1 step 7, S2) needs a monthly rollup from this day
PREP_CHECK_ROLLUP_FROM = _dt.date(2020, 2, 11)

E_NOT_APPLICABLE = ExpectedError(
    "wusa: The update is not applicable to your computer",
    "0x80240017",
    ("S2",),
    Confidence.CONFIRMED,
)
E_STACK = ExpectedError(
    "wusa: The Windows Modules Installer must be updated before this update can be installed",
    None,
    ("S2",),
    Confidence.WEAK,
)
E_ESU = ExpectedError(
    "Windows Update: Some updates were not installed (0x80070643); CBS log: "
    "ESU: not eligible:HRESULT_FROM_WIN32(1633)",
    "0x80070643",
    ("S2", "review-5"),
    Confidence.CONFIRMED,
)
E_PREP_CHECK = ExpectedError(
    "wusa/Windows Update: 0x80070643; CBS log: ESU: Pre IMDS checks failed, "
    "Not Eligible:HRESULT_FROM_WIN32(1605)",
    "0x80070643",
    ("S2",),
    Confidence.CONFIRMED,
)
E_ALREADY = ExpectedError(
    "wusa: the update is already installed (WU_S_ALREADY_INSTALLED)",
    "0x00240006",
    ("domain-1.4",),
    Confidence.WEAK,
)

_NOT_APPLICABLE_RULES = frozenset({"R1", "R2", "R3", "R19", "R21"})


@dataclass(slots=True)
class _Acc:
    reasons: list[Reason] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def add(
        self,
        rule: str,
        outcome: RuleOutcome,
        summary: str,
        evidence: str,
        source: tuple[str, ...],
        confidence: Confidence,
        *,
        unknown_field: str | None = None,
        expected: ExpectedError | None = None,
        missing: str | None = None,
    ) -> None:
        self.reasons.append(
            Reason(
                rule, outcome, Aspect.INSTALL, summary, evidence, source, confidence,
                unknown_field=unknown_field, expected_error=expected,
            )
        )  # fmt: skip
        if missing and missing not in self.missing:
            self.missing.append(missing)


@dataclass(frozen=True, slots=True)
class ReleaseDate:
    date: PartialDate | None
    source: str | None


def release_date(facts: PackageFacts, kb: KnowledgeBase) -> ReleaseDate:
    """The knowledge base's date for the package's KB (a release date), else the package's
    own metadata (pkgProperties Build Date, the manifest's creationTimeStamp), else the
    signing timestamp (weak)."""
    entry = kb.get(facts.kb)
    if entry is not None and entry.date is not None:
        return ReleaseDate(entry.date, f"knowledge base {entry.kb} ({', '.join(entry.source)})")
    if facts.release_date is not None:
        return ReleaseDate(PartialDate.of(facts.release_date), facts.release_date_source)
    if facts.signing_date is not None:
        return ReleaseDate(PartialDate.of(facts.signing_date), "signing timestamp (weak)")
    return ReleaseDate(None, None)


def _on_or_after(date: PartialDate, threshold: PartialDate) -> bool | None:
    if date.earliest >= threshold.earliest:
        return True
    if date.latest < threshold.earliest:
        return False
    return None


def _after(date: PartialDate, day: PartialDate) -> bool | None:
    if date.earliest > day.latest:
        return True
    if date.latest <= day.latest:
        return False
    return None


def _moves_to_6003(entry: UpdateFact | None) -> bool:
    """A knowledge-base rollup of 2019-03-19 or later (KB4489887, the preview that first
    gives 6.0.6003.20491, and every later rollup or security-only update; Correction 7)."""
    return (
        entry is not None
        and entry.kind in ROLLUP_KINDS
        and entry.date is not None
        and entry.date.earliest >= BUILD_6003_FROM
    )


def _applicability(facts: PackageFacts, host: HostProfile, kb: KnowledgeBase, acc: _Acc) -> bool:
    """R1, R2, R19, R3, R21, R4, R5. False when the package is not applicable."""
    applicable = True
    target = facts.target_version
    tsrc = ", ".join(f"{k}: {v}" for k, v in facts.target_sources.items()) or "no target found"
    if target is None:
        acc.add("R2", RuleOutcome.UNKNOWN, "target Windows version unknown", tsrc,
                ("S2",), Confidence.CONFIRMED, unknown_field="package target")  # fmt: skip
    elif target != "6.0":
        product = PRODUCTS.get(target, "another Windows")
        acc.add("R2", RuleOutcome.FAIL,
                f"not applicable: targets Windows {target} ({product})", tsrc,
                ("S2", "S9"), Confidence.CONFIRMED, expected=E_NOT_APPLICABLE)  # fmt: skip
        applicable = False
    asrc = ", ".join(f"{k}: {v}" for k, v in facts.arch_sources.items()) or "no architecture"
    if facts.arch is None:
        acc.add("R1", RuleOutcome.UNKNOWN, "package architecture unknown", asrc,
                ("S2",), Confidence.CONFIRMED, unknown_field="package architecture")  # fmt: skip
    elif host.arch is None:
        acc.add("R1", RuleOutcome.UNKNOWN, f"package is {facts.arch}; host architecture unknown",
                asrc, ("S2",), Confidence.CONFIRMED, unknown_field="arch")  # fmt: skip
    elif facts.arch not in (host.arch.value, "neutral"):
        acc.add("R1", RuleOutcome.FAIL,
                f"not applicable: {facts.arch} package, {host.arch.value} host", asrc,
                ("S2",), Confidence.CONFIRMED, expected=E_NOT_APPLICABLE)  # fmt: skip
        applicable = False
    entry = kb.get(facts.kb)
    if entry is not None and entry.arch and host.arch is not None and host.arch not in entry.arch:
        acc.add("R19", RuleOutcome.FAIL,
                f"not applicable: {entry.kb} is for {', '.join(entry.arch)} only",
                entry.note or entry.kb, entry.source, entry.confidence,
                expected=E_NOT_APPLICABLE)  # fmt: skip
        applicable = False
    roles = facts.roles()
    server = bool(roles & {ParentRole.SERVER, ParentRole.SERVER_CORE})
    client = ParentRole.CLIENT in roles
    psrc = "; ".join(p.label for p in facts.parents if p.role is not ParentRole.OTHER)
    if target == "6.0" and server != client:
        if host.product is None and server:
            acc.add("R21", RuleOutcome.PASS,
                    "Server 2008 parents; host product not given: taken as Server 2008", psrc,
                    ("S9",), Confidence.STRONG)  # fmt: skip
        elif host.product is None:
            acc.add("R3", RuleOutcome.UNKNOWN,
                    "client-only (Vista) parents; host product unknown",
                    psrc, ("S9",), Confidence.STRONG, unknown_field="product")  # fmt: skip
        elif host.product is Product.VISTA and server:
            acc.add("R21", RuleOutcome.FAIL,
                    "not applicable: Server 2008 package, Vista host", psrc,
                    ("S15", "S16"), Confidence.STRONG, expected=E_NOT_APPLICABLE)  # fmt: skip
            applicable = False
        elif host.product is not Product.VISTA and client:
            acc.add("R3", RuleOutcome.FAIL,
                    "not applicable: client-only (Vista) parents, Server 2008 host", psrc,
                    ("S9",), Confidence.STRONG, expected=E_NOT_APPLICABLE)  # fmt: skip
            applicable = False
    if ParentRole.SP2 in roles:
        acc.add("R4", RuleOutcome.PASS, "parent is SP2, present on 6002/6003",
                "package_for_KB948465", ("S9", "S26"), Confidence.CONFIRMED)  # fmt: skip
    if facts.carries_6003 and host.build == 6002:
        if _moves_to_6003(entry):
            acc.add("R5", RuleOutcome.INFO,
                    "a rollup of 2019-03-19 or later: its kernel moves the host to build 6003",
                    f"{entry.kb if entry else facts.kb} {entry.kind.value if entry else ''}, "
                    "component versions 6.0.6003.*", ("review-7",),
                    Confidence.CONFIRMED)  # fmt: skip
        else:
            acc.add("R5", RuleOutcome.INFO,
                    "installs 6.0.6003 binaries; the build number changes only with a kernel "
                    "from 2019-03-19 or later (KB4489887 or a later rollup)",
                    "component versions 6.0.6003.*", ("S12", "review-7"),
                    Confidence.STRONG)  # fmt: skip
    return applicable


def _sha2_era(
    facts: PackageFacts, host: HostProfile, kb: KnowledgeBase, rel: ReleaseDate, acc: _Acc
) -> None:
    """R20, R13, R14."""
    entry = kb.get(facts.kb)
    if entry is not None and entry.bootstrap:
        acc.add("R20", RuleOutcome.INFO,
                f"{entry.kb} is a SHA-2 bootstrap package: it does not need SHA-2 support",
                entry.kb, ("S12",), Confidence.STRONG)  # fmt: skip
        return
    thr = kb.threshold("sha2_required_from")
    when = f"released {rel.date} ({rel.source})" if rel.date else "release date unknown"
    in_era = _on_or_after(rel.date, thr.value) if rel.date else None
    if in_era is False:
        return
    stack = has_stack(host, kb, KB_SSU_BASELINE)
    if stack is True:
        acc.add("R13", RuleOutcome.PASS, f"servicing stack {KB_SSU_BASELINE} or later present",
                when, thr.source, thr.confidence)  # fmt: skip
    elif in_era is None:
        acc.add("R13", RuleOutcome.UNKNOWN, "needs KB4493730 if released from July 2019",
                when, thr.source, thr.confidence, unknown_field="package release date")  # fmt: skip
    elif stack is False:
        acc.add("R13", RuleOutcome.FAIL, "released from July 2019: needs SSU KB4493730", when,
                ("S3", "S2"), Confidence.CONFIRMED, expected=E_STACK,
                missing=KB_SSU_BASELINE)  # fmt: skip
    else:
        acc.add("R13", RuleOutcome.UNKNOWN, "needs SSU KB4493730; installed updates unknown",
                when, ("S3",), Confidence.CONFIRMED, unknown_field="installed")  # fmt: skip
    main = host.has_kb(KB_SHA2)
    pending = restart_pending(host, KB_SHA2) if main is True else False
    old_rev = _older_sha2_revision(host, kb) if main is True else None
    if main is True and pending is False and old_rev is None:
        acc.add("R14", RuleOutcome.PASS, f"{KB_SHA2} installed", when, ("S3", "S4"),
                Confidence.CONFIRMED)  # fmt: skip
    elif in_era is None:
        acc.add("R14", RuleOutcome.UNKNOWN, "needs KB4474419 if released from July 2019",
                when, thr.source, thr.confidence, unknown_field="package release date")  # fmt: skip
    elif main is True and pending is True:
        acc.add("R14", RuleOutcome.FAIL, f"{KB_SHA2} installed, restart pending", when,
                ("S3",), Confidence.CONFIRMED, expected=E_BAD_DIGEST,
                unknown_field=None)  # fmt: skip
    elif main is True and pending is None:
        acc.add("R14", RuleOutcome.UNKNOWN,
                f"{KB_SHA2} listed and a restart is pending; whether it is {KB_SHA2}'s "
                "restart is unknown (its CBS state is not in the evidence)", when,
                ("S3",), Confidence.WEAK, unknown_field=f"{KB_SHA2} CBS state")  # fmt: skip
    elif main is True and old_rev is not None:
        acc.add("R14", RuleOutcome.UNKNOWN,
                f"{KB_SHA2} {old_rev[0]} installed; Microsoft requires the revision dated "
                f"2019-09-23 or later: install {KB_SHA2} v4 ({old_rev[1]})", when,
                ("S3",), Confidence.STRONG, unknown_field=f"{KB_SHA2} revision",
                missing=KB_SHA2)  # fmt: skip
    elif host.arch is Arch.AMD64 and host.has_kb(KB_SHA2_X64) is True:
        acc.add("R14", RuleOutcome.UNKNOWN,
                f"x64 with {KB_SHA2_X64} but not {KB_SHA2}: install undocumented", when,
                ("review-1",), Confidence.CONFIRMED, missing=KB_SHA2)  # fmt: skip
    elif main is False:
        acc.add("R14", RuleOutcome.FAIL, "released from July 2019: needs KB4474419", when,
                ("S3", "S4"), Confidence.CONFIRMED, expected=E_BAD_DIGEST,
                missing=KB_SHA2)  # fmt: skip
    else:
        acc.add("R14", RuleOutcome.UNKNOWN, "needs KB4474419; installed updates unknown", when,
                ("S3", "S4"), Confidence.CONFIRMED, unknown_field="installed")  # fmt: skip


def _older_sha2_revision(host: HostProfile, kb: KnowledgeBase) -> tuple[str, str] | None:
    """(installed version, required version) when every installed KB4474419 package has a
    known version older than the knowledge base's (6.0.4.0, v4, dated 2019-09-23; Q2);
    None when a known version is current, or no version is known (a KB list only)."""
    entry = kb.get(KB_SHA2)
    need = parse_version(entry.version if entry else None)
    if need is None:
        return None
    versions = [
        (parse_version(p.version), p.version)
        for p in host.packages_for(KB_SHA2)
        if p.is_installed and p.version
    ]
    if not versions or any(pv is None or pv >= need for pv, _v in versions):
        return None
    newest = max(versions, key=lambda t: t[0] or ())[1]
    return newest, entry.version if entry and entry.version else ""


def _esu_gated(
    facts: PackageFacts, entry: UpdateFact | None, kb: KnowledgeBase, rel: ReleaseDate
) -> tuple[bool | None, str]:
    if facts.esu_marker:
        return True, "names " + ", ".join(facts.esu_evidence[:2])
    if entry is not None:
        if entry.kind in ROLLUP_KINDS and entry.date is not None:
            after = _after(entry.date, kb.threshold("esu_after").value)
            if after:
                return True, f"{entry.kb} is a {entry.kind.value} after 2020-01-14"
            return (False if after is False else None), f"{entry.kb} {entry.kind.value}"
        return False, f"{entry.kb} is a {entry.kind.value}"
    if rel.date is None:
        return None, "release date unknown"
    after = _after(rel.date, kb.threshold("esu_after").value)
    if after is False:
        return False, f"released {rel.date}"
    return None, f"released {rel.date}; no ExtendedSecurityUpdatesAI marker"


def _esu(
    facts: PackageFacts, host: HostProfile, kb: KnowledgeBase, rel: ReleaseDate, acc: _Acc
) -> None:
    """R18, R15, R16, R17, R22; R16 and R24 for the ESU prep-check test package."""
    entry = kb.get(facts.kb)
    if entry is not None and entry.kind is UpdateKind.ESU_PREP_CHECK:
        _prep_check(host, kb, entry, acc)
        return
    pa = kb.threshold("premium_assurance_after")
    if rel.date is not None and _after(rel.date, pa.value):
        acc.add("R18", RuleOutcome.UNKNOWN,
                "released after 2024-01-09: licence gate undocumented",
                f"released {rel.date} ({rel.source})", pa.source, Confidence.CONFIRMED,
                unknown_field="licence rules after 2024-01-09")  # fmt: skip
        return
    gated, why = _esu_gated(facts, entry, kb, rel)
    if gated is False:
        return
    if gated is None:
        if rel.date is None:
            acc.add("R15", RuleOutcome.UNKNOWN, "ESU gate unknown: release date unknown", why,
                    ("S2",), Confidence.CONFIRMED,
                    unknown_field="package release date")  # fmt: skip
        else:
            acc.add("R15", RuleOutcome.UNKNOWN,
                    "released in the ESU era; whether it is ESU-gated is unknown", why,
                    ("S2", "domain-3"), Confidence.STRONG,
                    unknown_field="package ESU status")  # fmt: skip
        return
    prep_facts = kb.of_kind(UpdateKind.ESU_PREP)
    preps = [u.kb for u in prep_facts]
    prep = has_any(host, preps)
    if prep is True:
        present = [u for u in prep_facts if host.has_kb(u.kb) is True]
        strong = [u for u in present if u.confidence is not Confidence.WEAK]
        names = ", ".join(u.kb for u in (strong or present))
        if strong:
            acc.add("R15", RuleOutcome.PASS,
                    f"ESU licensing preparation package present ({names})", why,
                    ("S2", "review-5"), Confidence.CONFIRMED)  # fmt: skip
        else:
            acc.add("R15", RuleOutcome.PASS,
                    f"ESU licensing preparation: only {names}, weakly evidenced for Windows 6.0 "
                    "(one community script; KB4575904 / KB5016891 are the evidenced ones)",
                    why, ("review-5",), Confidence.WEAK)  # fmt: skip
    elif prep is False:
        acc.add("R15", RuleOutcome.FAIL, "ESU package: needs the licensing preparation package",
                why, ("S2", "review-5"), Confidence.CONFIRMED, expected=E_ESU,
                missing=preps[-1])  # fmt: skip
    else:
        acc.add("R15", RuleOutcome.UNKNOWN, "ESU package: preparation package unknown", why,
                ("S2",), Confidence.CONFIRMED, unknown_field="installed")  # fmt: skip
    _r16(host, kb, why, acc, "ESU package", Confidence.WEAK, E_STACK)
    _licence(host, kb, rel, why, acc)
    if host.pending_restart is True:
        acc.add("R22", RuleOutcome.INFO,
                "2008 SP2 may need another restart before the ESU key activates (0xC004F050)",
                "host: restart pending", ("S2",), Confidence.CONFIRMED)  # fmt: skip


def _licence(host: HostProfile, kb: KnowledgeBase, rel: ReleaseDate, why: str, acc: _Acc) -> None:
    if rel.date is None:
        acc.add("R15", RuleOutcome.UNKNOWN, "ESU year unknown: release date unknown", why,
                ("domain-3",), Confidence.CONFIRMED,
                unknown_field="package release date")  # fmt: skip
        return
    years = kb.esu_years_for(rel.date)
    when = f"released {rel.date} ({rel.source})"
    if not years:
        acc.add("R15", RuleOutcome.UNKNOWN, f"release date {rel.date} is in no ESU year", when,
                ("domain-3",), Confidence.CONFIRMED,
                unknown_field="package release date")  # fmt: skip
        return
    if any(y.azure_only for y in years):
        y4 = next(y for y in years if y.azure_only)
        if host.azure is True:
            acc.add("R17", RuleOutcome.PASS, "ESU year 4 on an Azure platform", when,
                    y4.source, Confidence.STRONG)  # fmt: skip
        elif host.azure is False:
            acc.add("R17", RuleOutcome.FAIL,
                    "ESU year 4 is for Azure platforms only; host is not one", when, y4.source,
                    Confidence.STRONG, expected=E_ESU)  # fmt: skip
        else:
            acc.add("R17", RuleOutcome.UNKNOWN,
                    "ESU year 4 (Azure platforms only): depends on hosting platform", when,
                    y4.source, Confidence.STRONG, unknown_field="azure")  # fmt: skip
        return
    need = sorted({y.year for y in years})
    label = f"ESU year {need[0]}" if len(need) == 1 else f"ESU year {need[0]}-{need[-1]}"
    src = years[0].source
    activated = [host.esu_activated(y) for y in need]
    have = _licence_text(host)
    if all(a is True for a in activated):
        acc.add("R15", RuleOutcome.PASS, f"{label} licence activated ({have})", when, src,
                Confidence.WEAK)  # fmt: skip
    elif all(a is False for a in activated):
        acc.add("R15", RuleOutcome.FAIL, f"needs an activated {label} licence; host has "
                f"{have}", when, ("S2", *src), Confidence.CONFIRMED,
                expected=E_ESU)  # fmt: skip
    elif any(a is None for a in activated):
        acc.add("R15", RuleOutcome.UNKNOWN, f"{label} licence unknown", when, src,
                Confidence.CONFIRMED, unknown_field="esu")  # fmt: skip
    else:
        acc.add("R15", RuleOutcome.UNKNOWN, f"{label}: release month straddles ESU years", when,
                src, Confidence.CONFIRMED, unknown_field="package release date")  # fmt: skip


def _licence_text(host: HostProfile) -> str:
    if host.esu_years is not None:
        if not host.esu_years:
            return "none activated"
        return "year " + ", ".join(str(y) for y in sorted(host.esu_years)) + " activated"
    if host.esu is None or host.esu is EsuLicence.NONE:
        return "none"
    n = int(host.esu.value[1:])
    return "year 1" if n == 1 else f"years 1-{n} (esu={host.esu.value})"


def _r16(
    host: HostProfile,
    kb: KnowledgeBase,
    why: str,
    acc: _Acc,
    what: str,
    confidence: Confidence,
    expected: ExpectedError,
) -> None:
    """R16: an SSU of 2020-02-11 or later (confirmed for the prep-check, an inference for
    the other ESU packages: ``confidence`` says which)."""
    ssu_thr = kb.threshold("esu_ssu_from")
    stack = has_stack(host, kb, KB_ESU_SSU)
    if stack is True:
        acc.add("R16", RuleOutcome.PASS, "servicing stack of 2020-02-11 or later present", why,
                ("S2", "review-6"), confidence)  # fmt: skip
    elif stack is False:
        acc.add("R16", RuleOutcome.FAIL, f"{what}: needs an SSU of 2020-02-11 or later",
                why, ssu_thr.source, confidence, expected=expected,
                missing=KB_ESU_SSU)  # fmt: skip
    else:
        acc.add("R16", RuleOutcome.UNKNOWN, f"{what}: SSU of 2020-02-11 or later unknown",
                why, ssu_thr.source, confidence, unknown_field="installed")  # fmt: skip


def _prep_check(host: HostProfile, kb: KnowledgeBase, entry: UpdateFact, acc: _Acc) -> None:
    """KB4528081, the ESU prep-check test package (verdict-facts §3.1 step 7, S2): an SSU
    of 2020-02-11 or later (R16, confirmed for it), a monthly rollup of 2020-02-11 or later
    installed, and not a V or Core edition when the edition is known (R24)."""
    why = f"{entry.kb} is the ESU prep-check test package"
    _r16(host, kb, why, acc, "ESU prep-check", Confidence.CONFIRMED, E_PREP_CHECK)
    rollups = [
        u.kb
        for u in kb.of_kind(UpdateKind.MONTHLY_ROLLUP)
        if u.date is not None and u.date.earliest >= PREP_CHECK_ROLLUP_FROM
    ]
    rollup = has_any(host, rollups)
    if rollup is True:
        acc.add("R24", RuleOutcome.PASS, "a monthly rollup of 2020-02-11 or later is installed",
                why, ("S2",), Confidence.CONFIRMED)  # fmt: skip
    elif rollup is False:
        acc.add("R24", RuleOutcome.FAIL,
                "ESU prep-check: needs a monthly rollup of 2020-02-11 or later installed "
                f"({rollups[0]} or later)", why, ("S2",), Confidence.CONFIRMED,
                expected=E_PREP_CHECK)  # fmt: skip
    else:
        acc.add("R24", RuleOutcome.UNKNOWN,
                "ESU prep-check: a monthly rollup of 2020-02-11 or later is needed; installed "
                "updates unknown", why, ("S2",), Confidence.CONFIRMED,
                unknown_field="installed")  # fmt: skip
    if host.product is Product.SERVER_CORE:
        acc.add("R24", RuleOutcome.FAIL, "ESU prep-check does not support Server Core", why,
                ("S2",), Confidence.CONFIRMED)  # fmt: skip
    else:
        acc.add("R24", RuleOutcome.INFO,
                "ESU prep-check does not support V (without Hyper-V) or Core editions; "
                "the host profile does not record a V edition", why, ("S2",),
                Confidence.CONFIRMED)  # fmt: skip


def already_installed(facts: PackageFacts, host: HostProfile) -> tuple[Answer, str]:
    if facts.kb is None:
        return Answer.UNKNOWN, "package KB unknown"
    present = host.has_kb(facts.kb)
    if present is None:
        return Answer.UNKNOWN, "installed updates unknown"
    if present is False:
        return Answer.NO, f"{facts.kb} not installed"
    mine = parse_version(facts.version)
    for p in host.packages_for(facts.kb):
        if p.identity and facts.identity and p.identity.casefold() == facts.identity.casefold():
            return Answer.YES, f"{p.identity} installed"
        theirs = parse_version(p.version)
        if theirs is None or mine is None:
            return Answer.YES, f"{facts.kb} installed"
        if theirs >= mine:
            newer = " (a later revision)" if theirs > mine else ""
            return Answer.YES, f"{facts.kb} {p.version} installed{newer}"
    return Answer.NO, f"{facts.kb} installed at an earlier version; this is an update"


def _combine(outcomes: list[Answer]) -> Answer:
    if Answer.NO in outcomes:
        return Answer.NO
    if Answer.UNKNOWN in outcomes:
        return Answer.UNKNOWN
    return Answer.YES


def judge(facts: PackageFacts, host: HostProfile, kb: KnowledgeBase) -> Verdict:
    """Could ``host`` validate and install the package described by ``facts``?"""
    sha2 = sha2_support(host)
    summary = HostSummary(host_label(host, sha2), sha2.outcome, sha2.via)
    validation = judge_validation(facts, host, sha2)
    acc = _Acc()
    rel = release_date(facts, kb)
    if not facts.is_package:
        acc.add("R2", RuleOutcome.UNKNOWN, "not an update package (no package manifest)",
                facts.path, (), Confidence.CONFIRMED, unknown_field="package")  # fmt: skip
    elif _applicability(facts, host, kb, acc):
        _sha2_era(facts, host, kb, rel, acc)
        _esu(facts, host, kb, rel, acc)
    install_outcomes = [validation.outcome] + [
        {RuleOutcome.FAIL: Answer.NO, RuleOutcome.UNKNOWN: Answer.UNKNOWN}.get(
            r.outcome, Answer.YES
        )
        for r in acc.reasons
    ]
    can_install = _combine(install_outcomes)
    installed, installed_why = already_installed(facts, host)
    not_applicable = [
        r for r in acc.reasons if r.rule in _NOT_APPLICABLE_RULES and r.outcome is RuleOutcome.FAIL
    ]
    missing = list(acc.missing)
    missing_roots = validation.missing_roots
    if not_applicable:
        # not applicable leads; nothing is worth installing or importing for this package
        reasons = not_applicable + [r for r in acc.reasons if r not in not_applicable]
        reasons += list(validation.reasons)
        missing, missing_roots = [], ()
    else:
        reasons = list(validation.reasons) + acc.reasons
        if validation.needs_sha2 and validation.outcome is not Answer.YES:
            sha2_kb = KB_SHA2
            if host.has_kb(KB_SHA2) is not True and sha2_kb not in missing:
                missing.append(sha2_kb)
    order = {kb_: i for i, kb_ in enumerate(PREREQUISITE_ORDER)}
    missing.sort(key=lambda k: order.get(k, len(order)))
    expected = None
    for r in reasons:
        if r.outcome is RuleOutcome.FAIL and r.expected_error is not None:
            expected = r.expected_error
            break
    if installed is Answer.YES:
        expected = E_ALREADY
        reasons.insert(0, Reason("installed", RuleOutcome.INFO, Aspect.INSTALL, "already installed",
                                 installed_why, (), Confidence.CONFIRMED))  # fmt: skip
    unknown_fields = tuple(
        dict.fromkeys(
            r.unknown_field for r in reasons if r.unknown_field and r.outcome is RuleOutcome.UNKNOWN
        )
    )
    return Verdict(
        path=facts.path,
        kb=facts.kb,
        host=summary,
        can_validate=validation.outcome,
        can_install=can_install,
        already_installed=installed,
        reasons=tuple(reasons),
        missing_prerequisites=tuple(missing),
        missing_roots=missing_roots,
        expected_error=expected,
        unknown_fields=unknown_fields,
        release_date=str(rel.date) if rel.date else None,
        release_date_source=rel.source,
        notes=facts.notes,
    )


def is_not_applicable(verdict: Verdict) -> bool:
    return any(
        r.rule in _NOT_APPLICABLE_RULES and r.outcome is RuleOutcome.FAIL for r in verdict.reasons
    )
