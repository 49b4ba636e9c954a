"""How Model Health shows every status and kind: its label and its colours, in one place.

Each map is built by iterating its enum (``gapwatch.catalog``), so a new member without a label or
a colour fails when this module is imported, not silently on the page (the charts once forgot the
``estimate`` kind). The page's status badges are rendered from :data:`BADGES` (see the plugin's
``base.html``), the charts' colour scales from the ``*_COLOURS`` maps.
"""

from __future__ import annotations

from typing import Any

from gapwatch.catalog import FleetStatus, Kind, Readiness, RunStatus, Severity, TicketKind, Verdict

_GREEN, _RED, _ORANGE, _AMBER, _PURPLE, _GREY = "#2f855a", "#c53030", "#dd6b20", "#b7791f", "#6b46c1", "#a0aec0"
_SLATE, _TEAL = "#4a5568", "#2c7a7b"

_STATUS_LABELS = {
    FleetStatus.MONITOR_BROKEN: "monitor broken",
    FleetStatus.STALE: "stale (not running)",
    FleetStatus.DEGRADED: "degraded",
    FleetStatus.DATA_NOT_READY: "data not ready",
    FleetStatus.AT_RISK: "at risk (estimated)",
    FleetStatus.DRIFTING: "drifting",
    FleetStatus.NOT_COMPUTABLE: "not computable",
    FleetStatus.NO_DATA: "no data",
    FleetStatus.AWAITING_LABELS: "awaiting labels",
    FleetStatus.HEALTHY: "healthy",
    FleetStatus.NO_RUNS: "no runs yet",
}
# The label of each fleet status, worst first (the enum's order sorts the fleet table).
STATUS_LABELS: dict[FleetStatus, str] = {status: _STATUS_LABELS[status] for status in FleetStatus}

_FLEET_COLOURS = {
    FleetStatus.MONITOR_BROKEN: _RED,
    FleetStatus.STALE: _SLATE,
    FleetStatus.DEGRADED: _RED,
    FleetStatus.DATA_NOT_READY: _AMBER,
    FleetStatus.AT_RISK: _ORANGE,
    FleetStatus.DRIFTING: _PURPLE,
    FleetStatus.NOT_COMPUTABLE: _AMBER,
    FleetStatus.NO_DATA: _AMBER,
    FleetStatus.AWAITING_LABELS: _GREY,
    FleetStatus.HEALTHY: _GREEN,
    FleetStatus.NO_RUNS: _GREY,
}
FLEET_COLOURS: dict[FleetStatus, str] = {status: _FLEET_COLOURS[status] for status in FleetStatus}

_BADGES = {  # (background, text) of the status pill
    FleetStatus.MONITOR_BROKEN: ("#fed7d7", "#822727"),
    FleetStatus.STALE: ("#cbd5e0", "#1a202c"),
    FleetStatus.DEGRADED: ("#fed7d7", "#822727"),
    FleetStatus.DATA_NOT_READY: ("#feebc8", "#7b341e"),
    FleetStatus.AT_RISK: ("#feebc8", "#7b341e"),
    FleetStatus.DRIFTING: ("#e9d8fd", "#44337a"),
    FleetStatus.NOT_COMPUTABLE: ("#feebc8", "#7b341e"),
    FleetStatus.NO_DATA: ("#feebc8", "#7b341e"),
    FleetStatus.AWAITING_LABELS: ("#e2e8f0", "#2d3748"),
    FleetStatus.HEALTHY: ("#c6f6d5", "#22543d"),
    FleetStatus.NO_RUNS: ("#e2e8f0", "#2d3748"),
}
BADGES: dict[FleetStatus, tuple[str, str]] = {status: _BADGES[status] for status in FleetStatus}


def fleet_status(run_status: str) -> FleetStatus:
    """The fleet status a stored run status shows as (``not_ready`` reads ``data_not_ready``);
    a status no run can have means a broken monitor."""
    try:
        status = RunStatus(run_status)
    except ValueError:
        return FleetStatus.MONITOR_BROKEN
    return FleetStatus.DATA_NOT_READY if status is RunStatus.NOT_READY else FleetStatus(status.value)


# The sparkline's dot per run: the colour of the status the run shows as.
RUN_STATUS_COLOURS: dict[RunStatus, str] = {status: FLEET_COLOURS[fleet_status(status)] for status in RunStatus}

_KIND_LABELS = {
    Kind.DATA: "input data",
    Kind.PERFORMANCE: "performance",
    Kind.ESTIMATE: "estimated performance",
    Kind.DRIFT: "drift",
    Kind.ADOPTION: "adoption",
    Kind.OUTCOME: "business outcome",
}
KIND_LABELS: dict[Kind, str] = {kind: _KIND_LABELS[kind] for kind in Kind}
_KIND_COLOURS = {Kind.DATA: _AMBER, Kind.PERFORMANCE: _RED, Kind.ESTIMATE: _ORANGE, Kind.DRIFT: _PURPLE,
                 Kind.ADOPTION: _TEAL, Kind.OUTCOME: _SLATE}
KIND_COLOURS: dict[Kind, str] = {kind: _KIND_COLOURS[kind] for kind in Kind}

# The main metric's two lines on one chart: realized on matured labels, estimated without labels.
SERIES_LABELS: dict[Kind, str] = {Kind.PERFORMANCE: "realized (matured labels)",
                                  Kind.ESTIMATE: "estimated (no labels yet)"}
SERIES_COLOURS: dict[Kind, str] = {Kind.PERFORMANCE: "#2b6cb0", Kind.ESTIMATE: _ORANGE}

# A stored metric value is judged ok, breach, insufficient (too few labels) or not computable
# (no value from the labels it had); the others are verdicts of whole checks, never of a value.
METRIC_VERDICTS = (Verdict.OK, Verdict.BREACH, Verdict.INSUFFICIENT, Verdict.NOT_COMPUTABLE)
_VERDICT_COLOURS = {Verdict.OK: _GREEN, Verdict.BREACH: _RED, Verdict.INSUFFICIENT: _GREY,
                    Verdict.NOT_COMPUTABLE: _AMBER}
VERDICT_COLOURS: dict[Verdict, str] = {verdict: _VERDICT_COLOURS[verdict] for verdict in METRIC_VERDICTS}

_SEVERITY_COLOURS = {Severity.CRITICAL: _RED, Severity.WARNING: _AMBER}
SEVERITY_COLOURS: dict[Severity, str] = {severity: _SEVERITY_COLOURS[severity] for severity in Severity}

_READINESS = {Readiness.READY: ("ready", _GREEN), Readiness.NOT_READY: ("not ready", _RED)}
READINESS_LABELS: dict[Readiness, str] = {r: _READINESS[r][0] for r in Readiness}
READINESS_COLOURS: dict[Readiness, str] = {r: _READINESS[r][1] for r in Readiness}


def template_globals() -> dict[str, Any]:
    """What the Model Health templates draw their status and severity styles from."""
    return {"badges": BADGES, "severity_colours": SEVERITY_COLOURS, "status_labels": STATUS_LABELS}

_TICKETS = {TicketKind.RETRAIN: ("retrain", _RED), TicketKind.FIX_FEED: ("fix the feed", _AMBER),
            TicketKind.ADOPTION: ("improve adoption", _TEAL)}
TICKET_LABELS: dict[TicketKind, str] = {t: _TICKETS[t][0] for t in TicketKind}
TICKET_COLOURS: dict[TicketKind, str] = {t: _TICKETS[t][1] for t in TicketKind}
