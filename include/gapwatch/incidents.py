"""Incidents and maintenance tickets: findings in, lifecycle changes and queued messages out.

A finding is the verdict of one check for one window. Incidents are keyed on a deterministic
fingerprint (monitor, check, segment), so reruns and retries update the same incident; the
database allows at most one unresolved incident per fingerprint. Every change writes an audit
event and queues its messages in the same transaction (the outbox), so nothing is announced that
did not happen and nothing that happened goes unannounced.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gapwatch import config, store
from gapwatch.spec import MonitorSpec, Person

JUDGED = ("breach", "ok")  # inconclusive / insufficient windows neither count nor break a streak
# "estimate": the label-free performance estimate (CBPE); a warning until labels confirm it.
SEVERITY = {"data": "critical", "performance": "critical", "drift": "warning", "estimate": "warning"}
OWNER_ROLE = {
    "data": "data_steward", "performance": "technical_owner", "drift": "technical_owner",
    "estimate": "technical_owner",
}
TICKET_KIND = {"performance": "retrain", "data": "fix_feed"}


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
    ).scalars()
    statuses = list(statuses)
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
        return f"{spec.name}: {metric} {value:.3f} ± {1.96 * err:.3f} {side} {threshold:.3f}"
    columns = ", ".join(d["column"] for d in ev.get("drifted_features", [])[:3])
    return f"{spec.name}: input/output drift in {columns}"


def _event(
    conn: Connection, incident_id: int, window_start: Any, action: str, detail: dict[str, Any],
    actor: str = "gapwatch",
) -> None:
    conn.execute(
        store.incident_events.insert().values(
            incident_id=incident_id,
            at=store.utcnow(),
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
                },
                ["fingerprint"],
                where=inc.c.status != "resolved",
            )
            incident_id = conn.execute(
                sa.select(inc.c.id).where(inc.c.fingerprint == fp, inc.c.status.in_(store.OPEN_STATES))
            ).scalar_one()
            if inserted:
                _event(conn, incident_id, window.start, "opened", {"title": title, "run": run_link})
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
                .values(status="resolved", resolved_window=window.start, resolved_at=now, updated_at=now)
            )
            _event(conn, current.id, window.start, "auto_resolved", {"healthy_runs": healthy})
            queue_incident_messages(conn, spec, current.id, "resolved", run_link)
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
        _event(conn, incident_id, window.start, "breach_continues", {"breaches_in_a_row": breaches})


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
    _event(conn, incident_id, window.start, "ticket_raised", {"ticket": ticket_id, "title": title})
    role = "technical_owner" if kind == "retrain" else "data_steward"
    body = "\n".join(
        [
            title,
            "",
            f"Incident #{incident_id} has failed for {breaches} windows in a row.",
            "Trend (window: status, value):",
            *[f"  {t['window']}: {t['status']} {_fmt(t.get('value'))}" for t in trend],
            "",
            f"Runbook: {spec.runbook_url}",
            f"Fallback while this is open: {spec.fallback}",
            f"Airflow run: {run_link}",
        ]
    )
    _queue(
        conn, spec, key=f"ticket:{ticket_id}:opened", role=role, subject=f"[gapwatch] TICKET {title}",
        body=body, payload={"event": "ticket_opened", "ticket": ticket_id, "incident": incident_id},
        incident_id=incident_id, ticket_id=ticket_id,
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


def _fmt(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else ""


def queue_incident_messages(
    conn: Connection, spec: MonitorSpec, incident_id: int, event: str, run_link: str
) -> None:
    incident = conn.execute(sa.select(store.incidents).where(store.incidents.c.id == incident_id)).one()
    verb = {"opened": "OPEN", "resolved": "RESOLVED"}[event]
    subject = f"[gapwatch] {verb} {incident.severity}: {incident.title}"
    evidence = incident.evidence or {}
    lines = [
        incident.title,
        "",
        f"Monitor: {spec.name} (model version {spec.version})",
        f"Check: {incident.check}   Severity: {incident.severity}   Incident #{incident_id}",
        f"Window: {store.as_utc(incident.last_breach_window).date().isoformat()}",
    ]
    if event == "resolved":
        lines.append("Resolved automatically: the check has been healthy for "
                     f"{spec.policy.healthy_runs_to_resolve} runs in a row.")
    lines += _evidence_lines(incident.kind, evidence)
    owner = getattr(spec.owners, incident.owner_role)
    lines += [
        "",
        f"Owner: {owner.name} <{owner.email}> ({incident.owner_role.replace('_', ' ')})",
        f"Runbook: {spec.runbook_url}",
        f"Fallback: {spec.fallback}",
        f"Airflow run: {run_link}",
    ]
    payload = {
        "event": f"incident_{event}",
        "incident": incident_id,
        "fingerprint": incident.fingerprint,
        "severity": incident.severity,
        "kind": incident.kind,
        "monitor": spec.name,
    }
    roles = [incident.owner_role]
    if incident.kind == "performance" and spec.owners.technical_owner.oncall_route:
        roles.append("oncall")
    for role in roles:
        _queue(
            conn, spec, key=f"incident:{incident_id}:{event}", role=role, subject=subject,
            body="\n".join(lines), payload=payload, incident_id=incident_id,
        )


def _evidence_lines(kind: str, ev: dict[str, Any]) -> list[str]:
    lines: list[str] = [""]
    if kind == "data":
        lines.append("Failing expectations:")
        lines += [f"  - {d}" for d in ev.get("failing_expectations", [])]
        lines.append("Model evaluation for this window is inconclusive (not judged on broken data)."
                     if ev.get("blocks_evaluation", True) else "Warning only: model evaluation went ahead.")
        lines += [f"Data Docs: {ev['data_docs_url']}"] if ev.get("data_docs_url") else []
    elif kind in ("performance", "estimate"):
        if ev.get("value") is not None:
            lines.append(
                f"{ev.get('metric')}: {ev['value']:.3f} ± {1.96 * (ev.get('stderr') or 0):.3f} "
                f"(baseline {_fmt(ev.get('baseline'))}, threshold {_fmt(ev.get('threshold'))}, "
                f"{ev.get('labeled')} matured labels, {ev.get('pending')} pending)"
            )
        if ev.get("worst_segments"):
            lines.append("Worst segments: " + ", ".join(
                f"{s['segment']} {_fmt(s['value'])}" for s in ev["worst_segments"]))
    drifted = ev.get("drifted_features") or []
    if drifted:
        lines.append("Most drifted: " + ", ".join(
            d["column"] + " (" + ", ".join(f"{k} {_fmt(v)}" for k, v in d.items() if k != "column") + ")"
            for d in drifted[:5]))
    return lines


def _queue(
    conn: Connection, spec: MonitorSpec, *, key: str, role: str, subject: str, body: str,
    payload: dict[str, Any], incident_id: int | None = None, ticket_id: int | None = None,
) -> None:
    if role == "oncall":
        recipient = spec.owners.technical_owner.oncall_route or ""
    else:
        person: Person = getattr(spec.owners, role)
        recipient = f"{person.name} <{person.email}>"
    for channel in spec.notifications.channels:
        if channel == "email" and role == "oncall":
            continue  # an on-call route is not a mailbox
        idem = hashlib.sha256(f"{spec.name}|{key}|{role}|{channel}".encode()).hexdigest()
        store.insert_ignore(
            conn,
            store.outbox,
            {
                "idempotency_key": idem,
                "monitor": spec.name,
                "channel": channel,
                "recipient_role": role,
                "recipient": recipient,
                "subject": subject,
                "body": body,
                "payload": json.loads(json.dumps(payload, default=str)),
                "incident_id": incident_id,
                "ticket_id": ticket_id,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": store.utcnow(),
                "created_at": store.utcnow(),
            },
            ["idempotency_key"],
        )
