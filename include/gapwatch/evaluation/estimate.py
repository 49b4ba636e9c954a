"""The label-free performance estimate (CBPE, confidence-based performance estimation).

Before labels arrive, a binary classifier's ROC AUC and accuracy can be *expected* from its own
scores, calibrated on the baseline's labels (isotonic regression), as NannyML's CBPE does. The
estimate holds while the calibration holds; where the model extrapolates beyond the baseline's
inputs it cannot, and those rows get the baseline's positive rate instead (see
``estimate_binary``). Errors are the bootstrap spread over the window's rows, from the same
vectorised resampling as ``metrics``.
"""

from __future__ import annotations

import numpy as np

from gapwatch.catalog import ESTIMABLE
from gapwatch.evaluation.metrics import MetricValue, _bootstrap_stderr, _mean_stderr, _safe_div


def calibration_map(y: np.ndarray, score: np.ndarray, *, bins: int = 50) -> dict[str, list[float]]:
    """A small monotone calibration map fitted on the reference: score knots -> P(label = 1).

    Isotonic regression (scikit-learn) on the reference's labels, fitted on quantile-bin means so
    the stored map has at most ``bins`` knots.
    """
    from sklearn.isotonic import IsotonicRegression

    keep = np.isfinite(score) & np.isfinite(y)
    score, y = score[keep], y[keep].astype(float)
    if score.size == 0:
        return {"x": [0.0, 1.0], "y": [0.0, 1.0]}
    edges = np.unique(np.quantile(score, np.linspace(0, 1, bins + 1)))
    idx = np.clip(np.searchsorted(edges, score, side="right") - 1, 0, max(edges.size - 2, 0))
    counts = np.bincount(idx)
    used = counts > 0
    x_mean = (np.bincount(idx, weights=score) / np.maximum(counts, 1))[used]
    y_mean = (np.bincount(idx, weights=y) / np.maximum(counts, 1))[used]
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
    fitted = iso.fit(x_mean, y_mean, sample_weight=counts[used]).predict(x_mean)
    return {"x": [float(v) for v in x_mean], "y": [float(v) for v in fitted]}


def weighted_expected_roc_auc(w: np.ndarray, score: np.ndarray, prob: np.ndarray) -> np.ndarray:
    """Expected ROC AUC (CBPE) under resample weights; one value per row of ``w``.

    Sort by the model's score; expected true and false positives at each threshold are the
    cumulative sums of ``prob`` and ``1 - prob``; ties are grouped like scikit-learn's roc_curve,
    and the curve is integrated with the trapezoid rule as ``sklearn.metrics.auc`` does.
    """
    order = np.argsort(-score, kind="stable")
    s, p, ws = score[order], prob[order], w[:, order]
    ends = np.r_[np.nonzero(np.diff(s))[0], s.size - 1]
    zero = np.zeros((w.shape[0], 1))
    tp = np.hstack([zero, np.cumsum(ws * p, axis=1)[:, ends]])
    fp = np.hstack([zero, np.cumsum(ws * (1 - p), axis=1)[:, ends]])
    tpr = _safe_div(tp, np.broadcast_to(tp[:, -1:], tp.shape))
    fpr = _safe_div(fp, np.broadcast_to(fp[:, -1:], fp.shape))
    area = np.sum(np.diff(fpr, axis=1) * (tpr[:, 1:] + tpr[:, :-1]) / 2, axis=1)
    return np.where((tp[:, -1] > 0) & (fp[:, -1] > 0), area, np.nan)


def expected_roc_auc(score: np.ndarray, prob: np.ndarray) -> float | None:
    """ROC AUC expected when each row is positive with probability ``prob`` (CBPE)."""
    score, prob = np.asarray(score, dtype=float), np.asarray(prob, dtype=float)
    if score.size == 0:
        return None
    value = float(weighted_expected_roc_auc(np.ones((1, score.size)), score, prob)[0])
    return value if np.isfinite(value) else None


def estimate_binary(
    score: np.ndarray,
    pred: np.ndarray,
    calibration: dict[str, list[float]],
    names: list[str],
    *,
    unsupported: np.ndarray | None = None,
    prior: float | None = None,
    seed: int = 0,
) -> dict[str, MetricValue]:
    """Label-free estimates of ROC AUC and accuracy from calibrated scores (CBPE, NannyML style).

    CBPE assumes the calibration fitted on the reference still holds. It cannot hold where the
    model extrapolates beyond the reference's inputs, so rows flagged ``unsupported`` get the
    uninformed probability ``prior`` (the reference's positive rate) instead of their calibrated
    score: the model's ranking of them is then worth nothing, which is what the estimate should
    assume until their labels say otherwise.

    Returns estimated ``roc_auc`` / ``accuracy`` (other names are skipped); with no finite score
    (an empty window) each is there with value None and n 0, never missing. The estimate is a
    function of the window's scores only, so its sampling error is the bootstrap spread over the
    window's rows (label noise does not enter until labels arrive).
    """
    score = np.asarray(score, dtype=float)
    keep = np.isfinite(score)
    score = score[keep]
    prob = np.interp(score, calibration["x"], calibration["y"])
    if unsupported is not None and prior is not None:
        prob = np.where(np.asarray(unsupported)[keep], prior, prob)
    n = int(score.size)
    out: dict[str, MetricValue] = {}
    for name in names:
        if name not in ESTIMABLE:
            continue
        value: float | None = None
        stderr: float | None = None
        if n and name == "roc_auc":
            value = expected_roc_auc(score, prob)
            if value is not None:
                stderr = _bootstrap_stderr(weighted_expected_roc_auc, seed, score, prob)
        elif n and name == "accuracy":
            p = np.asarray(pred, dtype=float)[keep]
            correct = np.where(p >= 0.5, prob, 1 - prob)
            value = float(np.mean(correct))
            stderr = _mean_stderr(correct)
        out[name] = MetricValue(name, value, stderr, n, "estimated" if value is not None else None)
    return out
