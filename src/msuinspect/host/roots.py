"""Recognising the Microsoft roots of :class:`~msuinspect.host.profile.Root` in store dumps.

Thumbprints and serials are computed from the project's pinned certificates
(``msuinspect/data/roots/microsoft-roots.pem``), never typed in by hand.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from msuinspect.data import read_data
from msuinspect.host.profile import Root

#: subject common name of each root (exact, as in the certificate)
ROOT_COMMON_NAMES: dict[Root, str] = {
    Root.ROOT_AUTHORITY: "Microsoft Root Authority",
    Root.ROOT_2001: "Microsoft Root Certificate Authority",
    Root.ROOT_2010: "Microsoft Root Certificate Authority 2010",
    Root.ROOT_2011: "Microsoft Root Certificate Authority 2011",
}

ROOT_TITLES: dict[Root, str] = {
    Root.ROOT_AUTHORITY: "Microsoft Root Authority (1997)",
    Root.ROOT_2001: "Microsoft Root Certificate Authority (2001)",
    Root.ROOT_2010: "Microsoft Root Certificate Authority 2010",
    Root.ROOT_2011: "Microsoft Root Certificate Authority 2011",
}


@dataclass(frozen=True, slots=True)
class RootFacts:
    root: Root
    common_name: str
    sha1: str  # lower-case hex, no separators
    serial: str  # lower-case hex, no leading zeros


def _common_name(cert: x509.Certificate) -> str | None:
    attrs = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not attrs:
        return None
    value = attrs[0].value
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


@functools.cache
def root_facts() -> tuple[RootFacts, ...]:
    """The four roots, from the pinned PEM bundle."""
    pem = read_data("roots/microsoft-roots.pem")
    by_name = {cn: root for root, cn in ROOT_COMMON_NAMES.items()}
    out: list[RootFacts] = []
    for cert in x509.load_pem_x509_certificates(pem):
        cn = _common_name(cert)
        if cn in by_name:
            out.append(
                RootFacts(
                    by_name[cn],
                    cn,
                    cert.fingerprint(hashes.SHA1()).hex(),
                    format(cert.serial_number, "x"),
                )
            )
    return tuple(sorted(out, key=lambda r: r.root.value))


def root_by_thumbprint(sha1_hex: str) -> Root | None:
    key = "".join(sha1_hex.split()).lower()
    for r in root_facts():
        if r.sha1 == key:
            return r.root
    return None


def root_by_serial_and_name(serial_hex: str, subject: str) -> Root | None:
    """Serial (any case, spaces and leading zeros ignored) plus the CN in the subject."""
    serial = "".join(serial_hex.split()).lower().lstrip("0") or "0"
    for r in root_facts():
        exact_cn = re.compile(rf"(?:^|[,/])\s*CN\s*=\s*{re.escape(r.common_name)}\s*(?:,|$)", re.I)
        if r.serial == serial and exact_cn.search(subject):
            return r.root
    return None
