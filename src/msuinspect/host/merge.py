"""Several evidence reads -> one :class:`HostProfile`, with evidence and conflicts.

* A field seen with one value is set, its evidence the places it was read.
* A field seen with different values is left unknown and recorded in
  ``HostProfile.conflicts`` (the report says so; nothing is picked silently).
  ``server-unknown`` is refined by ``server`` / ``server-core`` without a conflict.
* Roots from several certificate stores (Root, AuthRoot) are united.
* Installed updates from every list are united; the list is complete when one source
  lists everything (a full ``systeminfo`` hotfix block, ``wmic qfe``, the CBS key).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from msuinspect.host.evidence import (
    FACT_FIELDS,
    EvidenceRead,
    Fact,
    FactValue,
    MixedEvidenceError,
)
from msuinspect.host.importers import read_evidence
from msuinspect.host.profile import (
    Arch,
    Conflict,
    EsuLicence,
    HostProfile,
    InstalledPackage,
    Product,
    Root,
)


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What ``host import`` learned: the profile, every read, and what stays unknown."""

    profile: HostProfile
    reads: tuple[EvidenceRead, ...]
    unknown: tuple[str, ...]  # profile fields still unknown, with the reason


def _show(value: FactValue) -> str:
    if isinstance(value, frozenset):
        return "+".join(sorted(r.value for r in value)) or "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _has_root_store(how: str) -> bool:
    """``certutil -store Root+AuthRoot`` -> True; ``certutil -store AuthRoot`` -> False.
    (Facts without a store name come from older reads and count as Root.)"""
    if not how.startswith("certutil -store "):
        return True
    return "root" in how.removeprefix("certutil -store ").casefold().split("+")


def _merge_field(
    name: str, facts: list[Fact]
) -> tuple[FactValue | None, str | None, Conflict | None]:
    if not facts:
        return None, None, None
    if name == "roots":
        # the Microsoft roots live in the Root store: AuthRoot alone is not the list
        if not any(_has_root_store(f.how) for f in facts):
            return None, None, None
        union: frozenset[Root] = frozenset()
        for f in facts:
            assert isinstance(f.value, frozenset)
            union |= f.value
        return union, "; ".join(f.where for f in facts), None
    values: list[FactValue] = []
    for f in facts:
        if f.value not in values:
            values.append(f.value)
    if name == "product" and len(values) > 1 and Product.SERVER_UNKNOWN in values:
        specific: list[FactValue] = [
            v for v in values if v in (Product.SERVER, Product.SERVER_CORE)
        ]
        if len(specific) == 1 and Product.VISTA not in values:
            values = specific
            facts = [f for f in facts if f.value in (Product.SERVER_UNKNOWN, specific[0])]
    if len(values) == 1:
        return values[0], "; ".join(dict.fromkeys(f.where for f in facts)), None
    pairs = tuple((_show(f.value), f.where) for f in facts)
    return None, None, Conflict(name, pairs)


def _merge_installed(
    reads: Sequence[EvidenceRead],
) -> tuple[tuple[InstalledPackage, ...] | None, bool, list[Conflict], str | None]:
    lists = [r for r in reads if r.installed is not None]
    if not lists:
        return None, False, [], None
    cbs: dict[str, InstalledPackage] = {}
    plain: dict[str, InstalledPackage] = {}
    for r in lists:
        for p in r.installed or ():
            if p.identity and "~" in p.identity:
                cbs.setdefault(p.identity.casefold(), p)
            else:
                key = p.kb or p.identity or ""
                old = plain.get(key)
                if old is None or (old.installed_on is None and p.installed_on is not None):
                    plain[key] = p
    conflicts: list[Conflict] = []
    cbs_kbs: dict[str, list[InstalledPackage]] = {}
    for p in cbs.values():
        if p.kb:
            cbs_kbs.setdefault(p.kb, []).append(p)
    for kb, p in plain.items():
        entries = cbs_kbs.get(kb)
        if entries and all(e.state is not None and not e.is_installed for e in entries):
            conflicts.append(
                Conflict(
                    f"installed:{kb}",
                    (
                        ("installed", p.source or ""),
                        *((f"CBS state {e.state}", e.source or "") for e in entries),
                    ),
                )
            )
    merged = (*cbs.values(), *plain.values())
    complete = any(r.installed_complete for r in lists)
    where_ = "; ".join(r.installed_where for r in lists if r.installed_where)
    return merged, complete, conflicts, where_ or None


def _one_host(names: list[Fact]) -> None:
    """Evidence naming different hosts is refused: uniting their update lists would
    describe a host that does not exist (host names compare without case, as Windows does)."""
    first: dict[str, Fact] = {}
    for f in names:
        first.setdefault(str(f.value).casefold(), f)
    if len(first) > 1:
        shown = " and ".join(f"{f.value} ({f.where})" for f in first.values())
        raise MixedEvidenceError(
            f"the evidence describes {len(first)} hosts: {shown}; import each host on its own"
        )


def merge(reads: Sequence[EvidenceRead], *, name: str | None = None) -> ImportResult:
    """Unite the reads of one host. Raises :class:`MixedEvidenceError` when they name
    different hosts."""
    by_field: dict[str, list[Fact]] = {f: [] for f in FACT_FIELDS}
    for r in reads:
        for fact in r.facts:
            by_field.setdefault(fact.field, []).append(fact)
    _one_host(by_field.get("name", []))
    values: dict[str, FactValue | None] = {}
    evidence: dict[str, str] = {}
    conflicts: list[Conflict] = []
    for fname, facts in by_field.items():
        value, where_, conflict = _merge_field(fname, facts)
        values[fname] = value
        if where_:
            evidence[fname] = where_
        if conflict:
            conflicts.append(conflict)
    installed, complete, inst_conflicts, inst_where = _merge_installed(reads)
    conflicts.extend(inst_conflicts)
    if inst_where:
        evidence["installed"] = inst_where

    product = values.get("product")
    arch = values.get("arch")
    roots = values.get("roots")
    esu = values.get("esu")
    profile = HostProfile(
        product=product if isinstance(product, Product) else None,
        build=_int(values.get("build")),
        revision=_int(values.get("revision")),
        arch=arch if isinstance(arch, Arch) else None,
        installed=installed,
        installed_complete=complete,
        servicing_stack_version=_str(values.get("servicing_stack_version")),
        sha2_flags=_bool(values.get("sha2_flags")),
        roots=frozenset(r for r in roots if isinstance(r, Root))
        if isinstance(roots, frozenset)
        else None,
        esu=esu if isinstance(esu, EsuLicence) else None,
        esu_years=parse_esu_years(values.get("esu_years")),
        azure=None,
        pending_restart=_bool(values.get("pending_restart")),
        name=name or _str(values.get("name")),
        evidence=evidence,
        conflicts=tuple(conflicts),
    )
    return ImportResult(profile, tuple(reads), _unknown(profile))


def parse_esu_years(v: object) -> frozenset[int] | None:
    """``"1+3"`` -> {1, 3}; ``"none"`` -> {}; anything else -> None."""
    if not isinstance(v, str):
        return None
    if v == "none":
        return frozenset()
    parts = v.split("+")
    if not all(p.isdigit() and 1 <= int(p) <= 4 for p in parts):
        return None
    return frozenset(int(p) for p in parts)


def _int(v: object) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _str(v: object) -> str | None:
    return v if isinstance(v, str) else None


def _bool(v: object) -> bool | None:
    return v if isinstance(v, bool) else None


_WHY = {
    "product": "no OS name / ProductName (systeminfo, reg query CurrentVersion)",
    "build": "no OS version (systeminfo) or BuildLabEx (reg query CurrentVersion)",
    "revision": "no BuildLabEx (reg query CurrentVersion)",
    "arch": "no System Type (systeminfo) or BuildLabEx",
    "installed": "no update list (systeminfo, wmic qfe, Get-HotFix, reg query CBS Packages)",
    "servicing_stack_version": "no reg query of Component Based Servicing\\Version",
    "sha2_flags": "no reg query of Servicing\\Codesigning\\SHA2",
    "roots": "no complete certutil -store root output",
    "esu": "no slmgr /dlv all output",
    "azure": "evidence never tells whether the host runs on Azure",
    "pending_restart": "no reg query of Component Based Servicing\\RebootPending",
}


def _unknown(p: HostProfile) -> tuple[str, ...]:
    conflicted = {c.field for c in p.conflicts}
    out: list[str] = []
    for fname, why in _WHY.items():
        if getattr(p, fname) is None:
            reason = "the evidence disagrees (see conflicts)" if fname in conflicted else why
            out.append(f"{fname}: {reason}")
    if p.installed is not None and not p.installed_complete:
        out.append("installed: the update list is partial (an absent KB stays unknown)")
    return tuple(out)


def import_evidence(files: Sequence[tuple[str, bytes]], *, name: str | None = None) -> ImportResult:
    """Read and merge evidence files given as ``(name, bytes)``. Raises ``EvidenceError``."""
    reads: list[EvidenceRead] = []
    for fname, data in files:
        reads.extend(read_evidence(data, name=fname))
    return merge(reads, name=name)
