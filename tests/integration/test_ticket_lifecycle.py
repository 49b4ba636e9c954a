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
    spec = load_specs().by_name("credit_default")
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
