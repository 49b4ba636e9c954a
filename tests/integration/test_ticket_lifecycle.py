"""A maintenance ticket closes with the incident that raised it, so the next sustained
degradation can raise its own ticket."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from gapwatch import store
from gapwatch.airflow.channels import default_senders
from gapwatch.demo.seed import window_bounds
from gapwatch.incidents import lifecycle as incidents
from gapwatch.pipeline import run_window
from gapwatch.spec import load_specs
from gapwatch.window import Window

pytestmark = pytest.mark.integration


def test_resolving_the_incident_closes_its_ticket_with_an_audit_event(demo_env: Path) -> None:
    # The retrain ticket's lifecycle; the demo's adoption ticket is test_adoption_pipeline's.
    spec = load_specs().by_name("credit_default").model_copy(update={"adoption": None})
    for k in range(1, 12):
        run_window(spec, Window(*window_bounds(k)), senders=default_senders())
    with store.engine().connect() as conn:
        (ticket,) = store.rows(conn, sa.select(store.tickets))
    assert ticket["status"] == "open"

    with store.engine().begin() as conn:
        incidents.resolve(conn, spec, ticket["incident_id"], by="Ravi Menon", why="model retrained (v1.4.0)")

    with store.engine().connect() as conn:
        (ticket,) = store.rows(conn, sa.select(store.tickets))
        events = store.rows(conn, sa.select(store.incident_events).where(
            store.incident_events.c.incident_id == ticket["incident_id"]))
    assert ticket["status"] == "closed"
    closed = [e for e in events if e["action"] == "ticket_closed"]
    assert len(closed) == 1 and closed[0]["actor"] == "Ravi Menon"
    assert closed[0]["detail"]["ticket"] == ticket["id"]


def test_a_retrain_ticket_counts_failing_windows_of_any_critical_metric(gapwatch_home: Path) -> None:
    from gapwatch.catalog import Severity
    from gapwatch.policy import make_finding

    spec = load_specs().by_name("credit_default")
    critical_f1 = spec.metrics[1].model_copy(update={"severity": Severity.CRITICAL})
    spec = spec.model_copy(update={"metrics": [spec.metrics[0], critical_f1, *spec.metrics[2:]]})

    def run(k: int, roc_auc: str, f1: str) -> None:
        findings = [
            make_finding(spec, kind="performance", check=f"metric:{m.name}", status=status,
                         evidence={"metric": m.name, "value": 0.5, "threshold": 0.6},
                         severity=spec.metric_severity(m))
            for m, status in ((spec.metrics[0], roc_auc), (spec.metrics[1], f1))
        ]
        with store.engine().begin() as conn:
            incidents.apply_findings(conn, spec, Window(*window_bounds(k)), findings, run_link="http://airflow/x")

    run(1, "breach", "ok")
    run(2, "ok", "breach")  # another critical metric carries the streak
    with store.engine().connect() as conn:
        assert not store.rows(conn, sa.select(store.tickets))
    run(3, "breach", "breach")  # three failing windows in a row, though no metric failed three times
    with store.engine().connect() as conn:
        (ticket,) = store.rows(conn, sa.select(store.tickets))
    assert ticket["kind"] == "retrain"
    assert ticket["evidence"]["metrics"] == ["roc_auc", "f1"]
    assert ticket["title"] == "Retrain or recalibrate credit_default (3 windows of metric:roc_auc, metric:f1 failing)"
