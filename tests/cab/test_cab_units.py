"""Unit behaviour of the cabinet layer: decoder fallback and its report, unsupported
compression, the checksum, names, replayable streams, nested cabinets."""

from __future__ import annotations

import hashlib
import io
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msuinspect.cab import Cabinet, CompressionKind, open_nested
from msuinspect.cab.checksum import cfdata_checksum
from msuinspect.cab.codecs.registry import codecs_by_key, default_codecs
from msuinspect.cab.codecs.zlib_codec import ZlibCodec
from msuinspect.cab.names import analyse, classify, decode_name, name_facts, sanitise
from msuinspect.errors import (
    ChecksumError,
    CodecError,
    DecodeError,
    LimitExceededError,
    UnsupportedCompressionError,
)
from msuinspect.limits import Limits
from msuinspect.source import BytesSource, ReplayStream

from support.cabs import STORED, cabinet, cfdata
from support.codecs import RewritingCodec
from support.corpus import FIXTURES

MULTIBLOCK = FIXTURES / "cab" / "mszip_multiblock.cab"


def _digests(cab: Cabinet) -> dict[str, str]:
    return {m.name: hashlib.sha256(cab.read_member(m)).hexdigest() for m in cab.members}


class FailingCodec(RewritingCodec):
    """Delivers ``good`` bytes of the real output, then fails."""

    key = "failing"

    def __init__(self, good: int, corrupt: bool = False) -> None:
        super().__init__(ZlibCodec(), frozenset({CompressionKind.MSZIP, CompressionKind.NONE}))
        self.good = good
        self.corrupt = corrupt

    def rewrite(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        sent = 0
        for chunk in chunks:
            take = chunk[: self.good - sent]
            if self.corrupt and take:
                take = bytes([take[0] ^ 0xFF]) + take[1:]
            if take:
                yield take
                sent += len(take)
            if sent >= self.good:
                raise CodecError("test failure")


def test_fallback_after_partial_output_is_seamless() -> None:
    reference = _digests(Cabinet.open(MULTIBLOCK))
    cab = Cabinet.open(MULTIBLOCK, codecs=[FailingCodec(50_000), ZlibCodec()])
    assert _digests(cab) == reference
    rec = cab.decode_log[-1]
    assert rec.codec is not None and "in-house" in rec.codec
    assert rec.failures == [("failing test codec", "test failure")]
    assert "failing test codec failed: test failure" in rec.describe()


def test_fallback_detects_disagreeing_decoders() -> None:
    cab = Cabinet.open(MULTIBLOCK, codecs=[FailingCodec(50_000, corrupt=True), ZlibCodec()])
    big = max(cab.members, key=lambda m: m.size)
    with pytest.raises(DecodeError, match="disagree"):
        cab.read_member(big)


def test_quantum_without_a_quantum_decoder(corpus: Path) -> None:
    path = corpus / "cab/libmspack/mszip_lzx_qtm.cab"
    cab = Cabinet.open(path, codecs=[ZlibCodec()])
    outcomes = cab.walk(lambda m: _NullSink())
    errors = {o.member.name: o.error for o in outcomes}
    unsupported = [e for e in errors.values() if isinstance(e, UnsupportedCompressionError)]
    assert len(unsupported) == 2  # the LZX and the Quantum folder
    assert any("unsupported compression: Quantum" in str(e) for e in unsupported)
    # the MSZIP folder still decodes
    assert any(e is None for e in errors.values())


def test_every_backend_decodes_lzx_and_quantum(corpus: Path) -> None:
    keys = {c.key for c in default_codecs()}
    if "libmspack" not in keys:
        pytest.skip("libmspack not installed")
    cab = Cabinet.open(corpus / "cab/libmspack/mszip_lzx_qtm.cab")
    assert all(o.ok for o in cab.walk(lambda m: _NullSink()))
    used = {r.compression.split(":")[0]: r.codec for r in cab.decode_log}
    assert used["Quantum"] is not None and "libmspack" in used["Quantum"]


class _NullSink:
    def write(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        pass

    def abort(self, error: Exception) -> None:
        pass


def test_mszip_checksums_verified_on_real_blocks() -> None:
    """gcab writes CFDATA checksums; every block of the fixture verifies."""
    data = MULTIBLOCK.read_bytes()
    cab = Cabinet.open(MULTIBLOCK)
    fo = cab.folders[0]
    pos = fo.coff_cab_start
    checked = 0
    for _ in range(fo.c_cf_data):
        csum, cb_data, _cb_uncomp = struct.unpack_from("<IHH", data, pos)
        if csum:
            assert (
                cfdata_checksum(data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + cb_data]) == csum
            )
            checked += 1
        pos += 8 + cb_data
    assert checked >= 2


def test_bad_checksum_is_typed() -> None:
    cab = Cabinet.open(FIXTURES / "cab/hostile/cfdata_bad_checksum.cab")
    with pytest.raises(ChecksumError) as info:
        cab.read_member(cab.members[0])
    assert info.value.offset is not None


def test_names() -> None:
    assert classify("ok/normal.txt") == frozenset()
    assert classify("..\\evil") == {"dotdot"}
    assert "absolute" in classify("/etc/passwd")
    assert "drive-letter" in classify("C:\\Windows\\x.dll")
    assert "unc-path" in classify("\\\\server\\share\\x")
    assert "alternate-stream" in classify("file.txt:ads")
    assert "device-name" in classify("aux.txt")
    assert sanitise("C:\\Windows\\..\\x.dll", 0) == "Windows/__/x.dll"
    assert sanitise("file.txt:ads", 0) == "file.txt_ads"
    assert sanitise("CON", 3) == "_CON"
    assert sanitise("////", 7) == "_unnamed_7"


@pytest.mark.parametrize(
    "bidi", ["\u202e", "\u202d", "\u2066", "\u2067", "\u2069", "\u200f", "\u061c"]
)
def test_bidirectional_controls_are_flagged_and_replaced(bidi: str) -> None:
    """``invoice\u202etxt.exe`` shows as "invoiceexe.txt": a name that reads as another."""
    name = f"docs/invoice{bidi}txt.exe"
    assert classify(name) == {"bidi-control"}
    assert sanitise(name, 0) == "docs/invoice_txt.exe"
    flags, safe = analyse(name, 0)
    assert flags == {"bidi-control"} and safe == "docs/invoice_txt.exe"
    text, flags, safe = name_facts(name.encode(), True, 0)
    assert text == name and flags == {"bidi-control"} and safe == "docs/invoice_txt.exe"


def test_replay_stream_seeks() -> None:
    data = bytes(range(256)) * 100
    starts = []

    def factory() -> Iterator[bytes]:
        starts.append(1)
        for i in range(0, len(data), 999):
            yield data[i : i + 999]

    raw = ReplayStream(factory, len(data), max_restarts=3)
    f = io.BufferedReader(raw, 64)
    assert f.read(10) == data[:10]
    f.seek(20_000)
    assert f.read(5) == data[20_000:20_005]
    f.seek(100)
    assert f.read(3) == data[100:103]
    assert len(starts) == 2
    buf = bytearray(1)
    for _ in range(2):  # restarts 2 and 3 are allowed
        raw.seek(5000)
        raw.readinto(buf)
        raw.seek(0)
        raw.readinto(buf)
    raw.seek(5000)
    raw.readinto(buf)
    raw.seek(0)
    with pytest.raises(LimitExceededError):
        raw.readinto(buf)


def test_nested_cabinet_from_memory_and_depth_limit() -> None:
    outer = Cabinet.open(FIXTURES / "sample/Windows6.0-KB9999901-x64.msu")
    (member,) = outer.find("Windows6.0-KB9999901-x64.cab")
    inner = open_nested(outer, member)
    assert inner.display_name.endswith("!/Windows6.0-KB9999901-x64.cab")
    assert inner.find("update.mum")
    mum = inner.read_member(inner.find("update.mum")[0])
    assert b"Package_for_KB9999901" in mum
    shallow = Cabinet.open(
        FIXTURES / "sample/Windows6.0-KB9999901-x64.msu", limits=Limits(max_depth=0)
    )
    with pytest.raises(LimitExceededError):
        open_nested(shallow, shallow.find("Windows6.0-KB9999901-x64.cab")[0])


def test_bytes_source_and_codec_selection() -> None:
    raw = MULTIBLOCK.read_bytes()
    cab = Cabinet.open(BytesSource(raw, "mem.cab"))
    assert _digests(cab) == _digests(Cabinet.open(MULTIBLOCK))
    with pytest.raises(ValueError):
        codecs_by_key(["does-not-exist"])


@pytest.mark.slow
@given(st.text(alphabet="ab.\\/ :C*?ON<>\x01AUXcom1lpt2_-~$\u00e9", max_size=16))
@settings(max_examples=3000, deadline=None, derandomize=True, database=None)
def test_name_fast_path_agrees(name: str) -> None:
    assert analyse(name, 3) == (classify(name), sanitise(name, 3))


@pytest.mark.slow
@given(
    st.one_of(
        st.binary(max_size=16),
        st.text(alphabet="ab.\\/_-~$:CONLPTcom12", max_size=16).map(str.encode),
    ).map(lambda b: b.replace(b"\x00", b"")),
    st.sampled_from([b"", b"CON", b"lpt1.x/", b"a\\NUL", b"\xc3\xa9", b"com\xc2\xb9"]),
    st.booleans(),
)
@settings(max_examples=3000, deadline=None, derandomize=True, database=None)
def test_raw_name_fast_path_agrees(raw: bytes, part: bytes, is_utf8: bool) -> None:
    """name_facts (the CFFILE reader's: plain ASCII names checked on their bytes) says what
    decoding the name and analysing the text say."""
    name = part + raw
    text, valid = decode_name(name, is_utf8)
    assert name_facts(name, is_utf8, 3) == (text, *analyse(text, 3, valid_encoding=valid))


@pytest.mark.parametrize("backend", ["zlib", "libarchive", "libmspack"])
def test_checksum_error_is_precise_whoever_checks(backend: str) -> None:
    """Backends that verify checksums in C do so on the fast path; the error still names the
    corrupt block and its offset."""
    if backend not in {c.key for c in default_codecs()}:
        pytest.skip(f"{backend} not installed")
    cab = Cabinet.open(
        FIXTURES / "cab/hostile/cfdata_bad_checksum.cab", codecs=codecs_by_key([backend])
    )
    with pytest.raises(ChecksumError) as info:
        cab.read_member(cab.members[0])
    assert info.value.offset == 77
    assert info.value.path is not None


def _stored_cab(blocks: list[bytes], declared_blocks: int) -> bytes:
    """One folder, one member spanning ``blocks`` (stored, no checksums), the folder
    declaring ``declared_blocks`` CFDATA blocks."""
    size = sum(len(b) for b in blocks)
    chain = [cfdata(b, len(b)) for b in blocks]
    return cabinet(
        [(b"a.bin", size, 0, 0)], [chain], [(0, STORED)], declared_blocks=[declared_blocks]
    )


def test_more_blocks_than_the_16_bit_count_is_a_finding_of_the_cabinet() -> None:
    blocks = [b"x" * 100, b"y" * 50]
    cab = Cabinet.open(BytesSource(_stored_cab(blocks, 1), "overflow.cab"))
    (member,) = cab.members
    assert cab.read_member(member) == b"".join(blocks)
    cab.read_member(member)  # a second pass over the folder notes nothing new
    codes = [f.code for f in cab.findings]
    assert codes.count("cab-cfdata-count-overflow") == 1


def test_an_incomplete_set_is_reported_once_per_fact(corpus: Path, tmp_path: Path) -> None:
    from msuinspect.cab.container import open_cabinet_file
    from msuinspect.cab.tree import scan

    for n in (2, 3):  # the middle of a five-cabinet set
        name = f"split-{n}.cab"
        (tmp_path / name).write_bytes((corpus / "cab/cabextract" / name).read_bytes())
    cf = open_cabinet_file(str(tmp_path / "split-2.cab"))
    tree = scan(cf.units[0], decode=False, hashes=False, recursive=False)
    seen = [(f.code, f.path) for f in [*cf.findings, *tree.findings]]
    assert [c for c, _ in seen].count("cab-set-incomplete") == 2  # previous and next missing
    assert len(seen) == len(set(seen))
