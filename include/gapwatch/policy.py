"""Pure decisions: what a finding is, the run status, streaks, and the incident state machine.

No database, no network, no Airflow: every function here takes values and returns values, so the
rules that page people are tested in milliseconds (``tests/unit/test_policy.py``). The stages do
the I/O around them: ``pipeline`` gathers the stage summaries, ``incidents.lifecycle`` reads the
stored verdicts and incidents, calls :func:`next_step` and writes what it decides.

A finding is the verdict of one check for one window, keyed by a deterministic fingerprint
(monitor, check, segment) so reruns and retries land on the same incident. Streaks (breaches in a
row, healthy runs in a row) are derived from the stored verdicts, never kept as counters, which
makes reruns idempotent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from gapwatch.catalog import JUDGED, Kind, Readiness, RunStatus, Severity, TicketKind, Verdict
from gapwatch.findings import (
    DRIFTED_IN_EVIDENCE,
    OVERALL,
    OWNER_ROLE,
    SEVERITY,
    TICKET_KIND,
    TICKET_SOURCE,
    WORST_SEGMENTS,
    adoption_findings,
    decide,
    fingerprint,
    make_finding,
    metric_verdict,
    readiness_findings,
    ticket_fingerprint,
)
from gapwatch.text import duration_text

if TYPE_CHECKING:
    from gapwatch.spec import MonitorSpec

# Findings (what a check's verdict is, one per metric) live in ``gapwatch.findings``; they are
# re-exported here so the stages keep asking ``policy`` for every decision.
__all__ = [
    "DRIFTED_IN_EVIDENCE", "OVERALL", "OWNER_ROLE", "SEVERITY", "TICKET_KIND", "TICKET_SOURCE",
    "WORST_SEGMENTS", "adoption_findings", "decide", "fingerprint", "make_finding", "metric_verdict",
    "readiness_findings", "ticket_fingerprint",
]


def run_status(
    readiness: Mapping[str, Any], performance: Mapping[str, Any], drift: Mapping[str, Any]
) -> RunStatus:
    """The run's overall status, the worst that applies.

    Not ready (this window failed readiness; a breach on its cohort still opens its incident),
    degraded (a critical metric breaches), at risk, drifting, not computable (the
    main metric or a watched column has no value), no data (no rows in the window, or none in
    the cohort to judge), awaiting labels, healthy. A run is healthy only when every judged part
    of it could be judged.
    """
    empty = readiness.get("rows") == 0 or bool(drift.get("no_data"))
    if not readiness["ready"] and not empty:
        return RunStatus.NOT_READY
    if performance["status"] == Verdict.BREACH:
        return RunStatus.DEGRADED
    if (performance.get("estimate") or {}).get("status") == Verdict.BREACH:
        return RunStatus.AT_RISK  # the label-free estimate says degraded; labels have not confirmed it yet
    if drift["status"] == Verdict.DRIFT:
        return RunStatus.DRIFTING
    if Verdict.NOT_COMPUTABLE in (performance["status"], drift["status"]):
        return RunStatus.NOT_COMPUTABLE
    if empty or (performance.get("no_data") and not performance.get("pending")):
        return RunStatus.NO_DATA
    if performance["status"] == Verdict.INSUFFICIENT:
        return RunStatus.AWAITING_LABELS
    return RunStatus.HEALTHY


def readiness_verdict(readiness: Mapping[str, Any]) -> Readiness:
    """The run's readiness column: ready or not_ready."""
    return Readiness.READY if readiness["ready"] else Readiness.NOT_READY


# ---------------------------------------------------------------- streaks


@dataclass(frozen=True)
class Streaks:
    """How a check stands at a window: breaches in a row and healthy (ok) runs in a row."""

    breaches: int
    healthy: int


def streaks(verdicts: Iterable[str]) -> Streaks:
    """The streaks ending at the newest of ``verdicts`` (newest first).

    Only judged verdicts (breach, ok) count: an inconclusive or insufficient window neither
    counts towards a streak nor breaks it.
    """
    judged = [v for v in verdicts if v in JUDGED]
    breaches = next((i for i, v in enumerate(judged) if v != Verdict.BREACH), len(judged))
    healthy = next((i for i, v in enumerate(judged) if v != Verdict.OK), len(judged))
    return Streaks(breaches, healthy)


# ---------------------------------------------------------------- the incident state machine


class Action(StrEnum):
    """What :func:`next_step` asks the lifecycle to do with a check's incident."""

    OPEN = "open"  # open a new incident
    CONTINUE = "continue"  # the open incident breached again in a newer window
    REOPEN = "reopen"  # the incident resolved within the cool-down breached again
    RESOLVE = "resolve"  # healthy long enough: auto-resolve the open incident
    NOTHING = "nothing"


@dataclass(frozen=True)
class Rules:
    """The spec's incident policy, as the state machine reads it."""

    breaches_before_incident: int = 1
    healthy_runs_to_resolve: int = 2
    windows_before_ticket: int = 3
    reopen_cooldown: timedelta = timedelta(days=14)

    @classmethod
    def of(cls, spec: MonitorSpec) -> Rules:
        p = spec.policy
        return cls(p.breaches_before_incident, p.healthy_runs_to_resolve, p.windows_before_ticket,
                   spec.notifications.reopen_cooldown)


@dataclass(frozen=True)
class OpenIncident:
    """The check's unresolved (open or acknowledged) incident."""

    id: int
    last_breach_window: datetime


@dataclass(frozen=True)
class ResolvedIncident:
    """The check's most recently resolved incident (for the reopen cool-down)."""

    id: int
    resolved_window: datetime


@dataclass(frozen=True)
class Decision:
    """What to do with one finding's incident, and why (the audit trail's words).

    Attributes:
        action: Open, continue, reopen, resolve or nothing.
        incident: The incident acted on (continue, reopen, resolve), or the open one a ticket
            belongs to when the action is nothing; None for open and for nothing without one.
        ticket: A maintenance ticket of this kind is due (the breach streak reached the policy's
            ``windows_before_ticket``); raised unless one of this kind is already open.
        why: Why the action, in words.
        ticket_why: Why the ticket, in words.
        ticket_streak: The failing windows of any critical metric a retrain ticket counted
            (0 when the ticket counts the finding's own streak).
    """

    action: Action
    incident: int | None = None
    ticket: TicketKind | None = None
    why: str = ""
    ticket_why: str = ""
    ticket_streak: int = 0  # windows counted towards a retrain ticket, when they span metrics


def next_step(
    finding: Mapping[str, Any],
    *,
    window_start: datetime,
    current: OpenIncident | None,
    last_resolved: ResolvedIncident | None,
    streak: Streaks,
    rules: Rules,
    ticket_streak: Streaks | None = None,
) -> Decision:
    """The incident state machine: one finding's verdict and the check's incidents -> the action.

    - breach, an incident open: continue it (nothing when this window is not newer than its last
      breach: a rerun of the same window adds no second breach);
    - breach, none open, the breach streak below ``breaches_before_incident``: nothing;
    - breach, none open, one resolved at or after this window: nothing (a rerun of an old window
      must neither reopen it nor open a second one);
    - breach, none open, one resolved within ``reopen_cooldown`` before this window: reopen it;
    - breach, none open otherwise: open one;
    - ok, an incident open, ``healthy_runs_to_resolve`` ok runs in a row: resolve it;
    - anything else (inconclusive, insufficient, ok while healthy): nothing.

    Whenever a breach continues, reopens or opens an incident and the breach streak has reached
    ``windows_before_ticket``, the decision also asks for a ticket of the kind's ``TICKET_KIND``
    (a warning-level metric asks for none). ``ticket_streak``, for a critical metric, counts the
    windows in which any critical metric failed (:func:`any_breach_by_window`): one retrain
    ticket per monitor, whichever metrics carried the streak.
    Cool-down and "newer" are measured in data time (windows), so replays and backfills decide
    the same way.
    """
    verdict = finding["status"]
    if verdict == Verdict.OK:
        if current is not None and streak.healthy >= rules.healthy_runs_to_resolve:
            return Decision(Action.RESOLVE, current.id,
                            why=f"the check has been healthy for {streak.healthy} runs in a row")
        return Decision(Action.NOTHING)
    if verdict != Verdict.BREACH:
        return Decision(Action.NOTHING)

    ticket, ticket_why = _ticket(finding, ticket_streak or streak, rules)
    counted = ticket_streak.breaches if ticket is not None and ticket_streak is not None else 0
    if current is not None:
        if window_start <= current.last_breach_window:
            return Decision(Action.NOTHING, current.id, ticket, ticket_why=ticket_why, ticket_streak=counted)
        return Decision(Action.CONTINUE, current.id, ticket,
                        f"still failing ({streak.breaches} windows in a row)", ticket_why, counted)
    if streak.breaches < rules.breaches_before_incident:
        return Decision(Action.NOTHING)
    if last_resolved is not None:
        resolved = last_resolved.resolved_window
        if window_start <= resolved:
            return Decision(Action.NOTHING, why="resolved at or after this window; a rerun does not undo that")
        if window_start <= resolved + rules.reopen_cooldown:
            why = (f"the check breached again {(window_start - resolved).days} days after it was "
                   f"resolved (cool-down {rules.reopen_cooldown.days} days), so the same incident continues")
            return Decision(Action.REOPEN, last_resolved.id, ticket, why, ticket_why, counted)
    why = (f"{finding['check']} failed {streak.breaches} window(s) in a row "
           f"(policy: incident after {rules.breaches_before_incident})")
    return Decision(Action.OPEN, None, ticket, why, ticket_why, counted)


def _ticket(finding: Mapping[str, Any], streak: Streaks, rules: Rules) -> tuple[TicketKind | None, str]:
    kind = TICKET_KIND.get(Kind(finding["kind"]))
    if finding["kind"] == Kind.PERFORMANCE and finding.get("severity") == Severity.WARNING:
        kind = None  # a warning-level metric announces; it asks for no planned work
    if kind is None or streak.breaches < rules.windows_before_ticket:
        return None, ""
    if (finding.get("evidence") or {}).get("raise_ticket") is False:  # overrides that are right: fix the model
        return None, ""
    return kind, f"{streak.breaches} failing windows (policy: ticket after {rules.windows_before_ticket})"


def ticket_fingerprints(spec: MonitorSpec, finding: Mapping[str, Any]) -> list[str]:
    """The checks whose failing windows a critical metric's retrain ticket counts: every critical
    metric of the monitor; empty for any other finding (it counts its own streak)."""
    if finding["kind"] != Kind.PERFORMANCE or finding.get("severity") != Severity.CRITICAL:
        return []
    return [fingerprint(spec.name, f"metric:{m.name}") for m in spec.metrics
            if spec.metric_severity(m) is Severity.CRITICAL]


def any_breach_by_window(verdicts: Iterable[tuple[Any, str]]) -> list[str]:
    """Per window (newest first), breach when any of its checks breached, else ok.

    Args:
        verdicts: (window_start, judged verdict) of several checks, newest window first.
    """
    by_window: dict[Any, str] = {}
    for window, verdict in verdicts:
        if by_window.get(window) != Verdict.BREACH:
            by_window[window] = verdict
    return [by_window[w] for w in sorted(by_window, reverse=True)]


def failing_metrics(spec: MonitorSpec, findings: Iterable[Mapping[str, Any]]) -> list[str]:
    """The critical metrics breaching among one window's findings (a retrain ticket names them)."""
    return [f["evidence"].get("metric") or f["check"].split(":", 1)[1] for f in findings
            if f["kind"] == Kind.PERFORMANCE and f["severity"] == Severity.CRITICAL
            and f["status"] == Verdict.BREACH]


def replays_history(window_start: datetime, newest_published: datetime | None) -> bool:
    """Whether a run is a rerun of a window older than the newest published one.

    Such a run only refreshes its findings: the incidents already reflect later windows, and
    replaying history must not reopen or resolve them.
    """
    return newest_published is not None and newest_published > window_start


# ---------------------------------------------------------------- escalation


@dataclass(frozen=True)
class Escalation:
    """Where an incident unacknowledged past its SLA goes next.

    Attributes:
        level: The escalation level it reaches (1 = the spec's first escalation route).
        route: That level's route, or None when the spec has no further route (exhausted).
        why: Why, in words.
    """

    level: int
    route: str | None
    why: str


def escalation_step(level: int, routes: Sequence[str], *, late: timedelta, sla: timedelta) -> Escalation:
    """The next escalation of an incident at ``level`` that has waited ``late`` past its opening
    (or its last escalation) against an acknowledgement SLA of ``sla``."""
    why = f"unacknowledged for {duration_text(late)}, past its {duration_text(sla)} acknowledgement SLA"
    nxt = level + 1
    if nxt > len(routes):
        return Escalation(nxt, None, why + "; no further escalation route in the spec")
    return Escalation(nxt, routes[nxt - 1], why)
