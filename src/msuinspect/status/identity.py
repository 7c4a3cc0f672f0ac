"""OS, product, architecture, build and revision, and what moved the host to 6003."""

from __future__ import annotations

from msuinspect.host.profile import Arch, HostProfile, Product
from msuinspect.servicing.knowledge import ROLLUP_KINDS, KnowledgeBase, UpdateFact
from msuinspect.status.evidence import field_evidence, kb_evidence, merge
from msuinspect.status.model import Statement

#: the first update Microsoft names as giving build 6003 (review claim 7)
KB_FIRST_6003 = "KB4489887"

_PRODUCT = {
    Product.SERVER: "Windows Server 2008 (full installation)",
    Product.SERVER_CORE: "Windows Server 2008 (Server Core)",
    Product.SERVER_UNKNOWN: "Windows Server 2008 (full or Server Core not known)",
    Product.VISTA: "Windows Vista (client)",
}
_ARCH = {Arch.X86: "x86 (32-bit)", Arch.AMD64: "x64 (amd64)", Arch.IA64: "Itanium (ia64)"}


def conflict_text(profile: HostProfile, field: str) -> str | None:
    """``the evidence disagrees: 6002 (a.txt:5), 6003 (b.txt:9)`` or None."""
    for c in profile.conflicts:
        if c.field == field:
            said = ", ".join(f"{value} ({where})" for value, where in c.values)
            return f"the evidence disagrees: {said}"
    return None


def _unknown(profile: HostProfile, field: str, why: str) -> str:
    return conflict_text(profile, field) or f"unknown ({why})"


def gives_6003(fact: UpdateFact, kbase: KnowledgeBase) -> bool:
    """A rollup or security-only update dated on/after the first 6003 rollup."""
    first = kbase.get(KB_FIRST_6003)
    if first is None or first.date is None or fact.date is None:
        return False
    return fact.kind in ROLLUP_KINDS and fact.date.earliest >= first.date.earliest


def installed_6003_updates(profile: HostProfile, kbase: KnowledgeBase) -> list[UpdateFact]:
    """Installed updates the knowledge base knows to give build 6003, oldest first."""
    found = [
        f for k in profile.kb_numbers() if (f := kbase.get(k)) is not None and gives_6003(f, kbase)
    ]
    return sorted(found, key=lambda f: (f.date.earliest if f.date else None, f.kb))


def identity_statements(
    profile: HostProfile, kbase: KnowledgeBase, next_rollup: UpdateFact | None
) -> tuple[Statement, ...]:
    out: list[Statement] = []
    ev = field_evidence
    os_known = profile.build is not None or profile.product is not None
    sp = ""
    if profile.build in (6002, 6003):
        sp = " Service Pack 2"
    elif profile.build in (6000, 6001):
        sp = " (not Service Pack 2)"
    out.append(
        Statement(
            "os",
            "OS",
            f"Windows 6.0{sp}" if os_known else "Windows 6.0 (nothing more is known)",
            merge(ev(profile, "build"), ev(profile, "product")),
            known=os_known,
        )
    )
    if profile.product is not None:
        out.append(
            Statement("product", "product", _PRODUCT[profile.product], ev(profile, "product"))
        )
    else:
        out.append(
            Statement(
                "product",
                "product",
                _unknown(profile, "product", "no OS name in the evidence"),
                known=False,
            )
        )
    if profile.arch is not None:
        out.append(Statement("arch", "architecture", _ARCH[profile.arch], ev(profile, "arch")))
    else:
        out.append(
            Statement(
                "arch",
                "architecture",
                _unknown(profile, "arch", "no System Type or BuildLabEx"),
                known=False,
            )
        )
    out.append(_build(profile))
    out.append(_moved(profile, kbase, next_rollup))
    return tuple(out)


def _build(profile: HostProfile) -> Statement:
    if profile.build is None:
        return Statement(
            "build",
            "build",
            _unknown(profile, "build", "no OS version or BuildLabEx"),
            known=False,
        )
    text = str(profile.build)
    if profile.revision is not None:
        text = f"{profile.build}.{profile.revision} (6.0.{profile.build}.{profile.revision})"
    else:
        why = conflict_text(profile, "revision")
        text += f"; revision {why}" if why else "; revision unknown (no BuildLabEx)"
    if profile.build == 6003:
        text += " - a kernel from 2019-03-19 or later"
    elif profile.build == 6002:
        text += " - Service Pack 2 level, no 2019-03-19 or later kernel"
    else:
        text += " - before Service Pack 2"
    return Statement(
        "build",
        "build",
        text,
        field_evidence(profile, "build", "revision"),
        ("review-7",) if profile.build in (6002, 6003) else (),
    )


def _moved(profile: HostProfile, kbase: KnowledgeBase, next_rollup: UpdateFact | None) -> Statement:
    first = kbase.get(KB_FIRST_6003)
    first_src = first.source if first else ()
    movers = installed_6003_updates(profile, kbase)
    if profile.build == 6003:
        if movers:
            m = movers[0]
            return Statement(
                "moved-to-6003",
                "6003 since",
                f"{m.kb} ({m.date}) is the oldest installed update known to give build "
                f"6003 ({KB_FIRST_6003} of 2019-03-19 and later rollups do)",
                merge(kb_evidence(profile, m.kb), field_evidence(profile, "build")),
                merge(m.source, first_src),
                (m.kb, KB_FIRST_6003),
            )
        return Statement(
            "moved-to-6003",
            "6003 since",
            "an installed update the knowledge base does not know "
            f"({KB_FIRST_6003} of 2019-03-19 and later rollups give 6003)",
            field_evidence(profile, "build"),
            first_src,
            (KB_FIRST_6003,),
            known=False,
        )
    if profile.build == 6002:
        if movers:
            listed = ", ".join(m.kb for m in movers)
            return Statement(
                "moved-to-6003",
                "6003 move",
                f"build 6002, yet {listed} (gives 6003) is listed: a restart pending, or "
                "evidence taken at different times",
                merge(
                    field_evidence(profile, "build"), *(kb_evidence(profile, m.kb) for m in movers)
                ),
                merge(first_src, *(m.source for m in movers)),
                tuple(m.kb for m in movers),
            )
        target = next_rollup if next_rollup is not None and gives_6003(next_rollup, kbase) else None
        if target is not None:
            text = (
                f"still 6002; the next rollup, {target.kb} ({target.date}), moves it to 6003 "
                f"(as {KB_FIRST_6003} of 2019-03-19 and every later rollup do)"
            )
            kbs: tuple[str, ...] = (target.kb, KB_FIRST_6003)
            src = merge(target.source, first_src)
        else:
            text = f"still 6002; {KB_FIRST_6003} (2019-03-19) or any later rollup moves it to 6003"
            kbs = (KB_FIRST_6003,)
            src = first_src
        return Statement(
            "moved-to-6003", "6003 move", text, field_evidence(profile, "build"), src, kbs
        )
    if profile.build is not None:
        return Statement(
            "moved-to-6003",
            "6003 move",
            f"build {profile.build} is before SP2: SP2 (KB948465) comes first",
            field_evidence(profile, "build"),
            first_src,
        )
    return Statement(
        "moved-to-6003",
        "6003 move",
        "unknown (the build is not known)",
        (),
        first_src,
        (),
        known=False,
    )
