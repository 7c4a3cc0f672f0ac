"""One pass: ``inspect`` opens every cabinet of a file once (issue 10).

The package walk opens each cabinet (its header parsed) and hands the open cabinet to the
signature check, instead of the signature check opening it again. The count comes from the
debug hook ``msuinspect.cab.cabinet.on_open``, called at every header parse.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from msuinspect import inspect
from msuinspect.cab import cabinet
from msuinspect.package.analyse import PackageReport
from msuinspect.package.kinds import NodeKind

from support.corpus import FIXTURES, CorpusEntry, corpus_params, update_packages

AS_OF = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)

#: the real update packages of the corpus: MSUs, update and FOD cabinets
PACKAGES = update_packages()
MSUS = [e for e in PACKAGES if e.rel.endswith(".msu")]


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[tuple[str, int]]]:
    """Every (cabinet name, offset) whose header is parsed while the test runs."""
    seen: Counter[tuple[str, int]] = Counter()

    def count(name: str, offset: int) -> None:
        seen[(name, offset)] += 1

    monkeypatch.setattr(cabinet, "on_open", count)
    yield seen


def _containers(path: Path) -> tuple[set[str], PackageReport]:
    report = inspect(path, as_of=AS_OF)
    assert report.package is not None, report.error
    expanded = {n.path for n in report.package.root.walk() if n.children}
    return expanded, report.package


def _check_once(opened: Counter[tuple[str, int]], expanded: set[str]) -> None:
    twice = {k: n for k, n in opened.items() if n != 1}
    assert not twice, f"cabinets parsed more than once: {twice}"
    names = {name for name, _offset in opened}
    # every cabinet the package tree expanded was opened, and nothing else was
    assert expanded <= names, expanded - names
    assert all(offset == 0 for _name, offset in opened)


@pytest.mark.parametrize("entry", corpus_params(MSUS))
def test_each_cabinet_of_a_real_msu_is_opened_once(
    entry: CorpusEntry, opened: Counter[tuple[str, int]]
) -> None:
    expanded, package = _containers(entry.path)
    _check_once(opened, expanded)
    # an MSU: the file, WSUSSCAN.cab, its package.cab and the update cabinet
    assert len(opened) >= 4
    root = package.root
    assert root.kind is NodeKind.MSU
    # the signature checks were done on the cabinets the walk opened: every cabinet node
    # carries a signature report
    for node in root.walk():
        if node.children:
            assert node.signatures is not None, node.path


@pytest.mark.parametrize("entry", corpus_params(PACKAGES))
def test_each_cabinet_of_a_real_package_is_opened_once(
    entry: CorpusEntry, opened: Counter[tuple[str, int]]
) -> None:
    expanded, _package = _containers(entry.path)
    _check_once(opened, expanded)


def test_signed_fixture_msu_is_opened_once(opened: Counter[tuple[str, int]]) -> None:
    """The same without the corpus, on a signed synthetic MSU of the project's fixtures."""
    msu = FIXTURES / "verdict" / "Windows6.0-KB4493730-x64.msu"
    expanded, _package = _containers(msu)
    _check_once(opened, expanded)
    assert len(expanded) >= 2


def test_signatures_only_opens_the_file_once(opened: Counter[tuple[str, int]]) -> None:
    msu = FIXTURES / "verdict" / "Windows6.0-KB4493730-x64.msu"
    report = inspect(msu, as_of=AS_OF, signatures_only=True)
    assert report.file is not None and report.file.signatures
    assert dict(opened) == {(str(msu), 0): 1}
