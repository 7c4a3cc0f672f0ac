"""The collector script, its round trip through ``host import``, and the CLI commands."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from msuinspect.cli.host import host
from msuinspect.host.importers import read_evidence
from msuinspect.host.importers.collector import HEADER, SECTIONS, collector_script
from msuinspect.host.merge import merge
from msuinspect.host.profile import Arch, EsuLicence, Root
from msuinspect.host.spec import load_host
from msuinspect.host.tomlio import read_toml

HOST = Path(__file__).resolve().parents[1] / "fixtures" / "host"


def test_collector_is_ascii_crlf_cmd() -> None:
    out = CliRunner().invoke(host, ["collector"]).stdout_bytes
    out.decode("ascii")
    assert out == collector_script().encode("ascii")
    assert out.count(b"\n") == out.count(b"\r\n") > 20
    assert b"powershell" not in out.lower()
    assert b"slmgr.vbs" in out and b"certutil -store root" in out


def _script_sections(script: str) -> list[str]:
    return re.findall(r"echo ##### msuinspect begin ([a-z0-9-]+) #####", script)


def test_script_sections_are_those_import_reads() -> None:
    script = collector_script()
    names = _script_sections(script)
    assert names == [s.name for s in SECTIONS]
    assert f"echo {HEADER}" in script
    for name in names:
        assert f"echo ##### msuinspect end {name} exit=%ERRORLEVEL% #####" in script


def _synthetic_collector_file(script: str, bodies: dict[str, bytes]) -> bytes:
    """What the script writes: its echo lines, each command's output in between."""
    out = b""
    for line in script.split("\r\n"):
        m = re.match(r'^>>?"%OUT%" echo (.*)$', line)
        if m:
            text = m.group(1)
            if " end " in text:
                name = text.split()[3]
                code = "1" if name in ("reg-cbs-rebootpending",) else "0"
                text = text.replace("%ERRORLEVEL%", code)
            out += text.encode("ascii") + b"\r\n"
            begin = re.match(r"##### msuinspect begin ([a-z0-9-]+) #####", text)
            if begin:
                out += bodies[begin.group(1)]
    return out


def test_round_trip_synthetic_collector_file_mixed_encodings() -> None:
    # one evidence sample per section, each in its own encoding (wmic stays UTF-16)
    def sample(name: str) -> bytes:
        return (HOST / name).read_bytes()

    bodies = {
        "systeminfo": sample("systeminfo-en-6002-rtm.txt"),
        # one host: the wmic sample's CSName is another host's, which import now refuses
        "wmic-qfe": sample("wmic-qfe-list.txt")
        .decode("utf-16")
        .replace("SRV2008SHA2", "SRV2008RTM")
        .encode("utf-16"),
        "reg-cbs-packages": sample("reg-cbs-packages.txt"),
        "reg-cbs-version": b"",
        "reg-cbs-rebootpending": b"ERROR: The system was unable to find the specified "
        b"registry key or value.\r\n",
        "reg-currentversion": sample("reg-currentversion.txt"),
        "reg-sha2": sample("reg-sha2.txt"),
        "certutil-root": sample("certutil-root-2010-2011.txt"),
        "certutil-authroot": b"AuthRoot\r\nCertUtil: -store command completed successfully.\r\n",
        "slmgr": sample("slmgr-dlv-esu-y2.txt"),
    }
    data = _synthetic_collector_file(collector_script(), bodies)
    reads = read_evidence(data, name="host.txt")
    assert [r.source for r in reads] == [f"host.txt[{s.name}]" for s in SECTIONS]
    assert {r.kind for r in reads} == {s.kind for s in SECTIONS}
    p = merge(reads).profile
    # systeminfo says 6002, BuildLabEx 6003: a conflict, not a pick
    assert p.build is None and any(c.field == "build" for c in p.conflicts)
    assert p.revision == 20491 and p.arch == Arch.AMD64
    assert p.pending_restart is False and p.sha2_flags is True
    assert p.esu == EsuLicence.YEAR2 and p.roots == set(Root)
    assert p.servicing_stack_version is None  # the Version section was empty
    assert "KB4474419" in p.kb_numbers() and p.installed_complete
    # line numbers point into the combined file
    lines = data.split(b"\n")
    n = int(p.evidence["revision"].rsplit(":", 1)[1])
    assert b"BuildLabEx" in lines[n - 1]


def test_collector_sample_and_truncated_section() -> None:
    data = (HOST / "collector-esu-y2.txt").read_bytes()
    p = merge(read_evidence(data, name="c.txt")).profile
    assert (p.build, p.revision, p.esu) == (6003, 20491, EsuLicence.YEAR2)
    assert p.servicing_stack_version == "6.0.6003.20484"
    assert p.has_kb("KB4575904") and p.has_kb("KB5016891") is False  # staged only
    cut = data[: data.index(b"##### msuinspect end reg-cbs-packages")]
    reads = read_evidence(cut, name="c.txt")
    cbs = next(r for r in reads if r.source.endswith("[reg-cbs-packages]"))
    assert not cbs.installed_complete and any("truncated" in n for n in cbs.notes)
    assert any("sections missing" in n for r in reads for n in r.notes)


def test_cli_import_writes_toml_only_to_output(tmp_path: Path) -> None:
    out = tmp_path / "host.toml"
    r = CliRunner().invoke(host, ["import", str(HOST / "collector-esu-y2.txt"), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "learned:" in r.stdout and "could not learn:" in r.stdout
    assert "azure" in r.stdout
    learned = r.stdout.split("learned:")[1]
    shown = [x for x in learned.splitlines() if str(HOST) not in x and str(tmp_path) not in x]
    assert max(len(x) for x in shown) <= 80
    p = read_toml(out.read_text(encoding="utf-8"))
    assert p.esu == EsuLicence.YEAR2
    assert sorted(x.name for x in tmp_path.iterdir()) == ["host.toml"]
    assert load_host(str(out)) == p


def test_cli_import_refuses_bad_evidence(tmp_path: Path) -> None:
    out = tmp_path / "host.toml"
    for name in ("systeminfo-win7.txt", "junk.bin", "systeminfo-truncated.txt"):
        r = CliRunner().invoke(
            host, ["import", str(HOST / "reg-sha2.txt"), str(HOST / name), "-o", str(out)]
        )
        assert r.exit_code == 1
        assert "msuinspect: error:" in r.stderr and "Traceback" not in r.output
        assert not out.exists()
    r = CliRunner().invoke(host, ["import", str(HOST / "systeminfo-win7.txt")])
    assert "not a Windows 6.0 host (6.1.7601)" in r.stderr


def test_cli_import_json() -> None:
    import json

    r = CliRunner().invoke(host, ["import", "--json", str(HOST / "reg-currentversion.txt")])
    doc = json.loads(r.stdout)
    assert doc["schema"] == "msuinspect.host-import/1"
    assert doc["profile"]["build"] == 6003 and doc["profile"]["installed"] is None


def test_cli_show() -> None:
    runner = CliRunner()
    r = runner.invoke(host, ["show", "preset:2008sp2-rtm-x86"])
    assert r.exit_code == 0 and "6002" in r.stdout and "x86" in r.stdout
    r = runner.invoke(host, ["show", "--toml", "build=6003,arch=x64"])
    assert read_toml(r.stdout).build == 6003
    r = runner.invoke(host, ["show", "--json", "esu=y3"])
    assert '"esu": "y3"' in r.stdout
    r = runner.invoke(host, ["show", "build=7601"])
    assert r.exit_code == 2 and "[host-spec]" in r.stderr
    r = runner.invoke(host, ["presets"])
    assert "2008sp2-esu-x64" in r.stdout
