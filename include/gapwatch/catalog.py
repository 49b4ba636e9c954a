"""What gapwatch can measure, as declarations only, and the words every layer shares.

Metric names, tasks and directions, drift method names with their default thresholds; and the
enums of every status, verdict, kind, severity, state and role that the store, the pipeline, the
incidents, the messages and Model Health write or read. Each is a ``StrEnum``: its members equal
the strings already stored, so the store schema does not change, and each is defined here once so
a new member shows up everywhere that iterates it (a colour, a label, a plain-words sentence).

Kept free of numpy/pandas so the spec (parsed by the DAG processor on every parse) can validate
names against it; the calculations live in ``evaluation`` (Evidently's split of a metric's
declaration from the function that calculates it).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

BINARY = "binary_classification"
BINARY_LABELS = frozenset({0, 1})  # the values a binary model's labels and predictions may take


def moved_within(pair: dict[str, str]) -> str:
    """How every view names a column that drifted within one segment: "income (region=north)"."""
    return f"{pair['column']} ({pair['segment']})"
MULTICLASS = "multiclass_classification"
REGRESSION = "regression"


@dataclass(frozen=True)
class MetricDef:
    """What a metric is, independent of any monitor: direction and how its error is estimated."""

    name: str
    tasks: frozenset[str]
    higher_is_better: bool
    needs_score: bool
    uncertainty: str  # "analytic" | "bootstrap"
    description: str


def _def(name: str, tasks: set[str], higher: bool, score: bool, unc: str, text: str) -> MetricDef:
    return MetricDef(name, frozenset(tasks), higher, score, unc, text)


METRICS: dict[str, MetricDef] = {
    d.name: d
    for d in [
        _def("roc_auc", {BINARY}, True, True, "analytic", "area under the ROC curve"),
        _def("pr_auc", {BINARY}, True, True, "bootstrap", "average precision (area under PR curve)"),
        _def("f1", {BINARY}, True, False, "bootstrap", "F1 of the positive class"),
        _def("precision", {BINARY}, True, False, "analytic", "precision of the positive class"),
        _def("recall", {BINARY}, True, False, "analytic", "recall of the positive class"),
        _def("accuracy", {BINARY, MULTICLASS}, True, False, "analytic", "share of correct labels"),
        _def("log_loss", {BINARY}, False, True, "analytic", "mean negative log-likelihood"),
        _def("brier", {BINARY}, False, True, "analytic", "mean squared error of the probability"),
        _def("ece", {BINARY}, False, True, "bootstrap", "expected calibration error, 10 equal bins"),
        _def("f1_macro", {MULTICLASS}, True, False, "bootstrap", "unweighted mean of per-class F1"),
        _def("f1_weighted", {MULTICLASS}, True, False, "bootstrap", "support-weighted per-class F1"),
        _def("mae", {REGRESSION}, False, False, "analytic", "mean absolute error"),
        _def("rmse", {REGRESSION}, False, False, "analytic", "root mean squared error"),
        _def("mape", {REGRESSION}, False, False, "analytic", "mean absolute percentage error"),
        _def("r2", {REGRESSION}, True, False, "analytic", "coefficient of determination"),
    ]
}

# Metrics a binary classifier's label-free estimate (CBPE) can give before labels arrive.
ESTIMABLE = ("roc_auc", "accuracy")


def metrics_for(task: str) -> list[str]:
    """Names of the metrics that apply to a task."""
    return [name for name, d in METRICS.items() if task in d.tasks]


# Drift methods and their default thresholds. Distances drift at value >= threshold, p-values at
# value < threshold. Evidently's defaults where it has one (KS/chi-square p 0.05, Wasserstein
# normed and Jensen-Shannon 0.1); PSI 0.2 is the common "significant shift" rule of thumb.
DRIFT_THRESHOLDS: dict[str, float] = {
    "psi": 0.2,
    "ks": 0.15,
    "ks_pvalue": 0.05,
    "wasserstein": 0.1,
    "jensenshannon": 0.1,
    "chisquare": 0.05,
}
PVALUE_METHODS = frozenset({"ks_pvalue", "chisquare"})
COLUMN_METHODS = tuple(sorted(DRIFT_THRESHOLDS))
MULTIVARIATE_METHODS = ("pca_reconstruction",)


# A breach needs 95% confidence that the metric is past its limit: a one-sided test, so the
# value's upper (lower, for errors) 95% bound must lie beyond the limit. The band shown
# everywhere (messages, charts) is value ± BREACH_Z·stderr: each edge is one of those bounds, so
# "breach" reads as "the whole band is past the limit".
BREACH_Z = 1.645


# How many windows of the main metric's trend each reader gets: a message carries a short trend
# that reads in one line; the Model Health sparkline shows a quarter of weekly windows.
TREND_IN_MESSAGES = 6
TREND_ON_CHARTS = 12


# ---------------------------------------------------------------- shared words


class RunStatus(StrEnum):
    """A published run's overall status (``runs.status``), from ``policy.run_status``."""

    HEALTHY = "healthy"
    DEGRADED = "degraded"  # the realized main metric breaches
    AT_RISK = "at_risk"  # the label-free estimate breaches; labels have not confirmed it yet
    DRIFTING = "drifting"  # inputs moved, performance still within limits
    NOT_READY = "not_ready"  # the window failed its readiness suite; nothing was judged
    NOT_COMPUTABLE = "not_computable"  # the main metric or a watched column could not be computed
    NO_DATA = "no_data"  # the window has no rows, or the cohort none to judge: never "healthy"
    AWAITING_LABELS = "awaiting_labels"  # too few matured labels to judge performance


class Readiness(StrEnum):
    """A window's readiness verdict (``runs.readiness``)."""

    READY = "ready"
    NOT_READY = "not_ready"


class Verdict(StrEnum):
    """The verdict of one check: a finding's, a metric row's, a stage summary's ``status``."""

    BREACH = "breach"  # past its limit with 95% confidence
    OK = "ok"
    INSUFFICIENT = "insufficient"  # too few rows or labels to judge
    INCONCLUSIVE = "inconclusive"  # not judged: the data failed readiness
    NOT_APPLICABLE = "not_applicable"  # the check does not apply (no estimate for a regressor)
    DRIFT = "drift"  # the drift stage's word for a breach (``runs.drift``); its finding says breach
    NO_DATA = "no_data"  # nothing to judge: no rows in the window, or no matured labels
    NOT_COMPUTABLE = "not_computable"  # rows to judge, but no value (one class only, NaN, NULLs)


# Only these verdicts count towards a streak: an unjudged window neither counts nor breaks one,
# so an empty or uncomputable window never resolves an incident nor closes its ticket.
JUDGED = (Verdict.BREACH, Verdict.OK)


class Kind(StrEnum):
    """What a finding, and the incident it opens, is about."""

    DATA = "data"  # the input data failed readiness (the data steward's)
    PERFORMANCE = "performance"  # a realized metric on matured labels (one finding per metric)
    ESTIMATE = "estimate"  # the label-free estimate (CBPE) before labels arrive
    DRIFT = "drift"  # inputs or score moved away from the baseline
    ADOPTION = "adoption"  # people do not use the model's decisions (the business owner's)
    OUTCOME = "outcome"  # the decisions' business value fell (the business owner's)


class Severity(StrEnum):
    CRITICAL = "critical"
    WARNING = "warning"


class IncidentState(StrEnum):
    """``incidents.status``: open -> acknowledged -> resolved (a recurrence may reopen it)."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


# An incident in these states is unresolved: the database allows one per fingerprint.
OPEN_STATES = (IncidentState.OPEN, IncidentState.ACKNOWLEDGED)


class IncidentEvent(StrEnum):
    """What happened to an incident: its audit actions and the events its messages announce."""

    OPENED = "opened"
    BREACH_CONTINUES = "breach_continues"
    REOPENED = "reopened"
    TICKET_RAISED = "ticket_raised"
    TICKET_CLOSED = "ticket_closed"
    ACKNOWLEDGED = "acknowledged"
    SNOOZED = "snoozed"
    ESCALATED = "escalated"
    ESCALATION_EXHAUSTED = "escalation_exhausted"
    AUTO_RESOLVED = "auto_resolved"
    RESOLVED = "resolved"


class Role(StrEnum):
    """Who a message is for (``outbox.recipient_role``) and who owns an incident (``owner_role``)."""

    BUSINESS_OWNER = "business_owner"
    TECHNICAL_OWNER = "technical_owner"
    DATA_STEWARD = "data_steward"
    ONCALL = "oncall"  # the technical owner's on-call route (pages)
    ESCALATION = "escalation"  # a route an unacknowledged incident escalates to
    TRACKER = "tracker"  # the owning team's issue tracker (tickets)
    PLATFORM = "platform"  # the team running gapwatch (dead letters)


# The people every spec must name; the other roles are routes.
OWNER_ROLES = (Role.BUSINESS_OWNER, Role.TECHNICAL_OWNER, Role.DATA_STEWARD)


class TicketKind(StrEnum):
    """The planned work a sustained degradation asks for."""

    RETRAIN = "retrain"
    FIX_FEED = "fix_feed"
    ADOPTION = "adoption"  # training, workflow integration


class TicketState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class MessageStatus(StrEnum):
    """``outbox.status``: pending -> sending (claimed) -> sent, or dead after its last attempt."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DEAD = "dead"


class FleetStatus(StrEnum):
    """A monitor's status on Model Health, worst first (the order sorts the fleet table).

    Every ``RunStatus`` has one (``not_ready`` reads ``data_not_ready`` there); the others say
    what no run can: the monitor is broken, or has not run yet.
    """

    MONITOR_BROKEN = "monitor_broken"
    STALE = "stale"  # paused, or no run for two schedule intervals: every other status is out of date
    DEGRADED = "degraded"
    DATA_NOT_READY = "data_not_ready"
    AT_RISK = "at_risk"
    DRIFTING = "drifting"
    NOT_COMPUTABLE = "not_computable"
    NO_DATA = "no_data"
    AWAITING_LABELS = "awaiting_labels"
    HEALTHY = "healthy"
    NO_RUNS = "no_runs"

