"""Names chosen by whoever made a file never drive the terminal or forge a report line.

A file name, a cabinet member name or a certificate name holding a newline, ESC/OSC or a
bidi control is shown escaped (``\\n``, ``\\x1b``, ``\\u202e``) by every text renderer and
on standard error; JSON keeps the real name (JSON escapes control characters itself)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
from pathlib import Path

import pytest

from support.cabs import stored_cab
from support.cli import invoke
from support.corpus import FIXTURES

#: what must never reach the terminal raw: C0 (but the line feed between lines), DEL, C1,
#: bidi controls, line/paragraph separators, lone surrogates
_RAW = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]"
)

#: the hostile member names (the third one: a right-to-left override, as UTF-8)
_MEMBERS = (
    b"x\x1b]0;PWNED\x07\nOK: forged.txt",
    b"a\rb\x1b[2J.txt",
    "invoice\u202etxt.exe".encode(),
)
_SHOWN = (
    "x\\x1b]0;PWNED\\x07\\nOK: forged.txt",
    "a\\rb\\x1b[2J.txt",
    "invoice\\u202etxt.exe",
)
#: CFFILE attribs: archive, and the name is UTF-8 (_A_NAME_IS_UTF)
_UTF8_NAME = 0x20 | 0x80


def _assert_clean(text: str) -> None:
    bad = _RAW.search(text)
    assert bad is None, f"raw {bad.group()!r} in {text!r}"


def _hostile_cab() -> bytes:
    data = bytearray(stored_cab([(b"ok.txt", b"fine\n")] + [(n, b"evil\n") for n in _MEMBERS]))
    at = bytes(data).index(_MEMBERS[2] + b"\0")  # the attribs word is just before the name
    data[at - 2 : at] = _UTF8_NAME.to_bytes(2, "little")
    return bytes(data)


def test_a_file_name_with_a_newline_and_esc_is_one_escaped_outcome_line(tmp_path: Path) -> None:
    path = tmp_path / "x.msu\n\x1b[2JOK: Windows6.0-KB4474419-x64.msu"
    path.write_bytes(b"not an update")
    r = invoke("inspect", str(path))
    _assert_clean(r.stdout)
    _assert_clean(r.stderr)
    heads = [ln for ln in r.stdout.splitlines() if re.match(r"(OK|WARNING|PROBLEM|ERROR):", ln)]
    assert heads == [f"PROBLEM: {tmp_path}/x.msu\\n\\x1b[2JOK: Windows6.0-KB4474419-x64.msu"]


def test_a_file_that_cannot_be_read_has_escaped_error_lines(tmp_path: Path) -> None:
    path = tmp_path / "t\n\x1b]0;PWNED\x07.cab"
    path.write_bytes(stored_cab([(b"a.txt", b"x" * 1000)])[:-500])  # truncated
    r = invoke("inspect", str(path))
    assert r.exit_code == 1
    _assert_clean(r.stdout)
    _assert_clean(r.stderr)
    assert r.stdout.startswith(f"ERROR: {tmp_path}/t\\n\\x1b]0;PWNED\\x07.cab\n")
    lines = r.stderr.splitlines()
    assert lines and all(ln.startswith("msuinspect: error: ") for ln in lines), lines
    assert all("t\\n\\x1b]0;PWNED\\x07.cab" in ln for ln in lines)


def test_list_and_extract_error_lines_are_escaped(tmp_path: Path) -> None:
    path = tmp_path / "t\n\x1b]0;PWNED\x07.cab"
    path.write_bytes(stored_cab([(b"a.txt", b"x" * 1000), (b"b.txt", b"y" * 1000)])[:-1500])
    r = invoke("list", "--hash", str(path))
    assert r.exit_code == 1
    _assert_clean(r.stdout)
    _assert_clean(r.stderr)
    assert r.stderr and all(ln.startswith("msuinspect: error: ") for ln in r.stderr.splitlines())
    x = invoke("extract", str(path), "-o", str(tmp_path / "out"), "-m", "z\x1b[2J*")
    _assert_clean(x.stderr)


def test_an_undecodable_file_name_shows_its_bytes(tmp_path: Path) -> None:
    path = os.fsdecode(os.fsencode(tmp_path) + b"/bad\xff\x9b.msu")
    Path(path).write_bytes(b"not an update")
    r = invoke("inspect", path)
    _assert_clean(r.stdout)
    assert f"PROBLEM: {tmp_path}/bad\\xff\\x9b.msu\n" in r.stdout


def test_member_names_are_escaped_by_list_but_not_in_json(tmp_path: Path) -> None:
    cab = tmp_path / "members.cab"
    cab.write_bytes(_hostile_cab())
    r = invoke("list", str(cab))
    assert r.exit_code == 0, r.stderr
    _assert_clean(r.stdout)
    _assert_clean(r.stderr)
    row = re.compile(r"\s+\d+\s+\d+\s+\d+\s+\d+\s+\S+ \S+\s+\S{6}  (.*)")
    names = [m.group(1) for ln in r.stdout.splitlines() if (m := row.fullmatch(ln))]
    assert names == ["ok.txt", *_SHOWN]
    # JSON keeps the real names: it escapes control characters itself
    doc = json.loads(invoke("list", "--json", str(cab)).stdout)
    names = [m["name"] for m in doc["files"][0]["units"][0]["members"]]
    assert names == ["ok.txt", *(m.decode("utf-8") for m in _MEMBERS)]


def test_member_names_are_escaped_by_inspect_tree(tmp_path: Path) -> None:
    cab = tmp_path / "members.cab"
    cab.write_bytes(_hostile_cab())
    r = invoke("inspect", "--tree", str(cab))
    _assert_clean(r.stdout)
    _assert_clean(r.stderr)
    tree = r.stdout.split("  tree:\n", 1)[1].splitlines()
    for shown in _SHOWN:
        assert any(ln.strip().startswith(f"{shown}  [") for ln in tree), (shown, tree)
    assert not any(ln.startswith("OK: ") for ln in r.stdout.splitlines())


def test_plan_escapes_file_names(tmp_path: Path) -> None:
    (tmp_path / "x\n\x1b[31mOK.msu").write_bytes(b"not an update")
    r = invoke("plan", str(tmp_path), "--host", "build=6002,arch=amd64")
    _assert_clean(r.stdout)
    _assert_clean(r.stderr)
    unwrapped = "".join(ln.strip() for ln in r.stdout.splitlines())  # long paths are wrapped
    assert "x\\n\\x1b[31mOK.msu" in unwrapped


def test_certificate_names_program_and_url_are_escaped() -> None:
    """A signature of a real signed PE, its signer replaced by a certificate whose subject
    and issuer hold ESC, OSC and a newline, and a hostile program name and URL."""
    pytest.importorskip("cryptography")
    from asn1crypto import x509 as asn1_x509
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    from msuinspect import TrustStore
    from msuinspect.authenticode.certs import describe
    from msuinspect.authenticode.inspect import inspect_file
    from msuinspect.report import signatures_text

    hostile = "Evil\x1b]0;PWNED\x07\nOK: Microsoft Windows\u202e"
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostile)])
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
        .not_valid_after(dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
        .sign(key, hashes.SHA256())
    )
    info = describe(asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)))
    assert hostile in info.subject

    rep = inspect_file(str(FIXTURES / "pe" / "signed_sha256.exe"), trust=TrustStore.default())
    sig = dataclasses.replace(
        rep.signatures[0],
        signer=info,
        chain=None,
        certificates=(info,),
        program_name="prog\x1b[2J",
        more_info_url="http://x/\x1b]8;;http://evil/\x07",
    )
    lines: list[str] = []
    signatures_text.render_signature(sig, lines.append)
    text = "\n".join(lines)
    _assert_clean(text)
    assert "signer Evil\\x1b]0;PWNED\\x07\\nOK: Microsoft Windows\\u202e [" in text
    assert "program prog\\x1b[2J  http://x/\\x1b]8;;http://evil/\\x07" in text


def test_host_profile_names_identities_and_evidence_are_escaped() -> None:
    """Host evidence (a systeminfo or registry export) names the host, its packages and the
    files the facts came from: all shown escaped."""
    from msuinspect import load_host
    from msuinspect.host.profile import InstalledPackage
    from msuinspect.report import host_text

    host = dataclasses.replace(
        load_host("build=6002,arch=amd64"),
        name="srv\x1b]0;PWNED\x07",
        installed=(InstalledPackage(kb=None, identity="Package\nOK\u202e"),),
        evidence={"*": "evidence\x1b[2J.txt:1"},
    )
    text = host_text.render_profile(host)
    _assert_clean(text)
    assert text.startswith("host srv\\x1b]0;PWNED\\x07\n")
    assert "    Package\\nOK\\u202e\n" in text
    assert "evidence\\x1b[2J.txt:1" in text
