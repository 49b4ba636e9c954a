"""Pure decisions, part one: what a finding is, and the stage summaries turned into findings.

A finding is the verdict of one check for one window, keyed by a deterministic fingerprint
(monitor, check, segment) so reruns and retries land on the same incident. Every metric of the
spec is its own check (``metric:<name>``) with its own severity; readiness, the label-free
estimate and drift are checks too. ``gapwatch.policy`` re-exports these names and holds the rest
of the decisions (run status, streaks, the incident state machine).

Not every window can be judged, and none of the ways it cannot reads as healthy: ``no_data``
(no rows, no matured labels), ``not_computable`` (rows, but no value: one class only, NaN,
NULLs), ``insufficient`` (too few labels) and ``inconclusive`` (the data failed readiness) all
stay out of the streaks, so they never resolve an incident nor close its ticket.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from gapwatch.catalog import Kind, Role, Severity, TicketKind, Verdict
from gapwatch.evaluation.adoption_findings import adoption_checks

if TYPE_CHECKING:
    from gapwatch.spec import MonitorSpec

OVERALL = "*"  # the segment of a finding about the whole window
WORST_SEGMENTS = 3
DRIFTED_IN_EVIDENCE = 5
VOLUME_CHECK = "volume"  # the one readiness check an empty window can fail on its merits
LINKED = ("likely_cause", "data_incident", "data_check")  # a performance finding's link to data

# Per kind: how loud its incident is, who owns it, and what planned work a sustained breach asks
# for. The label-free estimate and drift are warnings: they announce, the realized metric pages.
# A performance finding's severity is its metric's (``MonitorSpec.metric_severity``).
SEVERITY: dict[Kind, Severity] = {
    Kind.DATA: Severity.CRITICAL,
    Kind.PERFORMANCE: Severity.CRITICAL,
    Kind.ESTIMATE: Severity.WARNING,
    Kind.DRIFT: Severity.WARNING,
    Kind.ADOPTION: Severity.WARNING,  # per check: spec_adoption.CHECKS and the spec's limits
    Kind.OUTCOME: Severity.WARNING,
}
OWNER_ROLE: dict[Kind, Role] = {
    Kind.DATA: Role.DATA_STEWARD,
    Kind.PERFORMANCE: Role.TECHNICAL_OWNER,
    Kind.ESTIMATE: Role.TECHNICAL_OWNER,
    Kind.DRIFT: Role.TECHNICAL_OWNER,
    Kind.ADOPTION: Role.BUSINESS_OWNER,
    Kind.OUTCOME: Role.BUSINESS_OWNER,
}
# An estimate never opens a ticket (labels have not confirmed it); drift alone is no reason to
# retrain; a warning-level metric announces but asks for no planned work; a sustained adoption
# problem asks for training or workflow integration, not a retrain.
TICKET_KIND: dict[Kind, TicketKind] = {Kind.PERFORMANCE: TicketKind.RETRAIN, Kind.DATA: TicketKind.FIX_FEED,
                                        Kind.ADOPTION: TicketKind.ADOPTION}
TICKET_SOURCE: dict[TicketKind, Kind] = {ticket: kind for kind, ticket in TICKET_KIND.items()}


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
        severity: Overrides the kind's severity (a warning-level readiness check or metric).

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
    ``readiness:freshness``, ``readiness:volume``, ``readiness:schema``,
    ``readiness:duplicates`` and ``readiness:values``; warning-level expectations get their own
    ``...:warning`` finding with severity ``warning``, so they notify (and resolve) on their own
    without blocking model evaluation.

    An empty window passes every check but volume vacuously (no NULL in no rows): those checks
    say ``no_data``, never ``ok``, so an empty window cannot auto-resolve a data incident. The
    volume check keeps its verdict: no rows is exactly what it is there to catch.

    Args:
        spec: The monitor.
        readiness: ``gapwatch.readiness.stage.run_readiness`` output.

    Returns:
        Findings as built by :func:`make_finding`.
    """
    checks = readiness.get("checks") or [
        {"check": "suite", "severity": Severity.CRITICAL, "failing": readiness["critical_failures"]}
    ]
    empty = readiness.get("rows") == 0
    findings = []
    for group in checks:
        name = spec.readiness.suite if group["check"] == "suite" else group["check"]
        warning = group["severity"] == Severity.WARNING
        status = Verdict.BREACH if group["failing"] else Verdict.OK
        if empty and status is Verdict.OK and group["check"] != VOLUME_CHECK:
            status = Verdict.NO_DATA
        findings.append(
            make_finding(
                spec,
                kind=Kind.DATA,
                check=f"readiness:{name}" + (":warning" if warning else ""),
                status=status,
                evidence={
                    "failing_expectations": group["failing"],
                    "rows": readiness["rows"],
                    "data_docs_url": readiness.get("data_docs_url"),
                    "blocks_evaluation": not warning,
                    **({"reason": "no rows in the window"} if status is Verdict.NO_DATA else {}),
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
    adoption: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Turn the stage summaries into findings: one per check, each breach / ok / not judged.

    Checks: ``readiness:<suite>`` (kind data), ``metric:<name>`` for every metric of the spec
    (kind performance, the realized value on matured labels, severity per metric: the first
    critical, the others warning unless the spec says), ``estimate:<metric>`` (kind estimate,
    binary classifiers: the label-free CBPE estimate, severity warning; never opens a ticket),
    ``drift`` (kind drift); with an ``adoption`` summary also ``readiness:decisions:*`` and
    ``adoption:<check>`` (see :func:`adoption_findings`).

    Evidence of the performance and estimate findings (stable field names; messages are rendered
    from them):

    - ``metric``, ``value``, ``stderr``, ``interval`` ([low, high]: value -/+ 1.645 stderr),
      ``uncertainty`` (analytic | bootstrap | estimated), ``n``: the value and its sampling error;
    - ``baseline``, ``threshold``, ``rule``, ``needs_bound``, ``limits``, ``status``: what it is
      judged against and how (a spread rule judges the value, the others its one-sided bound);
    - ``estimated`` (bool): True for the label-free estimate, never for a realized value;
    - ``labeled``, ``pending``, ``pending_share``, ``cohort_start``, ``reason``: label maturity;
    - ``likely_cause`` (``data``) and ``data_incident``: set when the cohort's own window failed
      readiness (the lifecycle fills in the data incident's id);
    - ``trend``: [{window, value, stderr, status}] of the realized main metric, last windows;
    - ``worst_segments``: [{segment, value, stderr, n, status}], lowest first (highest for errors);
    - ``drifted_features``: [{column, <method>: value, ...}] most drifted first;
    - ``drift_ranking``: [{column, method, value, threshold, drifted, severity}] top results;
    - drift only: ``drifted_segments``: [{segment, column, rows, severity, values}], the
      segments whose column moved against the same segment of the baseline (columns that did not
      move in the whole window), most severe first, at most 10; ``segments_drifted_count``: all
      of them; ``segments_too_few_rows``: baseline segments not judged (too few window rows);
    - estimate only: ``unsupported_share`` (rows outside the baseline's input range).
    """
    context = _performance_context(spec, performance, drift)
    return [
        *readiness_findings(spec, readiness),
        *_metric_findings(spec, performance, context),
        *_estimate_findings(spec, performance, context),
        make_finding(
            spec,
            kind=Kind.DRIFT,
            check="drift",
            status=Verdict.BREACH if drift["status"] == Verdict.DRIFT else drift["status"],
            evidence={"drifted_features": drift.get("drifted", []), "drift_ranking": drift.get("ranking", []),
                      "drifted_segments": (drift.get("segments") or {}).get("drifted", []),
                      "segments_drifted_count": (drift.get("segments") or {}).get("drifted_count", 0),
                      "segments_too_few_rows": (drift.get("segments") or {}).get("too_few_rows", []),
                      "not_computable": drift.get("not_computable", []), "reason": drift.get("reason"),
                      "rows": drift.get("rows")},
        ),
        *adoption_findings(spec, adoption),
    ]


def adoption_findings(spec: MonitorSpec, summary: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Findings of one window's adoption summary (``gapwatch.adoption``); none without one.

    Kinds ``adoption``/``outcome`` go to the business owner; the feed's readiness to the steward.
    """
    return [make_finding(spec, **check) for check in adoption_checks(spec, summary)]


def metric_verdict(performance: Mapping[str, Any], name: str) -> Verdict:
    """One metric's verdict: its row's when the cohort was judged, else the cohort's (no data,
    insufficient, inconclusive: the reason applies to every metric alike).

    On a cohort whose own window failed readiness only a breach counts (attributed to the data);
    an ok value on untrusted data is no evidence of health: ``inconclusive``.
    """
    row = performance["metrics"].get(name)
    if row is None:
        status = performance["status"]
        if performance.get("no_data"):
            return Verdict.NO_DATA
        return Verdict(status) if status != Verdict.BREACH else Verdict.INSUFFICIENT
    verdict = Verdict(row["status"])
    if performance.get("suspect_data") and verdict is not Verdict.BREACH:
        return Verdict.INCONCLUSIVE
    return verdict


def _metric_findings(
    spec: MonitorSpec, performance: Mapping[str, Any], context: dict[str, Any]
) -> list[dict[str, Any]]:
    """The realized value of every metric on the matured cohort, one finding each."""
    findings = []
    for metric in spec.metrics:
        row = performance["metrics"].get(metric.name, {})
        findings.append(
            make_finding(
                spec,
                kind=Kind.PERFORMANCE,
                check=f"metric:{metric.name}",
                status=metric_verdict(performance, metric.name),
                evidence={
                    **{k: v for k, v in row.items() if k != "segment"},
                    "metric": metric.name,
                    "estimated": False,
                    **context,
                    "reason": row.get("reason") or performance.get("reason"),
                },
                severity=spec.metric_severity(metric),
            )
        )
    return findings


def _estimate_findings(
    spec: MonitorSpec, performance: Mapping[str, Any], context: dict[str, Any]
) -> list[dict[str, Any]]:
    """The label-free estimate's finding, when the model has one (binary classifiers)."""
    estimate = performance.get("estimate") or {}
    if estimate.get("status", Verdict.NOT_APPLICABLE) == Verdict.NOT_APPLICABLE:
        return []
    row = estimate.get("row") or {}
    status = Verdict.NO_DATA if estimate.get("no_data") else Verdict(estimate["status"])
    return [
        make_finding(
            spec,
            kind=Kind.ESTIMATE,
            check=f"estimate:{estimate['metric']}",
            status=status,
            evidence={
                **{k: v for k, v in row.items() if k != "segment"},
                "metric": estimate["metric"],
                "estimated": True,
                **{k: v for k, v in context.items() if k not in LINKED},
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
    context = {
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
    if performance.get("suspect_data"):
        # The cohort's own window failed readiness: a breach is still reported, attributed.
        data = performance.get("data_incident") or {}
        context["likely_cause"] = Kind.DATA.value
        context["data_incident"] = data.get("id")
        context["data_check"] = data.get("check")
    return context
