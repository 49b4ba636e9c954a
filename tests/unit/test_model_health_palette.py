"""Every run status and every kind has a colour and a label in Model Health, and a drifting run is
shown as drifting: checked on the read model, the charts and the page templates, without a browser."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jinja2
import pytest

from gapwatch.catalog import FleetStatus, Kind, RunStatus, Severity
from gapwatch.health import charts, palette
from gapwatch.health import model as health
from gapwatch.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "plugins" / "gapwatch_health" / "templates"


def _render(template: str, **context: Any) -> str:
    """A page as the plugin renders it (same templates, same globals), without Airflow."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    env.globals.update(palette.template_globals())
    return env.get_template(template).render(request=SimpleNamespace(scope={}), ui_root="/", user=None, **context)


def _scales(spec: Any) -> list[dict[str, Any]]:
    """Every colour scale with an explicit domain in a Vega-Lite spec."""
    found = []
    if isinstance(spec, dict):
        scale = spec.get("color", {}).get("scale") if isinstance(spec.get("color"), dict) else None
        if scale and "domain" in scale:
            found.append(scale)
        for value in spec.values():
            found += _scales(value)
    elif isinstance(spec, list):
        for value in spec:
            found += _scales(value)
    return found


def _fleet_row(status: FleetStatus, **extra: Any) -> dict[str, Any]:
    return {"model": "m", "version": "1", "task": "binary_classification", "dag_id": "gapwatch__m", "owners": {},
            "status": status, "status_label": palette.STATUS_LABELS[status], "status_reason": "why",
            "open_incidents": [], "last_run": None, "main_metric": "roc_auc", "trend": [], **extra}


@pytest.mark.parametrize("run_status", list(RunStatus))
def test_every_run_status_has_a_label_a_badge_and_a_colour(run_status: RunStatus) -> None:
    shown = palette.fleet_status(run_status)
    assert shown is not FleetStatus.MONITOR_BROKEN  # a status the pipeline writes is never "broken"
    label = palette.STATUS_LABELS[shown]
    assert label.strip()
    assert palette.RUN_STATUS_COLOURS[run_status].startswith("#")

    spark = charts.sparkline([{"window": "2026-01-05T00:00:00+00:00", "value": 0.8, "status": str(run_status)}])
    (scale,) = _scales(spark)
    assert scale["range"][scale["domain"].index(run_status)] == palette.RUN_STATUS_COLOURS[run_status]

    background, text = palette.BADGES[shown]
    page = _render("fleet.html", models=[_fleet_row(shown)], sparklines={})
    assert f".status-{shown} {{ background: {background}; color: {text}; }}" in page
    assert f'<span class="status status-{shown}">{label}</span>' in page


def test_every_fleet_status_and_severity_is_styled_on_every_page() -> None:
    page = _render("fleet.html", models=[], sparklines={})
    for status in FleetStatus:
        assert f".status-{status} {{" in page
    for severity in Severity:
        assert f".sev-{severity} {{ color: {palette.SEVERITY_COLOURS[severity]};" in page


@pytest.mark.parametrize("kind", list(Kind))
def test_every_kind_has_a_label_and_a_colour_on_the_incident_timeline(kind: Kind) -> None:
    incident = {"id": 7, "kind": str(kind), "title": "t", "status": "open",
                "opened_window": "2026-02-02T00:00:00+00:00", "resolved_window": None,
                "last_breach_window": "2026-02-09T00:00:00+00:00"}
    spec = charts.incident_timeline([incident], "2026-02-09T00:00:00+00:00")
    (scale,) = _scales(spec)
    assert scale["domain"] == [str(k) for k in Kind]  # the legend knows every kind, not just these
    assert scale["range"][scale["domain"].index(kind)] == palette.KIND_COLOURS[kind]
    values = spec["data"]["values"] if "data" in spec else next(iter(spec["datasets"].values()))
    assert values[0]["label"] == f"#7 {palette.KIND_LABELS[kind]}"

    page = _render("fleet.html", sparklines={}, models=[_fleet_row(
        FleetStatus.DEGRADED, open_incidents=[{"id": 7, "kind": kind, "kind_label": palette.KIND_LABELS[kind],
                                               "severity": "critical", "status": "open", "title": "t"}])])
    assert f"#7 {palette.KIND_LABELS[kind]}</span>" in page


def test_a_drifting_run_is_shown_as_drifting() -> None:
    spec = load_spec(ROOT / "include" / "monitors" / "credit_default.yml")
    latest = {"status": RunStatus.DRIFTING.value, "main_metric": "roc_auc", "main_value": 0.81, "labeled": 2500,
              "pending": 400, "airflow_run_id": None,
              "summary": {"drift": {"status": "drift", "drifted": [{"column": "utilization"}, {"column": "income"}]}}}
    status, why = health._status(spec, latest, None)
    assert status is FleetStatus.DRIFTING and why == "drift in utilization, income"

    page = _render("fleet.html", models=[_fleet_row(status, status_reason=why)], sparklines={})
    assert 'data-status="drifting"' in page
    assert '<span class="status status-drifting">drifting</span>' in page and "drift in utilization, income" in page
    run = health._run_row({**latest, "window_start": None, "window_end": None, "readiness": "ready",
                           "performance": "ok", "drift": "drift", "rows": 3000, "updated_at": None}, "gapwatch__m")
    assert run["fleet_status"] is FleetStatus.DRIFTING
    # Drift within a segment only: the reason names the column and the segment.
    segment_only = {**latest, "summary": {"drift": {"status": "drift", "drifted": [], "segments": {
        "drifted": [{"segment": "region=north", "column": "income", "rows": 900, "severity": 2.0}]}}}}
    assert health._status(spec, segment_only, None)[1] == "drift in income (region=north)"


def test_a_not_ready_run_shows_the_data_not_ready_badge_and_an_unknown_one_a_broken_monitor() -> None:
    assert palette.fleet_status("not_ready") is FleetStatus.DATA_NOT_READY
    assert palette.fleet_status("exploded") is FleetStatus.MONITOR_BROKEN
    assert palette.fleet_status("no_runs") is FleetStatus.MONITOR_BROKEN  # a fleet word, never a run's


def test_the_fleet_shows_who_acknowledged_or_snoozed_and_filters_by_every_status() -> None:
    incidents = [{"id": 7, "kind": "performance", "kind_label": "performance", "severity": "critical",
                  "status": "acknowledged", "title": "t", "acknowledged_by": "ravi.menon", "snoozed_until": None},
                 {"id": 8, "kind": "drift", "kind_label": "drift", "severity": "warning", "status": "open",
                  "title": "t", "acknowledged_by": None, "snoozed_until": "2026-01-05T10:00:00+00:00"}]
    page = _render("fleet.html", sparklines={}, counts=[{"status": "degraded", "label": "degraded", "n": 1}],
                   models=[_fleet_row(FleetStatus.DEGRADED, open_incidents=incidents)])
    assert '<span class="muted ack-by">acknowledged by ravi.menon</span>' in page
    assert '<span class="muted snoozed">snoozed until 2026-01-05 10:00 UTC</span>' in page
    assert 'data-count="degraded">1 degraded</span>' in page
    for status, label in palette.STATUS_LABELS.items():
        assert f'<option value="{status}">{label}</option>' in page
