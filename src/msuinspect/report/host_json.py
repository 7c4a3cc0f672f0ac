"""JSON form of a host profile and of ``host import`` (schema ``msuinspect.host/1``)."""

from __future__ import annotations

from typing import Any

from msuinspect.host.evidence import EvidenceRead, Fact
from msuinspect.host.merge import ImportResult
from msuinspect.host.profile import HostProfile, InstalledPackage

HOST_SCHEMA = "msuinspect.host/1"
HOST_IMPORT_SCHEMA = "msuinspect.host-import/1"


def package_dict(p: InstalledPackage) -> dict[str, Any]:
    return {
        "kb": p.kb,
        "identity": p.identity,
        "version": p.version,
        "state": p.state,
        "installed": p.is_installed,
        "installed_on": p.installed_on,
        "source": p.source,
    }


def profile_fields(p: HostProfile, installed: list[Any] | None) -> dict[str, Any]:
    """The profile's own fields in schema order (``null`` means unknown), with ``installed``
    as the caller lists the installed packages."""
    return {
        "name": p.name,
        "product": p.product.value if p.product else None,
        "build": p.build,
        "revision": p.revision,
        "arch": p.arch.value if p.arch else None,
        "installed": installed,
        "installed_complete": p.installed_complete,
        "servicing_stack_version": p.servicing_stack_version,
        "sha2_flags": p.sha2_flags,
        "roots": None if p.roots is None else sorted(r.value for r in p.roots),
        "esu": p.esu.value if p.esu else None,
        "esu_years": None if p.esu_years is None else sorted(p.esu_years),
        "azure": p.azure,
        "pending_restart": p.pending_restart,
    }


def profile_dict(p: HostProfile) -> dict[str, Any]:
    """Every field; ``null`` means unknown."""
    installed = None if p.installed is None else [package_dict(x) for x in p.installed]
    return {
        **profile_fields(p, installed),
        "evidence": dict(p.evidence),
        "conflicts": [
            {"field": c.field, "values": [{"value": v, "where": w} for v, w in c.values]}
            for c in p.conflicts
        ],
    }


def _fact(f: Fact) -> dict[str, Any]:
    value: Any = f.value
    if isinstance(value, frozenset):
        value = sorted(r.value for r in value)
    return {"field": f.field, "value": value, "where": f.where, "how": f.how}


def read_dict(r: EvidenceRead) -> dict[str, Any]:
    return {
        "source": r.source,
        "kind": r.kind,
        "encoding": r.encoding,
        "facts": [_fact(f) for f in r.facts],
        "installed_count": None if r.installed is None else len(r.installed),
        "installed_complete": r.installed_complete,
        "notes": list(r.notes),
    }


def import_dict(result: ImportResult) -> dict[str, Any]:
    return {
        "schema": HOST_IMPORT_SCHEMA,
        "profile": profile_dict(result.profile),
        "reads": [read_dict(r) for r in result.reads],
        "unknown": list(result.unknown),
    }
