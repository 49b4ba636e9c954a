"""Model performance on matured labels, with sampling error.

Two halves, kept apart as Evidently does:

* **Metric definitions** (``catalog.METRICS``): name, the tasks it applies to, its direction, whether it
  needs the score, and how its uncertainty is obtained. Which metrics run and their thresholds
  live in the monitor spec (``spec.Metric``); nothing here knows about thresholds.
* **Pure calculations**: point values come from scikit-learn; each value carries a standard error,
  analytic where a sound formula exists (Hanley-McNeil for ROC AUC, binomial proportions, the
  CLT for means of per-row losses, the delta method for RMSE), otherwise from a vectorised,
  seeded bootstrap.

Why the bootstrap is written here rather than with ``sklearn.utils.resample`` or
``scipy.stats.bootstrap``: both call the statistic once per resample (a Python loop of 200
scikit-learn calls per metric and segment). Expressing each statistic as a function of a
resample-weight matrix ``W`` (resamples x rows, built from one numpy index matrix) computes all
resamples in a few matrix products / cumulative sums. Unit tests pin every weighted form with unit
weights to scikit-learn's value, and a single resample to scikit-learn on the resampled rows.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from gapwatch.catalog import BINARY, METRICS, MULTICLASS, MetricDef, metrics_for

__all__ = ["BINARY", "METRICS", "MULTICLASS", "REGRESSION", "MetricDef", "MetricValue", "metrics_for"]
REGRESSION = "regression"

N_BOOTSTRAP = 200
# Resamples are drawn from at most this many rows; the standard error is then scaled by
# sqrt(m / n) (every metric here is root-n consistent). Keeps a 1M-row window to ~16 MB per
# resample matrix instead of gigabytes.
BOOTSTRAP_MAX_ROWS = 10_000
ECE_BINS = 10


@dataclass(frozen=True)
class MetricValue:
    """One metric value with its standard error (None where it cannot be known)."""

    metric: str
    value: float | None
    stderr: float | None
    n: int
    uncertainty: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---------------------------------------------------------------- analytic errors


def _auc_stderr(auc: float, n_pos: int, n_neg: int) -> float:
    # Hanley & McNeil (1982): analytic standard error of ROC AUC from the class sizes.
    q1 = auc / (2 - auc)
    q2 = 2 * auc * auc / (1 + auc)
    var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc**2) + (n_neg - 1) * (q2 - auc**2)) / (
        n_pos * n_neg
    )
    return math.sqrt(max(var, 0.0))


def _proportion_stderr(p: float, n: int) -> float | None:
    return math.sqrt(p * (1 - p) / n) if n else None


def _mean_stderr(per_row: np.ndarray) -> float | None:
    return float(np.std(per_row, ddof=1) / math.sqrt(per_row.size)) if per_row.size > 1 else None


# ---------------------------------------------------------------- weighted forms (bootstrap)
# Each takes W (resamples x rows, resample counts) and returns one value per resample.


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), 0.0)


def weighted_f1(w: np.ndarray, y: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Binary F1 (positive class 1, zero_division=0) under resample weights."""
    tp = w @ (y * pred)
    fp = w @ ((1 - y) * pred)
    fn = w @ (y * (1 - pred))
    return _safe_div(2 * tp, 2 * tp + fp + fn)


def weighted_average_precision(w: np.ndarray, y: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Average precision (scikit-learn's step-wise PR AUC, ties grouped) under resample weights."""
    order = np.argsort(-score, kind="stable")
    s_sorted, y_sorted = score[order], y[order]
    w_sorted = w[:, order]
    # Thresholds are the distinct scores: cumulative counts are read at each tie group's end.
    ends = np.r_[np.nonzero(np.diff(s_sorted))[0], s_sorted.size - 1]
    tp = np.cumsum(w_sorted * y_sorted, axis=1)[:, ends]
    fp = np.cumsum(w_sorted * (1 - y_sorted), axis=1)[:, ends]
    precision = _safe_div(tp, tp + fp)
    total = tp[:, -1:]
    recall = _safe_div(tp, np.broadcast_to(total, tp.shape))
    gain = np.diff(recall, axis=1, prepend=0.0)
    out = np.sum(gain * precision, axis=1)
    return np.where(total[:, 0] > 0, out, np.nan)


_ECE_INNER_EDGES = np.linspace(0.0, 1.0, ECE_BINS + 1)[1:-1]


def _ece_bins(score: np.ndarray) -> np.ndarray:
    # Equal-width bins on [0, 1], a score on an edge in the lower bin: scikit-learn's
    # calibration_curve(strategy="uniform") convention, so the two agree bin for bin.
    return np.searchsorted(_ECE_INNER_EDGES, score, side="left")


def weighted_ece(w: np.ndarray, y: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Expected calibration error: sum over bins of |observed rate - mean score| x bin share."""
    onehot = np.eye(ECE_BINS)[_ece_bins(score)]
    gap = np.abs(w @ (onehot * y[:, None]) - w @ (onehot * score[:, None])).sum(axis=1)
    return _safe_div(gap, w.sum(axis=1))


def expected_calibration_error(y: np.ndarray, score: np.ndarray) -> float:
    """ECE with ``ECE_BINS`` equal-width bins (scikit-learn has calibration_curve but no ECE)."""
    return float(weighted_ece(np.ones((1, y.size)), y.astype(float), score.astype(float))[0])


def _multiclass_f1(w: np.ndarray, y_idx: np.ndarray, p_idx: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    eye = np.eye(k)
    truth, pred = eye[y_idx], eye[p_idx]
    tp = w @ (truth * pred)
    support = w @ truth
    f1 = _safe_div(2 * tp, w @ pred + support)
    return f1, support


def weighted_f1_macro(w: np.ndarray, y_idx: np.ndarray, p_idx: np.ndarray, k: int) -> np.ndarray:
    f1, _ = _multiclass_f1(w, y_idx, p_idx, k)
    return f1.mean(axis=1)


def weighted_f1_weighted(w: np.ndarray, y_idx: np.ndarray, p_idx: np.ndarray, k: int) -> np.ndarray:
    f1, support = _multiclass_f1(w, y_idx, p_idx, k)
    return _safe_div((f1 * support).sum(axis=1), support.sum(axis=1))


def weighted_r2(w: np.ndarray, y: np.ndarray, pred: np.ndarray) -> np.ndarray:
    total = w.sum(axis=1)
    sse = w @ (y - pred) ** 2
    mean = (w @ y) / total
    sst = w @ y**2 - total * mean**2
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sst > 1e-12 * np.maximum(total, 1), 1 - sse / sst, np.nan)


def resample_weights(n: int, *, seed: int, n_boot: int = N_BOOTSTRAP,
                     max_rows: int = BOOTSTRAP_MAX_ROWS) -> tuple[np.ndarray, np.ndarray, float]:
    """Bootstrap resample counts from one numpy index matrix (no loop over rows or resamples).

    Returns:
        (rows, W, scale): the rows resampled from (all rows, or a seeded subsample of
        ``max_rows``), the count matrix ``W[b, i]`` = times row ``rows[i]`` is in resample ``b``,
        and the factor sqrt(m / n) that carries the subsample's standard error to ``n`` rows.
    """
    rng = np.random.default_rng(seed)
    rows = np.arange(n) if n <= max_rows else np.sort(rng.choice(n, size=max_rows, replace=False))
    m = rows.size
    index = rng.integers(0, m, size=(n_boot, m))
    flat = (index + (np.arange(n_boot) * m)[:, None]).ravel()
    w = np.bincount(flat, minlength=n_boot * m).reshape(n_boot, m).astype(np.float64)
    return rows, w, math.sqrt(m / n)


def _bootstrap_stderr(
    stat: Callable[..., np.ndarray], seed: int, *arrays: np.ndarray, extra: tuple[Any, ...] = ()
) -> float | None:
    """Standard error of ``stat(W, *arrays, *extra)`` over seeded bootstrap resamples."""
    n = arrays[0].size
    if n < 2:
        return None
    rows, w, scale = resample_weights(n, seed=seed)
    values = stat(w, *(a[rows] for a in arrays), *extra)
    values = values[np.isfinite(values)]
    if values.size < 10:
        return None
    return float(np.std(values, ddof=1) * scale)


# ---------------------------------------------------------------- metric calculations


def _finite(*arrays: np.ndarray | None) -> np.ndarray:
    mask: np.ndarray | None = None
    for a in arrays:
        if a is None:
            continue
        ok = np.isfinite(a)
        mask = ok if mask is None else mask & ok
    assert mask is not None
    return mask


def _binary_value(
    name: str, y: np.ndarray, pred: np.ndarray, score: np.ndarray | None, seed: int
) -> tuple[float | None, float | None]:
    """(value, stderr) of one binary metric on finite rows; (None, None) where it is undefined
    (no rows, one class only for ROC AUC, no positives for PR AUC, no score)."""
    from sklearn import metrics as skm

    n = int(y.size)
    n_pos = int(y.sum())
    yf, pf = y.astype(float), pred.astype(float)
    if n == 0:
        return None, None
    if name == "roc_auc" and 0 < n_pos < n and score is not None:
        value = float(skm.roc_auc_score(y, score))
        return value, _auc_stderr(value, n_pos, n - n_pos)
    if name == "pr_auc" and n_pos and score is not None:
        return float(skm.average_precision_score(y, score)), _bootstrap_stderr(
            weighted_average_precision, seed, yf, score)
    if name == "accuracy":
        value = float(skm.accuracy_score(y, pred))
        return value, _proportion_stderr(value, n)
    if name == "precision":
        value = float(skm.precision_score(y, pred, zero_division=0))
        return value, _proportion_stderr(value, int(pred.sum()))
    if name == "recall":
        value = float(skm.recall_score(y, pred, zero_division=0))
        return value, _proportion_stderr(value, n_pos)
    if name == "f1":
        return float(skm.f1_score(y, pred, zero_division=0)), _bootstrap_stderr(weighted_f1, seed, yf, pf)
    if score is None:
        return None, None
    if name == "log_loss":
        clipped = np.clip(score, np.finfo(score.dtype).eps, 1 - np.finfo(score.dtype).eps)
        per_row = -(y * np.log(clipped) + (1 - y) * np.log(1 - clipped))
        return float(skm.log_loss(y, score, labels=[0, 1])), _mean_stderr(per_row)
    if name == "brier":
        return float(skm.brier_score_loss(y, score, labels=[0, 1])), _mean_stderr((score - y) ** 2)
    if name == "ece":
        return expected_calibration_error(y, score), _bootstrap_stderr(weighted_ece, seed, yf, score)
    return None, None


def binary_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, y_score: np.ndarray | None, names: list[str], *, seed: int = 0
) -> dict[str, MetricValue]:
    """Binary classification metrics (positive class 1) with standard errors.

    Rows whose label, prediction or (for score metrics) score is NaN or infinite are left out of
    that metric; ``n`` says how many rows it used. An empty window gives every metric with value
    None and n 0.
    """
    y_all = np.asarray(y_true, dtype=float)
    p_all = np.asarray(y_pred, dtype=float)
    s_all = None if y_score is None else np.asarray(y_score, dtype=float)
    out: dict[str, MetricValue] = {}
    for name in names:
        definition = METRICS[name]
        if definition.needs_score and s_all is None:
            out[name] = MetricValue(name, None, None, 0)
            continue
        keep = _finite(y_all, p_all, s_all if definition.needs_score else None)
        y = y_all[keep].astype(int)
        score = s_all[keep] if (s_all is not None and definition.needs_score) else None
        value, stderr = _binary_value(name, y, p_all[keep].astype(int), score, seed)
        out[name] = MetricValue(name, value, stderr, int(y.size),
                                definition.uncertainty if value is not None else None)
    return out


def multiclass_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, names: list[str], *, seed: int = 0
) -> dict[str, MetricValue]:
    """Accuracy, macro and weighted F1 of a multiclass classifier, with standard errors.

    Labels are compared as strings (a class stored as 1 and as "1" is the same class); rows with a
    missing label or prediction are left out.
    """
    import pandas as pd
    from sklearn import metrics as skm

    truth = pd.Series(np.asarray(y_true, dtype=object))
    pred = pd.Series(np.asarray(y_pred, dtype=object))
    keep = (truth.notna() & pred.notna()).to_numpy()
    y = truth[keep].astype(str).to_numpy()
    p = pred[keep].astype(str).to_numpy()
    n = int(y.size)
    classes = np.unique(np.concatenate([y, p]))
    y_idx = np.searchsorted(classes, y)
    p_idx = np.searchsorted(classes, p)
    k = int(classes.size)
    out: dict[str, MetricValue] = {}
    for name in names:
        value: float | None = None
        stderr: float | None = None
        if n and name == "accuracy":
            value = float(skm.accuracy_score(y, p))
            stderr = _proportion_stderr(value, n)
        elif n and name == "f1_macro":
            value = float(skm.f1_score(y, p, average="macro", zero_division=0))
            stderr = _bootstrap_stderr(weighted_f1_macro, seed, y_idx, p_idx, extra=(k,))
        elif n and name == "f1_weighted":
            value = float(skm.f1_score(y, p, average="weighted", zero_division=0))
            stderr = _bootstrap_stderr(weighted_f1_weighted, seed, y_idx, p_idx, extra=(k,))
        unc = METRICS[name].uncertainty if value is not None else None
        out[name] = MetricValue(name, value, stderr, n, unc)
    return out


def regression_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, names: list[str], *, seed: int = 0
) -> dict[str, MetricValue]:
    """MAE, RMSE (delta-method error), MAPE and R² of a regressor; non-finite rows left out."""
    from sklearn import metrics as skm

    y_all = np.asarray(y_true, dtype=float)
    p_all = np.asarray(y_pred, dtype=float)
    keep = _finite(y_all, p_all)
    y, pred = y_all[keep], p_all[keep]
    err = pred - y
    n = int(err.size)
    out: dict[str, MetricValue] = {}
    for name in names:
        value: float | None = None
        stderr: float | None = None
        if n and name == "mae":
            value = float(skm.mean_absolute_error(y, pred))
            stderr = _mean_stderr(np.abs(err))
        elif n and name == "rmse":
            value = float(skm.root_mean_squared_error(y, pred))
            if n > 1 and value > 0:
                stderr = float(np.std(err**2, ddof=1) / math.sqrt(n) / (2 * value))
        elif n and name == "mape":
            value = float(skm.mean_absolute_percentage_error(y, pred))
            # Same floor as scikit-learn for a zero true value.
            stderr = _mean_stderr(np.abs(err) / np.maximum(np.abs(y), np.finfo(np.float64).eps))
        elif n > 1 and name == "r2":
            value = float(skm.r2_score(y, pred))
            stderr = _bootstrap_stderr(weighted_r2, seed, y, pred)
        unc = METRICS[name].uncertainty if value is not None else None
        out[name] = MetricValue(name, value, stderr, n, unc)
    return out


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
    if task == BINARY:
        return binary_metrics(y_true, y_pred, y_score, names, seed=seed)
    if task == MULTICLASS:
        return multiclass_metrics(y_true, y_pred, names, seed=seed)
    return regression_metrics(y_true, y_pred, names, seed=seed)


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
