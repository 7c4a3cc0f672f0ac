"""Typed view of ``data/servicing.toml``: updates, thresholds, ESU years, Microsoft roots.

:func:`load_knowledge_base` reads the packaged file (or another path), checks it against
:mod:`msuinspect.servicing.schema` and raises :class:`ServicingDataError` listing every
problem. The result is immutable and cheap to share.
"""

from __future__ import annotations

import datetime as _dt
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Any

from msuinspect.data import read_data
from msuinspect.errors import MsuInspectError
from msuinspect.host.profile import Arch, Root
from msuinspect.servicing import schema


class ServicingDataError(MsuInspectError):
    """The servicing knowledge base is missing, not TOML, or breaks its schema."""

    code = "servicing-data"


class Confidence(StrEnum):
    CONFIRMED = "confirmed"
    STRONG = "strong"
    WEAK = "weak"


class UpdateKind(StrEnum):
    SERVICE_PACK = "service-pack"
    SHA2 = "sha2"
    SSU = "ssu"
    MONTHLY_ROLLUP = "monthly-rollup"
    PREVIEW_ROLLUP = "preview-rollup"
    SECURITY_ONLY = "security-only"
    ESU_PREP = "esu-prep"
    ESU_PREP_CHECK = "esu-prep-check"


#: kinds that are monthly or security-only quality updates (ESU-only after 2020-01-14)
ROLLUP_KINDS = frozenset(
    {UpdateKind.MONTHLY_ROLLUP, UpdateKind.PREVIEW_ROLLUP, UpdateKind.SECURITY_ONLY}
)


@dataclass(frozen=True, slots=True, order=True)
class PartialDate:
    """A day, or only a month (``day`` None) when that is all a source says."""

    year: int
    month: int
    day: int | None = None

    @classmethod
    def parse(cls, text: str) -> PartialDate:
        parts = [int(p) for p in text.strip().split("-")]
        if len(parts) == 2:
            _dt.date(parts[0], parts[1], 1)
            return cls(parts[0], parts[1])
        _dt.date(parts[0], parts[1], parts[2])
        return cls(parts[0], parts[1], parts[2])

    @classmethod
    def of(cls, day: _dt.date) -> PartialDate:
        return cls(day.year, day.month, day.day)

    @property
    def earliest(self) -> _dt.date:
        return _dt.date(self.year, self.month, self.day or 1)

    @property
    def latest(self) -> _dt.date:
        if self.day is not None:
            return _dt.date(self.year, self.month, self.day)
        nxt = _dt.date(self.year + self.month // 12, self.month % 12 + 1, 1)
        return nxt - _dt.timedelta(days=1)

    def __str__(self) -> str:
        if self.day is None:
            return f"{self.year:04d}-{self.month:02d}"
        return f"{self.year:04d}-{self.month:02d}-{self.day:02d}"


@dataclass(frozen=True, slots=True)
class Threshold:
    value: PartialDate
    source: tuple[str, ...]
    confidence: Confidence


@dataclass(frozen=True, slots=True)
class UpdateFact:
    kb: str
    kind: UpdateKind
    date: PartialDate | None  #: None: unknown
    source: tuple[str, ...]
    confidence: Confidence
    title: str | None = None
    identity: str | None = None
    version: str | None = None
    revision: int | None = None
    stack_version: str | None = None
    build: str | None = None
    arch: tuple[Arch, ...] = ()  #: empty: every architecture
    supersedes: tuple[str, ...] = ()
    restart: bool | None = None
    bootstrap: bool = False  #: a SHA-2 bootstrap package (R20)
    note: str | None = None
    #: where ``supersedes`` comes from (e.g. the cumulative-rollup convention) and how sure
    supersedes_source: tuple[str, ...] = ()
    supersedes_confidence: Confidence | None = None


@dataclass(frozen=True, slots=True)
class RollupGap:
    """A month whose monthly rollup no source names (between known rollups)."""

    month: PartialDate
    reason: str
    source: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EsuYear:
    year: int
    first: _dt.date  #: first release day covered
    through: _dt.date  #: last release day covered
    source: tuple[str, ...]
    confidence: Confidence
    activation_id: str | None = None
    azure_only: bool = False
    note: str | None = None

    def covers(self, day: _dt.date) -> bool:
        return self.first <= day <= self.through


@dataclass(frozen=True, slots=True)
class RootFact:
    id: Root
    name: str
    sha1: str
    expires: _dt.date
    in_box: bool
    source: tuple[str, ...]
    confidence: Confidence


@dataclass(frozen=True, slots=True)
class KnowledgeBase:
    schema_version: int
    data_version: str
    sources: Mapping[str, str]
    thresholds: Mapping[str, Threshold]
    updates: Mapping[str, UpdateFact]
    esu_years: tuple[EsuYear, ...]
    roots: tuple[RootFact, ...]
    rollup_gaps: tuple[RollupGap, ...] = ()

    def get(self, kb: str | None) -> UpdateFact | None:
        return self.updates.get(normalise_kb(kb)) if kb else None

    def of_kind(self, *kinds: UpdateKind) -> list[UpdateFact]:
        """Entries of these kinds, oldest first (unknown dates last)."""
        found = [u for u in self.updates.values() if u.kind in kinds]
        return sorted(found, key=_date_order)

    def threshold(self, name: str) -> Threshold:
        return self.thresholds[name]

    def esu_year(self, year: int) -> EsuYear | None:
        return next((y for y in self.esu_years if y.year == year), None)

    def esu_years_for(self, date: PartialDate) -> list[EsuYear]:
        """The ESU years a release date may fall in (two for a month on a boundary)."""
        return [y for y in self.esu_years if date.earliest <= y.through and date.latest >= y.first]

    def root(self, root: Root) -> RootFact | None:
        return next((r for r in self.roots if r.id is root), None)

    def root_by_sha1(self, sha1: str) -> RootFact | None:
        return next((r for r in self.roots if r.sha1 == sha1.lower()), None)


def _date_order(u: UpdateFact) -> tuple[bool, int, int, int]:
    """Oldest first, unknown last; a month-only date sorts before the days of its month."""
    d = u.date
    return (d is None, d.year if d else 0, d.month if d else 0, (d.day or 0) if d else 0)


def normalise_kb(kb: str) -> str:
    """``"4474419"``, ``"kb4474419"`` -> ``"KB4474419"``."""
    kb = kb.strip().upper()
    return kb if kb.startswith("KB") else f"KB{kb}"


def _date(text: str) -> _dt.date:
    return _dt.date.fromisoformat(text)


def _build(doc: Mapping[str, Any]) -> KnowledgeBase:
    thresholds = {
        name: Threshold(
            PartialDate.parse(t["value"]), tuple(t["source"]), Confidence(t["confidence"])
        )
        for name, t in doc["thresholds"].items()
    }
    updates: dict[str, UpdateFact] = {}
    for u in doc["update"]:
        updates[u["kb"]] = UpdateFact(
            kb=u["kb"],
            kind=UpdateKind(u["kind"]),
            date=None if u["date"] == "unknown" else PartialDate.parse(u["date"]),
            source=tuple(u["source"]),
            confidence=Confidence(u["confidence"]),
            title=u.get("title"),
            identity=u.get("identity"),
            version=u.get("version"),
            revision=u.get("revision"),
            stack_version=u.get("stack_version"),
            build=u.get("build"),
            arch=tuple(Arch(a) for a in u.get("arch", ())),
            supersedes=tuple(u.get("supersedes", ())),
            restart=u.get("restart"),
            bootstrap=bool(u.get("bootstrap", False)),
            note=u.get("note"),
            supersedes_source=tuple(u.get("supersedes_source", ())),
            supersedes_confidence=(
                Confidence(u["supersedes_confidence"]) if "supersedes_confidence" in u else None
            ),
        )
    years = []
    for y in doc["esu_year"]:
        first = _date(y["starts"]) if "starts" in y else _date(y["after"]) + _dt.timedelta(days=1)
        years.append(
            EsuYear(
                year=y["year"],
                first=first,
                through=_date(y["through"]),
                source=tuple(y["source"]),
                confidence=Confidence(y["confidence"]),
                activation_id=y.get("activation_id"),
                azure_only=bool(y.get("azure_only", False)),
                note=y.get("note"),
            )
        )
    roots = tuple(
        RootFact(
            id=Root(r["id"]),
            name=r["name"],
            sha1=r["sha1"],
            expires=_date(r["expires"]),
            in_box=r["in_box"],
            source=tuple(r["source"]),
            confidence=Confidence(r["confidence"]),
        )
        for r in doc["root"]
    )
    gaps = tuple(
        RollupGap(PartialDate.parse(g["month"]), g["reason"], tuple(g["source"]))
        for g in doc.get("rollup_gap", ())
    )
    return KnowledgeBase(
        schema_version=doc["schema_version"],
        data_version=doc["data_version"],
        sources=dict(doc["sources"]),
        thresholds=thresholds,
        updates=updates,
        esu_years=tuple(years),
        roots=roots,
        rollup_gaps=gaps,
    )


def parse_knowledge_base(data: bytes, name: str = "servicing.toml") -> KnowledgeBase:
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ServicingDataError(f"{name}: not valid TOML: {exc}") from exc
    problems = schema.check(doc)
    if problems:
        raise ServicingDataError(f"{name}: " + "; ".join(problems))
    try:
        return _build(doc)
    except (ValueError, KeyError, TypeError) as exc:  # dates the regex let through (02-30)
        raise ServicingDataError(f"{name}: {exc}") from exc


def read_default_toml() -> bytes:
    return read_data("servicing.toml")


@cache
def _default() -> KnowledgeBase:
    return parse_knowledge_base(read_default_toml())


def load_knowledge_base(path: str | os.PathLike[str] | None = None) -> KnowledgeBase:
    """The packaged knowledge base, or the file at ``path``."""
    if path is None:
        return _default()
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise ServicingDataError(f"cannot read {path}: {exc.strerror}") from exc
    return parse_knowledge_base(data, os.fspath(path))
