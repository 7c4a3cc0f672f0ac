"""Findings: problems and notable facts reported as data, not exceptions.

A finding has a stable ``code`` (documented in ``docs/findings.md``), a severity, a
human-readable message, the layer that produced it, the node path it refers to and
optional evidence (offsets, sizes, names).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    severity: Severity
    message: str
    layer: str
    path: str | None = None
    offset: int | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)

    def with_path(self, path: str) -> Finding:
        if self.path is not None:
            return self
        return Finding(
            self.code, self.severity, self.message, self.layer, path, self.offset, self.evidence
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "layer": self.layer,
            "path": self.path,
            "offset": self.offset,
            "evidence": dict(self.evidence),
        }


class FindingSink:
    """Builds the findings of one layer, about one node path unless a call names another,
    and collects them in order.

    ``into`` is the list collected into (a new one by default). ``prefix`` starts every
    message and ``context`` starts every finding's evidence (a sink per signature says which
    one). With ``max_per_code``, at most that many findings of one code are kept;
    :meth:`result` then ends with one ``truncated_code`` finding that counts the others.
    """

    def __init__(
        self,
        layer: str,
        path: str | None = None,
        *,
        into: list[Finding] | None = None,
        prefix: str = "",
        context: Mapping[str, Any] | None = None,
        max_per_code: int | None = None,
        truncated_code: str | None = None,
    ) -> None:
        self.layer = layer
        self.path = path
        self.findings: list[Finding] = [] if into is None else into
        self.prefix = prefix
        self.context = dict(context) if context else None
        self.max_per_code = max_per_code
        self.truncated_code = truncated_code
        self._counts: dict[str, int] = {}

    def add(
        self,
        code: str,
        severity: Severity,
        message: str,
        offset: int | None = None,
        *,
        path: str | None = None,
        **evidence: Any,
    ) -> None:
        """Build the finding and collect it (unless its code is over ``max_per_code``)."""
        if self.max_per_code is not None:
            n = self._counts.get(code, 0) + 1
            self._counts[code] = n
            if n > self.max_per_code:
                return
        where = self.path if path is None else path
        if self.context is not None:
            evidence = {**self.context, **evidence}
        text = self.prefix + message if self.prefix else message
        self.findings.append(Finding(code, severity, text, self.layer, where, offset, evidence))

    def extend(self, findings: Iterable[Finding]) -> None:
        """Collect findings built elsewhere, as they are."""
        self.findings.extend(findings)

    def result(self) -> tuple[Finding, ...]:
        """What was collected, then the count of what ``max_per_code`` left out."""
        cap = self.max_per_code
        out = list(self.findings)
        dropped = {c: n - cap for c, n in self._counts.items() if cap is not None and n > cap}
        if dropped and self.truncated_code is not None:
            out.append(
                Finding(
                    self.truncated_code,
                    Severity.INFO,
                    f"{sum(dropped.values())} more findings of the same codes were not listed",
                    self.layer,
                    self.path,
                    evidence={"dropped": dropped},
                )
            )
        return tuple(out)
