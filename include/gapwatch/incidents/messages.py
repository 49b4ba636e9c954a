"""Messages worth reading: what broke and how badly, the trend, the likely cause, who owns it,
what to do (runbook), what users get meanwhile (fallback), and where to look (Airflow run, Data
Docs). Each message is plain text (``subject``, ``body``) for people plus a structured
``payload`` the channels turn into Slack blocks, PagerDuty details, Jira fields or webhook JSON.
Pure functions: no database, no network.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from gapwatch import config
from gapwatch.catalog import (
    BREACH_Z,
    METRICS,
    IncidentEvent,
    IncidentState,
    Kind,
    Severity,
    TicketKind,
    Verdict,
    moved_within,
)
from gapwatch.incidents import adoption_text
from gapwatch.policy import TICKET_SOURCE
from gapwatch.readiness.docs import HEALTH_MOUNT, data_docs_link
from gapwatch.spec import MonitorSpec


@dataclass(frozen=True)
class Message:
    subject: str
    body: str
    payload: dict[str, Any]


def fmt(value: Any, digits: int = 3) -> str:
    if isinstance(value, bool) or value is None:
        return "n/a" if value is None else str(value)
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _day(value: Any) -> str:
    return value.date().isoformat() if isinstance(value, datetime) else str(value or "")[:10]


def _clock(value: Any) -> str:
    """A wall-clock time in UTC to the minute (window dates are days; clock times say UTC)."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return str(value)[:16].replace("T", " ") + " UTC" if value else "n/a"


# The incident events that are announced, and the verb of their subject line.
VERBS = {
    IncidentEvent.OPENED: "OPEN",
    IncidentEvent.REOPENED: "REOPENED",
    IncidentEvent.ACKNOWLEDGED: "ACKNOWLEDGED",
    IncidentEvent.RESOLVED: "RESOLVED",
    IncidentEvent.ESCALATED: "ESCALATED",
}
MODEL_KINDS = (Kind.PERFORMANCE, Kind.ESTIMATE)  # findings about the model's own metric


def incident_title(spec: MonitorSpec, finding: dict[str, Any]) -> str:
    """An incident's one-line title: the monitor, what failed and by how much."""
    ev = finding["evidence"]
    if finding["kind"] in ADOPTION_KINDS:
        return adoption_text.title(spec.name, ev)
    if finding["kind"] == Kind.DATA:
        check = finding["check"].split(":", 1)[1].removesuffix(":warning")
        if finding["severity"] == Severity.WARNING:  # it did not block anything: not "not ready"
            return f"{spec.name}: input data warnings ({check})"
        return f"{spec.name}: input data not ready ({check})"
    if finding["kind"] in MODEL_KINDS:
        metric = finding["check"].split(":", 1)[1]
        if ev.get("likely_cause") == Kind.DATA:
            data = (ev.get("data_check") or "readiness:its input data").split(":", 1)[1]
            see = f", see incident #{ev['data_incident']}" if ev.get("data_incident") else ""
            return f"{spec.name}: {metric} fell while {data} failed: likely cause data{see}"
        if finding["kind"] == Kind.ESTIMATE:
            metric = f"estimated {metric} (labels pending)"
        side = "below" if _higher_is_better(ev, spec.main_metric.higher_is_better) else "above"
        value = ev.get("value")
        err = ev.get("stderr") or 0
        threshold = ev.get("threshold")
        if value is None or threshold is None:
            return f"{spec.name}: {metric} degraded"
        return f"{spec.name}: {metric} {value:.3f} ± {BREACH_Z * err:.3f} {side} {threshold:.3f}"
    columns = ", ".join(d["column"] for d in ev.get("drifted_features", [])[:3])
    if not columns:  # only segments moved
        columns = ", ".join(moved_within(d) for d in ev.get("drifted_segments", [])[:3])
    return f"{spec.name}: input/output drift in {columns}"


TICKET_ACTIONS = {TicketKind.RETRAIN: "Retrain or recalibrate", TicketKind.FIX_FEED: "Fix the data feed of",
                  TicketKind.ADOPTION: "Improve adoption (training, workflow integration) of"}
ADOPTION_KINDS = (Kind.ADOPTION, Kind.OUTCOME)


def ticket_title(spec: MonitorSpec, kind: TicketKind, breaches: int, check: str) -> str:
    """A maintenance ticket's title: the work, the monitor and how long the check has failed."""
    return f"{TICKET_ACTIONS[kind]} {spec.name} ({breaches} windows of {check} failing)"


def what_broke(kind: str, ev: dict[str, Any], higher_is_better: bool = True) -> list[str]:
    """The measured value against its limit, with its one-sided 95% bounds, in words."""
    if kind in ADOPTION_KINDS:
        return adoption_text.what_broke(ev)
    if kind in MODEL_KINDS:
        value, threshold = ev.get("value"), ev.get("threshold")
        if value is None or threshold is None:
            return [f"What broke: {ev.get('metric', 'the main metric')} could not be judged ({ev.get('reason')})."]
        higher_is_better = _higher_is_better(ev, higher_is_better)
        half = BREACH_Z * (ev.get("stderr") or 0.0)
        side = "below" if higher_is_better else "above"
        gap = (threshold - value) if higher_is_better else (value - threshold)
        estimated = " (estimated without labels)" if kind == Kind.ESTIMATE else ""
        if ev.get("rule") == "spread_k":
            # A spread limit judges the value itself (the spread already holds the noise).
            sign = "-" if higher_is_better else "+"
            judged = (f"{fmt(value)}, beyond mean {sign} k·σ of the baseline sub-windows (scaled to n): "
                      f"{side} its threshold {fmt(threshold)}")
        else:
            judged = (f"{fmt(value)} (95% bounds {fmt(value - half)} to {fmt(value + half)}), "
                      f"{side} its threshold {fmt(threshold)}")
        if kind == Kind.ESTIMATE:
            # The estimate is computed on the window's predictions; no label was used.
            basis = (f"estimated on {ev.get('n')} predictions without labels ({ev.get('pending')} labels "
                     f"still pending; {fmt(ev.get('unsupported_share') or 0.0, 2)} of rows outside the "
                     "baseline's input range)")
        else:
            basis = f"judged on {ev.get('labeled')} matured labels ({ev.get('pending')} still pending)"
        return [
            f"What broke: {ev.get('metric')}{estimated} is {judged} (baseline {fmt(ev.get('baseline'))}).",
            f"How badly: {fmt(gap)} past the threshold; {basis}.",
        ]
    if kind == Kind.DATA:
        failing = ev.get("failing_expectations") or []
        blocking = ev.get("blocks_evaluation", True)
        usable = (
            "How badly: the decisions feed is not usable; the adoption checks are inconclusive, not blamed "
            "on the people or the model."
            if ev.get("feed") == "decisions"
            else "How badly: the window is not usable; its drift and estimate are inconclusive, and a metric "
            "judged on its predictions later is attributed to the data, not blamed on the model."
        )
        return [
            f"What broke: the input data failed {len(failing)} {'critical' if blocking else 'warning-level'} "
            f"readiness check(s) ({ev.get('rows')} rows checked).",
            usable
            if blocking
            else "How badly: not blocking. Warning only: model evaluation went ahead.",
        ]
    return _drift_broke(ev)


def _drift_broke(ev: dict[str, Any]) -> list[str]:
    drifted = ev.get("drifted_features") or []
    shown = drifted[:DRIFT_SHOWN]
    more = f" (the {len(shown)} most moved of {len(drifted)})" if len(drifted) > len(shown) else ""
    segments = ev.get("drifted_segments") or []
    within = ev.get("segments_drifted_count") or len(segments)
    lines = [
        f"What broke: {len(drifted)} input/output distribution(s) moved away from the baseline"
        + (f", and {within} within a segment" if segments else "") + ".",
        "How badly" + more + ": " + (", ".join(_drift_text(d) for d in shown) or "n/a") + ".",
    ]
    if segments:
        lines.append("Within segments (against the same segment of the baseline): "
                     + ", ".join(_segment_text(d) for d in segments[:DRIFT_SHOWN]) + ".")
    if ev.get("segments_too_few_rows"):
        lines.append("Not judged (too few rows in the window): " + ", ".join(ev["segments_too_few_rows"][:10]) + ".")
    return lines


DRIFT_SHOWN = 5  # drifted features named in a message; the count says when there are more


def _higher_is_better(ev: dict[str, Any], default: bool) -> bool:
    """The direction of the finding's own metric (every metric is a check, not only the main one)."""
    metric = METRICS.get(str(ev.get("metric")))
    return metric.higher_is_better if metric is not None else default


def _drift_text(d: dict[str, Any]) -> str:
    return d["column"] + " (" + ", ".join(f"{k} {fmt(v, 2)}" for k, v in d.items() if k != "column") + ")"


def _segment_text(d: dict[str, Any]) -> str:
    return f"{d['column']} in {d['segment']} ({d['rows']} rows; " + ", ".join(
        f"{k} {fmt(v, 2)}" for k, v in d["values"].items()) + ")"


def likely_cause(kind: str, ev: dict[str, Any]) -> list[str]:
    """Failing expectations, drifted features and worst segments, most telling first.

    A drift message already lists the features under "How badly", so its cause points at where to
    start (the most moved feature and the statistic that moved most) instead of repeating them. An
    estimate's segments would be realized values on other rows, so they are left out.
    """
    if kind in ADOPTION_KINDS:
        return adoption_text.likely_cause(ev)
    lines: list[str] = []
    if ev.get("likely_cause") == Kind.DATA:
        see = f" (incident #{ev['data_incident']})" if ev.get("data_incident") else ""
        lines.append(f"  - the predictions judged were made on data that failed readiness{see}: likely cause data")
    if ev.get("failing_expectations"):
        lines += [f"  - failing expectation: {d}" for d in ev["failing_expectations"][:5]]
    drifted = ev.get("drifted_features") or []
    if drifted and kind != Kind.DRIFT:
        lines.append("  - drifted features: " + ", ".join(_drift_text(d) for d in drifted[:5]))
    segments = ev.get("drifted_segments") or []
    if kind == Kind.DRIFT and segments and not drifted:
        lines.append(f"  - start with {segments[0]['column']} in {segments[0]['segment']}: only there did it "
                     "move; check what feeds that segment (a source, a region's pipeline, a client release)")
    elif drifted and kind == Kind.DRIFT:
        lines.append(f"  - start with {drifted[0]['column']}: it moved most; check its upstream source "
                     "and any release that changed how it is computed")
        top = next((r for r in ev.get("drift_ranking") or [] if r.get("drifted")), None)
        if top:
            lines.append(f"  - largest statistic: {top.get('method')} {fmt(top.get('value'), 3)} on "
                         f"{top.get('column')} (threshold {fmt(top.get('threshold'), 3)})")
    if ev.get("worst_segments") and kind != Kind.ESTIMATE:
        lines.append(
            "  - worst segments: "
            + ", ".join(f"{s['segment']} {fmt(s.get('value'))} (n={s.get('n')})" for s in ev["worst_segments"][:3])
        )
    return ["Likely cause:", *lines] if lines else []


def predictions_affected(kind: str, ev: dict[str, Any]) -> str:
    """How many predictions the finding is about, in words (what the business should weigh)."""
    if kind in ADOPTION_KINDS:
        return adoption_text.affected(ev)
    if kind == Kind.ESTIMATE and ev.get("n") is not None:
        return f"{ev['n']} predictions in the window (estimated without labels)"
    if kind == Kind.PERFORMANCE and ev.get("labeled") is not None:
        cohort = (ev.get("labeled") or 0) + (ev.get("pending") or 0)
        start = _day(ev.get("cohort_start"))
        return f"{cohort} predictions in the judged cohort" + (f" (window starting {start})" if start else "")
    if ev.get("rows") is not None:
        return f"{ev['rows']} predictions in the window"
    return "n/a (not recorded for this finding)"


def model_health_url(spec: MonitorSpec) -> str:
    """The model's page on Model Health (under the Airflow UI), for people reading outside Airflow."""
    return f"{config.settings().airflow_url}{HEALTH_MOUNT}/models/{quote(spec.name, safe='')}"


def how_to_act(spec: MonitorSpec, incident: dict[str, Any]) -> list[str]:
    """How to acknowledge or resolve, on the command line and in the UI (every message says it)."""
    if incident["status"] == IncidentState.RESOLVED:
        return []
    return [
        f"Acknowledge: gapwatch incidents ack {incident['id']} --by YOUR_NAME --why '...' "
        f"or the Acknowledge button on {model_health_url(spec)}",
    ]


def trend_line(trend: list[dict[str, Any]]) -> str:
    parts = [
        f"{t['window']} {fmt(t['value']) if t.get('value') is not None else t['status']}"
        # A value judged on data that failed readiness is shown, but not as evidence of health.
        + (f" ({t['status']})" if t["status"] in (Verdict.BREACH, Verdict.INCONCLUSIVE)
           and t.get("value") is not None else "")
        for t in trend
    ]
    return "Trend (oldest first): " + " | ".join(parts) if parts else "Trend: first window judged."


def links(spec: MonitorSpec, ev: dict[str, Any], run_link: str) -> dict[str, str]:
    out = {"airflow_run": run_link, "runbook": spec.runbook_url, "model_health": model_health_url(spec)}
    if ev.get("data_docs_url"):
        # GX reports a file:// path on the worker, which opens nowhere: link the page Model
        # Health serves (a page outside the site keeps its path, the most there is to show).
        url = str(ev["data_docs_url"])
        out["data_docs"] = data_docs_link(url, absolute=True) or url
    return out


def _what_happened(event: str, actor: str, why: str, escalation_level: int) -> list[str]:
    """The lines saying what changed (none for ``opened``: the title says it), then a blank."""
    if event == IncidentEvent.RESOLVED:
        line = f"Resolved by {actor}: {why}" if why else f"Resolved by {actor}."
    elif event == IncidentEvent.ACKNOWLEDGED:
        line = f"Acknowledged by {actor}" + (f": {why}" if why else ".")
    elif event == IncidentEvent.REOPENED:
        line = f"Reopened: {why}"
    elif event == IncidentEvent.ESCALATED:
        line = f"Escalated (level {escalation_level}): {why}"
    else:
        return []
    return [line, ""]


def incident_message(
    spec: MonitorSpec,
    incident: dict[str, Any],
    event: IncidentEvent,
    *,
    run_link: str,
    trend: list[dict[str, Any]],
    actor: str = "gapwatch",
    why: str = "",
    escalation_level: int = 0,
) -> Message:
    """The message for one incident event (opened, reopened, acknowledged, resolved, escalated)."""
    ev = incident.get("evidence") or {}
    owner = getattr(spec.owners, incident["owner_role"])
    subject = f"[gapwatch] {VERBS[event]} {incident['severity']}: {incident['title']}"
    lines = [incident["title"], "", *_what_happened(event, actor, why, escalation_level)]
    lines += what_broke(incident["kind"], ev, spec.main_metric.higher_is_better)
    lines.append(trend_line(trend))
    lines += likely_cause(incident["kind"], ev)
    link_map = links(spec, ev, run_link)
    detected = _clock(incident.get("updated_at") or incident.get("opened_at"))
    lines += [
        f"Predictions affected: {predictions_affected(incident['kind'], ev)}",
        f"Detected: {detected} (clock time)",
        "",
        f"Owner: {owner.name} <{owner.email}> ({incident['owner_role'].replace('_', ' ')})",
        *how_to_act(spec, incident),
        f"Runbook: {spec.runbook_url}",
        f"Fallback: {spec.fallback}",
        f"Model Health: {link_map['model_health']}",
        f"Airflow run: {run_link}",
    ]
    if "data_docs" in link_map:
        lines.append(f"Data Docs: {link_map['data_docs']}")
    lines.append(
        f"Incident #{incident['id']} ({incident['status']}) on {spec.name} v{spec.version}, "
        f"check {incident['check']}, opened window {_day(incident.get('opened_window'))}, "
        f"last breach window {_day(incident.get('last_breach_window'))}."
    )
    payload = {
        "event": f"incident_{event}",
        "incident": incident["id"],
        "fingerprint": incident["fingerprint"],
        "severity": incident["severity"],
        "kind": incident["kind"],
        "check": incident["check"],
        "monitor": spec.name,
        "title": incident["title"],
        "status": incident["status"],
        "actor": actor,
        "owner": {"name": owner.name, "email": str(owner.email), "role": incident["owner_role"]},
        "links": link_map,
        "facts": _facts(incident["kind"], ev),
        "trend": trend,
        "detected_at": detected,
        "predictions_affected": predictions_affected(incident["kind"], ev),
        "acknowledge": {"cli": f"gapwatch incidents ack {incident['id']} --by YOUR_NAME",
                        "ui": link_map["model_health"]},
    }
    return Message(subject, "\n".join(lines), payload)


_FACT_KEYS: dict[str, tuple[str, ...]] = {
    Kind.PERFORMANCE: ("metric", "value", "stderr", "threshold", "baseline", "labeled", "pending"),
    Kind.ESTIMATE: ("metric", "value", "stderr", "threshold", "baseline", "pending", "unsupported_share"),
    Kind.DATA: ("rows",),
}


def _facts(kind: str, ev: dict[str, Any]) -> dict[str, Any]:
    if kind in ADOPTION_KINDS:
        return adoption_text.facts(ev)
    keys = _FACT_KEYS.get(kind, ())
    facts = {k: ev.get(k) for k in keys if ev.get(k) is not None}
    if ev.get("failing_expectations"):
        facts["failing_expectations"] = ev["failing_expectations"][:5]
    if ev.get("drifted_features"):
        facts["drifted_features"] = [d["column"] for d in ev["drifted_features"][:5]]
    if ev.get("drifted_segments"):
        facts["drifted_segments"] = [moved_within(d) for d in ev["drifted_segments"][:5]]
    return facts


def ticket_message(
    spec: MonitorSpec,
    *,
    ticket_id: int,
    incident_id: int,
    title: str,
    kind: str,
    breaches: int,
    evidence: dict[str, Any],
    trend: list[dict[str, Any]],
    run_link: str,
    owner_role: str,
) -> Message:
    """A maintenance ticket: what to do, why now (the trend), and the evidence behind it."""
    owner = getattr(spec.owners, owner_role)
    incident_kind = TICKET_SOURCE[TicketKind(kind)]
    lines = [
        title,
        "",
        f"Incident #{incident_id} has failed for {breaches} windows in a row; this needs planned work, "
        "not another page.",
        *what_broke(incident_kind, evidence, spec.main_metric.higher_is_better),
        trend_line(trend),
        *likely_cause(incident_kind, evidence),
        "",
        f"Owner: {owner.name} <{owner.email}> ({owner_role.replace('_', ' ')})",
        f"Runbook: {spec.runbook_url}",
        f"Fallback while this is open: {spec.fallback}",
        f"Predictions affected: {predictions_affected(incident_kind, evidence)}",
        f"Model Health: {model_health_url(spec)}",
        f"Airflow run: {run_link}",
    ]
    link_map = links(spec, evidence, run_link)
    if "data_docs" in link_map:
        lines.append(f"Data Docs: {link_map['data_docs']}")
    payload = {
        "event": "ticket_opened",
        "ticket": ticket_id,
        "incident": incident_id,
        "kind": kind,
        "monitor": spec.name,
        "title": title,
        "owner": {"name": owner.name, "email": str(owner.email), "role": owner_role},
        "links": link_map,
        "facts": _facts(incident_kind, evidence),
        "trend": trend,
    }
    return Message(f"[gapwatch] TICKET {title}", "\n".join(lines), payload)


def dead_letter_message(dead: dict[str, Any]) -> Message:
    """The platform team's alert: a message could not be delivered; the owner did not hear."""
    subject = (
        f"[gapwatch] PLATFORM: undeliverable {dead['channel']} message for {dead['monitor']} "
        f"({dead['recipient_role']})"
    )
    body = "\n".join(
        [
            f"gapwatch gave up on outbox message #{dead['id']} after {dead['attempts']} attempts.",
            f"Channel: {dead['channel']} -> {dead['recipient']} ({dead['recipient_role']})",
            f"Message: {dead['subject']}",
            f"Last error: {dead.get('last_error') or 'n/a'}",
            "",
            "The accountable owner has NOT received this message. Fix the channel (its Airflow "
            "connection or the far side), then requeue it:",
            f"  gapwatch messages retry {dead['id']}",
            "or tell the owner directly.",
        ]
    )
    payload = {
        "event": "dead_letter",
        "message": dead["id"],
        "monitor": dead["monitor"],
        "channel": dead["channel"],
        "incident": dead.get("incident_id"),
        "ticket": dead.get("ticket_id"),
        "title": subject,
        "severity": Severity.WARNING,
        "fingerprint": f"gapwatch|dead_letter|{dead['id']}",
    }
    return Message(subject, body, payload)
