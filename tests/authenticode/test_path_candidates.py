"""The trust store finds the one certification path itself (TrustStore._candidate_paths)
instead of asking pyhanko-certvalidator's path builder. Wherever it settles on one path,
that path must be the one the path builder builds, and where the builder would find none
or several, the store must leave the decision to it."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from asn1crypto import x509

from msuinspect import inspect
from msuinspect.authenticode.trust import TrustStore, load_certificates

from support.corpus import FIXTURES, corpus_dir

PKI = FIXTURES / "pki"


def _builder_paths(
    store: TrustStore, leaf: x509.Certificate, others: list[x509.Certificate]
) -> list[list[bytes]] | None:
    """What pyhanko-certvalidator's path builder finds (at most three), as DER lists."""
    from pyhanko_certvalidator.errors import PathBuildingError

    vc = store._context(dt.datetime.now(dt.UTC), others)

    async def build() -> list[list[bytes]]:
        out = []
        lazy = vc.path_builder.async_build_paths_lazy(leaf)
        try:
            async for p in lazy:
                out.append([c.dump() for c in p])
                if len(out) > 2:
                    break
        finally:
            await lazy.cancel()
        return out

    try:
        return asyncio.run(build())
    except PathBuildingError:
        return []


def _check(store: TrustStore, leaf: x509.Certificate, others: list[x509.Certificate]) -> str:
    ours = store._candidate_paths(leaf, others)
    theirs = _builder_paths(store, leaf, others)
    assert theirs is not None
    if ours is not None and len(ours) == 1:
        assert [[c.dump() for c in ours[0]]] == theirs
        return "one"
    # several or none: the store asks the builder, whatever it finds
    assert ours is None or len(ours) != 1
    return "builder"


def test_test_pki_chains() -> None:
    store = TrustStore.default(load_certificates(PKI / "root_ca.pem"))
    seen = set()
    for leaf_file, chain_file in [
        ("leaf_codesign.pem", "leaf_codesign_chain.pem"),
        ("leaf_codesign_sha1chain.pem", "leaf_codesign_sha1chain_chain.pem"),
        ("leaf_ecdsa.pem", "leaf_ecdsa_chain.pem"),
        ("leaf_expired.pem", "leaf_expired_chain.pem"),
        ("leaf_no_codesign_eku.pem", "leaf_no_codesign_eku_chain.pem"),
        ("selfsigned_untrusted.pem", "selfsigned_untrusted_chain.pem"),
    ]:
        (leaf,) = load_certificates(PKI / leaf_file)
        others = load_certificates(PKI / chain_file)
        seen.add(_check(store, leaf, others))
        seen.add(_check(store, leaf, []))  # no intermediates: no path, or a root-signed leaf
    assert seen == {"one", "builder"}


def _cross_certified() -> tuple[list[x509.Certificate], x509.Certificate, list[x509.Certificate]]:
    """Two trusted roots, one intermediate key certified by both (same name, same key), and
    a leaf under it: two paths."""
    from cryptography import x509 as cx
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)

    def name(cn: str) -> cx.Name:
        return cx.Name([cx.NameAttribute(NameOID.COMMON_NAME, cn)])

    def cert(
        subject: str,
        key: ec.EllipticCurvePrivateKey,
        issuer: str,
        signer: ec.EllipticCurvePrivateKey,
        ca: bool,
    ) -> x509.Certificate:
        b = (
            cx.CertificateBuilder()
            .subject_name(name(subject))
            .issuer_name(name(issuer))
            .public_key(key.public_key())
            .serial_number(cx.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(cx.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        der = b.sign(signer, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
        return x509.Certificate.load(der)

    k1, k2, ki, kl = (ec.generate_private_key(ec.SECP256R1()) for _ in range(4))
    roots = [cert("Root One", k1, "Root One", k1, True), cert("Root Two", k2, "Root Two", k2, True)]
    inters = [
        cert("Cross CA", ki, "Root One", k1, True),
        cert("Cross CA", ki, "Root Two", k2, True),
    ]
    leaf = cert("Leaf", kl, "Cross CA", ki, False)
    return roots, leaf, inters


def test_two_paths_go_to_the_builder() -> None:
    roots, leaf, inters = _cross_certified()
    store = TrustStore(roots)
    ours = store._candidate_paths(leaf, inters)
    assert ours is not None and len(ours) == 2
    theirs = _builder_paths(store, leaf, inters)
    assert theirs is not None and len(theirs) == 2
    assert sorted([c.dump() for c in p] for p in ours) == sorted(theirs)
    # with one of the two certificates, one path, and it is the builder's
    assert _check(store, leaf, inters[:1]) == "one"


@pytest.mark.corpus
def test_every_chain_of_the_corpus(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every (signer, certificates) pair met while inspecting the corpus's real packages,
    catalogs and PE files: the store's one path is the builder's one path."""
    root = corpus_dir()
    if root is None:
        pytest.skip("real-file corpus not found")
    pairs: dict[tuple[bytes, frozenset[bytes]], tuple[x509.Certificate, list[x509.Certificate]]]
    pairs = {}
    original = TrustStore._find_path

    def record(self: TrustStore, leaf: x509.Certificate, others: list[x509.Certificate]):  # type: ignore[no-untyped-def]
        pairs[(leaf.dump(), frozenset(c.dump() for c in others))] = (leaf, list(others))
        return original(self, leaf, others)

    monkeypatch.setattr(TrustStore, "_find_path", record)
    store = TrustStore.default()
    files = [
        *sorted(Path(root, "msu").glob("*.msu")),
        *sorted(Path(root, "cab", "update").glob("*.cab")),
        *sorted(Path(root, "cat").rglob("*.cat"))[:40],
        *sorted(Path(root, "pe").rglob("*"))[:40],
    ]
    for f in files:
        if f.is_file():
            inspect(f, trust=store)
    assert len(pairs) >= 20
    outcomes = [_check(store, leaf, others) for leaf, others in pairs.values()]
    assert outcomes.count("one") >= len(outcomes) // 2


def test_a_path_is_validated_once_whatever_comes_with_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same signer arrives with other bags of certificates (each catalog carries its
    own); the one path found is validated by pyhanko-certvalidator once, and every bag gets
    the same answer as a store that never saw the others."""
    import pyhanko_certvalidator.validate as pv

    calls = []
    real = pv.async_validate_path

    async def counted(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return await real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pv, "async_validate_path", counted)
    roots = load_certificates(PKI / "root_ca.pem")
    (leaf,) = load_certificates(PKI / "leaf_codesign.pem")
    chain = load_certificates(PKI / "leaf_codesign_chain.pem")
    unrelated = load_certificates(PKI / "tsa_chain.pem")
    moment = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
    store = TrustStore.default(roots)
    bags = [chain, [*chain, *unrelated], list(reversed(chain))]
    results = [store.validate(leaf, bag, moment, "code_signing") for bag in bags]
    assert len(calls) == 1
    assert results[0].trusted
    for bag, result in zip(bags, results, strict=True):
        fresh = TrustStore.default(roots).validate(leaf, bag, moment, "code_signing")
        assert result == fresh
