"""Certificates from attacker-controlled bytes, checked once and shared.

asn1crypto parses lazily: a certificate that loads fine can still raise ``ValueError`` (or
``KeyError``, ``IndexError``...) the first time one of its extensions, names or its public
key is read, deep inside chain building. :func:`certificate_problem` reads every part that
this project and pyhanko-certvalidator use, once per distinct DER encoding, so a broken
certificate is found where it is loaded and never reaches the code that trusts it.

:func:`shared` returns one checked object per distinct encoding: a package repeats the same
few certificates in hundreds of signatures, and one object parsed once serves them all.
"""

from __future__ import annotations

from asn1crypto import x509

#: what asn1crypto raises on malformed input (it parses lazily, so also on first access)
ASN1_ERRORS = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    OverflowError,
    AttributeError,
    RecursionError,
)

#: public-key algorithms asn1crypto (and so pyhanko-certvalidator) can parse
KNOWN_KEY_ALGORITHMS = frozenset(
    {"rsa", "rsassa_pss", "dsa", "ec", "ed25519", "ed448", "x25519", "x448"}
)

#: names of public-key algorithms that asn1crypto does not know, for messages
_KEY_NAMES = {
    "2.16.840.1.101.3.4.3.17": "ML-DSA-44",
    "2.16.840.1.101.3.4.3.18": "ML-DSA-65",
    "2.16.840.1.101.3.4.3.19": "ML-DSA-87",
}

_CACHE_SIZE = 4096
_checked: dict[bytes, tuple[x509.Certificate, str | None]] = {}


def _force(cert: x509.Certificate) -> None:
    """Read every part of ``cert`` that reports and chain validation touch."""
    try:
        algo = cert["tbs_certificate"]["subject_public_key_info"]["algorithm"]["algorithm"]
        oid = algo.dotted
        known = algo.native in KNOWN_KEY_ALGORITHMS
    except KeyError as exc:  # asn1crypto has no key spec for the algorithm's OID
        oid, known = (str(exc.args[0]) if exc.args else "?"), False
    if not known:
        name = f"{_KEY_NAMES[oid]}, {oid}" if oid in _KEY_NAMES else oid
        raise ValueError(f"unsupported public-key algorithm ({name})")
    cert.native  # noqa: B018 - parses every field, extensions included
    cert.public_key.dump()
    cert.subject.hashable  # noqa: B018
    cert.issuer.hashable  # noqa: B018
    cert.key_identifier  # noqa: B018
    cert.authority_key_identifier  # noqa: B018
    cert.basic_constraints_value  # noqa: B018
    cert.key_usage_value  # noqa: B018
    cert.extended_key_usage_value  # noqa: B018
    cert.critical_extensions  # noqa: B018
    cert.self_issued  # noqa: B018
    cert["signature_algorithm"]["algorithm"].dotted  # noqa: B018
    cert["signature_value"].native  # noqa: B018


def _check(der: bytes, cert: x509.Certificate | None) -> tuple[x509.Certificate, str | None]:
    hit = _checked.get(der)
    if hit is not None:
        return hit
    if cert is None:
        cert = x509.Certificate.load(der)
    try:
        _force(cert)
        problem = None
    except ASN1_ERRORS as exc:
        problem = first_line(exc)
    if len(_checked) >= _CACHE_SIZE:
        _checked.clear()
    _checked[der] = (cert, problem)
    return cert, problem


def first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def certificate_problem(cert: x509.Certificate) -> str | None:
    """Why ``cert`` cannot be used (parsed in full, with a known key algorithm), or None."""
    try:
        der = cert.dump()
    except ASN1_ERRORS as exc:
        return first_line(exc)
    return _check(der, cert)[1]


def shared(cert: x509.Certificate) -> tuple[x509.Certificate, str | None]:
    """The one checked object for ``cert``'s encoding, and why it is unusable (or None)."""
    try:
        der = cert.dump()
    except ASN1_ERRORS as exc:
        return cert, first_line(exc)
    return _check(der, cert)


def label(cert: x509.Certificate) -> str:
    """A name for a certificate that may be broken: its subject when readable, else the
    first bytes of its encoding."""
    try:
        subject = cert.subject
        cn = subject.native.get("common_name") if isinstance(subject.native, dict) else None
        if isinstance(cn, list):
            cn = cn[0] if cn else None
        return str(cn) if cn else str(subject.human_friendly)
    except ASN1_ERRORS:
        pass
    try:
        return f"DER {cert.dump()[:16].hex()}..."
    except ASN1_ERRORS:
        return "an unreadable certificate"
