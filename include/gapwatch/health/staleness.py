"""When a monitor is stale: its DAG is paused, or it missed two runs of its schedule. Then every
other status it shows is out of date, so Model Health says so first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from croniter import croniter

from gapwatch import store
from gapwatch.spec import MonitorSpec

STALE_AFTER_INTERVALS = 2  # a monitor that missed this many schedule ticks is not watching


def stale_reason(
    spec: MonitorSpec, latest: dict[str, Any] | None, run_after: datetime | None, *, paused: bool,
    now: datetime,
) -> str | None:
    """Why a monitor is stale: it missed two runs of its schedule, or its DAG is paused and missed
    the next one (a paused DAG that just ran has missed nothing yet: the demo pauses its DAGs
    after running them; a paused DAG that never ran is stale at once).

    "Ran" is the wall-clock time of its last activity: the newest published run's ``updated_at``
    or the newest DAG run's ``run_after``, whichever is later (a backfill of old windows is fresh).

    Returns:
        The reason in words, or None when the monitor is running on time (or never ran).
    """
    seen = [t for t in ((latest or {}).get("updated_at"), run_after) if t]
    if not seen:
        return f"the DAG {spec.dag_id} is paused and has never run" if paused else None
    last = max(store.as_utc(t) for t in seen)
    ticks = croniter(spec.schedule, last)
    missed = 1 if paused else STALE_AFTER_INTERVALS
    due = store.as_utc([ticks.get_next(datetime) for _ in range(missed)][-1])
    if now <= due:
        return None
    since = f"no run since {last:%Y-%m-%d %H:%M} UTC (clock time)"
    if paused:
        return f"the DAG {spec.dag_id} is paused: {since}; its run due {due:%Y-%m-%d %H:%M} UTC did not happen"
    return f"{since}; {missed} runs of schedule '{spec.schedule}' were due by {due:%Y-%m-%d %H:%M} UTC"
