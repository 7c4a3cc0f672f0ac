"""The verdict's result types: outcomes, reasons, expected errors."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from msuinspect.host.profile import Root
from msuinspect.servicing.knowledge import Confidence


class Answer(StrEnum):
    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


class RuleOutcome(StrEnum):
    PASS = "pass"  #: the rule is satisfied
    FAIL = "fail"  #: the rule blocks
    UNKNOWN = "unknown"  #: the rule cannot be decided (see ``unknown_field``)
    INFO = "info"  #: a fact worth knowing that decides nothing


class Aspect(StrEnum):
    VALIDATE = "validate"
    INSTALL = "install"


@dataclass(frozen=True, slots=True)
class ExpectedError:
    """What the user would see, where a source documents (or strongly suggests) it."""

    message: str
    code: str | None  #: e.g. ``0x80096010``
    source: tuple[str, ...]
    confidence: Confidence


@dataclass(frozen=True, slots=True)
class Reason:
    rule: str  #: R1..R23
    outcome: RuleOutcome
    aspect: Aspect
    summary: str  #: short, for the leading line ("outer MSU is SHA-256-only")
    evidence: str  #: from the package or the host
    source: tuple[str, ...]
    confidence: Confidence
    layer: str | None = None  #: outer-msu, inner-cab, catalog...
    path: str | None = None  #: node path of the layer
    unknown_field: str | None = None  #: the unknown fact that decided "unknown"
    expected_error: ExpectedError | None = None


@dataclass(frozen=True, slots=True)
class HostSummary:
    """How the verdict read the host (for the leading line and the JSON)."""

    label: str  #: ``6002 amd64 (no SHA-2 support)``
    sha2: Answer
    sha2_via: str


@dataclass(frozen=True, slots=True)
class Verdict:
    path: str
    kb: str | None
    host: HostSummary
    can_validate: Answer
    can_install: Answer
    already_installed: Answer
    reasons: tuple[Reason, ...]
    missing_prerequisites: tuple[str, ...]  #: KB numbers, in install order
    missing_roots: tuple[Root, ...]
    expected_error: ExpectedError | None
    unknown_fields: tuple[str, ...]  #: host (or package) facts that left something unknown
    release_date: str | None
    release_date_source: str | None
    notes: tuple[str, ...] = ()

    def deciding(self, aspect: Aspect) -> Reason | None:
        """The first failing reason of ``aspect``, else the first unknown one."""
        for wanted in (RuleOutcome.FAIL, RuleOutcome.UNKNOWN):
            for r in self.reasons:
                if r.aspect is aspect and r.outcome is wanted:
                    return r
        return None
