"""Regression tests for the verdict audit (pending restart, plan supersedence, ESU years,
every validation failure, the prep-check, SHA-2 flags, KB4474419 revision, R5 wording,
weak prep packages, not-applicable packages)."""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import replace
from pathlib import Path

import pytest

from msuinspect import inspect
from msuinspect.host.importers.slmgr import ESU_ACTIVATION_IDS
from msuinspect.host.merge import import_evidence
from msuinspect.host.profile import (
    IN_BOX_ROOTS,
    Arch,
    EsuLicence,
    HostProfile,
    InstalledPackage,
    Product,
    Root,
)
from msuinspect.host.spec import load_host
from msuinspect.host.tomlio import read_toml, write_toml
from msuinspect.report.verdict_text import headline
from msuinspect.servicing.knowledge import load_knowledge_base
from msuinspect.verdict.facts import (
    Layer,
    LayerFacts,
    PackageFacts,
    ParentFact,
    ParentRole,
    SignatureFact,
)
from msuinspect.verdict.judge import judge
from msuinspect.verdict.model import Answer, RuleOutcome, Verdict
from msuinspect.verdict.plan import make_plan

from support.cli import invoke
from support.corpus import CORPUS_REASON, FIXTURES, corpus_dir

KB = load_knowledge_base()
TS = _dt.datetime(2015, 9, 10, 22, 0, tzinfo=_dt.UTC)
HOST_FIXTURES = FIXTURES / "host"
FOD_CAB = "cab/fod/OpenSSH-Client-Package~31bf3856ad364e35~amd64~~.cab"


def sig(algo: str = "sha1", root: str | None = "2001") -> SignatureFact:
    return SignatureFact(0, False, algo, algo, root, f"root {root}", True, None, TS, True, True)


def layers(cab: SignatureFact, cat: SignatureFact, version: int = 1) -> tuple[LayerFacts, ...]:
    return (
        LayerFacts(Layer.OUTER_MSU, "p.msu", (cab,)),
        LayerFacts(Layer.INNER_CAB, "p.msu!/p.cab", (cab,)),
        LayerFacts(Layer.CATALOG, "p.msu!/p.cab!/update.cat", (cat,), version),
    )


SHA2_ONLY = layers(sig("sha256", "2010"), sig("sha256", "2010"), 2)
PARENTS = (
    ParentFact("package_for_KB948465", "6.0.1.18005", ParentRole.SP2),
    ParentFact("Microsoft-Windows-Foundation-Package", "6.0.6001.18000", ParentRole.SERVER),
)


def pkg(**kw: object) -> PackageFacts:
    base = PackageFacts(
        path="p.msu",
        kb="KB9999901",
        identity="Package_for_KB9999901~31bf3856ad364e35~amd64~~6.0.1.0",
        version="6.0.1.0",
        target_version="6.0",
        arch="amd64",
        parents=PARENTS,
        release_date=_dt.date(2019, 8, 13),
        release_date_source="pkgProperties Build Date",
        layers=layers(sig(), sig()),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def kbs(*names: str, state: str | None = None, version: str | None = None) -> tuple[
    InstalledPackage, ...
]:  # fmt: skip
    return tuple(InstalledPackage(n, state=state, version=version) for n in names)


BARE = HostProfile(product=Product.SERVER, build=6002, arch=Arch.AMD64, installed=(),
                   installed_complete=True, roots=IN_BOX_ROOTS, esu=EsuLicence.NONE,
                   azure=False, pending_restart=False)  # fmt: skip
ROOTS = IN_BOX_ROOTS | {Root.ROOT_2010, Root.ROOT_2011}
SHA2 = replace(BARE, build=6003, installed=kbs("KB4493730", "KB4474419"), roots=ROOTS)
ESU_HOST = replace(SHA2, installed=kbs("KB4493730", "KB4474419", "KB4537830", "KB5016891"),
                   esu=EsuLicence.YEAR3)  # fmt: skip


def reasons(v: Verdict, rule: str) -> list[RuleOutcome]:
    return [r.outcome for r in v.reasons if r.rule == rule]


# 1. pending restart: KB4474419's own CBS state decides


def test_unrelated_pending_restart_does_not_block_an_installed_kb4474419() -> None:
    host = replace(SHA2, pending_restart=True,
                   installed=(*kbs("KB4493730"), *kbs("KB4474419", state="installed")))  # fmt: skip
    v = judge(pkg(layers=SHA2_ONLY), host, KB)
    assert (v.can_validate, v.can_install) == (Answer.YES, Answer.YES)
    assert reasons(v, "R14") == [RuleOutcome.PASS]


def test_pending_restart_with_kb4474419_state_unknown_is_unknown_not_no() -> None:
    v = judge(pkg(layers=SHA2_ONLY), replace(SHA2, pending_restart=True), KB)
    assert v.can_validate is Answer.UNKNOWN and v.can_install is Answer.UNKNOWN
    assert reasons(v, "R14") == [RuleOutcome.UNKNOWN]
    assert "KB4474419 CBS state" in v.unknown_fields
    assert v.expected_error is None


def test_kb4474419_itself_install_pending_still_blocks() -> None:
    pending = kbs("KB4474419", state="install-pending")
    host = replace(SHA2, pending_restart=True, installed=(*kbs("KB4493730"), *pending))
    v = judge(pkg(layers=SHA2_ONLY), host, KB)
    assert v.can_validate is Answer.NO and reasons(v, "R14") == [RuleOutcome.FAIL]


# 2. plan: never drop an installable rollup for a newer blocked one


def test_plan_keeps_the_newest_rollup_the_host_can_take() -> None:
    host = replace(SHA2, esu=EsuLicence.NONE)
    items = [
        ("jan.msu", pkg(kb="KB4534303", path="jan.msu")),
        ("feb.msu", pkg(kb="KB4537810", path="feb.msu")),
        ("dec.msu", pkg(kb="KB4530695", path="dec.msu")),
    ]
    plan = make_plan(items, host, KB)
    assert [s.kb for s in plan.steps] == ["KB4534303"]
    note = plan.steps[0].note or ""
    assert "KB4537810" in note and "R15" in note
    assert [b.kb for b in plan.blocked] == ["KB4537810"]
    assert any(r.rule == "R15" and r.outcome is RuleOutcome.FAIL
               for r in plan.blocked[0].verdict.reasons)  # fmt: skip
    assert [s.kb for s in plan.skipped] == ["KB4530695"]


def test_plan_year_four_rollup_blocked_keeps_year_three_rollup() -> None:
    items = [("y3.msu", pkg(kb="KB5022340")), ("y4.msu", pkg(kb="KB5022890"))]
    plan = make_plan(items, ESU_HOST, KB)
    assert [s.kb for s in plan.steps] == ["KB5022340"]
    assert [b.kb for b in plan.blocked] == ["KB5022890"]
    assert "R17" in (plan.steps[0].note or "")


def test_plan_still_skips_an_older_rollup_when_the_newer_installs() -> None:
    items = [("y3.msu", pkg(kb="KB5022340")), ("y4.msu", pkg(kb="KB5022890"))]
    plan = make_plan(items, replace(ESU_HOST, azure=True), KB)
    assert [s.kb for s in plan.steps] == ["KB5022890"]
    assert [s.kb for s in plan.skipped] == ["KB5022340"]


# 3. ESU licence per year


def _slmgr(years: dict[int, str]) -> bytes:
    ids = {y.value: i for i, y in ESU_ACTIVATION_IDS.items()}
    blocks = []
    for n, status in years.items():
        blocks.append(
            f"Name: Windows(R), Server-ESU-Year{n} add-on for ServerStandard\r\n"
            f"Description: Windows(R) Operating System, VOLUME_MAK channel\r\n"
            f"Activation ID: {ids[f'y{n}']}\r\n"
            f"Application ID: 55c92734-d682-4d71-983e-d6ec3f16059f\r\n"
            f"License Status: {status}\r\n"
        )
    return "\r\n".join(blocks).encode("ascii")


def test_slmgr_keeps_every_activated_year_and_r15_checks_the_package_year() -> None:
    slmgr = _slmgr({1: "Unlicensed", 2: "Unlicensed", 3: "Licensed"})
    cbs = (HOST_FIXTURES / "reg-cbs-packages.txt").read_bytes()
    profile = import_evidence([("slmgr.txt", slmgr), ("cbs.txt", cbs)]).profile
    assert profile.esu_years == frozenset({3})
    assert read_toml(write_toml(profile)).esu_years == frozenset({3})
    host = replace(ESU_HOST, esu=profile.esu, esu_years=profile.esu_years)
    year2 = judge(pkg(kb="KB5000856"), host, KB)  # 2021-03-09: ESU year 2
    assert year2.can_install is Answer.NO
    assert RuleOutcome.FAIL in reasons(year2, "R15")
    year3 = judge(pkg(kb="KB5022340"), host, KB)  # 2023-01-10: ESU year 3
    assert year3.can_install is Answer.YES


def test_host_spec_esu_shorthand_means_years_one_to_n() -> None:
    host = replace(ESU_HOST, esu=load_host("esu=y3").esu)
    assert judge(pkg(kb="KB5000856"), host, KB).can_install is Answer.YES
    assert judge(pkg(kb="KB5000856"), replace(ESU_HOST, esu=EsuLicence.YEAR1),
                 KB).can_install is Answer.NO  # fmt: skip


def test_host_import_cli_writes_esu_years(tmp_path: Path) -> None:
    slmgr = tmp_path / "slmgr.txt"
    slmgr.write_bytes(_slmgr({1: "Licensed", 3: "Licensed"}))
    out = tmp_path / "host.toml"
    res = invoke("host", "import", str(slmgr), "-o", str(out))
    assert res.exit_code == 0, res.output
    assert read_toml(out.read_text()).esu_years == frozenset({1, 3})


# 4. every failing validation reason


def test_sha256_to_root_2010_without_sha2_and_root_reports_r8_and_r9() -> None:
    v = judge(pkg(layers=SHA2_ONLY), replace(BARE, installed=kbs("KB4493730")), KB)
    assert v.can_validate is Answer.NO
    assert RuleOutcome.FAIL in reasons(v, "R8") and RuleOutcome.FAIL in reasons(v, "R9")
    assert v.missing_roots == (Root.ROOT_2010,)
    assert v.missing_prerequisites == ("KB4474419",)


@pytest.mark.corpus
def test_corpus_fod_cab_shows_r8_and_r9() -> None:
    corpus = corpus_dir()
    if corpus is None or not (corpus / FOD_CAB).is_file():
        pytest.skip(CORPUS_REASON)
    r = inspect(corpus / FOD_CAB, host=load_host("preset:2008sp2-rtm-x64"))
    v = r.verdict
    assert v is not None and v.can_validate is Answer.NO
    assert RuleOutcome.FAIL in reasons(v, "R8") and RuleOutcome.FAIL in reasons(v, "R9")
    assert any("Root CA 2010" in x.summary for x in v.reasons if x.rule == "R9")


# 5. KB4528081, the ESU prep-check


def test_prep_check_needs_the_2020_02_ssu_and_rollup() -> None:
    check = pkg(kb="KB4528081", release_date=None)
    host = replace(SHA2, installed=kbs("KB4493730", "KB4474419"))
    v = judge(check, host, KB)
    assert v.can_install is Answer.NO
    assert reasons(v, "R16") == [RuleOutcome.FAIL]
    assert RuleOutcome.FAIL in reasons(v, "R24")
    assert "KB4537830" in v.missing_prerequisites
    ok = replace(host, installed=kbs("KB4493730", "KB4474419", "KB4537830", "KB4537810"))
    assert judge(check, ok, KB).can_install is Answer.YES
    core = judge(check, replace(ok, product=Product.SERVER_CORE), KB)
    assert core.can_install is Answer.NO and RuleOutcome.FAIL in reasons(core, "R24")


# 6. a complete list without KB4474419 / KB4039648 beats the SHA-2 flags


def test_sha2_flags_do_not_override_a_complete_list() -> None:
    host = replace(BARE, installed=kbs("KB4493730"), sha2_flags=True, roots=ROOTS)
    v = judge(pkg(layers=SHA2_ONLY), host, KB)
    assert v.can_validate is Answer.NO and v.host.sha2 is Answer.NO
    assert reasons(v, "R14") == [RuleOutcome.FAIL]
    # a partial list: the flags decide
    partial = replace(host, installed_complete=False)
    assert judge(pkg(layers=SHA2_ONLY), partial, KB).can_validate is Answer.YES


# 7. KB4474419 revision


def test_older_kb4474419_revision_makes_install_unknown() -> None:
    host = replace(SHA2, installed=(*kbs("KB4493730"), *kbs("KB4474419", version="6.0.2.0")))
    v = judge(pkg(), host, KB)
    assert v.can_install is Answer.UNKNOWN
    assert reasons(v, "R14") == [RuleOutcome.UNKNOWN]
    assert "KB4474419" in v.missing_prerequisites
    r14 = next(r for r in v.reasons if r.rule == "R14")
    assert "v4" in r14.summary and "6.0.2.0" in r14.summary
    v4 = replace(SHA2, installed=(*kbs("KB4493730"), *kbs("KB4474419", version="6.0.4.0")))
    assert judge(pkg(), v4, KB).can_install is Answer.YES


# 9. R5 wording


def test_r5_only_a_2019_03_19_rollup_moves_the_build() -> None:
    v = judge(pkg(carries_6003=True), BARE, KB)
    r5 = next(r for r in v.reasons if r.rule == "R5")
    assert "becomes 6003" not in r5.summary and "kernel" in r5.summary
    rollup = judge(pkg(kb="KB4489887", carries_6003=True, release_date=None), BARE, KB)
    r5 = next(r for r in rollup.reasons if r.rule == "R5")
    assert "6003" in r5.summary and "moves" in r5.summary


# 10. KB4538484 alone is weak


def test_r15_pass_on_kb4538484_alone_is_weak() -> None:
    host = replace(ESU_HOST, installed=kbs("KB4493730", "KB4474419", "KB4537830", "KB4538484"))
    v = judge(pkg(kb="KB5000856"), host, KB)
    prep = [r for r in v.reasons if r.rule == "R15" and r.outcome is RuleOutcome.PASS
            and "preparation" in r.summary]  # fmt: skip
    assert prep and prep[0].confidence.value == "weak"
    strong = judge(pkg(kb="KB5000856"), ESU_HOST, KB)
    prep = [r for r in strong.reasons if r.rule == "R15" and "preparation" in r.summary]
    assert prep[0].confidence.value == "confirmed"


# 11. kb=unknown, ssu=unknown


def test_host_spec_accepts_unknown_for_kb_and_ssu() -> None:
    p = load_host("preset:2008sp2-esu-x64,kb=unknown,ssu=unknown")
    assert p.installed is None and not p.installed_complete
    assert p.servicing_stack_version is None and "installed" not in p.evidence


# 12. not applicable leads and names no prerequisite


def test_not_applicable_package_lists_no_prerequisites() -> None:
    v = judge(pkg(target_version="10.0", layers=SHA2_ONLY), BARE, KB)
    assert v.can_install is Answer.NO
    assert v.reasons[0].rule == "R2" and v.reasons[0].summary.startswith("not applicable")
    assert v.missing_prerequisites == () and v.missing_roots == ()
    assert v.expected_error is not None and v.expected_error.code == "0x80240017"
    assert RuleOutcome.FAIL in reasons(v, "R8")  # the validation part is still reported
    # and the headline says so first, not "cannot validate"
    line = headline(v)
    assert "cannot validate" not in line and "not applicable" in line, line
    assert "first" not in line, line


def test_host_json_and_text_show_the_activated_esu_years(tmp_path: Path) -> None:
    slmgr = tmp_path / "slmgr.txt"
    slmgr.write_bytes(_slmgr({1: "Licensed", 3: "Licensed"}))
    res = invoke("host", "import", "--json", str(slmgr))
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["profile"]["esu_years"] == [1, 3]
    text = invoke("host", "import", str(slmgr))
    assert "esu_years" in text.stdout and "1, 3" in text.stdout
