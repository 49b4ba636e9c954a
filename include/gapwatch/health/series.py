"""The main metric as realized (on matured labels) and as estimated (without labels), per window of
predictions, so the page can draw them together (NannyML-style) from the stored runs.

A run of window W judges the realized metric on an older cohort (the predictions whose labels have
matured, ``cohort_start``) and estimates the metric on W's own predictions. Plotting both against
the window the predictions were made in puts the estimate where the realized value will land once
labels arrive: the early warning is visible as the orange line running ahead of the blue one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gapwatch import store
from gapwatch.catalog import BREACH_Z, Kind, Verdict


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return store.as_utc(value).isoformat()
    return datetime.fromisoformat(str(value)).isoformat()


def banded(r: dict[str, Any]) -> dict[str, Any]:
    """A stored value (metric or adoption check) as a chart point: its window, value and standard
    error, the breach band ``value +- BREACH_Z x stderr`` (None without an error), the baseline,
    threshold, rows and status."""
    band = BREACH_Z * r["stderr"] if r["value"] is not None and r["stderr"] is not None else None
    return {
        "window": r["window_start"].isoformat() if r["window_start"] is not None else None,
        "value": r["value"],
        "stderr": r["stderr"],
        "lower": r["value"] - band if band is not None else None,
        "upper": r["value"] + band if band is not None else None,
        "baseline": r["baseline"],
        "threshold": r["threshold"],
        "n": r["n"],
        "status": r["status"],
    }


def _point(kind: Kind, window: str | None, judged_in: str | None, row: dict[str, Any]) -> dict[str, Any]:
    interval = row.get("interval") or [None, None]
    return {
        "window": window,
        "judged_in": judged_in,
        "series": kind,
        "value": row.get("value"),
        "lower": interval[0],
        "upper": interval[1],
        "threshold": row.get("threshold"),
        "n": row.get("n"),
        "status": row.get("status"),
        "reason": None,
    }


def performance_series(runs: list[dict[str, Any]], metric: str) -> list[dict[str, Any]]:
    """Realized and estimated values of ``metric`` per prediction window, oldest first.

    Args:
        runs: Stored ``runs`` rows (with ``summary``), any order.
        metric: The metric to follow (the main metric; the estimate only exists for one).

    Returns:
        Points ``{window, judged_in, series (Kind.PERFORMANCE | Kind.ESTIMATE), value, lower,
        upper, threshold, n, status, reason, segment}``. An estimate that could not be made
        (inconclusive or insufficient) is a point with ``value`` None and its ``reason``: the page
        marks it instead of drawing the line through. ``segment`` numbers the unbroken stretches
        of each series, so a line stops at a gap.
    """
    points: list[dict[str, Any]] = []
    for run in sorted(runs, key=lambda r: store.as_utc(r["window_start"])):
        performance = (run.get("summary") or {}).get("performance") or {}
        judged_in = _iso(run["window_start"])
        realized = (performance.get("metrics") or {}).get(metric) or {}
        if realized.get("value") is not None and performance.get("cohort_start"):
            points.append(_point(Kind.PERFORMANCE, _iso(performance["cohort_start"]), judged_in, realized))
        estimate = performance.get("estimate") or {}
        if estimate.get("metric") != metric:
            continue
        row = estimate.get("row") or {}
        point = _point(Kind.ESTIMATE, judged_in, judged_in, row)
        if row.get("value") is None:
            point |= {"status": estimate.get("status") or Verdict.INCONCLUSIVE,
                      "reason": estimate.get("reason") or "no estimate for this window"}
        points.append(point)
    return _number_segments(points)


def _number_segments(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give each unbroken stretch of a series its own number (a gap starts a new one)."""
    counters: dict[str, int] = {}
    gap: dict[str, bool] = {}
    for p in points:
        series = p["series"]
        if p["value"] is None:
            gap[series] = True
            p["segment"] = None
            continue
        if gap.get(series, True):
            counters[series] = counters.get(series, 0) + 1
            gap[series] = False
        p["segment"] = f"{series}-{counters[series]}"
    return points


OVERALL = "*"  # the whole window's row in ``metric_values``


def segment_rows(conn: Connection, name: str, metric: str, since: str | None = None) -> list[dict[str, Any]]:
    """``metric`` per segment and window (the window it was judged in), oldest first.

    Args:
        conn: A connection to the store.
        name: The monitor.
        metric: The metric (the main one on the page).
        since: Only windows starting at or after this ISO date (the page's time range).
    """
    mv = store.metric_values
    query = (
        sa.select(mv.c.window_start, mv.c.segment, mv.c.value, mv.c.n, mv.c.status)
        .where(mv.c.monitor == name, mv.c.metric == metric, mv.c.segment != OVERALL, mv.c.value.is_not(None))
        .order_by(mv.c.window_start, mv.c.segment)
    )
    rows = [{"window": _iso(r["window_start"]), "segment": r["segment"], "value": r["value"], "n": r["n"],
             "status": r["status"]} for r in store.rows(conn, query)]
    return [r for r in rows if since is None or (r["window"] or "") >= since]
