"""``reg query`` output of the keys that describe servicing.

* ``...\\Component Based Servicing\\Packages`` — package identities; with ``/s`` (or
  ``/s /v CurrentState``) their ``CurrentState`` (0x70 installed, 0x40 staged...).
* ``...\\Component Based Servicing\\Version`` — value names are servicing stack versions.
* ``...\\Component Based Servicing\\RebootPending`` — present while CBS waits for a restart.
* ``HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion`` — ``BuildLabEx``
  (``6003.20491.amd64fre.vistasp2_ldr_escrow.190320-1700``: build, revision, arch),
  ``CurrentVersion``, ``CurrentBuildNumber``, ``ProductName``, ``InstallationType``.
* ``...\\Servicing\\Codesigning\\SHA2`` — ``SHA2-Codesigning-Support`` and
  ``SHA2-Core-Codesigning-Support`` (> 0 once KB4474419 is in).

Vista and later ``reg.exe`` print a key line, then values indented by four spaces as
``name    REG_TYPE    data``; older versions used tabs. Both are read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from msuinspect.host.errors import EvidenceError
from msuinspect.host.evidence import EvidenceRead, Fact, normalise_kb, where
from msuinspect.host.importers.common import arch_from_text, product_from_name, require_60
from msuinspect.host.profile import CBS_STATES, InstalledPackage, Product
from msuinspect.host.textio import Line

KIND = "reg-query"

_KEY = re.compile(r"^(HKEY_[A-Z_]+|HKLM|HKCU)(\\.*)?$", re.IGNORECASE)
_VALUE = re.compile(r"^(?: {4}|\t)(.*?)(?: {4}|\t)(REG_[A-Z_]+)(?:(?: {4}|\t)(.*))?$")
_END = re.compile(r"^[^\\=]{3,60}:\s*\d+\s+\S.*$")  # "End of search: 12 match(es) found."
_CBS = "\\component based servicing\\"
_IDENTITY = re.compile(
    r"^(?P<name>[^~\\]+)~(?P<token>[0-9a-fA-F]{16})~(?P<arch>[^~]*)~(?P<lang>[^~]*)~(?P<version>\d+(?:\.\d+){3})$"
)
_BUILDLABEX = re.compile(r"^(\d{4,5})\.(\d+)\.(x86|amd64|ia64)(?:fre|chk)\.", re.IGNORECASE)
_VERSION4 = re.compile(r"^\d+\.\d+\.\d+\.\d+$")


@dataclass(slots=True)
class RegKey:
    path: str
    line: int
    values: list[tuple[str, str, str, int]] = field(default_factory=list)  # name, type, data, line


def parse_keys(lines: Sequence[Line]) -> tuple[list[RegKey], bool]:
    """Keys with their values, and whether an ``End of search`` line closed the output."""
    keys: list[RegKey] = []
    ended = False
    for ln in lines:
        if _KEY.match(ln.text.strip()) and not ln.text.startswith((" ", "\t")):
            keys.append(RegKey(ln.text.strip(), ln.number))
            continue
        m = _VALUE.match(ln.text)
        if m and keys:
            keys[-1].values.append(
                (m.group(1), m.group(2).upper(), (m.group(3) or "").strip(), ln.number)
            )
        elif ln.text.strip() and _END.match(ln.text.strip()) and keys:
            ended = True
    return keys, ended


def sniff(lines: Sequence[Line]) -> bool:
    return any(
        _KEY.match(ln.text.strip()) and "\\" in ln.text for ln in lines[:40] if ln.text.strip()
    )


def _dword(data: str) -> int | None:
    try:
        return int(data, 16) if data.lower().startswith("0x") else int(data)
    except ValueError:
        return None


def _state_name(value: int) -> str:
    return CBS_STATES.get(value, f"0x{value:x}")


def package_from_identity(
    identity: str, *, state: str | None, source: str
) -> InstalledPackage | None:
    m = _IDENTITY.match(identity)
    if not m:
        return None
    return InstalledPackage(
        kb=normalise_kb(m.group("name")),
        identity=identity,
        version=m.group("version"),
        state=state,
        source=source,
    )


_OTHER_WINDOWS = re.compile(r"^(?:6\.[1-9]|[1-9]\d+\.\d+)\.")


def _refuse_other_windows(installed: Sequence[InstalledPackage], source: str) -> None:
    """CBS identities of 6.1+ (``...~~6.1.3.2``) describe another Windows version. (Internet
    Explorer 7-9 packages on 6.0 carry 7.x-9.x versions and are not refused.)"""
    for pkg in installed:
        if pkg.version and _OTHER_WINDOWS.match(pkg.version):
            major, minor = (int(x) for x in pkg.version.split(".")[:2])
            require_60(major, minor, None, path=source)


def parse(lines: Sequence[Line], *, source: str, encoding: str) -> EvidenceRead:
    keys, ended = parse_keys(lines)
    if not keys:
        raise EvidenceError("reg query output without any key line", path=source)
    facts: list[Fact] = []
    notes: list[str] = []
    packages: dict[str, InstalledPackage] = {}
    packages_where: str | None = None
    states_seen = False
    for key in keys:
        low = key.path.casefold()
        tail = low.split(_CBS, 1)[1] if _CBS in low else None
        vals = {name.casefold(): (typ, data, number) for name, typ, data, number in key.values}
        if tail is not None and tail.startswith("packages\\"):
            identity = key.path[len(key.path) - len(tail) + len("packages\\") :]
            if "\\" in identity:
                continue  # ...\Owners, ...\Updates subkeys
            packages_where = packages_where or where(source, key.line)
            state: str | None = None
            if "currentstate" in vals:
                states_seen = True
                value = _dword(vals["currentstate"][1])
                state = _state_name(value) if value is not None else None
            pkg = package_from_identity(identity, state=state, source=where(source, key.line))
            if pkg is not None:
                packages[identity.casefold()] = pkg
        elif tail == "packages":
            packages_where = packages_where or where(source, key.line)
        elif tail == "version":
            versions = [(n, num) for n, _t, _d, num in key.values if _VERSION4.match(n)]
            if versions:
                best = max(versions, key=lambda v: tuple(int(p) for p in v[0].split(".")))
                facts.append(
                    Fact(
                        "servicing_stack_version",
                        best[0],
                        where(source, best[1]),
                        "CBS Version key",
                    )
                )
        elif tail == "rebootpending":
            facts.append(
                Fact("pending_restart", True, where(source, key.line), "CBS RebootPending key")
            )
        elif low.endswith("\\windows nt\\currentversion"):
            facts.extend(_current_version(vals, key, source))
        elif low.endswith("\\servicing\\codesigning\\sha2"):
            flags = [
                _dword(vals[n][1]) if n in vals else None
                for n in ("sha2-codesigning-support", "sha2-core-codesigning-support")
            ]
            ok = all(f is not None and f > 0 for f in flags)
            facts.append(Fact("sha2_flags", ok, where(source, key.line), "SHA2 code-signing key"))
    installed: tuple[InstalledPackage, ...] | None = None
    complete = False
    if packages_where is not None:
        installed = tuple(packages.values())
        _refuse_other_windows(installed, source)
        # only reg's closing "End of search" line says the output was not cut short
        complete = ended
        if not ended:
            notes.append(
                "CBS packages: no 'End of search' line (output cut short?): the list is partial"
            )
        if not states_seen:
            notes.append(
                "CBS packages listed without CurrentState (query with /s): "
                "a listed package may be staged rather than installed"
            )
        if any(p.state == "install-pending" for p in installed):
            first = next(p for p in installed if p.state == "install-pending")
            facts.append(
                Fact(
                    "pending_restart", True, first.source or source, "a package is install-pending"
                )
            )
        facts.extend(_product_from_packages(installed))
    if not facts and installed is None:
        raise EvidenceError(
            "reg query output of no key msuinspect reads (CBS Packages/Version/RebootPending, "
            "Windows NT\\CurrentVersion, Servicing\\Codesigning\\SHA2)",
            path=source,
        )
    return EvidenceRead(
        source=source,
        kind=KIND,
        encoding=encoding,
        facts=tuple(facts),
        installed=installed,
        installed_complete=complete,
        installed_where=packages_where,
        notes=tuple(notes),
    )


def _product_from_packages(installed: tuple[InstalledPackage, ...]) -> list[Fact]:
    """Server Core / server / Vista from the parent packages (verdict-facts R3, inferred)."""
    present = [p for p in installed if p.is_installed and p.identity]
    for p in present:
        if (p.identity or "").casefold().startswith("microsoft-windows-servercore-package~"):
            return [
                Fact(
                    "product", Product.SERVER_CORE, p.source or "", "ServerCore package (inferred)"
                )
            ]
    for p in present:
        ident = (p.identity or "").casefold()
        if ident.startswith("microsoft-windows-foundation-package~") and ident.endswith(
            "~6.0.6001.18000"
        ):
            return [
                Fact(
                    "product",
                    Product.SERVER_UNKNOWN,
                    p.source or "",
                    "Foundation 6.0.6001.18000 (inferred)",
                )
            ]
    return []


def _current_version(vals: dict[str, tuple[str, str, int]], key: RegKey, source: str) -> list[Fact]:
    facts: list[Fact] = []

    def get(name: str) -> tuple[str, int] | None:
        v = vals.get(name)
        return (v[1], v[2]) if v else None

    major = get("currentmajorversionnumber")
    cur = get("currentversion")
    build = get("currentbuildnumber") or get("currentbuild")
    build_n = int(build[0]) if build and build[0].isdigit() else None
    if major is not None:
        minor = get("currentminorversionnumber")
        minor_n = _dword(minor[0]) if minor else None
        require_60(_dword(major[0]) or 0, minor_n or 0, build_n, path=source)
    if cur is not None:
        m = re.match(r"^(\d+)\.(\d+)$", cur[0])
        if m:
            require_60(int(m[1]), int(m[2]), build_n, path=source)
    lab = get("buildlabex")
    labm = _BUILDLABEX.match(lab[0]) if lab else None
    if lab and labm:
        w = where(source, lab[1])
        facts.append(Fact("build", int(labm[1]), w, "BuildLabEx"))
        facts.append(Fact("revision", int(labm[2]), w, "BuildLabEx"))
        arch = arch_from_text(labm[3])
        if arch is not None:
            facts.append(Fact("arch", arch, w, "BuildLabEx"))
    elif build_n is not None and build is not None:
        facts.append(Fact("build", build_n, where(source, build[1]), "CurrentBuildNumber"))
    itype = get("installationtype")
    name = get("productname")
    if itype and itype[0].casefold() == "server core":
        facts.append(
            Fact("product", Product.SERVER_CORE, where(source, itype[1]), "InstallationType")
        )
    elif itype and itype[0].casefold() == "server":
        facts.append(Fact("product", Product.SERVER, where(source, itype[1]), "InstallationType"))
    elif name:
        product = product_from_name(name[0])
        if product is not None:
            facts.append(Fact("product", product, where(source, name[1]), "ProductName"))
    return facts
