"""The fleet's health, read from the gapwatch store: what the Model Health page and its API show.

Pure Python over the store (SQLAlchemy Core) and the monitor specs; no Airflow import, so the same
functions serve the Airflow plugin, the CLI and the tests. Airflow-only facts (the state of each
monitor DAG's latest run) are passed in by the caller.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gapwatch import store
from gapwatch.catalog import OPEN_STATES, OWNER_ROLES, TREND_ON_CHARTS, FleetStatus, moved_within
from gapwatch.health.palette import KIND_LABELS, STATUS_LABELS, fleet_status
from gapwatch.health.series import banded, performance_series
from gapwatch.health.staleness import stale_reason
from gapwatch.readiness.docs import data_docs_link
from gapwatch.spec import MonitorSpec, SpecError, SpecSet, load_specs

FAILED_DAG_RUN_STATES = {"failed"}  # Airflow's DagRunState that means the run did not publish


@dataclass(frozen=True)
class DagRunState:
    """The latest Airflow run of a monitor DAG, as the caller (the plugin) found it."""

    run_id: str
    state: str
    logical_date: datetime | None = None
    run_after: datetime | None = None  # when Airflow ran (or will run) it: the monitor's last activity


def dag_run_path(dag_id: str, run_id: str | None = None) -> str:
    """The Airflow UI path (relative to the UI root, no leading slash) of a DAG or one of its runs."""
    base = f"dags/{dag_id}"
    return f"{base}/runs/{quote(run_id, safe='')}" if run_id else base


def _owners(spec: MonitorSpec) -> dict[str, dict[str, str | None]]:
    people = {role: getattr(spec.owners, role) for role in OWNER_ROLES}
    return {
        role: {"name": person.name, "email": str(person.email), "slack_channel": person.slack_channel}
        for role, person in people.items()
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _latest_runs(conn: Connection) -> dict[str, dict[str, Any]]:
    runs = store.runs
    newest = (
        sa.select(runs.c.monitor, sa.func.max(runs.c.window_start).label("window_start"))
        .group_by(runs.c.monitor)
        .subquery()
    )
    query = sa.select(runs).join(
        newest,
        sa.and_(runs.c.monitor == newest.c.monitor, runs.c.window_start == newest.c.window_start),
    )
    return {r["monitor"]: r for r in store.rows(conn, query)}


def _open_incidents(conn: Connection) -> dict[str, list[dict[str, Any]]]:
    inc = store.incidents
    found = store.rows(
        conn,
        sa.select(inc.c.id, inc.c.monitor, inc.c.kind, inc.c.severity, inc.c.status, inc.c.title,
                  inc.c.acknowledged_by, inc.c.snoozed_until)
        .where(inc.c.status.in_(OPEN_STATES))
        .order_by(inc.c.id),
    )
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in found:
        grouped[row["monitor"]].append(row)
    return grouped


def _trends(conn: Connection, n: int = TREND_ON_CHARTS) -> dict[str, list[dict[str, Any]]]:
    """The main metric over each monitor's last ``n`` windows (for the sparkline)."""
    runs = store.runs
    ranked = sa.select(
        runs.c.monitor,
        runs.c.window_start,
        runs.c.main_metric,
        runs.c.main_value,
        runs.c.status,
        sa.func.row_number()
        .over(partition_by=runs.c.monitor, order_by=runs.c.window_start.desc())
        .label("recency"),
    ).subquery()
    query = (
        sa.select(ranked)
        .where(ranked.c.recency <= n)
        .order_by(ranked.c.monitor, ranked.c.window_start)
    )
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in store.rows(conn, query):
        grouped[row["monitor"]].append(
            {
                "window": _iso(row["window_start"]),
                "metric": row["main_metric"],
                "value": row["main_value"],
                "status": row["status"],
            }
        )
    return grouped


def _status(
    spec: MonitorSpec | None, latest: dict[str, Any] | None, dag_run: DagRunState | None,
    *, paused: bool = False, now: datetime | None = None,
) -> tuple[FleetStatus, str]:
    """(status, why) for one monitor from its newest stored run and its newest DAG run."""
    if spec is None:
        return FleetStatus.MONITOR_BROKEN, "the store has runs but no monitor spec with this name is loaded"
    # The newest DAG run failed before publishing: whatever the store says is out of date.
    if (
        dag_run is not None
        and dag_run.state in FAILED_DAG_RUN_STATES
        and (latest is None or latest.get("airflow_run_id") != dag_run.run_id)
    ):
        return FleetStatus.MONITOR_BROKEN, f"the latest DAG run {dag_run.run_id} ended {dag_run.state}"
    stale = stale_reason(spec, latest, dag_run.run_after if dag_run else None, paused=paused,
                         now=now or store.utcnow())
    if stale:
        return FleetStatus.STALE, stale
    if latest is None:
        return FleetStatus.NO_RUNS, "the monitor has not published a run yet"
    status = fleet_status(latest["status"])
    return status, _why(status, latest)


def _why(status: FleetStatus, latest: dict[str, Any]) -> str:
    """Why a monitor shows ``status``, from its newest stored run, in a few words."""
    summary = latest.get("summary") or {}
    if status == FleetStatus.DATA_NOT_READY:
        failing = summary.get("readiness", {}).get("critical_failures", [])
        why = "readiness suite failed: " + "; ".join(failing[:2]) if failing else "readiness suite failed"
    elif status == FleetStatus.DEGRADED:
        breached = summary.get("performance", {}).get("breached") or [latest["main_metric"]]
        value = latest["main_value"] if breached[0] == latest["main_metric"] else None
        why = (f"{breached[0]} {value:.3f} breaches its threshold" if isinstance(value, float)
               else ", ".join(breached) + " breach their thresholds")
    elif status == FleetStatus.NO_DATA:
        why = "no rows in the window" if not latest.get("rows") else "no predictions in the cohort to judge"
    elif status == FleetStatus.NOT_COMPUTABLE:
        parts = (summary.get("performance", {}), summary.get("drift", {}))
        why = "; ".join(p["reason"] for p in parts if p.get("status") == "not_computable" and p.get("reason"))
        why = why or "a metric or a watched column could not be computed"
    elif status == FleetStatus.AT_RISK:
        estimate = summary.get("performance", {}).get("estimate") or {}
        value = (estimate.get("row") or {}).get("value")
        why = (f"estimated {estimate.get('metric', latest['main_metric'])} {value:.3f} (no labels yet) "
               "breaches its threshold" if isinstance(value, float) else "the label-free estimate breaches")
    elif status == FleetStatus.DRIFTING:
        drift = summary.get("drift", {})
        drifted = [d["column"] for d in drift.get("drifted", [])]
        drifted += [moved_within(d) for d in (drift.get("segments") or {}).get("drifted", [])]
        why = "drift in " + ", ".join(drifted[:3])
    elif status == FleetStatus.AWAITING_LABELS:
        why = f"{latest['labeled']} matured labels, {latest['pending']} pending"
    elif status == FleetStatus.HEALTHY:
        why = "all checks passed"
    else:
        why = f"unknown run status {latest['status']!r}"
    return why


def fleet(
    conn: Connection,
    specs: SpecSet | None = None,
    dag_runs: dict[str, DagRunState] | None = None,
    *,
    paused: set[str] | frozenset[str] = frozenset(),
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """One row per monitored model: owners, status, open incidents, last run and a metric trend.

    Args:
        conn: A connection to the gapwatch store.
        specs: The loaded monitor specs (``load_specs()`` when omitted). A spec file that fails to
            load shows up as a broken monitor named after its file.
        dag_runs: The newest Airflow run per DAG id, when the caller can see Airflow's metadata;
            a failed one newer than the last published run marks the monitor broken.
        paused: The DAG ids Airflow has paused (their monitors are stale).
        now: The clock (tests pin it); a monitor without a run for two schedule intervals is stale.

    Returns:
        JSON-safe rows sorted worst status first, then by name.
    """
    specs = specs if specs is not None else load_specs()
    dag_runs = dag_runs or {}
    latest = _latest_runs(conn)
    incidents = _open_incidents(conn)
    trends = _trends(conn)
    by_name: dict[str, MonitorSpec | None] = {s.name: s for s in specs.specs}
    for monitor in latest:
        by_name.setdefault(monitor, None)

    rows: list[dict[str, Any]] = []
    for name, spec in by_name.items():
        dag_id = spec.dag_id if spec else f"gapwatch__{name}"
        last = latest.get(name)
        status, why = _status(spec, last, dag_runs.get(dag_id), paused=dag_id in paused, now=now)
        rows.append(
            {
                "model": name,
                "version": spec.version if spec else None,
                "task": spec.task if spec else None,
                "dag_id": dag_id,
                "owners": _owners(spec) if spec else {},
                "status": status,
                "status_label": STATUS_LABELS[status],
                "status_reason": why,
                "open_incidents": [
                    {**{k: i[k] for k in ("id", "kind", "severity", "status", "title", "acknowledged_by")},
                     "snoozed_until": _iso(i["snoozed_until"]),
                     "kind_label": KIND_LABELS.get(i["kind"], i["kind"])}
                    for i in incidents.get(name, [])
                ],
                "last_run": _run_row(last, dag_id) if last else None,
                "main_metric": spec.main_metric.name if spec else (last or {}).get("main_metric"),
                "trend": trends.get(name, []),
            }
        )
    rows += [_spec_error_row(error) for error in specs.errors]
    order = list(FleetStatus)
    return sorted(rows, key=lambda r: (order.index(r["status"]), r["model"]))


def _spec_error_row(error: SpecError) -> dict[str, Any]:
    name = error.path.stem
    return {
        "model": name,
        "version": None,
        "task": None,
        "dag_id": f"gapwatch__{name}",
        "owners": {},
        "status": FleetStatus.MONITOR_BROKEN,
        "status_label": STATUS_LABELS[FleetStatus.MONITOR_BROKEN],
        "status_reason": f"spec {error.path.name} does not load: " + "; ".join(error.problems),
        "open_incidents": [],
        "last_run": None,
        "main_metric": None,
        "trend": [],
    }


def _run_row(run: dict[str, Any], dag_id: str) -> dict[str, Any]:
    return {
        "window_start": _iso(run["window_start"]),
        "window_end": _iso(run["window_end"]),
        "status": run["status"],
        "fleet_status": fleet_status(run["status"]),  # the badge the run's status shows as
        "readiness": run["readiness"],
        "performance": run["performance"],
        "drift": run["drift"],
        "main_metric": run["main_metric"],
        "main_value": run["main_value"],
        "rows": run["rows"],
        "labeled": run["labeled"],
        "pending": run["pending"],
        "updated_at": _iso(run["updated_at"]),
        "airflow_run_id": run["airflow_run_id"],
        "dag_run_path": dag_run_path(dag_id, run["airflow_run_id"]),
    }


def model_detail(
    conn: Connection,
    name: str,
    specs: SpecSet | None = None,
    dag_runs: dict[str, DagRunState] | None = None,
    *,
    paused: set[str] | frozenset[str] = frozenset(),
) -> dict[str, Any] | None:
    """Everything the per-model page shows, or None when the model is neither specified nor stored.

    Returns:
        ``summary`` (the fleet row), ``spec`` facts, ``metrics`` (per window and metric: value,
        95% band, baseline, threshold, status), ``drift`` (per window, column and method),
        ``segment_drift`` and ``segment_check`` (:func:`_segment_drift`),
        ``readiness`` (validations with Data Docs paths), ``runs``, ``incidents`` (each with its
        audit events) and ``tickets``. All JSON-safe.
    """
    specs = specs if specs is not None else load_specs()
    summary = next((r for r in fleet(conn, specs, dag_runs, paused=paused) if r["model"] == name), None)
    if summary is None:
        return None
    spec = next((s for s in specs.specs if s.name == name), None)
    dag_id = summary["dag_id"]
    runs = _runs(conn, name)
    main_metric = summary["main_metric"]
    return {
        "summary": summary,
        "spec": _spec_facts(spec),
        "metrics": _metric_rows(conn, name),
        "performance_series": performance_series(runs, main_metric) if main_metric else [],
        "drift": _drift_rows(conn, name),
        **_segment_drift(runs),
        "readiness": _readiness_rows(conn, name),
        "runs": [_run_row(r, dag_id) for r in runs],
        "incidents": _incidents(conn, name, dag_id),
        "tickets": _tickets(conn, name),
    }


SEGMENT_DRIFT_ROWS = 50  # rows of the "within segments" table, newest window first


def _segment_drift(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """``segment_drift``: the columns that moved within a segment only (not in the whole
    window), newest window first, from each run's drift summary; ``segment_check``: the newest
    run's segment verdict (how many judged, which had too few rows), None without one."""
    rows: list[dict[str, Any]] = []
    check = None
    for run in reversed(runs):
        found = (((run.get("summary") or {}).get("drift") or {}).get("segments")) or {}
        if found and check is None:
            check = {"window_start": _iso(run["window_start"]), "judged": found.get("judged", 0),
                     "too_few_rows": found.get("too_few_rows", [])}
        rows += [{"window_start": _iso(run["window_start"]), **d} for d in found.get("drifted", [])]
    return {"segment_drift": rows[:SEGMENT_DRIFT_ROWS], "segment_check": check}


def _spec_facts(spec: MonitorSpec | None) -> dict[str, Any] | None:
    if spec is None:
        return None
    return {
        "description": spec.description,
        "schedule": spec.schedule,
        "label_delay": spec.ground_truth.delay.describe(),
        "runbook_url": spec.runbook_url,
        "fallback": spec.fallback,
        "readiness_suite": spec.readiness.suite,
        "metrics": [m.model_dump() | {"higher_is_better": m.higher_is_better} for m in spec.metrics],
        "drift": spec.drift.model_dump(),
        "baseline": {"start": _iso(spec.baseline.start), "end": _iso(spec.baseline.end)},
        "segments": spec.segments,
    }


def _runs(conn: Connection, name: str) -> list[dict[str, Any]]:
    runs = store.runs
    return store.rows(conn, sa.select(runs).where(runs.c.monitor == name).order_by(runs.c.window_start))


def _metric_rows(conn: Connection, name: str, segment: str = "*") -> list[dict[str, Any]]:
    mv = store.metric_values
    found = store.rows(
        conn,
        sa.select(mv)
        .where(mv.c.monitor == name, mv.c.segment == segment)
        .order_by(mv.c.metric, mv.c.window_start),
    )
    return [{**banded(r), "metric": r["metric"]} for r in found]


def _drift_rows(conn: Connection, name: str) -> list[dict[str, Any]]:
    dv = store.drift_values
    found = store.rows(
        conn,
        sa.select(dv).where(dv.c.monitor == name).order_by(dv.c.window_start, dv.c.column, dv.c.method),
    )
    return [
        {
            "window": _iso(r["window_start"]),
            "column": r["column"],
            "method": r["method"],
            "value": r["value"],
            "threshold": r["threshold"],
            # How far past its threshold, so PSI and KS share one colour scale.
            "ratio": r["value"] / r["threshold"] if r["value"] is not None and r["threshold"] else None,
            "drifted": bool(r["drifted"]),
        }
        for r in found
    ]


def _readiness_rows(conn: Connection, name: str) -> list[dict[str, Any]]:
    v = store.validations
    found = store.rows(
        conn,
        sa.select(
            v.c.id,
            v.c.window_start,
            v.c.suite,
            v.c.success,
            v.c.evaluated_rows,
            v.c.critical_failures,
            v.c.warnings,
            v.c.result,
            v.c.data_docs_path,
        )
        .where(v.c.monitor == name)
        .order_by(v.c.window_start),
    )
    out = []
    for r in found:
        result = r["result"] or {}
        failing = [
            o.get("description") or o.get("expectation_type")
            for o in result.get("outcomes", result.get("results", []))
            if isinstance(o, dict) and not o.get("success", True)
        ]
        out.append(
            {
                "id": r["id"],
                "window": _iso(r["window_start"]),
                "suite": r["suite"],
                "success": bool(r["success"]),
                "evaluated_rows": r["evaluated_rows"],
                "critical_failures": r["critical_failures"],
                "warnings": r["warnings"],
                "failing": [f for f in failing if f],
                "data_docs_path": r["data_docs_path"],
                "data_docs_link": data_docs_link(r["data_docs_path"]),
            }
        )
    return out


def _incidents(conn: Connection, name: str, dag_id: str) -> list[dict[str, Any]]:
    inc, ev = store.incidents, store.incident_events
    incidents = store.rows(conn, sa.select(inc).where(inc.c.monitor == name).order_by(inc.c.id))
    events = store.rows(
        conn,
        sa.select(ev)
        .join(inc, inc.c.id == ev.c.incident_id)
        .where(inc.c.monitor == name)
        .order_by(ev.c.id),
    )
    by_incident: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for e in events:
        by_incident[e["incident_id"]].append(
            {
                "at": _iso(e["at"]),
                "window": _iso(e["window_start"]),
                "actor": e["actor"],
                "action": e["action"],
                "detail": e["detail"],
            }
        )
    return [
        {
            "id": i["id"],
            "fingerprint": i["fingerprint"],
            "kind": i["kind"],
            "kind_label": KIND_LABELS.get(i["kind"], i["kind"]),
            "check": i["check"],
            "segment": i["segment"],
            "severity": i["severity"],
            "status": i["status"],
            "owner_role": i["owner_role"],
            "title": i["title"],
            "opened_window": _iso(i["opened_window"]),
            "last_breach_window": _iso(i["last_breach_window"]),
            "resolved_window": _iso(i["resolved_window"]),
            "opened_at": _iso(i["opened_at"]),
            "resolved_at": _iso(i["resolved_at"]),
            "acknowledged_by": i["acknowledged_by"],
            "acknowledged_at": _iso(i["acknowledged_at"]),
            "snoozed_until": _iso(i["snoozed_until"]),
            "events": by_incident.get(i["id"], []),
        }
        for i in incidents
    ]


def _tickets(conn: Connection, name: str) -> list[dict[str, Any]]:
    t = store.tickets
    found = store.rows(conn, sa.select(t).where(t.c.monitor == name).order_by(t.c.id))
    return [
        {
            "id": r["id"],
            "kind": r["kind"],
            "status": r["status"],
            "title": r["title"],
            "incident_id": r["incident_id"],
            "opened_window": _iso(r["opened_window"]),
            "created_at": _iso(r["created_at"]),
            "trend": (r["evidence"] or {}).get("trend", []),
        }
        for r in found
    ]
