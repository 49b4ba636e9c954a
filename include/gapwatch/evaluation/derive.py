"""Every performance metric, its standard error and the label-free estimate, derived from cells.

One pure function per task, fed by either execution (``evaluation.cells`` in memory,
``gapwatch.indb.performance`` in the database). Standard errors, as before the cells:

* analytic where a sound formula exists: Hanley-McNeil for ROC AUC, binomial proportions
  (accuracy, precision, recall), the CLT for the mean of a per-row loss (log loss, Brier, MAE,
  MAPE: sums and sums of squares in the cells), the delta method for RMSE and R^2;
* otherwise a bootstrap. A row bootstrap of a statistic that depends on a row only through its
  cell is a multinomial draw of the cell counts (``rng.multinomial(n, p, N_BOOTSTRAP)``), so the
  cells are resampled, vectorised, with no loop over rows (F1, PR AUC, ECE, F1 macro/weighted, the
  estimate's ROC AUC). ECE resamples a cell's score sum as its count times the cell's mean score
  (a bucket is 1/SCORE_BUCKETS wide).

Hand-written numerics (not scikit-learn) because scikit-learn takes rows, not counts; the unit
tests pin every value to scikit-learn on the same rows, within the stated bound for bucketed scores.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from gapwatch.catalog import ESTIMABLE, METRICS
from gapwatch.evaluation.cells import DROPPED, ECE_BINS, NO_SCORE, SCORE_BUCKETS, Cells

N_BOOTSTRAP = 200
BOOTSTRAP_BUCKETS = 200  # a divisor of SCORE_BUCKETS and a multiple of ECE_BINS


@dataclass(frozen=True)
class MetricValue:
    """One metric value with its standard error (None where it cannot be known).

    ``bound``: for a value computed from score buckets (ROC AUC, PR AUC), the largest possible
    difference to the value on the exact scores; None where the value is exact.
    """

    metric: str
    value: float | None
    stderr: float | None
    n: int
    uncertainty: str | None = None
    bound: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def auc_stderr(auc: float, n_pos: float, n_neg: float) -> float:
    """Hanley & McNeil (1982): analytic standard error of ROC AUC from the class sizes."""
    q1 = auc / (2 - auc)
    q2 = 2 * auc * auc / (1 + auc)
    var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc**2) + (n_neg - 1) * (q2 - auc**2)) / (n_pos * n_neg)
    return math.sqrt(max(var, 0.0))


def proportion_stderr(p: float, n: float) -> float | None:
    return math.sqrt(p * (1 - p) / n) if n else None


def mean_stderr(n: float, total: float, squares: float) -> float | None:
    """Standard error of a mean from the count, sum and sum of squares of the per-row values."""
    if n < 2:
        return None
    var = max(squares - total * total / n, 0.0) / (n - 1)
    return math.sqrt(var / n)


def safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), 0.0)


def draw(rng: np.random.Generator, counts: np.ndarray) -> np.ndarray:
    """N_BOOTSTRAP multinomial resamples of the cell counts (resamples x cells)."""
    total = int(counts.sum())
    return rng.multinomial(total, counts / total, size=N_BOOTSTRAP).astype(np.float64)


def spread(values: np.ndarray) -> float | None:
    """The bootstrap standard error: the spread of the finite resampled values (None below 10)."""
    values = values[np.isfinite(values)]
    return float(np.std(values, ddof=1)) if values.size >= 10 else None


# ---------------------------------------------------------------- curves from bucket counts
# ``pos`` and ``neg``: (..., SCORE_BUCKETS) positives / negatives per bucket (last axis).


def bucket_auc(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """ROC AUC with each bucket's scores as ties: P(pos above neg) + 1/2 P(same bucket)."""
    below = np.cumsum(neg, axis=-1) - neg
    num = np.sum(pos * (below + 0.5 * neg), axis=-1)
    return safe_div(num, pos.sum(axis=-1) * neg.sum(axis=-1))


def auc_bound(pos: np.ndarray, neg: np.ndarray) -> float:
    """Largest difference between the bucketed and the exact ROC AUC: only pairs in the same
    bucket can be ordered differently, so |dAUC| <= 1/2 x sum_b P(pos in b) P(neg in b)."""
    return float(0.5 * np.sum(pos * neg) / (pos.sum() * neg.sum()))


def bucket_average_precision(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """scikit-learn's average precision with each bucket's scores as ties (thresholds descending)."""
    tp = np.cumsum(pos[..., ::-1], axis=-1)
    fp = np.cumsum(neg[..., ::-1], axis=-1)
    total = tp[..., -1:]
    gain = safe_div(pos[..., ::-1], np.broadcast_to(total, tp.shape))
    out = np.sum(gain * safe_div(tp, tp + fp), axis=-1)
    return np.where(total[..., 0] > 0, out, np.nan)


def ap_bound(pos: np.ndarray, neg: np.ndarray) -> float:
    """Largest difference between bucketed and exact average precision: inside a bucket the
    precision of the exact curve lies between its value with the bucket's negatives all first
    and with its positives all first."""
    p, q = pos[::-1], neg[::-1]
    t_before = np.cumsum(p) - p
    f_before = np.cumsum(q) - q
    high = safe_div(t_before + p, t_before + p + f_before)
    low = safe_div(t_before + 1, t_before + 1 + f_before + q)
    return float(np.sum(safe_div(p, np.full_like(p, p.sum())) * np.maximum(high - low, 0.0)))


# ---------------------------------------------------------------- binary


@dataclass
class _Binary:
    """The sums one binary segment's metrics need, read once from its cells."""

    cells: Cells

    def __post_init__(self) -> None:
        k, s = self.cells.keys, self.cells.sums
        self.ok = k["y"] != DROPPED
        self.scored = self.ok & (k["bucket"] != NO_SCORE)
        n, y, p = s["n"], k["y"], k["pred"]
        self.tp, self.fp = n[self.ok & (y == 1) & (p == 1)].sum(), n[self.ok & (y == 0) & (p == 1)].sum()
        self.fn, self.tn = n[self.ok & (y == 1) & (p == 0)].sum(), n[self.ok & (y == 0) & (p == 0)].sum()
        self.n = int(n[self.ok].sum())
        self.n_scored = int(n[self.scored].sum())
        b = k["bucket"][self.scored]
        w = n[self.scored].astype(float)
        pos = y[self.scored] == 1
        self.pos = np.bincount(b, weights=w * pos, minlength=SCORE_BUCKETS)
        self.neg = np.bincount(b, weights=w * ~pos, minlength=SCORE_BUCKETS)
        self.s_pos = np.bincount(b, weights=s["s1"][self.scored] * pos, minlength=SCORE_BUCKETS)
        self.s_neg = np.bincount(b, weights=s["s1"][self.scored] * ~pos, minlength=SCORE_BUCKETS)
        self.sum = {name: float(v[self.scored].sum()) for name, v in s.items() if name != "n"}


def _ece(pos: np.ndarray, s_pos: np.ndarray, neg: np.ndarray, s_neg: np.ndarray) -> np.ndarray:
    """ECE over ECE_BINS bins of whole buckets: sum of |positives - score sum| / rows."""
    shape = (*pos.shape[:-1], ECE_BINS, -1)
    gap = np.abs(pos.reshape(shape).sum(-1) - (s_pos + s_neg).reshape(shape).sum(-1)).sum(-1)
    return safe_div(gap, (pos + neg).sum(-1))


def coarse(values: np.ndarray) -> np.ndarray:
    """Bucket totals (last axis) added up into BOOTSTRAP_BUCKETS groups of neighbours: the
    bootstrap's resolution (its draw costs one binomial per cell; an error needs no finer)."""
    return values.reshape(*values.shape[:-1], BOOTSTRAP_BUCKETS, -1).sum(-1)


def _score_bootstrap(b: _Binary, rng: np.random.Generator) -> dict[str, float | None]:
    """PR AUC and ECE errors from one multinomial draw over the (coarse bucket, label) cells."""
    pos, neg = coarse(b.pos), coarse(b.neg)
    counts = np.concatenate([pos, neg])
    used = np.nonzero(counts)[0]
    w = np.zeros((N_BOOTSTRAP, counts.size))
    w[:, used] = draw(rng, counts[used])
    pos_w, neg_w = w[:, :BOOTSTRAP_BUCKETS], w[:, BOOTSTRAP_BUCKETS:]
    mean_pos, mean_neg = safe_div(coarse(b.s_pos), pos), safe_div(coarse(b.s_neg), neg)
    return {"pr_auc": spread(bucket_average_precision(pos_w, neg_w)),
            "ece": spread(_ece(pos_w, pos_w * mean_pos, neg_w, neg_w * mean_neg))}


def _f1_stderr(b: _Binary, rng: np.random.Generator) -> float | None:
    w = draw(rng, np.array([b.tp, b.fp, b.fn, b.tn], dtype=float))
    return spread(safe_div(2 * w[:, 0], 2 * w[:, 0] + w[:, 1] + w[:, 2]))


def _binary_value(name: str, b: _Binary, boot: dict[str, Any]) -> tuple[float | None, float | None, float | None]:
    """(value, stderr, bound) of one binary metric; Nones where it is undefined (no rows, one
    class only for ROC AUC, no positives for PR AUC, no score)."""
    n = b.n_scored if METRICS[name].needs_score else b.n
    if n == 0:
        return None, None, None
    n_pos, n_neg = b.pos.sum(), b.neg.sum()
    if name == "roc_auc":
        if not (n_pos and n_neg):
            return None, None, None
        value = float(bucket_auc(b.pos, b.neg))
        return value, auc_stderr(value, n_pos, n_neg), auc_bound(b.pos, b.neg)
    if name == "pr_auc":
        if not n_pos:
            return None, None, None
        return float(bucket_average_precision(b.pos, b.neg)), boot["score"]()["pr_auc"], ap_bound(b.pos, b.neg)
    if name == "accuracy":
        value = float((b.tp + b.tn) / n)
        return value, proportion_stderr(value, n), None
    if name == "precision":
        value = float(safe_div(np.array(b.tp), np.array(b.tp + b.fp)))
        return value, proportion_stderr(value, b.tp + b.fp), None
    if name == "recall":
        value = float(safe_div(np.array(b.tp), np.array(b.tp + b.fn)))
        return value, proportion_stderr(value, b.tp + b.fn), None
    if name == "f1":
        return float(safe_div(np.array(2 * b.tp), np.array(2 * b.tp + b.fp + b.fn))), boot["f1"](), None
    if name in ("log_loss", "brier"):
        total, squares = (b.sum["ll"], b.sum["ll2"]) if name == "log_loss" else (b.sum["bs"], b.sum["bs2"])
        return total / n, mean_stderr(n, total, squares), None
    if name == "ece":
        return float(_ece(b.pos, b.s_pos, b.neg, b.s_neg)), boot["score"]()["ece"], None
    return None, None, None


def binary(cells: Cells, names: list[str], *, seed: int = 0) -> dict[str, MetricValue]:
    """Binary metrics (positive class 1) from a segment's cells; rows without a finite label and
    prediction (and, for a score metric, score) are left out, ``n`` says how many were used."""
    b = _Binary(cells)
    rng = np.random.default_rng(seed)
    cache: dict[str, Any] = {}

    def once(key: str, make: Any) -> Any:
        return lambda: cache[key] if key in cache else cache.setdefault(key, make())

    boot = {"score": once("score", lambda: _score_bootstrap(b, rng)), "f1": once("f1", lambda: _f1_stderr(b, rng))}
    out: dict[str, MetricValue] = {}
    for name in names:
        value, stderr, bound = _binary_value(name, b, boot)
        n = b.n_scored if METRICS[name].needs_score else b.n
        unc = METRICS[name].uncertainty if value is not None else None
        out[name] = MetricValue(name, value, stderr if n > 1 else None, n, unc, bound)
    return out


# ---------------------------------------------------------------- multiclass


def _multiclass_f1(confusion: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-class F1 and support from (..., k, k) confusion counts (rows: label, columns: prediction)."""
    tp = np.diagonal(confusion, axis1=-2, axis2=-1)
    support = confusion.sum(-1)
    return safe_div(2 * tp, confusion.sum(-2) + support), support


def multiclass(cells: Cells, names: list[str], *, seed: int = 0) -> dict[str, MetricValue]:
    """Accuracy, macro and weighted F1 from the confusion cells (labels compared as strings;
    classes are every label and prediction seen)."""
    ok = np.array([a is not None and b is not None for a, b in zip(cells.keys["y"], cells.keys["pred"],
                                                                   strict=True)], dtype=bool)
    y, p, counts = cells.keys["y"][ok].astype(str), cells.keys["pred"][ok].astype(str), cells.sums["n"][ok]
    classes = np.unique(np.concatenate([y, p]))
    k, n = classes.size, int(counts.sum())
    flat = np.searchsorted(classes, y) * k + np.searchsorted(classes, p)
    confusion = np.bincount(flat, weights=counts, minlength=k * k).reshape(k, k) if n else np.zeros((0, 0))
    rng = np.random.default_rng(seed)
    boot: np.ndarray | None = None
    out: dict[str, MetricValue] = {}
    for name in names:
        value = stderr = None
        if n and name == "accuracy":
            value = float(np.trace(confusion) / n)
            stderr = proportion_stderr(value, n)
        elif n and name in ("f1_macro", "f1_weighted"):
            if boot is None:
                w = draw(rng, counts.astype(float)) if n > 1 else np.zeros((0, counts.size))
                boot = np.zeros((w.shape[0], k * k))
                boot[:, flat] = w  # one cell per (label, prediction)
                boot = boot.reshape(-1, k, k)
            f1, support = _multiclass_f1(np.concatenate([confusion[None], boot]))
            values = f1.mean(-1) if name == "f1_macro" else safe_div((f1 * support).sum(-1), support.sum(-1))
            value, stderr = float(values[0]), spread(values[1:])
        unc = METRICS[name].uncertainty if value is not None else None
        out[name] = MetricValue(name, value, stderr, n, unc)
    return out


# ---------------------------------------------------------------- regression


def _r2(s: dict[str, float], n: float) -> tuple[float | None, float | None]:
    """R^2 = 1 - mean(e^2) / var(y) and its delta-method standard error from the moments of
    (e^2, y, y^2) (no bootstrap: a regressor's rows have no cells to resample)."""
    sst = s["y2"] - s["y1"] ** 2 / n
    if n < 2:
        return None, None
    if sst <= 1e-12 * n * max(s["y2"] / n, 1.0):
        # A constant target: scikit-learn's r2_score gives 1 for a perfect fit, else 0; no error.
        return (1.0 if s["e2"] == 0 else 0.0), None
    a, b, c = s["e2"] / n, s["y1"] / n, s["y2"] / n
    v = c - b * b
    grad = np.array([-1 / v, -2 * a * b / v**2, a / v**2])
    second = np.array([[s["e4"], s["e2y"], s["e2y2"]],
                       [s["e2y"], s["y2"], s["y3"]],
                       [s["e2y2"], s["y3"], s["y4"]]]) / n
    mean = np.array([a, b, c])
    cov = second - np.outer(mean, mean)
    var = float(grad @ cov @ grad) / n
    return 1 - a / v, math.sqrt(max(var, 0.0))


def regression(cells: Cells, names: list[str], *, seed: int = 0) -> dict[str, MetricValue]:
    """MAE, RMSE (delta method), MAPE and R^2 (delta method) from the sums; non-finite rows out."""
    ok = cells.keys["ok"] == 1
    s = {k: float(v[ok].sum()) for k, v in cells.sums.items()}
    n = int(s.get("n", 0))
    out: dict[str, MetricValue] = {}
    for name in names:
        value = stderr = None
        if n and name == "mae":
            value, stderr = s["ae"] / n, mean_stderr(n, s["ae"], s["e2"])
        elif n and name == "rmse":
            value = math.sqrt(s["e2"] / n)
            std = mean_stderr(n, s["e2"], s["e4"])
            stderr = std / (2 * value) if std is not None and value > 0 else None
        elif n and name == "mape":
            value, stderr = s["ape"] / n, mean_stderr(n, s["ape"], s["ape2"])
        elif n > 1 and name == "r2":
            value, stderr = _r2(s, n)
        unc = METRICS[name].uncertainty if value is not None else None
        if stderr is not None and not math.isfinite(stderr):
            stderr = None  # moments summed beyond a double (rows up to cells.REGRESSION_LARGEST): no NaN
        out[name] = MetricValue(name, value, stderr, n, unc)
    return out


def derive(cells: Cells, names: list[str], *, seed: int = 0) -> dict[str, MetricValue]:
    """The named metrics of one group of rows from its cells (the task is the cells' kind)."""
    if cells.kind == "binary":
        return binary(cells, names, seed=seed)
    if cells.kind == "multiclass":
        return multiclass(cells, names, seed=seed)
    return regression(cells, names, seed=seed)


# ---------------------------------------------------------------- label-free estimate (CBPE)


def estimate(cells: Cells, calibration: dict[str, list[float]], names: list[str], *,
             prior: float | None = None, seed: int = 0) -> dict[str, MetricValue]:
    """CBPE from the window's estimate cells: each cell's probability is the calibration map at
    its mean score (the prior for unsupported cells, when given); expected positives and
    negatives per bucket then give ROC AUC (buckets as ties) and the expected accuracy."""
    k, s = cells.keys, cells.sums
    scored = k["bucket"] != NO_SCORE
    counts = s["n"][scored].astype(float)
    n = int(counts.sum())
    prob = np.interp(safe_div(s["s1"][scored], counts), calibration["x"], calibration["y"])
    if prior is not None:
        prob = np.where(k["unsupported"][scored] == 1, prior, prob)
    bucket = k["bucket"][scored]
    out: dict[str, MetricValue] = {}
    rng = np.random.default_rng(seed)
    for name in [m for m in names if m in ESTIMABLE]:
        value = stderr = None
        if n and name == "roc_auc":
            pos = np.bincount(bucket, weights=counts * prob, minlength=SCORE_BUCKETS)
            neg = np.bincount(bucket, weights=counts * (1 - prob), minlength=SCORE_BUCKETS)
            if pos.sum() > 0 and neg.sum() > 0:
                value = float(bucket_auc(pos, neg))
                stderr = _estimate_auc_stderr(rng, counts, prob, bucket) if n > 1 else None
        elif n and name == "accuracy":
            correct = np.where(k["pred"][scored] == 1, prob, 1 - prob)
            value = float(np.sum(counts * correct) / n)
            stderr = mean_stderr(n, float(np.sum(counts * correct)), float(np.sum(counts * correct**2)))
        out[name] = MetricValue(name, value, stderr, n, "estimated" if value is not None else None)
    return out


def _estimate_auc_stderr(rng: np.random.Generator, counts: np.ndarray, prob: np.ndarray,
                         bucket: np.ndarray) -> float | None:
    """The estimate's bootstrap: a multinomial draw over coarse buckets, each with its rows' mean
    probability."""
    group = bucket // (SCORE_BUCKETS // BOOTSTRAP_BUCKETS)
    rows = np.bincount(group, weights=counts, minlength=BOOTSTRAP_BUCKETS)
    share = safe_div(np.bincount(group, weights=counts * prob, minlength=BOOTSTRAP_BUCKETS), rows)
    used = np.nonzero(rows)[0]
    w = draw(rng, rows[used])
    pos, neg = w * share[used], w * (1 - share[used])
    return spread(np.where((pos.sum(1) > 0) & (neg.sum(1) > 0), bucket_auc(pos, neg), np.nan))


def calibration(cells: Cells, *, bins: int = 50) -> dict[str, list[float]]:
    """The monotone calibration map (score knots -> P(label = 1)) from a reference's binary cells:
    isotonic regression (scikit-learn) on at most ``bins`` quantile groups of whole buckets."""
    from sklearn.isotonic import IsotonicRegression

    b = _Binary(cells)
    count = b.pos + b.neg
    if not count.sum():
        return {"x": [0.0, 1.0], "y": [0.0, 1.0]}
    used = np.nonzero(count)[0]
    # Quantile groups: a bucket's group is where its cumulative share falls among ``bins`` bins.
    share = np.cumsum(count[used]) / count.sum()
    group = np.minimum((share * bins - 1e-9).astype(int), bins - 1)
    weight = np.bincount(group, weights=count[used])
    x = np.bincount(group, weights=(b.s_pos + b.s_neg)[used])
    y = np.bincount(group, weights=b.pos[used])
    keep = weight > 0
    x_mean, y_mean, weight = x[keep] / weight[keep], y[keep] / weight[keep], weight[keep]
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
    fitted = iso.fit(x_mean, y_mean, sample_weight=weight).predict(x_mean)
    return {"x": [float(v) for v in x_mean], "y": [float(v) for v in fitted]}


def prior(cells: Cells) -> float | None:
    """The reference's positive rate (rows with a label and prediction)."""
    b = _Binary(cells)
    return float((b.tp + b.fn) / b.n) if b.n else None


def reference_metrics(overall: Cells, slices: list[Cells], names: list[str], *, seed: int = 0) -> dict[str, Any]:
    """The baseline's metric entries: name -> value, stderr, n on all of it, and over the slices
    ``spread_values``, ``spread_mean``, ``spread_std`` and ``spread_n`` (their mean rows)."""
    metrics = {name: value.to_dict() for name, value in derive(overall, names, seed=seed).items()}
    per_slice = [derive(part, names, seed=seed) for part in slices]
    for name, entry in metrics.items():
        judged = [s[name] for s in per_slice if s[name].value is not None]
        values = [float(v.value) for v in judged if v.value is not None]
        entry["spread_values"] = values
        entry["spread_mean"] = float(np.mean(values)) if values else None
        entry["spread_std"] = float(np.std(values, ddof=1)) if len(values) > 1 else None
        # Rows per sub-window, to carry the spread to a window of another size.
        entry["spread_n"] = float(np.mean([v.n for v in judged])) if judged else None
    return metrics
