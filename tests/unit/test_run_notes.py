"""The DAG run note: the run's verdict in Airflow's own views."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gapwatch.health.notes import run_note

pytestmark = pytest.mark.unit


def test_a_degraded_run_says_so_with_why_the_window_and_the_page(monkeypatch) -> None:
    monkeypatch.setenv("GAPWATCH_AIRFLOW_URL", "http://airflow.example.com")
    run = {"monitor": "credit_default", "status": "degraded", "main_metric": "roc_auc", "main_value": 0.7012,
           "window_start": datetime(2026, 2, 9, tzinfo=UTC), "window_end": datetime(2026, 2, 16), "summary": {}}
    assert run_note(run) == (
        "**gapwatch: degraded**: roc_auc 0.701 breaches its threshold\n\n"
        "Window 2026-02-09 to 2026-02-16 (window dates, UTC). "
        "[Model Health](http://airflow.example.com/gapwatch/health/models/credit_default)")
    healthy = run_note(run | {"status": "healthy"})
    assert healthy.startswith("**gapwatch: healthy**: all checks passed")
    not_ready = run_note(run | {"status": "not_ready", "summary": {"readiness": {"critical_failures": ["x null"]}}})
    assert not_ready.startswith("**gapwatch: data not ready**: readiness suite failed: x null")
