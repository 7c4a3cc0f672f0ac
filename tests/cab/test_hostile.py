"""Hostile cabinets found by mutation fuzzing and by hand (issue 12), each rebuilt here from
nothing: the whole file's work is bounded by its size, nesting cannot exhaust Python's
stack, name collisions cost O(1), nothing that was not expanded goes unsaid.

The limits these tests prove are listed in ``docs/security.md``.
"""

from __future__ import annotations

import hashlib
import os
import struct
import sys
from pathlib import Path

import pytest
from click.testing import Result

from msuinspect.cab.container import open_cabinet_file
from msuinspect.cab.extract import ExtractReport, OutputFolder, extract
from msuinspect.cab.tree import ContainerNode, scan
from msuinspect.errors import LimitExceededError
from msuinspect.findings import Severity
from msuinspect.limits import MAX_SAFE_DEPTH, MIB, Limits
from msuinspect.source import BytesSource

from support.cabs import BLOCK, MSZIP, STORED, cabinet, mszip_blocks, stored_blocks, stored_cab
from support.cli import invoke, run
from support.corpus import FIXTURES, CorpusEntry, cabinet_entries, corpus_params
from support.tools import cabextract_recursive, files_under, tree_digests

# --------------------------------------------------------------------------- builders


def nest(levels: int, inner: bytes | None = None) -> bytes:
    """``levels`` stored cabinets, each the only member of the next."""
    data = inner if inner is not None else stored_cab([(b"leaf.txt", b"the leaf\r\n")])
    for i in range(levels):
        data = stored_cab([(f"level{levels - i}.cab".encode(), data)])
    return data


def overlapping_tree(depth: int, width: int, leaf: bytes) -> bytes:
    """Each level: ``width`` members that all cover the same bytes, the next level."""
    data = leaf
    for i in range(depth):
        members = [(f"c{i}_{k}.cab".encode(), len(data), 0, 0) for k in range(width)]
        data = cabinet(members, [stored_blocks(data)], [(0, STORED)])
    return data


def distinct_tree(depth: int, width: int, leaf: bytes) -> bytes:
    """Each level: ``width`` distinct copies of the next level (linear in the file's size)."""
    data = leaf
    for i in range(depth):
        data = stored_cab([(f"c{i}_{k}.cab".encode(), data) for k in range(width)])
    return data


# --------------------------------------------------------------------------- helpers


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def run_extract(
    path: Path, dest: Path, *, recursive: bool = False, limits: Limits | None = None
) -> tuple[ExtractReport, OutputFolder]:
    cf = open_cabinet_file(path, limits=limits)
    out = OutputFolder(dest)
    rep = ExtractReport(out.root)
    for unit in cf.units:
        extract(unit, out, recursive=recursive, report=rep)
    rep.findings.extend(out.findings)
    return rep, out


def list_tree(path: Path | bytes, *, limits: Limits | None = None) -> list[ContainerNode]:
    src = BytesSource(path, "mem.cab") if isinstance(path, bytes) else path
    cf = open_cabinet_file(src, limits=limits)
    return [scan(u, decode=True, hashes=True, recursive=True) for u in cf.units]


NO_DEBUG = {"MSUINSPECT_DEBUG": "0"}


def cli(*args: str) -> Result:
    """The command in process, internal errors as one line (not a traceback)."""
    return invoke(*args, env=NO_DEBUG)


def all_findings(nodes: list[ContainerNode]) -> list[tuple[str, Severity]]:
    out = []
    stack = list(nodes)
    while stack:
        n = stack.pop()
        out += [(f.code, f.severity) for f in n.findings]
        stack += [m.child for m in n.members if m.child is not None]
    return out


# --------------------------------------------------------------------------- recursion


def test_depth_cap_is_safe_on_the_replay_path() -> None:
    """Nested cabinets read from replayed streams chain generators per level; at the cap
    that stays well inside half of Python's default recursion limit."""
    data = nest(MAX_SAFE_DEPTH)
    limits = Limits(max_depth=MAX_SAFE_DEPTH, max_in_memory=0)  # nothing held: replay
    old = sys.getrecursionlimit()
    depth_now = len(__import__("inspect").stack(0))
    sys.setrecursionlimit(depth_now + 500)
    try:
        trees = list_tree(data, limits=limits)
    finally:
        sys.setrecursionlimit(old)
    node = trees[0]
    levels = 0
    while node.members[0].child is not None:
        node = node.members[0].child
        levels += 1
    assert levels == MAX_SAFE_DEPTH
    assert node.members[0].member.name == "leaf.txt"
    assert node.members[0].sha256 == hashlib.sha256(b"the leaf\r\n").hexdigest()


def test_depth_cap_extract_replay_path(tmp_path: Path) -> None:
    path = write(tmp_path, "deep.cab", nest(MAX_SAFE_DEPTH))
    limits = Limits(max_depth=MAX_SAFE_DEPTH, max_in_memory=0)
    rep, _ = run_extract(path, tmp_path / "out", recursive=True, limits=limits)
    assert not rep.failed and not rep.not_expanded
    [leaf] = files_under(tmp_path / "out")
    assert leaf.read_bytes() == b"the leaf\r\n"
    assert len(leaf.relative_to(tmp_path / "out").parts) == MAX_SAFE_DEPTH + 1


@pytest.mark.slow
def test_deeper_than_the_cap_is_refused_not_a_crash(tmp_path: Path) -> None:
    """150 levels with --max-depth 200: a warning that 32 is used, the level beyond it
    reported as not expanded, exit 1, no traceback (was RecursionError, exit 70). A real
    process: a stack overflow must show as what it is, not take the test runner down."""
    path = write(tmp_path, "deep150.cab", nest(150))
    r = run("list", "-r", "--max-depth", "200", str(path), env=NO_DEBUG)
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr and "RecursionError" not in r.stderr
    assert f"deepest nesting msuinspect reads safely ({MAX_SAFE_DEPTH})" in r.stderr
    assert "[not-expanded]" in r.stderr
    assert "cab-nesting-too-deep" in r.stdout
    r = run(
        "extract", "-r", "--max-depth", "200", str(path), "-o", str(tmp_path / "out"), env=NO_DEBUG
    )
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr
    assert "[not-expanded]" in r.stderr
    [plain] = files_under(tmp_path / "out")
    assert plain.name == f"level{MAX_SAFE_DEPTH + 1}.cab"  # the one beyond the cap, as a file
    assert plain.read_bytes()[:4] == b"MSCF"


def test_limits_refuse_an_unsafe_depth() -> None:
    with pytest.raises(ValueError):
        Limits(max_depth=MAX_SAFE_DEPTH + 1)


# --------------------------------------------------------------------------- depth not hidden


def test_too_deep_nesting_is_reported(tmp_path: Path) -> None:
    """50 levels under default limits: extraction stops descending at --max-depth, says so
    on stderr and exits 1 (it wrote the next cabinet as a file and exited 0)."""
    path = write(tmp_path, "deep50.cab", nest(50))
    depth = Limits().max_depth
    r = cli("extract", "-r", str(path), "-o", str(tmp_path / "out"))
    assert r.exit_code == 1
    lines = [ln for ln in r.stderr.splitlines() if "[not-expanded]" in ln]
    assert len(lines) == 1, r.stderr
    assert f"beyond --max-depth {depth}" in lines[0]
    assert "NOT EXPANDED" in r.stdout
    [plain] = files_under(tmp_path / "out")
    assert plain.name == f"level{depth + 1}.cab"
    r = cli("list", "-r", str(path))
    assert r.exit_code == 1
    assert "[not-expanded]" in r.stderr


# --------------------------------------------------------------------------- names


@pytest.mark.slow
def test_same_name_collisions_cost_constant_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """3,000 members called the same: each gets the next free ~N with O(1) attempts (the old
    search retried every suffix, and gave up past 1,000), and one warning with a count."""
    n = 3000
    data = stored_cab([(b"same.txt", bytes([i % 251])) for i in range(n)])
    path = write(tmp_path, "same.cab", data)
    attempts = 0
    real_try = OutputFolder._try

    def counting(self: OutputFolder, cand: str, dfd: int | None, d: str | None) -> int | None:
        nonlocal attempts
        attempts += 1
        return real_try(self, cand, dfd, d)

    monkeypatch.setattr(OutputFolder, "_try", counting)
    rep, _ = run_extract(path, tmp_path / "out")
    assert not rep.failed
    assert rep.files_written == n
    assert attempts <= 2 * n
    collisions = [f for f in rep.findings if f.code == "extract-name-collision"]
    assert len(collisions) == 1
    assert collisions[0].evidence["count"] == n - 1
    assert (tmp_path / "out" / f"same~{n - 1}.txt").read_bytes() == bytes([(n - 1) % 251])


def test_folder_collisions_are_remembered(tmp_path: Path) -> None:
    """A file in the way of a folder is resolved once, not once per member."""
    files = [(b"d", b"a file called d")] + [(f"d\\{i}.txt".encode(), b"x") for i in range(500)]
    path = write(tmp_path, "dirs.cab", stored_cab(files))
    rep, _ = run_extract(path, tmp_path / "out")
    assert not rep.failed
    assert len(list((tmp_path / "out" / "d~1").iterdir())) == 500
    [f] = [f for f in rep.findings if f.code == "extract-name-collision"]
    assert f.evidence["count"] == 1


# --------------------------------------------------------------------------- amplification


def shared_folders_cab(nfolders: int = 300, size: int = 8 * MIB) -> bytes:
    """``nfolders`` CFFOLDERs naming one MSZIP chain of ``size`` zero bytes."""
    chain = mszip_blocks(bytes(size))
    members = [(f"f{i}.bin".encode(), size, i, 0) for i in range(nfolders)]
    return cabinet(members, [chain], [(0, MSZIP)] * nfolders)


@pytest.mark.slow
def test_shared_folder_chain_is_decoded_once_and_reported() -> None:
    data = shared_folders_cab()
    assert len(data) < 30_000
    cf = open_cabinet_file(BytesSource(data, "shared.cab"))
    tree = scan(cf.units[0], decode=True, hashes=True, recursive=False)
    assert all(m.error is None for m in tree.members)
    assert len({m.sha256 for m in tree.members}) == 1
    assert cf.units[0].budget.used == 8 * MIB  # one decode for 300 folders
    [f] = [f for f in tree.findings if f.code == "cab-shared-data"]
    assert f.severity is Severity.ERROR
    assert f.evidence["folders"] == 299


def test_shared_folder_chain_extract_is_refused(tmp_path: Path) -> None:
    """A 25 KB cabinet of 300 folders over one 8 MiB chain wrote 2.5 GB with exit 0."""
    path = write(tmp_path, "shared.cab", shared_folders_cab())
    r = cli("extract", str(path), "-o", str(tmp_path / "out"))
    assert r.exit_code == 1
    assert "extracted bytes exceed the limit" in r.stderr and "[limit-exceeded]" in r.stderr
    written = sum(p.stat().st_size for p in files_under(tmp_path / "out"))
    assert written <= Limits().expansion_floor


def test_partly_overlapping_chains_are_reported() -> None:
    chain = stored_blocks(bytes(range(256)) * 512)  # 4 blocks
    data = cabinet(
        [(b"a", 4 * BLOCK, 0, 0), (b"b", 3 * BLOCK, 1, 0)],
        [chain],
        [(0, STORED), (0, STORED)],
    )
    # make folder 1 start at the second block of folder 0's chain, with 3 blocks
    rec1 = 36 + 8
    start0, _n, comp = struct.unpack_from("<IHH", data, 36)
    data = data[:rec1] + struct.pack("<IHH", start0 + 8 + BLOCK, 3, comp) + data[rec1 + 8 :]
    [tree] = list_tree(data)
    assert ("cab-shared-data", Severity.ERROR) in all_findings([tree])
    relaxed = Limits(allow_shared_data=True)
    [tree] = list_tree(data, limits=relaxed)
    assert ("cab-shared-data", Severity.WARNING) in all_findings([tree])


@pytest.mark.slow
def test_members_sharing_one_mib_extract_is_refused(tmp_path: Path) -> None:
    """2,000 members covering the same 1 MiB wrote 2 GB with exit 0."""
    body = os.urandom(MIB)
    members = [(f"m{i}.bin".encode(), MIB, 0, 0) for i in range(2000)]
    data = cabinet(members, [stored_blocks(body)], [(0, STORED)])
    path = write(tmp_path, "samebytes.cab", data)
    with pytest.raises(LimitExceededError, match="extracted bytes exceed"):
        run_extract(path, tmp_path / "out")
    written = sum(p.stat().st_size for p in files_under(tmp_path / "out"))
    assert written <= Limits().work_cap(len(data))
    # one warning for 1,999 repeats; listing (one decode) is fine
    [tree] = list_tree(path)
    [f] = [f for f in tree.findings if f.code == "cab-member-shared"]
    assert f.evidence["count"] == 1999 and f.severity is Severity.WARNING


def test_partly_overlapping_members_are_an_error() -> None:
    body = bytes(range(200))
    data = cabinet([(b"a", 150, 0, 0), (b"b", 150, 0, 50)], [stored_blocks(body)], [(0, STORED)])
    [tree] = list_tree(data)
    assert ("cab-member-overlap", Severity.ERROR) in all_findings([tree])


def nested_bomb() -> bytes:
    """An MSZIP cabinet holding an MSZIP cabinet of 256 MiB of a repeated pattern: each
    folder alone stays within the per-folder ratio (400), together they expand the file
    about 10,000 times."""
    pattern = hashlib.sha512(b"pattern").digest()  # 64 bytes: deflate gets ~100:1
    inner = cabinet(
        [(b"pattern.bin", 256 * MIB, 0, 0)],
        [mszip_blocks(pattern * (256 * MIB // 64))],
        [(0, MSZIP)],
    )
    return cabinet([(b"inner.cab", len(inner), 0, 0)], [mszip_blocks(inner)], [(0, MSZIP)])


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bomb") / "nested-bomb.cab"
    path.write_bytes(nested_bomb())
    return path


def test_nested_ratio_is_bounded_by_the_top_level_file(bomb: Path, tmp_path: Path) -> None:
    size = bomb.stat().st_size
    cap = Limits().work_cap(size)
    assert cap == Limits().expansion_floor  # a small file
    cf = open_cabinet_file(bomb)
    with pytest.raises(LimitExceededError, match="decompressed output exceeds"):
        run_extract(bomb, tmp_path / "out", recursive=True)
    with pytest.raises(LimitExceededError):
        scan(cf.units[0], decode=True, hashes=True, recursive=True)
    assert cf.units[0].budget.used <= cap + BLOCK
    written = sum(p.stat().st_size for p in files_under(tmp_path / "out"))
    assert written <= cap


def test_nested_ratio_cli_message(bomb: Path, tmp_path: Path) -> None:
    r = cli("extract", "-r", str(bomb), "-o", str(tmp_path / "out"))
    assert r.exit_code == 1
    assert f"for a file of {bomb.stat().st_size} bytes" in r.stderr
    assert "--max-expansion" in r.stderr


def test_wide_overlapping_tree_is_refused(tmp_path: Path) -> None:
    """8 children per level that all cover the next level: 8^4 leaves from one copy."""
    leaf = stored_cab([(b"payload.bin", os.urandom(MIB))])
    data = overlapping_tree(4, 8, leaf)
    path = write(tmp_path, "wide.cab", data)
    with pytest.raises(LimitExceededError):
        run_extract(path, tmp_path / "out", recursive=True)
    with pytest.raises(LimitExceededError):
        list_tree(path)


@pytest.mark.slow
def test_wide_distinct_tree_is_decoded_once_per_level(tmp_path: Path) -> None:
    """8 distinct children per level: every level is decoded once, from memory (replaying
    the parent for each child made this exponential in the depth)."""
    depth = 4
    data = distinct_tree(depth, 8, stored_cab([(b"leaf.txt", b"x" * 200)]))
    path = write(tmp_path, "tree.cab", data)
    cf = open_cabinet_file(path)
    tree = scan(cf.units[0], decode=True, hashes=True, recursive=True)
    leaves = [m for m in tree.iter_members() if m.child is None]
    assert len(leaves) == 8**depth and all(m.error is None for m in leaves)
    assert cf.units[0].budget.used <= (depth + 1) * len(data)
    rep, _ = run_extract(path, tmp_path / "out", recursive=True)
    assert rep.files_written == 8**depth and not rep.not_expanded


# --------------------------------------------------------------------------- extract CLI


SAMPLE = FIXTURES / "sample/Windows6.0-KB9999901-x64.msu"


def test_member_pattern_without_r_explains(tmp_path: Path) -> None:
    r = cli("extract", str(SAMPLE), "-o", str(tmp_path / "a"), "-m", "*.mum")
    assert r.exit_code == 1
    assert "'*.mum' matched no member" in r.stderr
    assert "only searched with -r" in r.stderr
    r = cli("extract", "-r", str(SAMPLE), "-o", str(tmp_path / "b"), "-m", "*.mum")
    assert r.exit_code == 0, r.stderr
    assert [p.name for p in files_under(tmp_path / "b")] == ["update.mum"]


def test_non_empty_output_needs_a_choice(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert cli("extract", str(SAMPLE), "-o", str(out)).exit_code == 0
    first = {p.relative_to(out): p.read_bytes() for p in files_under(out)}
    r = cli("extract", str(SAMPLE), "-o", str(out))
    assert r.exit_code == 2 and "--overwrite" in r.stderr and "--skip-existing" in r.stderr
    (out / "WSUSSCAN.cab").write_bytes(b"edited")
    r = cli("extract", str(SAMPLE), "-o", str(out), "--skip-existing")
    assert r.exit_code == 0, r.stderr
    assert "skipped" in r.stdout
    assert (out / "WSUSSCAN.cab").read_bytes() == b"edited"
    r = cli("extract", str(SAMPLE), "-o", str(out), "--overwrite")
    assert r.exit_code == 0, r.stderr
    assert {p.relative_to(out): p.read_bytes() for p in files_under(out)} == first  # no ~1


def test_overwrite_replaces_a_link_without_following_it(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"not yours")
    out = tmp_path / "out"
    out.mkdir()
    (out / "WSUSSCAN.cab").symlink_to(outside)
    r = cli("extract", str(SAMPLE), "-o", str(out), "--overwrite")
    assert r.exit_code == 0, r.stderr
    assert outside.read_bytes() == b"not yours"
    assert not (out / "WSUSSCAN.cab").is_symlink()
    assert (out / "WSUSSCAN.cab").read_bytes()[:4] == b"MSCF"


def test_names_colliding_in_one_cabinet_still_get_suffixes(tmp_path: Path) -> None:
    path = write(
        tmp_path, "two.cab", stored_cab([(b"a.txt", b"1"), (b"A.TXT", b"2"), (b"a.txt", b"3")])
    )
    r = cli("extract", str(path), "-o", str(tmp_path / "out"))
    assert r.exit_code == 0, r.stderr
    assert (tmp_path / "out" / "a~1.txt").read_bytes() in (b"2", b"3")


@pytest.mark.parametrize("command", ["list", "extract"])
def test_help_lists_exit_codes(command: str) -> None:
    r = cli(command, "--help")
    assert r.exit_code == 0
    assert "Exit status:" in r.stdout
    for code in ("0 ", "1 ", "2 ", "70 "):
        assert f"\n    {code}" in r.stdout


# --------------------------------------------------------------------------- corpus

REAL_MICROSOFT = ("msu/", "cab/update/", "cab/ms/", "cab/fod/")


@pytest.mark.corpus
def test_large_files_cab_is_refused_under_extract_r(corpus: Path, tmp_path: Path) -> None:
    """26 KB whose nested cabinet made extract -r write a 2,147,450,880-byte file."""
    path = corpus / "cab/cabextract/large-files-cab.cab"
    r = cli("extract", "-r", str(path), "-o", str(tmp_path / "out"))
    assert r.exit_code == 1
    assert "decompressed output exceeds the limit" in r.stderr
    written = sum(p.stat().st_size for p in files_under(tmp_path / "out"))
    assert written <= Limits().work_cap(path.stat().st_size)


def _real_microsoft() -> list[object]:
    return corpus_params([e for e in cabinet_entries() if e.rel.startswith(REAL_MICROSOFT)])


@pytest.mark.corpus
@pytest.mark.oracle
@pytest.mark.parametrize("entry", _real_microsoft())
def test_defaults_accept_real_microsoft_files(entry: object, tmp_path: Path) -> None:
    """Every real Microsoft cabinet and MSU: extract -r under the default limits succeeds,
    finds no shared folder data, and writes what cabextract (applied recursively) writes."""
    assert isinstance(entry, CorpusEntry)
    rep, _ = run_extract(entry.path, tmp_path / "ours", recursive=True)
    assert not rep.failed and not rep.not_expanded
    codes = {(f.code, f.severity) for f in rep.findings}
    assert ("cab-shared-data", Severity.ERROR) not in codes
    assert ("cab-member-overlap", Severity.ERROR) not in codes
    cabextract_recursive(entry.path, tmp_path / "ref")
    assert tree_digests(tmp_path / "ours") == tree_digests(tmp_path / "ref")
