"""The repository's paths and the real-file corpus.

The corpus is third-party data that is never committed: tests read it from
``$MSUINSPECT_CORPUS`` or ``../shared/corpus`` next to the repository and skip (with the
reason shown in the summary) when it is absent.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"

CORPUS_REASON = "real-file corpus not found (set MSUINSPECT_CORPUS or place it at ../shared/corpus)"


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


def update_packages() -> list[CorpusEntry]:
    """The corpus's real update packages: MSUs, update and FOD cabinets (the batch of
    bench/bench_inspect.py)."""
    return [
        e
        for e in MANIFEST
        if e.rel.startswith(("msu/", "cab/update/", "cab/fod/"))
        and e.rel.endswith((".msu", ".cab"))
    ]


def cabinet_entries() -> list[CorpusEntry]:
    """Corpus files that are cabinets or MSUs by name (malformed ones included)."""
    return [e for e in MANIFEST if e.rel.endswith((".cab", ".msu"))]


def corpus_params(entries: list[CorpusEntry]) -> list[object]:
    """pytest parameters for corpus entries; one skipped placeholder when there is none."""
    if not entries:
        return [pytest.param(None, marks=pytest.mark.skip(reason=CORPUS_REASON), id="no-corpus")]
    return [pytest.param(e, id=e.rel) for e in entries]
