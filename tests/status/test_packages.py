"""``host status --packages``: next steps matched to the signed synthetic stand-ins of
tests/fixtures/verdict (KB4493730, KB4474419 v4, the July 2019 rollup KB4507452)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import click
from click.testing import CliRunner

from support.corpus import FIXTURES

VERDICT = FIXTURES / "verdict"
ROOT_PEM = FIXTURES / "pki" / "root_ca.pem"
RTM = FIXTURES / "host" / "systeminfo-en-6002-rtm.txt"
STAND_INS = (
    "Windows6.0-KB4493730-x64.msu",
    "Windows6.0-KB4474419-x64.msu",
    "Windows6.0-KB4507452-x64.msu",
)


def _group() -> click.Group:
    from msuinspect.cli.host import host

    return host


def _folder(tmp_path: Path, names: tuple[str, ...], renamed: bool = True) -> Path:
    folder = tmp_path / "pkgs"
    folder.mkdir()
    for i, name in enumerate(names):
        # names that say nothing: identity must come from the content
        shutil.copy(VERDICT / name, folder / (f"download-{i}.msu" if renamed else name))
    return folder


def _run(folder: Path, *extra: str) -> dict:  # type: ignore[type-arg]
    args = ["status", str(RTM), "--packages", str(folder), "--trust-root", str(ROOT_PEM)]
    r = CliRunner().invoke(_group(), [*args, *extra, "--json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.output)  # type: ignore[no-any-return]


def test_stand_ins_are_found_verified_and_ordered(tmp_path: Path) -> None:
    doc = _run(_folder(tmp_path, STAND_INS))
    steps = {m["kb"]: m for m in doc["packages"]["steps"]}
    for kb in ("KB4493730", "KB4474419"):
        m = steps[kb]
        assert m["state"] == "found", m
        assert m["package"]["kbs"] == [kb]
        assert m["package"]["trusted"] and m["package"]["signature"].startswith("verified")
        assert m["package"]["verdict"]["can_validate"] == "yes"
    rollup = next(m for m in doc["packages"]["steps"] if m["step"] == "rollup")
    assert rollup["state"] == "found" and rollup["package"]["kbs"] == ["KB4507452"]
    assert "KB4507452 (2019-07-09) instead of" in rollup["note"]
    # the host cannot validate the SHA-2-only rollup yet: the verdict says what first
    assert rollup["package"]["verdict"]["can_validate"] == "no"
    assert rollup["package"]["verdict"]["missing_prerequisites"][:2] == ["KB4493730", "KB4474419"]
    orders = [m["order"] for m in doc["packages"]["steps"]]
    assert orders == sorted(orders)
    assert steps["KB4493730"]["order"] < steps["KB4474419"]["order"] < rollup["order"]
    assert steps["KB5016891"]["state"] == "missing"


def test_text_names_present_missing_and_fits_80_columns(tmp_path: Path) -> None:
    folder = _folder(tmp_path, STAND_INS[:2])
    args = ["status", str(RTM), "--packages", str(folder), "--trust-root", str(ROOT_PEM)]
    r = CliRunner().invoke(_group(), args)
    assert r.exit_code == 0, r.output
    assert "KB4493730: found" in r.output and "KB4474419: found" in r.output
    assert "KB5016891 is required and not present here" in r.output
    assert max(len(line) for line in r.output.splitlines()) <= 80


def test_broken_signature_is_unusable(tmp_path: Path) -> None:
    folder = _folder(tmp_path, STAND_INS[1:2])
    target = next(folder.iterdir())
    data = bytearray(target.read_bytes())
    data[len(data) - 20] ^= 0xFF  # inside the outer signature's signature value
    target.write_bytes(bytes(data))
    doc = _run(folder)
    m = next(m for m in doc["packages"]["steps"] if m["kb"] == "KB4474419")
    assert m["state"] == "unusable"
    assert m["package"]["kbs"] == ["KB4474419"] and m["package"]["outcome"] == "problem"
    assert not m["package"]["usable"] and m["package"]["unusable"]


def test_without_the_test_root_the_stand_ins_are_untrusted(tmp_path: Path) -> None:
    folder = _folder(tmp_path, STAND_INS[:1])
    r = CliRunner().invoke(_group(), ["status", str(RTM), "--packages", str(folder), "--json"])
    doc = json.loads(r.output)
    m = next(m for m in doc["packages"]["steps"] if m["kb"] == "KB4493730")
    assert m["state"] == "unusable" and not m["package"]["trusted"]


def test_wrong_architecture_is_unusable(tmp_path: Path) -> None:
    folder = _folder(tmp_path, ("Windows6.0-KB9999916-x86.msu",), renamed=False)
    doc = _run(folder)
    assert [c["kbs"] for c in doc["packages"]["unmatched"]] == [["KB9999916"]]
    assert "R1" in doc["packages"]["unmatched"][0]["unusable"]
