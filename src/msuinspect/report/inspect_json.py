"""One :class:`msuinspect.api.Report` as the JSON file object of ``inspect`` and ``scan``
(docs/json-schema.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from msuinspect.api import Report
from msuinspect.report import cabinet_json, package_json, signatures_json

if TYPE_CHECKING:  # the verdict's modules are loaded only when there is a verdict
    from msuinspect.host.profile import HostProfile


def report_dict(report: Report, host: HostProfile | None = None) -> dict[str, Any]:
    """The file object: ``path``, ``outcome``, ``reasons``, then the signature report's keys,
    then ``package`` when the package was analysed and ``verdict`` when a host was given.
    A file that could not be opened has only
    ``path``, ``outcome``, ``reasons`` and ``error``."""
    out: dict[str, Any] = {"path": report.path, **report.outcome.to_dict()}
    if report.file is None:
        out["error"] = cabinet_json.error_dict(report.error)
        return out
    out.update(signatures_json.file_dict(report.file))
    if report.package is not None:
        out["package"] = package_json.package_dict(report.package)
    if report.verdict is not None:
        from msuinspect.report import verdict_json

        out["verdict"] = verdict_json.verdict_dict(report.verdict, host)
    return out
