"""Replaying a monitor's history through its real DAG, one window at a time, in order.

``gapwatch backfill MODEL --start --end`` onboards a model that already has months of predictions:
every window of the monitor's schedule inside ``[start, end)`` runs through the same DAG the
scheduler runs (``dag.test()``, in this process, on Airflow's metadata database), oldest first,
so incidents, streaks and tickets build up exactly as they would have live.

Airflow 3 infers a manual run's data interval from its logical date: for a
``CronDataIntervalTimetable`` it is the last *complete* interval ending at or before that date
(``infer_manual_data_interval``). So the logical date that covers a window is the window's
**end**; its start would run the window before. ``logical_date_for`` asks the DAG's own timetable
and refuses a window the schedule cannot produce, and every run's interval is checked after it.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from gapwatch import store
from gapwatch.window import Window, as_utc, schedule_windows

if TYPE_CHECKING:
    from airflow.sdk import DAG

    from gapwatch.spec import MonitorSpec


class BackfillError(RuntimeError):
    """A backfill that cannot start, or a window whose DAG run did not succeed."""


def logical_date_for(dag: DAG, window: Window) -> datetime:
    """The logical date whose manual run of ``dag`` covers exactly ``window``.

    Raises:
        BackfillError: when the DAG's timetable would give another interval (a window that is
            not one of the schedule's).
    """
    import pendulum

    # The same question dag.test() asks (the Task SDK's timetable is turned into the core one
    # that knows how to infer a manual run's interval).
    from airflow.serialization.encoders import coerce_to_core_timetable

    logical_date = pendulum.instance(window.end)
    timetable = coerce_to_core_timetable(dag.timetable)
    interval = timetable.infer_manual_data_interval(run_after=logical_date)
    if (as_utc(interval.start), as_utc(interval.end)) != (window.start, window.end):
        raise BackfillError(
            f"{dag.dag_id}: a run at {window.end.isoformat()} covers {interval.start} to "
            f"{interval.end}, not the window {window.start.isoformat()} to {window.end.isoformat()}"
        )
    return logical_date


def run_dag_for_window(dag: DAG, logical_date: datetime) -> Any:
    """``dag.test()`` for the window ending at ``logical_date``, under a run id that names it.

    Airflow 3.3's ``dag.test()`` takes no ``run_id``: it names the run ``manual__<run_after>``,
    and ``run_after`` defaults to the clock, so every rerun got a new id while the earlier run
    (the one messages linked to) was deleted: a 404. With ``run_after`` = the logical date (the
    window's end) the id is ``manual__<window end>``, the same on every rerun of the window, and
    ``dag.test()`` replaces the earlier run of that logical date under the same id.

    Each task's log is written where the UI reads it (:mod:`gapwatch.airflow.task_logs`:
    ``dag.test()`` itself writes none), so the run a message links to has its logs.
    """
    from gapwatch.airflow import task_logs

    with task_logs.written():
        return dag.test(logical_date=logical_date, run_after=logical_date)


def _succeeded(dag_run: Any) -> bool:
    return str(getattr(dag_run, "state", "")).lower().endswith("success")


def _run_status(spec: MonitorSpec, window: Window) -> str:
    """The status the run recorded for the window (healthy, degraded, ...)."""
    runs = store.runs
    with store.engine().connect() as conn:
        status = conn.execute(
            sa.select(runs.c.status).where(runs.c.monitor == spec.name, runs.c.window_start == window.start)
        ).scalar()
    return str(status) if status is not None else "no run recorded"


def _quiet_airflow() -> None:
    # dag.test() logs every task at INFO; the progress lines are what a user wants to read.
    logging.getLogger("airflow").setLevel(logging.WARNING)
    # Airflow's own import of starlette's test client warns on every start; not ours to fix.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")


def backfill(
    spec: MonitorSpec,
    start: datetime,
    end: datetime,
    *,
    progress: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Run every window of the monitor's schedule inside ``[start, end)`` through its DAG, in order.

    Args:
        spec: the monitor.
        start: the first window starts at the first schedule tick at or after it.
        end: the last window ends at or before it (partial windows are left out).
        progress: called with one line per window, e.g. ``[3/6] 2026-01-19 healthy``.

    Returns:
        One ``{"window_start", "window_end", "status", "run_id"}`` per window, in order.

    Raises:
        BackfillError: no whole window in the range, or a DAG run that did not succeed (the
            windows after it are not run: their incidents would build on a missing window).
    """
    from gapwatch.airflow.dags import build_dag

    windows = schedule_windows(spec.schedule, start, end)
    if not windows:
        raise BackfillError(
            f"no whole window of {spec.name}'s schedule ({spec.schedule!r}) lies in "
            f"[{as_utc(start).isoformat()}, {as_utc(end).isoformat()})"
        )
    _quiet_airflow()
    dag = build_dag(spec)
    done: list[dict[str, Any]] = []
    for index, window in enumerate(windows, start=1):
        started = time.monotonic()
        dag_run = run_dag_for_window(dag, logical_date_for(dag, window))
        label = f"[{index}/{len(windows)}] {window.start.date().isoformat()}"
        if not _succeeded(dag_run):
            progress(f"{label} DAG run {getattr(dag_run, 'state', '?')}")
            raise BackfillError(f"{spec.dag_id}: the run for {window.start.date()} ended "
                                f"{getattr(dag_run, 'state', '?')}; later windows were not run")
        if as_utc(dag_run.data_interval_start) != window.start:
            raise BackfillError(f"{spec.dag_id}: ran {dag_run.data_interval_start}, expected {window.start}")
        status = _run_status(spec, window)
        progress(f"{label} {status} ({time.monotonic() - started:.0f}s)")
        done.append({"window_start": window.start, "window_end": window.end, "status": status,
                     "run_id": getattr(dag_run, "run_id", None)})
    return done
