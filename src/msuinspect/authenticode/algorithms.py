"""Digest algorithms: names, hashlib constructors and the SHA-1 / SHA-2 / weak classes."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from cryptography.hazmat.primitives import hashes

#: OID / asn1crypto name -> canonical name
_CANONICAL = {
    "md2": "md2",
    "md5": "md5",
    "sha1": "sha1",
    "sha224": "sha224",
    "sha256": "sha256",
    "sha384": "sha384",
    "sha512": "sha512",
    "1.2.840.113549.2.2": "md2",
    "1.2.840.113549.2.5": "md5",
    "1.3.14.3.2.26": "sha1",
    "2.16.840.1.101.3.4.2.4": "sha224",
    "2.16.840.1.101.3.4.2.1": "sha256",
    "2.16.840.1.101.3.4.2.2": "sha384",
    "2.16.840.1.101.3.4.2.3": "sha512",
}

_CRYPTOGRAPHY: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "md5": hashes.MD5,
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


class Strength(StrEnum):
    """How a digest algorithm counts for the SHA-2 transition."""

    SHA2 = "sha2"
    SHA1 = "sha1"
    WEAK = "weak"  #: md5, md2
    UNKNOWN = "unknown"


def canonical(name_or_oid: str) -> str:
    """``sha256`` for 'sha256' or '2.16.840.1.101.3.4.2.1'; unknown names pass through."""
    return _CANONICAL.get(name_or_oid, name_or_oid)


def strength(name: str) -> Strength:
    name = canonical(name)
    if name in ("sha224", "sha256", "sha384", "sha512"):
        return Strength.SHA2
    if name == "sha1":
        return Strength.SHA1
    if name in ("md5", "md2"):
        return Strength.WEAK
    return Strength.UNKNOWN


def weakest(*names: str) -> Strength:
    order = [Strength.UNKNOWN, Strength.WEAK, Strength.SHA1, Strength.SHA2]
    found = [strength(n) for n in names if n]
    if not found:
        return Strength.UNKNOWN
    return min(found, key=order.index)


def new_hash(name: str) -> Any:
    """A hashlib object for ``name`` (raises ValueError when unsupported)."""
    name = canonical(name)
    if name == "md2":
        raise ValueError("md2 is not supported by this Python build")
    if name.startswith("shake"):  # an extendable-output function: no fixed digest to sign
        raise ValueError(f"{name} has no fixed digest length")
    return hashlib.new(name)


def crypto_hash(name: str) -> hashes.HashAlgorithm:
    """A ``cryptography`` hash instance for signature verification."""
    factory = _CRYPTOGRAPHY.get(canonical(name))
    if factory is None:
        raise ValueError(f"unsupported digest algorithm {name!r}")
    return factory()


def display(name: str) -> str:
    """``SHA-256`` style name for reports."""
    n = canonical(name)
    return {"md2": "MD2", "md5": "MD5", "sha1": "SHA-1"}.get(n, n.upper().replace("SHA", "SHA-"))
