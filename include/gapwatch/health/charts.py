"""Vega-Lite charts of a model's health, built with altair from the rows ``gapwatch.health.model`` returns.

Each function returns a Vega-Lite spec as a plain dict; the page draws it with vega-embed (served
locally, see plugins/gapwatch_health/static/vendor). Kept apart from the Airflow plugin so the
charts can be checked without a web server.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import altair as alt

from gapwatch.catalog import Readiness
from gapwatch.health.palette import (
    KIND_COLOURS,
    KIND_LABELS,
    READINESS_COLOURS,
    READINESS_LABELS,
    RUN_STATUS_COLOURS,
    SERIES_COLOURS,
    SERIES_LABELS,
    VERDICT_COLOURS,
)

WIDTH = 640


def _scale(colours: dict[Any, str]) -> alt.Scale:
    """A colour scale over every member of a palette map, in the enum's order."""
    return alt.Scale(domain=[str(k) for k in colours], range=list(colours.values()))


def _spec(chart: alt.TopLevelMixin) -> dict[str, Any]:
    return chart.to_dict()


def sparkline(trend: list[dict[str, Any]], *, title: str = "") -> dict[str, Any]:
    """The main metric over recent windows, small enough for a table cell."""
    points = [t for t in trend if t.get("value") is not None]
    base = alt.Chart(alt.Data(values=points)).encode(
        x=alt.X("window:T", axis=None),
        y=alt.Y("value:Q", axis=None, scale=alt.Scale(zero=False)),
    )
    line = base.mark_line(color="#4a5568", strokeWidth=1.5)
    dots = base.mark_point(filled=True, size=18).encode(
        color=alt.Color("status:N", scale=_scale(RUN_STATUS_COLOURS), legend=None),
        tooltip=[alt.Tooltip("window:T", format="%Y-%m-%d"), alt.Tooltip("value:Q", format=".3f"), "status:N"],
    )
    return _spec(
        (line + dots)
        .properties(width=140, height=32, title=title)
        .configure_view(strokeWidth=0)
    )


def metric_trend(rows: list[dict[str, Any]], metric: str, *, higher_is_better: bool = True) -> dict[str, Any]:
    """One metric per window with its band (one-sided 95% bounds), the baseline and the threshold."""
    data = [r for r in rows if r["metric"] == metric and r["value"] is not None]
    base = alt.Chart(alt.Data(values=data)).encode(
        x=alt.X("window:T", title="window start", axis=alt.Axis(format="%b %d")),
    )
    band = base.mark_area(opacity=0.25, color="#4299e1").encode(
        y=alt.Y("lower:Q", title=metric, scale=alt.Scale(zero=False)),
        y2="upper:Q",
    )
    value = base.mark_line(color="#2b6cb0", point=False).encode(y="value:Q")
    points = base.mark_point(filled=True, size=60).encode(
        y="value:Q",
        color=alt.Color("status:N", title="status", scale=_scale(VERDICT_COLOURS)),
        tooltip=[
            alt.Tooltip("window:T", format="%Y-%m-%d"),
            alt.Tooltip("value:Q", format=".3f"),
            alt.Tooltip("lower:Q", format=".3f", title="95% lower bound"),
            alt.Tooltip("upper:Q", format=".3f", title="95% upper bound"),
            alt.Tooltip("baseline:Q", format=".3f"),
            alt.Tooltip("threshold:Q", format=".3f"),
            "n:Q",
            "status:N",
        ],
    )
    # A metric without a floor or baseline has no threshold line; filter so Vega sees no nulls.
    threshold = (
        base.mark_line(color="#c53030", strokeDash=[6, 4])
        .encode(y="threshold:Q")
        .transform_filter("isValid(datum.threshold)")
    )
    baseline = (
        base.mark_line(color="#718096", strokeDash=[2, 2])
        .encode(y="baseline:Q")
        .transform_filter("isValid(datum.baseline)")
    )
    side = "below" if higher_is_better else "above"
    return _spec(
        alt.layer(band, baseline, threshold, value, points).properties(
            width=WIDTH,
            height=220,
            title=alt.Title(
                f"{metric} per window",
                subtitle=f"band: one-sided 95% bounds; dashed red: threshold (breach when the band is wholly {side}); "
                "dotted grey: baseline",
            ),
        )
    )


def estimate_vs_realized(
    series: list[dict[str, Any]],
    metric: str,
    *,
    higher_is_better: bool = True,
    reference: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """The main metric realized and estimated per prediction window, on one chart.

    Long: one layer per visual element (reference period, bands, lines, points, threshold,
    inconclusive marks) keeps each readable; splitting them apart would only move the list.

    Both lines with their one-sided 95% bands, the threshold, the reference (baseline) period
    shaded, and a dashed rule where the estimate could not be made (its reason in the tooltip)
    instead of a line drawn through the gap. ``series`` comes from
    :func:`gapwatch.health.series.performance_series`.
    """
    data = [p | {"line": SERIES_LABELS[p["series"]]} for p in series]
    x = alt.X("window:T", title="predictions made in the window starting (window date)",
              axis=alt.Axis(format="%b %d"))
    base = alt.Chart(alt.Data(values=data)).encode(x=x)
    valued = base.transform_filter("isValid(datum.value)")
    line_scale = alt.Scale(domain=[SERIES_LABELS[k] for k in SERIES_COLOURS], range=list(SERIES_COLOURS.values()))
    line_colour = alt.Color("line:N", title="line", scale=line_scale)
    band = valued.mark_area(opacity=0.18).encode(
        y=alt.Y("lower:Q", title=metric, scale=alt.Scale(zero=False)), y2="upper:Q",
        color=alt.Color("line:N", scale=line_scale, legend=None), detail="segment:N",
    )
    lines = valued.mark_line().encode(y="value:Q", color=line_colour, detail="segment:N")
    points = valued.mark_point(filled=True, size=60).encode(
        y="value:Q",
        color=alt.Color("status:N", title="status", scale=_scale(VERDICT_COLOURS)),
        shape=alt.Shape("line:N", title="line", legend=None),
        tooltip=["line:N", alt.Tooltip("window:T", format="%Y-%m-%d", title="predictions of"),
                 alt.Tooltip("judged_in:T", format="%Y-%m-%d", title="judged in run of"),
                 alt.Tooltip("value:Q", format=".3f"), alt.Tooltip("lower:Q", format=".3f"),
                 alt.Tooltip("upper:Q", format=".3f"), alt.Tooltip("threshold:Q", format=".3f"),
                 "n:Q", "status:N"],
    )
    threshold = base.transform_filter("isValid(datum.threshold)").mark_line(
        color="#c53030", strokeDash=[6, 4]).encode(y="mean(threshold):Q")
    gaps = base.transform_filter("!isValid(datum.value)").mark_rule(
        color="#718096", strokeDash=[2, 3], strokeWidth=2).encode(
        tooltip=[alt.Tooltip("window:T", format="%Y-%m-%d", title="no estimate for"), "status:N", "reason:N"])
    layers: list[Any] = [band, lines, threshold, gaps, points]
    if reference:
        shaded = alt.Chart(alt.Data(values=[{"start": reference[0], "end": reference[1]}])).mark_rect(
            color="#718096", opacity=0.12).encode(
            x="start:T", x2="end:T", tooltip=[alt.Tooltip("start:T", format="%Y-%m-%d", title="reference from"),
                                              alt.Tooltip("end:T", format="%Y-%m-%d", title="to")])
        layers.insert(0, shaded)
    side = "below" if higher_is_better else "above"
    return _spec(
        alt.layer(*layers).resolve_scale(color="independent").properties(
            width=WIDTH, height=240,
            title=alt.Title(
                f"{metric}: realized and estimated",
                subtitle=[f"bands: one-sided 95% bounds; dashed red: threshold (breach when a band is wholly {side}); "
                          "grey area: reference period", "dashed grey rule: no estimate (hover for why)"],
            ),
        )
    )


def segment_trend(rows: list[dict[str, Any]], metric: str) -> dict[str, Any]:
    """``metric`` per segment per window: which segment moved first (from ``series.segment_rows``)."""
    base = alt.Chart(alt.Data(values=rows)).encode(
        x=alt.X("window:T", title="window start (window date)", axis=alt.Axis(format="%b %d")),
        y=alt.Y("value:Q", title=metric, scale=alt.Scale(zero=False)),
        color=alt.Color("segment:N", title="segment"),
    )
    return _spec(
        (base.mark_line() + base.mark_point(filled=True, size=30).encode(
            tooltip=["segment:N", alt.Tooltip("window:T", format="%Y-%m-%d"),
                     alt.Tooltip("value:Q", format=".3f"), "n:Q", "status:N"]))
        .properties(width=WIDTH, height=200, title=alt.Title(f"{metric} per segment",
                                                             subtitle="realized on matured labels, per window"))
    )


def drift_heatmap(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Feature x window, coloured by how far the worst drift statistic is past its threshold."""
    worst: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        if r["ratio"] is None:
            continue
        key = (r["window"], r["column"])
        cell = worst.setdefault(key, {"window": r["window"], "column": r["column"], "ratio": 0.0,
                                      "drifted": False})
        cell[r["method"]] = r["value"]
        cell["ratio"] = max(cell["ratio"], r["ratio"])
        cell["drifted"] = cell["drifted"] or r["drifted"]
    methods = sorted({r["method"] for r in rows})
    data = list(worst.values())
    base = alt.Chart(alt.Data(values=data)).encode(
        x=alt.X("window:O", title="window start", timeUnit="yearmonthdate",
                axis=alt.Axis(format="%b %d", labelAngle=-45)),
        y=alt.Y("column:N", title=None),
    )
    cells = base.mark_rect().encode(
        color=alt.Color(
            "ratio:Q",
            title="× threshold",
            scale=alt.Scale(scheme="orangered", domain=[0, 2], clamp=True),
        ),
        tooltip=["column:N", alt.Tooltip("window:T", format="%Y-%m-%d"), "drifted:N",
                 *[alt.Tooltip(f"{m}:Q", format=".3f") for m in methods],
                 alt.Tooltip("ratio:Q", format=".2f", title="× threshold")],
    )
    marks = base.mark_text(text="●", color="white", fontSize=9).transform_filter("datum.drifted")
    return _spec(
        (cells + marks).properties(
            width=WIDTH,
            height=alt.Step(22),
            title=alt.Title("Drift per feature and window",
                            subtitle=f"worst of {', '.join(methods)} relative to its threshold; ● drifted"),
        )
    )


def readiness_history(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Each window's readiness verdict and how many expectations failed."""
    labels = READINESS_LABELS
    data = [r | {"verdict": labels[Readiness.READY if r["success"] else Readiness.NOT_READY]} for r in rows]
    return _spec(
        alt.Chart(alt.Data(values=data))
        .mark_bar(size=18)
        .encode(
            x=alt.X("window:T", title="window start", axis=alt.Axis(format="%b %d")),
            y=alt.Y("evaluated_rows:Q", title="rows validated"),
            color=alt.Color("verdict:N", scale=alt.Scale(domain=[labels[r] for r in Readiness],
                                                         range=[READINESS_COLOURS[r] for r in Readiness])),
            tooltip=[alt.Tooltip("window:T", format="%Y-%m-%d"), "suite:N", "verdict:N",
                     "evaluated_rows:Q", "critical_failures:Q", "warnings:Q"],
        )
        .properties(width=WIDTH, height=120, title="Readiness (GX suite) per window")
    )


def incident_timeline(incidents: list[dict[str, Any]], last_window: str | None) -> dict[str, Any]:
    """Each incident as a bar from the window that opened it to the one that resolved it (or now)."""
    end_default = (
        (datetime.fromisoformat(last_window) + timedelta(days=7)).isoformat() if last_window else None
    )
    data = [
        {
            "label": f"#{i['id']} {KIND_LABELS.get(i['kind'], i['kind'])}",
            "title": i["title"],
            "kind": i["kind"],
            "status": i["status"],
            "start": i["opened_window"],
            "end": i["resolved_window"] or end_default or i["last_breach_window"],
        }
        for i in incidents
    ]
    return _spec(
        alt.Chart(alt.Data(values=data))
        .mark_bar(cornerRadius=3, height=14)
        .encode(
            x=alt.X("start:T", title="window", axis=alt.Axis(format="%b %d")),
            x2="end:T",
            y=alt.Y("label:N", title=None, sort=None),
            color=alt.Color("kind:N", scale=_scale(KIND_COLOURS)),
            opacity=alt.condition("datum.status == 'resolved'", alt.value(0.45), alt.value(1.0)),
            tooltip=["label:N", "title:N", "status:N", alt.Tooltip("start:T", format="%Y-%m-%d"),
                     alt.Tooltip("end:T", format="%Y-%m-%d")],
        )
        .properties(width=WIDTH, height=alt.Step(24), title="Incidents (faded: resolved)")
    )
