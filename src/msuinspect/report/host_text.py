"""Text form of a host profile and of what ``host import`` learned (80 columns)."""

from __future__ import annotations

import textwrap

from msuinspect.host.merge import ImportResult
from msuinspect.host.profile import HostProfile, Product, Root
from msuinspect.report.terminal import printable, printable_lines

_ROOT_SHORT = {
    Root.ROOT_AUTHORITY: "Root Authority (1997)",
    Root.ROOT_2001: "Root CA 2001",
    Root.ROOT_2010: "Root CA 2010",
    Root.ROOT_2011: "Root CA 2011",
}
_ROOT_ORDER = [Root.ROOT_AUTHORITY, Root.ROOT_2001, Root.ROOT_2010, Root.ROOT_2011]


def _where_lines(where: str) -> list[str]:
    return textwrap.wrap(
        printable("<- " + where),
        width=80,
        initial_indent=" " * 27,
        subsequent_indent=" " * 30,
        break_on_hyphens=False,
        break_long_words=False,
    )


_PRODUCT = {
    Product.SERVER: "Windows Server 2008 (full installation)",
    Product.SERVER_CORE: "Windows Server 2008 (Server Core)",
    Product.SERVER_UNKNOWN: "Windows Server 2008 (full or Core not known)",
    Product.VISTA: "Windows Vista",
}


def _value_lines(field: str, value: str) -> list[str]:
    return textwrap.wrap(
        printable(value),
        width=80,
        initial_indent=f"  {field:<24} ",
        subsequent_indent=" " * 27,
        break_on_hyphens=False,
        break_long_words=False,
    ) or [f"  {field}"]


def _yn(v: bool | None, yes: str = "yes", no: str = "no") -> str:
    return "unknown" if v is None else yes if v else no


def profile_lines(p: HostProfile) -> list[tuple[str, str, str]]:
    """``(field, shown value, evidence)`` rows."""
    ev = p.evidence
    default = ev.get("*", "")
    rows: list[tuple[str, str, str]] = []

    def add(field: str, value: str) -> None:
        rows.append((field, value, ev.get(field, default if value != "unknown" else "")))

    add("product", _PRODUCT[p.product] if p.product else "unknown")
    build = "unknown" if p.build is None else str(p.build)
    if p.build is not None and p.revision is not None:
        build += f" (revision {p.revision})"
    add("build", build)
    if p.revision is not None:
        rows.append(("revision", str(p.revision), ev.get("revision", default)))
    add("arch", p.arch.value if p.arch else "unknown")
    add("servicing_stack_version", p.servicing_stack_version or "unknown")
    add("sha2_flags", _yn(p.sha2_flags, "set (SHA-2 code signing supported)", "not set"))
    if p.roots is None:
        roots = "unknown"
    elif not p.roots:
        roots = "no Microsoft root"
    else:
        roots = ", ".join(_ROOT_SHORT[r] for r in _ROOT_ORDER if r in p.roots)
    add("roots", roots)
    add("esu", p.esu.value if p.esu else "unknown")
    if p.esu_years is not None:
        add("esu_years", ", ".join(str(y) for y in sorted(p.esu_years)) or "none activated")
    add("azure", _yn(p.azure))
    add("pending_restart", _yn(p.pending_restart))
    if p.installed is None:
        inst = "unknown"
    else:
        kbs = sorted(p.kb_numbers(), key=lambda k: int(k[2:]))
        extent = "complete list" if p.installed_complete else "partial list"
        inst = f"{len(kbs)} update(s), {extent}"
    add("installed", inst)
    return rows


def render_profile(p: HostProfile) -> str:
    out = [f"host {p.name or '(unnamed)'}"]
    for field, value, where in profile_lines(p):
        if field == "revision":
            continue
        out += _value_lines(field, value)
        if where:
            out += _where_lines(where)
    for pkg in p.installed or ():
        bits = [pkg.kb or "-", pkg.version or "", pkg.state or "", pkg.installed_on or ""]
        text = "  ".join(b for b in bits if b)
        ident = f"  {pkg.identity}" if pkg.identity and "~" in pkg.identity else ""
        if pkg.identity and "~" not in pkg.identity and not pkg.kb:
            text = pkg.identity
        out.append(f"    {text}{ident}")
    for c in p.conflicts:
        shown = "; ".join(f"{v} ({w})" for v, w in c.values)
        out.append(f"  conflict {c.field}: {shown}")
    return "\n".join(printable_lines(out)) + "\n"


def render_import(result: ImportResult) -> str:
    out = ["read:"]
    for r in result.reads:
        facts = len(r.facts)
        inst = "" if r.installed is None else f", {len(r.installed)} update(s)"
        enc = f" ({r.encoding})" if r.encoding else ""
        out.append(f"  {r.source}: {r.kind}{enc}, {facts} fact(s){inst}")
        for n in r.notes:
            out.append(f"      {n}")
    out.append("learned:")
    p = result.profile
    for field, value, where in profile_lines(p):
        if field == "revision" or value == "unknown":
            continue
        out += _value_lines(field, value)
        if where:
            out += _where_lines(where)
    if p.conflicts:
        out.append("conflicts (left unknown):")
        for c in p.conflicts:
            out.append(f"  {c.field}: " + "; ".join(f"{v} ({w})" for v, w in c.values))
    if result.unknown:
        out.append("could not learn:")
        out += [f"  {u}" for u in result.unknown]
    return "\n".join(printable_lines(out)) + "\n"
