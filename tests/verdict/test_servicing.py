"""The servicing knowledge base: schema-valid, and holds the facts the verdict relies on."""

from __future__ import annotations

import tomllib

import pytest

from msuinspect.host.profile import IN_BOX_ROOTS
from msuinspect.servicing import schema
from msuinspect.servicing.knowledge import (
    ServicingDataError,
    UpdateKind,
    load_knowledge_base,
    parse_knowledge_base,
    read_default_toml,
)
from msuinspect.verdict.facts import ROOT_THUMBPRINTS

DOC = tomllib.loads(read_default_toml().decode())
KB = load_knowledge_base()


def test_packaged_file_is_schema_valid() -> None:
    assert schema.check(DOC) == []
    assert KB.schema_version == schema.SCHEMA_VERSION


def test_every_ssu_of_verdict_facts_and_corrections() -> None:
    ssus = {u.kb for u in KB.of_kind(UpdateKind.SSU)}
    expected = {
        "KB4493730", "KB4517134", "KB4526478", "KB4531787", "KB4536953", "KB4550737",
        "KB4572374", "KB4580971", "KB5010452", "KB5016129", "KB5033466", "KB5034867",
        "KB5039341", "KB5050682", "KB4537830", "KB4565353", "KB5006750",
    }  # fmt: skip
    assert expected <= ssus
    base = KB.get("KB4493730")
    assert base is not None and base.stack_version == "6.0.6003.20484" and base.bootstrap


def test_sha2_updates_and_esu() -> None:
    sha2 = KB.get("KB4474419")
    assert sha2 is not None and sha2.version == "6.0.4.0" and sha2.revision == 4 and sha2.restart
    x64 = KB.get("4039648")
    assert x64 is not None and [a.value for a in x64.arch] == ["amd64"] and x64.date is None
    preps = {u.kb: u.confidence.value for u in KB.of_kind(UpdateKind.ESU_PREP)}
    assert preps == {"KB4538484": "weak", "KB4575904": "confirmed", "KB5016891": "confirmed"}
    y4 = KB.esu_year(4)
    assert y4 is not None and y4.azure_only and y4.activation_id is None
    y1 = KB.esu_year(1)
    assert y1 is not None and y1.activation_id == "553673ed-6ddf-419c-a153-b760283472fd"


def test_roots_match_the_host_model_and_the_fact_adapter() -> None:
    assert {r.id for r in KB.roots if r.in_box} == IN_BOX_ROOTS
    assert {r.sha1: r.id for r in KB.roots} == ROOT_THUMBPRINTS


def test_every_entry_has_a_known_source() -> None:
    for u in KB.updates.values():
        assert u.source and all(s in KB.sources for s in u.source), u.kb


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda d: d["update"][0].pop("source"), "missing 'source'"),
        (lambda d: d["update"][0].update(source=["S99"]), "not in [sources]"),
        (lambda d: d["update"][0].update(date="2019-13-01"), "does not match"),
        (lambda d: d["update"][0].update(confidence="likely"), "confidence"),
        (lambda d: d["update"][0].update(kind="hotfix"), "kind"),
        (lambda d: d["update"].append(dict(d["update"][0])), "duplicate kb"),
        (lambda d: d["update"][0].update(invented=1), "unknown key"),
        (lambda d: d.update(schema_version=2), "schema_version"),
    ],
)
def test_schema_rejects(edit: object, problem: str) -> None:
    doc = tomllib.loads(read_default_toml().decode())
    edit(doc)  # type: ignore[operator]
    problems = schema.check(doc)
    assert any(problem in p for p in problems), problems


def test_loader_refuses_bad_data() -> None:
    with pytest.raises(ServicingDataError):
        parse_knowledge_base(b"schema_version = 1\n")
    with pytest.raises(ServicingDataError):
        parse_knowledge_base(b"\xff not toml")
