"""The Model Health page in a real Airflow api-server: refused without a login, and in headless
Chromium, after logging in, the degraded demo model flagged with its trend chart drawn."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from urllib.parse import urljoin

import httpx
import jwt
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.ui]

ROOT = Path(__file__).resolve().parents[2]
# Screenshots go to a scratch folder so `make test` leaves the tree clean; `make screenshots`
# points this at docs/ to refresh the ones the README shows.
DOCS = Path(os.environ.get("GAPWATCH_SCREENSHOT_DIR") or tempfile.mkdtemp(prefix="gapwatch-shots-"))
APP = "/gapwatch/health"


def _token(server) -> str:
    response = httpx.post(f"{server.url}/auth/token",
                          json={"username": server.username, "password": server.password})
    assert response.status_code == 201, response.text
    return response.json()["access_token"]


@pytest.mark.parametrize(
    "path", ["/", "/models/credit_default", "/api/fleet", "/api/models/credit_default",
             "/api/models/credit_default/charts", "/static/vendor/vega.min.js", "/data-docs/gapwatch.db"]
)
def test_every_route_refuses_anonymous_callers(airflow_server, path: str) -> None:
    response = httpx.get(f"{airflow_server.url}{APP}{path}", follow_redirects=False)
    if path.startswith(("/api/", "/static/")):
        assert response.status_code == 401
        assert "credit_default" not in response.text
    else:  # a page sends the browser to Airflow's login, and back here afterwards
        assert response.status_code == 303
        login = urljoin(airflow_server.url, response.headers["location"])
        assert login.startswith(f"{airflow_server.url}/auth/login?next=")
        assert "gapwatch%2Fhealth" in login


def test_forged_or_stolen_looking_tokens_are_refused(airflow_server) -> None:
    forged = jwt.encode({"sub": "admin", "role": "ADMIN"}, "not-the-secret-" * 5, algorithm="HS512")
    for headers, cookies in (({"Authorization": f"Bearer {forged}"}, {}), ({}, {"_token": forged})):
        response = httpx.get(f"{airflow_server.url}{APP}/api/fleet", headers=headers, cookies=cookies)
        assert response.status_code in (401, 403)
        assert "credit_default" not in response.text


def test_json_api_serves_the_fleet_and_a_model(airflow_server) -> None:
    headers = {"Authorization": f"Bearer {_token(airflow_server)}"}
    fleet = httpx.get(f"{airflow_server.url}{APP}/api/fleet", headers=headers).json()["models"]
    status = {m["model"]: m["status"] for m in fleet}
    assert status == {"credit_default": "degraded", "delivery_eta": "healthy"}
    model = httpx.get(f"{airflow_server.url}{APP}/api/models/credit_default", headers=headers).json()
    assert sorted(i["kind"] for i in model["incidents"]) == [
        "adoption", "adoption", "data", "drift", "estimate", "performance", "performance", "performance"]
    assert [t["kind"] for t in model["tickets"]] == ["adoption", "retrain"]
    assert len(model["runs"]) == 12 and all(r["airflow_run_id"] for r in model["runs"])
    # The links on the page point at DAG runs Airflow really has.
    run = model["runs"][-1]
    dag_run = httpx.get(
        f"{airflow_server.url}/api/v2/dags/gapwatch__credit_default/dagRuns/{run['airflow_run_id']}",
        headers=headers,
    )
    assert dag_run.status_code == 200 and dag_run.json()["state"] == "success"
    missing = httpx.get(f"{airflow_server.url}{APP}/api/models/nope", headers=headers)
    assert missing.status_code == 404


def test_the_demo_runs_keep_their_task_logs(airflow_server) -> None:
    """The run a message links to has its task logs in Airflow (dag.test() writes none itself)."""
    headers = {"Authorization": f"Bearer {_token(airflow_server)}", "Accept": "application/json"}
    model = httpx.get(f"{airflow_server.url}{APP}/api/models/credit_default", headers=headers).json()
    run_id, status = model["runs"][-1]["airflow_run_id"], model["runs"][-1]["status"]
    response = httpx.get(f"{airflow_server.url}/api/v2/dags/gapwatch__credit_default/dagRuns/{run_id}"
                         "/taskInstances/publish/logs/1", headers=headers)
    assert response.status_code == 200, response.text
    events = [line.get("event", "") for line in response.json()["content"]]
    returned = f"Done. Returned value was: {{'status': <RunStatus.{status.upper()}: '{status}'>"
    assert any(e.startswith(returned) for e in events), events


def test_pages_with_the_ui_cookie_dag_tab_and_data_docs(airflow_server) -> None:
    cookies = {"_token": _token(airflow_server)}
    get = lambda path: httpx.get(f"{airflow_server.url}{APP}{path}", cookies=cookies)  # noqa: E731
    tab = get("/dags/gapwatch__credit_default")  # the Model Health tab on the DAG's page
    assert tab.status_code == 200 and 'id="model-status">degraded<' in tab.text
    assert "dags/gapwatch__credit_default/runs/" in tab.text
    # Opened on another DAG, the tab does not pretend it is a monitor: the fleet, with a notice.
    other = get("/dags/gapwatch_operations")
    assert other.status_code == 303 and other.headers["location"] == f"{APP}/?not_a_monitor=gapwatch_operations"
    fleet = httpx.get(f"{airflow_server.url}{other.headers['location']}", cookies=cookies).text
    assert "gapwatch_operations is not a gapwatch monitor" in fleet and 'data-model="credit_default"' in fleet
    assert 'id="model-status"' not in fleet
    hostile = httpx.get(f"{airflow_server.url}{APP}/dags/<img src=x onerror=alert(1)>", cookies=cookies,
                        follow_redirects=True)
    assert hostile.status_code == 200 and "not a gapwatch monitor" in hostile.text  # reflected, but escaped
    assert "<img" not in hostile.text and "&lt;img" in hostile.text
    docs = airflow_server.home / "gapwatch" / "data_docs" / "index.html"
    docs.parent.mkdir(parents=True, exist_ok=True)
    docs.write_text("<h1>suite results</h1>")
    index = get("/data-docs/index.html").text  # gapwatch's list, filtered per user (issue 13 item 7)
    assert "<h1>suite results</h1>" not in index and "Readiness validations" in index
    page = docs.parent / "validations" / "credit_default_inputs" / "w" / "r" / "credit_default.html"
    page.parent.mkdir(parents=True)
    page.write_text("<h1>window results</h1>")
    assert get("/data-docs/validations/credit_default_inputs/w/r/credit_default.html").status_code == 200
    assert get("/data-docs/..%2F..%2Fpasswords.json").status_code == 404  # nothing outside the site
    assert get("/data-docs/..%2Fgapwatch.db").status_code == 404  # nor the rest of GAPWATCH_HOME


def test_a_menu_entry_that_fits_and_a_tab_scoped_to_monitor_dags(airflow_server) -> None:
    """The nav entry is short enough for the 64 px sidebar; the DAG tab comes with the app that
    hides it on DAGs that are not monitors (Airflow 3.3 would show it on gapwatch_operations)."""
    headers = {"Authorization": f"Bearer {_token(airflow_server)}"}
    plugins = httpx.get(f"{airflow_server.url}/api/v2/plugins", headers=headers).json()["plugins"]
    plugin = next(p for p in plugins if p["name"] == "gapwatch_health")
    views = [(v["name"], v["destination"], v["url_route"]) for v in plugin["external_views"]]
    assert views == [("Health", "nav", "model-health"), ("Model Health", "dag", "model-health-tab")]
    assert [(a["destination"], a["bundle_url"]) for a in plugin["react_apps"]] == [
        ("base", "gapwatch/health/static/tab-scope.js")]
    script = httpx.get(f"{airflow_server.url}{APP}/static/tab-scope.js", headers=headers)
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert "/plugin/model-health-tab" in script.text and "gapwatch__" in script.text
    dag = httpx.get(f"{airflow_server.url}/api/v2/dags/gapwatch__credit_default/details", headers=headers).json()
    assert "/gapwatch/health/models/credit_default" in dag["doc_md"]  # the monitor's docs link its page


def test_fleet_counts_and_controls_and_a_model_time_range(airflow_server) -> None:
    cookies = {"_token": _token(airflow_server)}
    fleet = httpx.get(f"{airflow_server.url}{APP}/", cookies=cookies).text
    assert 'data-count="degraded">1 degraded<' in fleet and 'data-count="healthy">1 healthy<' in fleet
    assert 'id="fleet-search"' in fleet and 'id="fleet-status"' in fleet and 'id="fleet-sort"' in fleet
    page = httpx.get(f"{airflow_server.url}{APP}/models/credit_default?since=2026-02-16", cookies=cookies)
    assert page.status_code == 200 and 'value="2026-02-16"' in page.text and 'id="segment-trend"' in page.text
    headers = {"Authorization": f"Bearer {_token(airflow_server)}"}
    model = httpx.get(f"{airflow_server.url}{APP}/api/models/credit_default?since=2026-02-16", headers=headers).json()
    assert model["runs"] and all(r["window_start"] >= "2026-02-16" for r in model["runs"])
    assert all(m["window"] >= "2026-02-16" for m in model["metrics"])
    bad = httpx.get(f"{airflow_server.url}{APP}/api/models/credit_default?since=someday", headers=headers)
    assert bad.status_code == 422 and "cannot read 'someday' as a date" in bad.text


def test_a_silent_monitor_is_flagged_stale(airflow_server) -> None:
    import sqlalchemy as sa

    headers = {"Authorization": f"Bearer {_token(airflow_server)}"}
    engine = sa.create_engine(f"sqlite:///{airflow_server.home / 'gapwatch' / 'gapwatch.db'}")
    runs = sa.table("runs", sa.column("monitor"), sa.column("updated_at"))
    with engine.begin() as conn:
        kept = conn.execute(sa.select(runs.c.updated_at).where(runs.c.monitor == "delivery_eta")).scalars().all()
        conn.execute(runs.update().where(runs.c.monitor == "delivery_eta").values(
            updated_at=sa.func.datetime("now", "-30 days")))
    try:
        fleet = httpx.get(f"{airflow_server.url}{APP}/api/fleet", headers=headers).json()["models"]
        assert [(m["model"], m["status"]) for m in fleet] == [("delivery_eta", "stale"), ("credit_default", "degraded")]
        assert "no run since" in fleet[0]["status_reason"]
        page = httpx.get(f"{airflow_server.url}{APP}/", cookies={"_token": _token(airflow_server)}).text
        assert 'data-model="delivery_eta" data-status="stale"' in page and "stale (not running)" in page
    finally:
        with engine.begin() as conn:
            conn.execute(runs.update().where(runs.c.monitor == "delivery_eta").values(updated_at=sa.func.datetime("now")))
    assert kept


def test_browser_logs_in_and_sees_the_degraded_model(airflow_server, chromium_paths) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    browser, driver_path = chromium_paths
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1400,1000", f"--user-data-dir={tempfile.mkdtemp(prefix='gw-chromium-')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    wait = WebDriverWait(driver, 60)
    try:
        # The nav entry's page inside the Airflow UI: first Airflow's own login.
        driver.get(f"{airflow_server.url}/plugin/model-health")
        wait.until(ec.presence_of_element_located((By.NAME, "username"))).send_keys(airflow_server.username)
        driver.find_element(By.NAME, "password").send_keys(airflow_server.password)
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()

        wait.until(ec.frame_to_be_available_and_switch_to_it((By.TAG_NAME, "iframe")))
        row = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "tr[data-model=credit_default]")))
        assert row.get_attribute("data-status") == "degraded"
        assert row.find_element(By.CSS_SELECTOR, ".status").text == "degraded"
        healthy = driver.find_element(By.CSS_SELECTOR, "tr[data-model=delivery_eta]")
        assert healthy.get_attribute("data-status") == "healthy"
        wait.until(lambda d: row.find_elements(By.CSS_SELECTOR, "div.sparkline[data-rendered=true] svg"))
        # Search narrows the table; clearing it brings every row back.
        driver.find_element(By.ID, "fleet-search").send_keys("delivery")
        assert not row.is_displayed() and healthy.is_displayed()
        driver.find_element(By.ID, "fleet-search").clear()
        driver.execute_script("document.getElementById('fleet-search').dispatchEvent(new Event('input'))")
        assert row.is_displayed()
        driver.switch_to.default_content()
        DOCS.mkdir(exist_ok=True)
        driver.save_screenshot(str(DOCS / "model-health-fleet.png"))

        # One click to the model: the trend chart drawn, with the breaching windows in red.
        driver.switch_to.frame(driver.find_element(By.TAG_NAME, "iframe"))
        row = driver.find_element(By.CSS_SELECTOR, "tr[data-model=credit_default]")
        row.find_element(By.LINK_TEXT, "credit_default").click()
        chart = wait.until(ec.presence_of_element_located(
            (By.CSS_SELECTOR, "#trend-roc_auc[data-rendered=true] svg")))
        points = chart.find_elements(By.CSS_SELECTOR, "g.mark-symbol path")
        assert len(points) >= 8
        breaches = [p for p in points if (p.get_attribute("fill") or "").lower() == "#c53030"]
        assert len(breaches) >= 3
        assert chart.find_elements(By.CSS_SELECTOR, "g.mark-area path")  # the uncertainty band
        # The label-free estimate on the same chart: its own (orange) line next to the realized one.
        strokes = {(p.get_attribute("stroke") or "").lower() for p in chart.find_elements(By.CSS_SELECTOR, "g.mark-line path")}
        assert {"#2b6cb0", "#dd6b20"} <= strokes, strokes
        assert driver.find_element(By.ID, "model-status").text == "degraded"
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#drift-heatmap[data-rendered=true] svg"))
        # Every script and chart came from this server (no CDN: the UI works offline).
        resources = driver.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)")
        assert resources and all(r.startswith(airflow_server.url) for r in resources), resources
        driver.switch_to.default_content()
        driver.save_screenshot(str(DOCS / "model-health.png"))
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"
                  and APP in e.get("message", "")]
        assert not errors, errors
        _acknowledge_in_the_browser(airflow_server, driver, wait)
    finally:
        driver.quit()


def _acknowledge_in_the_browser(airflow_server, driver, wait) -> None:
    """Acknowledge an open incident from its row: the page, the fleet and the audit trail show who."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    driver.switch_to.frame(driver.find_element(By.TAG_NAME, "iframe"))
    row = driver.find_element(By.CSS_SELECTOR, "tr[data-incident][data-status=open]")
    incident = row.get_attribute("data-incident")
    row.find_element(By.CSS_SELECTOR, "form[action$='/acknowledge'] input[name=why]").send_keys("looking into it")
    driver.save_screenshot(str(DOCS / "model-health-before-ack.png"))
    row.find_element(By.CSS_SELECTOR, "button.act-acknowledge").click()
    acked = wait.until(ec.presence_of_element_located(
        (By.CSS_SELECTOR, f"tr[data-incident='{incident}'][data-status=acknowledged]")))
    assert acked.find_element(By.CSS_SELECTOR, ".ack-by").text == "by admin"
    driver.get(f"{airflow_server.url}{APP}/")
    fleet_row = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "tr[data-model=credit_default]")))
    assert "acknowledged by admin" in fleet_row.text
    headers = {"Authorization": f"Bearer {_token(airflow_server)}"}
    model = httpx.get(f"{airflow_server.url}{APP}/api/models/credit_default", headers=headers).json()
    events = next(i for i in model["incidents"] if str(i["id"]) == incident)["events"]
    assert (events[-1]["actor"], events[-1]["action"], events[-1]["detail"]["why"]) == (
        "admin", "acknowledged", "looking into it")
    # A forged form (no CSRF token) from the same login is refused and changes nothing.
    forged = httpx.post(f"{airflow_server.url}{APP}/models/credit_default/incidents/{incident}/resolve",
                        cookies={"_token": _token(airflow_server)}, data={"why": "forged"})
    assert forged.status_code == 403
    assert next(i for i in httpx.get(f"{airflow_server.url}{APP}/api/models/credit_default", headers=headers)
                .json()["incidents"] if str(i["id"]) == incident)["status"] == "acknowledged"


TAB = "a[href$='/plugin/model-health-tab']"


def test_browser_shows_the_model_health_tab_only_on_monitor_dags(airflow_server, chromium_paths) -> None:
    """In Airflow's own DAG pages: the tab on gapwatch__credit_default (one click to the model's
    page), absent on gapwatch_operations; typed in there anyway, the fleet page with a notice."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    browser, driver_path = chromium_paths
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update", "--window-size=1400,1000",
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
                 f"--user-data-dir={tempfile.mkdtemp(prefix='gw-chromium-')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    wait = WebDriverWait(driver, 60)
    scoped = lambda d: d.execute_script(  # noqa: E731 - the tab and the app's style rule both in place
        "return !!document.getElementById('gapwatch-model-health-tab-scope')"
        f" && document.querySelectorAll(\"{TAB}\").length > 0")
    try:
        driver.get(f"{airflow_server.url}/dags/gapwatch_operations")
        wait.until(ec.presence_of_element_located((By.NAME, "username"))).send_keys(airflow_server.username)
        driver.find_element(By.NAME, "password").send_keys(airflow_server.password)
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()

        # gapwatch_operations: Airflow renders the tab (it has no per-DAG option), the rule hides it
        wait.until(scoped)
        assert [t.is_displayed() for t in driver.find_elements(By.CSS_SELECTOR, TAB)] == [False]
        runs_tab = driver.find_element(By.CSS_SELECTOR, "a[href$='/dags/gapwatch_operations/runs']")
        assert runs_tab.is_displayed()  # Airflow's own tabs are untouched
        DOCS.mkdir(exist_ok=True)
        driver.save_screenshot(str(DOCS / "model-health-no-tab-on-operations.png"))

        # a monitor DAG: the tab, with its whole name, one click to the model's page
        driver.get(f"{airflow_server.url}/dags/gapwatch__credit_default")
        wait.until(scoped)
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, TAB).is_displayed())
        tab = driver.find_element(By.CSS_SELECTOR, TAB)
        assert tab.text == "Model Health"
        tab.click()
        wait.until(ec.frame_to_be_available_and_switch_to_it((By.TAG_NAME, "iframe")))
        status = wait.until(ec.presence_of_element_located((By.ID, "model-status")))
        assert status.text == "degraded"
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#trend-roc_auc[data-rendered=true] svg"))
        driver.switch_to.default_content()
        driver.save_screenshot(str(DOCS / "model-health-tab.png"))

        # the tab's address typed in on gapwatch_operations: the fleet, saying why, no model page
        driver.get(f"{airflow_server.url}/dags/gapwatch_operations/plugin/model-health-tab")
        wait.until(ec.frame_to_be_available_and_switch_to_it((By.TAG_NAME, "iframe")))
        notice = wait.until(ec.presence_of_element_located((By.ID, "not-a-monitor")))
        assert notice.text.startswith("gapwatch_operations is not a gapwatch monitor")
        assert driver.find_elements(By.CSS_SELECTOR, "tr[data-model=credit_default]")
        assert not driver.find_elements(By.ID, "model-status")
    finally:
        driver.quit()
