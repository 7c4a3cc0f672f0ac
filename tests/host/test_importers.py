"""Each evidence importer on samples in the byte formats Windows prints."""

from __future__ import annotations

from pathlib import Path

import pytest

from msuinspect.host.errors import EvidenceError, NotA60HostError
from msuinspect.host.evidence import EvidenceRead
from msuinspect.host.importers import read_evidence, sniff_kind
from msuinspect.host.merge import import_evidence, merge
from msuinspect.host.profile import Arch, EsuLicence, HostProfile, Product, Root
from msuinspect.host.textio import decode, split_lines

HOST = Path(__file__).resolve().parents[1] / "fixtures" / "host"


def read(name: str) -> list[EvidenceRead]:
    return read_evidence((HOST / name).read_bytes(), name=name)


def profile(*names: str) -> HostProfile:
    return import_evidence([(n, (HOST / n).read_bytes()) for n in names]).profile


def test_samples_are_crlf_in_their_encodings() -> None:
    assert (HOST / "systeminfo-ps-utf16.txt").read_bytes()[:2] == b"\xff\xfe"
    assert (HOST / "wmic-qfe-list.txt").read_bytes()[:2] == b"\xff\xfe"
    assert "\r\r\n".encode("utf-16-le") in (HOST / "wmic-qfe-list.txt").read_bytes()
    de = (HOST / "systeminfo-de-6002-ssu.txt").read_bytes()
    assert b"\r\n" in de and "ä".encode("cp850") in de
    assert decode(de)[1] == "cp850"


def test_systeminfo_english_oem() -> None:
    (r,) = read("systeminfo-en-6002-rtm.txt")
    assert r.kind == "systeminfo"
    p = merge([r]).profile
    assert (p.build, p.arch, p.product) == (6002, Arch.AMD64, Product.SERVER_UNKNOWN)
    assert p.name == "SRV2008RTM"
    assert p.kb_numbers() == {"KB948465"}
    assert p.installed_complete
    assert p.has_kb("KB4474419") is False
    assert any(x.identity and x.identity.startswith("{3E2BC3C1") for x in p.installed or ())
    assert p.evidence["build"] == "systeminfo-en-6002-rtm.txt:5"


def test_systeminfo_german() -> None:
    p = profile("systeminfo-de-6002-ssu.txt")
    assert (p.build, p.arch) == (6002, Arch.AMD64)
    assert p.kb_numbers() == {"KB948465", "KB4493730"}
    assert p.installed_complete


def test_systeminfo_french_nbsp_and_colon_label_x86() -> None:
    p = profile("systeminfo-fr-6003-x86.txt")
    assert (p.build, p.arch, p.name) == (6003, Arch.X86, "SRV2008FR")
    assert p.kb_numbers() == {"KB948465", "KB4493730", "KB4474419"}
    assert p.installed_complete


def test_systeminfo_utf16_truncated_hotfix_list_is_partial() -> None:
    (r,) = read("systeminfo-ps-utf16.txt")
    assert r.encoding == "utf-16-le-bom"
    p = merge([r]).profile
    assert p.build == 6003 and "KB4556860" in p.kb_numbers()
    assert not p.installed_complete
    assert p.has_kb("KB4598288") is None  # not listed, list partial -> unknown, not missing
    assert any("5 stated but 4 listed" in n for n in r.notes)


@pytest.mark.parametrize(
    ("name", "shown"), [("systeminfo-win7.txt", "6.1.7601"), ("systeminfo-win10.txt", "10.0.19045")]
)
def test_other_windows_versions_are_refused(name: str, shown: str) -> None:
    with pytest.raises(NotA60HostError, match=rf"not a Windows 6\.0 host \({shown}\)"):
        read(name)


def test_truncated_and_junk_give_clear_errors() -> None:
    with pytest.raises(EvidenceError, match="truncated"):
        read("systeminfo-truncated.txt")
    with pytest.raises(EvidenceError, match="binary data"):
        read("junk.bin")
    with pytest.raises(EvidenceError, match="empty"):
        read_evidence(b"\r\n\r\n", name="empty.txt")
    with pytest.raises(EvidenceError, match="not recognised"):
        read_evidence(b"hello\r\nworld\r\n", name="x.txt")


def test_removing_a_hotfix_line_turns_missing_into_unknown() -> None:
    data = (HOST / "systeminfo-de-6002-ssu.txt").read_bytes()
    cut = b"\r\n".join(x for x in data.split(b"\r\n") if b"KB4493730" not in x)
    p = merge(read_evidence(cut, name="cut.txt")).profile
    assert p.has_kb("KB4493730") is None
    assert profile("systeminfo-de-6002-ssu.txt").has_kb("KB4474419") is False


def test_wmic_list_utf16_crcrlf_filetime() -> None:
    (r,) = read("wmic-qfe-list.txt")
    assert r.kind == "wmic-qfe"
    p = merge([r]).profile
    assert p.kb_numbers() == {"KB948465", "KB4493730", "KB4474419", "KB4556860"}
    kb = {x.kb: x for x in p.installed or ()}
    assert kb["KB4493730"].installed_on == "2019-03-21"
    assert p.installed_complete


def test_wmic_csv() -> None:
    p = profile("wmic-qfe.csv")
    assert p.kb_numbers() == {"KB948465", "KB4493730"}
    guid = [x for x in p.installed or () if x.kb is None]
    assert guid and guid[0].installed_on == "2019-03-21"
    assert p.name == "SRV2008RTM"


def test_gethotfix_table_and_export_csv() -> None:
    table = profile("gethotfix-table.txt")
    assert table.kb_numbers() == {"KB948465", "KB4493730", "KB4474419"}
    assert table.name == "SRV2008X86"
    csvp = profile("gethotfix-export.csv")
    assert csvp.kb_numbers() == {"KB948465", "KB4493730"}
    assert read("gethotfix-export.csv")[0].kind == "get-hotfix"


def test_reg_cbs_packages_states_and_versions() -> None:
    p = profile("reg-cbs-packages.txt")
    assert p.installed_complete
    pkgs = p.packages_for("KB4474419")
    assert {x.version for x in pkgs} == {"6.0.4.0"}
    assert all(x.state == "installed" for x in pkgs)
    staged = p.packages_for("KB5016891")
    assert staged[0].state == "staged" and "KB5016891" not in p.kb_numbers()
    assert p.packages_for("KB4556860")[0].state == "superseded"
    assert "KB4556860" in p.kb_numbers()
    assert p.product == Product.SERVER_UNKNOWN  # Foundation 6.0.6001.18000


def test_reg_currentversion_buildlabex_and_sha2() -> None:
    p = profile("reg-currentversion.txt", "reg-sha2.txt")
    assert (p.build, p.revision, p.arch) == (6003, 20491, Arch.AMD64)
    assert p.sha2_flags is True
    assert p.evidence["revision"] == "reg-currentversion.txt:15"


def test_reg_currentversion_of_windows_10_is_refused() -> None:
    text = (
        "\r\nHKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\r\n"
        "    CurrentVersion    REG_SZ    6.3\r\n"
        "    CurrentBuildNumber    REG_SZ    19045\r\n"
        "    CurrentMajorVersionNumber    REG_DWORD    0xa\r\n"
        "    CurrentMinorVersionNumber    REG_DWORD    0x0\r\n"
    )
    with pytest.raises(NotA60HostError, match=r"\(10\.0\.19045\)"):
        read_evidence(text.encode("cp437"), name="cv.txt")


def test_certutil_roots_by_thumbprint() -> None:
    assert profile("certutil-root-inbox.txt").roots == {Root.ROOT_AUTHORITY, Root.ROOT_2001}
    assert profile("certutil-root-2010-2011.txt").roots == set(Root)


def test_certutil_by_serial_when_no_thumbprint_and_truncation() -> None:
    lines = (HOST / "certutil-root-inbox.txt").read_bytes().split(b"\r\n")
    no_hash = b"\r\n".join(x for x in lines if b"sha1" not in x)
    assert merge(read_evidence(no_hash, name="c.txt")).profile.roots == {
        Root.ROOT_AUTHORITY,
        Root.ROOT_2001,
    }
    cut = b"\r\n".join(x for x in lines if not x.startswith(b"CertUtil:"))
    (r,) = read_evidence(cut, name="c.txt")
    assert merge([r]).profile.roots is None
    assert "truncated" in r.notes[0]


def test_slmgr_esu_year() -> None:
    (r,) = read("slmgr-dlv-esu-y2.txt")
    assert merge([r]).profile.esu == EsuLicence.YEAR2
    text = (HOST / "slmgr-dlv-esu-y2.txt").read_bytes().replace(b": Licensed", b": Unlicensed")
    assert merge(read_evidence(text, name="s.txt")).profile.esu == EsuLicence.NONE


def test_dispatcher_sniffs_content_not_name() -> None:
    kinds = {}
    for name in (
        "systeminfo-en-6002-rtm.txt",
        "wmic-qfe.csv",
        "gethotfix-table.txt",
        "reg-sha2.txt",
        "certutil-root-inbox.txt",
        "slmgr-dlv-esu-y2.txt",
    ):
        text, _ = decode((HOST / name).read_bytes())
        kinds[name] = sniff_kind(split_lines(text))
        # a misleading name changes nothing
        assert read_evidence((HOST / name).read_bytes(), name="evidence.csv")[0].kind == kinds[name]
    assert list(kinds.values()) == [
        "systeminfo",
        "wmic-qfe",
        "get-hotfix",
        "reg-query",
        "certutil",
        "slmgr",
    ]


def test_quoted_and_lf_copies_read_the_same() -> None:
    text, _ = decode((HOST / "systeminfo-en-6002-rtm.txt").read_bytes())
    quoted = "\n".join("> " + x for x in text.split("\r\n")).encode("utf-8")
    p = merge(read_evidence(quoted, name="ticket.txt")).profile
    assert (p.build, p.arch, p.kb_numbers()) == (6002, Arch.AMD64, {"KB948465"})
    bomless = text.encode("utf-16-le")
    assert merge(read_evidence(bomless, name="u.txt")).profile.build == 6002


def test_conflicting_builds_are_recorded_not_picked() -> None:
    p = profile("systeminfo-en-6002-rtm.txt", "reg-currentversion.txt")
    assert p.build is None
    (c,) = [c for c in p.conflicts if c.field == "build"]
    assert {v for v, _ in c.values} == {"6002", "6003"}
    assert p.arch == Arch.AMD64


def test_merge_many_sources() -> None:
    p = profile(
        "systeminfo-ps-utf16.txt",
        "wmic-qfe-list.txt",
        "reg-currentversion.txt",
        "reg-sha2.txt",
        "certutil-root-inbox.txt",
    )
    assert (p.build, p.revision) == (6003, 20491)
    assert p.installed_complete  # wmic lists everything, systeminfo was truncated
    assert p.sha2_flags and p.roots == {Root.ROOT_AUTHORITY, Root.ROOT_2001}
    assert not p.conflicts
