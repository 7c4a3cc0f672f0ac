"""The verdict, the plan and their rendering on real bytes: corpus files and the
synthetic signed fixtures of tests/fixtures/verdict."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from msuinspect.authenticode.trust import TrustStore, load_certificates
from msuinspect.cli.plan import plan
from msuinspect.host.profile import IN_BOX_ROOTS, Arch, HostProfile, InstalledPackage, Product
from msuinspect.package.analyse import analyse_file
from msuinspect.report.verdict_json import verdict_dict
from msuinspect.report.verdict_text import headline, render_verdict
from msuinspect.servicing.knowledge import load_knowledge_base
from msuinspect.verdict.facts import Layer, package_facts
from msuinspect.verdict.judge import judge
from msuinspect.verdict.model import Answer

from support.corpus import FIXTURES

KB = load_knowledge_base()
VERDICT = FIXTURES / "verdict"
ROOT_PEM = FIXTURES / "pki" / "root_ca.pem"


def host(build: int = 6002, arch: Arch = Arch.AMD64, *kbs: str) -> HostProfile:
    return HostProfile(Product.SERVER, build, None, arch, tuple(InstalledPackage(k) for k in kbs),
                       True, roots=IN_BOX_ROOTS, pending_restart=False)  # fmt: skip


def facts_of(path: Path, extra: bool = False):  # type: ignore[no-untyped-def]
    trust = TrustStore.default(load_certificates(ROOT_PEM) if extra else [])
    return package_facts(analyse_file(path, trust))


def test_corpus_kb2999226_windows60_cab(corpus: Path) -> None:
    f = facts_of(corpus / "cab/update/Windows6.0-KB2999226-x64.cab")
    assert (f.kb, f.target_version, f.arch) == ("KB2999226", "6.0", "amd64")
    primary = f.layers[0].signatures[0]
    assert f.layers[0].layer is Layer.INNER_CAB and primary.root == "2001"
    assert primary.digest_algorithm == "sha1" and primary.timestamp is not None
    for build in (6002, 6003):
        v = judge(f, host(build), KB)
        assert (v.can_validate, v.can_install) == (Answer.YES, Answer.YES), headline(v)
        assert v.host.sha2 is Answer.NO
    x86 = judge(f, host(6002, Arch.X86), KB)
    assert x86.can_validate is Answer.YES and x86.can_install is Answer.NO
    assert "not applicable" in headline(x86) and "(R1)" in headline(x86)


@pytest.mark.parametrize(
    "name",
    [
        "Windows6.1-KB2999226-x64.msu",
        "Windows6.1-KB3118401-x64.msu",
        "Windows6.1-KB2687862-x64.msu",
    ],
)
def test_corpus_windows61_msus_are_not_applicable(corpus: Path, name: str) -> None:
    v = judge(facts_of(corpus / "msu" / name), host(), KB)
    assert v.can_install is Answer.NO
    assert "not applicable: targets Windows 6.1 (Windows 7 / Server 2008 R2)" in headline(v)
    assert v.expected_error is not None and v.expected_error.code == "0x80240017"


def _fixture(name: str) -> Path:
    path = VERDICT / name
    if not path.is_file():
        pytest.skip(f"{path} not generated")
    return path


def test_fixture_sha2_only_on_the_acceptance_hosts() -> None:
    f = facts_of(_fixture("Windows6.0-KB9999912-x64.msu"), extra=True)
    bare = judge(f, host(), KB)
    assert bare.can_validate is Answer.NO
    assert headline(bare) == (
        "6002 amd64 (no SHA-2 support): cannot validate — outer MSU is SHA-256-only (R8); "
        "install KB4493730, KB4474419 first"
    )
    ssu = judge(f, host(6002, Arch.AMD64, "KB4493730"), KB)
    assert ssu.can_validate is Answer.NO and ssu.missing_prerequisites == ("KB4474419",)
    done = judge(f, host(6003, Arch.AMD64, "KB4493730", "KB4474419"), KB)
    assert (done.can_validate, done.can_install) == (Answer.YES, Answer.YES)
    # without --trust-root the test root is no root a host holds
    untrusted = judge(facts_of(_fixture("Windows6.0-KB9999912-x64.msu")),
                      host(6003, Arch.AMD64, "KB4493730", "KB4474419"), KB)  # fmt: skip
    assert untrusted.can_validate is Answer.NO


@pytest.mark.parametrize(
    ("name", "bare_validates"),
    [
        ("Windows6.0-KB9999911-x64.msu", True),
        ("Windows6.0-KB9999913-x64.msu", True),
        ("Windows6.0-KB9999914-x64.msu", False),
    ],
)
def test_fixture_signing_variants(name: str, bare_validates: bool) -> None:
    v = judge(facts_of(_fixture(name), extra=True), host(), KB)
    assert (v.can_validate is Answer.YES) is bare_validates
    if not bare_validates:
        assert v.reasons[0].rule == "R10"


def test_fixture_esu_with_and_without_licence() -> None:
    from dataclasses import replace

    from msuinspect.host.profile import EsuLicence

    f = facts_of(_fixture("Windows6.0-KB9999918-x64.msu"), extra=True)
    assert f.esu_marker
    licensed = replace(host(6003, Arch.AMD64, "KB4493730", "KB4474419", "KB4537830",
                            "KB5016891"), esu=EsuLicence.YEAR2)  # fmt: skip
    assert judge(f, licensed, KB).can_install is Answer.YES
    v = judge(f, replace(licensed, esu=EsuLicence.NONE), KB)
    assert v.can_install is Answer.NO and v.expected_error is not None
    assert v.expected_error.code == "0x80070643"


def test_render_fits_80_columns_and_json_has_the_keys(corpus: Path) -> None:
    f = facts_of(corpus / "msu/Windows6.1-KB3118401-x64.msu")
    v = judge(f, host(), KB)
    lines = render_verdict(v)
    assert all(len(line) <= 80 for line in lines), [x for x in lines if len(x) > 80]
    d = verdict_dict(v, host())
    json.dumps(d)
    for key in ("can_validate", "can_install", "reasons", "missing_prerequisites",
                "expected_error", "host"):  # fmt: skip
        assert key in d
    assert {"rule", "outcome", "layer", "evidence", "source", "confidence"} <= set(d["reasons"][0])


def _plan_folder(tmp_path: Path, names: list[str]) -> Path:
    for n in names:
        shutil.copy(_fixture(n), tmp_path / n)
    return tmp_path


BOOT = ["Windows6.0-KB4493730-x64.msu", "Windows6.0-KB4474419-x64.msu",
        "Windows6.0-KB4507452-x64.msu"]  # fmt: skip


def test_plan_orders_ssu_sha2_rollup_for_a_bare_host(tmp_path: Path) -> None:
    folder = _plan_folder(tmp_path, BOOT)
    args = [str(folder), "--host", "build=6002,arch=amd64,kb=", "--trust-root", str(ROOT_PEM)]
    r = CliRunner().invoke(plan, [*args, "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert [s["kb"] for s in data["steps"]] == ["KB4493730", "KB4474419", "KB4507452"]
    assert "not a documented requirement" in data["steps"][0]["note"]
    assert data["steps"][1]["restart"] is True
    assert "KB4507452" in data["steps"][0]["why"]
    text = CliRunner().invoke(plan, args)
    assert text.exit_code == 0 and all(len(x) <= 80 for x in text.output.splitlines())
    assert "1. KB4493730" in text.output


def test_plan_says_what_is_missing(tmp_path: Path) -> None:
    folder = _plan_folder(tmp_path, [BOOT[0], BOOT[2]])
    r = CliRunner().invoke(plan, [str(folder), "--host", "build=6002,arch=amd64,kb=",
                                  "--trust-root", str(ROOT_PEM)])  # fmt: skip
    assert r.exit_code == 0, r.output
    flat = " ".join(r.output.split())
    assert "KB4474419 (SHA-2" in flat and "is required and not present here" in flat
    assert "1. KB4493730" in r.output and "cannot be installed" in r.output


def test_plan_bad_host_is_a_usage_error(tmp_path: Path) -> None:
    r = CliRunner().invoke(plan, [str(tmp_path), "--host", "build=7601"])
    assert r.exit_code == 2
