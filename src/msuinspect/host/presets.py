"""Documented example hosts (``--host preset:NAME``), each an x64 and an x86 variant.

* ``2008sp2-rtm-x64``: Server 2008 SP2 as installed from SP2 media, build 6002, nothing
  after SP2 (KB948465), no SHA-2 support, in-box roots only, no ESU licence.
* ``2008sp2-sha2-x64``: build 6003 with the SSU KB4493730 (6.0.1.0), KB4474419 v4
  (6.0.4.0) and the 2019-03-19 rollup KB4489887 that moved it to 6003 (verdict-facts
  Corrections 7), restarted; in-box roots only (no Root CA 2010/2011), no ESU licence.
* ``2008sp2-esu-x64``: the SHA-2 host plus the July 2022 SSU KB5016129 (stack
  6.0.6003.21569), the ESU licensing preparation packages KB4575904 and KB5016891, an
  activated ESU year-3 licence, roots 2010 and 2011 imported.

Each list of installed updates is complete. These are hypothetical hosts for trying
packages against, not observations.
"""

from __future__ import annotations

from msuinspect.host.errors import HostSpecError
from msuinspect.host.profile import (
    IN_BOX_ROOTS,
    Arch,
    EsuLicence,
    HostProfile,
    InstalledPackage,
    Product,
    Root,
)

_TOKEN = "31bf3856ad364e35"


def _pkg(
    kb: str, arch: Arch, version: str | None = None, identity: str | None = None
) -> InstalledPackage:
    ident = None
    if identity is not None and version is not None:
        ident = f"{identity}~{_TOKEN}~{arch.value}~~{version}"
    return InstalledPackage(
        kb=kb,
        identity=ident,
        version=version,
        state="installed" if ident else None,
        source="preset",
    )


def _rtm(arch: Arch, name: str) -> HostProfile:
    return HostProfile(
        product=Product.SERVER,
        build=6002,
        revision=18005,
        arch=arch,
        installed=(_pkg("KB948465", arch, "6.0.1.18005", "Package_for_KB948465"),),
        installed_complete=True,
        sha2_flags=False,
        roots=IN_BOX_ROOTS,
        esu=EsuLicence.NONE,
        azure=False,
        pending_restart=False,
        name=name,
        evidence={"*": f"preset:{name}"},
    )


def _sha2_packages(arch: Arch) -> tuple[InstalledPackage, ...]:
    return (
        _pkg("KB948465", arch, "6.0.1.18005", "Package_for_KB948465"),
        _pkg("KB4489887", arch),
        _pkg("KB4493730", arch, "6.0.1.0", "Package_1_for_KB4493730"),
        _pkg("KB4474419", arch, "6.0.4.0", "Package_for_KB4474419"),
    )


def _sha2(arch: Arch, name: str) -> HostProfile:
    return HostProfile(
        product=Product.SERVER,
        build=6003,
        revision=20491,
        arch=arch,
        installed=_sha2_packages(arch),
        installed_complete=True,
        servicing_stack_version="6.0.6003.20484",
        sha2_flags=True,
        roots=IN_BOX_ROOTS,
        esu=EsuLicence.NONE,
        azure=False,
        pending_restart=False,
        name=name,
        evidence={"*": f"preset:{name}"},
    )


def _esu(arch: Arch, name: str) -> HostProfile:
    return HostProfile(
        product=Product.SERVER,
        build=6003,
        revision=20491,
        arch=arch,
        installed=(
            *_sha2_packages(arch),
            _pkg("KB5016129", arch),
            _pkg("KB4575904", arch),
            _pkg("KB5016891", arch),
        ),
        installed_complete=True,
        servicing_stack_version="6.0.6003.21569",
        sha2_flags=True,
        roots=IN_BOX_ROOTS | {Root.ROOT_2010, Root.ROOT_2011},
        esu=EsuLicence.YEAR3,
        azure=False,
        pending_restart=False,
        name=name,
        evidence={"*": f"preset:{name}"},
    )


PRESET_DESCRIPTIONS: dict[str, str] = {
    "2008sp2-rtm": "build 6002, SP2 only, no SHA-2 support, in-box roots, no ESU",
    "2008sp2-sha2": "build 6003, KB4493730 + KB4474419 v4 (+ KB4489887), in-box roots only",
    "2008sp2-esu": "SHA-2 host + SSU KB5016129, ESU prep KB4575904/KB5016891, ESU y3, "
    "roots 2010+2011",
}
_BUILDERS = {"2008sp2-rtm": _rtm, "2008sp2-sha2": _sha2, "2008sp2-esu": _esu}
_ARCHES = {"x64": Arch.AMD64, "x86": Arch.X86}

PRESETS: tuple[str, ...] = tuple(f"{base}-{suffix}" for base in _BUILDERS for suffix in _ARCHES)


def preset(name: str) -> HostProfile:
    """The profile of a preset (``2008sp2-sha2-x64``...). Raises :class:`HostSpecError`."""
    key = name.strip().casefold()
    base, _, suffix = key.rpartition("-")
    if base not in _BUILDERS or suffix not in _ARCHES:
        raise HostSpecError(f"unknown preset {name!r} (presets: {', '.join(PRESETS)})")
    return _BUILDERS[base](_ARCHES[suffix], key)
