"""Adoption in Model Health, read from a store the real pipeline filled (demo data, both
backends): the fleet's adoption column, the model's Adoption section and outcome trend as Vega-Lite
carrying the stored numbers, and the plugin's pages rendering them."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from gapwatch import store
from gapwatch.airflow.channels import default_senders
from gapwatch.demo.decisions import EAST_LATE_FROM_WINDOW
from gapwatch.demo.seed import window_bounds
from gapwatch.health import adoption as health_adoption
from gapwatch.health import model as health
from gapwatch.health.adoption_charts import adoption_charts
from gapwatch.pipeline import run_window
from gapwatch.spec import load_specs
from gapwatch.window import Window

pytestmark = pytest.mark.integration


def _values(chart: dict) -> list[dict]:
    return chart["data"]["values"] if "data" in chart else next(iter(chart["datasets"].values()))


def test_adoption_in_model_health(demo_env: Path, store_url: str, health_plugin) -> None:
    specs = load_specs()
    for k in range(1, EAST_LATE_FROM_WINDOW + 2):
        run_window(specs.by_name("credit_default"), Window(*window_bounds(k)), senders=default_senders())
    for k in range(1, 3):
        run_window(specs.by_name("delivery_eta"), Window(*window_bounds(k)), senders=default_senders())

    with store.engine().connect() as conn:
        fleet = {r["model"]: r for r in health_adoption.add_to_fleet(conn, health.fleet(conn, specs))}
        credit = health_adoption.add_to_detail(
            conn, health.model_detail(conn, "credit_default", specs), specs.by_name("credit_default"))
        plain = health_adoption.detail(conn, specs.by_name("delivery_eta").model_copy(update={"adoption": None}),
                                       "no_such_model")

    cell = fleet["credit_default"]["adoption"]
    assert cell["status"] == "breach" and cell["breaching_teams"] == ["east"] and cell["coverage"] < 0.8
    assert fleet["delivery_eta"]["adoption"]["status"] == "ok" and fleet["delivery_eta"]["adoption"]["follow_rate"] > 0.9
    assert plain is None  # not monitored for adoption, nothing stored: no section

    section = credit["adoption"]
    assert section["decision_sla_hours"] == 48 and section["value_column"] == "net_value"
    coverage = [r for r in section["rows"] if r["check"] == "coverage" and r["segment"] == "*"]
    assert len(coverage) == EAST_LATE_FROM_WINDOW + 1 and coverage[-1]["status"] == "breach"
    assert coverage[-1]["lower"] < coverage[-1]["value"] < coverage[-1]["upper"]
    east = [r for r in section["rows"] if r["check"] == "coverage" and r["segment"] == "team=east"]
    assert east[-1]["value"] < 0.1 and east[0]["value"] > 0.9

    charts = adoption_charts(section)
    trend = next(c["spec"] for c in charts["trends"] if c["check"] == "coverage")
    assert trend["$schema"].startswith("https://vega.github.io/schema/vega-lite/v6")
    assert [v["value"] for v in _values(trend)] == pytest.approx([100 * r["value"] for r in coverage])  # percent
    hours = next(c["spec"] for c in charts["trends"] if c["check"] == "time_to_action_p50")
    assert 2 < _values(hours)[0]["value"] < 10  # about five hours, in hours
    teams = next(c["spec"] for c in charts["teams"] if c["check"] == "coverage")
    assert {v["team"] for v in _values(teams)} == {"north", "south", "east", "west"}
    assert [c["check"] for c in charts["outcome"]] == ["outcome_sum", "outcome_mean"]

    plugin = health_plugin
    request = SimpleNamespace(scope={"root_path": "/gapwatch/health"})
    page = plugin.templates.get_template("model.html").render(
        request=request, d=credit, charts=plugin._charts(credit), ui_root="/", user=None)
    for expected in ('id="adoption"', 'id="adoption-coverage"', 'id="adoption-team-follow_rate"',
                     'id="outcome"', 'id="outcome-outcome_mean"', "coverage: team east past its limit"):
        assert expected in page, expected
    rows = [fleet["credit_default"], fleet["delivery_eta"]]
    fleet_page = plugin.templates.get_template("fleet.html").render(
        request=request, models=rows, sparklines={}, ui_root="/", user=None)
    assert "<th>Adoption</th>" in fleet_page and "team east past its limit" in fleet_page
