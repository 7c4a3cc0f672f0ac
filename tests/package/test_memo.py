"""A :class:`ContentMemo` shared by the files of a batch changes how fast their reports are
made, never what they say.

The reports of files analysed alone are compared, as JSON, with the reports of the same
files analysed one after the other with one memo, in both orders: an MSU after the cabinets
extracted from it, and before them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from msuinspect import ContentMemo, Limits, TrustStore, inspect, trust_store
from msuinspect.cab import cabinet
from msuinspect.cab.cabinet import Cabinet
from msuinspect.report.inspect_json import report_dict

from support.corpus import FIXTURES, corpus_params, update_packages

AS_OF = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
PKI = FIXTURES / "pki"
TRUST = trust_store([PKI / "root_ca.pem", PKI / "tsa_root.pem"])
UNTRUSTED = trust_store()

#: a signed MSU of the fixtures next to the two cabinets extracted from it
SAMPLE = FIXTURES / "sample"
SAMPLE_FILES = [
    SAMPLE / "KB9999901" / "Windows6.0-KB9999901-x64.cab",
    SAMPLE / "KB9999901" / "WSUSSCAN.cab",
    SAMPLE / "Windows6.0-KB9999901-x64.msu",
]

#: the real update packages of the corpus: MSUs, update and FOD cabinets
PACKAGES = [e.path for e in update_packages()]


def _json(
    path: Path, memo: ContentMemo | None, limits: Limits | None = None, trust: TrustStore = TRUST
) -> str:
    report = inspect(path, trust=trust, as_of=AS_OF, memo=memo, limits=limits)
    assert report.package is not None, report.error
    doc: dict[str, Any] = report_dict(report)
    return json.dumps(doc, sort_keys=True, default=str)


def _same_with_a_memo(
    files: list[Path], memo: ContentMemo, limits: Limits | None = None, trust: TrustStore = TRUST
) -> None:
    alone = {f: _json(f, None, limits, trust) for f in files}
    for order in (files, list(reversed(files))):
        memo.clear()
        for f in order:
            assert _json(f, memo, limits, trust) == alone[f], f"{f} differs after {order[0]}"


@pytest.mark.parametrize("trusted", [True, False], ids=["test-roots", "untrusted"])
def test_extracted_cabinets_and_their_msu_give_the_same_reports(trusted: bool) -> None:
    # untrusted (the Microsoft roots only), every signature has findings naming its node
    memo = ContentMemo()
    _same_with_a_memo(SAMPLE_FILES, memo, trust=TRUST if trusted else UNTRUSTED)
    assert memo.hits > 0  # the MSU's inner cabinets were met before (or after) it
    assert len(memo) > 0


def test_a_memo_that_forgets_gives_the_same_reports() -> None:
    memo = ContentMemo(max_weight=3)
    _same_with_a_memo(SAMPLE_FILES, memo)
    assert len(memo) <= 3


def test_other_settings_empty_the_memo() -> None:
    memo = ContentMemo()
    inspect(SAMPLE_FILES[0], trust=TRUST, as_of=AS_OF, memo=memo)
    assert len(memo) > 0
    # another moment: nothing of the first analysis may be reused
    inspect(SAMPLE_FILES[1], trust=TRUST, as_of=AS_OF + dt.timedelta(days=1), memo=memo)
    hits = memo.hits
    inspect(SAMPLE_FILES[0], trust=TRUST, as_of=AS_OF, memo=memo)
    assert memo.hits == hits
    # other limits, another trust store: the same
    inspect(SAMPLE_FILES[0], trust=TRUST, as_of=AS_OF, memo=memo, limits=Limits(max_depth=3))
    assert memo.hits == hits
    inspect(SAMPLE_FILES[0], trust=trust_store(), as_of=AS_OF, memo=memo)
    assert memo.hits == hits


def test_a_known_layout_skips_the_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    parses: Counter[str] = Counter()
    monkeypatch.setattr(cabinet, "on_open", lambda name, offset: parses.update([name]))
    path = SAMPLE_FILES[1]
    first = Cabinet.open(path)
    again = Cabinet.open(path, parsed=first.parsed)
    assert parses == Counter({str(path): 1})
    assert again.layout is first.layout
    assert again.findings == first.findings
    assert again.parse_findings == first.parse_findings
    # a layout of other bytes (another size) is not taken: those bytes are parsed
    other = Cabinet.open(SAMPLE_FILES[0], parsed=first.parsed)
    assert parses[str(SAMPLE_FILES[0])] == 1
    assert other.layout.source_size == SAMPLE_FILES[0].stat().st_size


@pytest.mark.slow
@pytest.mark.corpus
@pytest.mark.parametrize("files", corpus_params([]) if not PACKAGES else [PACKAGES], ids=["all"])
def test_real_packages_give_the_same_reports(files: list[Path]) -> None:
    memo = ContentMemo()
    _same_with_a_memo(files, memo)
    assert memo.hits > 0


def test_without_a_moment_a_batch_shares_the_memo_s() -> None:
    """Calls without ``as_of`` validate at the memo's moment (its first use), so that they
    can share results, as the command line's one moment per run does."""
    memo = ContentMemo()
    inspect(SAMPLE_FILES[0], trust=TRUST, memo=memo)
    moment = memo.moment()
    hits = memo.hits
    inspect(SAMPLE_FILES[2], trust=TRUST, memo=memo)
    assert memo.hits > hits  # the MSU's inner cabinet was met in the first call
    assert memo.moment() == moment
    # and a memo emptied by other settings keeps its moment
    inspect(SAMPLE_FILES[0], trust=UNTRUSTED, memo=memo)
    assert memo.moment() == moment
