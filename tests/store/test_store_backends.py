"""The gapwatch store on SQLite and on the local PostgreSQL: migrations from an empty database,
upsert semantics, the one-open-incident-per-fingerprint constraint, and two concurrent runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from gapwatch import store

pytestmark = pytest.mark.integration

EXPECTED_TABLES = {
    "runs", "metric_values", "drift_values", "validations", "baselines", "findings", "incidents",
    "incident_events", "tickets", "outbox", "alembic_version",
}


def _incident(fp: str, status: str = "open") -> dict:
    now = datetime(2026, 3, 2, tzinfo=UTC)
    return {
        "fingerprint": fp, "monitor": "m", "kind": "performance", "check": "metric:roc_auc",
        "segment": "*", "severity": "critical", "status": status, "owner_role": "technical_owner",
        "title": "t", "evidence": {}, "opened_window": now, "last_breach_window": now,
        "opened_at": now, "updated_at": now,
    }


def test_migrations_build_the_schema_from_an_empty_database(store_url: str) -> None:
    engine = store.engine(store_url)
    inspector = sa.inspect(engine)
    assert EXPECTED_TABLES <= set(inspector.get_table_names())
    indexes = {i["name"]: i for i in inspector.get_indexes("incidents")}
    assert indexes["uq_incidents_open_fingerprint"]["unique"]
    script = ScriptDirectory(str(Path(store.__file__).parent / "migrations"))
    with engine.connect() as conn:
        assert conn.execute(sa.text("select version_num from alembic_version")).scalar() == script.get_current_head()
    # Migrating again is a no-op, not an error (every process migrates on first use).
    store.migrate(store_url)


def test_upsert_updates_and_insert_ignore_keeps_the_first(store_url: str) -> None:
    engine = store.engine(store_url)
    start = datetime(2026, 1, 5, tzinfo=UTC)
    row = {"monitor": "m", "window_start": start, "window_end": start + timedelta(days=7),
           "status": "healthy", "updated_at": start}
    with engine.begin() as conn:
        store.upsert(conn, store.runs, row, ["monitor", "window_start"])
        store.upsert(conn, store.runs, row | {"status": "degraded"}, ["monitor", "window_start"])
        assert store.insert_ignore(conn, store.incidents, _incident("m|a"), ["fingerprint"],
                                   where=store.incidents.c.status != "resolved")
        assert not store.insert_ignore(conn, store.incidents, _incident("m|a") | {"title": "second"},
                                       ["fingerprint"], where=store.incidents.c.status != "resolved")
    with engine.connect() as conn:
        (run,) = store.rows(conn, sa.select(store.runs))
        titles = conn.execute(sa.select(store.incidents.c.title)).scalars().all()
    assert run["status"] == "degraded" and run["window_start"] == start  # UTC-aware on both backends
    assert titles == ["t"]


def test_one_open_incident_per_fingerprint_is_a_database_constraint(store_url: str) -> None:
    engine = store.engine(store_url)
    with engine.begin() as conn:
        conn.execute(store.incidents.insert().values(**_incident("m|x", status="resolved")))
        conn.execute(store.incidents.insert().values(**_incident("m|x")))  # resolved + open: allowed
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(store.incidents.insert().values(**_incident("m|x", status="acknowledged")))
    with engine.connect() as conn:
        statuses = sorted(conn.execute(sa.select(store.incidents.c.status)).scalars())
    assert statuses == ["open", "resolved"]


# ---------------------------------------------------------------- two runs at once (PostgreSQL)

WORKER = r"""
import json, sys
from gapwatch.pipeline import publish
from gapwatch.policy import decide
from gapwatch.window import Window
from gapwatch.spec import load_specs

spec = load_specs().by_name("credit_default")
start = sys.argv[1]
window = Window.parse(start, start.replace(start[:10], sys.argv[2]))
readiness = {"suite": spec.readiness.suite, "ready": True, "critical_failures": [], "warnings": [], "rows": 3000}
main = {"segment": "*", "metric": "roc_auc", "value": 0.70, "stderr": 0.012, "baseline": 0.822,
        "threshold": 0.772, "n": 2400, "status": "breach"}
performance = {"status": "breach", "metrics": {"roc_auc": main}, "segments": [], "labeled": 2400,
               "pending": 500, "cohort_start": start}
drift = {"status": "ok", "drifted": []}
findings = decide(spec, readiness, performance, drift)
result = publish(spec, window, {"rows": 3000}, readiness, performance, drift, findings, f"manual__{start}")
print(json.dumps(result, default=str))
"""


def _waiting(admin: sa.engine.Connection, db: str) -> list[tuple[str, str]]:
    """(wait_event_type, wait_event) of the sessions on ``db`` that are blocked on a lock."""
    return [
        (r.wait_event_type, r.wait_event)
        for r in admin.execute(
            sa.text(
                "select wait_event_type, wait_event from pg_stat_activity "
                "where datname = :db and wait_event_type = 'Lock'"
            ),
            {"db": db},
        )
    ]


@pytest.mark.postgres
def test_two_concurrent_runs_never_open_two_incidents(tmp_path: Path, pg_url: str) -> None:
    """Two runs of one monitor publish at the same moment on PostgreSQL.

    A third session holds the ``runs`` table so both transactions stay open after their incident
    insert: the loser's insert then really waits on the winner's uncommitted row in the partial
    unique index (visible in pg_stat_activity as a ``transactionid`` lock wait). When the winner
    commits, the loser's ``ON CONFLICT DO NOTHING`` adopts the winner's incident and updates it.
    """
    url = pg_url
    store.migrate(url)
    db = url.rsplit("/", 1)[1]
    env = {**os.environ, "GAPWATCH_DB_URL": url, "GAPWATCH_HOME": str(tmp_path / "home")}
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    windows = {"2026-03-02T00:00:00+00:00": "2026-03-09", "2026-03-09T00:00:00+00:00": "2026-03-16"}
    holder = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with holder.connect() as admin, holder.connect() as gate:
        gate.execute(sa.text("begin"))
        gate.execute(sa.text("lock table runs in exclusive mode"))
        workers = [
            subprocess.Popen([sys.executable, str(script), start, end], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for start, end in windows.items()
        ]
        deadline = time.monotonic() + 60
        while sorted(e for _, e in _waiting(admin, db)) != ["relation", "transactionid"]:
            assert all(w.poll() is None for w in workers), [w.communicate() for w in workers]
            assert time.monotonic() < deadline, f"never both blocked: {_waiting(admin, db)}"
            time.sleep(0.1)
        gate.execute(sa.text("commit"))
        outputs = [w.communicate(timeout=120) for w in workers]
    holder.dispose()
    for worker, (_, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err[-3000:]
    results = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]

    engine = store.engine(url)
    with engine.connect() as conn:
        incidents = store.rows(conn, sa.select(store.incidents))
        events = store.rows(conn, sa.select(store.incident_events).order_by(store.incident_events.c.id))
        runs = store.rows(conn, sa.select(store.runs))
        opened_messages = conn.execute(
            sa.select(sa.func.count()).select_from(store.outbox)
            .where(store.outbox.c.subject.like("%OPEN critical%"))
        ).scalar()
    perf = [i for i in incidents if i["kind"] == "performance"]
    assert len(perf) == 1 and perf[0]["status"] == "open"
    opened = [r for r in results if any(c["action"] == "opened" for c in r["changes"])]
    assert len(opened) == 1, results  # exactly one run opened it; the other did not fail
    assert [e["action"] for e in events].count("opened") == 1
    # Both runs are recorded and the incident carries the later window's breach, whichever won.
    assert len(runs) == 2
    assert perf[0]["last_breach_window"] == datetime(2026, 3, 9, tzinfo=UTC)
    spec_roles = 2  # technical owner + on-call route, one message each, never twice
    assert opened_messages == spec_roles
