"""``--host`` values: ``key=value`` lists, ``preset:NAME`` and TOML profile files.

Syntax (comma-separated, keys in any order, each at most once)::

    build=6002|6003[.REVISION]   revision=N          arch=x86|amd64|x64|ia64
    product=server|server-core|server-unknown|vista
    kb=KB4474419@6.0.4.0+KB4493730   (``+`` separated; ``@VERSION`` optional; ``none``;
                                      ``unknown``)
    kb-complete=yes|no           (default yes: the kb= list is every installed update)
    roots=2010+2011              adds to the in-box roots (root-authority + 2001)
    roots=only:2001+2010         exactly these; roots=none; roots=unknown
    esu=none|y1|y2|y3|y4|unknown (yN: years 1..N)   ssu=6.0.6003.20484|unknown
    sha2flags=yes|no
    restart=yes|no (a restart is pending)   azure=yes|no   name=LABEL

``preset:NAME`` may come first and be followed by overrides:
``preset:2008sp2-sha2-x64,roots=2010``. Anything else naming an existing ``.toml`` file
is read as a profile (:func:`load_host`): a regular file of at most 16 MiB
(:data:`MAX_PROFILE_BYTES`); a FIFO, a device or a larger file is a
:class:`HostSpecError`, found before anything is read.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from msuinspect.errors import InputError
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
from msuinspect.host.tomlio import read_toml
from msuinspect.userfile import read_user_file

KEYS = (
    "build",
    "revision",
    "arch",
    "product",
    "kb",
    "kb-complete",
    "roots",
    "esu",
    "ssu",
    "sha2flags",
    "restart",
    "azure",
    "name",
)

_ARCH = {"x86": Arch.X86, "i386": Arch.X86, "amd64": Arch.AMD64, "x64": Arch.AMD64}
_ARCH |= {"ia64": Arch.IA64, "itanium": Arch.IA64}
_PRODUCT = {
    "server": Product.SERVER,
    "full": Product.SERVER,
    "server-core": Product.SERVER_CORE,
    "core": Product.SERVER_CORE,
    "server-unknown": Product.SERVER_UNKNOWN,
    "vista": Product.VISTA,
}
_ESU = {
    "none": EsuLicence.NONE,
    "no": EsuLicence.NONE,
    "y1": EsuLicence.YEAR1,
    "y2": EsuLicence.YEAR2,
    "y3": EsuLicence.YEAR3,
    "y4": EsuLicence.YEAR4,
    "1": EsuLicence.YEAR1,
    "2": EsuLicence.YEAR2,
    "3": EsuLicence.YEAR3,
    "4": EsuLicence.YEAR4,
}
_ROOT = {
    "root-authority": Root.ROOT_AUTHORITY,
    "authority": Root.ROOT_AUTHORITY,
    "1997": Root.ROOT_AUTHORITY,
    "2001": Root.ROOT_2001,
    "2010": Root.ROOT_2010,
    "2011": Root.ROOT_2011,
}
_TRUE = {"yes", "y", "true", "1", "on"}
_FALSE = {"no", "n", "false", "0", "off"}
_KB = re.compile(r"^(?:KB)?(\d{5,8})(?:@(\d+\.\d+\.\d+\.\d+))?$", re.IGNORECASE)
_VERSION4 = re.compile(r"^\d+\.\d+\.\d+\.\d+$")

#: the largest TOML profile :func:`load_host` reads (``host import`` writes a few KiB for a
#: host with dozens of updates)
MAX_PROFILE_BYTES = 16 << 20


def _bool(key: str, value: str) -> bool | None:
    v = value.casefold()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    if v == "unknown":
        return None
    raise HostSpecError(f"--host {key}={value}: expected yes, no or unknown")


def _choice(key: str, value: str, table: dict[str, object]) -> object:
    if value.casefold() == "unknown":
        return None
    try:
        return table[value.casefold()]
    except KeyError:
        raise HostSpecError(
            f"--host {key}={value}: expected one of {', '.join(table)} or unknown"
        ) from None


def _kbs(value: str) -> tuple[InstalledPackage, ...]:
    if value.casefold() in ("none", ""):
        return ()
    out: list[InstalledPackage] = []
    for item in re.split(r"[+;\s]+", value.strip()):
        m = _KB.match(item)
        if not m:
            raise HostSpecError(
                f"--host kb: {item!r} is not a KB number (KB4474419, or KB4474419@6.0.4.0)"
            )
        kb = f"KB{m.group(1)}"
        out.append(InstalledPackage(kb=kb, version=m.group(2), source="--host"))
    return tuple(out)


def _roots(value: str) -> frozenset[Root] | None:
    v = value.casefold()
    if v == "unknown":
        return None
    if v == "none":
        return frozenset()
    only = v.startswith("only:")
    names = v.removeprefix("only:")
    roots: set[Root] = set() if only else set(IN_BOX_ROOTS)
    for item in re.split(r"[+;\s]+", names):
        if item == "in-box":
            roots |= IN_BOX_ROOTS
        elif item in _ROOT:
            roots.add(_ROOT[item])
        elif item:
            raise HostSpecError(
                f"--host roots: {item!r} is not a root (root-authority, 2001, 2010, 2011, "
                "in-box; roots=only:LIST, roots=none, roots=unknown)"
            )
    return frozenset(roots)


def parse_host_spec(text: str) -> HostProfile:
    """Parse a ``--host`` ``key=value`` list, optionally starting with ``preset:NAME``."""
    from msuinspect.host.presets import preset

    items = [i.strip() for i in text.split(",")]
    if not text.strip() or not any(items):
        raise HostSpecError("--host: empty host description")
    base: HostProfile | None = None
    if items[0].casefold().startswith("preset:"):
        base = preset(items[0].split(":", 1)[1].strip())
        items = items[1:]
    given: dict[str, str] = {}
    for item in items:
        if not item:
            continue
        if "=" not in item:
            raise HostSpecError(
                f"--host: {item!r} is not key=value (keys: {', '.join(KEYS)}; or preset:NAME, "
                "or a .toml file)"
            )
        key, value = (p.strip() for p in item.split("=", 1))
        key = key.casefold().replace("_", "-")
        if key not in KEYS:
            raise HostSpecError(f"--host: unknown key {key!r} (keys: {', '.join(KEYS)})")
        if key in given:
            raise HostSpecError(f"--host: {key} given twice")
        given[key] = value
    profile = base or HostProfile(roots=IN_BOX_ROOTS, evidence={"roots": "default: in-box roots"})
    evidence = dict(profile.evidence)
    changes: dict[str, object] = {}
    if given.get("build", "").casefold() == "unknown":
        changes["build"] = None
        changes["revision"] = None
    elif "build" in given:
        m = re.fullmatch(r"(\d{4})(?:\.(\d+))?", given["build"])
        if not m or not 6000 <= int(m.group(1)) <= 6003:
            raise HostSpecError(
                f"--host build={given['build']}: expected 6002 or 6003 (optionally .REVISION), "
                "a Windows 6.0 build"
            )
        changes["build"] = int(m.group(1))
        if m.group(2):
            changes["revision"] = int(m.group(2))
    if given.get("revision", "").casefold() == "unknown":
        changes["revision"] = None
    elif "revision" in given:
        if not given["revision"].isdigit():
            raise HostSpecError(f"--host revision={given['revision']}: expected a number")
        changes["revision"] = int(given["revision"])
    if "arch" in given:
        changes["arch"] = _choice("arch", given["arch"], dict(_ARCH))
    if "product" in given:
        changes["product"] = _choice("product", given["product"], dict(_PRODUCT))
    kb_unknown = given.get("kb", "").casefold() == "unknown"
    if "kb" in given:
        changes["installed"] = None if kb_unknown else _kbs(given["kb"])
        changes["installed_complete"] = not kb_unknown
    if "kb-complete" in given:
        complete = _bool("kb-complete", given["kb-complete"])
        if kb_unknown or ("kb" not in given and profile.installed is None):
            raise HostSpecError("--host kb-complete needs a kb= list")
        changes["installed_complete"] = bool(complete)
    if "roots" in given:
        changes["roots"] = _roots(given["roots"])
    if "esu" in given:
        changes["esu"] = _choice("esu", given["esu"], dict(_ESU))
        changes["esu_years"] = None  # esu=yN: years 1..N (HostProfile.esu_activated)
    if "ssu" in given and given["ssu"].casefold() == "unknown":
        changes["servicing_stack_version"] = None
    elif "ssu" in given:
        if not _VERSION4.match(given["ssu"]):
            raise HostSpecError(
                f"--host ssu={given['ssu']}: expected a version like 6.0.6003.20484"
            )
        changes["servicing_stack_version"] = given["ssu"]
    if "sha2flags" in given:
        changes["sha2_flags"] = _bool("sha2flags", given["sha2flags"])
    if "restart" in given:
        changes["pending_restart"] = _bool("restart", given["restart"])
    if "azure" in given:
        changes["azure"] = _bool("azure", given["azure"])
    if "name" in given:
        changes["name"] = given["name"]
    for fname, new in changes.items():
        if new is None:
            evidence.pop(fname, None)  # stated unknown: no evidence left for it
        else:
            evidence[fname] = "--host"
    return replace(profile, **changes, evidence=evidence)  # type: ignore[arg-type]


def load_host(value: str) -> HostProfile:
    """A ``--host`` value: a ``.toml`` file path, ``preset:NAME[,overrides]``, or a key list."""
    path = Path(value)
    if value.casefold().endswith(".toml") or ("=" not in value and path.is_file()):
        if not path.exists():
            raise HostSpecError(f"{value}: no such host profile file")
        try:
            data = read_user_file(path, limit=MAX_PROFILE_BYTES, what="host profile")
        except InputError as exc:  # a FIFO, a device, too large, unreadable
            raise HostSpecError(str(exc)) from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise HostSpecError(f"{value}: cannot read host profile: {exc}") from None
        return read_toml(text, source=value)
    return parse_host_spec(value)
