"""``host status`` as text: identity, servicing road, capability, next steps (80 columns).

Each statement is followed by ``<- file:line ...`` (its evidence) and ``[S3, S12]`` (the
knowledge-base sources it relies on).
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from msuinspect.report.terminal import printable, printable_lines
from msuinspect.report.verdict_text import headline
from msuinspect.status.model import HostStatus, NextStep, StepState
from msuinspect.status.packages import MatchState, PackageCandidate, PackageMatches, StepMatch

WIDTH = 80
_STATE = {
    StepState.DONE: "done",
    StepState.MISSING: "missing",
    StepState.UNKNOWN: "unknown",
    StepState.NOT_APPLICABLE: "n/a",
}


def _wrap(text: str, first: str, rest: str) -> list[str]:
    """``text`` (escaped for the terminal: names come from evidence files) wrapped."""
    return textwrap.wrap(
        printable(text),
        width=WIDTH,
        initial_indent=first,
        subsequent_indent=rest,
        break_on_hyphens=False,
        break_long_words=True,
    ) or [first.rstrip()]


def _provenance(evidence: Sequence[str], sources: Sequence[str], indent: str) -> list[str]:
    parts = []
    if evidence:
        parts.append("<- " + "; ".join(evidence))
    if sources:
        parts.append("[" + ", ".join(sources) + "]")
    if not parts:
        return []
    return _wrap("  ".join(parts), indent, indent + "   ")


def _restart(n: NextStep) -> str:
    if n.restart is True:
        return "restart afterwards"
    if n.restart is False:
        return "no restart"
    return "restart: not known"


def render_status(status: HostStatus, matches: PackageMatches | None = None) -> str:
    out: list[str] = []
    title = f"host status: {status.name}" if status.name else "host status"
    out.append(f"{title}  (knowledge base {status.kb_data_version})")
    for s in status.identity:
        out += _wrap(s.text, f"  {s.label:<13} ", " " * 16)
        out += _provenance(s.evidence, s.sources, " " * 16)
    if status.conflicts:
        out.append("")
        out.append("the evidence contradicts itself (these facts are left unknown):")
        for c in status.conflicts:
            said = ", ".join(f"{v} ({w})" for v, w in c.values)
            out += _wrap(f"{c.field}: {said}", "  ", "      ")
    out.append("")
    out.append("servicing road")
    for st in status.road:
        label = st.label + (" (optional)" if st.optional else "")
        out += _wrap(f"{label}: {st.text}", f"  {_STATE[st.state]:<8} ", " " * 11)
        for note in st.notes:
            out += _wrap(note, " " * 11 + "note: ", " " * 17)
        out += _provenance(st.evidence, st.sources, " " * 11)
    cap = status.capability
    out.append("")
    out.append("can validate today")
    out += _wrap(f"{cap.text} (SHA-2: {cap.sha2}, {cap.sha2_via})", "  ", "    ")
    out += _provenance(cap.evidence, cap.sources, "    ")
    out.append("  would reject:")
    for rule, what in cap.rejects:
        out += _wrap(what, f"    {rule:<8} ", " " * 13)
    out.append("")
    if status.next_steps:
        out.append("next steps (recommended order)")
        for n in status.next_steps:
            out += _next_step(n)
    else:
        out.append("next steps: none the knowledge base knows of")
    if matches is not None:
        out.append("")
        out += _matches(matches)
    if status.unknown:
        out.append("")
        out += _wrap("not in the evidence: " + ", ".join(status.unknown), "", "  ")
    for note in status.notes:
        out += _wrap(note, "note: ", "      ")
    return "\n".join(printable_lines(out)) + "\n"


def _next_step(n: NextStep) -> list[str]:
    head = n.kb or ""
    when = f" ({n.date})" if n.date else ""
    flags = [_restart(n)]
    if n.state is StepState.UNKNOWN:
        flags.insert(0, "if not already done")
    if n.optional:
        flags.insert(0, "optional")
    if n.confidence and n.confidence != "confirmed":
        flags.append(f"{n.confidence} source")
    lines = _wrap(f"{head}{when} {n.title}".strip(), f"  {n.order:>2}. ", " " * 6)
    lines += _wrap(f"{n.why}; {', '.join(flags)}", " " * 6, " " * 6)
    lines += _provenance((), n.sources, " " * 6)
    return lines


def _candidate(c: PackageCandidate, indent: str) -> list[str]:
    lines = _wrap(
        f"{c.path}: {', '.join(c.kbs) or 'no KB'}; signature {c.signature}", indent, indent + "  "
    )
    if c.unusable:
        lines += _wrap(f"unusable: {c.unusable}", indent + "  ", indent + "    ")
    if c.verdict is not None:
        lines += _wrap(f"verdict: {headline(c.verdict)}", indent + "  ", indent + "    ")
    return lines


def _match(m: StepMatch) -> list[str]:
    head = m.step.kb or m.step.action
    lines = _wrap(
        f"{head}: {m.state.value}" + (f" ({m.note})" if m.note else ""),
        f"  {m.step.order:>2}. ",
        " " * 6,
    )
    if m.package is not None:
        lines += _candidate(m.package, " " * 6)
    for other in m.others:
        lines += _candidate(other, " " * 6)
    if m.state is MatchState.MISSING:
        need = "optional" if m.step.optional else "required"
        lines += _wrap(f"{head} is {need} and not present here", " " * 6, " " * 6)
    return lines


def _matches(matches: PackageMatches) -> list[str]:
    out = _wrap(f"packages in {matches.folder}", "", "  ")
    if not matches.steps:
        out.append("  no next step installs a package")
    for m in matches.steps:
        out += _match(m)
    if matches.unmatched:
        out.append("  not needed by a next step:")
        for c in matches.unmatched:
            out += _candidate(c, "    ")
    return out
