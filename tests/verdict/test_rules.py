"""Every verdict rule on hand-built PackageFacts and HostProfiles (no files)."""

from __future__ import annotations

import datetime as _dt
from dataclasses import replace

import pytest

from msuinspect.host.profile import (
    IN_BOX_ROOTS,
    Arch,
    EsuLicence,
    HostProfile,
    InstalledPackage,
    Product,
    Root,
)
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

KB = load_knowledge_base()
TS = _dt.datetime(2015, 9, 10, 22, 0, tzinfo=_dt.UTC)


def sig(
    algo: str = "sha1", root: str | None = "2001", *, nested: bool = False, index: int = 0,
    ts: _dt.datetime | None = TS, chain_ok: bool = True, chain_error: str | None = None,
    digest_ok: bool = True,
) -> SignatureFact:  # fmt: skip
    return SignatureFact(
        index, nested, algo, algo, root, f"root {root}", chain_ok, chain_error, ts, digest_ok, True
    )


def layers(*cab: SignatureFact, catalog: tuple[SignatureFact, ...] | None = None,
           catalog_version: int = 1, msu: bool = True) -> tuple[LayerFacts, ...]:  # fmt: skip
    cat = catalog if catalog is not None else (sig(),)
    out = []
    if msu:
        out.append(LayerFacts(Layer.OUTER_MSU, "p.msu", tuple(cab)))
    out.append(LayerFacts(Layer.INNER_CAB, "p.msu!/p.cab", tuple(cab)))
    out.append(LayerFacts(Layer.CATALOG, "p.msu!/p.cab!/update.cat", cat, catalog_version))
    return tuple(out)


SERVER_PARENTS = (
    ParentFact("package_for_KB948465", "6.0.1.18005", ParentRole.SP2),
    ParentFact("Microsoft-Windows-Foundation-Package", "6.0.6001.18000", ParentRole.SERVER),
    ParentFact("Microsoft-Windows-ServerCore-Package", "6.0.6001.18000", ParentRole.SERVER_CORE),
)
CLIENT_PARENTS = (
    ParentFact("package_for_KB948465", "6.0.1.18005", ParentRole.SP2),
    ParentFact("Microsoft-Windows-Foundation-Package", "6.0.6000.16386", ParentRole.CLIENT),
)


def pkg(**kw: object) -> PackageFacts:
    base = PackageFacts(
        path="p.msu",
        kb="KB9999901",
        identity="Package_for_KB9999901~31bf3856ad364e35~amd64~~6.0.1.0",
        version="6.0.1.0",
        target_version="6.0",
        arch="amd64",
        parents=SERVER_PARENTS,
        release_date=_dt.date(2019, 4, 9),
        release_date_source="pkgProperties Build Date",
        layers=layers(sig()),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def kbs(*names: str, state: str | None = None) -> tuple[InstalledPackage, ...]:
    return tuple(InstalledPackage(n, state=state) for n in names)


BARE = HostProfile(product=Product.SERVER, build=6002, arch=Arch.AMD64, installed=(),
                   installed_complete=True, roots=IN_BOX_ROOTS, esu=EsuLicence.NONE,
                   azure=False, pending_restart=False)  # fmt: skip
SSU_ONLY = replace(BARE, installed=kbs("KB4493730"))
SHA2 = replace(BARE, build=6003, installed=kbs("KB4493730", "KB4474419"))
SHA2_ROOTS = replace(SHA2, roots=IN_BOX_ROOTS | {Root.ROOT_2010, Root.ROOT_2011})
SHA2_ONLY = layers(sig("sha256", "2011"), catalog=(sig("sha256", "2010"),), catalog_version=2)


def rule(v: Verdict, rid: str) -> RuleOutcome:
    """The rule's worst outcome (a rule may give several reasons)."""
    found = [r.outcome for r in v.reasons if r.rule == rid]
    assert found, f"{rid} not in {[r.rule for r in v.reasons]}"
    for worst in (RuleOutcome.FAIL, RuleOutcome.UNKNOWN):
        if worst in found:
            return worst
    return found[0]


def test_r6_r11_sha1_package_validates_on_a_bare_host() -> None:
    v = judge(pkg(), BARE, KB)
    assert (v.can_validate, v.can_install) == (Answer.YES, Answer.YES)
    assert rule(v, "R6") is RuleOutcome.PASS
    assert rule(v, "R11") is RuleOutcome.PASS
    assert v.missing_prerequisites == ()


def test_r7_expired_chain_without_timestamp() -> None:
    facts = pkg(layers=layers(sig(ts=None, chain_ok=False, chain_error="expired")))
    v = judge(facts, BARE, KB)
    assert v.can_validate is Answer.NO
    assert rule(v, "R7") is RuleOutcome.FAIL


def test_r8_sha256_only_needs_sha2_and_names_the_outer_layer() -> None:
    facts = pkg(layers=SHA2_ONLY, release_date=_dt.date(2019, 8, 13))
    v = judge(facts, BARE, KB)
    assert v.can_validate is Answer.NO and v.can_install is Answer.NO
    first = v.reasons[0]
    assert (first.rule, first.layer) == ("R8", "outer-msu")
    assert v.missing_prerequisites == ("KB4493730", "KB4474419")
    assert v.expected_error is not None and v.expected_error.code == "0x80096010"


def test_r8_restart_pending_counts_as_not_yet() -> None:
    facts = pkg(layers=SHA2_ONLY, release_date=_dt.date(2019, 8, 13))
    pending = replace(
        SHA2_ROOTS,
        pending_restart=True,
        installed=(*kbs("KB4493730"), *kbs("KB4474419", state="install-pending")),
    )
    v = judge(facts, pending, KB)
    assert v.can_validate is Answer.NO
    assert "restart pending" in v.host.label


def test_r9_sha2_host_without_the_2011_root() -> None:
    facts = pkg(layers=SHA2_ONLY, release_date=_dt.date(2019, 8, 13))
    v = judge(facts, SHA2, KB)
    assert v.can_validate is Answer.NO
    assert rule(v, "R9") is RuleOutcome.FAIL
    assert set(v.missing_roots) == {Root.ROOT_2011, Root.ROOT_2010}
    assert v.missing_prerequisites == ()


def test_r9b_sha2_host_with_roots_validates_and_installs() -> None:
    facts = pkg(layers=SHA2_ONLY, release_date=_dt.date(2019, 8, 13))
    v = judge(facts, SHA2_ROOTS, KB)
    assert (v.can_validate, v.can_install) == (Answer.YES, Answer.YES)
    assert rule(v, "R9b") is RuleOutcome.PASS


def test_roots_unknown_decides_unknown_and_says_which_field() -> None:
    facts = pkg(layers=SHA2_ONLY, release_date=_dt.date(2019, 8, 13))
    v = judge(facts, replace(SHA2, roots=None), KB)
    assert v.can_validate is Answer.UNKNOWN
    assert "roots" in v.unknown_fields


def test_extra_trust_root_counts_as_present() -> None:
    facts = pkg(layers=layers(sig("sha256", "extra:00ff"), catalog=(sig("sha256", "extra:00ff"),)),
                release_date=_dt.date(2019, 8, 13))  # fmt: skip
    assert judge(facts, SHA2, KB).can_validate is Answer.YES


def test_r10_sha256_primary_with_nested_sha1_fails_without_sha2() -> None:
    cab = (sig("sha256", "2010"), sig("sha1", "2001", nested=True, index=1))
    v = judge(pkg(layers=layers(*cab)), BARE, KB)
    assert v.can_validate is Answer.NO
    assert rule(v, "R10") is RuleOutcome.FAIL
    # with SHA-2 support the nested SHA-1 counts even without the 2010 root
    assert judge(pkg(layers=layers(*cab)), SHA2, KB).can_validate is Answer.YES


def test_dual_sha1_primary_validates_without_sha2() -> None:
    cab = (sig("sha1", "2001"), sig("sha256", "2010", nested=True, index=1))
    assert judge(pkg(layers=layers(*cab)), BARE, KB).can_validate is Answer.YES


def test_r12_v2_catalog_needs_sha2() -> None:
    facts = pkg(layers=layers(sig(), catalog=(sig(),), catalog_version=2))
    v = judge(facts, BARE, KB)
    assert v.can_validate is Answer.NO and rule(v, "R12") is RuleOutcome.FAIL
    assert judge(facts, SHA2, KB).can_validate is Answer.YES


def test_kb4039648_on_x64_gives_validation_but_install_is_unknown() -> None:
    host = replace(BARE, installed=kbs("KB4493730", "KB4039648"),
                   roots=IN_BOX_ROOTS | {Root.ROOT_2010, Root.ROOT_2011})  # fmt: skip
    facts = pkg(layers=SHA2_ONLY, release_date=_dt.date(2019, 8, 13))
    v = judge(facts, host, KB)
    assert v.can_validate is Answer.YES
    assert v.can_install is Answer.UNKNOWN and rule(v, "R14") is RuleOutcome.UNKNOWN


def test_bad_digest_fails_whatever_the_host() -> None:
    v = judge(pkg(layers=layers(sig(digest_ok=False))), SHA2_ROOTS, KB)
    assert v.can_validate is Answer.NO


def test_r1_architecture() -> None:
    v = judge(pkg(arch="x86"), BARE, KB)
    assert v.can_install is Answer.NO and rule(v, "R1") is RuleOutcome.FAIL
    assert v.expected_error is not None and v.expected_error.code == "0x80240017"
    u = judge(pkg(), replace(BARE, arch=None), KB)
    assert u.can_install is Answer.UNKNOWN and "arch" in u.unknown_fields


def test_r2_other_windows_version() -> None:
    v = judge(pkg(target_version="6.1"), BARE, KB)
    assert v.can_install is Answer.NO
    assert any("targets Windows 6.1 (Windows 7 / Server 2008 R2)" in r.summary for r in v.reasons)


def test_r3_client_only_parents_on_a_server() -> None:
    v = judge(pkg(parents=CLIENT_PARENTS), BARE, KB)
    assert v.can_install is Answer.NO and rule(v, "R3") is RuleOutcome.FAIL
    assert judge(pkg(parents=CLIENT_PARENTS), replace(BARE, product=Product.VISTA),
                 KB).can_install is Answer.YES  # fmt: skip
    u = judge(pkg(parents=CLIENT_PARENTS), replace(BARE, product=None), KB)
    assert u.can_install is Answer.UNKNOWN and "product" in u.unknown_fields


def test_r21_server_only_package_on_vista() -> None:
    v = judge(pkg(parents=SERVER_PARENTS), replace(BARE, product=Product.VISTA), KB)
    assert v.can_install is Answer.NO and rule(v, "R21") is RuleOutcome.FAIL


def test_r4_and_r5() -> None:
    v = judge(pkg(carries_6003=True), BARE, KB)
    assert rule(v, "R4") is RuleOutcome.PASS
    assert rule(v, "R5") is RuleOutcome.INFO


def test_r13_r14_july_2019_needs_ssu_and_sha2() -> None:
    facts = pkg(release_date=_dt.date(2019, 8, 13))
    v = judge(facts, BARE, KB)
    assert v.can_validate is Answer.YES and v.can_install is Answer.NO
    assert rule(v, "R13") is RuleOutcome.FAIL and rule(v, "R14") is RuleOutcome.FAIL
    assert v.missing_prerequisites == ("KB4493730", "KB4474419")
    w = judge(facts, SSU_ONLY, KB)
    assert rule(w, "R13") is RuleOutcome.PASS and w.missing_prerequisites == ("KB4474419",)
    assert judge(facts, SHA2, KB).can_install is Answer.YES
    # before July 2019 neither is needed
    assert judge(pkg(release_date=_dt.date(2019, 6, 11)), BARE, KB).can_install is Answer.YES


def test_r13_later_ssu_or_stack_version_satisfies() -> None:
    facts = pkg(release_date=_dt.date(2019, 8, 13))
    host = replace(SHA2, installed=kbs("KB4517134", "KB4474419"))
    assert rule(judge(facts, host, KB), "R13") is RuleOutcome.PASS
    host = replace(SHA2, installed=kbs("KB4474419"), servicing_stack_version="6.0.6003.20484")
    assert rule(judge(facts, host, KB), "R13") is RuleOutcome.PASS


def test_unknown_installed_list_says_installed() -> None:
    facts = pkg(release_date=_dt.date(2019, 8, 13))
    v = judge(facts, replace(BARE, installed=None), KB)
    assert v.can_install is Answer.UNKNOWN and "installed" in v.unknown_fields


def test_r20_bootstrap_packages_never_need_sha2() -> None:
    facts = pkg(kb="KB4474419", release_date=_dt.date(2019, 9, 23))
    v = judge(facts, BARE, KB)
    assert v.can_install is Answer.YES
    assert rule(v, "R20") is RuleOutcome.INFO
    assert v.missing_prerequisites == ()


def test_knowledge_base_date_wins_over_build_date() -> None:
    # a July 2019 rollup built in June is still a July 2019 release
    facts = pkg(kb="KB4507452", release_date=_dt.date(2019, 6, 28))
    v = judge(facts, BARE, KB)
    assert v.release_date == "2019-07-09" and rule(v, "R14") is RuleOutcome.FAIL


ESU_HOST = replace(SHA2, installed=kbs("KB4493730", "KB4474419", "KB4537830", "KB5016891"),
                   esu=EsuLicence.YEAR2)  # fmt: skip


def test_r15_esu_marker_needs_prep_package_and_licence() -> None:
    facts = pkg(esu_marker=True, esu_evidence=("x-ExtendedSecurityUpdatesAI",),
                release_date=_dt.date(2021, 3, 9))  # fmt: skip
    assert judge(facts, ESU_HOST, KB).can_install is Answer.YES
    v = judge(facts, replace(ESU_HOST, esu=EsuLicence.NONE), KB)
    assert v.can_install is Answer.NO and rule(v, "R15") is RuleOutcome.FAIL
    assert v.expected_error is not None and v.expected_error.code == "0x80070643"
    assert judge(facts, replace(ESU_HOST, esu=EsuLicence.YEAR1), KB).can_install is Answer.NO
    u = judge(facts, replace(ESU_HOST, esu=None), KB)
    assert u.can_install is Answer.UNKNOWN and "esu" in u.unknown_fields
    p = judge(facts, replace(ESU_HOST, installed=kbs("KB4493730", "KB4474419", "KB4537830")), KB)
    assert p.can_install is Answer.NO and "KB5016891" in p.missing_prerequisites


def test_r15_known_rollup_after_esu_start_is_gated() -> None:
    v = judge(pkg(kb="KB5022340"), replace(ESU_HOST, esu=EsuLicence.NONE), KB)
    assert rule(v, "R15") is RuleOutcome.FAIL


def test_r16_esu_package_needs_a_2020_02_ssu() -> None:
    facts = pkg(esu_marker=True, release_date=_dt.date(2021, 3, 9))
    host = replace(ESU_HOST, installed=kbs("KB4493730", "KB4474419", "KB5016891"))
    v = judge(facts, host, KB)
    assert rule(v, "R16") is RuleOutcome.FAIL and "KB4537830" in v.missing_prerequisites


def test_r17_year_four_depends_on_hosting_platform() -> None:
    facts = pkg(esu_marker=True, release_date=_dt.date(2023, 6, 13))
    u = judge(facts, replace(ESU_HOST, azure=None), KB)
    assert rule(u, "R17") is RuleOutcome.UNKNOWN and "azure" in u.unknown_fields
    assert judge(facts, replace(ESU_HOST, azure=False), KB).can_install is Answer.NO
    assert judge(facts, replace(ESU_HOST, azure=True), KB).can_install is Answer.YES


def test_r18_after_january_2024_is_unknown() -> None:
    v = judge(pkg(release_date=_dt.date(2024, 6, 11)), ESU_HOST, KB)
    assert v.can_install is Answer.UNKNOWN and rule(v, "R18") is RuleOutcome.UNKNOWN


def test_r19_kb4039648_is_x64_only() -> None:
    v = judge(pkg(kb="KB4039648", arch="x86"), replace(BARE, arch=Arch.X86), KB)
    assert rule(v, "R19") is RuleOutcome.FAIL and v.can_install is Answer.NO


def test_r22_restart_note_for_esu_packages() -> None:
    facts = pkg(esu_marker=True, release_date=_dt.date(2021, 3, 9))
    host = replace(ESU_HOST, pending_restart=True,
                   installed=kbs("KB4493730", "KB4474419", "KB4537830", "KB5016891",
                                 state="installed"))  # fmt: skip
    assert rule(judge(facts, host, KB), "R22") is RuleOutcome.INFO


@pytest.mark.parametrize(
    ("installed", "expected"),
    [
        ((InstalledPackage("KB9999901", version="6.0.1.0"),), Answer.YES),
        ((InstalledPackage("KB9999901"),), Answer.YES),
        ((InstalledPackage("KB9999901", version="6.0.0.9"),), Answer.NO),
        ((), Answer.NO),
    ],
)
def test_already_installed(installed: tuple[InstalledPackage, ...], expected: Answer) -> None:
    v = judge(pkg(), replace(BARE, installed=installed), KB)
    assert v.already_installed is expected
    if expected is Answer.YES:
        assert v.reasons[0].rule == "installed"


def test_file_name_never_decides() -> None:
    # content says 6.0/amd64; a file name claiming 6.1/x86 changes nothing
    facts = pkg(name="Windows6.1-KB1-x86.msu", name_claims={"target": "6.1", "arch": "x86"})
    assert judge(facts, BARE, KB).can_install is Answer.YES


def test_not_a_package() -> None:
    v = judge(pkg(is_package=False, target_version=None), BARE, KB)
    assert v.can_install is Answer.UNKNOWN
