"""Model performance on matured labels, with sampling error.

Two halves, kept apart as Evidently does:

* **Metric definitions** (``catalog.METRICS``): name, the tasks it applies to, its direction, whether it
  needs the score, and how its uncertainty is obtained. Which metrics run and their thresholds
  live in the monitor spec (``spec.Metric``); nothing here knows about thresholds.
* **Pure calculations**: every value and standard error is derived from counts ("cells",
  ``evaluation.cells``) by ``evaluation.derive``, the same functions the database path feeds. The
  functions here take rows (arrays), build their cells and derive; limits and breaches follow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from gapwatch.catalog import BINARY, METRICS, MULTICLASS, MetricDef, metrics_for
from gapwatch.evaluation import derive
from gapwatch.evaluation.cells import from_arrays
from gapwatch.evaluation.derive import MetricValue

__all__ = ["BINARY", "METRICS", "MULTICLASS", "REGRESSION", "MetricDef", "MetricValue", "metrics_for"]
REGRESSION = "regression"


def binary_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, y_score: np.ndarray | None, names: list[str], *, seed: int = 0
) -> dict[str, MetricValue]:
    """Binary classification metrics (positive class 1) with standard errors.

    Rows whose label, prediction or (for score metrics) score is NaN or infinite are left out of
    that metric; ``n`` says how many rows it used. An empty window gives every metric with value
    None and n 0. ROC AUC and PR AUC come from score buckets (``bound``: the largest difference to
    the exact value).
    """
    return derive.binary(from_arrays(BINARY, y_true, y_pred, y_score)[0], names, seed=seed)


def multiclass_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, names: list[str], *, seed: int = 0
) -> dict[str, MetricValue]:
    """Accuracy, macro and weighted F1 of a multiclass classifier, with standard errors.

    Labels are compared as strings (a class stored as 1 and as "1" is the same class); rows with a
    missing label or prediction are left out.
    """
    return derive.multiclass(from_arrays(MULTICLASS, y_true, y_pred)[0], names, seed=seed)


def regression_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, names: list[str], *, seed: int = 0
) -> dict[str, MetricValue]:
    """MAE, RMSE, MAPE and R² of a regressor (delta-method errors); non-finite rows left out."""
    return derive.regression(from_arrays(REGRESSION, y_true, y_pred)[0], names, seed=seed)


def compute_metrics(
    task: str,
    names: list[str],
    y_true: np.ndarray,
    y_pred: np.ndarray,
    y_score: np.ndarray | None = None,
    *,
    seed: int = 0,
) -> dict[str, MetricValue]:
    """The named metrics for a task, each with its standard error (seeded, deterministic)."""
    return derive.derive(from_arrays(task, y_true, y_pred, y_score)[0], names, seed=seed)


def expected_calibration_error(y: np.ndarray, score: np.ndarray) -> float:
    """ECE with ``cells.ECE_BINS`` equal-width bins (scikit-learn has calibration_curve but no ECE)."""
    value = binary_metrics(y, y, score, ["ece"])["ece"].value
    return float("nan") if value is None else value


# ---------------------------------------------------------------- limits and breaches

# How each kind of limit is judged. Limits set from outside the data (an absolute floor, a drop
# from the baseline value) say nothing about noise, so a breach needs the one-sided 95% bound past
# them. A spread limit is the baseline's own window-to-window variation: it already holds the
# sampling noise, and requiring the bound on top would count that noise twice (a spread limit
# could then almost never fire on windows the size of the sub-windows), so the value decides.
SPREAD_RULE = "spread_k"
LIMIT_RULES = ("floor", "max_drop", "max_relative_drop", SPREAD_RULE)


@dataclass(frozen=True)
class Limit:
    """One limit on a metric: which spec field set it, where it lies, and how it is judged."""

    rule: str  # one of LIMIT_RULES: the spec field that set it
    threshold: float

    @property
    def needs_bound(self) -> bool:
        """Whether a breach needs the one-sided 95% bound past the limit (else the value decides)."""
        return self.rule != SPREAD_RULE

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "threshold": self.threshold, "needs_bound": self.needs_bound}


def scaled_spread_std(std: float, n_sub: float | None, n_window: int | None) -> float:
    """The sub-windows' standard deviation carried to a window of ``n_window`` rows.

    Sampling noise shrinks as 1/sqrt(n): a window twice a sub-window's size varies sqrt(2) times
    less. Without both sizes the spread is used as measured.
    """
    if not n_sub or not n_window:
        return std
    return std * math.sqrt(n_sub / n_window)


def limits_for(
    higher_is_better: bool,
    floor: float | None,
    max_drop: float | None,
    baseline: float | None,
    *,
    max_relative_drop: float | None = None,
    spread: tuple[float, float] | None = None,
    spread_k: float | None = None,
    n_sub: float | None = None,
    n_window: int | None = None,
) -> list[Limit]:
    """Every limit the spec sets that can be computed, strictest first.

    Args:
        higher_is_better: the metric's direction.
        floor: absolute limit (a minimum, or a maximum for error metrics).
        max_drop: allowed worsening from the baseline, in metric units.
        baseline: the baseline's value of the metric.
        max_relative_drop: allowed worsening as a fraction of the baseline value (0.1 = 10%).
        spread: (mean, std) of the metric over the baseline's sub-windows.
        spread_k: the limit is mean -/+ k x std of that spread, the std scaled to the window.
        n_sub: mean rows per baseline sub-window the spread was measured on.
        n_window: rows the judged value was computed on.
    """
    sign = 1.0 if higher_is_better else -1.0
    limits = []
    if floor is not None:
        limits.append(Limit("floor", floor))
    if max_drop is not None and baseline is not None:
        limits.append(Limit("max_drop", baseline - sign * max_drop))
    if max_relative_drop is not None and baseline is not None:
        limits.append(Limit("max_relative_drop", baseline - sign * max_relative_drop * abs(baseline)))
    if spread_k is not None and spread is not None and spread[1]:  # a zero spread measures no noise
        std = scaled_spread_std(spread[1], n_sub, n_window)
        limits.append(Limit(SPREAD_RULE, spread[0] - sign * spread_k * std))
    # Strictest first: the highest minimum, or the lowest maximum for error metrics.
    return sorted(limits, key=lambda lim: -sign * lim.threshold)


def threshold_for(
    higher_is_better: bool,
    floor: float | None,
    max_drop: float | None,
    baseline: float | None,
    **kwargs: Any,
) -> float | None:
    """The strictest limit's threshold (keyword arguments as ``limits_for``), None without any."""
    limits = limits_for(higher_is_better, floor, max_drop, baseline, **kwargs)
    return limits[0].threshold if limits else None


def is_breach(
    value: MetricValue, threshold: float | None, higher_is_better: bool, z: float, *, needs_bound: bool = True
) -> bool:
    """Whether ``value`` is past ``threshold``: its one-sided bound (``z`` standard errors on the
    good side) when ``needs_bound``, else the value itself (see ``Limit.needs_bound``)."""
    if threshold is None or value.value is None:
        return False
    margin = z * (value.stderr or 0.0) if needs_bound else 0.0
    if higher_is_better:
        return value.value + margin < threshold
    return value.value - margin > threshold


def judge(
    value: MetricValue, limits: list[Limit], higher_is_better: bool, z: float
) -> tuple[bool, Limit | None]:
    """(breach, the deciding limit): the strictest limit breached under its own rule, or the
    strictest limit when none is (None when there is no limit)."""
    for limit in limits:
        if is_breach(value, limit.threshold, higher_is_better, z, needs_bound=limit.needs_bound):
            return True, limit
    return False, (limits[0] if limits else None)
