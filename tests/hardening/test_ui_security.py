"""Issue 13 items 6 and 7 against the real api-server: no stored XSS through Data Docs (headless
Chromium, no alert fires), no unauthenticated API docs, no Host-header redirect, security headers
on every plugin response, a per-user Data Docs index, and ``%00`` a 404."""

from __future__ import annotations

import tempfile
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from guard_server import APP, IMG_COLUMN, SCRIPT_VALUE, guard_server, validation_pages

pytestmark = [pytest.mark.hardening, pytest.mark.integration, pytest.mark.ui]
__all__ = ["guard_server"]  # the fixture, used by name


@pytest.mark.parametrize("path", ["/openapi.json", "/docs", "/redoc", "/docs/oauth2-redirect"])
def test_api_docs_are_not_served(guard_server, path: str) -> None:
    anonymous = httpx.get(f"{guard_server.url}{APP}{path}", follow_redirects=False)
    assert anonymous.status_code in (303, 401, 404)
    assert "openapi" not in anonymous.text.lower() and "swagger" not in anonymous.text.lower()
    logged_in = httpx.get(f"{guard_server.url}{APP}{path}", cookies={"_token": guard_server.token()})
    assert logged_in.status_code == 404


def test_the_login_redirect_never_uses_the_host_header(guard_server) -> None:
    response = httpx.get(
        f"{guard_server.url}{APP}/models/hostile_feed?x=1", headers={"Host": "evil.example"}, follow_redirects=False
    )
    assert response.status_code == 303
    (next_url,) = parse_qs(urlsplit(response.headers["location"]).query)["next"]
    assert "evil.example" not in response.headers["location"]
    assert next_url.startswith("/") and not next_url.startswith("//")
    assert next_url.endswith(f"{APP}/models/hostile_feed?x=1")


def test_every_plugin_response_carries_the_security_headers(guard_server) -> None:
    cookies = {"_token": guard_server.token()}
    page = validation_pages(guard_server)[0]
    responses = {
        "anonymous page": httpx.get(f"{guard_server.url}{APP}/", follow_redirects=False),
        "anonymous api": httpx.get(f"{guard_server.url}{APP}/api/fleet"),
        "fleet": httpx.get(f"{guard_server.url}{APP}/", cookies=cookies),
        "api": httpx.get(f"{guard_server.url}{APP}/api/fleet", cookies=cookies),
        "static": httpx.get(f"{guard_server.url}{APP}/static/health.js", cookies=cookies),
        "missing": httpx.get(f"{guard_server.url}{APP}/api/models/nope", cookies=cookies),
        "data docs": httpx.get(f"{guard_server.url}{APP}/data-docs/{page}", cookies=cookies),
    }
    assert responses["fleet"].status_code == 200 and responses["data docs"].status_code == 200
    for name, response in responses.items():
        headers = response.headers
        assert headers.get("x-content-type-options") == "nosniff", name
        assert headers.get("x-frame-options") == "SAMEORIGIN", name
        assert headers.get("referrer-policy") == "same-origin", name
        csp = headers.get("content-security-policy", "")
        assert "frame-ancestors 'self'" in csp and "default-src 'none'" in csp, name
    docs_csp = responses["data docs"].headers["content-security-policy"]
    assert "script-src 'self';" in docs_csp and "unsafe-inline" not in docs_csp.split("style-src")[0]
    assert "unsafe-eval" not in docs_csp


def test_a_nul_byte_in_a_data_docs_path_is_a_404(guard_server) -> None:
    cookies = {"_token": guard_server.token()}
    for path in ("/data-docs/index%00.html", "/data-docs/validations/%00/x.html", "/static/%00"):
        response = httpx.get(f"{guard_server.url}{APP}{path}", cookies=cookies)
        assert response.status_code == 404, (path, response.status_code)


def test_the_data_docs_index_lists_only_validations_the_user_may_read(guard_server) -> None:
    root = guard_server.home / "gapwatch" / "data_docs"
    # A validation of a suite no monitor the user can read uses (e.g. another team's, or a
    # removed monitor's), and GX's own index, which lists everything.
    orphan = root / "validations" / "other_team_suite" / "w1" / "r1" / "other_team.html"
    orphan.parent.mkdir(parents=True)
    orphan.write_text("<h1>another team's data</h1>")
    (root / "index.html").write_text("<h1>GX index of every validation</h1>")
    cookies = {"_token": guard_server.token()}

    for path in ("/data-docs/", "/data-docs/index.html"):
        index = httpx.get(f"{guard_server.url}{APP}{path}", cookies=cookies)
        assert index.status_code == 200
        assert "GX index of every validation" not in index.text
        assert "other_team" not in index.text
        for page in validation_pages(guard_server):
            if "hostile" in page:
                assert f'href="{page}"' in index.text
    assert httpx.get(f"{guard_server.url}{APP}/data-docs/{orphan.relative_to(root)}", cookies=cookies).status_code == 404


def test_hostile_values_and_column_names_run_no_script_in_the_browser(guard_server) -> None:
    from selenium import webdriver
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    pages = [p for p in validation_pages(guard_server) if "hostile" in p]
    assert pages, "the window run built no Data Docs page"
    raw = httpx.get(f"{guard_server.url}{APP}/data-docs/{pages[0]}", cookies={"_token": guard_server.token()}).text
    # The payloads are on the page (as GX renders them): the browser is what must not run them.
    assert "alert(" in raw and ("region" in raw) and ("onerror" in raw)

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", f"--user-data-dir={tempfile.mkdtemp(prefix='gw-guard-')}"):
        options.add_argument(flag)
    options.set_capability("unhandledPromptBehavior", "ignore")
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        driver.get(f"{guard_server.url}/api/v2/monitor/health")
        driver.add_cookie({"name": "_token", "value": guard_server.token(), "path": "/"})
        for page in pages:
            driver.get(f"{guard_server.url}{APP}/data-docs/{page}")
            try:
                WebDriverWait(driver, 3).until(ec.alert_is_present())
            except TimeoutException:
                pass
            else:
                text = driver.switch_to.alert.text
                driver.switch_to.alert.accept()
                pytest.fail(f"a script from the data ran on {page}: alert({text!r})")
            source = driver.page_source
            assert "region" in source and "alert" in source  # the page really shows the payloads
    finally:
        driver.quit()
    assert SCRIPT_VALUE and IMG_COLUMN  # the payloads the source holds (see guard_server)


def test_model_health_charts_still_draw_under_the_csp(guard_server) -> None:
    """The pages' CSP allows the plugin's own scripts and Vega's compiler: the charts render."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", f"--user-data-dir={tempfile.mkdtemp(prefix='gw-guard-')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        driver.get(f"{guard_server.url}/api/v2/monitor/health")
        driver.add_cookie({"name": "_token", "value": guard_server.token(), "path": "/"})
        driver.get(f"{guard_server.url}{APP}/models/hostile_feed")
        chart = WebDriverWait(driver, 60).until(ec.presence_of_element_located(
            (By.CSS_SELECTOR, "#readiness-history[data-rendered]")))
        assert chart.get_attribute("data-rendered") == "true", chart.text
        assert chart.find_elements(By.TAG_NAME, "svg")
        violations = [e for e in driver.get_log("browser") if "Content Security Policy" in e.get("message", "")]
        assert not violations, violations
    finally:
        driver.quit()
