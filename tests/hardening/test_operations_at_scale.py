"""Issue 13, item 12: operating for a long time with many models.

- The operations run's store queries do not grow with the number of monitors (it issued about
  four SELECTs per monitor for the weekly digests).
- Retention: run extracts (PII), Data Docs pages and delivered messages are deleted after their
  retention, by the operations run; pending and dead messages and the store's records stay.
- Monitor DAGs catch up windows missed during a scheduler outage, one at a time, in order.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from gapwatch import operations, outbox, store
from gapwatch.demo.seed import window_bounds
from gapwatch.incidents.messages import Message
from gapwatch.incidents.routing import Destination
from gapwatch.window import Window

pytestmark = pytest.mark.hardening
ROOT = Path(__file__).resolve().parents[2]
_today = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0)
# A Monday 10:00 still to come: digests are due, and messages queued now are due by then.
MONDAY = _today + timedelta(days=7 - _today.weekday())


def _monitors(folder: Path, n: int) -> list[str]:
    """``n`` copies of credit_default (same business owner), and their history in the store."""
    folder.mkdir()
    spec = yaml.safe_load((ROOT / "include" / "monitors" / "credit_default.yml").read_text())
    names = [f"credit_{i:03d}" for i in range(n)]
    for name in names:
        (folder / f"{name}.yml").write_text(yaml.safe_dump({**spec, "name": name}, sort_keys=False))
    t0 = MONDAY - timedelta(days=14)
    runs, incidents, tickets = [], [], []
    for i, name in enumerate(names):
        for k in range(2):
            runs.append({"monitor": name, "window_start": t0 + timedelta(days=7 * k),
                         "window_end": t0 + timedelta(days=7 * k + 7), "status": "degraded",
                         "main_metric": "roc_auc", "main_value": 0.7, "updated_at": t0})
        for status, fp in (("open", "a"), ("resolved", "b")):
            incidents.append({"id": 2 * i + (status == "resolved") + 1, "fingerprint": f"{name}|{fp}",
                              "monitor": name, "kind": "performance", "check": "metric:roc_auc", "segment": "*",
                              "severity": "critical", "status": status, "owner_role": "technical_owner",
                              "title": f"{name}: roc_auc low", "evidence": {}, "opened_window": t0,
                              "last_breach_window": t0, "opened_at": t0, "updated_at": t0,
                              "resolved_at": MONDAY - timedelta(days=1) if status == "resolved" else None})
        tickets.append({"fingerprint": f"{name}|t", "monitor": name, "kind": "retrain", "status": "open",
                        "title": f"Retrain {name}", "incident_id": 2 * i + 1, "evidence": {},
                        "opened_window": t0, "created_at": t0})
    with store.engine().begin() as conn:
        conn.execute(store.runs.insert(), runs)
        conn.execute(store.incidents.insert(), incidents)
        conn.execute(store.tickets.insert(), tickets)
    return names


def _statements_of_one_operations_run(folder: Path) -> list[str]:
    engine = store.engine()
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement.split(None, 1)[0].upper())

    accept = {channel: (lambda message: None) for channel in ("file", "email", "slack", "pagerduty", "jira", "webhook")}
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        result = operations.housekeeping(accept, now=MONDAY, directory=str(folder))
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert result["digests"] >= 1 and result["delivery"]["sent"] >= 1  # the digest was really built
    return seen


@pytest.mark.parametrize("n", [50])
def test_the_operations_run_costs_the_same_queries_for_1_and_n_monitors(n: int, tmp_path, monkeypatch) -> None:
    costs = {}
    for count in (1, n):
        monkeypatch.setenv("GAPWATCH_HOME", str(tmp_path / f"home{count}"))
        monkeypatch.delenv("GAPWATCH_DB_URL", raising=False)
        names = _monitors(tmp_path / f"monitors{count}", count)
        statements = _statements_of_one_operations_run(tmp_path / f"monitors{count}")
        with store.engine().connect() as conn:
            body = conn.execute(sa.select(store.outbox.c.body).where(store.outbox.c.monitor == "*")).scalars().first()
        assert all(f"{name} (v" in body for name in names)  # every monitor is in the digest
        costs[count] = (statements.count("SELECT"), len(statements))
    assert costs[1] == costs[n], costs


# ---------------------------------------------------------------- retention


def _dead_and_pending_messages() -> None:
    destination = Destination("file", "technical_owner", "Ravi <ravi.menon@example.com>")
    with store.engine().begin() as conn:
        for key in ("dead", "pending"):
            outbox.queue(conn, monitor="credit_default", event_key=key, destination=destination,
                         message=Message(key, key, {}))
        conn.execute(store.outbox.update().where(store.outbox.c.subject == "dead").values(status="dead"))
        conn.execute(store.outbox.update().where(store.outbox.c.subject.in_(("dead", "pending")))
                     .values(created_at=MONDAY - timedelta(days=400), next_attempt_at=MONDAY + timedelta(days=999)))


def _kept() -> dict[str, int]:
    from gapwatch import config
    from gapwatch.readiness.docs import validation_folders

    pages, results = validation_folders()
    with store.engine().connect() as conn:
        statuses = conn.execute(sa.select(store.outbox.c.status)).scalars().all()
        runs = conn.execute(sa.select(sa.func.count()).select_from(store.runs)).scalar()
    return {
        "extracts": len(list(config.settings().runs_dir.rglob("*.parquet"))),
        "pages": len(list(pages.rglob("*.html"))),
        "results": len(list(results.rglob("*.json"))),
        "sent": statuses.count("sent"), "dead": statuses.count("dead"), "pending": statuses.count("pending"),
        "runs": runs,
    }


@pytest.mark.integration
def test_retention_deletes_each_kind_after_its_days_and_keeps_the_record(demo_env) -> None:
    from gapwatch.airflow.channels import default_senders
    from gapwatch.pipeline import run_window
    from gapwatch.retention import enforce_retention
    from gapwatch.spec import load_specs

    # The memory path writes extracts (the database path writes none), so there is one of each kind.
    spec = load_specs().by_name("credit_default").model_copy(update={"compute_in": "memory"})
    run_window(spec, Window(*window_bounds(5)), senders=default_senders())  # the feed break: messages
    _dead_and_pending_messages()
    before = _kept()
    assert before["extracts"] == 2 and before["pages"] == 1 and before["results"] == 1 and before["sent"] >= 1
    now = datetime.now(UTC)
    assert enforce_retention(now + timedelta(days=10)) == {
        "run_extracts": 0, "data_docs_pages": 0, "validation_results": 0, "outbox_rows": 0}
    # Past 14 days the window's rows (PII) go; pages and messages stay.
    assert enforce_retention(now + timedelta(days=15))["run_extracts"] == 1
    assert _kept() == {**before, "extracts": 0}
    # Past 90 days the Data Docs page, its stored result and the delivered messages go too.
    removed = enforce_retention(now + timedelta(days=91))
    assert removed == {"run_extracts": 0, "data_docs_pages": 1, "validation_results": 1,
                       "outbox_rows": before["sent"]}
    assert _kept() == {**before, "extracts": 0, "pages": 0, "results": 0, "sent": 0}  # dead, pending, runs stay
    assert _kept()["runs"] == 1


def test_retention_zero_keeps_everything_of_that_kind(gapwatch_home, monkeypatch) -> None:
    from gapwatch import config
    from gapwatch.retention import enforce_retention

    extract = config.settings().runs_dir / "credit_default" / "2026-01-05T000000Z" / "window.parquet"
    extract.parent.mkdir(parents=True)
    extract.write_bytes(b"rows")
    monkeypatch.setenv("GAPWATCH_RUNS_RETENTION", "0")
    assert enforce_retention(datetime.now(UTC) + timedelta(days=3650))["run_extracts"] == 0
    assert extract.exists()
    monkeypatch.setenv("GAPWATCH_RUNS_RETENTION", "0.5")  # half a day, enforced by the operations run
    accept = {channel: (lambda message: None) for channel in ("file", "email")}
    result = operations.housekeeping(accept, now=datetime.now(UTC) + timedelta(days=1))
    assert result["retention"]["run_extracts"] == 1
    assert not extract.exists()
    monkeypatch.setenv("GAPWATCH_OUTBOX_RETENTION", "a week")
    with pytest.raises(ValueError, match="GAPWATCH_OUTBOX_RETENTION"):
        enforce_retention()


def test_the_operations_dag_enforces_retention_on_its_own() -> None:
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(ROOT / "dags")).dags["gapwatch_operations"]
    task = dag.get_task("enforce_retention")
    assert task.upstream_task_ids == set()  # a failing delivery never keeps PII past its time
    assert "GAPWATCH_RUNS_RETENTION" in dag.doc_md


# ---------------------------------------------------------------- catch-up


def test_monitor_dags_catch_up_missed_windows_one_at_a_time_in_order() -> None:
    from airflow.dag_processing.dagbag import DagBag
    from airflow.serialization.serialized_objects import DagSerialization
    from airflow.timetables.base import DagRunInfo

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    monitors = [dag for dag_id, dag in bag.dags.items() if dag_id.startswith("gapwatch__")]
    assert monitors
    for dag in monitors:
        assert dag.catchup is True and dag.max_active_runs == 1
    # The scheduler's own question: the last run covered the week to 2026-02-02 and the scheduler
    # was down since; the next run is the first missed window, not the latest one.
    scheduled = DagSerialization.from_dict(DagSerialization.to_dict(bag.dags["gapwatch__credit_default"]))
    last = DagRunInfo.interval(datetime(2026, 1, 26, tzinfo=UTC), datetime(2026, 2, 2, tzinfo=UTC))
    following = scheduled.next_dagrun_info(last_automated_run_info=last)
    assert following.data_interval.start == datetime(2026, 2, 2, tzinfo=UTC)
