"""``host status`` after the verdict audit: the recommended SSU is KB5016129 (later SSUs
only optional), ESU years one by one, a pending restart of unknown origin."""

from __future__ import annotations

from dataclasses import replace

from msuinspect.host.merge import import_evidence
from msuinspect.host.profile import InstalledPackage
from msuinspect.host.spec import load_host
from msuinspect.report.status_text import render_status
from msuinspect.servicing.knowledge import load_knowledge_base
from msuinspect.status import StepState, host_status

from support.corpus import FIXTURES

KB = load_knowledge_base()
ESU_Y2 = FIXTURES / "host" / "collector-esu-y2.txt"


def test_ssu_step_recommends_kb5016129_and_later_ssus_are_optional() -> None:
    profile = import_evidence([(ESU_Y2.name, ESU_Y2.read_bytes())]).profile
    s = host_status(profile, KB)
    step = s.step("ssu-latest")
    assert "KB5016129" in step.label and step.state is StepState.MISSING
    assert any("optional" in n and "unknown" in n for n in step.notes)
    ssu_steps = [n for n in s.next_steps if n.step == "ssu-latest"]
    assert ssu_steps[0].kb == "KB5016129" and not ssu_steps[0].optional
    later = ssu_steps[1:]
    assert later and all(n.optional for n in later)
    assert all("unknown" in n.why and "required" not in n.why for n in later)
    assert "required" not in " ".join(n.why for n in ssu_steps)
    assert "KB5016129" in render_status(s)


def test_ssu_step_done_with_kb5016129_even_without_later_ssus() -> None:
    s = host_status(load_host("preset:2008sp2-esu-x64"), KB)
    assert s.step("ssu-latest").state is StepState.DONE
    assert all(n.optional for n in s.next_steps if n.step == "ssu-latest")


def test_esu_key_step_names_each_activated_year() -> None:
    host = replace(load_host("preset:2008sp2-esu-x64"), esu_years=frozenset({3}))
    s = host_status(host, KB)
    text = s.step("esu-key").text
    assert "year 3" in text and "year 1, 2 not activated" in text


def test_pending_restart_of_unknown_origin_is_said_so() -> None:
    listed = (InstalledPackage("KB4493730"), InstalledPackage("KB4474419"))
    host = replace(load_host("preset:2008sp2-sha2-x64"), pending_restart=True, installed=listed)
    notes = host_status(host, KB).step("sha2").notes
    assert any("unknown" in n for n in notes)
