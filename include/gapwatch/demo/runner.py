"""Runs the demo through Airflow (``dag.test()`` per window) and prints what an on-call engineer
would want to know afterwards. Imported only by ``gapwatch demo run|summary``."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import sqlalchemy as sa

from gapwatch import config, store
from gapwatch.catalog import IncidentEvent, moved_within
from gapwatch.demo.timeline import DEMO_START, N_WINDOWS, WINDOW
from gapwatch.health.adoption import summary_cells

# The audit events the summary marks on their window, and the word it uses for each.
_SUMMARY_EVENTS = {
    IncidentEvent.OPENED: "opened", IncidentEvent.AUTO_RESOLVED: "resolved", IncidentEvent.TICKET_RAISED: "ticket",
}


def run_demo(windows: int | None = None, directory: str | None = None) -> int:
    """One real Airflow DAG run per monitor and weekly window, in order, in this process."""
    import logging
    import warnings

    from gapwatch.airflow.backfill import run_dag_for_window
    from gapwatch.airflow.dags import monitor_dags

    logging.getLogger("airflow").setLevel(logging.WARNING)
    # Airflow's own import of starlette's test client warns on every start; not ours to fix.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    dags = monitor_dags(directory)
    count = windows or N_WINDOWS
    started = time.monotonic()
    for k in range(1, count + 1):
        # A manual run at a window's end covers the week before it (CronDataIntervalTimetable).
        window_end = DEMO_START + k * WINDOW
        for dag_id, dag in dags.items():
            t0 = time.monotonic()
            dag_run = run_dag_for_window(dag, window_end)  # a run id naming the window, rerun-safe
            state = getattr(dag_run, "state", "?")
            print(f"  {dag_id} window {k:2d} ({(window_end - WINDOW).date()}): "
                  f"{state} in {time.monotonic() - t0:.1f}s", flush=True)
            if str(state) != "success" and not str(state).endswith("SUCCESS"):
                print(f"gapwatch demo: {dag_id} run for window {k} ended {state}")
                return 1
    print(f"ran {count} windows x {len(dags)} monitors in {time.monotonic() - started:.0f}s")
    return 0


def _drift_cell(verdict: str, drift: dict[str, Any]) -> str:
    """The drift verdict and the first three columns that moved (within a segment: ``moved_within``)."""
    moved = [d["column"] for d in drift.get("drifted", [])]
    moved += [moved_within(d) for d in (drift.get("segments") or {}).get("drifted", [])]
    return verdict + (f" [{','.join(moved[:3])}]" if moved else "")


def print_summary() -> None:
    engine = store.engine()
    with engine.connect() as conn:
        runs = store.rows(conn, sa.select(store.runs).order_by(store.runs.c.monitor, store.runs.c.window_start))
        incidents = store.rows(conn, sa.select(store.incidents).order_by(store.incidents.c.id))
        tickets = store.rows(conn, sa.select(store.tickets).order_by(store.tickets.c.id))
        messages = store.rows(conn, sa.select(store.outbox).order_by(store.outbox.c.id))
        events = store.rows(
            conn, sa.select(store.incident_events, store.incidents.c.monitor).join(store.incidents)
            .where(store.incident_events.c.action.in_(list(_SUMMARY_EVENTS)))
            .order_by(store.incident_events.c.id),
        )
        adoption = summary_cells(conn)
    # What happened in each window comes from the audit trail, so a rerun shows it too.
    changes: dict[tuple[str, Any], list[str]] = {}
    for e in events:
        label = _SUMMARY_EVENTS[e["action"]]
        ref = e["detail"].get("ticket", e["incident_id"])
        changes.setdefault((e["monitor"], e["window_start"]), []).append(f"{label} #{ref}")

    print("\n=== gapwatch demo summary ===")
    monitor = None
    for r in runs:
        if r["monitor"] != monitor:
            monitor = r["monitor"]
            print(f"\n{monitor}  (statistics computed {_WHERE.get(r['summary'].get('compute_in'), '?')})")
            print(f"  {'window':10}  {'readiness':9}  {'performance':30}  {'drift':34}  {'adoption':30}  status")
        perf = r["performance"]
        if r["main_value"] is not None:
            perf = f"{r['main_metric']} {r['main_value']:.3f} ({perf})"
        drift_text = _drift_cell(r["drift"], r["summary"]["drift"])
        print(f"  {r['window_start'].date()!s:10}  {r['readiness']:9}  {perf:30}  {drift_text:34}  "
              f"{adoption.get((r['monitor'], r['window_start']), '-'):30}  "
              f"{r['status']}{_changes(changes.get((r['monitor'], r['window_start']), []))}")

    print(f"\nIncidents ({len(incidents)}):")
    for i in incidents:
        resolved = f", resolved {i['resolved_window'].date()}" if i["resolved_window"] else ""
        print(f"  #{i['id']} [{i['status']}] {i['severity']} {i['kind']} -> {i['owner_role']}: "
              f"{i['title']} (opened {i['opened_window'].date()}{resolved})")
    print(f"\nMaintenance tickets ({len(tickets)}):")
    for t in tickets:
        print(f"  #{t['id']} [{t['status']}] {t['kind']}: {t['title']} (opened {t['opened_window'].date()})")
    by_status = Counter(m["status"] for m in messages)
    print(f"\nMessages ({len(messages)}: {dict(by_status)}):")
    for m in messages:
        print(f"  #{m['id']} {m['channel']:5} -> {m['recipient_role']:15} {m['subject']}")

    print(
        f"""
Where to look next:
  gapwatch incidents list | tickets list | messages list | runs list   (add --json)
  delivered messages (file sink): {config.settings().outbox_file}
  store: {config.settings().db_url}
  Airflow UI with these runs: make airflow
"""
    )


_WHERE = {"database": "in the source database", "memory": "in memory from extracts"}


def _changes(notes: list[str]) -> str:
    return f"  <- {'; '.join(notes)}" if notes else ""
