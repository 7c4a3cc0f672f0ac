"""The public API, used as a user script would: everything imported from ``msuinspect``."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from msuinspect import (
    HostProfile,
    Outcome,
    Report,
    TrustStore,
    Verdict,
    inspect,
    load_host,
    trust_store,
)
from msuinspect.cli import main

from support.corpus import FIXTURES

ROOT = FIXTURES / "pki/root_ca.pem"
SAMPLE = FIXTURES / "sample/Windows6.0-KB9999901-x64.msu"
SHA2_ONLY = FIXTURES / "verdict/Windows6.0-KB9999912-x64.msu"


def test_inspect_a_path() -> None:
    r = inspect(SAMPLE, trust_roots=[ROOT])
    assert isinstance(r, Report)
    assert r.outcome.outcome in (Outcome.OK, Outcome.WARNING)
    assert r.file is not None and r.file.trusted
    assert r.package is not None and r.package.summary.kb_numbers == ["9999901"]
    assert r.verdict is None


def test_inspect_bytes_and_a_shared_trust_store() -> None:
    store = trust_store([ROOT])
    assert isinstance(store, TrustStore)
    data = SAMPLE.read_bytes()
    a = inspect(data, trust=store, name="a.msu")
    b = inspect(SAMPLE, trust=store)
    assert a.path == "a.msu"
    assert a.file is not None and b.file is not None and a.file.sha256 == b.file.sha256


def test_a_file_that_cannot_be_opened_is_an_error_report(tmp_path: Path) -> None:
    r = inspect(tmp_path / "missing.msu")
    assert r.outcome.outcome is Outcome.ERROR and r.file is None
    assert r.error is not None and r.error.code == "input-error"


def test_signatures_only() -> None:
    r = inspect(SAMPLE, trust_roots=[ROOT], signatures_only=True)
    assert r.package is None and r.file is not None and r.file.signatures


def test_host_verdict_from_the_api() -> None:
    bare = load_host("preset:2008sp2-rtm-x64")
    assert isinstance(bare, HostProfile)
    r = inspect(SHA2_ONLY, trust_roots=[ROOT], host=bare)
    assert isinstance(r.verdict, Verdict)
    assert r.verdict.can_validate.value == "no"
    assert r.verdict.missing_prerequisites[:2] == ("KB4493730", "KB4474419")


def test_inspect_host_in_text_and_json() -> None:
    runner = CliRunner()
    args = ["inspect", "--trust-root", str(ROOT), "--host", "preset:2008sp2-rtm-x64"]
    text = runner.invoke(main, [*args, str(SHA2_ONLY)])
    lines = text.stdout.splitlines()
    at = lines.index("  host verdict:")
    assert lines[at + 1].startswith("    6002 amd64 (no SHA-2 support): cannot validate")
    assert all(ln.startswith("  because ") for ln in lines[1:at])
    doc = runner.invoke(main, [*args, "--json", str(SHA2_ONLY)])
    import json

    (f,) = json.loads(doc.stdout)["files"]
    assert f["verdict"]["can_validate"] == "no" and f["verdict"]["can_install"] == "no"
    bad = runner.invoke(main, ["inspect", "--host", "build=7601", str(SAMPLE)])
    assert bad.exit_code == 2


def test_inspect_from_several_threads_at_once() -> None:
    """A library user (or a Dask worker) may inspect files in several threads of one
    process sharing one trust store: chain validation must not share an event loop."""
    from concurrent.futures import ThreadPoolExecutor

    store = trust_store([ROOT])
    files = sorted((FIXTURES / "verdict").glob("*.msu")) * 2
    with ThreadPoolExecutor(4) as pool:
        reports = list(pool.map(lambda f: inspect(f, trust=store), files))
    assert all(r.file is not None and r.file.trusted for r in reports)
    assert {r.outcome.outcome for r in reports} == {Outcome.WARNING}  # test PKI: not Microsoft


def test_trust_roots_as_certificate_objects() -> None:
    """A root given as a ``cryptography`` or ``asn1crypto`` certificate object is trusted
    like the same root given as a file (an object used to be silently ignored)."""
    from asn1crypto import pem
    from asn1crypto import x509 as asn1_x509
    from cryptography import x509 as crypto_x509

    data = ROOT.read_bytes()
    as_crypto = crypto_x509.load_pem_x509_certificate(data)
    as_asn1 = asn1_x509.Certificate.load(pem.unarmor(data)[2])
    for root in (ROOT, str(ROOT), as_crypto, as_asn1):
        r = inspect(SAMPLE, trust=trust_store([root]))
        assert r.file is not None and r.file.trusted, type(root)


def test_a_trust_root_of_another_type_is_refused() -> None:
    with pytest.raises(TypeError):
        trust_store([42])  # type: ignore[list-item]


def test_scan_media_checks_are_part_of_the_public_api() -> None:
    """What scan reports across files (duplicates, KB versions, not Microsoft-signed) is
    reachable from the front door, like every other fact the CLI prints."""
    import msuinspect

    for name in ("MediaChecker", "MediaChecks", "media_checks"):
        assert name in msuinspect.__all__
        assert getattr(msuinspect, name) is not None
    checks = msuinspect.media_checks([])
    assert isinstance(checks, msuinspect.MediaChecks)
