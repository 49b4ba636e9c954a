"""Monitor specs: one YAML file per monitored model, parsed into typed pydantic models.

A spec is the contract between a model's owners and the platform: who is accountable, where the
data lives, what "ready" and "healthy" mean, and what happens when they do not hold. Parsing is
cheap (YAML + pydantic only) because the DAG processor does it on every parse.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from gapwatch import config
from gapwatch.catalog import DRIFT_THRESHOLDS, METRICS, metrics_for

ColumnMethod = Literal["psi", "ks", "ks_pvalue", "wasserstein", "jensenshannon", "chisquare"]

_NAME_RE = r"^[a-z][a-z0-9_]{1,62}$"
_DURATION_RE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
# libyaml's loader is ~8x faster than the pure-Python one; parse time is paid on every DAG parse.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DURATION_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(value: Any) -> timedelta:
    """Parse ``"7d"``, ``"36h"``, ``"2w"`` (or a number of seconds) into a timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    match = _DURATION_RE.match(str(value))
    if not match:
        raise ValueError(f"{value!r} is not a duration; use a number and a unit, e.g. 7d, 36h, 2w")
    amount, unit = match.groups()
    return timedelta(**{_DURATION_UNITS[unit]: int(amount)})


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


class GroundTruthTable(_Strict):
    table: str
    id: str
    label: str
    arrived_at: str
    delay: timedelta = Field(description="how late labels arrive, e.g. 7d")

    @field_validator("delay", mode="before")
    @classmethod
    def _parse_delay(cls, value: Any) -> timedelta:
        return parse_duration(value)


BUILTIN_CHECKS = ("freshness", "volume", "schema", "duplicates")
_SEVERITY_KEY_RE = re.compile(r"^(freshness|volume|schema|duplicates|expect_[a-z0-9_]+(:.+)?)$")


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


class Readiness(_Strict):
    """The readiness gate: the steward's GX suite plus the built-in checks every feed gets."""

    # "schema" is a BaseModel attribute in pydantic, hence the alias.
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    suite: str = Field(description="file name (without .json) in include/expectations/")
    validate_in: Literal["memory", "database"] = Field(
        default="memory",
        description="memory: GX on the extracted window (pandas); database: GX on the SQL source",
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


class Metric(_Strict):
    """A metric to watch and its thresholds (the calculation lives in ``evaluation``).

    The effective limit is the strictest of the limits set: ``floor`` (absolute), ``max_drop``
    (from the baseline, in metric units), ``max_relative_drop`` (from the baseline, as a fraction)
    and ``spread_k`` (the baseline's mean -/+ k standard deviations over its sub-windows).
    """

    name: str = Field(description="a metric of catalog.METRICS, e.g. roc_auc, f1_macro, mae")
    floor: float | None = Field(default=None, description="absolute limit (min, or max for errors)")
    max_drop: float | None = Field(
        default=None, ge=0, description="allowed worsening from the baseline value, in metric units"
    )
    max_relative_drop: float | None = Field(
        default=None, gt=0, description="allowed worsening as a fraction of the baseline value"
    )
    spread_k: float | None = Field(
        default=None, gt=0, description="limit at baseline mean -/+ k std over its sub-windows"
    )
    min_labels: int = Field(default=200, ge=1)

    @field_validator("name")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in METRICS:
            raise ValueError(f"unknown metric {value!r}; known: {sorted(METRICS)}")
        return value

    @property
    def higher_is_better(self) -> bool:
        return METRICS[self.name].higher_is_better


class FeatureDrift(_Strict):
    """Per-column override of the drift method(s) and threshold."""

    methods: list[ColumnMethod] | None = None
    threshold: float | None = Field(default=None, gt=0)


class Drift(_Strict):
    """Drift settings. Without ``methods`` each column gets Evidently's default for its kind and
    the baseline's size (see statistics.DEFAULT_METHOD); ``features`` overrides per column."""

    methods: list[ColumnMethod] | None = Field(
        default=None, description="methods for every column; unset = automatic per column"
    )
    psi_threshold: float = Field(default=0.2, gt=0)
    ks_threshold: float = Field(default=0.15, gt=0, le=1, description="KS statistic D")
    thresholds: dict[ColumnMethod, float] = Field(
        default_factory=dict, description="threshold per method (p-value methods: drift below it)"
    )
    features: dict[str, FeatureDrift] = Field(default_factory=dict)
    bins: int = Field(default=10, ge=2, le=100)
    significance: float | None = Field(
        default=0.001, gt=0, lt=1,
        description="a distance drifts only if KS / chi-square on the same counts also rejects at this level",
    )
    multivariate: bool = Field(default=False, description="PCA reconstruction error over numeric features")
    multivariate_tolerance: float = Field(
        default=0.1, gt=0, description="relative rise of the mean reconstruction error that counts"
    )

    def describe(self) -> str:
        return ", ".join(self.methods) if self.methods else "methods chosen per column"

    def method_thresholds(self) -> dict[str, float]:
        return {**DRIFT_THRESHOLDS, "psi": self.psi_threshold, "ks": self.ks_threshold, **dict[str, float](self.thresholds.items())}


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
        if isinstance(value, date) and not isinstance(value, datetime):
            value = datetime(value.year, value.month, value.day)
        if isinstance(value, datetime) and value.tzinfo is None:
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
    page_for: list[Literal["performance", "estimate", "data", "drift"]] = Field(
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


class MonitorSpec(_Strict):
    """One monitored model."""

    name: str = Field(pattern=_NAME_RE, description="lower_snake_case; the DAG is gapwatch__<name>")
    version: str
    description: str = ""
    task: Literal["binary_classification", "multiclass_classification", "regression"]
    owners: Owners
    schedule: str = Field(description="cron expression, e.g. '0 0 * * 1' (Mondays 00:00 UTC)")
    start_date: date
    source: Source
    predictions: PredictionsTable
    ground_truth: GroundTruthTable
    segments: list[str] = Field(default_factory=list)
    readiness: Readiness
    metrics: list[Metric] = Field(min_length=1)
    drift: Drift = Field(default_factory=Drift)
    baseline: Baseline
    policy: Policy = Field(default_factory=Policy)
    notifications: Notifications = Field(default_factory=Notifications)
    runbook_url: str
    fallback: str = Field(min_length=1, description="what users get while the model is unfit")
    tags: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> MonitorSpec:
        allowed = set(metrics_for(self.task))
        wrong = [m.name for m in self.metrics if m.name not in allowed]
        if wrong:
            raise ValueError(
                f"metrics {wrong} do not apply to task {self.task!r}; allowed: {sorted(allowed)}"
            )
        if self.baseline.table is not None and self.readiness.volume.enabled:
            raise ValueError(
                "readiness.volume compares a window with the baseline's rows per window, and a "
                "reference table (baseline.table) has no time span: set readiness.volume.enabled: "
                "false, or use a baseline window (start/end)"
            )
        columns = {f.name for f in self.predictions.features}
        unknown = [s for s in self.segments if s not in columns]
        if unknown:
            raise ValueError(f"segments {unknown} must be feature columns; features: {sorted(columns)}")
        if self.task == "binary_classification" and not self.predictions.score:
            raise ValueError("a binary classifier needs predictions.score for ROC AUC and drift")
        needs_score = [m.name for m in self.metrics if METRICS[m.name].needs_score]
        if needs_score and not self.predictions.score:
            raise ValueError(f"metrics {needs_score} need predictions.score")
        unknown_drift = sorted(set(self.drift.features) - {f.name for f in self.predictions.features})
        if unknown_drift:
            raise ValueError(f"drift.features {unknown_drift} must be feature columns")
        if len(self.schedule.split()) != 5 or not _valid_cron(self.schedule):
            raise ValueError("schedule must be a valid 5-field cron expression, e.g. '0 0 * * 1'")
        pii_segments = sorted(set(self.segments) & self.pii_columns)
        if pii_segments:
            raise ValueError(
                f"segments {pii_segments} are pii: their values would appear in results and messages"
            )
        routes = self.notifications.routes
        channels = self.notifications.channels
        oncall = self.owners.technical_owner.oncall_route
        if "slack" in channels and not self.owners.technical_owner.slack_conn_id:
            raise ValueError("notifications.channels has slack: set owners.technical_owner.slack_conn_id")
        for role in ("business_owner", "technical_owner", "data_steward"):
            person: Person = getattr(self.owners, role)
            if not any(c != "slack" or person.slack_conn_id for c in channels):
                raise ValueError(
                    f"owners.{role} cannot be reached on any channel in notifications.channels "
                    f"{channels}: give them a slack_conn_id or enable email/file/webhook"
                )
        # Without routes the embedded default records pages in the file sink; otherwise a page
        # needs a defined route, or it would be dropped.
        if oncall and oncall not in routes and (routes or "file" not in channels):
            raise ValueError(
                f"owners.technical_owner.oncall_route {oncall!r} is not a route in notifications.routes "
                f"(defined: {sorted(routes) or 'none'}); pages would reach nobody"
            )
        return self

    @property
    def dag_id(self) -> str:
        return f"gapwatch__{self.name}"

    @property
    def main_metric(self) -> Metric:
        return self.metrics[0]

    @property
    def pii_columns(self) -> set[str]:
        return {f.name for f in self.predictions.features if f.pii} | set(self.predictions.pii_columns)


def _valid_cron(expression: str) -> bool:
    # croniter is what Airflow's cron timetables use, so this accepts exactly what Airflow will.
    from croniter import croniter

    return bool(croniter.is_valid(expression))


class SpecError(Exception):
    """A spec file that cannot be used. ``str()`` names the file, the field and what is allowed."""

    def __init__(self, path: Path, problems: list[str]):
        self.path = path
        self.problems = problems
        super().__init__(f"{path}: " + "; ".join(problems))


def _describe(error: Mapping[str, Any]) -> str:
    field = ".".join(str(p) for p in error["loc"]) or "(top level)"
    msg = error["msg"]
    if error["type"] == "missing" and error["loc"] and error["loc"][0] == "owners":
        msg += " (every monitor needs a business_owner, technical_owner and data_steward, each with name and email)"
    elif error["type"] == "extra_forbidden":
        msg = "unknown field (check the spelling; see README 'Monitor spec reference')"
    return f"{field}: {msg}"


def load_spec(path: Path) -> MonitorSpec:
    """Parse one spec file; raise SpecError with every problem found."""
    try:
        raw = yaml.load(path.read_text(), Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        raise SpecError(path, [f"not valid YAML: {exc}"]) from exc
    if not isinstance(raw, dict):
        raise SpecError(path, ["a spec must be a YAML mapping of fields"])
    try:
        spec = MonitorSpec.model_validate(raw)
    except ValidationError as exc:
        raise SpecError(path, [_describe(e) for e in exc.errors()]) from exc
    if spec.name != path.stem:
        raise SpecError(path, [f"name: {spec.name!r} must match the file name {path.stem!r}"])
    return spec


@dataclass(frozen=True)
class SpecSet:
    specs: list[MonitorSpec]
    errors: list[SpecError]

    def by_name(self, name: str) -> MonitorSpec:
        for spec in self.specs:
            if spec.name == name:
                return spec
        known = ", ".join(s.name for s in self.specs) or "none"
        raise KeyError(f"no monitor named {name!r}; known monitors: {known}")


def monitors_dir(directory: Path | str | None = None) -> Path:
    if directory is not None:
        return Path(directory)
    return config.settings().monitors_dir


def load_specs(directory: Path | str | None = None) -> SpecSet:
    """Load every ``*.yml``/``*.yaml`` in the directory, sorted; a bad file never hides good ones."""
    folder = monitors_dir(directory)
    specs: list[MonitorSpec] = []
    errors: list[SpecError] = []
    if not folder.is_dir():
        return SpecSet([], [SpecError(folder, ["monitors directory does not exist"])])
    seen: dict[str, Path] = {}
    for path in sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")]):
        try:
            spec = load_spec(path)
        except SpecError as exc:
            errors.append(exc)
            continue
        if spec.name in seen:
            errors.append(SpecError(path, [f"name: {spec.name!r} is already used by {seen[spec.name]}"]))
            continue
        seen[spec.name] = path
        specs.append(spec)
    return SpecSet(specs, errors)
