"""The optional ``adoption`` section of a monitor spec: is the model used, and does it pay?

A model is working only when people act on its output. The section names the decisions table
(joined to the predictions on the prediction id), what counts as following the recommendation,
who acts (a team column), an optional business-outcome column, how soon a prediction should be
acted on (``decision_sla``), and limits per check like metrics have. Declarations only (pydantic):
the calculations live in ``gapwatch.evaluation.adoption``, the stage in ``gapwatch.adoption``.

Checks (``CHECKS``): ``coverage`` (share of predictions decided within the SLA), ``follow_rate``
(share of decisions that followed the model), ``time_to_action_p50``/``_p90`` (prediction to
decision), ``override_quality`` (on overridden cases whose labels matured: the share the humans got
right minus the share the model got right), ``outcome_mean``/``outcome_sum`` (the value column).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from gapwatch.catalog import Kind, TicketKind
from gapwatch.spec_fields import _Strict as Strict
from gapwatch.spec_fields import parse_duration, utc_datetime

# Incident kinds of this section (catalog.Kind).
ADOPTION = Kind.ADOPTION
OUTCOME = Kind.OUTCOME
ADOPTION_KINDS = (ADOPTION, OUTCOME)
TICKET_ADOPTION = TicketKind.ADOPTION  # maintenance ticket kind: training, workflow integration
TEAM = "team"  # the dimension name of the team column in segments ("team=east")

CheckName = Literal[
    "coverage", "follow_rate", "time_to_action_p50", "time_to_action_p90", "override_quality",
    "outcome_mean", "outcome_sum",
]


@dataclass(frozen=True)
class CheckDef:
    """What an adoption check is, independent of any monitor.

    Attributes:
        name: the check (``adoption:<name>`` is its finding's check id).
        kind: incident kind, ``adoption`` or ``outcome``.
        unit: ``share`` (0-1), ``seconds``, ``difference`` (-1..1) or ``value`` (the value column).
        higher_is_better: direction; None = from ``adoption.value_higher_is_better``.
        default_limits: limits used when the spec sets none for the check.
        severity: default severity of its incidents.
        per_team: whether one team past its own limit fails the check. Shares (coverage, follow
            rate) have exact binomial errors per team, and a team that stops acting hides in the
            overall number; percentiles and money means are heavy-tailed, noise on a team's few
            hundred decisions, and a team that acts late already shows in coverage, so those are
            judged overall (their team values are still shown and name the drivers).
        description: one line for people.
    """

    name: str
    kind: str
    unit: str
    higher_is_better: bool | None
    default_limits: dict[str, float]
    severity: str
    per_team: bool
    description: str


CHECKS: dict[str, CheckDef] = {
    d.name: d
    for d in [
        CheckDef("coverage", ADOPTION, "share", True, {"max_drop": 0.10}, "critical", True,
                 "share of predictions acted on within the decision SLA"),
        CheckDef("follow_rate", ADOPTION, "share", True, {"max_drop": 0.10}, "warning", True,
                 "share of decisions that followed the model's recommendation"),
        CheckDef("time_to_action_p50", ADOPTION, "seconds", False, {"max_relative_drop": 1.0}, "warning", False,
                 "median time from prediction to decision"),
        # The tail is shown, not judged, unless the spec sets limits: a slow team already shows in
        # coverage, and two incidents for one cause are noise.
        CheckDef("time_to_action_p90", ADOPTION, "seconds", False, {}, "warning", False,
                 "90th percentile of the time from prediction to decision"),
        CheckDef("override_quality", ADOPTION, "difference", True, {"floor": -0.10}, "warning", False,
                 "on overridden predictions with matured labels: humans right minus model right"),
        # Money per decision is heavy-tailed (a default loses many margins): by default the limit
        # comes from the reference's own week-to-week spread, not from a fixed share of its mean.
        CheckDef("outcome_mean", OUTCOME, "value", None, {"spread_k": 3.0}, "warning", False,
                 "business outcome per decision"),
        CheckDef("outcome_sum", OUTCOME, "value", None, {}, "warning", False,
                 "business outcome of the window's decisions"),
    ]
}
VALUE_CHECKS = ("outcome_mean", "outcome_sum")
LABEL_CHECKS = ("override_quality", *VALUE_CHECKS)  # judged on the label-matured cohort


class AdoptionLimits(Strict):
    """Limits of one adoption check; the strictest set applies (as for metrics). Setting any
    limit replaces the check's default limits."""

    floor: float | None = Field(default=None, description="absolute limit (min, or max when lower is better)")
    max_drop: float | None = Field(default=None, ge=0, description="allowed worsening from the baseline")
    max_relative_drop: float | None = Field(default=None, gt=0, description="as a fraction of the baseline")
    spread_k: float | None = Field(default=None, gt=0, description="baseline mean -/+ k std over sub-windows")
    min_decisions: int | None = Field(default=None, ge=1, description="fewer = insufficient (default: section's)")
    severity: Literal["critical", "warning"] | None = None
    enabled: bool = True

    def limits(self) -> dict[str, float]:
        """The limits set (name -> value); empty when the check is shown, not judged."""
        keys = ("floor", "max_drop", "max_relative_drop", "spread_k")
        return {k: getattr(self, k) for k in keys if getattr(self, k) is not None}


class AdoptionBaseline(Strict):
    """The reference period of the decisions (default: the monitor's baseline window). A monitor
    whose baseline is a reference table (a test set holds no decisions) without this period has
    no adoption baseline: only absolute limits (``floor``) apply, and no decisions volume check."""

    start: datetime
    end: datetime

    @field_validator("start", "end", mode="before")
    @classmethod
    def _utc(cls, value: Any) -> Any:
        return utc_datetime(value)

    @model_validator(mode="after")
    def _ordered(self) -> AdoptionBaseline:
        if self.end <= self.start:
            raise ValueError("adoption.baseline end must be after start")
        return self


class FeedReadiness(Strict):
    """Built-in checks of the decisions feed (a broken feed is a data incident, not an adoption
    alarm). Unset values come from the monitor's ``readiness.freshness`` / ``readiness.volume``."""

    freshness: bool = True
    max_age: timedelta | None = Field(default=None, description="newest decision at most this old at the window end")
    volume: bool = True
    min_ratio: float | None = Field(default=None, ge=0, description="decisions / baseline decisions per window")
    max_ratio: float | None = Field(default=None, gt=0)

    @field_validator("max_age", mode="before")
    @classmethod
    def _age(cls, value: Any) -> Any:
        return None if value is None else parse_duration(value)


class Adoption(Strict):
    """Who acts on the model's output, how soon, whether they follow it, and what it earns."""

    table: str = Field(description="the decisions table (schema.table allowed)")
    id: str = Field(description="column holding the prediction id the decision acted on")
    decided_at: str = Field(description="when the decision was made (UTC timestamp column)")
    action: str | None = Field(default=None, description="the decision taken (needed by a followed mapping)")
    followed: str | dict[bool | int | float | str, str] = Field(
        description="a true/false column of the decisions table, or the action that follows each "
        "prediction value, e.g. {1: refer, 0: approve}",
    )
    team: str | None = Field(default=None, description="decisions column: the team (or actor) who acted")
    assigned_team: str | None = Field(
        default=None, description="predictions column: the team that should act (attributes undecided ones)"
    )
    value: str | None = Field(default=None, description="decisions column: business outcome, e.g. net value")
    value_higher_is_better: bool = True
    decision_sla: timedelta = Field(description="how soon a prediction should be acted on, e.g. 2d, 30m")
    min_decisions: int = Field(default=200, ge=1, description="fewer decisions = insufficient, never an alarm")
    checks: dict[CheckName, AdoptionLimits] = Field(default_factory=dict)
    baseline: AdoptionBaseline | None = None
    readiness: FeedReadiness = Field(default_factory=FeedReadiness)

    @field_validator("decision_sla", mode="before")
    @classmethod
    def _sla(cls, value: Any) -> timedelta:
        return parse_duration(value)

    @model_validator(mode="after")
    def _consistent(self) -> Adoption:
        if isinstance(self.followed, dict) and not self.action:
            raise ValueError("adoption.followed maps predictions to actions: set adoption.action too")
        if self.decision_sla <= timedelta(0):
            raise ValueError("adoption.decision_sla must be positive")
        valued = [c for c in VALUE_CHECKS if c in self.checks and self.checks[c].enabled]
        if valued and not self.value:
            raise ValueError(f"adoption.checks {valued} need adoption.value (the business outcome column)")
        return self

    def limits(self, check: str) -> AdoptionLimits:
        """The check's effective limits: the spec's, else the check's defaults."""
        own = self.checks.get(check)  # type: ignore[call-overload]
        if own is not None and own.limits():
            return own
        kept = own.model_dump(include={"min_decisions", "severity", "enabled"}) if own else {}
        return AdoptionLimits.model_validate({**CHECKS[check].default_limits, **kept})

    def enabled(self, check: str) -> bool:
        """Whether a check is measured: value checks need a value column, override quality an
        action that tells which class the human chose (or a binary model)."""
        if check in VALUE_CHECKS and not self.value:
            return False
        return self.limits(check).enabled

    def severity(self, check: str) -> str:
        """The severity of the check's incidents: the spec's, else the check's default."""
        return self.limits(check).severity or CHECKS[check].severity

    def min_for(self, check: str) -> int:
        """Fewest decisions the check is judged on."""
        return self.limits(check).min_decisions or self.min_decisions

    def higher_is_better(self, check: str) -> bool:
        """The check's direction (the outcome's from ``value_higher_is_better``)."""
        direction = CHECKS[check].higher_is_better
        return self.value_higher_is_better if direction is None else direction


def measured_checks(spec: Any) -> list[str]:
    """The checks a monitor's adoption section measures, in ``CHECKS`` order.

    Override quality needs to know which class the human chose: from the ``followed`` mapping
    (an action that maps to a class), or, for a binary classifier, the class the model did not
    predict. A regression has no class, so it is not measured there.
    """
    a = spec.adoption
    if a is None:
        return []
    knows_human_class = spec.task != "regression" and (
        isinstance(a.followed, dict) or spec.task == "binary_classification"
    )
    return [c for c in CHECKS if a.enabled(c) and (c != "override_quality" or knows_human_class)]


def adoption_problems(spec: Any) -> list[str]:
    """What makes a monitor's adoption section unusable with the rest of its spec."""
    a = spec.adoption
    if a is None:
        return []
    problems = []
    if isinstance(a.followed, dict) and spec.task == "regression":
        problems.append("adoption.followed cannot map a regression's predictions to actions: "
                        "use a true/false column of the decisions table")
    for column in (a.team, a.assigned_team):
        if column and column in spec.pii_columns:
            problems.append(f"adoption team column {column!r} is pii: its values would appear in messages")
    return problems
