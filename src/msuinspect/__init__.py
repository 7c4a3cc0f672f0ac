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
    from msuinspect.authenticode.trust import TrustStore, load_certificates
    from msuinspect.cab.codecs.base import Codec
    from msuinspect.cab.codecs.registry import codecs_by_key, default_codecs
    from msuinspect.cab.container import open_cabinet_file
    from msuinspect.cab.extract import ExtractReport, OutputFolder, extract
    from msuinspect.cab.tree import ContainerNode
    from msuinspect.cab.tree import scan as scan_tree
    from msuinspect.errors import InputError, MsuInspectError
    from msuinspect.findings import Finding, Severity
    from msuinspect.host.errors import EvidenceError, HostSpecError
    from msuinspect.host.importers.collector import collector_script
    from msuinspect.host.merge import import_evidence
    from msuinspect.host.presets import PRESET_DESCRIPTIONS, PRESETS
    from msuinspect.host.profile import HostProfile
    from msuinspect.host.spec import load_host
    from msuinspect.host.textio import MAX_EVIDENCE_BYTES
    from msuinspect.host.tomlio import write_toml
    from msuinspect.limits import MAX_SAFE_ASN1_DEPTH, MAX_SAFE_DEPTH, MAX_XML_DEPTH, Limits
    from msuinspect.package.analyse import PackageReport
    from msuinspect.package.memo import ContentMemo
    from msuinspect.package.outcome import READ_ERROR_CODES, FileOutcome, Outcome, outcome_of_error
    from msuinspect.scan.cache import (
        CacheConfig,
        CacheError,
        ResultCache,
        default_cache_path,
        trust_roots_key,
    )
    from msuinspect.scan.dask_backend import DaskUnavailable
    from msuinspect.scan.discover import Candidate, Note, NoteKind, discover
    from msuinspect.scan.engine import DEFAULT_TIMEOUT, Scan, ScanOptions, cpu_count
    from msuinspect.scan.media_checks import MediaChecker, MediaChecks, media_checks
    from msuinspect.scan.records import FileResult, Record, ToRecord, error_record
    from msuinspect.scan.walk import iter_inputs
    from msuinspect.servicing.knowledge import load_knowledge_base
    from msuinspect.status import host_status
    from msuinspect.status.packages import (
        PackageCandidate,
        PackageMatches,
        candidate,
        match_packages,
    )
    from msuinspect.userfile import file_kind, read_user_file
    from msuinspect.verdict.facts import PackageFacts, package_facts
    from msuinspect.verdict.model import Verdict
    from msuinspect.verdict.plan import make_plan

#: public name -> (the module that defines it, its name there); loaded on first use, so
#: that importing one layer (``msuinspect.cab``) does not load them all. The CLI imports
#: only these names and ``msuinspect.report`` (tests/test_layers.py checks it).
_EXPORTS = {
    "CacheConfig": ("msuinspect.scan.cache", "CacheConfig"),
    "CacheError": ("msuinspect.scan.cache", "CacheError"),
    "Candidate": ("msuinspect.scan.discover", "Candidate"),
    "Codec": ("msuinspect.cab.codecs.base", "Codec"),
    "ContainerNode": ("msuinspect.cab.tree", "ContainerNode"),
    "ContentMemo": ("msuinspect.package.memo", "ContentMemo"),
    "DEFAULT_TIMEOUT": ("msuinspect.scan.engine", "DEFAULT_TIMEOUT"),
    "DaskUnavailable": ("msuinspect.scan.dask_backend", "DaskUnavailable"),
    "EvidenceError": ("msuinspect.host.errors", "EvidenceError"),
    "ExtractReport": ("msuinspect.cab.extract", "ExtractReport"),
    "FileOutcome": ("msuinspect.package.outcome", "FileOutcome"),
    "FileReport": ("msuinspect.authenticode.inspect", "FileReport"),
    "FileResult": ("msuinspect.scan.records", "FileResult"),
    "Finding": ("msuinspect.findings", "Finding"),
    "HostProfile": ("msuinspect.host.profile", "HostProfile"),
    "HostSpecError": ("msuinspect.host.errors", "HostSpecError"),
    "InputError": ("msuinspect.errors", "InputError"),
    "Limits": ("msuinspect.limits", "Limits"),
    "MAX_EVIDENCE_BYTES": ("msuinspect.host.textio", "MAX_EVIDENCE_BYTES"),
    "MAX_SAFE_ASN1_DEPTH": ("msuinspect.limits", "MAX_SAFE_ASN1_DEPTH"),
    "MAX_SAFE_DEPTH": ("msuinspect.limits", "MAX_SAFE_DEPTH"),
    "MAX_XML_DEPTH": ("msuinspect.limits", "MAX_XML_DEPTH"),
    "MediaChecker": ("msuinspect.scan.media_checks", "MediaChecker"),
    "MediaChecks": ("msuinspect.scan.media_checks", "MediaChecks"),
    "MsuInspectError": ("msuinspect.errors", "MsuInspectError"),
    "Note": ("msuinspect.scan.discover", "Note"),
    "NoteKind": ("msuinspect.scan.discover", "NoteKind"),
    "Outcome": ("msuinspect.package.outcome", "Outcome"),
    "OutputFolder": ("msuinspect.cab.extract", "OutputFolder"),
    "PRESETS": ("msuinspect.host.presets", "PRESETS"),
    "PRESET_DESCRIPTIONS": ("msuinspect.host.presets", "PRESET_DESCRIPTIONS"),
    "PackageCandidate": ("msuinspect.status.packages", "PackageCandidate"),
    "PackageFacts": ("msuinspect.verdict.facts", "PackageFacts"),
    "PackageMatches": ("msuinspect.status.packages", "PackageMatches"),
    "PackageReport": ("msuinspect.package.analyse", "PackageReport"),
    "READ_ERROR_CODES": ("msuinspect.package.outcome", "READ_ERROR_CODES"),
    "Record": ("msuinspect.scan.records", "Record"),
    "Report": ("msuinspect.api", "Report"),
    "ResultCache": ("msuinspect.scan.cache", "ResultCache"),
    "Scan": ("msuinspect.scan.engine", "Scan"),
    "ScanOptions": ("msuinspect.scan.engine", "ScanOptions"),
    "Severity": ("msuinspect.findings", "Severity"),
    "ToRecord": ("msuinspect.scan.records", "ToRecord"),
    "TrustStore": ("msuinspect.authenticode.trust", "TrustStore"),
    "Verdict": ("msuinspect.verdict.model", "Verdict"),
    "candidate": ("msuinspect.status.packages", "candidate"),
    "codecs_by_key": ("msuinspect.cab.codecs.registry", "codecs_by_key"),
    "collector_script": ("msuinspect.host.importers.collector", "collector_script"),
    "cpu_count": ("msuinspect.scan.engine", "cpu_count"),
    "default_cache_path": ("msuinspect.scan.cache", "default_cache_path"),
    "default_codecs": ("msuinspect.cab.codecs.registry", "default_codecs"),
    "discover": ("msuinspect.scan.discover", "discover"),
    "error_record": ("msuinspect.scan.records", "error_record"),
    "extract": ("msuinspect.cab.extract", "extract"),
    "host_status": ("msuinspect.status", "host_status"),
    "import_evidence": ("msuinspect.host.merge", "import_evidence"),
    "inspect": ("msuinspect.api", "inspect"),
    "iter_inputs": ("msuinspect.scan.walk", "iter_inputs"),
    "load_certificates": ("msuinspect.authenticode.trust", "load_certificates"),
    "media_checks": ("msuinspect.scan.media_checks", "media_checks"),
    "load_host": ("msuinspect.host.spec", "load_host"),
    "load_knowledge_base": ("msuinspect.servicing.knowledge", "load_knowledge_base"),
    "make_plan": ("msuinspect.verdict.plan", "make_plan"),
    "match_packages": ("msuinspect.status.packages", "match_packages"),
    "open_cabinet_file": ("msuinspect.cab.container", "open_cabinet_file"),
    "outcome_of_error": ("msuinspect.package.outcome", "outcome_of_error"),
    "package_facts": ("msuinspect.verdict.facts", "package_facts"),
    "read_user_file": ("msuinspect.userfile", "read_user_file"),
    "file_kind": ("msuinspect.userfile", "file_kind"),
    "scan_tree": ("msuinspect.cab.tree", "scan"),
    "trust_roots_key": ("msuinspect.scan.cache", "trust_roots_key"),
    "trust_store": ("msuinspect.api", "trust_store"),
    "write_toml": ("msuinspect.host.tomlio", "write_toml"),
}

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_EVIDENCE_BYTES",
    "MAX_SAFE_ASN1_DEPTH",
    "MAX_SAFE_DEPTH",
    "MAX_XML_DEPTH",
    "PRESETS",
    "PRESET_DESCRIPTIONS",
    "READ_ERROR_CODES",
    "CacheConfig",
    "CacheError",
    "Candidate",
    "Codec",
    "ContainerNode",
    "ContentMemo",
    "DaskUnavailable",
    "EvidenceError",
    "ExtractReport",
    "FileOutcome",
    "FileReport",
    "FileResult",
    "Finding",
    "HostProfile",
    "HostSpecError",
    "InputError",
    "Limits",
    "MediaChecker",
    "MediaChecks",
    "MsuInspectError",
    "Note",
    "NoteKind",
    "Outcome",
    "OutputFolder",
    "PackageCandidate",
    "PackageFacts",
    "PackageMatches",
    "PackageReport",
    "Record",
    "Report",
    "ResultCache",
    "Scan",
    "ScanOptions",
    "Severity",
    "ToRecord",
    "TrustStore",
    "Verdict",
    "__version__",
    "candidate",
    "codecs_by_key",
    "collector_script",
    "cpu_count",
    "default_cache_path",
    "default_codecs",
    "discover",
    "error_record",
    "extract",
    "file_kind",
    "host_status",
    "import_evidence",
    "inspect",
    "iter_inputs",
    "load_certificates",
    "load_host",
    "load_knowledge_base",
    "make_plan",
    "match_packages",
    "media_checks",
    "open_cabinet_file",
    "outcome_of_error",
    "package_facts",
    "read_user_file",
    "scan_tree",
    "trust_roots_key",
    "trust_store",
    "write_toml",
]


def __getattr__(name: str) -> Any:
    where = _EXPORTS.get(name)
    if where is None:
        raise AttributeError(f"module 'msuinspect' has no attribute {name!r}")
    module, attr = where
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value
