"""Housekeeping, run every few minutes by the ``gapwatch_operations`` DAG (or ``gapwatch
operations run``): escalate incidents unacknowledged past their SLA, queue the weekly digest of
each business owner when it is due, deliver every pending message of every monitor, and delete
what is past its retention (``gapwatch.retention``).

Each step is idempotent: an escalation moves one level per SLA period, a digest is keyed on the
owner and the ISO week, and the outbox never sends a message twice. The store cost does not grow
with the number of monitors: the digests read every monitor's latest run, incidents and tickets
in one query each.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gapwatch import config, outbox, policy, store
from gapwatch.catalog import (
    OPEN_STATES,
    IncidentEvent,
    IncidentState,
    Role,
    RunStatus,
    Severity,
    TicketState,
)
from gapwatch.health.adoption import adoption_lead
from gapwatch.incidents import lifecycle as incidents
from gapwatch.incidents import routing
from gapwatch.incidents.messages import Message, fmt
from gapwatch.outbox import Sender
from gapwatch.spec import MonitorSpec, load_specs

DIGEST_MONITOR = "*"  # a digest spans the owner's monitors

_PLAIN = {
    RunStatus.HEALTHY: "healthy: performing as expected",
    RunStatus.DEGRADED: "degraded: performance is below its agreed limit",
    RunStatus.AT_RISK: "at risk: an estimate made before the real outcomes arrive says performance dropped",
    RunStatus.DRIFTING: "drifting: its inputs look different from the baseline, performance still within limits",
    RunStatus.NOT_READY: "not judged: the input data failed its quality checks",
    RunStatus.NOT_COMPUTABLE: "not judged: a metric or an input could not be computed from the data",
    RunStatus.NO_DATA: "not judged: there was no data to judge in this period",
    RunStatus.AWAITING_LABELS: "waiting for enough real outcomes to judge performance",
}
# A business owner's words for every run status (built from the enum: a new status without
# words fails at import, not in a digest).
PLAIN_STATUS: dict[RunStatus, str] = {status: _PLAIN[status] for status in RunStatus}


def _specs(directory: str | None = None) -> dict[str, MonitorSpec]:
    return {spec.name: spec for spec in load_specs(directory).specs}


def escalate(now: datetime | None = None, directory: str | None = None) -> list[dict[str, Any]]:
    """Escalate overdue incidents (one transaction; their messages are queued with them)."""
    with store.engine().begin() as conn:
        return escalate_overdue(conn, _specs(directory), now)


def escalate_overdue(
    conn: Connection, specs: dict[str, MonitorSpec], now: datetime | None = None
) -> list[dict[str, Any]]:
    """Escalate every open incident unacknowledged past its SLA to its next escalation route."""
    now = now or store.utcnow()
    inc = store.incidents
    overdue = store.rows(
        conn,
        sa.select(inc)
        .where(inc.c.status == IncidentState.OPEN, inc.c.sla_due_at.is_not(None), inc.c.sla_due_at <= now,
               sa.or_(inc.c.snoozed_until.is_(None), inc.c.snoozed_until <= now))
        .order_by(inc.c.id),
    )
    changes: list[dict[str, Any]] = []
    for incident in overdue:
        spec = specs.get(incident["monitor"])
        if spec is None:
            continue
        sla = spec.notifications.ack_sla[incident["severity"]]
        step = policy.escalation_step(
            incident["escalation_level"] or 0, spec.notifications.escalation,
            late=now - (incident["sla_due_at"] - sla), sla=sla,
        )
        if step.route is None:
            conn.execute(inc.update().where(inc.c.id == incident["id"]).values(sla_due_at=None))
            incidents.record_event(conn, incident["id"], None, IncidentEvent.ESCALATION_EXHAUSTED,
                                   {"why": step.why}, at=now)
            changes.append({"action": IncidentEvent.ESCALATION_EXHAUSTED, "incident": incident["id"]})
            continue
        updated = conn.execute(
            inc.update()
            .where(inc.c.id == incident["id"], inc.c.status == IncidentState.OPEN,
                   inc.c.escalation_level == incident["escalation_level"])
            .values(escalation_level=step.level, sla_due_at=now + sla, updated_at=now)
        ).rowcount
        if not updated:
            continue  # acknowledged or escalated by someone else meanwhile
        incidents.record_event(conn, incident["id"], None, IncidentEvent.ESCALATED,
                               {"level": step.level, "route": step.route, "why": step.why}, at=now)
        incidents.queue_incident_messages(conn, spec, incident["id"], IncidentEvent.ESCALATED,
                                          incidents.latest_run_link(conn, spec),
                                          why=f"{step.why}; now with {step.route}")
        changes.append({"action": IncidentEvent.ESCALATED, "incident": incident["id"], "route": step.route})
    return changes


def digest_due_at(now: datetime) -> datetime:
    """When this ISO week's digests are due (default Monday 08:00 UTC)."""
    day, hour = config.settings().digest_weekday, config.settings().digest_hour
    monday = (now - timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    return monday + timedelta(days=day, hours=hour)


def queue_digests(now: datetime | None = None, directory: str | None = None) -> int:
    """Queue this week's digest for every business owner once it is due; returns how many were new."""
    now = now or store.utcnow()
    if now < digest_due_at(now):
        return 0
    year, week, _ = now.isocalendar()
    by_owner: dict[str, list[MonitorSpec]] = defaultdict(list)
    for spec in _specs(directory).values():
        by_owner[str(spec.owners.business_owner.email).lower()].append(spec)
    queued = 0
    with store.engine().begin() as conn:
        facts = digest_facts(conn, [s.name for specs in by_owner.values() for s in specs], now)
        for email, specs in sorted(by_owner.items()):
            message = digest_message(conn, specs, now, facts)
            owner = specs[0].owners.business_owner
            destinations: dict[str, routing.Destination] = {}
            for spec in specs:  # every channel any of the owner's monitors reaches people on
                for d in routing.person_destinations(spec, owner, Role.BUSINESS_OWNER):
                    destinations.setdefault(d.key, d)
            for destination in destinations.values():
                queued += outbox.queue(
                    conn, monitor=DIGEST_MONITOR, event_key=f"digest:{email}:{year}-W{week:02d}",
                    destination=destination, message=message,
                )
    return queued


@dataclass(frozen=True)
class DigestFacts:
    """What the digests say about each monitor, read for all monitors at once (by monitor name)."""

    latest_run: dict[str, dict[str, Any]] = field(default_factory=dict)
    open_incidents: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    resolved: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    tickets: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def digest_facts(conn: Connection, monitors: list[str], now: datetime) -> DigestFacts:
    """Latest run, open and recently resolved incidents, open tickets: three queries in all."""
    runs, inc, tk = store.runs, store.incidents, store.tickets
    latest = (
        sa.select(runs.c.monitor, sa.func.max(runs.c.window_start).label("window_start"))
        .where(runs.c.monitor.in_(monitors)).group_by(runs.c.monitor).subquery()
    )
    facts = DigestFacts()
    for run in store.rows(conn, sa.select(runs).join(latest, sa.and_(
            runs.c.monitor == latest.c.monitor, runs.c.window_start == latest.c.window_start))):
        facts.latest_run[run["monitor"]] = run
    since = now - timedelta(days=7)
    recent = sa.and_(inc.c.status == IncidentState.RESOLVED, inc.c.resolved_at >= since)
    for i in store.rows(conn, sa.select(inc).where(inc.c.monitor.in_(monitors),
                                                   sa.or_(inc.c.status.in_(OPEN_STATES), recent))
                        .order_by(inc.c.id)):
        bucket = facts.resolved if i["status"] == IncidentState.RESOLVED else facts.open_incidents
        bucket.setdefault(i["monitor"], []).append(i)
    for t in store.rows(conn, sa.select(tk).where(tk.c.monitor.in_(monitors), tk.c.status == TicketState.OPEN)
                        .order_by(tk.c.id)):
        facts.tickets.setdefault(t["monitor"], []).append(t)
    return facts


def digest_message(
    conn: Connection, specs: list[MonitorSpec], now: datetime, facts: DigestFacts | None = None
) -> Message:
    """One business owner's week in plain language: models, health, incidents, tickets (``facts``
    are read here unless given; ``queue_digests`` reads them once for every owner)."""
    owner = specs[0].owners.business_owner
    facts = facts or digest_facts(conn, [s.name for s in specs], now)
    sections: list[str] = []
    summary: list[dict[str, Any]] = []
    lead = adoption_lead(conn, specs)  # the business owner's question first: is it used, does it pay?
    for spec in sorted(specs, key=lambda s: s.name):
        section, model = _digest_section(spec, facts)
        sections.append(section)
        summary.append(model)
    attention = sum(m["verdict"] == NEEDS_ATTENTION for m in summary)
    first = owner.name.split()[0]
    headline = (f"{attention} of your {len(specs)} model(s) need attention" if attention
                else f"all {len(specs)} of your model(s) are fine")
    body = "\n\n".join(
        [f"Hello {first},", f"Here is how the models you own did in the week to {now.date()}: {headline}.",
         *lead, *sections, "Questions? Reply to the technical owner named under each model."]
    )
    subject = f"[gapwatch] Weekly digest for {owner.name}: {headline}"
    payload = {"event": "weekly_digest", "owner": {"name": owner.name, "email": str(owner.email),
                                                   "role": Role.BUSINESS_OWNER},
               "week": now.date().isoformat(), "models": summary, "title": subject}
    return Message(subject, body, payload)


NEEDS_ATTENTION = "NEEDS ATTENTION"


def _digest_section(spec: MonitorSpec, facts: DigestFacts) -> tuple[str, dict[str, Any]]:
    """One model's part of the digest, and its line in the payload's ``models``."""
    run = facts.latest_run.get(spec.name)
    open_incidents = facts.open_incidents.get(spec.name, [])
    resolved = facts.resolved.get(spec.name, [])
    tickets = facts.tickets.get(spec.name, [])
    critical = [i for i in open_incidents if i["severity"] == Severity.CRITICAL]
    verdict = NEEDS_ATTENTION if critical or tickets else "WATCH" if open_incidents else "OK"
    lines = [f"{spec.name} (v{spec.version}): {verdict}", f"  {spec.description}".rstrip()]
    if run is None:
        lines.append("  No monitoring run yet.")
    else:
        value = (f" ({run['main_metric']} {fmt(run['main_value'])})"
                 if run["main_value"] is not None else "")
        lines.append(f"  Latest check (week of {run['window_start'].date()}): "
                     f"{PLAIN_STATUS.get(run['status'], run['status'])}{value}.")
    if open_incidents:
        lines.append(f"  Open problems ({len(open_incidents)}):")
        for i in open_incidents:
            handled = (f"being handled by {i['acknowledged_by']}" if i["acknowledged_by"]
                       else "not yet acknowledged")
            lines.append(f"    - {i['title']} ({i['severity']}, since {i['opened_window'].date()}, {handled})")
    else:
        lines.append("  No open problems.")
    if resolved:
        lines.append("  Fixed this week: " + "; ".join(i["title"] for i in resolved))
    if tickets:
        lines.append("  Planned work (maintenance tickets):")
        for t in tickets:
            where = f", {t['tracker_key']}" if t["tracker_key"] else ""
            lines.append(f"    - {t['title']} (open since {t['opened_window'].date()}{where})")
    if critical or tickets:
        lines.append(f"  Meanwhile your users get: {spec.fallback}")
    lines.append(f"  Technical owner: {spec.owners.technical_owner.name}")
    model = {"monitor": spec.name, "verdict": verdict, "open_incidents": len(open_incidents),
             "open_tickets": len(tickets), "status": run["status"] if run else None}
    return "\n".join(lines), model


def deliver(senders: Mapping[str, Sender], now: datetime | None = None) -> dict[str, int]:
    """Deliver every due message of every monitor (and the digests and platform alerts)."""
    return outbox.deliver_pending(store.engine(), senders, now=now)


def housekeeping(
    senders: Mapping[str, Sender], now: datetime | None = None, directory: str | None = None
) -> dict[str, Any]:
    """Every step, in the order the DAG runs them."""
    from gapwatch.retention import enforce_retention

    escalated = escalate(now, directory)
    digests = queue_digests(now, directory)
    return {"escalated": escalated, "digests": digests, "delivery": deliver(senders, now),
            "retention": enforce_retention(now)}
