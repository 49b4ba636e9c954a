"""The credit monitor DAG run for real with ``dag.test()`` over the demo production data, asserting
what an on-call engineer would see: incidents, tickets and messages, and that reruns change nothing."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from gapwatch import store
from gapwatch.demo.seed import FEED_BREAK_WINDOW, SHIFT_FROM_WINDOW, window_bounds
from gapwatch.spec import load_specs
from gapwatch.spec_adoption import ADOPTION_KINDS, TICKET_ADOPTION

pytestmark = pytest.mark.integration


def _run(dag, k: int) -> None:
    _, end = window_bounds(k)
    dag_run = dag.test(logical_date=end)
    assert str(dag_run.state).lower().endswith("success"), f"window {k}: {dag_run.state}"


def _snapshot(home: Path) -> dict:
    with store.engine().connect() as conn:
        counts = {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()
                  for t in (store.incidents, store.tickets, store.outbox, store.incident_events, store.runs)}
    counts["delivered"] = len((home / "outbox" / "messages.jsonl").read_text().splitlines())
    return counts


def test_credit_monitor_over_twelve_windows(airflow_db, demo_env: Path, store_url: str) -> None:
    """Runs on the SQLite store and on a fresh PostgreSQL store (``store_url`` is parametrised)."""
    from gapwatch.airflow.dags import build_dag

    spec = load_specs().by_name("credit_default")
    dag = build_dag(spec)
    for k in range(1, 13):
        _run(dag, k)

    with store.engine().connect() as conn:
        incidents = store.rows(conn, sa.select(store.incidents).order_by(store.incidents.c.id))
        runs = {r["window_start"]: r for r in store.rows(conn, sa.select(store.runs))}
        tickets = store.rows(conn, sa.select(store.tickets))
        messages = store.rows(conn, sa.select(store.outbox).order_by(store.outbox.c.id))
    # The model's story; the demo's adoption incidents and ticket are asserted in test_adoption_pipeline.
    incidents = [i for i in incidents if i["kind"] not in ADOPTION_KINDS]
    tickets = [t for t in tickets if t["kind"] != TICKET_ADOPTION]

    start = {k: window_bounds(k)[0] for k in range(1, 13)}
    # Every metric is a check (issue 10): f1 and accuracy breach after the shift as warnings.
    warnings = [i for i in incidents if i["kind"] == "performance" and i["severity"] == "warning"]
    assert sorted(i["check"] for i in warnings) == ["metric:accuracy", "metric:f1"]
    incidents = [i for i in incidents if i not in warnings]
    by_kind = {i["kind"]: i for i in incidents}
    assert sorted(by_kind) == ["data", "drift", "estimate", "performance"] and len(incidents) == 4

    # The feed break: not ready, a data incident for the steward, model evaluation inconclusive.
    broken = runs[start[FEED_BREAK_WINDOW]]
    assert broken["readiness"] == "not_ready"
    # Its drift is inconclusive; its cohort (the healthy week before) is judged (issue 10).
    assert broken["performance"] == "ok" and broken["drift"] == "inconclusive"
    data = by_kind["data"]
    assert data["owner_role"] == "data_steward" and data["opened_window"] == start[FEED_BREAK_WINDOW]
    assert any("utilization" in e for e in data["evidence"]["failing_expectations"])
    # ... resolved after the configured healthy runs.
    assert data["status"] == "resolved"
    assert data["resolved_window"] == start[FEED_BREAK_WINDOW + spec.policy.healthy_runs_to_resolve]

    # The covariate shift: caught within two windows of its onset, for the technical owner.
    perf = by_kind["performance"]
    assert perf["owner_role"] == "technical_owner" and perf["status"] == "open"
    assert start[SHIFT_FROM_WINDOW] <= perf["opened_window"] <= start[SHIFT_FROM_WINDOW] + timedelta(days=14)
    assert perf["evidence"]["value"] < perf["evidence"]["threshold"]
    assert by_kind["drift"]["opened_window"] == start[SHIFT_FROM_WINDOW]
    # The label-free estimate warns in the shift's first window, before its labels mature, marked
    # estimated and distinct from the realized incident that follows once they do.
    estimate = by_kind["estimate"]
    assert estimate["check"] == "estimate:roc_auc" and estimate["severity"] == "warning"
    assert estimate["opened_window"] == start[SHIFT_FROM_WINDOW] < perf["opened_window"]
    assert estimate["evidence"]["estimated"] is True and perf["evidence"]["estimated"] is False
    assert perf["opened_window"] == start[SHIFT_FROM_WINDOW + 1]

    # A maintenance ticket once the degradation persists, with its evidence.
    (ticket,) = tickets
    assert ticket["kind"] == "retrain" and ticket["incident_id"] == perf["id"]
    persisted = perf["opened_window"] + timedelta(days=7 * (spec.policy.windows_before_ticket - 1))
    assert ticket["opened_window"] == persisted
    assert len(ticket["evidence"]["trend"]) >= spec.policy.windows_before_ticket

    # No incident was opened in a healthy window.
    healthy = [start[k] for k in (1, 2, 3, 4, 6, 7)]
    assert not [i for i in incidents if i["opened_window"] in healthy]

    # Messages: the steward heard about the data incident twice (open, resolved); the technical
    # owner and the on-call route about the degradation; every one delivered to the file sink.
    roles = [(m["recipient_role"], m["payload"]["event"]) for m in messages]
    assert ("data_steward", "incident_opened") in roles and ("data_steward", "incident_resolved") in roles
    assert ("technical_owner", "incident_opened") in roles and ("oncall", "incident_opened") in roles
    assert ("technical_owner", "ticket_opened") in roles
    assert all(m["status"] == "sent" for m in messages)
    delivered = [json.loads(line) for line in (demo_env / "outbox" / "messages.jsonl").read_text().splitlines()]
    assert sorted(d["idempotency_key"] for d in delivered) == sorted(m["idempotency_key"] for m in messages)
    opened = next(d for d in delivered if d["payload"]["event"] == "incident_opened"
                  and d["recipient_role"] == "technical_owner" and d["payload"]["kind"] == "performance")
    assert spec.runbook_url in opened["body"] and spec.fallback in opened["body"]
    assert "/dags/gapwatch__credit_default/runs/" in opened["body"]

    # Reruns (a retry of the newest window, a replay of old ones) change no count.
    before = _snapshot(demo_env)
    for k in (12, FEED_BREAK_WINDOW, SHIFT_FROM_WINDOW + 1):
        _run(dag, k)
    assert _snapshot(demo_env) == before
