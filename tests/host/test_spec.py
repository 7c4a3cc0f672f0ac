"""--host strings, presets, TOML round trip."""

from __future__ import annotations

from pathlib import Path

import pytest

from msuinspect.host.errors import HostSpecError
from msuinspect.host.merge import import_evidence
from msuinspect.host.presets import PRESETS, preset
from msuinspect.host.profile import IN_BOX_ROOTS, Arch, EsuLicence, Product, Root
from msuinspect.host.spec import load_host, parse_host_spec
from msuinspect.host.tomlio import read_toml, write_toml

HOST = Path(__file__).resolve().parents[1] / "fixtures" / "host"


def test_full_spec() -> None:
    p = parse_host_spec(
        "build=6002,arch=amd64,kb=KB4474419@6.0.4.0+KB4493730,roots=2010+2011,esu=y2,"
        "product=server,ssu=6.0.6003.20484,restart=no,sha2flags=yes"
    )
    assert (p.build, p.arch, p.product, p.esu) == (
        6002,
        Arch.AMD64,
        Product.SERVER,
        EsuLicence.YEAR2,
    )
    assert p.kb_numbers() == {"KB4474419", "KB4493730"}
    assert p.packages_for("KB4474419")[0].version == "6.0.4.0"
    assert p.installed_complete and p.has_kb("KB4489887") is False
    assert p.roots == IN_BOX_ROOTS | {Root.ROOT_2010, Root.ROOT_2011}
    assert p.servicing_stack_version == "6.0.6003.20484"
    assert p.pending_restart is False and p.sha2_flags is True
    assert p.evidence["build"] == "--host"


def test_defaults_and_root_forms() -> None:
    p = parse_host_spec("build=6003.20491")
    assert (p.build, p.revision) == (6003, 20491)
    assert p.roots == IN_BOX_ROOTS and p.installed is None and p.esu is None
    assert parse_host_spec("roots=none").roots == frozenset()
    assert parse_host_spec("roots=only:2010").roots == {Root.ROOT_2010}
    assert parse_host_spec("roots=unknown").roots is None
    assert parse_host_spec("kb=none").has_kb("KB4474419") is False
    assert parse_host_spec("kb=4493730,kb-complete=no").has_kb("KB4474419") is None


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "empty"),
        ("build=7601", "6002 or 6003"),
        ("arch=arm64", "expected one of"),
        ("kb=KBX", "not a KB number"),
        ("roots=2012", "not a root"),
        ("esu=y9", "expected one of"),
        ("colour=red", "unknown key"),
        ("build=6002,build=6003", "given twice"),
        ("build", "not key=value"),
        ("ssu=6.0", "6.0.6003.20484"),
        ("restart=maybe", "yes, no or unknown"),
        ("preset:nope", "unknown preset"),
    ],
)
def test_bad_specs(spec: str, message: str) -> None:
    with pytest.raises(HostSpecError, match=message):
        parse_host_spec(spec)


def test_presets() -> None:
    assert set(PRESETS) == {
        f"2008sp2-{b}-{a}" for b in ("rtm", "sha2", "esu") for a in ("x64", "x86")
    }
    rtm = preset("2008sp2-rtm-x64")
    assert rtm.build == 6002 and rtm.has_kb("KB4493730") is False and rtm.sha2_flags is False
    sha2 = preset("2008sp2-sha2-x86")
    assert sha2.arch == Arch.X86 and sha2.build == 6003 and sha2.roots == IN_BOX_ROOTS
    assert sha2.packages_for("KB4474419")[0].version == "6.0.4.0"
    assert "~x86~" in (sha2.packages_for("KB4474419")[0].identity or "")
    esu = preset("2008sp2-esu-x64")
    assert esu.esu == EsuLicence.YEAR3 and Root.ROOT_2011 in (esu.roots or ())
    assert esu.has_kb("KB5016891") and esu.has_kb("KB4575904")
    over = parse_host_spec("preset:2008sp2-sha2-x64,roots=2010,esu=y1")
    assert over.roots == IN_BOX_ROOTS | {Root.ROOT_2010} and over.esu == EsuLicence.YEAR1
    assert over.build == 6003


@pytest.mark.parametrize("name", PRESETS)
def test_presets_round_trip_through_toml(name: str) -> None:
    p = preset(name)
    assert read_toml(write_toml(p)) == p


def test_imported_profile_round_trips_with_conflicts_and_escapes() -> None:
    files = ["collector-esu-y2.txt", "systeminfo-de-6002-ssu.txt"]
    # one host (import refuses evidence naming two): the German sample renamed
    data = [(f, (HOST / f).read_bytes().replace(b"SRV2008DE", b"SRV2008ESU")) for f in files]
    p = import_evidence(data, name='a "q"\\ \t host').profile
    assert p.conflicts
    text = write_toml(p)
    assert read_toml(text) == p
    assert write_toml(read_toml(text)) == text


def test_empty_installed_list_round_trips() -> None:
    p = parse_host_spec("kb=none")
    assert read_toml(write_toml(p)).installed == ()
    assert read_toml(write_toml(parse_host_spec("build=6002"))).installed is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("build = ", "not valid TOML"),
        ("colour = 1", "unknown keys"),
        ('build = "6002"', "build must be int"),
        ('arch = "arm"', "expected one of"),
        ('roots = ["2012"]', "roots"),
        ('schema = "x/2"', "schema"),
        ("[[installed]]\nfoo = 1", "installed"),
    ],
)
def test_bad_toml(text: str, message: str) -> None:
    with pytest.raises(HostSpecError, match=message):
        read_toml(text)


def test_load_host_reads_toml_files(tmp_path: Path) -> None:
    f = tmp_path / "h.toml"
    f.write_text(write_toml(preset("2008sp2-esu-x86")), encoding="utf-8")
    assert load_host(str(f)) == preset("2008sp2-esu-x86")
    with pytest.raises(HostSpecError, match="no such host profile"):
        load_host(str(tmp_path / "missing.toml"))
    assert load_host("build=6002").build == 6002
