"""The host profile: every fact the verdict may use about one 6.0 host.

Every field may be unknown (``None``); the verdict then names the unknown field that
decided an "unknown" outcome. Each known field may carry the evidence it came from
(``HostProfile.evidence``: field name -> where it was read, e.g. ``systeminfo.txt:14``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Arch(StrEnum):
    X86 = "x86"
    AMD64 = "amd64"
    IA64 = "ia64"


class Product(StrEnum):
    SERVER = "server"  # Windows Server 2008, full installation
    SERVER_CORE = "server-core"  # Windows Server 2008, Server Core installation
    SERVER_UNKNOWN = "server-unknown"  # Windows Server 2008, full or Core not known
    VISTA = "vista"  # Windows Vista (6.0 client)


class EsuLicence(StrEnum):
    NONE = "none"
    YEAR1 = "y1"
    YEAR2 = "y2"
    YEAR3 = "y3"
    YEAR4 = "y4"  # Azure-only year 4 (2023-02-14 .. 2024-01-09)


class Root(StrEnum):
    """Microsoft roots the verdict cares about, by stable id."""

    ROOT_AUTHORITY = "root-authority"  # Microsoft Root Authority (1997), expires 2020-12-31
    ROOT_2001 = "2001"  # Microsoft Root Certificate Authority, expires 2021-05-09
    ROOT_2010 = "2010"  # Microsoft Root Certificate Authority 2010
    ROOT_2011 = "2011"  # Microsoft Root Certificate Authority 2011


#: The Microsoft roots a Server 2008 SP2 host holds out of the box (verdict-facts §4).
IN_BOX_ROOTS: frozenset[Root] = frozenset({Root.ROOT_AUTHORITY, Root.ROOT_2001})


@dataclass(frozen=True, slots=True)
class InstalledPackage:
    """One installed update as the evidence shows it.

    ``kb`` is normalised as ``"KB4474419"``. ``identity`` is a CBS package name when the
    evidence has one (``Package_25_for_KB4474419~31bf3856ad364e35~amd64~~6.0.4.0``),
    ``version`` its version (``"6.0.4.0"``), ``state`` the CBS CurrentState when known
    (``"installed"``, ``"staged"``, ``"install-pending"``, or the raw hex value).
    ``installed_on`` is an ISO date when the evidence gives one. ``source`` says where
    this was read.
    """

    kb: str | None
    identity: str | None = None
    version: str | None = None
    state: str | None = None
    installed_on: str | None = None
    source: str | None = None

    @property
    def is_installed(self) -> bool:
        """False only when the CBS state says the package is not (yet) installed.

        ``absent``, ``resolving``, ``resolved``, ``staging`` and ``staged`` packages are
        known to CBS but not installed; every other state, and an unknown state (a
        ``systeminfo`` / ``wmic qfe`` entry), counts as installed.
        """
        return self.state not in NOT_INSTALLED_STATES


#: CBS ``CurrentState`` values (registry hex) and the names :class:`InstalledPackage`
#: uses for them (CBS servicing states chart, Microsoft "Tip of the Day" 2015-10-12).
CBS_STATES: Mapping[int, str] = {
    0x00: "absent",
    0x05: "uninstall-pending",
    0x10: "resolving",
    0x20: "resolved",
    0x30: "staging",
    0x40: "staged",
    0x50: "superseded",
    0x60: "install-pending",
    0x65: "partially-installed",
    0x70: "installed",
    0x80: "permanent",
}

#: States in which a package's content is not in place on the host.
NOT_INSTALLED_STATES: frozenset[str] = frozenset(
    {"absent", "resolving", "resolved", "staging", "staged"}
)


@dataclass(frozen=True, slots=True)
class Conflict:
    """Two or more evidence sources disagree on one field; the field is left unknown.

    ``values`` holds ``(value as text, where it was read)`` pairs, in evidence order.
    """

    field: str
    values: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class HostProfile:
    """A described 6.0 host. ``None`` means unknown for every field.

    ``installed`` is ``None`` when nothing is known about installed updates, and a
    tuple (possibly empty) when the evidence lists them; an empty tuple means "none
    installed" only when ``installed_complete`` is true (a full ``systeminfo`` hotfix
    list, a CBS ``Packages`` key dump), otherwise the list may be partial.
    ``roots`` is ``None`` when unknown; presets and ``--host`` without ``roots=`` use
    :data:`IN_BOX_ROOTS`. ``sha2_flags`` is the SHA-2 code-signing registry flag
    (``...\\Servicing\\Codesigning\\SHA2``, both values > 0), ``None`` when not read.
    ``azure`` is whether the host runs on an Azure platform (ESU year 4).
    ``esu`` is the ESU licence as one value (the highest activated year); ``esu_years``
    the set of activated years when the evidence lists them one by one (``slmgr /dlv
    all``), ``None`` when only ``esu`` is known: then ``yN`` is read as "years 1..N"
    (:meth:`esu_activated`).
    """

    product: Product | None = None
    build: int | None = None  # 6002 or 6003
    revision: int | None = None  # e.g. 24564 from BuildLabEx 6003.20491 -> 20491
    arch: Arch | None = None
    installed: tuple[InstalledPackage, ...] | None = None
    installed_complete: bool = False
    servicing_stack_version: str | None = None
    sha2_flags: bool | None = None
    roots: frozenset[Root] | None = None
    esu: EsuLicence | None = None
    esu_years: frozenset[int] | None = None
    azure: bool | None = None
    pending_restart: bool | None = None
    name: str | None = None  # a label for reports (host name or preset name)
    evidence: Mapping[str, str] = field(default_factory=dict)
    conflicts: tuple[Conflict, ...] = ()  # fields left unknown because sources disagree

    def esu_activated(self, year: int) -> bool | None:
        """Is an ESU licence for ``year`` activated? ``None`` when unknown.

        The per-year set (``esu_years``) decides when known; otherwise the shorthand
        ``esu=yN`` means years 1..N, ``none`` no year.
        """
        if self.esu_years is not None:
            return year in self.esu_years
        if self.esu is None:
            return None
        if self.esu is EsuLicence.NONE:
            return False
        return year <= int(self.esu.value[1:])

    def kb_numbers(self) -> frozenset[str]:
        """The installed KB numbers (``"KB4474419"``); empty when unknown."""
        if not self.installed:
            return frozenset()
        return frozenset(p.kb for p in self.installed if p.kb and p.is_installed)

    def has_kb(self, kb: str) -> bool | None:
        """True when installed; False when the list is complete and lacks it; None when unknown."""
        kb = kb.upper() if kb.upper().startswith("KB") else f"KB{kb}"
        if self.installed is None:
            return None
        if kb in self.kb_numbers():
            return True
        return False if self.installed_complete else None

    def packages_for(self, kb: str) -> tuple[InstalledPackage, ...]:
        kb = kb.upper() if kb.upper().startswith("KB") else f"KB{kb}"
        return tuple(p for p in self.installed or () if p.kb == kb)
