"""The signed-format registry: one ordered tuple decides a file's kind, the signature pass
dispatches through it, and the package walk's kinds use the same magic checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from msuinspect.authenticode import formats
from msuinspect.authenticode.formats import FileKind, detect
from msuinspect.authenticode.inspect import sniff
from msuinspect.limits import Limits
from msuinspect.package.kinds import NodeKind
from msuinspect.package.kinds import sniff as node_sniff
from msuinspect.source import FileSource

from support.corpus import FIXTURES


def test_registry_order_ends_with_the_catch_all() -> None:
    assert [f.name for f in formats.FORMATS] == ["cab", "pe", "pkcs7", "flat"]
    assert formats.FORMATS[-1].sniff(b"")


@pytest.mark.parametrize(
    ("head", "kind", "node"),
    [
        (b"MSCF\x00\x00\x00\x00", FileKind.CAB, NodeKind.CABINET),
        (b"MZ\x90\x00", FileKind.PE, NodeKind.PE),
        (b"\x30\x82\x01\x00", FileKind.PKCS7, NodeKind.PKCS7),
        (b"PKCX\x30\x82", FileKind.PKCS7, NodeKind.DATA),  # the package walk: data
        (b"\x00\x01\x02\x03", FileKind.UNKNOWN, NodeKind.DATA),
    ],
)
def test_one_kind_decision(head: bytes, kind: FileKind, node: NodeKind) -> None:
    assert detect(head).kind is kind
    assert sniff(head) is kind
    assert node_sniff(head) is node


@pytest.mark.parametrize(
    ("rel", "kind", "blobs"),
    [
        ("pe/signed_dual.exe", FileKind.PE, 1),
        ("cat/test_v1.cat", FileKind.CATALOG, 1),
        ("cat/test_v1_unsigned.cat", FileKind.CATALOG, 1),
        ("cab/signed_sha256.cab", FileKind.CAB, 1),
        ("cab/stored_2files.cab", FileKind.CAB, 0),
    ],
)
def test_views_of_fixtures(rel: str, kind: FileKind, blobs: int) -> None:
    path: Path = FIXTURES / rel
    if not path.exists():
        pytest.skip(f"{rel} not generated")
    source = FileSource(path)
    fmt = detect(path.read_bytes()[:64])
    view = fmt.open(source, limits=Limits())
    assert view.kind is kind
    assert len(view.blobs) == blobs
    # a PE has an Authenticode digest of its own; a catalog signs other bytes
    assert (view.plan is not None) is (kind in (FileKind.PE, FileKind.CAB))


def test_bytes_after_a_cabinet_signature_follow_its_parse() -> None:
    path = FIXTURES / "cab/trailing_after_sig.cab"
    if not path.exists():
        pytest.skip("fixture not generated")
    view = formats.CABINET.open(FileSource(path), limits=Limits())
    assert [f.code for b in view.blobs for f in b.after] == ["signature-trailing-data"]
