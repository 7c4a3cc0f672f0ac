"""What the host can validate today (SHA-1 only, or SHA-2 too; which roots) and the
classes of package it would therefore reject (rules of docs/verdict-rules.md)."""

from __future__ import annotations

from msuinspect.host.profile import EsuLicence, HostProfile, Root
from msuinspect.servicing.knowledge import KnowledgeBase
from msuinspect.status.evidence import field_evidence, kb_evidence, merge, sources_of
from msuinspect.status.model import Capability, Step, StepState
from msuinspect.status.road import root_name
from msuinspect.verdict.host_facts import KB_SHA2, KB_SHA2_X64, sha2_support

_ORDER = (Root.ROOT_AUTHORITY, Root.ROOT_2001, Root.ROOT_2010, Root.ROOT_2011)


def capability(profile: HostProfile, kbase: KnowledgeBase, road: tuple[Step, ...]) -> Capability:
    sha2 = sha2_support(profile)
    verdict = sha2.outcome.value  # yes / no / unknown
    steps = {s.id: s for s in road}
    rejects: list[tuple[str, str]] = []
    if verdict == "yes":
        algo = "SHA-1 and SHA-2 (SHA-256) signatures"
    elif verdict == "no":
        algo = "SHA-1 only: the primary signature of each layer, SHA-1 digests, v1 catalogs"
    else:
        algo = "SHA-1; SHA-2 unknown"
    if verdict != "yes":
        maybe = "" if verdict == "no" else "possibly: "
        rejects += [
            (
                "R8",
                f"{maybe}packages whose outer MSU or inner CAB is SHA-256-only "
                "(6.0 packages released from July 2019 may be)",
            ),
            ("R10", f"{maybe}dual-signed packages whose primary signature is SHA-256"),
            ("R12", f"{maybe}SHA-256-signed or v2 (SHA-256) catalogs"),
        ]
    if profile.roots is None:
        roots_text = "roots unknown (no certutil evidence)"
        rejects.append(("R9", "possibly: chains ending at Root CA 2010 / 2011 (roots unknown)"))
    else:
        held = [r for r in _ORDER if r in profile.roots]
        roots_text = "roots: " + (", ".join(root_name(r) for r in held) or "none")
        lack = [r for r in (Root.ROOT_2010, Root.ROOT_2011) if r not in profile.roots]
        if lack:
            rejects.append(
                (
                    "R9",
                    "signatures chaining to "
                    + " or ".join(root_name(r) for r in lack)
                    + " (every SHA-2 Microsoft chain ends there)",
                )
            )
    rejects.append(
        ("R7", "SHA-1 signatures without a timestamp, their roots having expired (inference)")
    )
    # installation-side classes
    if steps["ssu-baseline"].state is not StepState.DONE or steps["sha2"].state not in (
        StepState.DONE,
        StepState.NOT_APPLICABLE,
    ):
        rejects.append(
            (
                "R13/R14",
                "packages released from July 2019, until KB4493730 and "
                "KB4474419 are installed (and restarted)",
            )
        )
    esu_ready = steps["esu-prep"].state is StepState.DONE and profile.esu not in (
        None,
        EsuLicence.NONE,
    )
    esu_after = kbase.threshold("esu_after")
    if not esu_ready:
        rejects.append(
            (
                "R15",
                f"ESU-era packages (released after {esu_after.value}), until the "
                "preparation package and an activated ESU key are in place",
            )
        )
    elif profile.esu is not None and profile.esu is not EsuLicence.YEAR4:
        year = max(profile.esu_years) if profile.esu_years else int(profile.esu.value[1:])
        y = kbase.esu_year(year)
        if y is not None and year < 3:
            rejects.append(("R15", f"packages released after {y.through} (ESU year {year} ends)"))
        for gap in sorted(set(range(1, year)) - (profile.esu_years or set(range(1, year)))):
            g = kbase.esu_year(gap)
            span = f" ({g.first} .. {g.through})" if g is not None else ""
            rejects.append(("R15", f"ESU year {gap} packages{span}: no activated key for it"))
        rejects.append(
            (
                "R17",
                "ESU year 4 packages (2023-02-14 .. 2024-01-09) unless the host "
                "runs on an Azure platform",
            )
        )
    pa = kbase.threshold("premium_assurance_after")
    rejects.append(
        ("R18", f"packages released after {pa.value}: the licence gate is undocumented (unknown)")
    )
    via = sha2.via
    text = f"{algo}; {roots_text}"
    ev = merge(
        kb_evidence(profile, KB_SHA2),
        kb_evidence(profile, KB_SHA2_X64),
        field_evidence(profile, "sha2_flags", "roots"),
        field_evidence(profile, "installed") if verdict != "yes" else (),
    )
    src = merge(
        sources_of(kbase, [KB_SHA2, KB_SHA2_X64]),
        kbase.threshold("sha2_required_from").source,
        *(f.source for r in (Root.ROOT_2010, Root.ROOT_2011) if (f := kbase.root(r))),
    )
    roots = None if profile.roots is None else tuple(r.value for r in _ORDER if r in profile.roots)
    return Capability(verdict, via, roots, text, tuple(rejects), ev, src)
