"""Offline chain building and validation to pinned trust anchors.

Trust anchors are the Microsoft code-signing and time-stamping roots shipped with the
package (``data/roots/microsoft-roots.pem``, listed in docs/trust.md) plus any roots the
user adds. Chains are validated at a given moment (the timestamp time when a valid
timestamp exists, else the ``--as-of`` time) by pyhanko-certvalidator, with no network access
and no revocation checking. Weak algorithms (MD5, SHA-1, short RSA keys) are *allowed* in
path validation and reported separately: whether a given Windows host accepts them is a
question for the verdict layer.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

from asn1crypto import pem, x509

from msuinspect.authenticode.algorithms import Strength, strength
from msuinspect.authenticode.certs import CertInfo, describe
from msuinspect.cms.oids import (
    EKU_CODE_SIGNING,
    EKU_TIME_STAMPING,
    EKU_WHQL,
    EKU_WINDOWS_COMPONENT,
)
from msuinspect.errors import InputError

if TYPE_CHECKING:  # pyhanko-certvalidator (and asyncio) load only when a chain is validated
    from pyhanko_certvalidator import ValidationContext

#: EKUs Windows accepts for code signing in update, driver and component signatures
CODE_SIGNING_EKUS = frozenset(
    {
        EKU_CODE_SIGNING,
        "code_signing",
        EKU_WHQL,  # Windows Hardware Driver Verification
        EKU_WINDOWS_COMPONENT,  # Windows System Component Verification
        "1.3.6.1.4.1.311.10.3.39",  # Windows Hardware Driver Extended Verification
        "1.3.6.1.4.1.311.61.1.1",  # Kernel Mode Code Signing
        "1.3.6.1.5.5.7.3.0",
        "any_extended_key_usage",
    }
)
TIME_STAMPING_EKUS = frozenset(
    {EKU_TIME_STAMPING, "time_stamping", "1.3.6.1.5.5.7.3.0", "any_extended_key_usage"}
)


@dataclass(frozen=True, slots=True)
class ChainResult:
    trusted: bool
    path: tuple[CertInfo, ...]  #: leaf first, trust anchor last (empty when none was built)
    anchor: CertInfo | None
    moment: _dt.datetime
    #: None when trusted; else one of: untrusted-root, expired, not-yet-valid, no-usage, invalid
    error_kind: str | None
    error: str | None

    @property
    def weak_hashes(self) -> tuple[str, ...]:
        """Digest algorithms of certificate signatures in the path that are not SHA-2
        (the self-signature of the anchor is not counted: anchors are trusted as data)."""
        return tuple(
            sorted(
                {
                    c.hash_algorithm
                    for c in self.path[:-1]
                    if strength(c.hash_algorithm) in (Strength.WEAK, Strength.SHA1)
                }
            )
        )


def _load_pem_or_der(data: bytes) -> list[x509.Certificate]:
    if pem.detect(data):
        return [x509.Certificate.load(der) for _t, _h, der in pem.unarmor(data, multiple=True)]
    return [x509.Certificate.load(data)]


def load_certificates(path: str | os.PathLike[str]) -> list[x509.Certificate]:
    """Certificates from a PEM (one or more) or DER file."""
    try:
        with open(path, "rb") as f:
            data = f.read()
        certs = _load_pem_or_der(data)
        for c in certs:
            c["tbs_certificate"]["subject"].native  # noqa: B018 - parse now
        return certs
    except OSError as exc:
        raise InputError(f"cannot read trust root {path}: {exc.strerror}") from exc
    except (ValueError, TypeError) as exc:
        raise InputError(f"{path} is not a PEM or DER certificate: {exc}") from exc


def microsoft_roots() -> list[x509.Certificate]:
    data = resources.files("msuinspect.data").joinpath("roots/microsoft-roots.pem").read_bytes()
    return _load_pem_or_der(data)


class TrustStore:
    """Trust anchors and chain validation; results are kept per (leaf, intermediates,
    moment, purpose), since a package repeats the same signers many times."""

    _CACHE_SIZE = 4096

    def __init__(self, roots: Sequence[x509.Certificate]) -> None:
        self.roots = list(roots)
        self.root_infos = [describe(r) for r in self.roots]
        self._results: dict[tuple[bytes, frozenset[bytes], _dt.datetime, str], ChainResult] = {}

    @classmethod
    def default(cls, extra_roots: Iterable[x509.Certificate] = ()) -> TrustStore:
        return cls([*microsoft_roots(), *extra_roots])

    def _context(
        self, moment: _dt.datetime, others: Sequence[x509.Certificate]
    ) -> ValidationContext:
        from pyhanko_certvalidator import ValidationContext
        from pyhanko_certvalidator.policy_decl import DisallowWeakAlgorithmsPolicy

        return ValidationContext(
            trust_roots=self.roots,
            other_certs=list(others),
            moment=moment,
            allow_fetching=False,
            revocation_mode="soft-fail",
            algorithm_usage_policy=DisallowWeakAlgorithmsPolicy(  # type: ignore[no-untyped-call]
                weak_hash_algos=frozenset(), rsa_key_size_threshold=512
            ),
        )

    def validate(
        self,
        leaf: x509.Certificate,
        intermediates: Sequence[x509.Certificate],
        moment: _dt.datetime,
        purpose: str,
    ) -> ChainResult:
        """Validate ``leaf`` for ``purpose`` (``code_signing`` or ``time_stamping``)."""
        leaf_der = leaf.dump()
        key = (leaf_der, frozenset(c.dump() for c in intermediates) - {leaf_der}, moment, purpose)
        result = self._results.get(key)
        if result is None:
            if len(self._results) >= self._CACHE_SIZE:
                self._results.clear()
            result = self._results[key] = self._validate(leaf, intermediates, moment, purpose)
        return result

    def _validate(
        self,
        leaf: x509.Certificate,
        intermediates: Sequence[x509.Certificate],
        moment: _dt.datetime,
        purpose: str,
    ) -> ChainResult:
        from pyhanko_certvalidator import CertificateValidator
        from pyhanko_certvalidator.errors import (
            DisallowedAlgorithmError,
            ExpiredError,
            InvalidCertificateError,
            NotYetValidError,
            PathBuildingError,
            PathValidationError,
            ValidationError,
        )

        others = [c for c in intermediates if c.dump() != leaf.dump()]
        vc = self._context(moment, others)
        validator = CertificateValidator(leaf, intermediate_certs=others, validation_context=vc)
        try:
            path = asyncio.run(validator.async_validate_path())
        except PathBuildingError as exc:
            return ChainResult(False, (describe(leaf),), None, moment, "untrusted-root", _msg(exc))
        except ExpiredError as exc:
            return self._partial(leaf, others, moment, "expired", exc)
        except NotYetValidError as exc:
            return self._partial(leaf, others, moment, "not-yet-valid", exc)
        except (PathValidationError, InvalidCertificateError, DisallowedAlgorithmError) as exc:
            kind = "untrusted-root" if "self-signed" in str(exc) else "invalid"
            return self._partial(leaf, others, moment, kind, exc)
        except (ValidationError, ValueError, TypeError) as exc:
            return ChainResult(False, (describe(leaf),), None, moment, "invalid", _msg(exc))
        certs = [describe(c) for c in reversed(list(path))]  # leaf first
        anchor = certs[-1] if certs else None
        wanted = CODE_SIGNING_EKUS if purpose == "code_signing" else TIME_STAMPING_EKUS
        leaf_info = certs[0]
        if leaf_info.eku and not (set(leaf_info.eku) & wanted):
            return ChainResult(
                False,
                tuple(certs),
                anchor,
                moment,
                "no-usage",
                f"the signer certificate is not valid for {purpose.replace('_', ' ')} "
                f"(extended key usage: {', '.join(leaf_info.eku)})",
            )
        return ChainResult(True, tuple(certs), anchor, moment, None, None)

    def _partial(
        self,
        leaf: x509.Certificate,
        others: Sequence[x509.Certificate],
        moment: _dt.datetime,
        kind: str,
        exc: BaseException,
    ) -> ChainResult:
        """A chain that failed validation: report the path it would have had anyway."""
        path = display_chain(leaf, [*others, *self.roots])
        anchor_ders = {r.dump() for r in self.roots}
        anchor = describe(path[-1]) if path and path[-1].dump() in anchor_ders else None
        return ChainResult(False, tuple(describe(c) for c in path), anchor, moment, kind, _msg(exc))


def display_chain(
    leaf: x509.Certificate, pool: Sequence[x509.Certificate], limit: int = 10
) -> list[x509.Certificate]:
    """Leaf first, following issuer names (and key identifiers when present) through
    ``pool``; for reports only, no validation."""
    chain = [leaf]
    cur = leaf
    for _ in range(limit):
        if cur.self_issued:
            break
        aki = cur.authority_key_identifier
        cands = [
            c
            for c in pool
            if c.subject == cur.issuer
            and (aki is None or c.key_identifier is None or c.key_identifier == aki)
            and c.dump() not in {x.dump() for x in chain}
        ]
        if not cands:
            break
        cur = cands[0]
        chain.append(cur)
    return chain


def _msg(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
