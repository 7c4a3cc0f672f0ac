"""The servicing knowledge base: schema-valid, and holds the facts the verdict relies on."""

from __future__ import annotations

import itertools
import tomllib
from typing import Any

import pytest

from msuinspect.host.profile import IN_BOX_ROOTS
from msuinspect.host.roots import root_facts
from msuinspect.servicing import schema
from msuinspect.servicing.knowledge import (
    ROLLUP_KINDS,
    Confidence,
    PartialDate,
    ServicingDataError,
    UpdateFact,
    UpdateKind,
    load_knowledge_base,
    parse_knowledge_base,
    read_default_toml,
)

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
    # the knowledge base names the same roots as the pinned certificates the verdict reads
    assert {r.sha1: r.id for r in KB.roots} == {f.sha1: f.root for f in root_facts()}


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


# --- rollups: every month from 2019-03, in order, each with its source ----------------------

#: month -> (monthly rollup, security-only update), domain.md section 2 (Tenable / rufus),
#: the same KB numbers as Microsoft's TSS list (S6); 2021-07 also has the out-of-band pair
#: KB5004955 / KB5004959 of 2021-07-06
ROLLUPS_2019_03_TO_2023_01 = {
    "2019-03": ("KB4489880", "KB4489876"), "2019-04": ("KB4493471", "KB4493458"),
    "2019-05": ("KB4499149", "KB4499180"), "2019-06": ("KB4503273", "KB4503287"),
    "2019-07": ("KB4507452", "KB4507461"), "2019-08": ("KB4512476", "KB4512491"),
    "2019-09": ("KB4516026", "KB4516051"), "2019-10": ("KB4520002", "KB4520009"),
    "2019-11": ("KB4525234", "KB4525239"), "2019-12": ("KB4530695", "KB4530719"),
    "2020-01": ("KB4534303", "KB4534312"), "2020-02": ("KB4537810", "KB4537822"),
    "2020-03": ("KB4541506", "KB4541504"), "2020-04": ("KB4550951", "KB4550957"),
    "2020-05": ("KB4556860", "KB4556854"), "2020-06": ("KB4561670", "KB4561645"),
    "2020-07": ("KB4565536", "KB4565529"), "2020-08": ("KB4571730", "KB4571746"),
    "2020-09": ("KB4577064", "KB4577070"), "2020-10": ("KB4580378", "KB4580385"),
    "2020-11": ("KB4586807", "KB4586817"), "2020-12": ("KB4592498", "KB4592504"),
    "2021-01": ("KB4598288", "KB4598287"), "2021-02": ("KB4601360", "KB4601366"),
    "2021-03": ("KB5000844", "KB5000856"), "2021-04": ("KB5001389", "KB5001332"),
    "2021-05": ("KB5003210", "KB5003225"), "2021-06": ("KB5003661", "KB5003695"),
    "2021-07": ("KB5004305", "KB5004299"), "2021-08": ("KB5005090", "KB5005095"),
    "2021-09": ("KB5005606", "KB5005618"), "2021-10": ("KB5006736", "KB5006715"),
    "2021-11": ("KB5007263", "KB5007246"), "2021-12": ("KB5008274", "KB5008271"),
    "2022-01": ("KB5009627", "KB5009601"), "2022-02": ("KB5010384", "KB5010403"),
    "2022-03": ("KB5011534", "KB5011525"), "2022-04": ("KB5012658", "KB5012632"),
    "2022-05": ("KB5014010", "KB5014006"), "2022-06": ("KB5014752", "KB5014743"),
    "2022-07": ("KB5015866", "KB5015870"), "2022-08": ("KB5016669", "KB5016686"),
    "2022-09": ("KB5017358", "KB5017371"), "2022-10": ("KB5018450", "KB5018446"),
    "2022-11": ("KB5020019", "KB5020005"), "2022-12": ("KB5021289", "KB5021293"),
    "2023-01": ("KB5022340", "KB5022353"),
}  # fmt: skip


def _months(first: str, last: str) -> list[str]:
    y, m = (int(p) for p in first.split("-"))
    out = []
    while f"{y:04d}-{m:02d}" <= last:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _month(u: UpdateFact) -> str:
    assert u.date is not None, u.kb
    return f"{u.date.year:04d}-{u.date.month:02d}"


def _monthly() -> list[UpdateFact]:
    return KB.of_kind(UpdateKind.MONTHLY_ROLLUP)


def test_every_month_from_2019_03_to_2023_01_has_its_rollups() -> None:
    assert len(ROLLUPS_2019_03_TO_2023_01) == len(_months("2019-03", "2023-01"))
    for month, (monthly, security) in ROLLUPS_2019_03_TO_2023_01.items():
        m, s = KB.get(monthly), KB.get(security)
        assert m is not None and m.kind is UpdateKind.MONTHLY_ROLLUP, month
        assert s is not None and s.kind is UpdateKind.SECURITY_ONLY, month
        assert _month(m) == _month(s) == month
        # the day and title of Microsoft's TSS list (S6), confirmed
        for u in (m, s):
            assert u.date is not None and u.date.day is not None, u.kb
            assert "S6" in u.source and u.confidence is Confidence.CONFIRMED, u.kb
            assert u.title is not None and u.kb in u.title, u.kb


def test_every_month_up_to_the_last_known_rollup_is_present_or_a_named_gap() -> None:
    by_month: dict[str, list[str]] = {}
    for u in _monthly():
        by_month.setdefault(_month(u), []).append(u.kb)
    gaps = {str(g.month): g for g in KB.rollup_gaps}
    last = _month(_monthly()[-1])
    for month in _months("2019-03", last):
        assert (month in by_month) != (month in gaps), month
    for g in gaps.values():
        assert g.reason and g.source and all(s in KB.sources for s in g.source)
    assert by_month["2021-07"] == ["KB5004955", "KB5004305"]  # out-of-band, then regular
    assert sorted(gaps) == ["2024-04", "2024-07", "2024-11", "2024-12"]


def test_rollup_dates_ascend_in_the_file_and_by_kind() -> None:
    rollup_kinds = {k.value for k in ROLLUP_KINDS}
    in_file = [u for u in DOC["update"] if u["kind"] in rollup_kinds]
    dates = [PartialDate.parse(u["date"]) for u in in_file]
    keys = [(d.year, d.month, d.day or 0) for d in dates]
    assert keys == sorted(keys), "rollups are listed oldest first"
    for kind in ROLLUP_KINDS:
        facts = KB.of_kind(kind)
        assert all(u.date is not None and u.kb.startswith("KB") for u in facts)
        ordered = [(u.date.earliest, u.date.latest) for u in facts if u.date is not None]
        for (a_first, a_last), (b_first, _) in itertools.pairwise(ordered):
            assert a_first <= b_first, kind
            if kind is UpdateKind.MONTHLY_ROLLUP:
                assert a_last < b_first  # one monthly rollup per release day
    # a month is either day-precise or month-only for all its rollups (PartialDate order)
    precision: dict[tuple[int, int], set[bool]] = {}
    for d in dates:
        precision.setdefault((d.year, d.month), set()).add(d.day is None)
    assert all(len(p) == 1 for p in precision.values()), precision
    # every kind together sorts too (month-only dates before the days of their month)
    assert len(KB.of_kind(*UpdateKind)) == len(KB.updates)


def test_each_monthly_rollup_supersedes_the_previous_one_by_convention() -> None:
    monthly = _monthly()
    assert monthly[0].kb == "KB4489880" and monthly[0].supersedes == ()
    for prev, u in itertools.pairwise(monthly):
        assert u.supersedes == (prev.kb,), u.kb
        assert u.supersedes_source == ("rollup-cumulative",), u.kb
        # a convention, not a source's statement about each KB
        assert u.supersedes_confidence is Confidence.STRONG, u.kb
    for u in KB.updates.values():
        if u.kind is not UpdateKind.MONTHLY_ROLLUP:
            assert u.supersedes == () and u.supersedes_source == (), u.kb


def test_named_rollups() -> None:
    # the last rollup before ESU: the newest monthly rollup released on or before esu_after
    esu_after = KB.threshold("esu_after").value.earliest
    pre_esu = [u for u in _monthly() if u.date is not None and u.date.latest <= esu_after]
    assert pre_esu[-1].kb == "KB4534303" and str(pre_esu[-1].date) == "2020-01-14"
    may2020 = KB.get("KB4556860")
    assert may2020 is not None and str(may2020.date) == "2020-05-12"
    assert may2020.title == "May 12, 2020-KB4556860 (Monthly Rollup)"
    for kb, date in (("KB4489880", "2019-03-12"), ("KB4489887", "2019-03-19")):
        fact = KB.get(kb)
        assert fact is not None and str(fact.date) == date and "review-7" in fact.source
    year4 = [u for u in _monthly() if u.date and "2023-02" <= _month(u) <= "2024-01"]
    assert year4[0].kb == "KB5022890" and year4[-1].kb == "KB5034173"
    assert len(year4) == 12
    # after Microsoft's TSS list: community catalog labels, month only, weak
    late = [u for u in _monthly() if _month(u) > "2024-01"]
    assert late and all(
        u.source == ("S16",) and u.confidence is Confidence.WEAK and u.date and u.date.day is None
        for u in late
    )
    assert late[-1].kb == "KB5052038"


def test_restart_only_where_a_source_says() -> None:
    assert {u.kb for u in KB.updates.values() if u.restart is not None} == {"KB4474419"}


def test_every_source_id_resolves() -> None:
    ids = set(KB.sources)
    used: list[tuple[str, tuple[str, ...]]] = []
    used += [(f"threshold {n}", t.source) for n, t in KB.thresholds.items()]
    used += [(u.kb, u.source) for u in KB.updates.values()]
    used += [(f"{u.kb} supersedes", u.supersedes_source) for u in KB.updates.values()]
    used += [(f"ESU year {y.year}", y.source) for y in KB.esu_years]
    used += [(f"root {r.id}", r.source) for r in KB.roots]
    used += [(f"gap {g.month}", g.source) for g in KB.rollup_gaps]
    for where, sources in used:
        assert sources or where.endswith("supersedes"), where
        assert all(s in ids for s in sources), where


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda d: _rollup(d).pop("supersedes_source"), "supersedes without"),
        (lambda d: _rollup(d).update(supersedes_confidence="sure"), "confidence"),
        (lambda d: _rollup(d).update(supersedes_source=["S99"]), "not in [sources]"),
        (lambda d: d["update"][0].update(supersedes_confidence="weak"), "without supersedes"),
        (lambda d: d["rollup_gap"][0].update(month="2020-05"), "has a monthly rollup"),
        (lambda d: d["rollup_gap"][0].update(month="2024-04-01"), "does not match"),
        (lambda d: d["rollup_gap"][0].pop("reason"), "missing 'reason'"),
        (lambda d: d["rollup_gap"].append(dict(d["rollup_gap"][0])), "duplicate month"),
    ],
)
def test_schema_rejects_bad_supersedence_and_gaps(edit: object, problem: str) -> None:
    doc = tomllib.loads(read_default_toml().decode())
    edit(doc)  # type: ignore[operator]
    problems = schema.check(doc)
    assert any(problem in p for p in problems), problems


def _rollup(doc: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = next(u for u in doc["update"] if "supersedes" in u)
    return entry
