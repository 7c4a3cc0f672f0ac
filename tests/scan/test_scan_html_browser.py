"""``scan --format html`` in a real headless Chromium (Selenium + chromedriver): the rows
render, filtering by outcome and by text works, sorting works, details open, a hostile file
name runs nothing, and the browser logs no console error (a CSP violation is one)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from scan_helpers import cli

from conftest import FIXTURES, require_module, require_tool

ROOT_PEM = str(FIXTURES / "pki" / "root_ca.pem")
HOSTILE = "<img src=x onerror=alert(1)>.cab"

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


def _browser_binary() -> str:
    for name in ("chromium", "chromium-browser"):
        if shutil.which(name):
            return name
    return "chromium"


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    chromium = require_tool(_browser_binary())
    chromedriver = require_tool("chromedriver")
    webdriver = require_module("selenium.webdriver")
    service_mod = require_module("selenium.webdriver.chrome.service")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(
        service=service_mod.Service(executable_path=chromedriver), options=options
    )
    try:
        yield drv
    finally:
        drv.quit()


def _tree(tmp: Path) -> Path:
    root = tmp / "dl"
    root.mkdir()
    for p in sorted((FIXTURES / "sample").glob("*.msu")):
        shutil.copy2(p, root / p.name)
    for name in ("signed_sha256.cab", "stored_2files.cab", "tampered_signed_sha256.cab"):
        shutil.copy2(FIXTURES / "cab" / name, root / name)
    shutil.copy2(FIXTURES / "cab" / "signed_sha256.cab", root / HOSTILE)  # also a duplicate
    return root


def _scan(*args: str) -> str:
    res = CliRunner().invoke(cli, ["scan", "--no-cache", "-q", *args], catch_exceptions=False)
    return res.stdout


def _visible_rows(drv: Any) -> list[Any]:
    return [tr for tr in drv.find_elements("css selector", "tr.file") if tr.is_displayed()]


def test_html_report_in_headless_chromium(driver: Any, tmp_path: Path) -> None:
    from selenium.webdriver.support.ui import Select

    root = _tree(tmp_path)
    base = ["--trust-root", ROOT_PEM, "--fail-on", "never", str(root)]
    page = tmp_path / "report.html"
    _scan("-f", "html", "-o", str(page), *base)
    doc = json.loads(_scan("-f", "json", *base))
    outcomes = [f["outcome"] for f in doc["files"]]
    assert len(outcomes) == 6 and len(set(outcomes)) >= 3

    driver.get(page.as_uri())  # an alert from the hostile name would raise here or below
    rows = _visible_rows(driver)
    assert len(rows) == len(outcomes)
    assert driver.find_element("id", "shown").text == str(len(outcomes))
    assert any(HOSTILE in tr.text for tr in rows)  # shown as text, not markup
    assert driver.find_elements("css selector", "img") == []
    # the chart and the media checks rendered
    assert driver.find_elements("css selector", "svg.chart rect")
    assert "Duplicates (1)" in driver.find_element("id", "media").text

    # filter by outcome
    select = Select(driver.find_element("id", "outcome"))
    for outcome in sorted(set(outcomes)):
        select.select_by_value(outcome)
        shown = _visible_rows(driver)
        assert len(shown) == outcomes.count(outcome)
        assert {tr.get_attribute("data-outcome") for tr in shown} == {outcome}
        assert driver.find_element("id", "shown").text == str(outcomes.count(outcome))
    select.select_by_value("")
    assert len(_visible_rows(driver)) == len(outcomes)

    # filter by text
    box = driver.find_element("id", "text")
    box.send_keys("kb9999902")
    assert [tr.get_attribute("data-outcome") for tr in _visible_rows(driver)] == [
        f["outcome"] for f in doc["files"] if "KB9999902" in f["path"]
    ]
    driver.execute_script(
        "var t = document.getElementById('text'); t.value = '';t.dispatchEvent(new Event('input'));"
    )
    assert len(_visible_rows(driver)) == len(outcomes)

    # sort by size (numeric), both ways; each details row follows its file row
    heads = driver.find_elements("css selector", "#files thead th")
    size_col = [h.text for h in heads].index("size KB")
    sizes = sorted(f.get("size") or 0 for f in doc["files"])

    def keys() -> list[int]:
        return [
            int(tr.find_elements("tag name", "td")[size_col].get_attribute("data-key"))
            for tr in driver.find_elements("css selector", "tr.file")
        ]

    heads[size_col].click()
    assert keys() == sizes
    assert heads[size_col].get_attribute("data-sort") == "asc"
    heads[size_col].click()
    assert keys() == sizes[::-1]
    body_rows = driver.find_elements("css selector", "#files tbody tr")
    assert [r.get_attribute("class") for r in body_rows] == ["file", "detail"] * len(outcomes)

    # sort by file name
    file_col = [h.text for h in heads].index("file")
    heads[file_col].click()
    names = [
        tr.find_elements("tag name", "td")[file_col].text
        for tr in driver.find_elements("css selector", "tr.file")
    ]
    assert names == sorted(names, key=str.lower)

    # a file's details open and show its signatures
    first = driver.find_element("css selector", "tr.detail details")
    first.find_element("tag name", "summary").click()
    assert first.get_attribute("open") is not None
    assert "Signatures" in first.text and "Catalog coverage" in first.text

    errors = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
    assert errors == []
    # the log is really read: a console error of the page's own is seen
    driver.execute_script("console.error('msuinspect-probe')")
    assert any("msuinspect-probe" in e["message"] for e in driver.get_log("browser"))


def test_html_with_host_shows_the_verdict_and_its_reasons(driver: Any, tmp_path: Path) -> None:
    verdict = FIXTURES / "verdict"
    files = [
        str(verdict / n) for n in ("Windows6.0-KB9999911-x64.msu", "Windows6.0-KB9999912-x64.msu")
    ]
    page = tmp_path / "host.html"
    _scan(
        "-f",
        "html",
        "-o",
        str(page),
        "--trust-root",
        ROOT_PEM,
        "--fail-on",
        "never",
        "--host",
        "preset:2008sp2-rtm-x64",
        *files,
    )
    driver.get(page.as_uri())
    heads = [h.text for h in driver.find_elements("css selector", "#files thead th")]
    assert "host verdict" in heads
    col = heads.index("host verdict")
    cells = [
        tr.find_elements("tag name", "td")[col].text
        for tr in driver.find_elements("css selector", "tr.file")
    ]
    assert "validate yes, install yes" in cells and "validate no, install no" in cells
    for det in driver.find_elements("css selector", "tr.detail details"):
        det.find_element("tag name", "summary").click()
    text = driver.find_element("id", "files").text
    assert "Host verdict" in text and "R8 fail" in text
    assert [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"] == []
