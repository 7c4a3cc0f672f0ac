"""cabarchive as a second independent oracle for stored and MSZIP cabinets.

cabarchive (PyPI ``cabarchive``, by Richard Hughes) is a small pure-Python reader and writer
of stored and MSZIP cabinets, written apart from msuinspect, libmspack (cabextract) and 7-Zip.
For every cabinet of the corpus and of ``tests/fixtures``, the cabinet at offset 0 is read by
both (msuinspect without set following or embedded-cabinet search, as cabarchive reads it)
and the outcome is one of these, each checked:

``agree``
    cabarchive reads it and its members equal ours, in order: name (the bytes stored in
    CFFILE), size and SHA-256 of the content. cabarchive keys members by name, so duplicate
    names would show up here as a difference.
``agree-255-name``
    the same, except that cabarchive returns an empty name for a 255-byte name. [MS-CAB] lets
    ``szName`` take 256 bytes with its NUL (CB_MAX_FILENAME); cabarchive looks for the NUL in
    the first 255 bytes only, misses it and falls back to ``""`` (msuinspect, cabextract and
    7-Zip read the name).
``unsupported-method``
    a folder is LZX or Quantum, which cabarchive does not implement: it must refuse with
    ``NotSupportedError`` naming that method, never return bytes. Every real update cabinet
    is here: this is why cabarchive cannot be the production reader (docs/architecture.md).
``multivolume``
    the cabinet belongs to a multi-volume set; cabarchive reads single cabinets only and
    must refuse. (It also does not skip the ``szCabinetPrev``/``szCabinetNext`` strings, so on
    a first volume it reads CFFOLDER at the wrong offset and refuses for a garbled reason.)
``empty-folder``
    a folder has ``cCFData`` = 0 and holds only empty members. [MS-CAB] allows that (and
    cabextract and 7-Zip read such cabinets); cabarchive refuses with "No CFDATA blocks".
    msuinspect must have read every member of such a folder as empty.
``both-refuse``
    msuinspect cannot read the cabinet, or some member of it; cabarchive must refuse the
    cabinet too (it has no partial reads), never hand out bytes we consider unreadable.
``cabarchive-reads-malformed``
    listed in :data:`CABARCHIVE_READS_MALFORMED` with the reason msuinspect is right.

Names are compared as stored bytes: cabarchive always decodes names as UTF-8 whatever the
``_A_NAME_IS_UTF`` attribute says (re-encoding gives back the bytes), while msuinspect
decodes ISO-8859-1 without the attribute, like cabextract. Non-UTF-8 names occur in the
corpus only in empty-folder and LZX cabinets, which cabarchive refuses before names.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from msuinspect.cab.cabinet import Cabinet
from msuinspect.cab.container import open_cabinet_file
from msuinspect.cab.store import MemberStore
from msuinspect.cab.structs import CabMember, CompressionKind
from msuinspect.errors import MsuInspectError
from msuinspect.limits import GIB, Limits

from support.corpus import FIXTURES, CorpusEntry, cabinet_entries, corpus_params
from support.generator import fixture_generator
from support.tools import require_module

pytestmark = [pytest.mark.oracle]

#: (stored name bytes, size, SHA-256 hex)
Row = tuple[bytes, int, str]

#: the oracle compares decoding, not safety limits: let the MSZIP bomb fixture decode fully
ORACLE_LIMITS = Limits(max_ratio=1e9, expansion_floor=GIB)

#: fixture cabinets (by path under tests/fixtures) whose outcome is not ``agree``, and why
FIXTURE_OUTCOMES: dict[str, str] = {
    # both reject the block whose CFDATA csum is wrong ([MS-CAB] CSUMCompute)
    "cab/hostile/cfdata_bad_checksum.cab": "both-refuse",
    # one byte flipped inside the first CFDATA payload: both catch it by its csum
    "cab/tampered_signed_sha256.cab": "both-refuse",
    # every member is empty and the only folder has no CFDATA block
    "cab/hostile/many_members.cab": "empty-folder",
    # its name is exactly 255 bytes
    "cab/hostile/long_name.cab": "agree-255-name",
    # see CABARCHIVE_READS_MALFORMED
    "cab/hostile/name_no_nul.cab": "cabarchive-reads-malformed",
    # beyond.bin lies past the folder's data: we fail that member, cabarchive the cabinet
    "cab/hostile/overlapping_members.cab": "both-refuse",
    # agree: coffFiles_gap.cab (cabarchive reads CFFILE at coffFiles, like [MS-CAB] and us;
    # cabextract does not), mszip_bomb.cab (65 MB of zeros, under ORACLE_LIMITS),
    # traversal_names.cab (names compared as stored, unsafe or not)
}

#: cabinets cabarchive reads although msuinspect refuses them: file name -> why we are right
CABARCHIVE_READS_MALFORMED: dict[str, str] = {
    "name_no_nul.cab": (
        "its only CFFILE name is 300 bytes without a NUL. [MS-CAB] caps szName at 256 bytes "
        "including the NUL; msuinspect refuses the record (max_name_length), cabarchive gives "
        "up looking for the NUL after 255 bytes and returns the member named ''."
    ),
}

#: corpus files that must be read byte for byte by both (so the rules cannot all refuse):
#: the real MSUs (MSZIP, Authenticode reserve) and libmspack's reserve-field cabinets
CORPUS_MUST_AGREE = re.compile(
    r"^(msu/.*\.msu|cab/libmspack/reserve_.*\.cab|cab/gcab/test-(none|mszip|signed)\.cab)$"
)


@pytest.fixture(scope="session")
def cabarchive() -> ModuleType:
    return require_module("cabarchive")


# ------------------------------------------------------------------------------ both sides


@dataclass
class Ours:
    cabinet: Cabinet
    rows: list[Row]
    #: members msuinspect could not decode
    failed: list[CabMember]


class _HashSink:
    def __init__(self, index: int, into: dict[int, str]) -> None:
        self.index = index
        self.into = into
        self.h = hashlib.sha256()

    def write(self, data: bytes) -> None:
        self.h.update(data)

    def close(self) -> None:
        self.into[self.index] = self.h.hexdigest()

    def abort(self, error: MsuInspectError) -> None:
        pass


def read_ours(path: Path) -> Ours:
    """The cabinet at offset 0, every member decoded in one walk (raises MsuInspectError)."""
    cf = open_cabinet_file(path, limits=ORACLE_LIMITS, follow_sets=False, search=False)
    unit = cf.units[0]
    assert isinstance(unit, Cabinet)
    hashes: dict[int, str] = {}
    outcomes = unit.walk(lambda m: _HashSink(m.index, hashes))
    failed = [o.member for o in outcomes if not o.ok]
    rows = [(m.raw_name, m.size, hashes[m.index]) for m in unit.members if m.index in hashes]
    return Ours(unit, rows, failed)


def read_theirs(cabarchive: ModuleType, path: Path) -> list[Row]:
    """cabarchive's members in its order (raises CorruptionError / NotSupportedError)."""
    arc = cabarchive.CabArchive(path.read_bytes())
    return [
        (name.encode("utf-8"), len(f), hashlib.sha256(f.buf or b"").hexdigest())
        for name, f in arc.items()
    ]


def _kinds(cab: Cabinet) -> list[CompressionKind | None]:
    return [f.compression.kind for f in cab.folders]


def check_cabinet(cabarchive: ModuleType, path: Path, observed: str = "") -> str:
    """Compare both readers on ``path``; returns the outcome (see the module docstring)."""
    refusals = (cabarchive.CorruptionError, cabarchive.NotSupportedError)
    theirs: list[Row] | None = None
    refusal: Exception | None = None
    try:
        theirs = read_theirs(cabarchive, path)
    except refusals as exc:
        refusal = exc

    try:
        ours = read_ours(path)
    except MsuInspectError as exc:
        if path.name in CABARCHIVE_READS_MALFORMED:
            assert theirs is not None and [name for name, *_ in theirs] == [b""], theirs
            return "cabarchive-reads-malformed"
        assert theirs is None, f"cabarchive reads what msuinspect refuses ({exc.code}): {theirs}"
        return "both-refuse"
    cab = ours.cabinet

    # a method cabarchive lacks: an explicit refusal naming it, never bytes
    lacking = [k for k in _kinds(cab) if k not in (CompressionKind.NONE, CompressionKind.MSZIP)]
    named = re.search(r"compression=(LZX|Quantum)", observed)
    if named:  # the corpus manifest's independent note agrees with our parse
        assert CompressionKind[named.group(1).upper()] in lacking, (observed, _kinds(cab))
    header = cab.layout.header
    if header.has_prev or header.has_next or any(m.continued for m in cab.members):
        assert theirs is None, "cabarchive reads one volume of a multi-volume set"
        return "multivolume"
    if lacking:
        assert isinstance(refusal, cabarchive.NotSupportedError), (refusal, theirs)
        first = lacking[0]
        assert first is not None and first.name.lower() in str(refusal).lower(), refusal
        return "unsupported-method"
    if ours.failed:
        assert theirs is None, (
            f"cabarchive returns bytes for members msuinspect cannot decode "
            f"{[m.name for m in ours.failed]}: {theirs}"
        )
        return "both-refuse"
    empty = {f.index for f in cab.folders if f.c_cf_data == 0}
    if empty:
        assert all(m.size == 0 for m in cab.members if m.folder_index in empty)
        assert refusal is not None and "No CFDATA blocks" in str(refusal), (refusal, theirs)
        return "empty-folder"

    assert refusal is None, f"cabarchive refuses a cabinet msuinspect reads: {refusal!r}"
    assert theirs is not None
    expected = [(b"" if len(name) == 255 else name, size, d) for name, size, d in ours.rows]
    assert len(ours.rows) == len(cab.members)
    assert theirs == expected
    return "agree-255-name" if expected != ours.rows else "agree"


# ----------------------------------------------------------------------------- the corpus

CORPUS = cabinet_entries()


@pytest.mark.corpus
@pytest.mark.parametrize("entry", corpus_params(CORPUS))
def test_corpus_cabinet_matches_cabarchive(cabarchive: ModuleType, entry: CorpusEntry) -> None:
    outcome = check_cabinet(cabarchive, entry.path, entry.observed)
    if CORPUS_MUST_AGREE.match(entry.rel):
        assert outcome == "agree"


# ---------------------------------------------------------------------------- the fixtures

FIXTURE_CABINETS = sorted(
    p for p in FIXTURES.rglob("*") if p.suffix in (".cab", ".msu") and p.is_file()
)


@pytest.mark.parametrize(
    "path", [pytest.param(p, id=p.relative_to(FIXTURES).as_posix()) for p in FIXTURE_CABINETS]
)
def test_fixture_cabinet_matches_cabarchive(cabarchive: ModuleType, path: Path) -> None:
    rel = path.relative_to(FIXTURES).as_posix()
    assert check_cabinet(cabarchive, path) == FIXTURE_OUTCOMES.get(rel, "agree")


def test_every_listed_fixture_exists() -> None:
    listed = {FIXTURES / rel for rel in FIXTURE_OUTCOMES}
    assert listed <= set(FIXTURE_CABINETS)


# ------------------------------------------------------------- the oracle can fail at all


def _flip_first_byte(walk: Callable[..., Any]) -> Callable[..., Any]:
    def patched(self: MemberStore, handler: Callable[[CabMember], Any], *a: Any) -> Any:
        flipped = [False]

        class Flip:
            def __init__(self, sink: Any) -> None:
                self.sink = sink

            def write(self, data: bytes) -> None:
                if data and not flipped[0]:
                    flipped[0] = True
                    data = bytes([data[0] ^ 1]) + data[1:]
                self.sink.write(data)

            def close(self) -> None:
                self.sink.close()

            def abort(self, error: MsuInspectError) -> None:
                self.sink.abort(error)

        def wrapped(m: CabMember) -> Any:
            sink = handler(m)
            return None if sink is None else Flip(sink)

        return walk(self, wrapped, *a)

    return patched


def _rename_last(members: Any) -> Any:
    def patched(self: Cabinet) -> tuple[CabMember, ...]:
        ms: tuple[CabMember, ...] = members.fget(self)
        last = ms[-1]
        return (*ms[:-1], last._replace(raw_name=last.raw_name + b"x", name=last.name + "x"))

    return property(patched)


@pytest.mark.parametrize("mutation", ["content", "name"])
@pytest.mark.parametrize("rel", ["cab/stored_2files.cab", "cab/mszip_multiblock.cab"])
def test_oracle_fails_when_msuinspect_output_is_altered(
    cabarchive: ModuleType, monkeypatch: pytest.MonkeyPatch, rel: str, mutation: str
) -> None:
    path = FIXTURES / rel
    assert check_cabinet(cabarchive, path) == "agree"
    if mutation == "content":
        monkeypatch.setattr(MemberStore, "walk", _flip_first_byte(MemberStore.walk))
    else:
        monkeypatch.setattr(Cabinet, "members", _rename_last(Cabinet.__dict__["members"]))
    with pytest.raises(AssertionError):
        check_cabinet(cabarchive, path)


# ------------------------------------------------------------- the fixture generator


def _load_generator() -> ModuleType:
    return fixture_generator()


@pytest.fixture(scope="module")
def gen() -> ModuleType:
    return _load_generator()


def _member_sets(gen: ModuleType) -> Iterator[list[tuple[bytes, bytes]]]:
    yield gen.TWO_FILES_B
    # several CFDATA blocks (32 KiB each), a member crossing block boundaries, a subfolder
    yield [
        (b"hello.txt", gen.HELLO_TXT),
        (b"sub\\multiblock.txt", gen.multiblock_text()),
        (b"bytes.bin", bytes(range(256)) * 300),
    ]


def _cabarchive_save(
    cabarchive: ModuleType, gen: ModuleType, members: list[tuple[bytes, bytes]], compress: bool
) -> bytes:
    arc = cabarchive.CabArchive()
    arc.set_id = gen.HOSTILE_SET_ID
    for name, content in members:
        f = cabarchive.CabFile(content, mtime=gen.PAYLOAD_MTIME.replace(tzinfo=None))
        f.is_arch = True  # the generator's attribute byte is 0x20 (archive)
        arc[name.decode("ascii")] = f
    data: bytes = arc.save(compress=compress, sort=False)
    return data


def _rows(members: list[tuple[bytes, bytes]]) -> list[Row]:
    return [(n, len(c), hashlib.sha256(c).hexdigest()) for n, c in members]


def test_generator_stored_cabinet_is_cabarchives_byte_for_byte(
    cabarchive: ModuleType, gen: ModuleType, tmp_path: Path
) -> None:
    """The generator lays out hand-built stored cabinets (the hostile fixtures) with its own
    code; written with CFDATA checksums, it produces exactly what cabarchive's writer does."""
    csum = lambda _i, payload, uncomp: gen.cfdata_checksum(payload, uncomp)  # noqa: E731
    for members in _member_sets(gen):
        ours = gen.stored_cab(members, csum=csum)
        assert ours == _cabarchive_save(cabarchive, gen, members, compress=False)
        path = tmp_path / "stored.cab"
        path.write_bytes(ours)
        assert check_cabinet(cabarchive, path) == "agree"
        assert read_ours(path).rows == _rows(members)


def test_generator_mszip_and_cabarchive_mszip_read_alike(
    cabarchive: ModuleType, gen: ModuleType, tmp_path: Path
) -> None:
    """MSZIP two ways: the generator's blocks carry the previous block as deflate history,
    cabarchive's writer compresses each block alone. Both readers read both identically."""
    for members in _member_sets(gen):
        blob = b"".join(c for _, c in members)
        blocks, history = [], b""
        for i in range(0, len(blob), 32768):
            chunk = blob[i : i + 32768]
            blocks.append((gen.mszip_block(chunk, history), len(chunk)))
            history = chunk
        files, offset = [], 0
        for name, content in members:
            files.append(gen.HFile(name, len(content), offset))
            offset += len(content)
        built = {
            "generator": gen.assemble_cab([gen.HFolder(1, blocks)], files),
            "cabarchive": _cabarchive_save(cabarchive, gen, members, compress=True),
        }
        for who, data in built.items():
            path = tmp_path / f"{who}.cab"
            path.write_bytes(data)
            assert [f.compression.kind for f in read_ours(path).cabinet.folders] == [
                CompressionKind.MSZIP
            ], who
            assert check_cabinet(cabarchive, path) == "agree", who
            assert read_ours(path).rows == _rows(members), who
