"""Regressions found by the audit of the host evidence importers (inputs in
tests/fixtures/host/audit, copied from the audit's generated samples)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from msuinspect.cli import main
from msuinspect.host.errors import EvidenceError, NotA60HostError
from msuinspect.host.evidence import EvidenceRead, MixedEvidenceError
from msuinspect.host.importers import read_evidence, systeminfo
from msuinspect.host.merge import import_evidence, merge
from msuinspect.host.profile import Arch, HostProfile, Root
from msuinspect.host.textio import decode, split_lines

AUDIT = Path(__file__).resolve().parents[1] / "fixtures" / "host" / "audit"


def read(name: str) -> list[EvidenceRead]:
    return read_evidence((AUDIT / name).read_bytes(), name=name)


def profile(*names: str) -> HostProfile:
    return import_evidence([(n, (AUDIT / n).read_bytes()) for n in names]).profile


# 1. evidence of two hosts is refused, never merged


@pytest.mark.parametrize(
    "pair", [("si-hostA.txt", "si-hostB.txt"), ("si-es-hostA.txt", "si-es-hostB.txt")]
)
def test_two_hosts_files_are_refused_naming_both(pair: tuple[str, str]) -> None:
    with pytest.raises(MixedEvidenceError, match=r"2 hosts: SRVA \(.*\) and SRVB \(.*\)"):
        profile(*pair)


def test_host_names_compare_without_case() -> None:
    a = (AUDIT / "si-hostA.txt").read_bytes()
    assert profile("si-hostA.txt").name == "SRVA"
    p = import_evidence([("a.txt", a), ("b.txt", a.replace(b"SRVA", b"srva"))]).profile
    assert p.name is None or p.name.casefold() == "srva"


def test_two_hosts_cli_exit_1_and_no_profile(tmp_path: Path) -> None:
    out = tmp_path / "h.toml"
    r = CliRunner().invoke(
        main,
        [
            "host",
            "import",
            str(AUDIT / "si-hostA.txt"),
            str(AUDIT / "si-hostB.txt"),
            "-o",
            str(out),
        ],
    )
    assert r.exit_code == 1
    assert "SRVA" in r.stderr and "SRVB" in r.stderr and "[host-evidence]" in r.stderr
    assert not out.exists()


@pytest.mark.parametrize(
    ("name", "host"),
    [
        ("si-hostA.txt", "SRVA"),  # English
        ("si-fr-apostrophe.txt", "SRV01"),  # French
        ("si-es-hostA.txt", "SRVA"),  # Spanish
        ("si-it-6003-x86.txt", "SRV01"),  # Italian
        ("si-ru-cp866.txt", "SRV01"),  # Russian, OEM code page 866
        ("si-ru-utf16.txt", "SRV01"),
        ("si-zh-gbk.txt", "SRV01"),  # Chinese, GBK
        ("si-zh-utf16.txt", "SRV01"),
    ],
)
def test_host_name_label_in_every_language(name: str, host: str) -> None:
    assert profile(name).name == host


def test_oem_cyrillic_and_chinese_code_pages_are_recognised() -> None:
    assert decode((AUDIT / "si-ru-cp866.txt").read_bytes())[1] == "cp866"
    assert decode((AUDIT / "si-zh-gbk.txt").read_bytes())[1] == "gbk"
    assert decode((AUDIT / "si-es-hostA.txt").read_bytes())[1] == "cp850"


@pytest.mark.parametrize("name", ["si-two-hosts-onefile.txt", "si-es-two.txt"])
def test_two_systeminfo_outputs_in_one_file_are_refused(name: str) -> None:
    with pytest.raises(MixedEvidenceError, match=r"2 systeminfo outputs in one file.*SRVA.*SRVB"):
        read(name)


def test_two_systeminfo_outputs_in_one_cli_file_exit_1() -> None:
    r = CliRunner().invoke(main, ["host", "import", str(AUDIT / "si-two-hosts-onefile.txt")])
    assert r.exit_code == 1 and "systeminfo outputs" in r.stderr


def test_mixed_error_is_an_evidence_error() -> None:
    assert issubclass(MixedEvidenceError, EvidenceError)


# 2. _split is linear in the line length


def test_split_looks_at_a_bounded_label_on_a_line_of_colons(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen = 0
    real = systeminfo.label_key

    def counting(label: str) -> str:
        nonlocal seen
        seen += len(label)
        if seen > 50_000:
            raise AssertionError("label_key fed the whole line again and again")
        return real(label)

    monkeypatch.setattr(systeminfo, "label_key", counting)
    line = "Registered Owner:          " + "a:" * 150_000
    assert systeminfo._split(line, 27) == ("registeredowner", "a:" * 150_000)


def test_systeminfo_with_a_line_of_150000_colons_reads() -> None:
    data = (AUDIT / "si-hostA.txt").read_bytes()
    data = data.replace(b"Windows User", b"a:" * 150_000 + b" " * 1000 + b"x")
    p = merge(read_evidence(data, name="c.txt")).profile
    assert (p.name, p.build, p.arch) == ("SRVA", 6002, Arch.AMD64)


# 3. certutil: only the Root / AuthRoot stores tell which roots the host trusts


@pytest.mark.parametrize("name", ["cu-disallowed.txt", "cu-ca.txt", "cu-my.txt"])
def test_certutil_other_store_gives_no_root_fact(name: str) -> None:
    (r,) = read(name)
    assert r.kind == "certutil" and not r.facts
    store = name.removeprefix("cu-").removesuffix(".txt")
    assert any("only the Root and AuthRoot" in n and store in n.casefold() for n in r.notes)
    assert merge([r]).profile.roots is None


def test_certutil_root_store_still_reads() -> None:
    assert profile("cu-root-2010.txt").roots == {
        Root.ROOT_AUTHORITY,
        Root.ROOT_2001,
        Root.ROOT_2010,
    }


def test_certutil_truncated_root_then_authroot_is_not_complete() -> None:
    (r,) = read("cu-root-cut-authroot.txt")
    assert not r.facts and merge([r]).profile.roots is None


def test_certutil_spanish_key_id_before_the_cert_hash() -> None:
    assert profile("cu-es-keyid.txt").roots == {
        Root.ROOT_AUTHORITY,
        Root.ROOT_2001,
        Root.ROOT_2010,
    }


def test_authroot_alone_is_not_the_roots_list() -> None:
    data = b"AuthRoot\r\nCertUtil: -store command completed successfully.\r\n"
    assert merge(read_evidence(data, name="a.txt")).profile.roots is None


# 4. a failed certutil dump, a failed collector section


@pytest.mark.parametrize("name", ["cu-failed-mid.txt", "cu-failed.txt"])
def test_certutil_failed_is_not_a_complete_list(name: str) -> None:
    (r,) = read(name)
    assert not r.facts and any("failed" in n for n in r.notes)
    assert merge([r]).profile.roots is None


def test_collector_section_with_non_zero_exit_gives_no_facts() -> None:
    reads = read("collector-certutil-failed.txt")
    root = next(r for r in reads if r.source.endswith("[certutil-root]"))
    assert not root.facts and any("exited with -2146885628" in n for n in root.notes)
    p = merge(reads).profile
    assert p.roots is None
    assert p.build == 6003 and p.esu is not None  # the other sections still read


def test_collector_failed_section_drops_its_update_list() -> None:
    data = (AUDIT / "collector-certutil-failed.txt").read_bytes()
    data = data.replace(
        b"##### msuinspect end wmic-qfe exit=0 #####", b"##### msuinspect end wmic-qfe exit=5 #####"
    )
    wmic = next(r for r in read_evidence(data, name="c.txt") if r.source.endswith("[wmic-qfe]"))
    assert wmic.installed is None and not wmic.installed_complete and not wmic.facts


# 5. systeminfo arch only from the System Type line


def test_arch_not_from_a_host_name_starting_x86() -> None:
    p = profile("si-es-hostx86.txt")
    assert p.name == "X86-SQL01" and p.arch == Arch.AMD64


def test_no_system_type_line_leaves_arch_unknown() -> None:
    text, _enc = decode((AUDIT / "si-es-hostx86.txt").read_bytes())
    lines = [ln for ln in split_lines(text) if "Tipo de sistema" not in ln.text]
    r = systeminfo.parse(lines, source="s.txt", encoding="cp850")
    assert not any(f.field == "arch" for f in r.facts)
    assert any("System Type" in n for n in r.notes)


# 6. reg query ...\Packages /s /v CurrentState without 'End of search' is partial


def test_reg_packages_without_end_of_search_is_partial() -> None:
    (r,) = read("reg-pk-sv-cut.txt")
    assert r.installed is not None and len(r.installed) == 2
    assert not r.installed_complete and any("End of search" in n for n in r.notes)
    assert merge([r]).profile.has_kb("KB4474419") is None
    (full,) = read("reg-pk-sv.txt")
    assert full.installed_complete


# 7. wmic qfe cut short


@pytest.mark.parametrize("name", ["wmic-list-cut.txt", "wmic-table-cut.txt"])
def test_wmic_cut_short_is_partial(name: str) -> None:
    (r,) = read(name)
    assert r.installed is not None and not r.installed_complete
    assert merge([r]).profile.has_kb("KB4575904") is None


@pytest.mark.parametrize("name", ["wmic-list.txt", "wmic-table-utf16.txt"])
def test_wmic_whole_output_is_complete(name: str) -> None:
    (r,) = read(name)
    assert r.installed_complete, r.notes


# 8. PowerShell 7 truncates with U+2026


def test_gethotfix_ps7_ellipsis_is_truncation() -> None:
    (r,) = read("gethotfix-ps7-ellipsis.txt")
    kbs = {p.kb for p in r.installed or ()}
    assert "KB44744" not in kbs and kbs == {"KB948465", "KB4493730", "KB4474419"}
    assert not r.installed_complete and any("truncated" in n for n in r.notes)


# 9. evidence of another Windows version is refused


@pytest.mark.parametrize(
    ("name", "shown"), [("slmgr-61.txt", "6.1.7601"), ("reg-pk-61.txt", "6.1")]
)
def test_other_windows_version_slmgr_and_cbs_refused(name: str, shown: str) -> None:
    with pytest.raises(NotA60HostError, match=rf"not a Windows 6\.0 host \({shown}"):
        read(name)
