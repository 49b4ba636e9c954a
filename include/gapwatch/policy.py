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

from gapwatch.catalog import JUDGED, Kind, Readiness, Role, RunStatus, Severity, TicketKind, Verdict
from gapwatch.text import duration_text

if TYPE_CHECKING:
    from gapwatch.spec import MonitorSpec

OVERALL = "*"  # the segment of a finding about the whole window
WORST_SEGMENTS = 3
DRIFTED_IN_EVIDENCE = 5

# Per kind: how loud its incident is, who owns it, and what planned work a sustained breach asks
# for. The label-free estimate and drift are warnings: they announce, the realized metric pages.
SEVERITY: dict[Kind, Severity] = {
    Kind.DATA: Severity.CRITICAL,
    Kind.PERFORMANCE: Severity.CRITICAL,
    Kind.ESTIMATE: Severity.WARNING,
    Kind.DRIFT: Severity.WARNING,
}
OWNER_ROLE: dict[Kind, Role] = {
    Kind.DATA: Role.DATA_STEWARD,
    Kind.PERFORMANCE: Role.TECHNICAL_OWNER,
    Kind.ESTIMATE: Role.TECHNICAL_OWNER,
    Kind.DRIFT: Role.TECHNICAL_OWNER,
}
# An estimate never opens a ticket (labels have not confirmed it); drift alone is no reason to
# retrain.
TICKET_KIND: dict[Kind, TicketKind] = {Kind.PERFORMANCE: TicketKind.RETRAIN, Kind.DATA: TicketKind.FIX_FEED}
TICKET_SOURCE: dict[TicketKind, Kind] = {ticket: kind for kind, ticket in TICKET_KIND.items()}


# ---------------------------------------------------------------- findings


def fingerprint(monitor: str, check: str, segment: str = OVERALL) -> str:
    """The key of a check's incident: the same check of the same monitor lands on one incident."""
    return f"{monitor}|{check}|{segment}"


def ticket_fingerprint(monitor: str, kind: TicketKind) -> str:
    """The key of a monitor's open ticket of one kind (one open at a time)."""
    return fingerprint(monitor, f"ticket:{kind}")


def make_finding(
    spec: MonitorSpec,
    *,
    kind: Kind,
    check: str,
    status: str,
    evidence: dict[str, Any],
    segment: str = OVERALL,
    severity: Severity | None = None,
) -> dict[str, Any]:
    """One check's verdict for one window, as stored in ``findings`` and passed through XCom.

    Args:
        spec: The monitor.
        kind: What the check is about; sets the default severity.
        check: The check id (``metric:roc_auc``, ``readiness:<suite>``, ``drift``).
        status: Its verdict (a ``Verdict``).
        evidence: What the messages and the page show (see :func:`decide`).
        segment: The segment judged (``*`` for the whole window).
        severity: Overrides the kind's severity (a warning-level readiness check).

    Returns:
        A JSON-safe dict: fingerprint, kind, check, segment, status, severity, evidence.
    """
    # Plain strings, not enum members: the finding travels through XCom as JSON.
    return {
        "fingerprint": fingerprint(spec.name, check, segment),
        "kind": str(Kind(kind)),
        "check": check,
        "segment": segment,
        "status": str(Verdict(status)),
        "severity": str(severity or SEVERITY[Kind(kind)]),
        "evidence": evidence,
    }


def readiness_findings(spec: MonitorSpec, readiness: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Findings for the data steward: one per readiness check and severity.

    The steward's suite keeps the check id ``readiness:<suite>``; built-in checks are
    ``readiness:freshness``, ``readiness:volume``, ``readiness:schema`` and
    ``readiness:duplicates``; warning-level expectations get their own ``...:warning``
    finding with severity ``warning``, so they notify (and resolve) on their own without
    blocking model evaluation.

    Args:
        spec: The monitor.
        readiness: ``gapwatch.readiness.stage.run_readiness`` output.

    Returns:
        Findings as built by :func:`make_finding`.
    """
    checks = readiness.get("checks") or [
        {"check": "suite", "severity": Severity.CRITICAL, "failing": readiness["critical_failures"]}
    ]
    findings = []
    for group in checks:
        name = spec.readiness.suite if group["check"] == "suite" else group["check"]
        warning = group["severity"] == Severity.WARNING
        findings.append(
            make_finding(
                spec,
                kind=Kind.DATA,
                check=f"readiness:{name}" + (":warning" if warning else ""),
                status=Verdict.BREACH if group["failing"] else Verdict.OK,
                evidence={
                    "failing_expectations": group["failing"],
                    "rows": readiness["rows"],
                    "data_docs_url": readiness.get("data_docs_url"),
                    "blocks_evaluation": not warning,
                },
                severity=Severity(group["severity"]),
            )
        )
    return findings


def decide(
    spec: MonitorSpec,
    readiness: Mapping[str, Any],
    performance: Mapping[str, Any],
    drift: Mapping[str, Any],
) -> list[dict[str, Any]]:
    """Turn the stage summaries into findings: one per check, each breach / ok / not judged.

    Checks: ``readiness:<suite>`` (kind data), ``metric:<main metric>`` (kind performance, the
    realized value on matured labels), ``estimate:<metric>`` (kind estimate, binary classifiers:
    the label-free CBPE estimate, severity warning; never opens a ticket), ``drift`` (kind drift).

    Evidence of the performance and estimate findings (stable field names; messages are rendered
    from them):

    - ``metric``, ``value``, ``stderr``, ``interval`` ([low, high]: value -/+ 1.645 stderr, the
      one-sided 95% bounds; a breach needs the whole interval past the threshold),
      ``uncertainty`` (analytic | bootstrap | estimated), ``n``: the value and its sampling error;
    - ``baseline``, ``threshold``, ``status`` (breach | ok | insufficient): what it is judged against;
    - ``estimated`` (bool): True for the label-free estimate, never for a realized value;
    - ``labeled``, ``pending``, ``pending_share``, ``cohort_start``, ``reason``: label maturity;
    - ``trend``: [{window, value, stderr, status}] of the realized main metric, last windows;
    - ``worst_segments``: [{segment, value, stderr, n, status}], lowest first (highest for errors);
    - ``drifted_features``: [{column, <method>: value, ...}] most drifted first;
    - ``drift_ranking``: [{column, method, value, threshold, drifted, severity}] top results;
    - estimate only: ``unsupported_share`` (rows outside the baseline's input range).
    """
    context = _performance_context(spec, performance, drift)
    return [
        *readiness_findings(spec, readiness),
        _performance_finding(spec, performance, context),
        *_estimate_findings(spec, performance, context),
        make_finding(
            spec,
            kind=Kind.DRIFT,
            check="drift",
            status=Verdict.BREACH if drift["status"] == Verdict.DRIFT else drift["status"],
            evidence={"drifted_features": drift.get("drifted", []), "drift_ranking": drift.get("ranking", []),
                      "rows": drift.get("rows")},
        ),
    ]


def _performance_finding(
    spec: MonitorSpec, performance: Mapping[str, Any], context: dict[str, Any]
) -> dict[str, Any]:
    """The realized main metric on the matured cohort."""
    main = spec.main_metric
    row = performance["metrics"].get(main.name, {})
    return make_finding(
        spec,
        kind=Kind.PERFORMANCE,
        check=f"metric:{main.name}",
        status=performance["status"],
        evidence={
            **{k: v for k, v in row.items() if k != "segment"},
            "metric": main.name,
            "estimated": False,
            **context,
            "reason": performance.get("reason"),
        },
    )


def _estimate_findings(
    spec: MonitorSpec, performance: Mapping[str, Any], context: dict[str, Any]
) -> list[dict[str, Any]]:
    """The label-free estimate's finding, when the model has one (binary classifiers)."""
    estimate = performance.get("estimate") or {}
    if estimate.get("status", Verdict.NOT_APPLICABLE) == Verdict.NOT_APPLICABLE:
        return []
    row = estimate.get("row") or {}
    return [
        make_finding(
            spec,
            kind=Kind.ESTIMATE,
            check=f"estimate:{estimate['metric']}",
            status=estimate["status"],
            evidence={
                **{k: v for k, v in row.items() if k != "segment"},
                "metric": estimate["metric"],
                "estimated": True,
                **context,
                "unsupported_share": estimate.get("unsupported_share"),
                "reason": estimate.get("reason"),
            },
        )
    ]


def _performance_context(
    spec: MonitorSpec, performance: Mapping[str, Any], drift: Mapping[str, Any]
) -> dict[str, Any]:
    """The evidence the performance and estimate findings share: labels, trend, likely causes."""
    main = spec.main_metric
    judged = [s for s in performance["segments"] if s["value"] is not None]
    worst = sorted(judged, key=lambda s: s["value"] if main.higher_is_better else -s["value"])[:WORST_SEGMENTS]
    return {
        "labeled": performance["labeled"],
        "pending": performance["pending"],
        "pending_share": performance.get("pending_share"),
        "cohort_start": performance["cohort_start"],
        "trend": performance.get("trend", []),
        "worst_segments": [
            {k: s[k] for k in ("segment", "value", "stderr", "n", "status")} for s in worst
        ],
        "drifted_features": drift.get("drifted", [])[:DRIFTED_IN_EVIDENCE],
        "drift_ranking": drift.get("ranking", []),
    }


def run_status(
    readiness: Mapping[str, Any], performance: Mapping[str, Any], drift: Mapping[str, Any]
) -> RunStatus:
    """The run's overall status, the worst that applies: not ready, degraded, at risk, drifting,
    awaiting labels, healthy."""
    if not readiness["ready"]:
        return RunStatus.NOT_READY
    if performance["status"] == Verdict.BREACH:
        return RunStatus.DEGRADED
    if (performance.get("estimate") or {}).get("status") == Verdict.BREACH:
        return RunStatus.AT_RISK  # the label-free estimate says degraded; labels have not confirmed it yet
    if drift["status"] == Verdict.DRIFT:
        return RunStatus.DRIFTING
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
    """

    action: Action
    incident: int | None = None
    ticket: TicketKind | None = None
    why: str = ""
    ticket_why: str = ""


def next_step(
    finding: Mapping[str, Any],
    *,
    window_start: datetime,
    current: OpenIncident | None,
    last_resolved: ResolvedIncident | None,
    streak: Streaks,
    rules: Rules,
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
    ``windows_before_ticket``, the decision also asks for a ticket of the kind's ``TICKET_KIND``.
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

    ticket, ticket_why = _ticket(finding, streak, rules)
    if current is not None:
        if window_start <= current.last_breach_window:
            return Decision(Action.NOTHING, current.id, ticket, ticket_why=ticket_why)
        return Decision(Action.CONTINUE, current.id, ticket,
                        f"still failing ({streak.breaches} windows in a row)", ticket_why)
    if streak.breaches < rules.breaches_before_incident:
        return Decision(Action.NOTHING)
    if last_resolved is not None:
        resolved = last_resolved.resolved_window
        if window_start <= resolved:
            return Decision(Action.NOTHING, why="resolved at or after this window; a rerun does not undo that")
        if window_start <= resolved + rules.reopen_cooldown:
            why = (f"the check breached again {(window_start - resolved).days} days after it was "
                   f"resolved (cool-down {rules.reopen_cooldown.days} days), so the same incident continues")
            return Decision(Action.REOPEN, last_resolved.id, ticket, why, ticket_why)
    why = (f"{finding['check']} failed {streak.breaches} window(s) in a row "
           f"(policy: incident after {rules.breaches_before_incident})")
    return Decision(Action.OPEN, None, ticket, why, ticket_why)


def _ticket(finding: Mapping[str, Any], streak: Streaks, rules: Rules) -> tuple[TicketKind | None, str]:
    kind = TICKET_KIND.get(Kind(finding["kind"]))
    if kind is None or streak.breaches < rules.windows_before_ticket:
        return None, ""
    return kind, f"{streak.breaches} failing windows (policy: ticket after {rules.windows_before_ticket})"


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
