"""The host-verdict fixtures (``tests/fixtures/verdict/``) carry the facts they promise.

Each synthetic MSU is inspected with msuinspect (``inspect --json --trust-root`` on the TEST
root) and its layers are cross-checked with ``osslsigncode verify``: KB, target version,
architecture, release date, parents, ESU marker, catalog version and, per layer (outer MSU,
WSUSSCAN.cab, inner CAB, catalog), the signing class and the digest algorithm of every
signature in order. The expected values below are written out here, independently of the
generator that made the files.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from support.cli import invoke
from support.corpus import FIXTURES
from support.tools import require_tool, run_tool

VERDICT = FIXTURES / "verdict"
ROOT_CA = FIXTURES / "pki" / "root_ca.pem"
#: osslsigncode verification moment (2024-06-01Z), as in the generator
VERIFY_TIME = "1717200000"

SP2 = "package_for_KB948465 6.0.1.18005"
SERVER = "Microsoft-Windows-Foundation-Package 6.0.6001.18000"
SERVER_CORE = "Microsoft-Windows-ServerCore-Package 6.0.6001.18000"
VISTA = "Microsoft-Windows-Foundation-Package 6.0.6000.16386"
WIN7 = (
    "Microsoft-Windows-Client-Features-Package 6.1.7601.17514",
    "Microsoft-Windows-Server-Features-Package 6.1.7601.17514",
    "Microsoft-Windows-ServerCore-Package 6.1.7601.17514",
)
SERVER_PARENTS = (SP2, SERVER, SERVER_CORE)

#: the Signing class msuinspect reports for a list of digest algorithms (primary first)
SIGNING_CLASS = {
    ("sha1",): "sha1-only",
    ("sha256",): "sha2-only",
    ("sha1", "sha256"): "dual-sha1-primary",
    ("sha256", "sha1"): "dual-sha2-primary",
}


@dataclass(frozen=True)
class Expected:
    file: str
    kb: str
    target: str
    arch: str
    released: str  # YYYY-MM-DD
    cabinets: tuple[str, ...]  # outer MSU and inner CAB digest algorithms, primary first
    catalog_version: int
    catalog_alg: str
    parents: tuple[str, ...]
    package_version: str = "6.0.1.0"
    release_type: str = "Security Update"
    esu: bool = False

    @property
    def name(self) -> str:
        return self.file.removesuffix(".msu")


EXPECTED = (
    Expected(
        "Windows6.0-KB9999911-x64.msu", "9999911", "6.0", "amd64", "2019-04-09",
        ("sha1",), 1, "sha1", SERVER_PARENTS,
    ),
    Expected(
        "Windows6.0-KB9999912-x64.msu", "9999912", "6.0", "amd64", "2019-08-13",
        ("sha256",), 2, "sha256", SERVER_PARENTS,
    ),
    Expected(
        "Windows6.0-KB9999913-x64.msu", "9999913", "6.0", "amd64", "2019-08-13",
        ("sha1", "sha256"), 1, "sha1", SERVER_PARENTS,
    ),
    Expected(
        "Windows6.0-KB9999914-x64.msu", "9999914", "6.0", "amd64", "2019-08-13",
        ("sha256", "sha1"), 1, "sha1", SERVER_PARENTS,
    ),
    Expected(
        "Windows6.1-KB9999915-x64.msu", "9999915", "6.1", "amd64", "2019-03-12",
        ("sha1", "sha256"), 1, "sha1", WIN7, package_version="6.1.1.0",
    ),
    Expected(
        "Windows6.0-KB9999916-x86.msu", "9999916", "6.0", "x86", "2019-04-09",
        ("sha1",), 1, "sha1", SERVER_PARENTS,
    ),
    Expected(
        "Windows6.0-KB9999917-x64.msu", "9999917", "6.0", "amd64", "2019-04-09",
        ("sha1",), 1, "sha1", (SP2, VISTA),
    ),
    Expected(
        "Windows6.0-KB9999918-x64.msu", "9999918", "6.0", "amd64", "2021-03-09",
        ("sha256",), 2, "sha256", SERVER_PARENTS, esu=True,
    ),
    Expected(
        "Windows6.0-KB4493730-x64.msu", "4493730", "6.0", "amd64", "2019-04-09",
        ("sha1",), 1, "sha1", SERVER_PARENTS, release_type="Update",
    ),
    Expected(
        "Windows6.0-KB4474419-x64.msu", "4474419", "6.0", "amd64", "2019-09-23",
        ("sha1", "sha256"), 1, "sha1", SERVER_PARENTS, package_version="6.0.4.0",
    ),
    Expected(
        "Windows6.0-KB4507452-x64.msu", "4507452", "6.0", "amd64", "2019-07-09",
        ("sha256",), 2, "sha256", SERVER_PARENTS,
    ),
)  # fmt: skip
PARAMS = [pytest.param(e, id=e.kb) for e in EXPECTED]


@cache
def _reports() -> dict[str, dict[str, Any]]:
    """One ``inspect --json`` run over every verdict fixture, by file name."""
    files = [str(VERDICT / e.file) for e in EXPECTED]
    proc = invoke("inspect", "--json", "--trust-root", str(ROOT_CA), *files)
    assert proc.exit_code == 0, proc.stderr
    return {Path(f["path"]).name: f for f in json.loads(proc.stdout)["files"]}


def _layers(report: dict[str, Any], exp: Expected) -> dict[str, dict[str, Any]]:
    """Layer name -> package node (outer MSU, WSUSSCAN.cab, inner CAB, catalog)."""
    nodes = {n["path"]: n for n in report["package"]["nodes"]}
    root = report["path"]
    return {
        "outer MSU": nodes[root],
        "WSUSSCAN.cab": nodes[f"{root}!/WSUSSCAN.cab"],
        "inner CAB": nodes[f"{root}!/{exp.name}.cab"],
        "catalog": nodes[f"{root}!/{exp.name}.cab!/update.cat"],
    }


def _expected_algs(exp: Expected) -> dict[str, tuple[str, ...]]:
    return {
        "outer MSU": exp.cabinets,
        "WSUSSCAN.cab": exp.cabinets[:1],  # the scan cabinet carries the primary only
        "inner CAB": exp.cabinets,
        "catalog": (exp.catalog_alg,),
    }


def _signatures(report: dict[str, Any], layer: str, node: dict[str, Any]) -> list[dict[str, Any]]:
    # the top-level file's signatures are reported once, on the file, not on its node
    sigs: list[dict[str, Any]] = (
        report["signatures"] if layer == "outer MSU" else node["signatures"]
    )
    return sigs


def test_every_file_is_listed_and_small() -> None:
    on_disk = sorted(p.name for p in VERDICT.glob("*.msu"))
    assert on_disk == sorted(e.file for e in EXPECTED)
    sizes = [(VERDICT / e.file).stat().st_size for e in EXPECTED]
    assert max(sizes) < 32 * 1024
    assert sum(sizes) < 512 * 1024


def test_readme_and_facts_describe_every_file() -> None:
    readme = (VERDICT / "README.md").read_text(encoding="utf-8")
    facts = json.loads((FIXTURES / "fixtures.json").read_text(encoding="utf-8"))
    verdict = {Path(f["path"]).name: f for f in facts["files"] if f["kind"] == "verdict-msu"}
    assert sorted(verdict) == sorted(e.file for e in EXPECTED)
    for exp in EXPECTED:
        assert f"## `{exp.file}`" in readme
        entry = verdict[exp.file]
        assert entry["package"]["synthetic"] is True
        assert entry["package"]["kb"] == f"KB{exp.kb}"
        if exp.kb.startswith("4"):  # stand-ins named with real KB numbers
            assert entry["package"]["standin_for"].startswith(f"KB{exp.kb}: ")
            assert "not a Microsoft file" in entry["notes"]


@pytest.mark.parametrize("exp", PARAMS)
def test_package_facts(exp: Expected) -> None:
    report = _reports()[exp.file]
    assert report["error"] is None
    summary = report["package"]["summary"]
    assert summary["generation"] == "classic-msu"
    assert summary["kb_numbers"] == [exp.kb]
    assert summary["target_version"] == exp.target
    assert summary["architecture"] == exp.arch
    assert set(summary["architecture_sources"].values()) == {exp.arch}
    assert summary["release_type"] == exp.release_type
    assert summary["build_date"].startswith(exp.released)
    assert summary["catalog_versions"] == [exp.catalog_version]
    assert summary["esu_gated"] is exp.esu
    if exp.esu:
        assert any("ExtendedSecurityUpdatesAI" in e for e in summary["esu_evidence"])
    assert sorted(summary["parents"]) == sorted(exp.parents)
    identity = f"Package_for_KB{exp.kb}~31bf3856ad364e35~{exp.arch}~~{exp.package_version}"
    assert identity in summary["package_identities"]
    assert "not-covered" not in summary["coverage"]
    assert summary["coverage"]["covered"] >= 4  # mums, the manifest and the PE
    assert not [f for f in summary.get("findings", []) if "disagree" in f["code"]]


@pytest.mark.parametrize("exp", PARAMS)
def test_signing_per_layer(exp: Expected) -> None:
    report = _reports()[exp.file]
    layers = _layers(report, exp)
    signing = report["package"]["summary"]["signing"]
    for layer, algs in _expected_algs(exp).items():
        node = layers[layer]
        assert signing[node["path"]] == SIGNING_CLASS[algs], layer
        sigs = _signatures(report, layer, node)
        assert [s["digest_algorithm"] for s in sigs] == list(algs), layer
        assert [s["nested"] for s in sigs] == [i > 0 for i in range(len(algs))], layer
        for s in sigs:
            assert s["signature_valid"] is True, layer
            assert s["trusted"] is True, layer  # chains to the TEST root given as trust root
            assert s["timestamp"] is None, layer  # untimestamped by design
            if layer != "catalog":
                assert s["digest_valid"] is True, layer


# --- osslsigncode cross-check ----------------------------------------------------------------


@dataclass(frozen=True)
class OsslSignature:
    index: int
    algorithm: str
    current: str | None  # the digest the signature carries (cabinets only)
    calculated: str | None
    signing_time: str | None


def _osslsigncode(path: Path) -> tuple[int, list[OsslSignature]]:
    proc = run_tool("osslsigncode", "verify", "-in", path, "-CAfile", ROOT_CA, "-time", VERIFY_TIME)
    stdout = proc.stdout.decode("utf-8", "replace")
    blocks = re.split(r"^Signature Index: ", stdout, flags=re.MULTILINE)[1:]
    out = []
    for block in blocks:

        def field(label: str, text: str = block) -> str | None:
            m = re.search(rf"^\s*{label}\s*: (.+?)\s*$", text, flags=re.MULTILINE)
            return m.group(1) if m else None

        out.append(
            OsslSignature(
                index=int(block.split()[0]),
                algorithm=(field("Message digest algorithm") or "").lower(),
                current=(field("Current message digest") or "").lower() or None,
                calculated=(field("Calculated message digest") or "").lower() or None,
                signing_time=field("Signing time"),
            )
        )
    return proc.returncode, out


@cache
def _extracted(file: str, tmp: Path) -> dict[str, Path]:
    """The layers of one fixture as files, extracted by msuinspect itself."""
    name = file.removesuffix(".msu")
    outer = tmp / name / "outer"
    inner = tmp / name / "inner"
    proc = invoke("extract", str(VERDICT / file), "-o", str(outer))
    assert proc.exit_code == 0, proc.stderr
    proc = invoke("extract", str(outer / f"{name}.cab"), "-o", str(inner), "-m", "update.cat")
    assert proc.exit_code == 0, proc.stderr
    return {
        "outer MSU": VERDICT / file,
        "WSUSSCAN.cab": outer / "WSUSSCAN.cab",
        "inner CAB": outer / f"{name}.cab",
        "catalog": inner / "update.cat",
    }


@pytest.fixture(scope="module")
def extract_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("verdict-layers")


@pytest.mark.parametrize("exp", PARAMS)
def test_osslsigncode_agrees(exp: Expected, extract_root: Path) -> None:
    require_tool("osslsigncode")
    report = _reports()[exp.file]
    layers = _layers(report, exp)
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    year, mon, day = exp.released.split("-")
    signed_at = f"{months[int(mon) - 1]} {int(day):2d} 12:00:00 {year} GMT"
    for layer, path in _extracted(exp.file, extract_root).items():
        rc, seen = _osslsigncode(path)
        assert rc == 0, f"{layer}: osslsigncode verify failed"
        ours = _signatures(report, layer, layers[layer])
        assert [s.algorithm for s in seen] == list(_expected_algs(exp)[layer]), layer
        assert [s.algorithm for s in seen] == [s["digest_algorithm"] for s in ours], layer
        for theirs, mine in zip(seen, ours, strict=True):
            assert theirs.signing_time == signed_at, layer  # signingTime = release date
            if theirs.current is not None:  # cabinets: the signed file digest
                assert theirs.current == theirs.calculated, layer
                assert theirs.current == mine["signed_digest"] == mine["computed_digest"], layer
