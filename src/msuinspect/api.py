"""The front door: one call to inspect a file, as the CLI and the batch scanner do.

>>> from msuinspect import inspect
>>> report = inspect("Windows6.0-KB4493730-x64.msu")
>>> report.outcome.outcome, report.package.summary.kb_numbers
(<Outcome.OK: 'ok'>, ['4493730'])

Everything the CLI prints is an attribute of the returned :class:`Report`: the signature
report of the file (:attr:`Report.file`), the package tree and summary
(:attr:`Report.package`) and the outcome with its reasons (:attr:`Report.outcome`).
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

from asn1crypto import x509

from msuinspect.authenticode.inspect import FileReport, inspect_source
from msuinspect.authenticode.trust import TrustStore, load_certificates
from msuinspect.errors import MsuInspectError
from msuinspect.limits import Limits
from msuinspect.package.analyse import PackageReport, analyse_source
from msuinspect.package.memo import ContentMemo
from msuinspect.package.outcome import FileOutcome, outcome_of, outcome_of_error
from msuinspect.source import ByteSource, BytesSource, FileSource

if TYPE_CHECKING:  # the host verdict is loaded only when a host is given
    from cryptography import x509 as crypto_x509

    from msuinspect.host.profile import HostProfile
    from msuinspect.servicing.knowledge import KnowledgeBase
    from msuinspect.verdict.model import Verdict


@dataclass(slots=True)
class Report:
    """Everything msuinspect learnt about one file."""

    path: str
    outcome: FileOutcome
    #: the file's own signatures and hashes; None when the file could not be opened
    file: FileReport | None = None
    #: the package tree and summary; None with ``signatures_only`` or when not opened
    package: PackageReport | None = None
    #: why the file could not be opened at all
    error: MsuInspectError | None = None
    #: could the host given to :func:`inspect` validate and install it (None without a host,
    #: with ``signatures_only``, or when the file could not be opened)
    verdict: Verdict | None = None


#: what ``trust_roots`` may hold: PEM or DER files, or certificates (``cryptography`` or
#: ``asn1crypto`` objects)
TrustRoot: TypeAlias = "str | os.PathLike[str] | x509.Certificate | crypto_x509.Certificate"


def trust_store(trust_roots: Iterable[TrustRoot] = ()) -> TrustStore:
    """The pinned Microsoft roots plus ``trust_roots`` (PEM/DER files or certificates)."""
    extra: list[x509.Certificate] = []
    for item in trust_roots:
        if isinstance(item, x509.Certificate):
            extra.append(item)
        elif isinstance(item, str | os.PathLike):
            extra.extend(load_certificates(item))
        else:
            extra.append(_from_cryptography(item))
    return TrustStore.default(extra)


def _from_cryptography(cert: object) -> x509.Certificate:
    """A ``cryptography`` certificate as the ``asn1crypto`` one the trust store works with
    (``cryptography.x509`` is loaded only here: it costs 30 ms at start-up)."""
    from cryptography import x509 as crypto_x509
    from cryptography.hazmat.primitives.serialization import Encoding

    if not isinstance(cert, crypto_x509.Certificate):
        raise TypeError(f"not a trust root (a path or a certificate): {cert!r}")
    return x509.Certificate.load(cert.public_bytes(Encoding.DER))


def inspect(
    target: str | os.PathLike[str] | bytes | ByteSource,
    *,
    trust_roots: Iterable[TrustRoot] = (),
    trust: TrustStore | None = None,
    as_of: _dt.datetime | None = None,
    limits: Limits | None = None,
    signatures_only: bool = False,
    name: str | None = None,
    host: HostProfile | None = None,
    knowledge: KnowledgeBase | None = None,
    memo: ContentMemo | None = None,
) -> Report:
    """Inspect one file (a path, bytes, or a :class:`~msuinspect.source.ByteSource`).

    A file that cannot be opened gives a report with an ``error`` outcome rather than an
    exception; hostile or broken content gives findings. Only a bug raises. Pass ``trust``
    to reuse one :class:`TrustStore` (and its chain cache) across many files, and one
    :class:`~msuinspect.package.memo.ContentMemo` to let them share what depends only on
    bytes (a catalog met again in another file is not verified and parsed again). With a
    ``host`` (see :mod:`msuinspect.host.spec`), the report carries the host verdict, judged
    against ``knowledge`` (default: the bundled servicing knowledge base).
    """
    store = trust if trust is not None else trust_store(trust_roots)
    path = name or (os.fspath(target) if isinstance(target, str | os.PathLike) else "<bytes>")
    try:
        if isinstance(target, ByteSource):
            source: ByteSource = target
        elif isinstance(target, bytes | bytearray | memoryview):
            source = BytesSource(bytes(target), path)
        else:
            source = FileSource(target, name)
        path = source.display_name
        if signatures_only:
            file = inspect_source(source, store, as_of=as_of, file_hashes=False, limits=limits)
            return Report(path, outcome_of(file), file)
        package = analyse_source(source, store, as_of=as_of, limits=limits, memo=memo)
    except MsuInspectError as exc:
        if exc.path is None:
            exc.path = path
        return Report(path, outcome_of_error(exc), error=exc)
    verdict = None
    if host is not None:
        from msuinspect.servicing.knowledge import load_knowledge_base
        from msuinspect.verdict.facts import package_facts
        from msuinspect.verdict.judge import judge

        kb = knowledge if knowledge is not None else load_knowledge_base()
        verdict = judge(package_facts(package), host, kb)
    return Report(path, outcome_of(package.file, package), package.file, package, verdict=verdict)
