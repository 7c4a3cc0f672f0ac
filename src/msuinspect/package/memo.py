"""Results that depend only on a member's bytes, kept for the next file of a batch.

The package walk hashes every member (SHA-256) as it decodes it. Three results depend on
nothing but those bytes and the analysis settings (trust store, moment, limits): the
signature report of a signed member, a parsed catalog, and the layout of a nested cabinet.
Within one file, members with the same bytes have always shared them (Microsoft cabinets
repeat files). A :class:`ContentMemo` passed to several analyses extends that to a batch:
a download folder holds an MSU next to the update cabinet extracted from it, and the
cabinet's catalogs are then verified and parsed once.

What is shared is immutable, or copied with the new member's path by the caller; a memo
changes how fast a report is made, never what it says (``tests/package/test_memo.py``
compares every corpus package analysed alone and after the others). It is bounded: past
``max_weight`` (roughly one unit per catalog entry, cabinet member or signature), the
oldest entries are forgotten.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, TypeVar

from msuinspect.authenticode.inspect import FileReport
from msuinspect.authenticode.trust import TrustStore
from msuinspect.cab.cabinet import ParsedLayout
from msuinspect.limits import Limits
from msuinspect.package.catalog import Catalog

_T = TypeVar("_T")

#: a member's content: (SHA-256 hex, size)
Content = tuple[str, int]

#: default bound: about 100,000 catalog entries or cabinet members (some tens of MB)
DEFAULT_MAX_WEIGHT = 100_000


class ContentMemo:
    """Signature reports, catalogs and cabinet layouts by content, for one batch.

    Pass the same memo to every :func:`msuinspect.inspect` call of a batch. Settings
    differing from the previous call's (another trust store, moment or limits) empty it
    first, so a result is only ever reused under the settings that produced it. Calls
    without a moment (``as_of``) validate at the memo's :meth:`moment`, the time of its
    first use, rather than each at its own "now".
    """

    def __init__(self, max_weight: int = DEFAULT_MAX_WEIGHT) -> None:
        self.max_weight = max_weight
        self._settings: tuple[TrustStore, _dt.datetime, Limits] | None = None
        self._now: _dt.datetime | None = None
        self._reports: dict[Content, FileReport] = {}
        self._catalogs: dict[Content, Catalog] = {}
        self._layouts: dict[Content, ParsedLayout] = {}
        #: every entry's weight, oldest first
        self._ages: dict[tuple[int, Content], int] = {}
        self._weight = 0
        #: results served from the memo (all kinds), for tests and benchmarks
        self.hits = 0

    def moment(self) -> _dt.datetime:
        """The batch's "now": fixed at the first call, so that analyses without an explicit
        moment validate at the same one (as the command line does for a run) and can share
        results."""
        if self._now is None:
            self._now = _dt.datetime.now(_dt.UTC)
        return self._now

    def settle(self, trust: TrustStore, as_of: _dt.datetime, limits: Limits) -> None:
        """Use the memo for an analysis with these settings."""
        s = self._settings
        if s is None or s[0] is not trust or s[1] != as_of or s[2] != limits:
            self.clear()
            self._settings = (trust, as_of, limits)

    def clear(self) -> None:
        self._reports.clear()
        self._catalogs.clear()
        self._layouts.clear()
        self._ages.clear()
        self._weight = 0

    def __len__(self) -> int:
        return len(self._ages)

    # -------------------------------------------------------------------- lookups
    def report(self, content: Content) -> FileReport | None:
        return self._hit(self._reports.get(content))

    def catalog(self, content: Content) -> Catalog | None:
        return self._hit(self._catalogs.get(content))

    def layout(self, content: Content) -> ParsedLayout | None:
        return self._hit(self._layouts.get(content))

    def _hit(self, value: _T | None) -> _T | None:
        if value is not None:
            self.hits += 1
        return value

    # ---------------------------------------------------------------------- stores
    def keep_report(self, content: Content, report: FileReport) -> None:
        self._reports[content] = report
        self._add(0, content, 1 + len(report.signatures))

    def keep_catalog(self, content: Content, catalog: Catalog) -> None:
        self._catalogs[content] = catalog
        self._add(1, content, 1 + len(catalog.members))

    def keep_layout(self, content: Content, parsed: ParsedLayout) -> None:
        self._layouts[content] = parsed
        self._add(2, content, 1 + len(parsed.layout.members))

    def _add(self, kind: int, content: Content, weight: int) -> None:
        key = (kind, content)
        self._weight += weight - self._ages.pop(key, 0)
        self._ages[key] = weight
        tables: tuple[dict[Content, Any], ...] = (self._reports, self._catalogs, self._layouts)
        while self._weight > self.max_weight and len(self._ages) > 1:
            (old_kind, old), w = next(iter(self._ages.items()))
            del self._ages[(old_kind, old)]
            tables[old_kind].pop(old, None)
            self._weight -= w
