"""Incidents and maintenance tickets in the store: findings in, lifecycle changes and queued
messages out.

The decisions are pure functions in :mod:`gapwatch.policy` (what a finding is, the streaks, the
state machine); this module does their I/O: it reads the stored verdicts and incidents, asks
:func:`gapwatch.policy.next_step`, and writes the change, its audit event and its messages in the
caller's transaction (the outbox), so nothing is announced that did not happen and nothing that
happened goes unannounced. The database allows at most one unresolved incident per fingerprint.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gapwatch import config, outbox, policy, store
from gapwatch.catalog import (
    JUDGED,
    OPEN_STATES,
    IncidentEvent,
    IncidentState,
    Kind,
    Role,
)
from gapwatch.incidents import messages, routing, tickets
from gapwatch.incidents.audit import findings_trend, record_event
from gapwatch.policy import Action, Decision
from gapwatch.spec import MonitorSpec

# Enough history for any streak a policy asks for; older verdicts cannot change the decision.
STREAK_HISTORY = 100


def dag_run_link(spec: MonitorSpec, run_id: str | None) -> str:
    base = f"{config.settings().airflow_url}/dags/{spec.dag_id}"
    return f"{base}/runs/{quote(run_id, safe='')}" if run_id else base


def apply_findings(
    conn: Connection, spec: MonitorSpec, window: Any, findings: list[dict[str, Any]], *, run_link: str
) -> list[dict[str, Any]]:
    """Store the window's findings and move incidents/tickets; returns the changes made.

    A rerun of a window older than the newest published one only refreshes its findings
    (:func:`gapwatch.policy.replays_history`).
    """
    for finding in findings:
        store.upsert(
            conn,
            store.findings,
            {"monitor": spec.name, "window_start": window.start, **finding},
            ["monitor", "window_start", "fingerprint"],
        )
    latest = conn.execute(
        sa.select(sa.func.max(store.runs.c.window_start)).where(store.runs.c.monitor == spec.name)
    ).scalar()
    if policy.replays_history(window.start, store.as_utc(latest)):
        return [{"action": "none", "reason": "rerun of an older window; incidents follow the newest"}]

    changes: list[dict[str, Any]] = []
    for finding in findings:
        changes += _apply_one(conn, spec, window, finding, run_link, findings)
    return changes


# ---------------------------------------------------------------- the state machine's I/O


def _verdicts(conn: Connection, monitor: str, fp: str, window_start: Any) -> list[str]:
    """The check's judged verdicts up to this window, newest first (for the streaks)."""
    f = store.findings
    return list(
        conn.execute(
            sa.select(f.c.status)
            .where(f.c.monitor == monitor, f.c.fingerprint == fp, f.c.window_start <= window_start,
                   f.c.status.in_(JUDGED))
            .order_by(f.c.window_start.desc())
            .limit(STREAK_HISTORY)
        ).scalars()
    )


def _current(conn: Connection, fp: str) -> policy.OpenIncident | None:
    inc = store.incidents
    row = conn.execute(
        sa.select(inc.c.id, inc.c.last_breach_window)
        .where(inc.c.fingerprint == fp, inc.c.status.in_(OPEN_STATES))
    ).first()
    return policy.OpenIncident(row.id, _utc(row.last_breach_window)) if row else None


def _last_resolved(conn: Connection, fp: str) -> policy.ResolvedIncident | None:
    inc = store.incidents
    row = conn.execute(
        sa.select(inc.c.id, inc.c.resolved_window)
        .where(inc.c.fingerprint == fp, inc.c.status == IncidentState.RESOLVED,
               inc.c.resolved_window.is_not(None))
        .order_by(inc.c.resolved_window.desc(), inc.c.id.desc())
        .limit(1)
    ).first()
    return policy.ResolvedIncident(row.id, _utc(row.resolved_window)) if row else None


def _utc(value: datetime | None) -> datetime:
    """A stored window bound, UTC-aware on every backend (it is never NULL where this reads it)."""
    aware = store.as_utc(value)
    assert aware is not None
    return aware


def _decide(
    conn: Connection, spec: MonitorSpec, window: Any, finding: dict[str, Any], *, reopenable: bool = True
) -> tuple[Decision, policy.Streaks]:
    fp = finding["fingerprint"]
    streak = policy.streaks(_verdicts(conn, spec.name, fp, window.start))
    decision = policy.next_step(
        finding, window_start=window.start, current=_current(conn, fp),
        last_resolved=_last_resolved(conn, fp) if reopenable else None, streak=streak,
        rules=policy.Rules.of(spec), ticket_streak=tickets.ticket_streak(conn, spec, window, finding),
    )
    return decision, streak


def _apply_one(
    conn: Connection, spec: MonitorSpec, window: Any, finding: dict[str, Any], run_link: str,
    findings: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Ask the state machine about one finding and carry out its decision."""
    decision, streak = _decide(conn, spec, window, finding)
    changes: list[dict[str, Any]] = []
    if decision.action is Action.REOPEN:
        if _reopen(conn, spec, window, finding, decision, run_link):
            changes.append({"action": IncidentEvent.REOPENED, "incident": decision.incident})
        else:  # another run reopened it meanwhile: decide again without the resolved one
            decision, streak = _decide(conn, spec, window, finding, reopenable=False)
    if decision.action is Action.OPEN:
        opened = _open(conn, spec, window, finding, decision, run_link)
        if opened is None:  # a concurrent run opened it first: this breach continues that one
            decision, streak = _decide(conn, spec, window, finding)
        else:
            changes.append(opened)
            decision = replace(decision, incident=opened["incident"])
    if decision.action is Action.CONTINUE:
        assert decision.incident is not None
        _continue_breach(conn, decision.incident, window, finding, decision.why, streak.breaches)
    elif decision.action is Action.RESOLVE:
        changes.append(_auto_resolve(conn, spec, window, decision, streak.healthy, run_link))
    if decision.ticket is not None and decision.incident is not None:
        failing = policy.failing_metrics(spec, findings) if decision.ticket_streak else []
        breaches = decision.ticket_streak or streak.breaches
        changes += tickets.raise_ticket(conn, spec, window, finding, decision, breaches, run_link, failing)
    return changes


def _open(
    conn: Connection, spec: MonitorSpec, window: Any, finding: dict[str, Any], decision: Decision,
    run_link: str,
) -> dict[str, Any] | None:
    """Open the incident; returns the change, or None when a concurrent run of this monitor
    opened it between our read and our insert (the partial unique index made ours a no-op)."""
    inc = store.incidents
    fp, now = finding["fingerprint"], store.utcnow()
    title = messages.incident_title(spec, finding)
    inserted = store.insert_ignore(
        conn,
        inc,
        {
            "fingerprint": fp,
            "monitor": spec.name,
            "kind": finding["kind"],
            "check": finding["check"],
            "segment": finding["segment"],
            "severity": finding["severity"],
            "status": IncidentState.OPEN,
            "owner_role": policy.OWNER_ROLE[finding["kind"]],
            "title": title,
            "evidence": finding["evidence"],
            "opened_window": window.start,
            "last_breach_window": window.start,
            "opened_at": now,
            "updated_at": now,
            "sla_due_at": now + spec.notifications.ack_sla[finding["severity"]],
        },
        ["fingerprint"],
        where=inc.c.status != IncidentState.RESOLVED,
    )
    if not inserted:
        return None
    incident_id = conn.execute(
        sa.select(inc.c.id).where(inc.c.fingerprint == fp, inc.c.status.in_(OPEN_STATES))
    ).scalar_one()
    record_event(conn, incident_id, window.start, IncidentEvent.OPENED, {"title": title, "run": run_link, "why": decision.why})
    queue_incident_messages(conn, spec, incident_id, IncidentEvent.OPENED, run_link)
    return {"action": IncidentEvent.OPENED, "incident": incident_id, "title": title}


def _continue_breach(
    conn: Connection, incident_id: int, window: Any, finding: dict[str, Any], why: str, breaches: int
) -> None:
    """A further breaching window for an open incident: move its last breach and audit it."""
    inc = store.incidents
    conn.execute(
        inc.update()
        .where(inc.c.id == incident_id)
        .values(last_breach_window=window.start, evidence=finding["evidence"], updated_at=store.utcnow())
    )
    record_event(conn, incident_id, window.start, IncidentEvent.BREACH_CONTINUES,
           {"breaches_in_a_row": breaches, "why": why})


def _auto_resolve(
    conn: Connection, spec: MonitorSpec, window: Any, decision: Decision, healthy: int, run_link: str
) -> dict[str, Any]:
    inc, now = store.incidents, store.utcnow()
    incident_id = decision.incident
    assert incident_id is not None
    conn.execute(
        inc.update()
        .where(inc.c.id == incident_id)
        .values(status=IncidentState.RESOLVED, resolved_window=window.start, resolved_at=now, updated_at=now,
                sla_due_at=None)
    )
    record_event(conn, incident_id, window.start, IncidentEvent.AUTO_RESOLVED, {"healthy_runs": healthy, "why": decision.why})
    tickets.close_tickets(conn, incident_id, window.start, "gapwatch")
    queue_incident_messages(conn, spec, incident_id, IncidentEvent.RESOLVED, run_link, why=decision.why)
    title = conn.execute(sa.select(inc.c.title).where(inc.c.id == incident_id)).scalar_one()
    return {"action": IncidentEvent.RESOLVED, "incident": incident_id, "title": title}


def _reopen(
    conn: Connection, spec: MonitorSpec, window: Any, finding: dict[str, Any], decision: Decision,
    run_link: str,
) -> bool:
    """Reopen the incident resolved within the cool-down; False if another run got there first.

    The partial unique index allows one unresolved incident per fingerprint; the state machine saw
    none, and the guarded UPDATE (``status = 'resolved'``) lets only one run reopen it.
    """
    inc, now = store.incidents, store.utcnow()
    incident_id = decision.incident
    assert incident_id is not None
    resolved_window = conn.execute(sa.select(inc.c.resolved_window).where(inc.c.id == incident_id)).scalar()
    reopened = conn.execute(
        inc.update()
        .where(inc.c.id == incident_id, inc.c.status == IncidentState.RESOLVED)
        .values(
            status=IncidentState.OPEN, resolved_window=None, resolved_at=None, acknowledged_at=None,
            acknowledged_by=None, snoozed_until=None, escalation_level=0,
            reopened_count=inc.c.reopened_count + 1, last_breach_window=window.start,
            evidence=finding["evidence"], updated_at=now,
            sla_due_at=now + spec.notifications.ack_sla[finding["severity"]],
        )
    ).rowcount
    if not reopened:
        return False
    record_event(conn, incident_id, window.start, IncidentEvent.REOPENED,
                 {"resolved_window": _utc(resolved_window).isoformat(), "why": decision.why})
    queue_incident_messages(conn, spec, incident_id, IncidentEvent.REOPENED, run_link, why=decision.why)
    return True


def _event_key(incident: dict[str, Any], event: str, level: int = 0) -> str:
    """Idempotency of an incident event: once per incident, reopen cycle (and escalation level)."""
    cycle = incident.get("reopened_count") or 0
    if event == IncidentEvent.OPENED or (event == IncidentEvent.RESOLVED and cycle == 0):
        return f"incident:{incident['id']}:{event}"
    if event == IncidentEvent.ESCALATED:
        return f"incident:{incident['id']}:escalated:{cycle}:{level}"
    return f"incident:{incident['id']}:{event}:{cycle}"


def queue_incident_messages(
    conn: Connection, spec: MonitorSpec, incident_id: int, event: IncidentEvent, run_link: str,
    *, actor: str = "gapwatch", why: str = "",
) -> None:
    """Queue the messages announcing one incident event for every destination routing gives."""
    incident = _incident(conn, incident_id)
    level = incident["escalation_level"] or 0
    until = max(incident["last_breach_window"], incident["resolved_window"] or incident["last_breach_window"])
    trend = findings_trend(conn, spec, incident["fingerprint"], until)
    message = messages.incident_message(
        spec, incident, event, run_link=run_link, trend=trend, actor=actor, why=why, escalation_level=level
    )
    destinations = routing.incident_destinations(
        spec, kind=incident["kind"], severity=incident["severity"], owner_role=incident["owner_role"],
        event=event, escalation_level=level,
    )
    if (incident["evidence"] or {}).get("likely_cause") == Kind.DATA and event != IncidentEvent.ESCALATED:
        # Attributed to a data failure: the data steward hears about it too, not only the owner.
        seen = {d.key for d in destinations}
        destinations += [d for d in routing.person_destinations(spec, spec.owners.data_steward, Role.DATA_STEWARD)
                         if d.key not in seen]
    for destination in destinations:
        outbox.queue(
            conn, monitor=spec.name, event_key=_event_key(incident, event, level), destination=destination,
            message=message, incident_id=incident_id,
        )


def _incident(conn: Connection, incident_id: int) -> dict[str, Any]:
    found = store.rows(conn, sa.select(store.incidents).where(store.incidents.c.id == incident_id))
    if not found:
        raise KeyError(f"no incident #{incident_id}")
    return found[0]


# ---------------------------------------------------------------- lifecycle by people


def latest_run_link(conn: Connection, spec: MonitorSpec) -> str:
    """The Airflow link of the monitor's newest published run (messages sent outside a run)."""
    run_id = conn.execute(
        sa.select(store.runs.c.airflow_run_id)
        .where(store.runs.c.monitor == spec.name)
        .order_by(store.runs.c.window_start.desc())
        .limit(1)
    ).scalar()
    return dag_run_link(spec, run_id)


def _require(incident: dict[str, Any], states: tuple[str, ...], action: str) -> None:
    if incident["status"] not in states:
        raise ValueError(f"incident #{incident['id']} is {incident['status']}; cannot {action} it")


def _transition(
    conn: Connection, spec: MonitorSpec, incident_id: int, action: IncidentEvent, *, window: datetime | None,
    by: str, why: str, now: datetime, values: dict[str, Any],
) -> dict[str, Any]:
    """A human's lifecycle change: the update, its audit event and its messages, in one place."""
    conn.execute(
        store.incidents.update().where(store.incidents.c.id == incident_id).values(**values, updated_at=now)
    )
    record_event(conn, incident_id, window, action, {"why": why}, actor=by, at=now)
    if values.get("status") == IncidentState.RESOLVED:
        tickets.close_tickets(conn, incident_id, window, by)
    queue_incident_messages(conn, spec, incident_id, action, latest_run_link(conn, spec), actor=by, why=why)
    return _incident(conn, incident_id)


def acknowledge(
    conn: Connection, spec: MonitorSpec, incident_id: int, *, by: str, why: str = "",
    now: datetime | None = None,
) -> dict[str, Any]:
    """Someone owns it now: stops escalation, acknowledges the page, tells the owner who."""
    now = now or store.utcnow()
    incident = _incident(conn, incident_id)
    _require(incident, (IncidentState.OPEN,), "acknowledge")
    return _transition(
        conn, spec, incident_id, IncidentEvent.ACKNOWLEDGED, window=None, by=by, why=why, now=now,
        values={"status": IncidentState.ACKNOWLEDGED, "acknowledged_at": now, "acknowledged_by": by, "sla_due_at": None},
    )


def resolve(
    conn: Connection, spec: MonitorSpec, incident_id: int, *, by: str, why: str = "",
    now: datetime | None = None,
) -> dict[str, Any]:
    """Close it by hand: resolves the page and tells everyone who heard about it."""
    now = now or store.utcnow()
    incident = _incident(conn, incident_id)
    _require(incident, OPEN_STATES, "resolve")
    latest = conn.execute(
        sa.select(sa.func.max(store.runs.c.window_start)).where(store.runs.c.monitor == spec.name)
    ).scalar()
    resolved_window = max(
        store.as_utc(latest) or incident["last_breach_window"], incident["last_breach_window"]
    )
    return _transition(
        conn, spec, incident_id, IncidentEvent.RESOLVED, window=resolved_window, by=by, why=why, now=now,
        values={"status": IncidentState.RESOLVED, "resolved_at": now, "resolved_window": resolved_window,
                "sla_due_at": None},
    )


def snooze(
    conn: Connection, spec: MonitorSpec, incident_id: int, *, until: datetime, by: str, why: str = "",
    now: datetime | None = None,
) -> dict[str, Any]:
    """Quiet until ``until``: no escalation meanwhile; the acknowledgement SLA restarts then."""
    now = now or store.utcnow()
    until = store.as_utc(until)
    if until <= now:
        raise ValueError(f"--until {until.isoformat()} is not in the future")
    incident = _incident(conn, incident_id)
    _require(incident, OPEN_STATES, "snooze")
    due = until + spec.notifications.ack_sla[incident["severity"]] if incident["status"] == IncidentState.OPEN else None
    conn.execute(
        store.incidents.update()
        .where(store.incidents.c.id == incident_id)
        .values(snoozed_until=until, sla_due_at=due, updated_at=now)
    )
    record_event(conn, incident_id, None, IncidentEvent.SNOOZED, {"until": until.isoformat(), "why": why}, actor=by, at=now)
    return _incident(conn, incident_id)


def audit_trail(conn: Connection, incident_id: int) -> list[dict[str, Any]]:
    """Every change of one incident, oldest first: who, what, when, why."""
    ev = store.incident_events
    return store.rows(conn, sa.select(ev).where(ev.c.incident_id == incident_id).order_by(ev.c.id))
