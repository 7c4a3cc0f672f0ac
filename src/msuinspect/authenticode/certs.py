"""Certificate facts for reports, from asn1crypto certificates."""

from __future__ import annotations

import datetime as _dt
import hashlib
from dataclasses import dataclass

from asn1crypto import x509

from msuinspect.authenticode.algorithms import Strength, strength


@dataclass(frozen=True, slots=True)
class CertInfo:
    subject: str
    issuer: str
    serial: str  #: upper-case hex
    not_before: _dt.datetime
    not_after: _dt.datetime
    signature_algorithm: str  #: e.g. ``sha256_rsa``
    hash_algorithm: str  #: digest of the certificate's own signature, e.g. ``sha1``
    public_key: str  #: e.g. ``RSA 2048``, ``EC secp256r1``
    sha1: str
    sha256: str
    self_signed: bool
    eku: tuple[str, ...]  #: dotted OIDs / names; empty when the extension is absent

    @property
    def common_name(self) -> str:
        for part in self.subject.split(", "):
            if part.startswith("CN="):
                return part[3:]
        return self.subject

    @property
    def strength(self) -> Strength:
        return strength(self.hash_algorithm)


def name_text(name: x509.Name) -> str:
    """``CN=..., O=..., C=...`` most specific first, like Windows shows it."""
    parts: list[str] = []
    short = {
        "common_name": "CN",
        "organizational_unit_name": "OU",
        "organization_name": "O",
        "locality_name": "L",
        "state_or_province_name": "ST",
        "country_name": "C",
        "domain_component": "DC",
        "email_address": "E",
    }
    try:
        for rdn in reversed(name.chosen):
            for atv in rdn:
                key = atv["type"].native
                label = short.get(key, key)
                value = atv["value"].native
                parts.append(f"{label}={value}")
    except (ValueError, TypeError):
        return str(name.dump().hex())
    return ", ".join(parts)


def _hash_algo(cert: x509.Certificate) -> str:
    try:
        return str(cert["signature_algorithm"].hash_algo)
    except Exception:
        return "unknown"


def _key_text(cert: x509.Certificate) -> str:
    try:
        pk = cert.public_key
        algo = pk.algorithm
        if algo == "rsa":
            return f"RSA {pk.bit_size}"
        if algo == "ec":
            return f"EC {pk.curve[1]}"
        return f"{algo.upper()} {pk.bit_size}"
    except Exception:
        return "unknown"


_DESCRIBED: dict[bytes, CertInfo] = {}
_DESCRIBED_MAX = 4096


def describe(cert: x509.Certificate) -> CertInfo:
    """The report facts of ``cert`` (kept per encoding: packages repeat a few certificates
    in every signature)."""
    der = cert.dump()
    info = _DESCRIBED.get(der)
    if info is None:
        if len(_DESCRIBED) >= _DESCRIBED_MAX:
            _DESCRIBED.clear()
        info = _DESCRIBED[der] = _describe(cert, der)
    return info


def _describe(cert: x509.Certificate, der: bytes) -> CertInfo:
    tbs = cert["tbs_certificate"]
    try:
        sig_algo = str(cert["signature_algorithm"].signature_algo)
    except Exception:
        sig_algo = str(cert["signature_algorithm"]["algorithm"].dotted)
    try:
        eku = tuple(str(u) for u in (cert.extended_key_usage_value.native or []))
    except (ValueError, TypeError, AttributeError):
        eku = ()
    return CertInfo(
        subject=name_text(cert.subject),
        issuer=name_text(cert.issuer),
        serial=format(tbs["serial_number"].native, "X"),
        not_before=tbs["validity"]["not_before"].native,
        not_after=tbs["validity"]["not_after"].native,
        signature_algorithm=sig_algo,
        hash_algorithm=_hash_algo(cert),
        public_key=_key_text(cert),
        sha1=hashlib.sha1(der).hexdigest(),
        sha256=hashlib.sha256(der).hexdigest(),
        self_signed=cert.self_issued and cert.self_signed != "no",
        eku=eku,
    )
