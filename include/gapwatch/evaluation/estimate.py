"""The label-free performance estimate (CBPE, confidence-based performance estimation).

Before labels arrive, a binary classifier's ROC AUC and accuracy can be *expected* from its own
scores, calibrated on the baseline's labels (isotonic regression), as NannyML's CBPE does. The
estimate holds while the calibration holds; where the model extrapolates beyond the baseline's
inputs it cannot, and those rows get the baseline's positive rate instead (see
``estimate_binary``). Values and errors are derived from the window's cells
(``evaluation.cells.estimate_cells`` in memory, ``gapwatch.indb.performance`` in the database) by
``evaluation.derive.estimate``; ``expected_roc_auc`` on exact rows stays for the scenarios' oracle.
"""

from __future__ import annotations

import numpy as np

from gapwatch.catalog import BINARY
from gapwatch.evaluation import derive
from gapwatch.evaluation.cells import estimate_cells, from_arrays
from gapwatch.evaluation.derive import MetricValue, safe_div


def calibration_map(y: np.ndarray, score: np.ndarray, *, bins: int = 50) -> dict[str, list[float]]:
    """A small monotone calibration map fitted on the reference: score knots -> P(label = 1).

    Isotonic regression (scikit-learn) on the reference's labels, fitted on at most ``bins``
    quantile groups of score buckets (``derive.calibration``, which the database path feeds too).
    """
    y = np.asarray(y, dtype=float)
    return derive.calibration(from_arrays(BINARY, y, y, score)[0], bins=bins)


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
    tpr = safe_div(tp, np.broadcast_to(tp[:, -1:], tp.shape))
    fpr = safe_div(fp, np.broadcast_to(fp[:, -1:], fp.shape))
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
    cells = estimate_cells(score, pred, unsupported if prior is not None else None)
    return derive.estimate(cells, calibration, names, prior=prior, seed=seed)
