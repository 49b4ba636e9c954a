"""``gapwatch backfill``: six windows of the demo through the real monitor DAG, in order."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from gapwatch import store
from gapwatch.cli import main as cli
from gapwatch.demo.seed import window_bounds
from gapwatch.health.palette import STATUS_LABELS, fleet_status

pytestmark = pytest.mark.integration


def test_backfill_runs_six_demo_windows_through_the_dag_in_order(airflow_db, demo_env: Path, capsys) -> None:
    assert cli.main(["backfill", "credit_default", "--start", "2026-01-05", "--end", "2026-02-16"]) == 0
    lines = capsys.readouterr().out.splitlines()

    starts = [window_bounds(k)[0] for k in range(1, 7)]
    with store.engine().connect() as conn:
        runs = store.rows(conn, sa.select(store.runs).order_by(store.runs.c.window_start))
    assert [r["window_start"] for r in runs] == starts
    assert all(r["window_end"] - r["window_start"] == timedelta(days=7) for r in runs)
    # Each run is a real DAG run of the monitor, covering exactly its window.
    # Its run id names the window (by its end, the logical date), so a rerun keeps the link.
    assert [r["airflow_run_id"] for r in runs] == [f"manual__{window_bounds(k)[1].isoformat()}" for k in range(1, 7)]
    # One progress line per window, in order, with the run's status.
    progress = [line for line in lines if line.startswith("[")]
    assert [line.split()[:3] for line in progress] == [
        [f"[{k}/6]", starts[k - 1].date().isoformat(), runs[k - 1]["status"]] for k in range(1, 7)]
    # Window 1's cohort (the week before launch) has no predictions at all: no_data (issue 10).
    assert progress[0].split()[2] == "no_data" and progress[1].split()[2] == "healthy"
    assert runs[4]["readiness"] == "not_ready"  # the feed break of window 5, found in order
    assert lines[-1].startswith("backfilled 6 windows of credit_default")

    # Airflow's Grid view tells the story too: each DAG run's note is its verdict.
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        notes = {r.run_id: r.note for r in session.scalars(
            sa.select(DagRun).where(DagRun.dag_id == "gapwatch__credit_default"))}
    assert [notes.get(r["airflow_run_id"], "").split("**")[1] for r in runs] == [
        f"gapwatch: {STATUS_LABELS[fleet_status(r['status'])]}" for r in runs]
    assert "not ready" in notes[runs[4]["airflow_run_id"]] and "/gapwatch/health/models/credit_default" in notes[
        runs[4]["airflow_run_id"]]
    # A rerun of a window keeps its run id: the links in earlier messages still open it.
    assert cli.main(["backfill", "credit_default", "--start", "2026-01-05", "--end", "2026-01-12"]) == 0
    with create_session() as session:
        rerun = session.scalars(sa.select(DagRun).where(DagRun.dag_id == "gapwatch__credit_default",
                                                        DagRun.run_id == runs[0]["airflow_run_id"])).all()
    assert len(rerun) == 1 and str(rerun[0].state) in ("success", "DagRunState.SUCCESS")


def test_backfill_refuses_a_range_without_a_whole_window(airflow_db, demo_env: Path, capsys) -> None:
    assert cli.main(["backfill", "credit_default", "--start", "2026-01-06", "--end", "2026-01-12"]) == 1
    assert "no whole window of credit_default's schedule" in capsys.readouterr().out
    assert cli.main(["backfill", "credit_default", "--start", "2026-01-12", "--end", "2026-01-05"]) == 2


def test_the_logical_date_of_a_window_is_its_end_and_other_windows_are_refused() -> None:
    from airflow.serialization.encoders import coerce_to_core_timetable

    from gapwatch.airflow.backfill import BackfillError, logical_date_for
    from gapwatch.airflow.dags import build_dag
    from gapwatch.spec import load_specs
    from gapwatch.window import Window

    dag = build_dag(load_specs().by_name("credit_default"))
    start, end = window_bounds(3)
    assert logical_date_for(dag, Window(start, end)) == end
    # What Airflow 3 does with the window's *start* as the logical date: the window before.
    before = coerce_to_core_timetable(dag.timetable).infer_manual_data_interval(run_after=start)
    assert (before.start, before.end) == (window_bounds(2)[0], start)
    with pytest.raises(BackfillError, match="not the window"):
        logical_date_for(dag, Window(start + timedelta(days=1), end + timedelta(days=1)))
