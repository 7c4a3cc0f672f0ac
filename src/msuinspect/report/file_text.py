"""The default text report of ``inspect``: per file, the outcome line first, then the file's
facts and signatures, the package summary, the signed layers and the findings that matter,
grouped — a few dozen lines, not hundreds. ``--tree`` adds the whole package tree and every
finding."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from msuinspect.authenticode.inspect import FileReport
from msuinspect.findings import Finding, Severity
from msuinspect.package.analyse import PackageReport
from msuinspect.package.kinds import NodeKind
from msuinspect.package.outcome import FileOutcome, Outcome, counts_for_outcome
from msuinspect.report import package_text, signatures_text
from msuinspect.report.terminal import escaping

if TYPE_CHECKING:  # the verdict's modules are loaded only when there is a verdict
    from msuinspect.verdict.model import Verdict

Emit = Callable[[str], None]

#: kinds whose missing signature is worth a line
_EXPECTED_SIGNED = (NodeKind.MSU, NodeKind.UPDATE_CAB, NodeKind.WSUSSCAN, NodeKind.CATALOG)
#: how many node names a grouped finding lists before "and N more"
_NODES_SHOWN = 3


def _rel(path: str | None, root: str) -> str:
    if not path or path == root:
        return "the file"
    return path[len(root) + 2 :] if path.startswith(root + "!/") else path


@dataclass(slots=True)
class _Group:
    finding: Finding
    nodes: list[str]


def group_findings(findings: Iterable[Finding], root: str) -> list[_Group]:
    """Identical findings (same code, severity and message) on several nodes become one."""
    groups: dict[tuple[str, str, str], _Group] = {}
    for f in findings:
        key = (f.code, f.severity.value, f.message)
        g = groups.get(key)
        if g is None:
            groups[key] = g = _Group(f, [])
        node = _rel(f.path, root)
        if node not in g.nodes:
            g.nodes.append(node)
    return list(groups.values())


def render_findings(findings: list[Finding], root: str, emit: Emit, *, everything: bool) -> None:
    """Error and warning findings (as the outcome counts them), grouped, naming their nodes;
    the rest as one line of counts unless ``everything``."""
    emit = escaping(emit)
    shown = [f for f in findings if everything or counts_for_outcome(f) is not Severity.INFO]
    order = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
    groups = sorted(group_findings(shown, root), key=lambda g: order[g.finding.severity])
    for g in groups:
        f = g.finding
        where = ", ".join(g.nodes[:_NODES_SHOWN])
        if len(g.nodes) > _NODES_SHOWN:
            where += f" and {len(g.nodes) - _NODES_SHOWN} more"
        count = f" ({len(g.nodes)} nodes)" if len(g.nodes) > 1 else ""
        emit(f"  {f.severity.value}: {f.code}: {f.message}  [{where}]{count}")
    if not everything:
        rest = Counter(f.code for f in findings if counts_for_outcome(f) is Severity.INFO)
        if rest:
            notes = ", ".join(f"{code} x{n}" for code, n in sorted(rest.items()))
            emit(f"  notes: {notes} (--tree or --json for each)")


def render_outcome(path: str, outcome: FileOutcome, emit: Emit) -> None:
    emit = escaping(emit)
    emit(f"{outcome.outcome.value.upper()}: {path}")
    for reason in outcome.reasons[:5]:
        emit(f"  because {reason}")
    if len(outcome.reasons) > 5:
        emit(f"  ... and {len(outcome.reasons) - 5} more reasons")


def render_layers(rep: PackageReport, emit: Emit) -> None:
    """Every signed layer below the file, counted by kind, signing class and trust."""
    emit = escaping(emit)
    count: Counter[tuple[str, str, str]] = Counter()
    for n in rep.root.walk():
        if n is rep.root or n.signatures is None:
            continue
        r = n.signatures
        if not r.signatures and n.kind not in _EXPECTED_SIGNED:
            continue  # an unsigned member of a signed container is the norm
        if r.trusted:
            trust = "trusted"
        elif r.partly_trusted:
            trust = "partly trusted"
        else:
            trust = "unsigned" if not r.signatures else "NOT trusted"
        count[(n.kind.value, r.signing.value, trust)] += 1
    if not count:
        return
    emit("  signed layers below the file:")
    for (kind, signing, trust), many in sorted(count.items()):
        emit(f"    {many} x {kind}: {signing}, {trust}")


def render_inspection(
    file: FileReport,
    package: PackageReport | None,
    outcome: FileOutcome,
    emit: Emit,
    *,
    tree: bool = False,
    verdict: Verdict | None = None,
) -> None:
    emit = escaping(emit)
    render_outcome(file.path, outcome, emit)
    if verdict is not None:
        emit("  host verdict:")
        from msuinspect.report import verdict_text

        for line in verdict_text.render_verdict(verdict, indent="    "):
            emit(line)
    kind = package.root.kind.value if package is not None else file.kind.value
    signing = file.signing.value
    if not file.signatures and outcome.outcome is Outcome.ERROR:
        signing = "unknown (the file could not be read completely)"
    emit(f"  kind {kind}, {file.size} bytes, signing: {signing}")
    if file.sha256:
        emit(f"  sha256 {file.sha256}")
        emit(f"  sha1   {file.sha1}")
    for s in file.signatures:
        signatures_text.render_signature(s, emit)
    if package is not None:
        package_text.render_summary(package, emit)
        render_layers(package, emit)
        if tree:
            emit("  tree:")
            package_text.render_tree(package.root, emit)
        findings = package.all_findings()
    else:
        findings = list(file.all_findings)
    render_findings(findings, file.path, emit, everything=tree)


def render_batch_summary(outcomes: Iterable[Outcome], emit: Emit) -> None:
    emit = escaping(emit)
    count = Counter(outcomes)
    total = sum(count.values())
    parts = ", ".join(f"{count.get(o, 0)} {o.value}" for o in Outcome)
    emit(f"{total} file(s): {parts}")
