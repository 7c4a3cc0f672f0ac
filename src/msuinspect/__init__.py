"""msuinspect: offline inspection of Windows update packages (MSU and CAB files).

One call inspects a file::

    from msuinspect import inspect
    report = inspect("Windows6.0-KB4493730-x64.msu", trust_roots=["extra-root.pem"])
    print(report.outcome.outcome, report.package.summary.kb_numbers)

The package is layered; each layer imports only the ones below it (docs/architecture.md):
shared vocabulary (:mod:`msuinspect.errors`, :mod:`msuinspect.findings`,
:mod:`msuinspect.limits`, :mod:`msuinspect.source`) → :mod:`msuinspect.cab` (containers) →
:mod:`msuinspect.cms` → :mod:`msuinspect.authenticode` (signatures) →
:mod:`msuinspect.package` (the package model and the per-file outcome) →
:mod:`msuinspect.host` and :mod:`msuinspect.servicing` (host profiles, the servicing
knowledge base) → :mod:`msuinspect.verdict` → :mod:`msuinspect.scan` →
:mod:`msuinspect.api` (this front door) → :mod:`msuinspect.report` and
:mod:`msuinspect.cli`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from msuinspect.__version__ import __version__

if TYPE_CHECKING:
    from msuinspect.api import Report, inspect, trust_store
    from msuinspect.authenticode.inspect import FileReport
    from msuinspect.authenticode.trust import TrustStore
    from msuinspect.errors import MsuInspectError
    from msuinspect.findings import Finding, Severity
    from msuinspect.host.profile import HostProfile
    from msuinspect.host.spec import load_host
    from msuinspect.limits import Limits
    from msuinspect.package.analyse import PackageReport
    from msuinspect.package.outcome import FileOutcome, Outcome
    from msuinspect.verdict.model import Verdict

#: public name -> the module that defines it; loaded on first use, so that importing one
#: layer (``msuinspect.cab``) does not load them all
_EXPORTS = {
    "FileOutcome": "msuinspect.package.outcome",
    "FileReport": "msuinspect.authenticode.inspect",
    "Finding": "msuinspect.findings",
    "HostProfile": "msuinspect.host.profile",
    "Limits": "msuinspect.limits",
    "MsuInspectError": "msuinspect.errors",
    "Outcome": "msuinspect.package.outcome",
    "PackageReport": "msuinspect.package.analyse",
    "Report": "msuinspect.api",
    "Severity": "msuinspect.findings",
    "TrustStore": "msuinspect.authenticode.trust",
    "Verdict": "msuinspect.verdict.model",
    "inspect": "msuinspect.api",
    "load_host": "msuinspect.host.spec",
    "trust_store": "msuinspect.api",
}

__all__ = [
    "FileOutcome",
    "FileReport",
    "Finding",
    "HostProfile",
    "Limits",
    "MsuInspectError",
    "Outcome",
    "PackageReport",
    "Report",
    "Severity",
    "TrustStore",
    "Verdict",
    "__version__",
    "inspect",
    "load_host",
    "trust_store",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'msuinspect' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
