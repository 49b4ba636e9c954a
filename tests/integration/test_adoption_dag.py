"""The monitor DAG with an adoption section: the evaluate_adoption task feeds decide, and a real
``dag.test()`` run of the window team east stops acting opens the business owner's incident. A
spec without the section keeps the DAG it always had."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from gapwatch import store
from gapwatch.demo.decisions import EAST_LATE_FROM_WINDOW
from gapwatch.demo.seed import window_bounds
from gapwatch.spec import load_specs

pytestmark = pytest.mark.integration
BEFORE = ["extract_window", "check_readiness", "evaluate_performance", "evaluate_drift", "decide", "publish"]


def test_the_adoption_task_only_with_an_adoption_section() -> None:
    from gapwatch.airflow.dags import build_dag

    spec = load_specs().by_name("credit_default")
    dag = build_dag(spec)
    assert [t.task_id for t in dag.tasks] == [*BEFORE[:4], "evaluate_adoption", *BEFORE[4:]]
    assert "evaluate_adoption" in dag.get_task("decide").upstream_task_ids
    # It reads the source, not the extract; it runs after the extract, which starts the run, so
    # in one process the stages share one resolved source (one connection lookup per run).
    assert dag.get_task("evaluate_adoption").upstream_task_ids == {"extract_window"}
    assert "**Adoption:** decisions in `credit_decisions` within 2.0 days" in dag.doc_md

    plain = build_dag(spec.model_copy(update={"adoption": None}))
    assert [t.task_id for t in plain.tasks] == BEFORE
    assert "Adoption" not in plain.doc_md


def test_a_dag_run_opens_the_adoption_incident_for_the_business_owner(airflow_db, demo_env: Path) -> None:
    from gapwatch.airflow.dags import build_dag

    dag = build_dag(load_specs().by_name("credit_default"))
    run = dag.test(logical_date=window_bounds(EAST_LATE_FROM_WINDOW)[1])
    assert str(run.state).lower().endswith("success")
    with store.engine().connect() as conn:
        incidents = store.rows(conn, sa.select(store.incidents).where(store.incidents.c.kind == "adoption"))
        values = conn.execute(sa.select(sa.func.count()).select_from(store.adoption_values)).scalar()
        messages = store.rows(conn, sa.select(store.outbox).where(store.outbox.c.recipient_role == "business_owner"))
    (incident,) = incidents
    assert incident["check"] == "adoption:coverage" and incident["owner_role"] == "business_owner"
    assert "team east" in incident["title"] and values > 0
    assert [m["payload"]["event"] for m in messages] == ["incident_opened"]
    assert "/dags/gapwatch__credit_default/runs/" in messages[0]["body"]
