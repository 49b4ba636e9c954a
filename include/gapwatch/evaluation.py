"""Model performance on matured labels, with sampling error.

Each metric value carries a standard error so that policy can ignore a dip that is within the
noise of a small window. Metric calculations are pure functions of arrays; which metrics run and
their thresholds come from the spec (kept apart, as Evidently does).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class MetricValue:
    metric: str
    value: float | None
    stderr: float | None
    n: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _auc_stderr(auc: float, n_pos: int, n_neg: int) -> float:
    # Hanley & McNeil (1982): analytic standard error of ROC AUC from the class sizes.
    q1 = auc / (2 - auc)
    q2 = 2 * auc * auc / (1 + auc)
    var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc**2) + (n_neg - 1) * (q2 - auc**2)) / (
        n_pos * n_neg
    )
    return math.sqrt(max(var, 0.0))


def binary_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, y_score: np.ndarray | None, names: list[str]
) -> dict[str, MetricValue]:
    """ROC AUC, F1 and accuracy of a binary classifier with standard errors."""
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

    y_true = np.asarray(y_true).astype(int)
    y_pred = np.asarray(y_pred).astype(int)
    n = int(y_true.size)
    out: dict[str, MetricValue] = {}
    for name in names:
        value: float | None = None
        stderr: float | None = None
        if name == "roc_auc":
            n_pos = int(y_true.sum())
            n_neg = n - n_pos
            if y_score is not None and n_pos and n_neg:
                value = float(roc_auc_score(y_true, y_score))
                stderr = _auc_stderr(value, n_pos, n_neg)
        elif name == "accuracy" and n:
            value = float(accuracy_score(y_true, y_pred))
            stderr = math.sqrt(value * (1 - value) / n)
        elif name == "f1" and n:
            value = float(f1_score(y_true, y_pred, zero_division=0))
            # F1 = 2TP / (2TP + FP + FN): treat it as a proportion over the rows that touch
            # the positive class (an approximation good enough to gate on, not to publish).
            touching = int(((y_true == 1) | (y_pred == 1)).sum())
            stderr = math.sqrt(value * (1 - value) / touching) if touching else None
        out[name] = MetricValue(name, value, stderr, n)
    return out


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray, names: list[str]) -> dict[str, MetricValue]:
    """MAE and RMSE with standard errors (delta method for RMSE)."""
    err = np.asarray(y_pred, dtype=float) - np.asarray(y_true, dtype=float)
    n = int(err.size)
    out: dict[str, MetricValue] = {}
    for name in names:
        value: float | None = None
        stderr: float | None = None
        if n and name == "mae":
            value = float(np.mean(np.abs(err)))
            stderr = float(np.std(np.abs(err), ddof=1) / math.sqrt(n)) if n > 1 else None
        elif n and name == "rmse":
            mse = float(np.mean(err**2))
            value = math.sqrt(mse)
            if n > 1 and value > 0:
                stderr = float(np.std(err**2, ddof=1) / math.sqrt(n) / (2 * value))
        out[name] = MetricValue(name, value, stderr, n)
    return out


def threshold_for(
    higher_is_better: bool, floor: float | None, max_drop: float | None, baseline: float | None
) -> float | None:
    """The effective limit: the stricter of the absolute floor and the baseline minus the drop."""
    limits = []
    if floor is not None:
        limits.append(floor)
    if max_drop is not None and baseline is not None:
        limits.append(baseline - max_drop if higher_is_better else baseline + max_drop)
    if not limits:
        return None
    return max(limits) if higher_is_better else min(limits)


def is_breach(value: MetricValue, threshold: float | None, higher_is_better: bool, z: float) -> bool:
    """A breach only when the whole confidence interval lies on the wrong side of the limit."""
    if threshold is None or value.value is None:
        return False
    margin = z * (value.stderr or 0.0)
    if higher_is_better:
        return value.value + margin < threshold
    return value.value - margin > threshold
