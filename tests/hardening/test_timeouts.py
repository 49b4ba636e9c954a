"""Issue 13, item 9: a database that accepts TCP and never answers, or a statement that never ends,
gives a clear error within the configured timeout instead of hanging a run forever.

The far side is a loopback "blackhole" (accepts, never answers) used as a PostgreSQL URL, and the
local PostgreSQL with ``pg_sleep``. Stages run in a subprocess with a hard kill as the guard, so
a hang fails the test instead of hanging the suite.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from gapwatch import sources, store

pytestmark = pytest.mark.hardening
ROOT = Path(__file__).resolve().parents[2]
GAPWATCH = Path(sys.executable).parent / "gapwatch"
GUARD = 90  # seconds before the subprocess is killed (a hang)


def _run_guarded(args: list[str], env: dict[str, str]) -> tuple[int, str, float]:
    started = time.monotonic()
    proc = subprocess.Popen([str(GAPWATCH), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        out, err = proc.communicate(timeout=GUARD)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail(f"gapwatch {' '.join(args)} hung: killed after {GUARD}s")
    return proc.returncode, out + err, time.monotonic() - started


def _blackhole_url(blackhole: tuple[str, int]) -> str:
    host, port = blackhole
    return f"postgresql+psycopg2://gapwatch@{host}:{port}/gapwatch"


def _env(gapwatch_home: Path, demo_source: str, **extra: str) -> dict[str, str]:
    return {**os.environ, "GAPWATCH_HOME": str(gapwatch_home), "GAPWATCH_DEMO_SOURCE_URL": demo_source,
            "GAPWATCH_DB_CONNECT_TIMEOUT": "2", **extra}


WINDOW = ["credit_default", "--start", "2026-01-05", "--end", "2026-01-12"]


def test_a_blackhole_source_fails_the_run_within_the_connect_timeout(gapwatch_home, demo_source, blackhole) -> None:
    env = _env(gapwatch_home, _blackhole_url(blackhole))
    rc, output, elapsed = _run_guarded(["run", *WINDOW], env)
    assert rc == 2, output[-2000:]
    assert "timeout expired" in output and "GAPWATCH_DB_CONNECT_TIMEOUT" in output, output[-2000:]
    assert elapsed < 60, elapsed  # imports plus ~2 s, never the old forever


def test_a_blackhole_store_fails_the_run_within_the_connect_timeout(gapwatch_home, demo_source, blackhole) -> None:
    env = _env(gapwatch_home, demo_source, GAPWATCH_DB_URL=_blackhole_url(blackhole))
    rc, output, elapsed = _run_guarded(["runs", "list"], env)
    assert rc == 2, output[-2000:]
    assert "timeout expired" in output, output[-2000:]
    assert elapsed < 60, elapsed


@pytest.mark.postgres
def test_a_statement_past_the_statement_timeout_is_cancelled_on_postgresql(pg_url, monkeypatch) -> None:
    monkeypatch.setenv("GAPWATCH_STATEMENT_TIMEOUT", "1")
    for engine in (store.engine(pg_url), sources.source_engine(pg_url)):
        started = time.monotonic()
        with pytest.raises(sa.exc.OperationalError, match="statement timeout"), engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_sleep(5)"))
        assert time.monotonic() - started < 4
        engine.dispose()
    sources.source_engine.cache_clear()


@pytest.mark.postgres
def test_options_already_in_the_url_are_kept(pg_url, monkeypatch) -> None:
    monkeypatch.setenv("GAPWATCH_STATEMENT_TIMEOUT", "7")
    url = f"{pg_url}?options=-c%20application_name%3Dgapwatch-test"
    from gapwatch.store.engine import create_engine

    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SHOW statement_timeout")).scalar() == "7s"
        assert conn.execute(sa.text("SHOW application_name")).scalar() == "gapwatch-test"
    engine.dispose()


def test_a_locked_sqlite_store_gives_up_after_the_statement_timeout(gapwatch_home, monkeypatch) -> None:
    url = f"sqlite:///{gapwatch_home / 'locked.db'}"
    monkeypatch.setenv("GAPWATCH_STATEMENT_TIMEOUT", "1")
    engine = store.engine(url)
    holder = sqlite3.connect(gapwatch_home / "locked.db")
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock and never lets go
    try:
        started = time.monotonic()
        with pytest.raises(sa.exc.OperationalError, match="locked"), engine.begin() as conn:
            conn.execute(store.outbox.delete())
        assert time.monotonic() - started < 5  # not the old fixed 30 s
    finally:
        holder.rollback()
        holder.close()
        store.dispose(url)


def test_every_dag_task_has_an_execution_timeout(monkeypatch) -> None:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.dags
    for dag in bag.dags.values():
        for t in dag.tasks:
            assert t.execution_timeout == timedelta(hours=1), (dag.dag_id, t.task_id)
    monkeypatch.setenv("GAPWATCH_TASK_TIMEOUT", "900")
    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert {t.execution_timeout for dag in bag.dags.values() for t in dag.tasks} == {timedelta(minutes=15)}
