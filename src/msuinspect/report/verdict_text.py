"""The host verdict as text: one leading line, then the reasons (80 columns)."""

from __future__ import annotations

import textwrap

from msuinspect.report.terminal import printable
from msuinspect.verdict.judge import is_not_applicable
from msuinspect.verdict.model import Answer, Aspect, Reason, RuleOutcome, Verdict
from msuinspect.verdict.plan import Plan

WIDTH = 80
_ROOT_LABELS = {"root-authority": "Microsoft Root Authority", "2001": "Root CA (2001)",
                "2010": "Root CA 2010", "2011": "Root CA 2011"}  # fmt: skip


def _why(r: Reason) -> str:
    tail = f"{r.rule}; unknown: {r.unknown_field}" if r.unknown_field else r.rule
    return f"{r.summary} ({tail})"


def _first_steps(v: Verdict) -> str:
    parts = []
    if v.missing_roots:
        parts.append("import " + ", ".join(_ROOT_LABELS[r.value] for r in v.missing_roots))
    if v.missing_prerequisites:
        parts.append("install " + ", ".join(v.missing_prerequisites))
    return "; " + " and ".join(parts) + " first" if parts else ""


def headline(v: Verdict) -> str:
    """``6002 amd64 (no SHA-2 support): cannot validate — outer MSU is SHA-256-only (R8);
    install KB4493730, KB4474419 first``"""
    if v.already_installed is Answer.YES:
        body = "already installed"
    elif v.can_install is Answer.NO and is_not_applicable(v):
        # not applicable leads: nothing else matters for this package on this host
        na = next(x for x in v.reasons if x.outcome is RuleOutcome.FAIL and
                  x.aspect is Aspect.INSTALL)  # fmt: skip
        body = _why(na)
    elif v.can_validate is Answer.NO and (r := v.deciding(Aspect.VALIDATE)):
        body = f"cannot validate — {_why(r)}"
    elif v.can_install is Answer.NO and (r := v.deciding(Aspect.INSTALL)):
        body = f"cannot install — {_why(r)}"
    elif v.can_validate is Answer.UNKNOWN and (r := v.deciding(Aspect.VALIDATE)):
        body = f"validation unknown — {_why(r)}"
    elif v.can_install is Answer.UNKNOWN and (r := v.deciding(Aspect.INSTALL)):
        body = f"can validate; install unknown — {_why(r)}"
    else:
        body = "can validate and install"
    return f"{v.host.label}: {body}{_first_steps(v)}"


def _wrap(text: str, indent: str, sub: str | None = None) -> list[str]:
    """``text`` (escaped for the terminal: names and messages come from files) wrapped."""
    return textwrap.wrap(
        printable(text), WIDTH, initial_indent=indent, subsequent_indent=sub or indent + "  ",
        break_on_hyphens=False, break_long_words=True,
    )  # fmt: skip


def render_verdict(v: Verdict, indent: str = "") -> list[str]:
    lines = _wrap(headline(v), indent, indent + "    ")
    pad = indent + "  "
    facts = f"validate: {v.can_validate}  install: {v.can_install}"
    if v.already_installed is not Answer.NO:
        facts += f"  already installed: {v.already_installed}"
    if v.release_date:
        facts += f"  released: {v.release_date} ({v.release_date_source})"
    lines += _wrap(facts, pad, pad + "    ")
    if v.expected_error is not None:
        e = v.expected_error
        code = f"{e.code} " if e.code else ""
        lines += _wrap(f"expect: {code}{e.message} [{e.confidence}]", pad, pad + "    ")
    for r in v.reasons:
        where = f" [{r.layer}]" if r.layer else ""
        src = ", ".join(r.source) or "-"
        unk = f" (unknown: {r.unknown_field})" if r.unknown_field else ""
        text = f"{r.outcome.value:7} {r.rule}{where} {r.summary}{unk} — {src}, {r.confidence}"
        lines += _wrap(text, pad, pad + "          ")
        lines += _wrap(r.evidence, pad + "          ", pad + "          ")
    for note in v.notes:
        lines += _wrap(f"note: {note}", pad, pad + "    ")
    return lines


def render_plan(plan: Plan) -> list[str]:
    lines = _wrap(f"plan for {plan.host_label}", "")
    if plan.steps:
        lines.append("install, in this order:")
    for s in plan.steps:
        restart = "  [restart]" if s.restart else ""
        title = f" {s.title}" if s.title else ""
        lines += _wrap(f"{s.number}. {s.kb or '?'}{title} ({s.category}, "
                       f"{s.release_date or 'date unknown'}){restart}", "  ", "      ")  # fmt: skip
        lines += _wrap(s.path, "      ", "        ")
        lines += _wrap(s.why, "      ", "        ")
        if s.note:
            lines += _wrap(s.note, "      ", "        ")
    if plan.skipped:
        lines.append("skipped:")
    for k in plan.skipped:
        lines += _wrap(f"{k.kb or '?'}: {k.reason}", "  ", "      ")
        lines += _wrap(k.path, "      ", "        ")
    if plan.blocked:
        lines.append("cannot be installed:")
    for b in plan.blocked:
        lines += _wrap(f"{b.kb or '?'}: {headline(b.verdict).split(': ', 1)[1]}", "  ", "      ")
        lines += _wrap(b.path, "      ", "        ")
    if plan.undecided:
        lines.append("undecided (a fact is unknown):")
    for b in plan.undecided:
        lines += _wrap(f"{b.kb or '?'}: {headline(b.verdict).split(': ', 1)[1]}", "  ", "      ")
        lines += _wrap(b.path, "      ", "        ")
    if plan.missing:
        lines.append("missing from this folder:")
    for m in plan.missing:
        lines += _wrap(m.message, "  ", "      ")
    for path, error in plan.unreadable:
        lines += _wrap(f"unreadable: {path}: {error}", "", "    ")
    if not (plan.steps or plan.skipped or plan.blocked or plan.undecided):
        lines.append("no update packages found")
    return lines
