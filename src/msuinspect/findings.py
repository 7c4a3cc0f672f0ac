"""Findings: problems and notable facts reported as data, not exceptions.

A finding has a stable ``code`` (documented in ``docs/findings.md``), a severity, a
human-readable message, the layer that produced it, the node path it refers to and
optional evidence (offsets, sizes, names).
"""

from __future__ import annotations

from collections.abc import Mapping
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
