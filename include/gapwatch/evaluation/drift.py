"""Window statistics and drift.

A window is summarised into small statistics (``evaluation.summaries``, computed by numpy there or
by one SQL query in ``gapwatch.indb.drift``): per numeric column a coarse histogram on the
baseline's decile edges, a fine histogram on its percentile edges (with each fine bin's minimum
and maximum), count, nulls, non-finite values, sums, and derived from those the mean, standard
deviation, minimum, maximum and quantiles; per categorical column the category counts (capped).
Drift compares two such summaries, so the baseline is read and summarised once and every later
window only ships its own counts.

Methods (``catalog.COLUMN_METHODS`` plus ``pca_reconstruction``), each computed from the summaries, not from raw rows:

* ``psi``: population stability index on the coarse bins / categories (drift if >= threshold).
* ``ks``: Kolmogorov-Smirnov D on the fine bins (exact at the bin edges, so a tight lower bound of
  the raw-sample statistic; drift if >= threshold); ``ks_pvalue``: its two-sided p-value from
  Smirnov's asymptotic distribution, as ``scipy.stats.ks_2samp(method="asymp")`` computes it
  (drift if < threshold).
* ``wasserstein``: Wasserstein-1 distance divided by the baseline's standard deviation (Evidently's
  "normed" form), from each summary's quantiles (176 per column, dense in the tails), derived
  from its fine bins (see ``evaluation.summaries``).
* ``jensenshannon``: Jensen-Shannon distance (``scipy.spatial.distance.jensenshannon`` in base 2,
  so bounded to [0, 1]: 0 same distribution, 1 disjoint) of the coarse bins / categories (drift
  if >= threshold). Evidently uses the natural logarithm, where the same pair of distributions
  reads 1/sqrt(ln 2) = 0.83 times as much; the default threshold 0.1 is Evidently's number.
* ``chisquare``: chi-square test of homogeneity of the category counts
  (``scipy.stats.chi2_contingency``; drift if p < threshold). Evidently uses a goodness-of-fit
  test against the reference shares instead; that gives an infinite statistic for a category the
  reference never saw, the contingency test handles it.
* ``pca_reconstruction`` (multivariate): mean PCA reconstruction error of the window's numeric
  features under a PCA fitted on the baseline (see ``fit_reconstruction``).

PSI, KS, Wasserstein from binned counts are written here rather than with scipy on raw rows: that
is what makes the comparison work on stored summaries (and on SQL aggregates later).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from gapwatch.catalog import COLUMN_METHODS, DRIFT_THRESHOLDS, MULTIVARIATE_METHODS, PVALUE_METHODS
from gapwatch.evaluation.summaries import (
    FINE_BINS,
    MAX_CATEGORIES,
    OTHER,
    QUANTILE_GRID,
    QUANTILE_WEIGHTS,
    numeric_values,
    summarize_baseline,
    summarize_window,
    usable,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    import pandas as pd

__all__ = [  # the summaries are re-exported: callers read them as drift's inputs
    "FINE_BINS", "MAX_CATEGORIES", "OTHER", "QUANTILE_GRID", "summarize_baseline", "summarize_window",
]

PSI_EPSILON = 1e-4  # floor for empty bins, so PSI stays finite (Evidently uses the same idea)
WASSERSTEIN_MIN_NORM = 0.001  # Evidently's floor for the reference std (constant columns)

# Evidently's default choice of method (docs-old.evidentlyai.com/reference/data-drift-algorithm,
# and release notes of evidently v0.1.50 "Automatic Stattest Selection"): with <= 1000 reference
# observations, numerical -> two-sample KS p-value, categorical -> chi-square p-value (both at
# 0.05); with > 1000, numerical -> Wasserstein distance (normed) and categorical ->
# Jensen-Shannon distance (both at 0.1). Evidently also treats numeric columns with <= 5 distinct
# values as categorical and uses a Z-test for binary categories; gapwatch follows the column kind
# declared in the spec and uses chi-square for every small categorical sample.
SMALL_SAMPLE = 1000
DEFAULT_METHOD = {
    ("numeric", True): "ks_pvalue",
    ("categorical", True): "chisquare",
    ("numeric", False): "wasserstein",
    ("categorical", False): "jensenshannon",
}
DEFAULT_THRESHOLD = {**DRIFT_THRESHOLDS, "pca_reconstruction": 0.1}
NUMERIC_ONLY = {"ks", "ks_pvalue", "wasserstein"}
CATEGORICAL_ONLY = {"chisquare"}


# ---------------------------------------------------------------- statistics on counts


def psi(expected: np.ndarray | Sequence[float], actual: np.ndarray | Sequence[float]) -> float:
    """Population Stability Index between two count vectors on the same bins."""
    e = np.asarray(expected, dtype=float)
    a = np.asarray(actual, dtype=float)
    if e.sum() == 0 or a.sum() == 0:
        return float("nan")
    e = np.clip(e / e.sum(), PSI_EPSILON, None)
    a = np.clip(a / a.sum(), PSI_EPSILON, None)
    return float(np.sum((a - e) * np.log(a / e)))


def ks_statistic(expected: np.ndarray | Sequence[float], actual: np.ndarray | Sequence[float]) -> float:
    """Two-sample Kolmogorov-Smirnov D from counts on the same (ordered) bins."""
    e = np.asarray(expected, dtype=float)
    a = np.asarray(actual, dtype=float)
    if e.sum() == 0 or a.sum() == 0:
        return float("nan")
    return float(np.max(np.abs(np.cumsum(e) / e.sum() - np.cumsum(a) / a.sum())))


def ks_pvalue(d: float, n1: int, n2: int) -> float:
    """Two-sided p-value of KS ``d``: Smirnov's asymptotic law, exactly as scipy's ks_2samp
    ``method="asymp"`` (``kstwo.sf(d, round(n1*n2/(n1+n2)))``)."""
    from scipy.stats import kstwo

    if not (n1 and n2) or not np.isfinite(d):
        return float("nan")
    en = n1 * n2 / (n1 + n2)
    return float(np.clip(kstwo.sf(d, np.round(en)), 0.0, 1.0))


def jensen_shannon(expected: np.ndarray | Sequence[float], actual: np.ndarray | Sequence[float]) -> float:
    """Jensen-Shannon distance in base 2 (in [0, 1]) of two count vectors on the same bins."""
    from scipy.spatial.distance import jensenshannon

    e = np.asarray(expected, dtype=float)
    a = np.asarray(actual, dtype=float)
    if e.sum() == 0 or a.sum() == 0:
        return float("nan")
    return float(jensenshannon(e / e.sum(), a / a.sum(), base=2))


def chi_square_pvalue(expected: np.ndarray | Sequence[float], actual: np.ndarray | Sequence[float]) -> float:
    """p-value of the chi-square test of homogeneity of two count vectors (categories)."""
    from scipy.stats import chi2_contingency

    table = np.vstack([np.asarray(expected, dtype=float), np.asarray(actual, dtype=float)])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return 1.0 if table.sum(axis=1).all() else float("nan")
    return float(chi2_contingency(table, correction=False).pvalue)


def wasserstein_normed(base: dict[str, Any], win: dict[str, Any]) -> float:
    """Wasserstein-1 distance of two numeric summaries divided by the baseline's std.

    W1 is the integral over u in (0, 1) of |Q_base(u) - Q_win(u)| (quantile functions). Each summary
    has its quantiles at the midpoints of ``QUANTILE_GRID`` (dense in the tails where W1 gets most
    of its error), derived from its fine bins' counts, minima and maxima (each within its bin's
    width of the exact ``inverted_cdf`` quantile, see ``summaries.derived_quantiles``); the integral
    is the weighted sum. Within 1-12% of ``scipy.stats.wasserstein_distance`` on the raw rows (tested).
    Evidently divides by max(std(reference), 0.001); so does this.
    """
    if not base["n"] or not win["n"]:
        return float("nan")
    qb = np.asarray(base["quantiles"], dtype=float)
    qw = np.asarray(win["quantiles"], dtype=float)
    distance = float(np.sum(QUANTILE_WEIGHTS * np.abs(qb - qw)))
    return distance / max(base["std"] or 0.0, WASSERSTEIN_MIN_NORM)


def _aligned_categories(base: dict[str, int], win: dict[str, int]) -> tuple[list[int], list[int]]:
    """The two summaries' counts on common bins.

    An unseen category gets its own bin with a zero baseline count (PSI floors it). But a summary
    with an OTHER bin names only its ``MAX_CATEGORIES`` most frequent categories: a category the
    other side names may be in its OTHER, so such categories are counted in OTHER on both sides
    (else two samples of one population with many categories would differ in which ones they
    name, and read as drift).
    """
    folded: set[str] = set()
    if OTHER in base:
        folded |= set(win) - set(base)
    if OTHER in win:
        folded |= set(base) - set(win)
    keys = sorted((set(base) | set(win)) - folded)

    def counts(side: dict[str, int]) -> list[int]:
        rest = sum(side.get(k, 0) for k in folded)
        return [side.get(k, 0) + (rest if k == OTHER else 0) for k in keys]

    return counts(base), counts(win)


# ---------------------------------------------------------------- multivariate: PCA reconstruction


def multivariate_sample(df: pd.DataFrame, columns: list[str], size: int, seed: int) -> pd.DataFrame:
    """At most ``size`` rows of ``columns``, drawn without replacement by a seeded generator (the
    memory path's counterpart of the database's random sample, ``indb.sampling.sample``)."""
    if len(df) <= size:
        return df[columns]
    rows = np.sort(np.random.default_rng(seed).choice(len(df), size=size, replace=False))
    return df[columns].iloc[rows]


def fit_reconstruction(
    sample: pd.DataFrame, columns: list[str], statistics: dict[str, Any] | None = None, *,
    variance: float = 0.65, seed: int = 0,
) -> dict[str, Any] | None:
    """Fit the multivariate drift model on a bounded sample of the baseline: standardise, PCA
    keeping ``variance`` of the variance (NannyML's data-reconstruction default is 65%), and record
    the sample's reconstruction error. Stored as a few small arrays (means, scales, components),
    never rows.

    Args:
        sample: baseline rows (``multivariate_sample`` or the database's sample).
        columns: the numeric features.
        statistics: the baseline's column summaries: the standardisation uses their mean and
            standard deviation (over every baseline row); without them, the sample's own.
    """
    from sklearn.decomposition import PCA

    if len(columns) < 2 or sample.empty:
        return None
    x = np.column_stack([numeric_values(sample[c]) for c in columns])
    x = np.where(usable(x), x, np.nan)  # infinities and values beyond summaries.LARGEST: missing
    if statistics is not None:
        mean = np.asarray([statistics[c]["mean"] if statistics[c]["mean"] is not None else np.nan for c in columns])
        scale = np.asarray([statistics[c]["std"] if statistics[c]["std"] is not None else np.nan for c in columns])
    else:
        mean, scale = np.nanmean(x, axis=0), np.nanstd(x, axis=0)
    mean = np.nan_to_num(mean)
    scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
    z = np.nan_to_num((x - mean) / scale)
    pca = PCA(n_components=variance, svd_solver="full", random_state=seed).fit(z)
    model = {
        "columns": list(columns),
        "mean": mean.tolist(),
        "scale": scale.tolist(),
        "components": pca.components_.tolist(),
        "center": pca.mean_.tolist(),
    }
    errors = reconstruction_errors(sample, model)
    model["error_mean"] = float(errors.mean())
    model["error_std"] = float(errors.std())
    return model


def reconstruction_errors(df: pd.DataFrame, model: dict[str, Any]) -> np.ndarray:
    """Per-row Euclidean reconstruction error (missing values imputed with the baseline mean)."""
    x = np.column_stack([numeric_values(df[c]) for c in model["columns"]])
    mean = np.asarray(model["mean"])
    z = (np.where(usable(x), x, mean) - mean) / np.asarray(model["scale"])
    comps = np.asarray(model["components"])
    center = np.asarray(model["center"])
    restored = (z - center) @ comps.T @ comps + center
    return np.sqrt(((z - restored) ** 2).sum(axis=1))


def reconstruction_drift(errors: np.ndarray, model: dict[str, Any], tolerance: float) -> tuple[float, float]:
    """(value, threshold): the window's mean error and the limit it must exceed to drift.

    The limit is the baseline's mean error plus the larger of ``tolerance`` x that mean and three
    standard errors of the window mean, so a small window's noise never counts as drift.
    """
    n = max(errors.size, 1)
    base = model["error_mean"]
    margin = max(tolerance * base, 3 * model["error_std"] / math.sqrt(n))
    return float(errors.mean()) if errors.size else float("nan"), base + margin


# ---------------------------------------------------------------- comparing summaries


@dataclass(frozen=True)
class DriftResult:
    column: str
    method: str
    value: float | None
    threshold: float
    drifted: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def severity(self) -> float:
        """How far past its threshold (>= 1 means drifted), comparable across methods."""
        return severity(self.method, self.value, self.threshold)


def severity(method: str, value: float | None, threshold: float) -> float:
    """How far a drift value is past its threshold (>= 1 means drifted), comparable across
    methods; 0 without a finite value."""
    if value is None or not math.isfinite(value):
        return 0.0
    if method in PVALUE_METHODS:
        return math.log(max(value, 1e-300)) / math.log(threshold)
    return value / threshold


def default_method(kind: str, n_reference: int) -> str:
    """Evidently's default drift method for a column kind and reference size (see above)."""
    return DEFAULT_METHOD[(kind, n_reference <= SMALL_SAMPLE)]


def drift_value(method: str, base: dict[str, Any], win: dict[str, Any]) -> float | None:
    """One drift statistic of a column, from the two summaries (None where it does not apply)."""
    if base["kind"] == "categorical":
        if method in NUMERIC_ONLY:
            return None
        e, a = _aligned_categories(base["counts"], win["counts"])
        if method == "psi":
            return psi(e, a)
        if method == "jensenshannon":
            return jensen_shannon(e, a)
        return chi_square_pvalue(e, a)
    if method in CATEGORICAL_ONLY:
        return None
    if method not in DEFAULT_THRESHOLD or method in MULTIVARIATE_METHODS:
        raise ValueError(f"{method!r} is not a per-column drift method; use one of {COLUMN_METHODS}")
    if method == "psi":
        return psi(base["counts"], win["counts"])
    if method == "jensenshannon":
        return jensen_shannon(base["counts"], win["counts"])
    if method == "wasserstein":
        return wasserstein_normed(base, win)
    d = ks_statistic(base["fine_counts"], win["fine_counts"])
    return d if method == "ks" else ks_pvalue(d, base["n"], win["n"])


def significance_pvalue(base: dict[str, Any], win: dict[str, Any]) -> float:
    """p-value of "same distribution": KS (numeric) or chi-square (categorical), from summaries."""
    if base["kind"] == "categorical":
        e, a = _aligned_categories(base["counts"], win["counts"])
        return chi_square_pvalue(e, a)
    d = ks_statistic(base["fine_counts"], win["fine_counts"])
    return ks_pvalue(d, base["n"], win["n"])


def baseline_distance_thresholds(
    baseline: dict[str, Any], parts: list[dict[str, Any]], k: float
) -> dict[str, dict[str, float]]:
    """Per column and distance method, the threshold the baseline's own variation sets.

    Each part (a sub-window's summary on the baseline's bins) is compared with the whole
    baseline; the threshold is the mean + ``k`` standard deviations of those distances, the way
    a metric's spread limit comes from its sub-windows. p-value methods keep their significance
    level (a p-value already accounts for the sample sizes).

    Returns:
        column -> method -> threshold, for the methods that apply to the column's kind and have at
        least two finite distances.
    """
    out: dict[str, dict[str, float]] = {}
    for name, base in baseline.items():
        skip = NUMERIC_ONLY if base["kind"] == "categorical" else CATEGORICAL_ONLY
        for method in sorted(set(COLUMN_METHODS) - PVALUE_METHODS - skip):
            values = [drift_value(method, base, part[name]) for part in parts]
            finite = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float)
            if finite.size < 2:
                continue
            # A floor keeps a constant column's threshold above zero: any change at all is not drift.
            threshold = max(float(finite.mean() + k * finite.std(ddof=1)), 1e-6)
            out.setdefault(name, {})[method] = threshold
    return out


def compare(
    baseline: dict[str, Any],
    window: dict[str, Any],
    methods: Sequence[str] | None,
    thresholds: dict[str, float] | None = None,
    overrides: dict[str, dict[str, Any]] | None = None,
    significance: float | None = None,
    *,
    column_thresholds: dict[str, dict[str, float]] | None = None,
) -> list[DriftResult]:
    """Drift of every summarised column.

    Args:
        baseline: the baseline summary.
        window: the window summary (same columns).
        methods: methods for every column; ``None`` picks Evidently's default per column from its
            kind and the baseline's sample size. Methods that do not apply to a column's kind
            (KS on categories, chi-square on numbers) are skipped.
        thresholds: method -> threshold, over ``DEFAULT_THRESHOLD``.
        overrides: column -> {"methods": [...], "threshold": float} for that column only.
        column_thresholds: column -> method -> threshold from the baseline (``drift.threshold:
            auto``); a column's own threshold in ``overrides`` wins over it.
        significance: if set, a distance (PSI, KS D, Wasserstein, Jensen-Shannon) counts as drift
            only when the two-sample test of the same summaries also rejects at this level: the
            distance says the change matters, the test that it is not the noise of a small window
            (the same rule as "a breach only beyond the sampling error" for metrics).
    """
    limits = {**DEFAULT_THRESHOLD, **(thresholds or {})}
    results: list[DriftResult] = []
    for name, base in baseline.items():
        win = window[name]
        override = (overrides or {}).get(name, {})
        chosen = override.get("methods") or methods or [default_method(base["kind"], base["n"])]
        noise_p: float | None = None
        for method in chosen:
            value = drift_value(method, base, win)
            if value is None and method in (NUMERIC_ONLY if base["kind"] == "categorical" else CATEGORICAL_ONLY):
                continue
            auto = (column_thresholds or {}).get(name, {}).get(method)
            threshold = float(override.get("threshold") or auto or limits[method])
            finite = value is not None and bool(np.isfinite(value))
            if method in PVALUE_METHODS:
                drifted = finite and value < threshold  # type: ignore[operator]
            else:
                drifted = finite and value >= threshold  # type: ignore[operator]
                if drifted and significance is not None:
                    noise_p = significance_pvalue(base, win) if noise_p is None else noise_p
                    drifted = bool(noise_p < significance)
            results.append(
                DriftResult(
                    column=name,
                    method=method,
                    value=float(value) if finite else None,  # type: ignore[arg-type]
                    threshold=threshold,
                    drifted=bool(drifted),
                )
            )
    return results


def outside_support(df: pd.DataFrame, baseline: dict[str, Any]) -> np.ndarray:
    """Rows with a numeric value outside the baseline's [min, max] (where a model extrapolates)."""
    mask = np.zeros(len(df), dtype=bool)
    for name, base in baseline.items():
        if base["kind"] != "numeric" or base.get("min") is None or name not in df:
            continue
        values = numeric_values(df[name])
        with np.errstate(invalid="ignore"):
            mask |= (values < base["min"]) | (values > base["max"])
    return mask
