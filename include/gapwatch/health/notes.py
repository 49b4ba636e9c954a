"""The note on a monitor's Airflow DAG run: the run's verdict in a line, so Airflow's own Grid view
tells a degraded model from a healthy one (every task succeeds either way)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gapwatch import config, store
from gapwatch.health.model import _why
from gapwatch.health.palette import STATUS_LABELS, fleet_status
from gapwatch.readiness.docs import HEALTH_MOUNT


def run_note(run: dict[str, Any]) -> str:
    """The note for one published run: verdict, why, the window (dates) and where to look.

    Args:
        run: A stored ``runs`` row (with ``summary``).
    """
    status = fleet_status(run["status"])
    start, end = store.as_utc(run["window_start"]), store.as_utc(run["window_end"])
    url = f"{config.settings().airflow_url}{HEALTH_MOUNT}/models/{run['monitor']}"
    return (
        f"**gapwatch: {STATUS_LABELS[status]}**: {_why(status, run)}\n\n"
        f"Window {start:%Y-%m-%d} to {end:%Y-%m-%d} (window dates, UTC). [Model Health]({url})"
    )


def note_for_dag_run(conn: Connection, dag_id: str, run_id: str) -> str | None:
    """The note for Airflow's run ``run_id`` of ``dag_id``, or None when it published nothing."""
    if not dag_id.startswith("gapwatch__"):
        return None
    runs = store.runs
    found = store.rows(conn, sa.select(runs).where(runs.c.monitor == dag_id.removeprefix("gapwatch__"),
                                                   runs.c.airflow_run_id == run_id))
    return run_note(found[0]) if found else None
