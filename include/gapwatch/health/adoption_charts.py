"""Vega-Lite charts of a model's adoption, from the rows ``gapwatch.health.adoption`` returns.

Each check per window with its band, baseline and threshold (the metric chart of
``gapwatch.health.charts``, in the check's unit: percent or hours), coverage and follow rate per
team, and the business-outcome trend.
"""

from __future__ import annotations

from typing import Any

import altair as alt

from gapwatch.health.adoption import HOURS, OUTCOME_CHECKS, TEAM_CHECKS, TREND_CHECKS
from gapwatch.health.charts import WIDTH, metric_trend
from gapwatch.spec_adoption import CHECKS

TITLES = {
    "coverage": "coverage within the SLA (%)",
    "follow_rate": "follow rate (%)",
    "time_to_action_p50": "median time to action (hours)",
    "time_to_action_p90": "time to action p90 (hours)",
    "override_quality": "overrides: people right minus model right (points)",
    "outcome_sum": "business outcome, total",
    "outcome_mean": "business outcome per decision",
}
_SCALE = {"share": 100.0, "difference": 100.0, "seconds": 1 / HOURS, "value": 1.0}
_SCALED = ("value", "lower", "upper", "baseline", "threshold")


def _in_unit(row: dict[str, Any], title: str) -> dict[str, Any]:
    """A row in the chart's unit, under ``metric`` (the key ``metric_trend`` plots)."""
    scale = _SCALE[row["unit"]]
    return {**row, "metric": title, **{k: row[k] * scale for k in _SCALED if row.get(k) is not None}}


def trend(rows: list[dict[str, Any]], check: str, higher_is_better: bool, title: str | None = None) -> dict[str, Any]:
    """One check's overall value per window, with band, baseline and threshold."""
    name = title or TITLES[check]
    data = [_in_unit(r, name) for r in rows if r["check"] == check and r["segment"] == "*"]
    return metric_trend(data, name, higher_is_better=higher_is_better)


def per_team(rows: list[dict[str, Any]], check: str) -> dict[str, Any]:
    """One line per team (points marked where the team breached its own limit)."""
    data = [_in_unit(r, TITLES[check]) | {"team": r["segment"].split("=", 1)[1]}
            for r in rows if r["check"] == check and r["segment"].startswith("team=") and r["value"] is not None]
    base = alt.Chart(alt.Data(values=data)).encode(
        x=alt.X("window:T", title="window start", axis=alt.Axis(format="%b %d")),
        y=alt.Y("value:Q", title=TITLES[check], scale=alt.Scale(zero=False)),
        color=alt.Color("team:N", title="team"),
    )
    lines = base.mark_line(point=True)
    breaches = base.mark_point(shape="cross", size=140, color="#c53030", strokeWidth=2).transform_filter(
        "datum.status == 'breach'")
    tooltip = base.mark_point(opacity=0).encode(tooltip=[
        "team:N", alt.Tooltip("window:T", format="%Y-%m-%d"), alt.Tooltip("value:Q", format=".1f"),
        alt.Tooltip("baseline:Q", format=".1f"), alt.Tooltip("threshold:Q", format=".1f"), "n:Q", "status:N"])
    return alt.layer(lines, breaches, tooltip).properties(
        width=WIDTH, height=180,
        title=alt.Title(f"{TITLES[check]} per team", subtitle="× : the team is past its own limit"),
    ).to_dict()


def adoption_charts(section: dict[str, Any] | None) -> dict[str, Any] | None:
    """Every chart of the Adoption section, or None without adoption data."""
    if not section or not section["rows"]:
        return None
    rows, higher = section["rows"], section["higher_is_better"]
    present = {r["check"] for r in rows if r["value"] is not None}
    value_column = section.get("value_column") or "value"
    return {
        "trends": [{"check": c, "spec": trend(rows, c, higher[c])} for c in TREND_CHECKS if c in present],
        "teams": [{"check": c, "spec": per_team(rows, c)} for c in TEAM_CHECKS
                  if any(r["check"] == c and r["segment"].startswith("team=") for r in rows)],
        "outcome": [
            {"check": c, "spec": trend(rows, c, higher[c], f"{value_column} {'per decision' if c == 'outcome_mean' else 'in total'}")}
            for c in OUTCOME_CHECKS if c in present
        ],
        "checks": {c: CHECKS[c].description for c in present},
    }
