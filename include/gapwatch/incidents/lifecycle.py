"""Incidents and maintenance tickets: findings in, lifecycle changes and queued messages out.

A finding is the verdict of one check for one window. Incidents are keyed on a deterministic
fingerprint (monitor, check, segment), so reruns and retries update the same incident; the
database allows at most one unresolved incident per fingerprint. Every change writes an audit
event and queues its messages in the same transaction (the outbox), so nothing is announced that
did not happen and nothing that happened goes unannounced.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gapwatch import config, outbox, store
from gapwatch.catalog import BREACH_Z
from gapwatch.incidents import routing
from gapwatch.incidents.messages import incident_message, ticket_message
from gapwatch.spec import MonitorSpec

JUDGED = ("breach", "ok")  # inconclusive / insufficient windows neither count nor break a streak
# "estimate": the label-free performance estimate (CBPE); a warning until labels confirm it.
SEVERITY = {"data": "critical", "performance": "critical", "drift": "warning", "estimate": "warning"}
OWNER_ROLE = {
    "data": "data_steward", "performance": "technical_owner", "drift": "technical_owner",
    "estimate": "technical_owner",
}
TICKET_KIND = {"performance": "retrain", "data": "fix_feed"}
RESOLVED_LATER = -1  # _reopen_recent: the incident was resolved at or after the window being run


def fingerprint(monitor: str, check: str, segment: str = "*") -> str:
    return f"{monitor}|{check}|{segment}"


def make_finding(
    spec: MonitorSpec, *, kind: str, check: str, status: str, evidence: dict[str, Any], segment: str = "*"
) -> dict[str, Any]:
    return {
        "fingerprint": fingerprint(spec.name, check, segment),
        "kind": kind,
        "check": check,
        "segment": segment,
        "status": status,
        "severity": SEVERITY[kind],
        "evidence": evidence,
    }


def dag_run_link(spec: MonitorSpec, run_id: str | None) -> str:
    base = f"{config.airflow_base_url()}/dags/{spec.dag_id}"
    return f"{base}/runs/{quote(run_id, safe='')}" if run_id else base


def _streaks(conn: Connection, monitor: str, fp: str, window_start: Any) -> tuple[int, int]:
    """(breaches in a row, healthy runs in a row) ending at this window, from stored findings."""
    f = store.findings
    statuses = conn.execute(
        sa.select(f.c.status)
        .where(
            f.c.monitor == monitor,
            f.c.fingerprint == fp,
            f.c.window_start <= window_start,
            f.c.status.in_(JUDGED),
        )
        .order_by(f.c.window_start.desc())
        .limit(100)
    ).scalars().all()
    breaches = next((i for i, s in enumerate(statuses) if s != "breach"), len(statuses))
    healthy = next((i for i, s in enumerate(statuses) if s != "ok"), len(statuses))
    return breaches, healthy


def _title(spec: MonitorSpec, finding: dict[str, Any]) -> str:
    ev = finding["evidence"]
    if finding["kind"] == "data":
        return f"{spec.name}: input data not ready ({finding['check'].split(':', 1)[1]})"
    if finding["kind"] in ("performance", "estimate"):
        metric = finding["check"].split(":", 1)[1]
        if finding["kind"] == "estimate":
            metric = f"estimated {metric} (labels pending)"
        side = "below" if spec.main_metric.higher_is_better else "above"
        value = ev.get("value")
        err = ev.get("stderr") or 0
        threshold = ev.get("threshold")
        if value is None or threshold is None:
            return f"{spec.name}: {metric} degraded"
        return f"{spec.name}: {metric} {value:.3f} ± {BREACH_Z * err:.3f} {side} {threshold:.3f}"
    columns = ", ".join(d["column"] for d in ev.get("drifted_features", [])[:3])
    return f"{spec.name}: input/output drift in {columns}"


def _event(
    conn: Connection, incident_id: int, window_start: Any, action: str, detail: dict[str, Any],
    actor: str = "gapwatch", at: datetime | None = None,
) -> None:
    conn.execute(
        store.incident_events.insert().values(
            incident_id=incident_id,
            at=at or store.utcnow(),
            window_start=window_start,
            actor=actor,
            action=action,
            detail=detail,
        )
    )


def apply_findings(
    conn: Connection, spec: MonitorSpec, window: Any, findings: list[dict[str, Any]], *, run_link: str
) -> list[dict[str, Any]]:
    """Store the window's findings and move incidents/tickets; returns the changes made.

    A rerun of a window older than the newest published one only refreshes its findings: the
    incidents already reflect later windows, and replaying history must not reopen or resolve them.
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
    if latest is not None and store.as_utc(latest) > window.start:
        return [{"action": "none", "reason": "rerun of an older window; incidents follow the newest"}]

    changes: list[dict[str, Any]] = []
    for finding in findings:
        changes += _apply_one(conn, spec, window, finding, run_link)
    return changes


def _apply_one(
    conn: Connection, spec: MonitorSpec, window: Any, finding: dict[str, Any], run_link: str
) -> list[dict[str, Any]]:
    inc = store.incidents
    fp = finding["fingerprint"]
    breaches, healthy = _streaks(conn, spec.name, fp, window.start)
    current = conn.execute(
        sa.select(inc).where(inc.c.fingerprint == fp, inc.c.status.in_(store.OPEN_STATES))
    ).first()
    changes: list[dict[str, Any]] = []
    now = store.utcnow()

    if finding["status"] == "breach":
        if current is not None:
            _continue_breach(conn, current.id, window, finding, breaches)
            incident_id = current.id
        elif breaches >= spec.policy.breaches_before_incident and (
            recent := _reopen_recent(conn, spec, window, finding, run_link)
        ) is not None:
            if recent == RESOLVED_LATER:
                return changes  # resolved at or after this window: a rerun does not undo that
            incident_id = recent
            changes.append({"action": "reopened", "incident": incident_id})
        elif breaches >= spec.policy.breaches_before_incident:
            title = _title(spec, finding)
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
                    "status": "open",
                    "owner_role": OWNER_ROLE[finding["kind"]],
                    "title": title,
                    "evidence": finding["evidence"],
                    "opened_window": window.start,
                    "last_breach_window": window.start,
                    "opened_at": now,
                    "updated_at": now,
                    "sla_due_at": now + spec.notifications.ack_sla[finding["severity"]],
                },
                ["fingerprint"],
                where=inc.c.status != "resolved",
            )
            incident_id = conn.execute(
                sa.select(inc.c.id).where(inc.c.fingerprint == fp, inc.c.status.in_(store.OPEN_STATES))
            ).scalar_one()
            if inserted:
                why = (f"{finding['check']} failed {breaches} window(s) in a row "
                       f"(policy: incident after {spec.policy.breaches_before_incident})")
                _event(conn, incident_id, window.start, "opened", {"title": title, "run": run_link, "why": why})
                queue_incident_messages(conn, spec, incident_id, "opened", run_link)
                changes.append({"action": "opened", "incident": incident_id, "title": title})
            else:
                # A concurrent run of this monitor opened it between our read and our insert (the
                # partial unique index turned our insert into a no-op): update it instead.
                _continue_breach(conn, incident_id, window, finding, breaches)
        else:
            return changes
        changes += _maybe_ticket(conn, spec, window, finding, incident_id, breaches, run_link)

    elif finding["status"] == "ok" and current is not None:
        if healthy >= spec.policy.healthy_runs_to_resolve:
            conn.execute(
                inc.update()
                .where(inc.c.id == current.id)
                .values(status="resolved", resolved_window=window.start, resolved_at=now, updated_at=now,
                        sla_due_at=None)
            )
            why = f"the check has been healthy for {healthy} runs in a row"
            _event(conn, current.id, window.start, "auto_resolved", {"healthy_runs": healthy, "why": why})
            _close_tickets(conn, current.id, window.start, "gapwatch")
            queue_incident_messages(conn, spec, current.id, "resolved", run_link, why=why)
            changes.append({"action": "resolved", "incident": current.id, "title": current.title})
    return changes


def _continue_breach(
    conn: Connection, incident_id: int, window: Any, finding: dict[str, Any], breaches: int
) -> None:
    """A further breaching window for an open incident: move its last breach and audit it."""
    inc = store.incidents
    last = conn.execute(sa.select(inc.c.last_breach_window).where(inc.c.id == incident_id)).scalar_one()
    if window.start > store.as_utc(last):
        conn.execute(
            inc.update()
            .where(inc.c.id == incident_id)
            .values(last_breach_window=window.start, evidence=finding["evidence"], updated_at=store.utcnow())
        )
        _event(conn, incident_id, window.start, "breach_continues",
               {"breaches_in_a_row": breaches, "why": f"still failing ({breaches} windows in a row)"})


def _maybe_ticket(
    conn: Connection, spec: MonitorSpec, window: Any, finding: dict[str, Any], incident_id: int,
    breaches: int, run_link: str,
) -> list[dict[str, Any]]:
    kind = TICKET_KIND.get(finding["kind"])
    if kind is None or breaches < spec.policy.windows_before_ticket:
        return []
    action = "Retrain or recalibrate" if kind == "retrain" else "Fix the data feed of"
    title = f"{action} {spec.name} ({breaches} windows of {finding['check']} failing)"
    trend = _trend(conn, spec, finding["fingerprint"], window.start)
    inserted = store.insert_ignore(
        conn,
        store.tickets,
        {
            "fingerprint": fingerprint(spec.name, f"ticket:{kind}"),
            "monitor": spec.name,
            "kind": kind,
            "status": "open",
            "title": title,
            "incident_id": incident_id,
            "evidence": {"latest": finding["evidence"], "trend": trend},
            "opened_window": window.start,
            "created_at": store.utcnow(),
        },
        ["fingerprint"],
        where=store.tickets.c.status == "open",
    )
    if not inserted:
        return []
    ticket_id = conn.execute(
        sa.select(store.tickets.c.id).where(
            store.tickets.c.fingerprint == fingerprint(spec.name, f"ticket:{kind}"),
            store.tickets.c.status == "open",
        )
    ).scalar_one()
    _event(conn, incident_id, window.start, "ticket_raised", {
        "ticket": ticket_id, "title": title,
        "why": f"{breaches} failing windows (policy: ticket after {spec.policy.windows_before_ticket})"})
    role = "technical_owner" if kind == "retrain" else "data_steward"
    message = ticket_message(
        spec, ticket_id=ticket_id, incident_id=incident_id, title=title, kind=kind, breaches=breaches,
        evidence=finding["evidence"], trend=trend, run_link=run_link, owner_role=role,
    )
    for destination in routing.ticket_destinations(spec, role):
        outbox.queue(
            conn, monitor=spec.name, event_key=f"ticket:{ticket_id}:opened", destination=destination,
            message=message, incident_id=incident_id, ticket_id=ticket_id,
        )
    return [{"action": "ticket", "ticket": ticket_id, "title": title}]


def _trend(conn: Connection, spec: MonitorSpec, fp: str, until: Any, n: int = 6) -> list[dict[str, Any]]:
    f = store.findings
    found = store.rows(
        conn,
        sa.select(f.c.window_start, f.c.status, f.c.evidence)
        .where(f.c.monitor == spec.name, f.c.fingerprint == fp, f.c.window_start <= until)
        .order_by(f.c.window_start.desc())
        .limit(n),
    )
    return [
        {"window": r["window_start"].date().isoformat(), "status": r["status"], "value": r["evidence"].get("value")}
        for r in reversed(found)
    ]


def _event_key(incident: dict[str, Any], event: str, level: int = 0) -> str:
    """Idempotency of an incident event: once per incident, reopen cycle (and escalation level)."""
    cycle = incident.get("reopened_count") or 0
    if event == "opened" or (event == "resolved" and cycle == 0):
        return f"incident:{incident['id']}:{event}"
    if event == "escalated":
        return f"incident:{incident['id']}:escalated:{cycle}:{level}"
    return f"incident:{incident['id']}:{event}:{cycle}"


def queue_incident_messages(
    conn: Connection, spec: MonitorSpec, incident_id: int, event: str, run_link: str,
    *, actor: str = "gapwatch", why: str = "",
) -> None:
    """Queue the messages announcing one incident event for every destination routing gives."""
    incident = _incident(conn, incident_id)
    level = incident["escalation_level"] or 0
    until = max(incident["last_breach_window"], incident["resolved_window"] or incident["last_breach_window"])
    trend = _trend(conn, spec, incident["fingerprint"], until)
    message = incident_message(
        spec, incident, event, run_link=run_link, trend=trend, actor=actor, why=why, escalation_level=level
    )
    destinations = routing.incident_destinations(
        spec, kind=incident["kind"], severity=incident["severity"], owner_role=incident["owner_role"],
        event=event, escalation_level=level,
    )
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


def _reopen_recent(
    conn: Connection, spec: MonitorSpec, window: Any, finding: dict[str, Any], run_link: str
) -> int | None:
    """Reopen the incident of this fingerprint resolved within the cool-down, if there is one.

    Returns its id, ``RESOLVED_LATER`` when it was resolved at or after this window (a rerun of
    that window must neither reopen it nor open a second incident), or None.

    The partial unique index allows one unresolved incident per fingerprint; the caller checked
    there is none, and the guarded UPDATE (``status = 'resolved'``) lets only one run reopen it.
    Cool-down is measured in data time (windows), so replays and backfills decide the same way.
    """
    inc = store.incidents
    recent = conn.execute(
        sa.select(inc.c.id, inc.c.resolved_window)
        .where(inc.c.fingerprint == finding["fingerprint"], inc.c.status == "resolved",
               inc.c.resolved_window.is_not(None))
        .order_by(inc.c.resolved_window.desc(), inc.c.id.desc())
        .limit(1)
    ).first()
    if recent is None:
        return None
    resolved_window = store.as_utc(recent.resolved_window)
    cooldown = spec.notifications.reopen_cooldown
    if window.start <= resolved_window:
        return RESOLVED_LATER
    if window.start > resolved_window + cooldown:
        return None
    now = store.utcnow()
    reopened = conn.execute(
        inc.update()
        .where(inc.c.id == recent.id, inc.c.status == "resolved")
        .values(
            status="open", resolved_window=None, resolved_at=None, acknowledged_at=None,
            acknowledged_by=None, snoozed_until=None, escalation_level=0,
            reopened_count=inc.c.reopened_count + 1, last_breach_window=window.start,
            evidence=finding["evidence"], updated_at=now,
            sla_due_at=now + spec.notifications.ack_sla[finding["severity"]],
        )
    ).rowcount
    if not reopened:
        return None
    why = (f"the check breached again {(window.start - resolved_window).days} days after it was "
           f"resolved (cool-down {cooldown.days} days), so the same incident continues")
    _event(conn, recent.id, window.start, "reopened",
           {"resolved_window": resolved_window.isoformat(), "why": why})
    queue_incident_messages(conn, spec, recent.id, "reopened", run_link, why=why)
    return int(recent.id)


# ---------------------------------------------------------------- lifecycle by people


def _latest_run_link(conn: Connection, spec: MonitorSpec) -> str:
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


def _close_tickets(conn: Connection, incident_id: int, window: datetime | None, actor: str) -> None:
    """Close the maintenance tickets an incident raised once it is resolved.

    Otherwise the open ticket (one per monitor and kind) would block every later degradation
    from raising its own ticket.
    """
    t = store.tickets
    closed = conn.execute(
        sa.select(t.c.id).where(t.c.incident_id == incident_id, t.c.status == "open")
    ).scalars().all()
    if not closed:
        return
    conn.execute(t.update().where(t.c.id.in_(closed)).values(status="closed"))
    for ticket_id in closed:
        _event(conn, incident_id, window, "ticket_closed",
               {"ticket": ticket_id, "why": "the incident that raised it is resolved"}, actor=actor)


def _transition(
    conn: Connection, spec: MonitorSpec, incident_id: int, action: str, *, window: datetime | None,
    by: str, why: str, now: datetime, values: dict[str, Any],
) -> dict[str, Any]:
    """A human's lifecycle change: the update, its audit event and its messages, in one place."""
    conn.execute(
        store.incidents.update().where(store.incidents.c.id == incident_id).values(**values, updated_at=now)
    )
    _event(conn, incident_id, window, action, {"why": why}, actor=by, at=now)
    if values.get("status") == "resolved":
        _close_tickets(conn, incident_id, window, by)
    queue_incident_messages(conn, spec, incident_id, action, _latest_run_link(conn, spec), actor=by, why=why)
    return _incident(conn, incident_id)


def acknowledge(
    conn: Connection, spec: MonitorSpec, incident_id: int, *, by: str, why: str = "",
    now: datetime | None = None,
) -> dict[str, Any]:
    """Someone owns it now: stops escalation, acknowledges the page, tells the owner who."""
    now = now or store.utcnow()
    incident = _incident(conn, incident_id)
    _require(incident, ("open",), "acknowledge")
    return _transition(
        conn, spec, incident_id, "acknowledged", window=None, by=by, why=why, now=now,
        values={"status": "acknowledged", "acknowledged_at": now, "acknowledged_by": by, "sla_due_at": None},
    )


def resolve(
    conn: Connection, spec: MonitorSpec, incident_id: int, *, by: str, why: str = "",
    now: datetime | None = None,
) -> dict[str, Any]:
    """Close it by hand: resolves the page and tells everyone who heard about it."""
    now = now or store.utcnow()
    incident = _incident(conn, incident_id)
    _require(incident, store.OPEN_STATES, "resolve")
    latest = conn.execute(
        sa.select(sa.func.max(store.runs.c.window_start)).where(store.runs.c.monitor == spec.name)
    ).scalar()
    resolved_window = max(
        store.as_utc(latest) or incident["last_breach_window"], incident["last_breach_window"]
    )
    return _transition(
        conn, spec, incident_id, "resolved", window=resolved_window, by=by, why=why, now=now,
        values={"status": "resolved", "resolved_at": now, "resolved_window": resolved_window,
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
    _require(incident, store.OPEN_STATES, "snooze")
    due = until + spec.notifications.ack_sla[incident["severity"]] if incident["status"] == "open" else None
    conn.execute(
        store.incidents.update()
        .where(store.incidents.c.id == incident_id)
        .values(snoozed_until=until, sla_due_at=due, updated_at=now)
    )
    _event(conn, incident_id, None, "snoozed", {"until": until.isoformat(), "why": why}, actor=by, at=now)
    return _incident(conn, incident_id)


def escalate_overdue(
    conn: Connection, specs: dict[str, MonitorSpec], now: datetime | None = None
) -> list[dict[str, Any]]:
    """Escalate every open incident unacknowledged past its SLA to its next escalation route."""
    now = now or store.utcnow()
    inc = store.incidents
    overdue = store.rows(
        conn,
        sa.select(inc)
        .where(inc.c.status == "open", inc.c.sla_due_at.is_not(None), inc.c.sla_due_at <= now,
               sa.or_(inc.c.snoozed_until.is_(None), inc.c.snoozed_until <= now))
        .order_by(inc.c.id),
    )
    changes: list[dict[str, Any]] = []
    for incident in overdue:
        spec = specs.get(incident["monitor"])
        if spec is None:
            continue
        level = (incident["escalation_level"] or 0) + 1
        routes = spec.notifications.escalation
        sla = spec.notifications.ack_sla[incident["severity"]]
        late = now - (incident["sla_due_at"] - sla)
        why = f"unacknowledged for {_duration(late)}, past its {_duration(sla)} acknowledgement SLA"
        if level > len(routes):
            conn.execute(inc.update().where(inc.c.id == incident["id"]).values(sla_due_at=None))
            _event(conn, incident["id"], None, "escalation_exhausted",
                   {"why": why + "; no further escalation route in the spec"}, at=now)
            changes.append({"action": "escalation_exhausted", "incident": incident["id"]})
            continue
        updated = conn.execute(
            inc.update()
            .where(inc.c.id == incident["id"], inc.c.status == "open",
                   inc.c.escalation_level == incident["escalation_level"])
            .values(escalation_level=level, sla_due_at=now + sla, updated_at=now)
        ).rowcount
        if not updated:
            continue  # acknowledged or escalated by someone else meanwhile
        _event(conn, incident["id"], None, "escalated",
               {"level": level, "route": routes[level - 1], "why": why}, at=now)
        queue_incident_messages(conn, spec, incident["id"], "escalated", _latest_run_link(conn, spec),
                                why=f"{why}; now with {routes[level - 1]}")
        changes.append({"action": "escalated", "incident": incident["id"], "route": routes[level - 1]})
    return changes


def _duration(delta: Any) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h"
    return f"{minutes // 1440} days"


def audit_trail(conn: Connection, incident_id: int) -> list[dict[str, Any]]:
    """Every change of one incident, oldest first: who, what, when, why."""
    ev = store.incident_events
    return store.rows(conn, sa.select(ev).where(ev.c.incident_id == incident_id).order_by(ev.c.id))
