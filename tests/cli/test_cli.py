"""The command line: output, exit status, one-line errors, JSON shape.

In process through click's ``CliRunner`` (:func:`support.cli.invoke`), except one real
``python -m msuinspect`` subprocess per command family (:func:`support.cli.run`): ``list``,
``extract``, ``inspect`` and ``--version``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.cli import invoke, run
from support.corpus import FIXTURES

SAMPLE = FIXTURES / "sample" / "Windows6.0-KB9999901-x64.msu"


def test_list_sample_recursive_with_hashes() -> None:
    r = run("list", "-r", "--hash", str(SAMPLE))
    assert r.returncode == 0, r.stderr
    assert "Windows6.0-KB9999901-x64.msu!/Windows6.0-KB9999901-x64.cab" in r.stdout
    assert "update.mum" in r.stdout
    assert "signature Authenticode blob at" in r.stdout
    # the first available backend for MSZIP (libarchive is preferred: fastest measured)
    from msuinspect.cab.codecs.registry import default_codecs

    first = next(c for c in default_codecs() if c.key in ("libarchive", "zlib"))
    assert f"decoding: folder 0 (MSZIP): decoded by {first.description}" in r.stdout
    assert r.stderr == ""


def test_version_in_a_subprocess() -> None:
    from msuinspect import __version__

    r = run("--version")
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"msuinspect, version {__version__}\n"


def test_the_process_exits_as_the_command_says(tmp_path: Path) -> None:
    """``python -m msuinspect`` ends with a quick exit (no interpreter teardown): its output
    and exit status are the command's, as the in-process run gives them."""
    missing = str(tmp_path / "missing.msu")
    for args, status in (
        (["inspect", "--as-of", "2024-01-01", str(SAMPLE)], 3),  # test PKI: a problem
        (["inspect", "--as-of", "2024-01-01", "--fail-on", "never", str(SAMPLE)], 0),
        (["inspect", missing], 1),
        (["inspect", "--no-such-option"], 2),
    ):
        proc, inproc = run(*args), invoke(*args)
        assert (proc.returncode, inproc.exit_code) == (status, status), (args, proc.stderr)
        assert proc.stdout == inproc.stdout, args


def test_ctrl_c_is_exit_130_for_every_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ctrl-C ends a command with 130 (128 + SIGINT) and one line, as ``scan`` does, not
    click's "Aborted!" and exit 1, which the documentation reserves for unreadable files."""
    import sys

    import msuinspect.cli as cli
    import msuinspect.cli.inspect_cmd as inspect_cmd

    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(inspect_cmd, "inspect", interrupted)
    monkeypatch.setattr(sys, "argv", ["msuinspect", "inspect", str(SAMPLE)])
    assert cli._main_exit_status() == 130
    err = capsys.readouterr().err
    assert "msuinspect: interrupted" in err and "Aborted!" not in err


def test_list_goes_on_past_a_folder_among_its_files(tmp_path: Path) -> None:
    """A folder named among the files is one error for that name (exit 1), not a usage
    error that lists nothing."""
    folder = tmp_path / "sub.cab"
    folder.mkdir()
    r = invoke("list", str(FIXTURES / "cab/stored_2files.cab"), str(folder))
    assert r.exit_code == 1
    assert "hello.txt" in r.stdout
    assert f"{folder}: not a regular file [input-error]" in r.stderr


def test_list_json_schema() -> None:
    r = invoke("list", "--json", "-r", str(SAMPLE))
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["schema"] == "msuinspect.list/1"
    (f,) = doc["files"]
    assert f["error"] is None
    (unit,) = f["units"]
    cab = unit["cabinets"][0]
    assert cab["signature"]["der_length"] <= cab["signature"]["size"]
    names = [m["name"] for m in unit["members"]]
    assert "WSUSSCAN.cab" in names
    inner = next(m for m in unit["members"] if m["name"] == "Windows6.0-KB9999901-x64.cab")
    assert inner["cabinet"] is not None
    assert any(m["name"] == "update.mum" for m in inner["cabinet"]["members"])


def test_broken_file_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "broken.cab"
    bad.write_bytes(b"MSCF\0\0\0\0" + b"\xff" * 20)
    r = invoke("list", str(bad))
    assert r.exit_code == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("msuinspect: error: ")
    assert "[truncated]" in lines[0] or "[cab-format]" in lines[0]


def test_not_a_cabinet(tmp_path: Path) -> None:
    bad = tmp_path / "readme.txt"
    bad.write_text("hello, not a cabinet\n")
    r = invoke("list", str(bad))
    assert r.exit_code == 1
    assert "[not-a-cabinet]" in r.stderr


def test_missing_file() -> None:
    r = invoke("list", "/nonexistent/file.msu")
    assert r.exit_code == 1
    assert "[input-error]" in r.stderr


def test_batch_continues_after_a_broken_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.cab"
    bad.write_bytes(b"not a cab")
    r = invoke("list", str(bad), str(SAMPLE))
    assert r.exit_code == 1
    assert "WSUSSCAN.cab" in r.stdout


def test_extract_recursive(tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = run("extract", "-r", str(SAMPLE), "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert (out / "Windows6.0-KB9999901-x64.cab" / "update.mum").is_file()
    assert "extracted" in r.stdout


def test_extract_writes_nothing_outside_output(tmp_path: Path) -> None:
    before = sorted(p.name for p in tmp_path.iterdir())
    out = tmp_path / "out"
    r = invoke("extract", str(FIXTURES / "cab/hostile/traversal_names.cab"), "-o", str(out))
    assert r.exit_code == 0, r.stderr
    after = sorted(p.name for p in tmp_path.iterdir())
    assert after == sorted([*before, "out"])


@pytest.mark.parametrize("decoder", ["libmspack", "libarchive"])
def test_decoder_option_names_backend(decoder: str) -> None:
    from msuinspect.cab.codecs.registry import default_codecs

    if decoder not in {c.key for c in default_codecs()}:
        pytest.skip(f"{decoder} not installed")
    r = invoke("list", "--hash", "--decoder", decoder, str(SAMPLE))
    assert r.exit_code == 0, r.stderr
    assert f"decoded by {decoder}" in r.stdout


def test_unknown_decoder_is_usage_error() -> None:
    r = invoke("list", "--decoder", "nope", str(SAMPLE))
    assert r.exit_code == 2


def test_decoders_command() -> None:
    r = invoke("decoders")
    assert r.exit_code == 0
    assert "zlib" in r.stdout


def test_extract_selected_members(tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = invoke("extract", "-r", str(SAMPLE), "-o", str(out), "-m", "*.mum", "-m", "*PKGPROPERTIES*")
    assert r.exit_code == 0, r.stderr
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert written == [
        "Windows6.0-KB9999901-x64-pkgProperties.txt",
        "Windows6.0-KB9999901-x64.cab/update.mum",
    ]


def test_inspect_json_shape() -> None:
    r = run(
        "inspect",
        "--json",
        "--trust-root",
        str(FIXTURES / "pki/root_ca.pem"),
        str(SAMPLE),
        str(FIXTURES / "pe/signed_dual.exe"),
        str(FIXTURES / "cat/test_v1.cat"),
    )
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["schema"] == "msuinspect.inspect/1"
    msu, pe, cat = doc["files"]
    for f in (msu, pe, cat):
        for key in ("path", "kind", "sha1", "sha256", "size", "error", "signatures", "findings"):
            assert key in f
        for s in f["signatures"]:
            for key in (
                "index",
                "nested",
                "digest_algorithm",
                "digest_valid",
                "signature_valid",
                "signer",
                "chain",
                "trusted",
                "trust_anchor",
                "timestamp",
            ):
                assert key in s
    assert msu["kind"] == "msu" and pe["kind"] == "pe" and cat["kind"] == "catalog"
    assert [s["digest_algorithm"] for s in msu["signatures"]] == ["sha1", "sha256"]
    assert [s["nested"] for s in msu["signatures"]] == [False, True]
    assert all(s["trusted"] for f in (msu, pe, cat) for s in f["signatures"])
    assert msu["signing"] == "dual-sha1-primary"
    assert pe["signatures"][0]["trust_anchor"]["subject"].startswith("CN=msuinspect TEST Root CA")


def test_inspect_reports_tampering_with_its_outcome() -> None:
    """A byte changed inside CFDATA: the folder cannot be read (error, exit 1, one stderr line
    naming its members), and the digest mismatch is still reported."""
    r = invoke("inspect", "--json", str(FIXTURES / "cab/tampered_signed_sha256.cab"))
    assert r.exit_code == 1
    (f,) = json.loads(r.stdout)["files"]
    assert f["outcome"] == "error"
    assert any(x.startswith("digest-mismatch") for x in f["reasons"])
    codes = {x["code"] for x in f["findings"]}
    assert {"digest-mismatch", "untrusted-root"} <= codes
    assert f["signatures"][0]["digest_valid"] is False
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and "[cfdata-checksum] (2 member(s): hello.txt, readme.txt)" in lines[0]


def test_inspect_as_of_and_bad_date() -> None:
    ok = invoke(
        "inspect",
        "--as-of",
        "2015-06-01",
        "--trust-root",
        str(FIXTURES / "pki/root_ca.pem"),
        str(FIXTURES / "cab/signed_expired_no_ts.cab"),
    )
    assert ok.exit_code == 0 and "trusted yes" in ok.stdout
    bad = invoke("inspect", "--as-of", "yesterday", str(SAMPLE))
    assert bad.exit_code == 2


def test_inspect_reports_every_layer_of_the_package() -> None:
    r = invoke("inspect", "--json", "--trust-root", str(FIXTURES / "pki/root_ca.pem"), str(SAMPLE))
    assert r.exit_code == 0, r.stderr
    (f,) = json.loads(r.stdout)["files"]
    pkg = f["package"]
    assert pkg["kind"] == "msu"
    by_path = {n["path"].split("!/", 1)[-1] if "!/" in n["path"] else "": n for n in pkg["nodes"]}
    inner = by_path["Windows6.0-KB9999901-x64.cab"]
    assert inner["kind"] == "update-cab" and inner["signing"] == "dual-sha1-primary"
    assert inner["trusted"] and [s["digest_algorithm"] for s in inner["signatures"]] == [
        "sha1",
        "sha256",
    ]
    cat = by_path["Windows6.0-KB9999901-x64.cab!/update.cat"]
    assert cat["kind"] == "catalog" and cat["trusted"] and cat["parsed"]["version"] == 1
    dll = next(n for p, n in by_path.items() if p.endswith("sample.dll"))
    assert dll["kind"] == "pe" and dll["signatures"][0]["digest_valid"] is True
    assert dll["coverage"]["status"] == "covered" and dll["coverage"]["hash_kind"] == "pe"
    summary = pkg["summary"]
    assert summary["kb_numbers"] == ["9999901"] and summary["target_version"] == "6.0"
    assert summary["carries_6003"] is True


def test_inspect_signatures_only_skips_the_package() -> None:
    r = invoke("inspect", "--json", "--signatures-only", str(SAMPLE))
    (f,) = json.loads(r.stdout)["files"]
    assert "package" not in f and f["sha256"] is None and f["signatures"]


def test_inspect_walks_a_folder_and_goes_on_past_bad_files(tmp_path: Path) -> None:
    """A download folder: packages in sub-folders, a broken cabinet, files that are not ours."""
    (tmp_path / "b" / "deep").mkdir(parents=True)
    (tmp_path / "b" / "deep" / SAMPLE.name).write_bytes(SAMPLE.read_bytes())
    (tmp_path / "a-broken.cab").write_bytes(b"MSCF\0\0\0\0" + b"\xff" * 40)
    (tmp_path / "notes.txt").write_text("not a package\n")
    (tmp_path / "link.msu").symlink_to(SAMPLE)  # links are not followed in folders
    r = invoke("inspect", "--json", "--signatures-only", str(tmp_path))
    assert r.exit_code == 1, r.stderr
    files = json.loads(r.stdout)["files"]
    assert [Path(f["path"]).relative_to(tmp_path).as_posix() for f in files] == [
        "a-broken.cab",
        f"b/deep/{SAMPLE.name}",
    ]
    assert files[0]["error"]["code"] and files[1]["signatures"]
    assert r.stderr.count("msuinspect: error: ") == 1 and "a-broken.cab" in r.stderr
    assert "Traceback" not in r.stderr
    # text output names each file as it is done
    text = invoke("inspect", "--signatures-only", str(tmp_path))
    assert text.exit_code == 1 and SAMPLE.name in text.stdout


def test_inspect_reports_an_unlistable_folder(tmp_path: Path) -> None:
    """A folder whose path is longer than the system allows cannot be listed, even by root."""
    import os

    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        for _ in range(24):  # 24 x 201 characters: beyond PATH_MAX (4096)
            os.mkdir("d" * 200, dir_fd=fd)
            nxt = os.open("d" * 200, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = nxt
    finally:
        os.close(fd)
    (tmp_path / "ok.cab").write_bytes(b"MSCF")
    r = invoke("inspect", "--json", "--signatures-only", str(tmp_path))
    assert r.exit_code == 1 and "Traceback" not in r.stderr
    files = json.loads(r.stdout)["files"]
    assert [Path(f["path"]).name for f in files] == ["ok.cab", "d" * 200]
    assert files[1]["error"]["code"] == "input-error"
    assert "cannot list folder" in r.stderr


def test_inspect_jsonl_streams_one_line_per_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.cab"
    broken.write_bytes(b"MSCF\0\0\0\0" + b"\xff" * 40)
    opts = ("--signatures-only", "--as-of", "2024-01-01")
    r = invoke("inspect", "--jsonl", *opts, str(SAMPLE), str(broken))
    assert r.exit_code == 1, r.stderr
    head, *files = (json.loads(line) for line in r.stdout.splitlines())
    assert head["schema"] == "msuinspect.inspect-jsonl/1" and "files" not in head
    assert head["trust_roots"] and head["as_of"]
    assert [Path(f["path"]).name for f in files] == [SAMPLE.name, "broken.cab"]
    assert files[0]["signatures"] and files[1]["error"]["code"]
    # the same file objects as --json
    j = invoke("inspect", "--json", *opts, str(SAMPLE), str(broken))
    assert json.loads(j.stdout)["files"] == files
    both = invoke("inspect", "--json", "--jsonl", str(SAMPLE))
    assert both.exit_code == 2 and "exclude each other" in both.stderr


def test_a_signature_area_fact_is_reported_once() -> None:
    """The cabinet layer and the signature report both see bytes after the signature."""
    cab = str(FIXTURES / "cab/trailing_after_sig.cab")
    text = invoke("inspect", cab)
    findings = [ln for ln in text.stdout.splitlines() if ln.startswith(("  error:", "  warning:"))]
    assert sum("cab-data-after-signature" in ln for ln in findings) == 1
    assert sum("signature-trailing-data" in ln for ln in findings) == 1
    doc = json.loads(invoke("inspect", "--json", cab).stdout)
    codes = [f["code"] for f in doc["files"][0]["findings"]]
    codes += [f["code"] for n in doc["files"][0]["package"]["nodes"] for f in n["findings"]]
    assert codes.count("cab-data-after-signature") == 1


@pytest.mark.parametrize(
    "option",
    [
        ("--max-output", "0"),
        ("--max-ratio", "0.5"),
        ("--max-ratio", "0"),
        ("--max-members", "-1"),
        ("--max-depth", "-1"),
    ],
)
def test_bad_limits_are_usage_errors(option: tuple[str, str]) -> None:
    r = invoke("list", *option, str(SAMPLE))
    assert r.exit_code == 2 and "Traceback" not in r.stderr and "Invalid value" in r.stderr


def test_a_missing_file_is_an_error_record_with_its_path(tmp_path: Path) -> None:
    missing = str(tmp_path / "gone.msu")
    r = invoke("inspect", "--json", missing)
    assert r.exit_code == 1
    (f,) = json.loads(r.stdout)["files"]
    assert f["error"]["code"] == "input-error" and f["error"]["path"] == missing
    assert r.stderr.count(missing) == 1


def test_json_is_written_as_it_is_encoded(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """echo_json writes what click.echo(json.dumps(doc, indent=2)) wrote, in pieces."""
    from msuinspect.cli import common

    doc = {"files": [{"name": f"m{i}\u00e9", "size": i, "flags": [None, True]} for i in range(300)]}
    for limit in (1 << 20, 64, 1):  # one write; many writes; one write per piece
        monkeypatch.setattr(common, "_JSON_WRITE", limit)
        common.echo_json(doc)
        assert capsys.readouterr().out == json.dumps(doc, indent=2) + "\n"


def test_inspect_folder_names_what_it_does_not_open(tmp_path: Path) -> None:
    """A folder walk never follows a link or opens a FIFO, and says so for each one that
    has a package extension; a name ending in a dot is read as Windows reads it."""
    import os
    import shutil

    cab = FIXTURES / "cab/stored_2files.cab"
    shutil.copy(cab, tmp_path / "a.cab.")
    (tmp_path / "link.cab").symlink_to(cab)
    os.mkfifo(tmp_path / "pipe.msu")
    r = invoke("inspect", "--fail-on", "never", str(tmp_path))
    assert r.exit_code == 0, r.stderr
    assert f"{tmp_path}/a.cab." in r.stdout
    assert f"msuinspect: note: {tmp_path}/link.cab: skipped: symbolic link to {cab}" in r.stderr
    assert f"msuinspect: note: {tmp_path}/pipe.msu: skipped: not a regular file" in r.stderr
    assert r.stdout.count("PROBLEM: ") == 1  # the unsigned a.cab. only
