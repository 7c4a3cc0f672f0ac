"""What one evidence file (or one collector section) told about a host.

Importers return :class:`EvidenceRead` records; :mod:`msuinspect.host.merge` turns several
of them into one :class:`~msuinspect.host.profile.HostProfile`, recording conflicts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from msuinspect.host.errors import EvidenceError
from msuinspect.host.profile import Arch, EsuLicence, InstalledPackage, Product, Root

#: the value types a fact can hold (one per profile field)
FactValue = Product | Arch | EsuLicence | frozenset[Root] | bool | int | str

#: profile fields importers can fill, in report order
FACT_FIELDS: tuple[str, ...] = (
    "name",
    "product",
    "build",
    "revision",
    "arch",
    "servicing_stack_version",
    "sha2_flags",
    "roots",
    "esu",
    "esu_years",  # "1+3" or "none": each activated ESU year (slmgr)
    "pending_restart",
)


class MixedEvidenceError(EvidenceError):
    """The evidence describes more than one host (two host names, or two outputs of one
    command in one file): merging it would describe no real host."""


@dataclass(frozen=True, slots=True)
class Fact:
    """``field`` of the profile has ``value``, read at ``where`` (``file:line``)."""

    field: str
    value: FactValue
    where: str
    how: str = ""  # a short note: "BuildLabEx", "inferred from CBS parent packages"...


@dataclass(frozen=True, slots=True)
class EvidenceRead:
    """One evidence source as read.

    ``installed`` is ``None`` when the source says nothing about installed updates;
    ``installed_complete`` when it lists all of them (so an absent KB is not installed).
    ``notes`` say what the source could not tell, or caveats about what it told.
    """

    source: str  # file name, with the collector section: "host.txt[systeminfo]"
    kind: str  # importer: systeminfo, wmic-qfe, get-hotfix, reg-query, certutil, slmgr
    encoding: str
    facts: tuple[Fact, ...] = ()
    installed: tuple[InstalledPackage, ...] | None = None
    installed_complete: bool = False
    installed_where: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)


def where(source: str, line: int) -> str:
    return f"{source}:{line}"


def normalise_kb(text: str) -> str | None:
    """``KB4474419``, ``kb4474419``, ``4474419``, ``KB4474419_Microsoft...`` -> ``KB4474419``."""
    m = re.search(r"(?i)(?<![a-z])KB(\d{5,8})(?!\d)", text) or re.fullmatch(
        r"\s*(\d{5,8})\s*", text
    )
    return f"KB{m.group(1)}" if m else None
