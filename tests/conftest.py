"""Shared test fixtures.

The real-file corpus is third-party data that is never committed: tests read it from
``$MSUINSPECT_CORPUS`` or ``../shared/corpus`` next to the repository and skip (with the
reason shown in the summary) when it is absent. External oracles (cabextract, 7zz,
osslsigncode) are skipped when missing, unless ``MSUINSPECT_REQUIRE_ORACLES=1`` (set by CI),
which turns a missing oracle into a failure so that no oracle test can silently vanish.
"""

from __future__ import annotations

import csv
import importlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"


def corpus_dir() -> Path | None:
    env = os.environ.get("MSUINSPECT_CORPUS")
    cand = Path(env) if env else REPO.parent / "shared" / "corpus"
    return cand if (cand / "MANIFEST.tsv").is_file() else None


@dataclass(frozen=True)
class CorpusEntry:
    path: Path
    rel: str
    sha256: str
    size: int
    origin: str
    kind: str
    observed: str


def load_manifest() -> list[CorpusEntry]:
    root = corpus_dir()
    if root is None:
        return []
    rows = []
    with open(root / "MANIFEST.tsv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            rows.append(
                CorpusEntry(
                    root / row["path"],
                    row["path"],
                    row["sha256"],
                    int(row["size"]),
                    row["origin"],
                    row["kind"],
                    row["observed"],
                )
            )
    return rows


MANIFEST = load_manifest()
CORPUS_REASON = "real-file corpus not found (set MSUINSPECT_CORPUS or place it at ../shared/corpus)"


def cabinet_entries() -> list[CorpusEntry]:
    """Corpus files that are cabinets or MSUs by name (malformed ones included)."""
    return [e for e in MANIFEST if e.rel.endswith((".cab", ".msu"))]


@pytest.fixture(scope="session")
def corpus() -> Path:
    root = corpus_dir()
    if root is None:
        pytest.skip(CORPUS_REASON)
    return root


def require_tool(name: str) -> str:
    """Path of an external oracle, or skip (fail under MSUINSPECT_REQUIRE_ORACLES=1).
    ``MSUINSPECT_NO_ORACLES=1`` (``make test-fast``) skips every oracle test."""
    if os.environ.get("MSUINSPECT_NO_ORACLES") == "1":
        pytest.skip("oracles disabled (MSUINSPECT_NO_ORACLES=1)")
    path = shutil.which(name)
    if path is None:
        msg = f"oracle tool {name!r} is not installed"
        if os.environ.get("MSUINSPECT_REQUIRE_ORACLES") == "1":
            pytest.fail(msg + " (required because MSUINSPECT_REQUIRE_ORACLES=1)")
        pytest.skip(msg)
    return path


def require_module(name: str) -> ModuleType:
    """An oracle Python package, imported; a missing one is treated like a missing tool
    (see :func:`require_tool`): skipped, failed under ``MSUINSPECT_REQUIRE_ORACLES=1``,
    and skipped anyway under ``MSUINSPECT_NO_ORACLES=1``."""
    if os.environ.get("MSUINSPECT_NO_ORACLES") == "1":
        pytest.skip("oracles disabled (MSUINSPECT_NO_ORACLES=1)")
    try:
        return importlib.import_module(name)
    except ImportError:
        msg = f"oracle Python package {name!r} is not installed"
        if os.environ.get("MSUINSPECT_REQUIRE_ORACLES") == "1":
            pytest.fail(msg + " (required because MSUINSPECT_REQUIRE_ORACLES=1)")
        pytest.skip(msg)


def corpus_params(entries: list[CorpusEntry]) -> list[object]:
    """pytest parameters for corpus entries; one skipped placeholder when there is none."""
    if not entries:
        return [pytest.param(None, marks=pytest.mark.skip(reason=CORPUS_REASON), id="no-corpus")]
    return [pytest.param(e, id=e.rel) for e in entries]
