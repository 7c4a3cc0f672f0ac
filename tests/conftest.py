"""Shared test fixtures; the helpers themselves live in the ``support`` package.

The real-file corpus is third-party data that is never committed: tests read it from
``$MSUINSPECT_CORPUS`` or ``../shared/corpus`` next to the repository and skip (with the
reason shown in the summary) when it is absent. External oracles (cabextract, 7zz,
osslsigncode) are skipped when missing, unless ``MSUINSPECT_REQUIRE_ORACLES=1`` (set by CI),
which turns a missing oracle into a failure so that no oracle test can silently vanish.

The names below are re-exported for modules that import them from ``conftest``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from support.corpus import (
    CORPUS_REASON,
    FIXTURES,
    MANIFEST,
    REPO,
    CorpusEntry,
    cabinet_entries,
    corpus_dir,
    corpus_params,
    load_manifest,
)
from support.tools import require_module, require_tool

__all__ = [
    "CORPUS_REASON",
    "FIXTURES",
    "MANIFEST",
    "REPO",
    "CorpusEntry",
    "cabinet_entries",
    "corpus_dir",
    "corpus_params",
    "load_manifest",
    "require_module",
    "require_tool",
]


@pytest.fixture(scope="session")
def corpus() -> Path:
    root = corpus_dir()
    if root is None:
        pytest.skip(CORPUS_REASON)
    return root


#: Tests over about a second in folders whose owners have not marked them ``slow`` themselves
#: (tests/scan, tests/fuzz): marked here by name so that ``make test-fast`` leaves them out.
#: A test marked with ``@pytest.mark.slow`` in its module needs no line here.
SLOW_ELSEWHERE = frozenset(
    {
        "tests/fuzz/test_regressions.py::test_runner_reports_a_failure",
        "tests/fuzz/test_regressions.py::test_worker_fails_and_keeps_the_input",
        "tests/scan/test_scan_cli.py::test_sigint_leaves_valid_partial_jsonl_and_a_usable_cache",
        "tests/scan/test_scan_cli.py::test_exit_statuses_follow_fail_on",
        "tests/scan/test_scan_cli.py::test_registered_command_in_a_subprocess",
        "tests/scan/test_scan_cli.py::test_sarif_is_read_by_sarif_tools",
        "tests/scan/test_scan_cli.py::test_table_csv_and_output_file",
        "tests/scan/test_scan_cli.py::test_json_and_jsonl_validate_and_agree",
        "tests/scan/test_scan_cli.py::test_symlink_note_and_all",
        "tests/scan/test_scan_cli.py::test_csv_and_html_are_safe_with_hostile_names",
        "tests/scan/test_scan_engine.py::test_time_budget_kills_the_worker_and_the_scan_goes_on",
        "tests/scan/test_scan_engine.py::test_rescan_analyses_nothing_and_a_new_file_alone",
        "tests/scan/test_scan_engine.py::test_dask_local_cluster_gives_the_same_records",
        "tests/scan/test_scan_engine.py::test_damaged_pages_mid_scan_are_set_aside_and_rebuilt",
        "tests/scan/test_scan_engine.py::test_corrupt_cache_is_reported_and_rebuilt",
        "tests/scan/test_scan_engine.py::test_same_records_in_the_same_order_for_one_and_two_jobs",
    }
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.nodeid.split("[", 1)[0] in SLOW_ELSEWHERE:
            item.add_marker(pytest.mark.slow)
