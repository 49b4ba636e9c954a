"""The label-free estimate over the demo data, through gapwatch.pipeline.run_window (every stage,
the store and the outbox, four windows)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from gapwatch import pipeline, store
from gapwatch.airflow.channels import default_senders
from gapwatch.demo.seed import SHIFT_FROM_WINDOW, window_bounds
from gapwatch.spec import load_specs
from gapwatch.window import Window

pytestmark = pytest.mark.integration


def _findings(window_start) -> dict[str, dict]:
    with store.engine().connect() as conn:
        rows = store.rows(conn, sa.select(store.findings).where(store.findings.c.window_start == window_start))
    return {r["check"]: r for r in rows}


def test_estimate_flags_the_demo_shift_before_labels_mature_then_realized_follows(demo_env) -> None:
    spec = load_specs().by_name("credit_default")
    for k in range(SHIFT_FROM_WINDOW - 2, SHIFT_FROM_WINDOW + 2):
        pipeline.run_window(spec, Window(*window_bounds(k)), senders=default_senders())

    healthy = _findings(window_bounds(SHIFT_FROM_WINDOW - 1)[0])
    assert healthy["estimate:roc_auc"]["status"] == "ok"

    shifted = _findings(window_bounds(SHIFT_FROM_WINDOW)[0])
    estimate, realized = shifted["estimate:roc_auc"], shifted["metric:roc_auc"]
    # In the shift's first window the labels of the shifted predictions have not matured ...
    assert realized["status"] == "ok"
    # ... but the estimate already says degraded, marked estimated, as a warning.
    assert estimate["status"] == "breach" and estimate["kind"] == "estimate"
    assert estimate["severity"] == "warning" and estimate["evidence"]["estimated"] is True
    assert estimate["evidence"]["uncertainty"] == "estimated"
    assert estimate["evidence"]["interval"][1] < estimate["evidence"]["threshold"]
    assert estimate["evidence"]["unsupported_share"] > 0.2

    # One window later the labels have matured and the realized metric confirms it.
    confirmed = _findings(window_bounds(SHIFT_FROM_WINDOW + 1)[0])["metric:roc_auc"]
    assert confirmed["status"] == "breach" and confirmed["evidence"]["estimated"] is False
    ev = confirmed["evidence"]
    for field in ("value", "stderr", "interval", "baseline", "threshold", "trend", "worst_segments",
                  "drifted_features", "drift_ranking", "pending", "pending_share", "labeled"):
        assert field in ev, field
    assert ev["drifted_features"][0]["column"] == "utilization"
    assert [t["window"] for t in ev["trend"]][-1] == window_bounds(SHIFT_FROM_WINDOW + 1)[0].date().isoformat()
    assert all(s["segment"].startswith("region=") for s in ev["worst_segments"])

    with store.engine().connect() as conn:
        incidents = store.rows(conn, sa.select(store.incidents).order_by(store.incidents.c.id))
    by_check = {i["check"]: i for i in incidents}
    assert by_check["estimate:roc_auc"]["opened_window"] == window_bounds(SHIFT_FROM_WINDOW)[0]
    assert by_check["metric:roc_auc"]["opened_window"] == window_bounds(SHIFT_FROM_WINDOW + 1)[0]
    assert "estimated" in by_check["estimate:roc_auc"]["title"]
