"""GX Data Docs in headless Chromium with no internet (every host but the server unresolvable): the
validation page styled, each expectation's status icon drawn, the failure first, and the index's
rows drawn by its (now same-origin) script. Named to run before test_model_health_ui, which
replaces the site's index with a stub of its own."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.ui]

DOCS = Path(os.environ.get("GAPWATCH_SCREENSHOT_DIR") or tempfile.mkdtemp(prefix="gapwatch-shots-"))
APP = "/gapwatch/health"
# Chromium resolves no host name at all except the server's: like a worker behind a firewall.
OFFLINE = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"

FONT_LOADED = """return [...document.fonts].some(f => f.family.includes('Font Awesome') && f.weight == '900'
                                                  && f.status == 'loaded')"""
FONTS = "return [...document.fonts].map(f => [f.family, f.weight, f.status])"
# read in one call: bootstrap-table redraws its rows (filters), so element handles go stale
# The index is gapwatch's own list, filtered by what the user may read (GX's lists every monitor).
INDEX_ROWS = "return [...document.querySelectorAll('li a')].map(a => a.innerText)"
ICON_DRAWN = """
const icons = [...document.querySelectorAll('i.fas.fa-check-circle, i.fas.fa-times')];
return icons.map(i => {
  const before = getComputedStyle(i, '::before');
  return [i.classList.contains('fa-times') ? 'failed' : 'passed',
          before.content, before.fontFamily, i.getBoundingClientRect().width];
});
"""


def _driver(chromium_paths):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver_path = chromium_paths
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 OFFLINE, "--window-size=1400,1000",
                 f"--user-data-dir={tempfile.mkdtemp(prefix='gw-chromium-')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver_path), options=options)


def test_data_docs_render_offline(airflow_server, chromium_paths) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    site = airflow_server.home / "gapwatch" / "data_docs"
    (page,) = site.glob("validations/credit_default_inputs/2026-02-02T000000Z/*/credit_default.html")
    page_url = f"{airflow_server.url}{APP}/data-docs/{page.relative_to(site).as_posix()}"

    driver = _driver(chromium_paths)
    wait = WebDriverWait(driver, 60)
    try:
        driver.get(f"{airflow_server.url}/plugin/model-health")
        wait.until(ec.presence_of_element_located((By.NAME, "username"))).send_keys(airflow_server.username)
        driver.find_element(By.NAME, "password").send_keys(airflow_server.password)
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait.until(ec.frame_to_be_available_and_switch_to_it((By.TAG_NAME, "iframe")))
        driver.switch_to.default_content()

        # The validation page: Bootstrap applied, every status icon drawn by Font Awesome, failure first.
        driver.get(page_url)
        try:  # the solid face (the icons' weight 900) downloaded from this server
            wait.until(lambda d: d.execute_script(FONT_LOADED))
        except Exception:
            raise AssertionError((driver.execute_script(FONTS), driver.get_log("browser"))) from None
        navbar = driver.find_element(By.CSS_SELECTOR, "nav.navbar")
        assert navbar.value_of_css_property("display") == "flex"  # bootstrap.min.css loaded
        icons = driver.execute_script(ICON_DRAWN)
        assert len(icons) >= 20
        for _status, content, family, width in icons:
            assert content not in ("none", "normal", '""') and "Font Awesome" in family and width > 0, icons
        # after the page's own header status, the first expectation rows are the failed ones
        statuses = [status for status, *_ in icons]
        assert statuses[0] == "failed" and statuses[1] == "failed" and "passed" in statuses
        driver.save_screenshot(str(DOCS / "data-docs-offline.png"))
        resources = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        assert resources and all(r.startswith(airflow_server.url) for r in resources), resources
        # "Failed Only" (an inline onclick in GX's page, dispatched by datadocs.js) hides the rest
        driver.find_element(By.XPATH, "//label[contains(., 'Failed')]").click()
        wait.until(lambda d: not [i for i in d.find_elements(By.CSS_SELECTOR, "td i.fas.fa-check-circle")
                                  if i.is_displayed()])
        assert [i for i in driver.find_elements(By.CSS_SELECTOR, "td i.fas.fa-times") if i.is_displayed()]

        # The index: one row per validation the user may read, rendered with no script at all.
        driver.get(f"{airflow_server.url}{APP}/data-docs/index.html")
        rows = wait.until(lambda d: [t for t in d.execute_script(INDEX_ROWS) if "credit_default" in t] or None)
        assert len(rows) >= 5 and all("credit_default_inputs" in t for t in rows), rows
        driver.save_screenshot(str(DOCS / "data-docs-index-offline.png"))
        # Airflow's own login page logs a 401 of /ui/config; only this app's errors count.
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE" and APP in e.get("message", "")]
        assert not errors, errors
    finally:
        driver.quit()

    # No inline code is served: a script-src 'self' policy runs everything the pages need.
    cookies = httpx.post(f"{airflow_server.url}/auth/token", json={
        "username": airflow_server.username, "password": airflow_server.password}).json()["access_token"]
    served = httpx.get(page_url, cookies={"_token": cookies}).text
    assert "onclick" not in served and "<script>" not in served
