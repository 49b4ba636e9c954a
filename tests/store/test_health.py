"""What the Model Health page and API show, read from a store the real pipeline filled (demo data,
both backends): the degraded model flagged with its evidence, the healthy one not, broken monitors."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from gapwatch import store
from gapwatch.airflow.channels import default_senders
from gapwatch.demo.seed import FEED_BREAK_WINDOW, SHIFT_FROM_WINDOW, window_bounds
from gapwatch.health import charts as health_charts
from gapwatch.health import model as health
from gapwatch.pipeline import run_window
from gapwatch.readiness.docs import data_docs_link
from gapwatch.spec import load_specs, monitors_dir
from gapwatch.window import Window

pytestmark = pytest.mark.integration


def _fill(windows: range, monitors: tuple[str, ...]) -> None:
    specs = load_specs()
    for k in windows:
        start, end = window_bounds(k)
        for name in monitors:
            spec = specs.by_name(name).model_copy(update={"adoption": None})  # adoption: test_adoption_health
            run_window(spec, Window(start, end), airflow_run_id=f"manual__{name}_{k}", senders=default_senders())


def test_fleet_and_model_detail_from_real_runs(demo_env: Path, store_url: str, health_plugin) -> None:
    _fill(range(1, 11), ("credit_default",))
    _fill(range(1, 3), ("delivery_eta",))

    with store.engine().connect() as conn:
        fleet = health.fleet(conn)
        detail = health.model_detail(conn, "credit_default")
        assert health.model_detail(conn, "no_such_model") is None

    by_model = {r["model"]: r for r in fleet}
    credit, eta = by_model["credit_default"], by_model["delivery_eta"]
    assert [r["model"] for r in fleet] == ["credit_default", "delivery_eta"]  # worst first
    assert credit["status"] == "degraded" and "roc_auc" in credit["status_reason"]
    assert eta["status"] == "healthy" and eta["open_incidents"] == []
    steward = load_specs().by_name("credit_default").owners.data_steward
    assert credit["owners"]["data_steward"] == {"name": steward.name, "email": steward.email,
                                                "slack_channel": steward.slack_channel}
    assert {i["kind"] for i in credit["open_incidents"]} == {"performance", "drift", "estimate"}
    assert credit["last_run"]["window_start"] == window_bounds(10)[0].isoformat()
    assert credit["last_run"]["dag_run_path"] == "dags/gapwatch__credit_default/runs/manual__credit_default_10"
    trend = [t["value"] for t in credit["trend"]]
    # The feed-break window's own cohort (the week before) is healthy data: judged (issue 10);
    # the next window's cohort is the broken data: its value is kept, its verdict inconclusive.
    assert len(trend) == 10 and trend[0] is None and trend[FEED_BREAK_WINDOW - 1] is not None
    assert max(v for v in trend[:SHIFT_FROM_WINDOW - 1] if v) - trend[-1] > 0.08

    assert detail is not None
    roc = [m for m in detail["metrics"] if m["metric"] == "roc_auc"]
    last = roc[-1]
    assert last["status"] == "breach" and last["upper"] < last["threshold"] < last["baseline"]
    assert last["lower"] < last["value"] < last["upper"]
    shifted = window_bounds(SHIFT_FROM_WINDOW)[0].isoformat()
    drifted = {(d["column"], d["window"]) for d in detail["drift"] if d["drifted"]}
    assert ("utilization", shifted) in drifted
    assert not [d for d in detail["drift"] if d["drifted"] and d["window"] < shifted]
    broken = [v for v in detail["readiness"] if not v["success"]]
    assert [v["window"] for v in broken] == [window_bounds(FEED_BREAK_WINDOW)[0].isoformat()]
    assert any("utilization" in f for f in broken[0]["failing"])
    data_incident = next(i for i in detail["incidents"] if i["kind"] == "data")
    assert data_incident["status"] == "resolved"
    assert [e["action"] for e in data_incident["events"]] == ["opened", "auto_resolved"]
    assert detail["spec"]["runbook_url"].startswith("https://")

    # The charts are valid Vega-Lite specs carrying the same numbers.
    trend_chart = health_charts.metric_trend(detail["metrics"], "roc_auc")
    assert trend_chart["$schema"].startswith("https://vega.github.io/schema/vega-lite/v6")
    values = [r["value"] for r in trend_chart["datasets"][next(iter(trend_chart["datasets"]))]] \
        if "datasets" in trend_chart else [r["value"] for r in trend_chart["data"]["values"]]
    assert values == [r["value"] for r in roc]
    from gapwatch.health.series import segment_rows

    with store.engine().connect() as conn:
        segments = segment_rows(conn, "credit_default", "roc_auc")
        recent = segment_rows(conn, "credit_default", "roc_auc", since=window_bounds(8)[0].isoformat())
    assert segments and all(r["segment"] != "*" and r["value"] is not None for r in segments)
    assert recent and {r["window"] for r in recent} < {r["window"] for r in segments}
    assert min(r["window"] for r in recent) >= window_bounds(8)[0].isoformat()
    estimated = [p for p in detail["performance_series"] if p["series"] == "estimate"]
    assert len(estimated) == 10 and [p for p in estimated if p["value"] is None][0]["status"] == "inconclusive"
    assert {p["status"] for p in estimated[-2:]} == {"breach"}  # the early warning, ahead of labels
    heat = health_charts.drift_heatmap(detail["drift"])
    cells = heat["data"]["values"] if "data" in heat else next(iter(heat["datasets"].values()))
    assert {(c["column"], c["window"]) for c in cells if c["drifted"]} == drifted

    # Each region is judged against the same region of the baseline; utilization moved in the
    # whole window too, so no column is listed as moving within a segment alone.
    assert detail["segment_check"]["judged"] == 4 and detail["segment_drift"] == []

    def page(d: dict) -> str:
        return health_plugin.templates.get_template("model.html").render(
            request=SimpleNamespace(scope={"root_path": "/gapwatch/health"}), d=d,
            charts=health_plugin._charts(d), ui_root="/", user=None)

    assert "No column moved within a segment alone (latest window: 4 segment(s) judged)" in page(detail)
    moved = [{"window_start": shifted, "segment": "region=north", "column": "income", "rows": 900,
              "values": {"psi": 0.3141}}]
    shown = page({**detail, "segment_drift": moved})
    assert "<td>region=north</td><td>income</td><td>900</td>" in shown and "psi 0.314" in shown


def test_broken_monitors_are_flagged(demo_env: Path, store_url: str, tmp_path: Path) -> None:
    _fill(range(1, 2), ("delivery_eta",))
    folder = tmp_path / "monitors"
    shutil.copytree(monitors_dir(), folder)
    (folder / "credit_default.yml").write_text("name: credit_default\nversion: 1\n")  # no owners ...
    specs = load_specs(folder)
    failed = health.DagRunState("scheduled__2026-01-19", "failed", window_bounds(2)[1] + timedelta(days=7))

    with store.engine().connect() as conn:
        fleet = {r["model"]: r for r in health.fleet(conn, specs, {"gapwatch__delivery_eta": failed})}
        ok = {r["model"]: r for r in health.fleet(conn, specs)}

    assert fleet["credit_default"]["status"] == "monitor_broken"
    assert "owners" in fleet["credit_default"]["status_reason"]
    assert fleet["delivery_eta"]["status"] == "monitor_broken"
    assert "scheduled__2026-01-19 ended failed" in fleet["delivery_eta"]["status_reason"]
    assert ok["delivery_eta"]["status"] == "healthy"  # without the failed DAG run it is fine


def test_paused_or_silent_monitors_are_stale_and_sorted_worst_first(demo_env: Path, store_url: str) -> None:
    _fill(range(1, 2), ("credit_default", "delivery_eta"))
    in_8_days = store.utcnow() + timedelta(days=8)  # past the next tick of both schedules
    with store.engine().connect() as conn:
        just_paused = health.fleet(conn, paused={"gapwatch__delivery_eta"})
        paused = health.fleet(conn, paused={"gapwatch__delivery_eta"}, now=in_8_days)
        later = health.fleet(conn, now=store.utcnow() + timedelta(days=30))
    assert "stale" not in {r["status"] for r in just_paused}  # paused just after its run: nothing missed yet
    assert [(r["model"], r["status"]) for r in paused] == [("delivery_eta", "stale"),
                                                           ("credit_default", "no_data")]  # window 1: no cohort yet
    assert paused[0]["status_label"] == "stale (not running)" and "is paused" in paused[0]["status_reason"]
    assert {r["status"] for r in later} == {"stale"}  # a month without a run of weekly/daily monitors
    assert all("no run since" in r["status_reason"] for r in later)


def test_data_docs_links_stay_inside_the_data_docs_site(gapwatch_home: Path, monkeypatch) -> None:
    site = gapwatch_home / "data_docs" / "credit_default" / "index.html"
    assert data_docs_link(str(site)) == "data-docs/credit_default/index.html"
    assert data_docs_link(f"file://{site}") == "data-docs/credit_default/index.html"
    assert data_docs_link("data_docs/x.html") == "data-docs/x.html"
    assert data_docs_link(str(gapwatch_home / "gapwatch.db")) is None  # the store is not docs
    assert data_docs_link("https://docs.example.com/run/1") == "https://docs.example.com/run/1"
    assert data_docs_link("/etc/passwd") is None
    assert data_docs_link("../../etc/passwd") is None
    assert data_docs_link(None) is None
    # messages get the same page as a full address under the Airflow UI, nothing else
    monkeypatch.setenv("GAPWATCH_AIRFLOW_URL", "https://airflow.example.com/")
    assert data_docs_link(f"file://{site}", absolute=True) == (
        "https://airflow.example.com/gapwatch/health/data-docs/credit_default/index.html"
    )
    assert data_docs_link("/etc/passwd", absolute=True) is None
    assert data_docs_link("https://docs.example.com/run/1", absolute=True) == "https://docs.example.com/run/1"


def test_an_at_risk_run_is_shown_as_at_risk_not_as_a_broken_monitor() -> None:
    latest = {
        "status": "at_risk", "main_metric": "roc_auc", "main_value": 0.81, "labeled": 2500, "pending": 400,
        "airflow_run_id": None,
        "summary": {"performance": {"estimate": {"status": "breach", "metric": "roc_auc",
                                                 "row": {"value": 0.699, "estimated": True}}}},
    }
    spec = load_specs().by_name("credit_default")
    status, why = health._status(spec, latest, None)
    assert status == "at_risk"
    assert "estimated roc_auc 0.699" in why and "no labels yet" in why
