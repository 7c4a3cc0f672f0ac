"""``host status`` on evidence samples in the byte formats Windows prints.

Samples: tests/fixtures/host/* (written by make_samples.py) and
tests/fixtures/host/status/* (written by status/make_samples.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from msuinspect.host.errors import NotA60HostError
from msuinspect.host.merge import import_evidence
from msuinspect.host.spec import load_host
from msuinspect.report.status_json import STATUS_SCHEMA, status_dict
from msuinspect.report.status_text import render_status
from msuinspect.servicing.knowledge import load_knowledge_base
from msuinspect.status import HostStatus, StepState, host_status

from support.corpus import FIXTURES

HOST = FIXTURES / "host"
STATUS = HOST / "status"
KB = load_knowledge_base()
DONE, MISSING, UNKNOWN, NA = (
    StepState.DONE,
    StepState.MISSING,
    StepState.UNKNOWN,
    StepState.NOT_APPLICABLE,
)

RTM = [HOST / "systeminfo-en-6002-rtm.txt", HOST / "certutil-root-inbox.txt"]
SSU_ONLY = [HOST / "systeminfo-de-6002-ssu.txt"]
SHA2_2020 = [
    STATUS / "sha2-2020-systeminfo.txt",
    STATUS / "sha2-2020-cbs.txt",
    STATUS / "sha2-2020-slmgr.txt",
    HOST / "certutil-root-inbox.txt",
]
ESU_Y2 = [HOST / "collector-esu-y2.txt"]
X86 = [HOST / "systeminfo-fr-6003-x86.txt"]
ALL = [RTM, SSU_ONLY, SHA2_2020, ESU_Y2, X86]


def status_of(files: list[Path], replace: dict[str, bytes] | None = None) -> HostStatus:
    data = [(p.name, (replace or {}).get(p.name, p.read_bytes())) for p in files]
    return host_status(import_evidence(data).profile, KB)


def states(s: HostStatus) -> dict[str, StepState]:
    return {st.id: st.state for st in s.road}


def next_kbs(s: HostStatus) -> list[str | None]:
    return [n.kb or n.action for n in s.next_steps]


def test_rtm_6002_host_without_sha2() -> None:
    s = status_of(RTM)
    assert s.statement("build").text.startswith("6002")
    assert "still 6002" in s.statement("moved-to-6003").text
    assert states(s) == {
        "sp2": DONE,
        "roots": MISSING,
        "ssu-baseline": MISSING,
        "sha2": MISSING,
        "sha2-x64": MISSING,
        "ssu-latest": MISSING,
        "esu-prep": MISSING,
        "esu-key": UNKNOWN,  # no slmgr output
        "rollup": MISSING,
    }
    assert s.capability.sha2 == "no"
    assert s.capability.roots == ("root-authority", "2001")
    assert {"R8", "R9", "R12", "R13/R14"} <= {r for r, _ in s.capability.rejects}
    order = next_kbs(s)
    assert order[:4] == ["import-roots", "KB4493730", "KB4474419", s.next_steps[3].kb]
    sha2 = s.next_steps[2]
    assert sha2.restart is True and sha2.date == "2019-09-23"
    # every statement names where it was read
    assert s.step("ssu-baseline").evidence == ("systeminfo-en-6002-rtm.txt:34",)
    assert s.step("roots").evidence == ("certutil-root-inbox.txt:10",)
    assert s.statement("build").evidence == ("systeminfo-en-6002-rtm.txt:5",)


def test_6002_host_with_the_ssu_only() -> None:
    s = status_of(SSU_ONLY)
    assert s.statement("build").text.startswith("6002")
    st = states(s)
    assert st["ssu-baseline"] is DONE and st["sha2"] is MISSING
    assert st["roots"] is UNKNOWN  # no certutil evidence: unknown, never missing
    assert s.step("ssu-baseline").evidence == ("systeminfo-de-6002-ssu.txt:23",)
    kbs = next_kbs(s)
    assert "KB4493730" not in kbs
    assert kbs.index("KB4474419") < kbs.index("KB5016891")
    assert s.next_steps[0].state is UNKNOWN  # the roots step: "if not already done"


def test_6003_host_with_sha2_v4_and_a_2020_rollup_but_no_esu_prep() -> None:
    s = status_of(SHA2_2020)
    assert s.statement("build").text.startswith("6003")
    moved = s.statement("moved-to-6003")
    assert "KB4537810" in moved.text and "sha2-2020-cbs.txt:17" in moved.evidence
    st = states(s)
    assert st["ssu-baseline"] is DONE and st["sha2"] is DONE
    assert "v4 (CBS 6.0.4.0)" in s.step("sha2").text
    assert st["esu-prep"] is MISSING and st["esu-key"] is MISSING
    assert st["rollup"] is MISSING
    assert s.rollup is not None and s.rollup.installed_kb == "KB4537810"
    assert s.rollup.months_behind == 60 and "KB5052038" in s.rollup.known_missing
    assert s.capability.sha2 == "yes"
    assert any(r == "R9" for r, _ in s.capability.rejects)  # 2010/2011 not imported
    kbs = next_kbs(s)
    assert "KB4474419" not in kbs and "KB4493730" not in kbs
    assert kbs.index("KB5016891") < kbs.index("activate-esu")
    # no licence: no rollup newer than the installed one is installable
    assert not any(n.step == "rollup" for n in s.next_steps)


def test_esu_year2_host_with_prep_package_and_activated_key() -> None:
    s = status_of(ESU_Y2)
    assert s.statement("build").text.startswith("6003.20491")
    st = states(s)
    assert st["esu-prep"] is DONE and st["esu-key"] is DONE
    assert "year 2" in s.step("esu-key").text
    # the highest year (esu) and each activated year (esu_years)
    assert s.step("esu-key").evidence == ("collector-esu-y2.txt:222", "collector-esu-y2.txt:213")
    assert "KB5016891 staged" in " ".join(s.step("esu-prep").notes)
    assert st["roots"] is DONE and s.capability.sha2 == "yes"
    rollup = [n for n in s.next_steps if n.step == "rollup"]
    assert [n.kb for n in rollup] == ["KB5009627"]  # the last rollup of ESU year 2
    assert s.rollup is not None and s.rollup.installed_kb == "KB4598288"  # 2021-01, newest
    assert s.rollup.unrecognised == ()


def test_x86_host() -> None:
    s = status_of(X86)
    assert s.statement("arch").text.startswith("x86")
    st = states(s)
    assert st["sha2-x64"] is NA
    assert st["sha2"] is DONE and "revision unknown" in s.step("sha2").text
    assert "KB4039648" not in next_kbs(s)


def test_windows7_systeminfo_is_refused() -> None:
    data = (HOST / "systeminfo-win7.txt").read_bytes()
    with pytest.raises(NotA60HostError, match=r"not a Windows 6\.0 host \(6\.1\.7601\)"):
        import_evidence([("systeminfo-win7.txt", data)])
    result = CliRunner().invoke(_group(), ["status", str(HOST / "systeminfo-win7.txt")])
    assert result.exit_code == 1
    assert "not a Windows 6.0 host" in result.output and "host status" not in result.output


def _drop_line(path: Path, needle: str, encoding: str = "cp437") -> bytes:
    lines = path.read_bytes().decode(encoding).split("\r\n")
    kept = [ln for ln in lines if needle not in ln]
    assert len(kept) == len(lines) - 1
    return "\r\n".join(kept).encode(encoding)


def test_removing_an_evidence_line_turns_statements_unknown_not_missing() -> None:
    full = status_of(SHA2_2020[:1] + SHA2_2020[3:])  # systeminfo + certutil
    assert states(full)["ssu-baseline"] is DONE and states(full)["esu-prep"] is MISSING
    assert states(full)["roots"] is MISSING
    # the hotfix block loses KB4493730: the list is now partial (3 of 4)
    cut = {
        "sha2-2020-systeminfo.txt": _drop_line(SHA2_2020[0], "[02]: KB4493730"),
        "certutil-root-inbox.txt": _drop_line(HOST / "certutil-root-inbox.txt", "CertUtil:"),
    }
    s = status_of(SHA2_2020[:1] + SHA2_2020[3:], cut)
    st = states(s)
    assert st["ssu-baseline"] is UNKNOWN
    assert st["esu-prep"] is UNKNOWN  # was missing on the complete list
    assert st["roots"] is UNKNOWN  # incomplete certutil output
    assert MISSING not in st.values()
    assert all(n.state is UNKNOWN for n in s.next_steps if n.action != "restart")


def test_unknown_update_list_gives_unknown_steps() -> None:
    s = host_status(load_host("build=6002,arch=amd64,roots=unknown"), KB)
    st = states(s)
    for step in ("ssu-baseline", "sha2", "sha2-x64", "ssu-latest", "esu-prep", "rollup"):
        assert st[step] is UNKNOWN, step
    assert all(n.state is UNKNOWN for n in s.next_steps)


def test_contradicting_evidence_is_reported_not_resolved() -> None:
    s = status_of([HOST / "systeminfo-en-6002-rtm.txt", HOST / "reg-currentversion.txt"])
    build = s.statement("build")
    assert not build.known and "disagrees" in build.text
    assert "6002 (systeminfo-en-6002-rtm.txt:5)" in build.text
    assert "6003 (reg-currentversion.txt:" in build.text
    assert [c.field for c in s.conflicts] == ["build"]
    text = render_status(s)
    assert "the evidence contradicts itself" in text


@pytest.mark.parametrize("files", ALL, ids=lambda f: f[0].stem)
def test_every_named_kb_is_in_the_knowledge_base_with_a_source(files: list[Path]) -> None:
    s = status_of(files)
    named = s.named_kbs() | set(re.findall(r"KB\d{6,7}", render_status(s)))
    for kb in named:
        if s.rollup and kb in s.rollup.unrecognised:
            continue  # quoted as "not known to the knowledge base"
        fact = KB.get(kb)
        assert fact is not None, kb
        assert fact.source and all(src in KB.sources for src in fact.source), kb
    for st in s.road:
        assert all(src in KB.sources for src in st.sources), st.id
    for n in s.next_steps:
        assert n.sources, n


@pytest.mark.parametrize("files", ALL, ids=lambda f: f[0].stem)
def test_text_fits_80_columns_and_json_carries_the_same(files: list[Path]) -> None:
    s = status_of(files)
    text = render_status(s)
    assert max(len(line) for line in text.splitlines()) <= 80
    doc = json.loads(json.dumps(status_dict(s)))
    assert doc["schema"] == STATUS_SCHEMA
    assert {r["id"]: r["state"] for r in doc["road"]} == {k: v.value for k, v in states(s).items()}
    assert [n["kb"] for n in doc["next_steps"]] == [n.kb for n in s.next_steps]
    for st in s.road:
        assert f"{st.label}" in text


def _group() -> click.Group:
    from msuinspect.cli.host import host

    return host


def test_cli_text_and_json_from_evidence_and_from_a_preset() -> None:
    runner = CliRunner()
    r = runner.invoke(_group(), ["status", *map(str, ESU_Y2)])
    assert r.exit_code == 0, r.output
    assert "ESU year 2 activated" in r.output
    r = runner.invoke(_group(), ["status", "preset:2008sp2-rtm-x86", "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    road = {x["id"]: x["state"] for x in doc["road"]}
    assert road["sha2-x64"] == "not applicable" and road["sha2"] == "missing"
    r = runner.invoke(_group(), ["status", "preset:nope"])
    assert r.exit_code == 2
