"""The label-free estimate drawn with the realized metric: both lines on the prediction windows,
gaps marked, the reference period shaded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gapwatch.catalog import Kind
from gapwatch.health.charts import estimate_vs_realized
from gapwatch.health.series import performance_series

pytestmark = pytest.mark.unit
START = datetime(2026, 1, 5, tzinfo=UTC)


def _run(k: int, realized: float | None, estimate: dict[str, Any]) -> dict[str, Any]:
    window = START + timedelta(weeks=k)
    metrics = {"roc_auc": {"value": realized, "interval": [realized - 0.02, realized + 0.02], "threshold": 0.77,
                           "n": 900, "status": "ok"}} if realized is not None else {}
    return {"window_start": window, "summary": {"performance": {
        "metrics": metrics, "cohort_start": (window - timedelta(weeks=2)).isoformat(), "estimate": estimate}}}


def _estimate(value: float) -> dict[str, Any]:
    return {"metric": "roc_auc", "status": "breach" if value < 0.77 else "ok",
            "row": {"value": value, "interval": [value - 0.03, value + 0.03], "threshold": 0.77, "n": 3000,
                    "status": "breach" if value < 0.77 else "ok"}}


RUNS = [
    _run(2, None, _estimate(0.82)),
    _run(3, 0.81, {"metric": "roc_auc", "status": "inconclusive", "reason": "this window failed its readiness suite"}),
    _run(4, 0.80, _estimate(0.74)),
    _run(5, 0.75, _estimate(0.73)),
]


def test_series_puts_each_value_on_the_window_its_predictions_were_made_in() -> None:
    points = performance_series(list(reversed(RUNS)), "roc_auc")
    realized = [(p["window"][:10], p["judged_in"][:10], p["value"]) for p in points if p["series"] == Kind.PERFORMANCE]
    assert realized == [("2026-01-12", "2026-01-26", 0.81), ("2026-01-19", "2026-02-02", 0.80),
                        ("2026-01-26", "2026-02-09", 0.75)]
    estimated = [p for p in points if p["series"] == Kind.ESTIMATE]
    assert [(p["window"][:10], p["value"]) for p in estimated] == [
        ("2026-01-19", 0.82), ("2026-01-26", None), ("2026-02-02", 0.74), ("2026-02-09", 0.73)]
    gap = estimated[1]
    assert gap["status"] == "inconclusive" and gap["reason"] == "this window failed its readiness suite"
    # The line stops at the gap: the stretches before and after are separate.
    assert [p["segment"] for p in estimated] == ["estimate-1", None, "estimate-2", "estimate-2"]
    assert estimated[2]["lower"] == pytest.approx(0.71) and estimated[2]["threshold"] == 0.77
    assert performance_series(RUNS, "accuracy") == []  # no value nor estimate of another metric


def _layers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return spec["layer"]


def test_the_chart_draws_both_lines_bands_threshold_gaps_and_reference() -> None:
    spec = estimate_vs_realized(performance_series(RUNS, "roc_auc"), "roc_auc",
                                reference=("2025-10-06T00:00:00+00:00", "2025-12-29T00:00:00+00:00"))
    marks = [layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"] for layer in _layers(spec)]
    assert marks == ["rect", "area", "line", "line", "rule", "point"]
    shaded = _layers(spec)[0]
    assert shaded["data"]["values"] == [{"start": "2025-10-06T00:00:00+00:00", "end": "2025-12-29T00:00:00+00:00"}]
    line_scale = _layers(spec)[2]["encoding"]["color"]["scale"]
    assert line_scale == {"domain": ["realized (matured labels)", "estimated (no labels yet)"],
                          "range": ["#2b6cb0", "#dd6b20"]}
    assert _layers(spec)[2]["encoding"]["detail"]["field"] == "segment"
    rule = _layers(spec)[4]
    assert rule["transform"] == [{"filter": "!isValid(datum.value)"}]
    data = _layers(spec)[1]["data"]["values"]
    assert {p["line"] for p in data} == {"realized (matured labels)", "estimated (no labels yet)"}
    no_reference = estimate_vs_realized(performance_series(RUNS, "roc_auc"), "roc_auc")
    assert [layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"]
            for layer in _layers(no_reference)][0] == "area"
