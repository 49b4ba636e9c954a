"""Monitor specs: one YAML file per monitored model, parsed into typed pydantic models.

A spec is the contract between a model's owners and the platform: who is accountable, where the
data lives, what "ready" and "healthy" mean, and what happens when they do not hold. Parsing is
cheap (YAML + pydantic only) because the DAG processor does it on every parse.
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator, model_validator

from gapwatch import config
from gapwatch.catalog import DRIFT_THRESHOLDS, METRICS, Severity, metrics_for
from gapwatch.spec_adoption import Adoption, adoption_problems
from gapwatch.spec_fields import (
    BUILTIN_CHECKS,
    DEFAULT_COMPUTE_IN,
    Baseline,
    ComputeIn,
    Feature,
    FreshnessCheck,
    GroundTruthTable,
    LabelDelay,
    Notifications,
    Owners,
    Person,
    Policy,
    PredictionsTable,
    Readiness,
    Route,
    Source,
    ToggleCheck,
    VolumeCheck,
    _Strict,
    parse_duration,
)
from gapwatch.spec_files import SpecFileError, parse_spec_yaml, read_spec_bytes, spec_paths

__all__ = [
    "Adoption", "BUILTIN_CHECKS", "Baseline", "ComputeIn", "Drift", "Feature", "FeatureDrift", "FreshnessCheck",
    "GroundTruthTable", "LabelDelay", "Metric", "MonitorSpec", "Notifications", "Owners", "Person",
    "Policy", "PredictionsTable", "Readiness", "Route", "Source", "SpecError", "SpecSet",
    "ToggleCheck", "VolumeCheck", "load_spec", "load_specs", "monitors_dir", "parse_duration",
]

MAX_MIN_LABELS = 100_000_000

ColumnMethod = Literal["psi", "ks", "ks_pvalue", "wasserstein", "jensenshannon", "chisquare"]

_NAME_RE = r"^[a-z][a-z0-9_]{1,62}$"


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
    min_labels: int = Field(default=200, ge=1, le=MAX_MIN_LABELS)
    severity: Severity | None = Field(
        default=None, description="critical pages and degrades the run; default: the first metric critical, others warning"
    )

    @field_validator("name")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in METRICS:
            raise ValueError(f"unknown metric {value!r}; known: {sorted(METRICS)}")
        return value

    @model_validator(mode="after")
    def _limits_in_range(self) -> Metric:
        # A floor outside what the metric can take breaches every window (or never): a typo.
        low, high = METRIC_RANGES.get(self.name, (-math.inf, math.inf))
        if self.floor is not None and not low <= self.floor <= high:
            raise ValueError(f"floor {self.floor:g} is outside {self.name}'s range {_range(low, high)}")
        if self.max_drop is not None and self.max_drop >= high - low:
            raise ValueError(f"max_drop {self.max_drop:g} is not below {self.name}'s whole range {_range(low, high)}")
        return self

    @property
    def higher_is_better(self) -> bool:
        return METRICS[self.name].higher_is_better

    def limits(self, sub_windows: int) -> dict[str, float]:
        """The limits this metric is judged on: those the spec sets, or the default without any.

        The default is ``spread_k: 3`` when the baseline has at least ``SPREAD_MIN_SUB_WINDOWS``
        sub-windows (enough for a standard deviation worth the name), else
        ``max_relative_drop: 0.05``: a metric never goes unwatched silently.
        """
        explicit = {f: getattr(self, f) for f in LIMIT_FIELDS if getattr(self, f) is not None}
        return explicit or default_limits(sub_windows)

    def describe_limits(self, sub_windows: int) -> str:
        """The limits in words, as ``gapwatch validate`` prints them."""
        limits = self.limits(sub_windows)
        below = "below" if self.higher_is_better else "above"
        minus = "-" if self.higher_is_better else "+"
        bounded = []
        if "floor" in limits:
            bounded.append(f"{limits['floor']:g} (floor)")
        if "max_drop" in limits:
            bounded.append(f"baseline {minus} {limits['max_drop']:g} (max_drop)")
        if "max_relative_drop" in limits:
            bounded.append(f"baseline {minus} {100 * limits['max_relative_drop']:g}% (max_relative_drop)")
        rules = []
        if bounded:
            side = "upper" if self.higher_is_better else "lower"
            strictest = bounded[0] if len(bounded) == 1 else "the strictest of " + ", ".join(bounded)
            rules.append(f"its one-sided 95% {side} bound is {below} {strictest}")
        if "spread_k" in limits:
            rules.append(
                f"its value is {below} the mean {minus} {limits['spread_k']:g} std of the baseline's "
                f"{sub_windows} sub-windows (std scaled to the window's rows; no extra bound)"
            )
        default = "" if any(getattr(self, f) is not None for f in LIMIT_FIELDS) else ", default limit"
        return f"{self.name} (min_labels {self.min_labels}{default}): breach when " + ", or when ".join(rules)


def _range(low: float, high: float) -> str:
    return f"[{low:g}, {high:g}]"


# The values a metric can take (the rest are unbounded): a limit outside is never meaningful.
_UNIT_METRICS = ("roc_auc", "pr_auc", "f1", "precision", "recall", "accuracy", "brier", "ece",
                 "f1_macro", "f1_weighted")
METRIC_RANGES: dict[str, tuple[float, float]] = {
    **{name: (0.0, 1.0) for name in _UNIT_METRICS},
    "r2": (-math.inf, 1.0),
    **{name: (0.0, math.inf) for name in ("log_loss", "mae", "rmse", "mape")},
}

# A metric without any limit gets one (see Metric.limits): a spread limit needs a few sub-windows.
LIMIT_FIELDS = ("floor", "max_drop", "max_relative_drop", "spread_k")
DEFAULT_SPREAD_K = 3.0
DEFAULT_RELATIVE_DROP = 0.05
SPREAD_MIN_SUB_WINDOWS = 4


def default_limits(sub_windows: int) -> dict[str, float]:
    """The limit of a metric the spec gives none (see ``Metric.limits``)."""
    if sub_windows >= SPREAD_MIN_SUB_WINDOWS:
        return {"spread_k": DEFAULT_SPREAD_K}
    return {"max_relative_drop": DEFAULT_RELATIVE_DROP}


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
    multivariate_sample: int = Field(
        default=10_000, ge=100, le=1_000_000,
        description="rows of the baseline and of each window the PCA model reads (a random sample)",
    )
    threshold: Literal["auto"] | None = Field(
        default=None,
        description="auto: each column's distance thresholds from the baseline's sub-windows "
        "(mean + threshold_k std of their distances to the whole baseline)",
    )
    threshold_k: float = Field(default=3.0, gt=0, description="k of threshold: auto")
    per_segment: bool = Field(
        default=True,
        description="also compare each segment value's window with the same segment of the baseline",
    )
    segment_min_rows: int = Field(
        default=500, ge=1,
        description="rows a segment value needs in the baseline and in the window to be judged for drift",
    )

    def describe(self) -> str:
        methods = ", ".join(self.methods) if self.methods else "methods chosen per column"
        return methods + ("; thresholds from the baseline" if self.threshold == "auto" else "")

    def method_thresholds(self) -> dict[str, float]:
        return {**DRIFT_THRESHOLDS, "psi": self.psi_threshold, "ks": self.ks_threshold, **dict[str, float](self.thresholds.items())}


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
    compute_in: ComputeIn = Field(
        default=DEFAULT_COMPUTE_IN,
        description="database: window statistics as SQL aggregates in the source (rows stay there); "
        "memory: on the window extracted into the worker. Also where readiness validates unless "
        "readiness.validate_in is set",
    )
    predictions: PredictionsTable
    ground_truth: GroundTruthTable
    segments: list[str] = Field(default_factory=list)
    readiness: Readiness
    metrics: list[Metric] = Field(min_length=1)
    drift: Drift = Field(default_factory=Drift)
    baseline: Baseline
    policy: Policy = Field(default_factory=Policy)
    notifications: Notifications = Field(default_factory=Notifications)
    adoption: Adoption | None = Field(default=None, description="is the model used, and does it pay?")
    runbook_url: str = Field(description="http(s) link to the runbook (shown as a link in the UI)")
    fallback: str = Field(min_length=1, description="what users get while the model is unfit")
    tags: list[str] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _validate_in_follows_compute_in(cls, data: Any) -> Any:
        """``readiness.validate_in`` left unset takes the monitor's ``compute_in``.

        Resolved once, at parse time, so ``spec.readiness.validate_in`` is always where the suite
        runs. (A ``model_copy`` changing ``compute_in`` does not move an already resolved
        ``validate_in``.) An invalid ``compute_in`` is left for its own field to report.
        """
        if not isinstance(data, dict):
            return data
        compute_in = data.get("compute_in", DEFAULT_COMPUTE_IN)
        readiness = data.get("readiness")
        if compute_in not in ("database", "memory"):
            return data
        if isinstance(readiness, dict) and "validate_in" not in readiness:
            return {**data, "readiness": {**readiness, "validate_in": compute_in}}
        if isinstance(readiness, Readiness) and "validate_in" not in readiness.model_fields_set:
            return {**data, "readiness": readiness.model_copy(update={"validate_in": compute_in})}
        return data

    @field_validator("runbook_url")
    @classmethod
    def _http(cls, value: str) -> str:
        if urlsplit(value).scheme.lower() not in {"http", "https"} or not urlsplit(value).netloc:
            raise ValueError("must be an http:// or https:// URL")
        return value

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
        if not _cron_fires(self.schedule, self.start_date):
            raise ValueError(f"schedule {self.schedule!r} never fires (e.g. a day a month does not have)")
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
        # Without routes the file sink records pages; otherwise a page needs a defined route.
        if oncall and oncall not in routes and (routes or "file" not in channels):
            raise ValueError(
                f"owners.technical_owner.oncall_route {oncall!r} is not a route in notifications.routes "
                f"(defined: {sorted(routes) or 'none'}); pages would reach nobody"
            )
        if problems := adoption_problems(self):
            raise ValueError("; ".join(problems))
        return self

    @property
    def dag_id(self) -> str:
        return f"gapwatch__{self.name}"

    @property
    def main_metric(self) -> Metric:
        return self.metrics[0]

    def metric_severity(self, metric: Metric) -> Severity:
        """A metric's severity: its own, else critical for the first (main) metric, warning after."""
        if metric.severity is not None:
            return metric.severity
        return Severity.CRITICAL if metric.name == self.main_metric.name else Severity.WARNING

    @property
    def pii_columns(self) -> set[str]:
        return {f.name for f in self.predictions.features if f.pii} | set(self.predictions.pii_columns)


@functools.cache  # most monitors share a few schedules; croniter is the costly part of a parse
def _valid_cron(expression: str) -> bool:
    # croniter is what Airflow's cron timetables use, so this accepts exactly what Airflow will.
    from croniter import croniter

    return bool(croniter.is_valid(expression))


@functools.cache
def _cron_fires(expression: str, start: date) -> bool:
    """Whether the cron fires within 8 years of ``start`` (``0 0 30 2 *`` never does; Feb 29 does).

    Airflow would accept such a DAG and silently never schedule it.
    """
    from croniter import CroniterBadDateError, croniter

    try:
        croniter(expression, datetime(start.year, start.month, start.day), max_years_between_matches=8).get_next(datetime)
    except CroniterBadDateError:
        return False
    return True


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


def load_spec(path: Path, folder: Path | None = None) -> MonitorSpec:
    """Parse one spec file; raise SpecError with every problem found.

    Every failure of this one file is its SpecError, whatever raised it (a validator comparing
    odd values, a duration too large for a timedelta), so one file never stops the others.
    ``folder`` is the monitors folder a symlink may not leave (default: the file's own).
    """
    try:
        data = read_spec_bytes(path, folder)
    except SpecFileError as exc:
        raise SpecError(path, [str(exc)]) from exc
    stat = path.stat()
    key = (stat.st_size, stat.st_mtime_ns, hashlib.sha256(data).hexdigest())
    cached = _PARSED.get(path)
    if cached is None or cached[0] != key:
        try:
            cached = (key, _parse(path, data))
        except SpecError as exc:
            cached = (key, exc)
        _PARSED[path] = cached
    if isinstance(cached[1], SpecError):
        raise cached[1]
    return cached[1]


# Parsed specs by (size, mtime, content hash): only a changed file is parsed again.
_PARSED: dict[Path, tuple[tuple[int, int, str], MonitorSpec | SpecError]] = {}


def _parse(path: Path, data: bytes) -> MonitorSpec:
    """The spec in ``data`` (the file's bytes): YAML, then the model, every failure a SpecError."""
    try:
        raw = parse_spec_yaml(data)
    except SpecFileError as exc:
        raise SpecError(path, [str(exc)]) from exc
    if not isinstance(raw, dict):
        raise SpecError(path, ["a spec must be a YAML mapping of fields"])
    try:
        spec = MonitorSpec.model_validate(raw)
    except ValidationError as exc:
        raise SpecError(path, [_describe(e) for e in exc.errors()]) from exc
    except Exception as exc:  # noqa: BLE001 - any error of this file is this file's error
        raise SpecError(path, [f"cannot be used: {type(exc).__name__}: {exc}"]) from exc
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


def load_specs(directory: Path | str | None = None, only: Callable[[Path], bool] | None = None) -> SpecSet:
    """Load every ``*.yml``/``*.yaml`` in the directory, sorted; a bad file never hides good ones.

    ``only`` selects the files to load (a DAG file's shard of the folder, see
    ``gapwatch.airflow.dags.monitor_dags``); the others are not read at all.
    """
    folder = monitors_dir(directory)
    specs: list[MonitorSpec] = []
    errors: list[SpecError] = []
    if not folder.is_dir():
        return SpecSet([], [SpecError(folder, ["monitors directory does not exist"])])
    seen: dict[str, Path] = {}
    paths, refused = spec_paths(folder)
    if only is not None:
        paths = [p for p in paths if only(p)]
        refused = [(p, reason) for p, reason in refused if only(p)]
    errors += [SpecError(path, [reason]) for path, reason in refused]
    for path in paths:
        try:
            spec = load_spec(path, folder)
        except SpecError as exc:
            errors.append(exc)
            continue
        if spec.name in seen:
            errors.append(SpecError(path, [f"name: {spec.name!r} is already used by {seen[spec.name]}"]))
            continue
        seen[spec.name] = path
        specs.append(spec)
    return SpecSet(specs, errors)
