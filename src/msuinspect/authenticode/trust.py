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
import threading
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, TypeVar

from asn1crypto import pem, x509

from msuinspect.authenticode.algorithms import Strength, strength
from msuinspect.authenticode.certs import CertInfo, describe
from msuinspect.cms.certificates import ASN1_ERRORS, label, shared
from msuinspect.cms.oids import (
    EKU_CODE_SIGNING,
    EKU_TIME_STAMPING,
    EKU_WHQL,
    EKU_WINDOWS_COMPONENT,
)
from msuinspect.data import read_data
from msuinspect.errors import InputError
from msuinspect.userfile import read_user_file

if TYPE_CHECKING:  # pyhanko-certvalidator loads only when a chain is validated
    from pyhanko_certvalidator import ValidationContext
    from pyhanko_certvalidator.path import ValidationPath
    from pyhanko_certvalidator.registry import SimpleTrustManager

_T = TypeVar("_T")

#: certificates on a path (the leaf included) that :meth:`TrustStore._candidate_paths`
#: follows; longer ones are left to pyhanko-certvalidator's path builder
_MAX_PATH = 8

#: the largest trust-root file :func:`load_certificates` reads (a PEM bundle of every root
#: in a Windows root store is about 1 MiB)
MAX_TRUST_ROOT_BYTES = 16 << 20

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
    #: the path was built to a trust anchor and every certificate signature on it
    #: verified: only its validity at ``moment`` (or the signer's usage) may have failed
    verified: bool = False

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


@dataclass(frozen=True, slots=True)
class SkippedCertificate:
    """A trust-root certificate left out because it cannot be used."""

    name: str
    problem: str


def _load_pem_or_der(data: bytes) -> list[x509.Certificate]:
    if pem.detect(data):
        return [x509.Certificate.load(der) for _t, _h, der in pem.unarmor(data, multiple=True)]
    return [x509.Certificate.load(data)]


def load_certificates(path: str | os.PathLike[str]) -> list[x509.Certificate]:
    """Certificates from a PEM (one or more) or DER file. A certificate that loads but
    cannot be used (an unknown public-key algorithm such as ML-DSA, a malformed extension)
    is returned too: :class:`TrustStore` leaves it out and says so in ``warnings``.

    The file must be a regular file of at most :data:`MAX_TRUST_ROOT_BYTES`; anything else
    (a FIFO, a device, a huge file) is an :class:`InputError`, found before it is read."""
    data = read_user_file(path, limit=MAX_TRUST_ROOT_BYTES, what="trust root")
    try:
        certs = _load_pem_or_der(data)
        for c in certs:
            c["tbs_certificate"]["subject"].native  # noqa: B018 - parse now
        return certs
    except ASN1_ERRORS as exc:
        raise InputError(f"{path} is not a PEM or DER certificate: {exc}") from exc


def microsoft_roots() -> list[x509.Certificate]:
    data = read_data("roots/microsoft-roots.pem")
    return _load_pem_or_der(data)


@cache
def microsoft_root_sha1s() -> frozenset[str]:
    """SHA-1 thumbprints of the Microsoft roots shipped with msuinspect."""
    return frozenset(describe(c).sha1 for c in microsoft_roots())


#: one event loop per thread: a loop cannot run in two threads at once (a library user, or
#: a Dask worker, may inspect files in several threads of one process)
_LOOPS = threading.local()


def _run(make: Callable[[], Awaitable[_T]]) -> _T:
    """Run a coroutine on this thread's one event loop (pyhanko-certvalidator is async
    only; a fresh loop per validation costs more than the validation)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:  # called from async code: that loop cannot be re-entered
        return asyncio.run_coroutine_threadsafe(_wrap(make), _own_thread_loop()).result()
    holder: _ThreadLoop | None = getattr(_LOOPS, "holder", None)
    if holder is None or holder.loop.is_closed():
        holder = _LOOPS.holder = _ThreadLoop()
    return holder.loop.run_until_complete(_wrap(make))


class _ThreadLoop:
    """A thread's event loop, closed when the thread ends (its thread-local storage, and so
    this holder, is released then) instead of being left for the garbage collector."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()

    def __del__(self) -> None:
        if not self.loop.is_closed():
            self.loop.close()


async def _wrap(make: Callable[[], Awaitable[_T]]) -> _T:
    return await make()


_THREAD_LOOP: asyncio.AbstractEventLoop | None = None


def _own_thread_loop() -> asyncio.AbstractEventLoop:
    """A loop on a daemon thread, for callers that already run inside an event loop."""
    global _THREAD_LOOP
    if _THREAD_LOOP is None:
        loop = asyncio.new_event_loop()
        threading.Thread(target=loop.run_forever, daemon=True, name="msuinspect-trust").start()
        _THREAD_LOOP = loop
    return _THREAD_LOOP


@dataclass(frozen=True, slots=True)
class _PathFacts:
    """What holds for a (leaf, intermediates) pair at every moment.

    ``path`` (root side first, anchor excluded, as pyhanko-certvalidator checks them) when
    exactly one path exists and it validates at a moment inside every validity window;
    ``failure`` when no path can be built at all; neither when validation must run in full
    at each moment (several candidate paths, or a path that fails for other reasons)."""

    path: tuple[x509.Certificate, ...] | None = None
    anchor: x509.Certificate | None = None
    failure: BaseException | None = None


class TrustStore:
    """Trust anchors and chain validation.

    Chain work is done once per distinct chain: the path is built and the certificate
    signatures on it are checked once per (leaf, intermediates); each moment then only
    checks the validity windows (results are kept per (leaf, intermediates, moment,
    purpose), since a package repeats the same signers many times). Where a moment-free
    answer cannot be proven equal to a full validation (several candidate paths, a path
    that fails), the full validation runs at that moment, as before."""

    _CACHE_SIZE = 4096

    def __init__(self, roots: Sequence[x509.Certificate]) -> None:
        usable: list[x509.Certificate] = []
        skipped: list[SkippedCertificate] = []
        for r in roots:
            cert, problem = shared(r)
            if problem is None:
                usable.append(cert)
            else:
                skipped.append(SkippedCertificate(label(r), problem))
        self.roots = usable
        #: trust-root certificates left out (unknown key algorithm, malformed)
        self.skipped_roots: tuple[SkippedCertificate, ...] = tuple(skipped)
        self.root_infos = [describe(r) for r in self.roots]
        self._root_ders = frozenset(r.dump() for r in self.roots)
        self._results: dict[tuple[bytes, frozenset[bytes], _dt.datetime, str], ChainResult] = {}
        self._paths: dict[tuple[bytes, frozenset[bytes]], _PathFacts] = {}
        #: what validating one path gave, by the path's certificates (anchor first)
        self._settled: dict[tuple[bytes, ...], _PathFacts] = {}
        self._trust_manager: SimpleTrustManager | None = None

    @property
    def warnings(self) -> list[str]:
        """One line naming the trust-root certificates that were left out (empty when
        none was), for the command line to print once."""
        if not self.skipped_roots:
            return []
        names = "; ".join(f"{s.name} ({s.problem})" for s in self.skipped_roots)
        return [
            f"{len(self.skipped_roots)} trust-root certificate(s) skipped because they "
            f"cannot be used: {names}"
        ]

    @classmethod
    def default(cls, extra_roots: Iterable[x509.Certificate] = ()) -> TrustStore:
        return cls([*microsoft_roots(), *extra_roots])

    def _context(
        self, moment: _dt.datetime, others: Sequence[x509.Certificate]
    ) -> ValidationContext:
        from pyhanko_certvalidator import ValidationContext
        from pyhanko_certvalidator.policy_decl import DisallowWeakAlgorithmsPolicy

        return ValidationContext(
            trust_manager=self._trust(),
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
        inter = frozenset(c.dump() for c in intermediates) - {leaf_der}
        key = (leaf_der, inter, moment, purpose)
        result = self._results.get(key)
        if result is None:
            if len(self._results) >= self._CACHE_SIZE:
                self._results.clear()
            others = [c for c in intermediates if c.dump() != leaf_der]
            try:
                facts = self._path_facts(leaf, others, (leaf_der, inter))
                if facts.path is not None:
                    result = self._at_moment(leaf, others, facts, moment, purpose)
                elif facts.failure is not None:
                    result = self._failed(leaf, others, moment, facts.failure)
                else:
                    result = self._validate(leaf, others, moment, purpose)
            except ASN1_ERRORS as exc:
                result = ChainResult(False, (), None, moment, "invalid", _msg(exc))
            self._results[key] = result
        return result

    def _path_facts(
        self,
        leaf: x509.Certificate,
        others: Sequence[x509.Certificate],
        key: tuple[bytes, frozenset[bytes]],
    ) -> _PathFacts:
        facts = self._paths.get(key)
        if facts is None:
            if len(self._paths) >= self._CACHE_SIZE:
                self._paths.clear()
            facts = self._paths[key] = self._find_path(leaf, others)
        return facts

    def _trust(self) -> SimpleTrustManager:
        from pyhanko_certvalidator.registry import SimpleTrustManager

        if self._trust_manager is None:  # built once: it hashes every root's name and key
            self._trust_manager = SimpleTrustManager.build(trust_roots=self.roots)
        return self._trust_manager

    def _candidate_paths(
        self, leaf: x509.Certificate, others: Sequence[x509.Certificate]
    ) -> list[ValidationPath] | None:
        """The paths pyhanko-certvalidator's path builder builds without fetching: trust
        anchors found by the trust manager itself, intermediates matched as its certificate
        registry matches them (subject name, then key identifier and issuer/serial when both
        sides have them), and no certificate twice on a path (by issuer and serial). None
        when there are more than two, or a path is longer than :data:`_MAX_PATH`: then the
        caller lets pyhanko-certvalidator build.

        This costs a few dictionary look-ups where the path builder costs a validation
        context and an event-loop round; the one path it finds is then validated in full by
        pyhanko-certvalidator (:meth:`_find_path`)."""
        from pyhanko_certvalidator.path import ValidationPath

        trust = self._trust()
        by_subject: dict[object, list[x509.Certificate]] = {}
        for c in others:
            if not trust.is_root(c):
                by_subject.setdefault(c.subject.hashable, []).append(c)
        found: list[ValidationPath] = []

        def walk(chain: list[x509.Certificate], seen: frozenset[object]) -> bool:
            cert = chain[-1]
            for anchor in trust.find_potential_issuers(cert):
                found.append(ValidationPath(anchor, list(reversed(chain[1:])), leaf))
                if len(found) > 2:
                    return False
            aki = cert.authority_key_identifier
            issuer_serial = cert.authority_issuer_serial
            for issuer in by_subject.get(cert.issuer.hashable, ()):
                if issuer.issuer_serial in seen:
                    continue
                if aki and issuer.key_identifier and aki != issuer.key_identifier:
                    continue  # the path builder's own filters (registry.find_potential_issuers)
                if issuer_serial and issuer_serial != issuer.issuer_serial:
                    continue
                if len(chain) >= _MAX_PATH:
                    return False
                if not walk([*chain, issuer], seen | {issuer.issuer_serial}):
                    return False
            return True

        if not walk([leaf], frozenset({leaf.issuer_serial})):
            return None
        return found

    def _find_path(self, leaf: x509.Certificate, others: Sequence[x509.Certificate]) -> _PathFacts:
        from pyhanko_certvalidator.errors import (
            InvalidCertificateError,
            PathBuildingError,
            ValidationError,
        )

        try:
            candidates = self._candidate_paths(leaf, others)
        except ASN1_ERRORS:
            candidates = None
        if candidates is not None and len(candidates) == 1:
            # the only path the builder could find, if it finds one: validate it (below)
            return self._settle(candidates[0], leaf, others)
        vc = self._context(_dt.datetime.now(_dt.UTC), others)

        async def build() -> list[ValidationPath]:
            paths: list[ValidationPath] = []
            lazy = vc.path_builder.async_build_paths_lazy(leaf)
            try:
                async for p in lazy:
                    paths.append(p)
                    if len(paths) > 1:
                        break
            finally:
                await lazy.cancel()  # type: ignore[no-untyped-call]
            return paths

        try:
            paths = _run(build)
        except PathBuildingError as exc:
            if leaf.self_signed in {"yes", "maybe"}:
                return _PathFacts(
                    failure=InvalidCertificateError(
                        f"The X.509 certificate provided is self-signed - "
                        f'"{leaf.subject.human_friendly}"'
                    )
                )
            return _PathFacts(failure=exc)
        except (ValidationError, *ASN1_ERRORS):
            return _PathFacts()
        if len(paths) != 1:
            return _PathFacts()
        return self._settle(paths[0], leaf, others)

    def _settle(
        self, path: ValidationPath, leaf: x509.Certificate, others: Sequence[x509.Certificate]
    ) -> _PathFacts:
        """The facts of the one path there is: validated in full at a moment inside every
        validity window on it, its certificates kept for per-moment checks. Once per path:
        the same signer comes with other bags of certificates (a catalog's, a nested
        cabinet's), and the validation of a given path depends on its certificates only."""
        certs = list(path)  # anchor first
        key = tuple(c.dump() for c in certs)
        facts = self._settled.get(key)
        if facts is None:
            if len(self._settled) >= self._CACHE_SIZE:
                self._settled.clear()
            facts = self._settled[key] = self._validate_path(path, certs, leaf, others)
        return facts

    def _validate_path(
        self,
        path: ValidationPath,
        certs: list[x509.Certificate],
        leaf: x509.Certificate,
        others: Sequence[x509.Certificate],
    ) -> _PathFacts:
        from pyhanko_certvalidator.errors import ValidationError
        from pyhanko_certvalidator.validate import async_validate_path

        checked = certs[1:]
        starts = [c["tbs_certificate"]["validity"]["not_before"].native for c in checked]
        ends = [c["tbs_certificate"]["validity"]["not_after"].native for c in checked]
        ideal = max(starts) if starts else leaf["tbs_certificate"]["validity"]["not_before"].native
        if ends and ideal > min(ends):
            return _PathFacts()
        vc2 = self._context(ideal, others)
        try:
            _run(lambda: async_validate_path(vc2, path))
        except (ValidationError, *ASN1_ERRORS):
            return _PathFacts()
        return _PathFacts(path=tuple(checked), anchor=certs[0])

    def _at_moment(
        self,
        leaf: x509.Certificate,
        others: Sequence[x509.Certificate],
        facts: _PathFacts,
        moment: _dt.datetime,
        purpose: str,
    ) -> ChainResult:
        """The result a full validation gives at ``moment`` for a path whose signatures and
        structure are known to be good: the first certificate (root side first) outside its
        validity window fails it, with pyhanko-certvalidator's message."""
        assert facts.path is not None and facts.anchor is not None
        n = len(facts.path)
        # the anchor too: a root's end date is excused only for a signature made while it
        # was valid, that is one validated at its timestamp's time (domain.md 8.1)
        for index, cert in enumerate((facts.anchor, *facts.path)):
            if index == 0:
                who = "the trust anchor"
            elif index == n:
                who = "the end-entity certificate"
            else:
                who = f"intermediate certificate {index}"
            outside = _outside_validity(cert, moment, who)
            if outside is not None:
                return self._partial(leaf, others, moment, *outside, True)
        certs = [describe(c) for c in reversed([facts.anchor, *facts.path])]  # leaf first
        return self._usage(certs, moment, purpose)

    @staticmethod
    def _usage(certs: list[CertInfo], moment: _dt.datetime, purpose: str) -> ChainResult:
        anchor = certs[-1] if certs else None
        wanted = CODE_SIGNING_EKUS if purpose == "code_signing" else TIME_STAMPING_EKUS
        leaf_info = certs[0]
        # a code-signing certificate without EKU may sign code; a timestamp authority's
        # must name time stamping (RFC 3161 2.3, applied to Authenticode timestamps too):
        # otherwise any signer could stamp its own signature with a time of its choice
        bare_tsa = purpose == "time_stamping" and not leaf_info.eku
        if bare_tsa or (leaf_info.eku and not (set(leaf_info.eku) & wanted)):
            usage = ", ".join(leaf_info.eku) if leaf_info.eku else "none"
            return ChainResult(
                False,
                tuple(certs),
                anchor,
                moment,
                "no-usage",
                f"the signer certificate is not valid for {purpose.replace('_', ' ')} "
                f"(extended key usage: {usage})",
                True,
            )
        return ChainResult(True, tuple(certs), anchor, moment, None, None, True)

    def _failed(
        self,
        leaf: x509.Certificate,
        others: Sequence[x509.Certificate],
        moment: _dt.datetime,
        exc: BaseException,
    ) -> ChainResult:
        """The result for a validation error, as a full validation reports it."""
        from pyhanko_certvalidator.errors import (
            DisallowedAlgorithmError,
            ExpiredError,
            InvalidCertificateError,
            NotYetValidError,
            PathBuildingError,
            PathValidationError,
        )

        if isinstance(exc, PathBuildingError):
            return ChainResult(False, (describe(leaf),), None, moment, "untrusted-root", _msg(exc))
        if isinstance(exc, ExpiredError):
            return self._partial(leaf, others, moment, "expired", _msg(exc))
        if isinstance(exc, NotYetValidError):
            return self._partial(leaf, others, moment, "not-yet-valid", _msg(exc))
        if isinstance(
            exc, (PathValidationError, InvalidCertificateError, DisallowedAlgorithmError)
        ):
            kind = "untrusted-root" if "self-signed" in str(exc) else "invalid"
            return self._partial(leaf, others, moment, kind, _msg(exc))
        return ChainResult(False, (describe(leaf),), None, moment, "invalid", _msg(exc))

    def _validate(
        self,
        leaf: x509.Certificate,
        others: Sequence[x509.Certificate],
        moment: _dt.datetime,
        purpose: str,
    ) -> ChainResult:
        """A full validation at ``moment`` (path building included)."""
        from pyhanko_certvalidator import CertificateValidator
        from pyhanko_certvalidator.errors import ValidationError

        vc = self._context(moment, others)
        validator = CertificateValidator(leaf, intermediate_certs=others, validation_context=vc)
        try:
            path = _run(validator.async_validate_path)
        except (ValidationError, *ASN1_ERRORS) as exc:
            return self._failed(leaf, others, moment, exc)
        chain = list(path)  # anchor first; pyhanko-certvalidator does not check its dates
        outside = _outside_validity(chain[0], moment, "the trust anchor") if chain else None
        if outside is not None:
            return self._partial(leaf, others, moment, *outside, True)
        certs = [describe(c) for c in reversed(chain)]  # leaf first
        return self._usage(certs, moment, purpose)

    def _partial(
        self,
        leaf: x509.Certificate,
        others: Sequence[x509.Certificate],
        moment: _dt.datetime,
        kind: str,
        message: str,
        verified: bool = False,
    ) -> ChainResult:
        """A chain that failed validation: report the path it would have had anyway."""
        path = display_chain(leaf, [*others, *self.roots])
        anchor = describe(path[-1]) if path and path[-1].dump() in self._root_ders else None
        return ChainResult(
            False, tuple(describe(c) for c in path), anchor, moment, kind, message, verified
        )


def _outside_validity(
    cert: x509.Certificate, moment: _dt.datetime, who: str
) -> tuple[str, str] | None:
    """(error kind, pyhanko-certvalidator's message) when ``moment`` is outside ``cert``'s
    validity window (one second of tolerance), else None."""
    tolerance = _dt.timedelta(seconds=1)
    validity = cert["tbs_certificate"]["validity"]
    not_before = validity["not_before"].native
    not_after = validity["not_after"].native
    if moment + tolerance < not_before:
        when = not_before.strftime("%Y-%m-%d %H:%M:%SZ")
        return (
            "not-yet-valid",
            f"The path could not be validated because {who} is not valid until {when}",
        )
    if moment - tolerance > not_after:
        when = not_after.strftime("%Y-%m-%d %H:%M:%SZ")
        return "expired", f"The path could not be validated because {who} expired {when}"
    return None


def display_chain(
    leaf: x509.Certificate, pool: Sequence[x509.Certificate], limit: int = 10
) -> list[x509.Certificate]:
    """Leaf first, following issuer names (and key identifiers when present) through
    ``pool``; for reports only, no validation."""
    chain = [leaf]
    seen = {leaf.dump()}
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
            and c.dump() not in seen
        ]
        if not cands:
            break
        cur = cands[0]
        chain.append(cur)
        seen.add(cur.dump())
    return chain


def _msg(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


__all__ = [
    "CODE_SIGNING_EKUS",
    "TIME_STAMPING_EKUS",
    "ChainResult",
    "SkippedCertificate",
    "TrustStore",
    "display_chain",
    "load_certificates",
    "microsoft_root_sha1s",
    "microsoft_roots",
]
