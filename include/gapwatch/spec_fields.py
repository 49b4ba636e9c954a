"""The parts of a monitor spec that describe people, data and delivery (``spec`` re-exports them).

Owners, the source and its tables (with the label delay), the readiness gate and the
notification routes: parsed with pydantic, cheap enough for every DAG parse. The detection
settings (metrics and their limits, drift, baseline, policy) and the loaders are in ``spec``.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

_DURATION_RE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_DURATION_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
MAX_DURATION = timedelta(days=100 * 366)


def parse_duration(value: Any) -> timedelta:
    """Parse ``"7d"``, ``"36h"``, ``"2w"`` (or a number of seconds) into a timedelta."""
    if isinstance(value, timedelta):
        return value
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            duration = timedelta(seconds=value)
        else:
            match = _DURATION_RE.match(str(value))
            if not match:
                raise ValueError(f"{value!r} is not a duration; use a number and a unit, e.g. 7d, 36h, 2w")
            amount, unit = match.groups()
            duration = timedelta(**{_DURATION_UNITS[unit]: int(amount)})
    except OverflowError:  # beyond timedelta's range
        duration = MAX_DURATION + MAX_DURATION
    # Durations are added to window dates at run time, where an overflow would crash a task.
    if abs(duration) > MAX_DURATION:
        raise ValueError(f"{value!r} is too long a duration (at most {MAX_DURATION.days} days)")
    return duration


class _Strict(BaseModel):
    # Unknown keys are typos far more often than intent; reject them so they are noticed.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Person(_Strict):
    name: str = Field(min_length=1)
    email: EmailStr
    slack_channel: str | None = None
    slack_conn_id: str | None = Field(
        default=None,
        description="Airflow connection (slackwebhook) holding the incoming webhook of slack_channel",
    )
    oncall_route: str | None = Field(
        default=None,
        description="where pages go: the name of a route in notifications.routes (e.g. PagerDuty)",
    )


class Owners(_Strict):
    """Accountability is part of the product: all three roles are required."""

    business_owner: Person
    technical_owner: Person
    data_steward: Person


class Source(_Strict):
    """Where production data is read. Exactly one of ``conn_id`` or ``url_env``; never a password."""

    conn_id: str | None = Field(default=None, description="an Airflow connection id")
    url_env: str | None = Field(
        default=None, description="name of an environment variable holding a SQLAlchemy URL"
    )

    @model_validator(mode="after")
    def _one_of(self) -> Source:
        if (self.conn_id is None) == (self.url_env is None):
            raise ValueError("set exactly one of conn_id (Airflow connection) or url_env")
        return self


class Feature(_Strict):
    name: str
    kind: Literal["numeric", "categorical"] = "numeric"
    pii: bool = False


class PredictionsTable(_Strict):
    table: str
    id: str
    timestamp: str
    prediction: str
    score: str | None = Field(default=None, description="probability of the positive class")
    features: list[Feature] = Field(min_length=1)
    pii_columns: list[str] = Field(default_factory=list, description="columns never shown as values")

    @field_validator("features", mode="before")
    @classmethod
    def _names_as_numeric(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"name": v} if isinstance(v, str) else v for v in value]
        return value



_DELAY_RE = re.compile(r"^\s*(\d+)\s*(mo|months?|windows?|[smhdw])\s*$")


class LabelDelay(_Strict):
    """How late labels arrive, in one of three units (exactly one field is set).

    * ``duration``: a fixed time (``7d``, ``36h``, ``2w``): the cohort is the window shifted back
      by it.
    * ``windows``: whole intervals of the monitor's schedule (``1 window``, ``2 windows``): the
      cohort is exactly the window that many schedule steps earlier, whatever its length (a
      monthly schedule has 28- to 31-day windows).
    * ``months``: calendar months (``1mo``, ``2 months``): the window's bounds moved back by whole
      months (end-of-month dates clamp: 31 March - 1 month = 28/29 February).

    The arithmetic is in ``gapwatch.window`` (``shift``, ``Window.cohort``).
    """

    duration: timedelta | None = Field(default=None, description="a fixed delay, e.g. 7d")
    windows: int | None = Field(default=None, ge=1, le=1000, description="schedule intervals, e.g. 1")
    months: int | None = Field(default=None, ge=1, le=MAX_DURATION.days // 31, description="calendar months, e.g. 1")

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        if isinstance(value, dict | LabelDelay):
            return value
        if isinstance(value, timedelta) or (isinstance(value, int | float) and not isinstance(value, bool)):
            return {"duration": parse_duration(value)}
        match = _DELAY_RE.match(str(value))
        if not match:
            raise ValueError(
                f"{value!r} is not a label delay; use a duration (7d, 36h, 2w), whole windows of the "
                "schedule (1 window, 2 windows) or calendar months (1mo)"
            )
        amount, unit = int(match.group(1)), match.group(2)
        if unit.startswith("window"):
            return {"windows": amount}
        if unit.startswith("mo"):
            return {"months": amount}
        return {"duration": parse_duration(f"{amount}{unit}")}

    @model_validator(mode="after")
    def _one_unit(self) -> LabelDelay:
        if sum(v is not None for v in (self.duration, self.windows, self.months)) != 1:
            raise ValueError("a label delay has exactly one of duration, windows or months")
        return self

    def describe(self) -> str:
        """In words: ``7 days``, ``36 hours``, ``1 window``, ``2 months``."""
        if self.windows is not None:
            return f"{self.windows} window" + ("s" if self.windows != 1 else "")
        if self.months is not None:
            return f"{self.months} month" + ("s" if self.months != 1 else "")
        assert self.duration is not None
        seconds = int(self.duration.total_seconds())
        for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
            if seconds % size == 0 and seconds >= size:
                amount = seconds // size
                return f"{amount} {unit}" + ("s" if amount != 1 else "")
        return f"{seconds} seconds"

    def __str__(self) -> str:
        return self.describe()


class GroundTruthTable(_Strict):
    table: str
    id: str
    label: str
    arrived_at: str
    delay: LabelDelay = Field(
        description="how late labels arrive: a duration (7d, 36h, 2w), schedule windows (1 window) "
        "or calendar months (1mo)"
    )


# The last three are always on (the values the evaluation cannot do without); their severity
# can still be set.
BUILTIN_CHECKS = ("freshness", "volume", "schema", "duplicates", "scores", "predictions", "timestamps")
_SEVERITY_KEY_RE = re.compile(r"^(" + "|".join(BUILTIN_CHECKS) + r"|expect_[a-z0-9_]+(:.+)?)$")


class FreshnessCheck(_Strict):
    """The newest row of the window must be no older than ``max_age`` at the window's end."""

    enabled: bool = True
    max_age: timedelta = Field(default=timedelta(days=1), description="e.g. 6h, 1d")

    @field_validator("max_age", mode="before")
    @classmethod
    def _parse_age(cls, value: Any) -> timedelta:
        return parse_duration(value)


class VolumeCheck(_Strict):
    """The window's row count must lie in a band around the baseline's rows per window."""

    enabled: bool = True
    min_ratio: float = Field(default=0.7, ge=0, description="lowest row count / baseline per window")
    max_ratio: float = Field(default=1.5, gt=0, description="highest row count / baseline per window")

    @model_validator(mode="after")
    def _ordered(self) -> VolumeCheck:
        if self.max_ratio <= self.min_ratio:
            raise ValueError("volume.max_ratio must be greater than volume.min_ratio")
        return self


class ToggleCheck(_Strict):
    enabled: bool = True


# Where a monitor's window statistics (and, unless readiness.validate_in says otherwise, its GX
# suite) are computed: in the source database (SQL aggregates, the rows stay there) or in the
# worker's memory on the extracted window.
ComputeIn = Literal["database", "memory"]
DEFAULT_COMPUTE_IN: ComputeIn = "database"


class Readiness(_Strict):
    """The readiness gate: the steward's GX suite plus the built-in checks every feed gets."""

    # "schema" is a BaseModel attribute in pydantic, hence the alias.
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    suite: str = Field(description="file name (without .json) in include/expectations/")
    validate_in: ComputeIn = Field(
        default="memory",
        description="memory: GX on the extracted window (pandas); database: GX on the SQL source; "
        "in a monitor spec, unset follows the monitor's compute_in",
    )
    freshness: FreshnessCheck = Field(default_factory=FreshnessCheck)
    volume: VolumeCheck = Field(default_factory=VolumeCheck)
    schema_check: ToggleCheck = Field(default_factory=ToggleCheck, alias="schema")
    duplicates: ToggleCheck = Field(default_factory=ToggleCheck)
    severity: dict[str, Literal["critical", "warning"]] = Field(
        default_factory=dict,
        description="per-check severity: a built-in check name, 'expect_type' or 'expect_type:column'",
    )

    @field_validator("severity")
    @classmethod
    def _known_keys(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [k for k in value if not _SEVERITY_KEY_RE.match(k)]
        if bad:
            raise ValueError(
                f"severity keys {bad} must be one of {list(BUILTIN_CHECKS)}, "
                "'expect_<type>' or 'expect_<type>:<column>'"
            )
        return value



class Route(_Strict):
    """One place messages can go. Secrets stay in the Airflow connection named by ``conn_id``."""

    channel: Literal["file", "email", "slack", "pagerduty", "jira", "webhook"]
    conn_id: str | None = Field(
        default=None, description="Airflow connection id (webhook URL, routing key, token live there)"
    )
    to: EmailStr | None = Field(default=None, description="address of an email route")
    project: str | None = Field(default=None, description="Jira project key of a jira route")
    issue_type: str = Field(default="Task", description="Jira issue type of a jira route")

    @model_validator(mode="after")
    def _complete(self) -> Route:
        if self.channel == "email" and not self.to:
            raise ValueError("an email route needs 'to'")
        if self.channel == "jira" and not self.project:
            raise ValueError("a jira route needs 'project' (the owning team's Jira project key)")
        if self.channel in {"slack", "pagerduty"} and not self.conn_id:
            raise ValueError(f"a {self.channel} route needs 'conn_id' (an Airflow connection)")
        return self


class Notifications(_Strict):
    """Who hears about what. Owners are reached on ``channels``; pages, escalations and tickets
    go to named routes. Defaults keep the embedded demo on the file sink."""

    channels: list[Literal["file", "email", "slack", "webhook"]] = Field(
        default=["file"],  # pydantic copies a mutable default per instance
        description="how owners are reached: file sink, email, their slack_conn_id, signed webhook",
    )
    webhook_conn_id: str = Field(
        default="gapwatch_webhook", description="Airflow connection of the generic signed webhook"
    )
    routes: dict[str, Route] = Field(default_factory=dict, description="named routes (on-call, escalation)")
    page_for: list[Literal["performance", "estimate", "data", "drift", "adoption", "outcome"]] = Field(
        default=["performance"],
        description="incident kinds that page the technical owner's oncall_route when critical",
    )
    escalation: list[str] = Field(
        default_factory=list, description="route names tried in order while unacknowledged past SLA"
    )
    ack_sla: dict[Literal["critical", "warning"], timedelta] = Field(
        default={"critical": timedelta(hours=1), "warning": timedelta(days=1)},
        description="time to acknowledge before escalating, per severity",
    )
    reopen_cooldown: timedelta = Field(
        default=timedelta(days=14),
        description="a recurrence this soon after resolution reopens the incident",
    )
    tracker: Route | None = Field(default=None, description="where maintenance tickets go (jira)")

    @field_validator("ack_sla", mode="before")
    @classmethod
    def _parse_slas(cls, value: Any) -> Any:
        if isinstance(value, dict):
            defaults = {"critical": timedelta(hours=1), "warning": timedelta(days=1)}
            return {**defaults, **{k: parse_duration(v) for k, v in value.items()}}
        return value

    @field_validator("reopen_cooldown", mode="before")
    @classmethod
    def _parse_cooldown(cls, value: Any) -> timedelta:
        return parse_duration(value)

    @model_validator(mode="after")
    def _routes_exist(self) -> Notifications:
        unknown = [name for name in self.escalation if name not in self.routes]
        if unknown:
            raise ValueError(f"escalation routes {unknown} are not defined in notifications.routes")
        if self.tracker is not None and self.tracker.channel not in {"jira", "file", "webhook"}:
            raise ValueError("notifications.tracker must be a jira (or file/webhook) route")
        return self


def utc_datetime(value: Any) -> Any:
    """A date or naive datetime from a spec as an aware UTC datetime (midnight for a date)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


class Baseline(_Strict):
    """The reference: a window of production predictions (``start``/``end``) or a reference table
    (``table``, e.g. the test set: the prediction columns plus a label column)."""

    start: datetime | None = None
    end: datetime | None = None
    table: str | None = Field(default=None, description="reference table in the model's source")
    label: str | None = Field(default=None, description="label column of `table` (default: ground_truth.label)")
    sub_windows: int = Field(
        default=4, ge=2, le=52, description="equal slices of the baseline for spread thresholds"
    )

    @field_validator("start", "end", mode="before")
    @classmethod
    def _utc(cls, value: Any) -> Any:
        return utc_datetime(value)

    @field_validator("start", "end", mode="after")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        # A quoted date ("2026-01-01") reaches pydantic as text and comes back naive.
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value

    def describe(self) -> str:
        if self.table is not None:
            return f"reference table {self.table}"
        assert self.start is not None and self.end is not None
        return f"{self.start.date()} to {self.end.date()}"

    @model_validator(mode="after")
    def _ordered(self) -> Baseline:
        window = self.start is not None or self.end is not None
        if window == (self.table is not None):
            raise ValueError("set either start and end (a reference window) or table (a reference table)")
        if window and (self.start is None or self.end is None):
            raise ValueError("a reference window needs both start and end")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("baseline end must be after start")
        return self


class Policy(_Strict):
    breaches_before_incident: int = Field(default=1, ge=1)
    healthy_runs_to_resolve: int = Field(default=2, ge=1)
    windows_before_ticket: int = Field(default=3, ge=1)
