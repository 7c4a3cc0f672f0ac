"""Host profiles as TOML: :func:`write_toml` and :func:`read_toml` round-trip every field.

Unknown fields are left out (TOML has no null); ``installed = []`` means "none listed".
Written by hand (flat keys, basic strings with escapes), read with :mod:`tomllib`.
"""

from __future__ import annotations

import tomllib
from typing import Any

from msuinspect.host.errors import HostSpecError
from msuinspect.host.profile import (
    Arch,
    Conflict,
    EsuLicence,
    HostProfile,
    InstalledPackage,
    Product,
    Root,
)

SCHEMA = "msuinspect.host/1"

_PACKAGE_KEYS = ("kb", "identity", "version", "state", "installed_on", "source")


def _q(text: str) -> str:
    out = ['"']
    for c in text:
        if c == '"':
            out.append('\\"')
        elif c == "\\":
            out.append("\\\\")
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


def _b(v: bool) -> str:
    return "true" if v else "false"


def write_toml(profile: HostProfile) -> str:
    p = profile
    lines = ["# msuinspect host profile", f"schema = {_q(SCHEMA)}"]
    if p.name is not None:
        lines.append(f"name = {_q(p.name)}")
    if p.product is not None:
        lines.append(f"product = {_q(p.product.value)}")
    if p.build is not None:
        lines.append(f"build = {p.build}")
    if p.revision is not None:
        lines.append(f"revision = {p.revision}")
    if p.arch is not None:
        lines.append(f"arch = {_q(p.arch.value)}")
    if p.servicing_stack_version is not None:
        lines.append(f"servicing_stack_version = {_q(p.servicing_stack_version)}")
    if p.sha2_flags is not None:
        lines.append(f"sha2_flags = {_b(p.sha2_flags)}")
    if p.roots is not None:
        lines.append("roots = [" + ", ".join(_q(r.value) for r in sorted(p.roots)) + "]")
    if p.esu is not None:
        lines.append(f"esu = {_q(p.esu.value)}")
    if p.esu_years is not None:
        lines.append("esu_years = [" + ", ".join(str(y) for y in sorted(p.esu_years)) + "]")
    if p.azure is not None:
        lines.append(f"azure = {_b(p.azure)}")
    if p.pending_restart is not None:
        lines.append(f"pending_restart = {_b(p.pending_restart)}")
    lines.append(f"installed_complete = {_b(p.installed_complete)}")
    if p.installed is not None and not p.installed:
        lines.append("installed = []")
    if p.evidence:
        lines += ["", "[evidence]"]
        lines += [f"{_q(k)} = {_q(v)}" for k, v in p.evidence.items()]
    for pkg in p.installed or ():
        lines += ["", "[[installed]]"]
        for key in _PACKAGE_KEYS:
            value = getattr(pkg, key)
            if value is not None:
                lines.append(f"{key} = {_q(value)}")
    for c in p.conflicts:
        lines += ["", "[[conflicts]]", f"field = {_q(c.field)}"]
        lines.append("values = [" + ", ".join(f"[{_q(v)}, {_q(w)}]" for v, w in c.values) + "]")
    return "\n".join(lines) + "\n"


def _get(doc: dict[str, Any], key: str, typ: type, source: str) -> Any:
    if key not in doc:
        return None
    value = doc[key]
    if not isinstance(value, typ) or (typ is int and isinstance(value, bool)):
        raise HostSpecError(f"{source}: {key} must be {typ.__name__}, not {value!r}")
    return value


def _enum(doc: dict[str, Any], key: str, cls: type[Any], source: str) -> Any:
    value = _get(doc, key, str, source)
    if value is None:
        return None
    try:
        return cls(value)
    except ValueError:
        allowed = ", ".join(m.value for m in cls)
        raise HostSpecError(f"{source}: {key} = {value!r}: expected one of {allowed}") from None


_TOP_KEYS = frozenset(
    {
        "schema",
        "name",
        "product",
        "build",
        "revision",
        "arch",
        "servicing_stack_version",
        "sha2_flags",
        "roots",
        "esu",
        "esu_years",
        "azure",
        "pending_restart",
        "installed_complete",
        "installed",
        "evidence",
        "conflicts",
    }
)


def read_toml(text: str, *, source: str = "host profile") -> HostProfile:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise HostSpecError(f"{source}: not valid TOML: {exc}") from None
    unknown = sorted(set(doc) - _TOP_KEYS)
    if unknown:
        raise HostSpecError(f"{source}: unknown keys: {', '.join(unknown)}")
    schema = doc.get("schema", SCHEMA)
    if schema != SCHEMA:
        raise HostSpecError(f"{source}: schema {schema!r} is not {SCHEMA}")
    roots_raw = _get(doc, "roots", list, source)
    roots: frozenset[Root] | None = None
    if roots_raw is not None:
        try:
            roots = frozenset(Root(r) for r in roots_raw)
        except (ValueError, TypeError):
            allowed = ", ".join(r.value for r in Root)
            raise HostSpecError(f"{source}: roots: expected a list of {allowed}") from None
    installed_raw = _get(doc, "installed", list, source)
    installed: tuple[InstalledPackage, ...] | None = None
    if installed_raw is not None:
        pkgs = []
        for i, item in enumerate(installed_raw):
            if not isinstance(item, dict) or set(item) - set(_PACKAGE_KEYS):
                raise HostSpecError(
                    f"{source}: installed[{i}]: keys are {', '.join(_PACKAGE_KEYS)}"
                )
            values = {k: _get(item, k, str, f"{source}: installed[{i}]") for k in _PACKAGE_KEYS}
            pkgs.append(InstalledPackage(**values))
        installed = tuple(pkgs)
    evidence_raw = _get(doc, "evidence", dict, source) or {}
    if not all(isinstance(v, str) for v in evidence_raw.values()):
        raise HostSpecError(f"{source}: evidence values must be strings")
    conflicts: list[Conflict] = []
    for i, item in enumerate(_get(doc, "conflicts", list, source) or []):
        try:
            conflicts.append(
                Conflict(str(item["field"]), tuple((str(v), str(w)) for v, w in item["values"]))
            )
        except (KeyError, TypeError, ValueError):
            raise HostSpecError(f"{source}: conflicts[{i}]: expected field and values") from None
    build = _get(doc, "build", int, source)
    years_raw = _get(doc, "esu_years", list, source)
    esu_years: frozenset[int] | None = None
    if years_raw is not None:
        if not all(isinstance(y, int) and not isinstance(y, bool) and 1 <= y <= 4
                   for y in years_raw):  # fmt: skip
            raise HostSpecError(f"{source}: esu_years: expected a list of years 1-4")
        esu_years = frozenset(years_raw)
    return HostProfile(
        product=_enum(doc, "product", Product, source),
        build=build,
        revision=_get(doc, "revision", int, source),
        arch=_enum(doc, "arch", Arch, source),
        installed=installed,
        installed_complete=bool(_get(doc, "installed_complete", bool, source)),
        servicing_stack_version=_get(doc, "servicing_stack_version", str, source),
        sha2_flags=_get(doc, "sha2_flags", bool, source),
        roots=roots,
        esu=_enum(doc, "esu", EsuLicence, source),
        esu_years=esu_years,
        azure=_get(doc, "azure", bool, source),
        pending_restart=_get(doc, "pending_restart", bool, source),
        name=_get(doc, "name", str, source),
        evidence=dict(evidence_raw),
        conflicts=tuple(conflicts),
    )
