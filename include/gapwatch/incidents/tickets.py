"""Maintenance tickets in the store: raised when a check keeps failing, closed with its incident.

A retrain ticket counts windows in which *any* critical metric failed (one per monitor; its
evidence names the failing metrics); a fix-feed ticket counts its data check's own streak.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gapwatch import outbox, policy, store
from gapwatch.catalog import JUDGED, IncidentEvent, TicketState
from gapwatch.incidents import messages, routing
from gapwatch.incidents.audit import findings_trend, record_event
from gapwatch.policy import Decision
from gapwatch.spec import MonitorSpec

# Enough history for any streak a policy asks for; older verdicts cannot change the decision.
STREAK_HISTORY = 100


def ticket_streak(conn: Connection, spec: MonitorSpec, window: Any, finding: dict[str, Any]) -> policy.Streaks | None:
    """For a critical metric: the streak of windows in which any critical metric failed (one
    retrain ticket per monitor counts them all); None for every other check (its own streak)."""
    fps = policy.ticket_fingerprints(spec, finding)
    if not fps:
        return None
    f = store.findings
    rows = conn.execute(
        sa.select(f.c.window_start, f.c.status)
        .where(f.c.monitor == spec.name, f.c.fingerprint.in_(fps), f.c.window_start <= window.start,
               f.c.status.in_(JUDGED))
        .order_by(f.c.window_start.desc())
        .limit(STREAK_HISTORY * len(fps))
    ).all()
    return policy.streaks(policy.any_breach_by_window((r.window_start, r.status) for r in rows))


def raise_ticket(
    conn: Connection, spec: MonitorSpec, window: Any, finding: dict[str, Any], decision: Decision,
    breaches: int, run_link: str, failing: list[str],
) -> list[dict[str, Any]]:
    """Raise the maintenance ticket the decision asks for, unless one of its kind is open.

    ``failing`` names the critical metrics failing in this window (a retrain ticket counts
    windows of any of them; its evidence and title name them).
    """
    kind, incident_id = decision.ticket, decision.incident
    assert kind is not None and incident_id is not None
    checks = ", ".join(f"metric:{m}" for m in failing) or finding["check"]
    title = messages.ticket_title(spec, kind, breaches, checks)
    trend = findings_trend(conn, spec, finding["fingerprint"], window.start)
    fp = policy.ticket_fingerprint(spec.name, kind)
    t = store.tickets
    inserted = store.insert_ignore(
        conn,
        t,
        {
            "fingerprint": fp,
            "monitor": spec.name,
            "kind": kind,
            "status": TicketState.OPEN,
            "title": title,
            "incident_id": incident_id,
            "evidence": {"latest": finding["evidence"], "trend": trend, "metrics": failing},
            "opened_window": window.start,
            "created_at": store.utcnow(),
        },
        ["fingerprint"],
        where=t.c.status == TicketState.OPEN,
    )
    if not inserted:
        return []
    ticket_id = conn.execute(
        sa.select(t.c.id).where(t.c.fingerprint == fp, t.c.status == TicketState.OPEN)
    ).scalar_one()
    record_event(conn, incident_id, window.start, IncidentEvent.TICKET_RAISED,
           {"ticket": ticket_id, "title": title, "why": decision.ticket_why})
    role = policy.OWNER_ROLE[policy.TICKET_SOURCE[kind]]
    message = messages.ticket_message(
        spec, ticket_id=ticket_id, incident_id=incident_id, title=title, kind=kind, breaches=breaches,
        evidence=finding["evidence"], trend=trend, run_link=run_link, owner_role=role,
    )
    for destination in routing.ticket_destinations(spec, role):
        outbox.queue(
            conn, monitor=spec.name, event_key=f"ticket:{ticket_id}:opened", destination=destination,
            message=message, incident_id=incident_id, ticket_id=ticket_id,
        )
    return [{"action": "ticket", "ticket": ticket_id, "title": title}]


def close_tickets(conn: Connection, incident_id: int, window: datetime | None, actor: str) -> None:
    """Close the maintenance tickets an incident raised once it is resolved.

    Otherwise the open ticket (one per monitor and kind) would block every later degradation
    from raising its own ticket.
    """
    t = store.tickets
    closed = conn.execute(
        sa.select(t.c.id).where(t.c.incident_id == incident_id, t.c.status == TicketState.OPEN)
    ).scalars().all()
    if not closed:
        return
    conn.execute(t.update().where(t.c.id.in_(closed)).values(status=TicketState.CLOSED))
    for ticket_id in closed:
        record_event(conn, incident_id, window, IncidentEvent.TICKET_CLOSED,
               {"ticket": ticket_id, "why": "the incident that raised it is resolved"}, actor=actor)
