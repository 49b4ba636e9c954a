"""Window statistics and drift.

A window is summarised into small, mergeable statistics (per-column counts, nulls, histograms on
the baseline's bin edges, category counts). Drift compares two such summaries, so the baseline is
read and summarised once and every later window only ships its own counts.

PSI and KS are computed here from the binned counts rather than with scipy on raw rows: that is
what makes the comparison work on stored summaries (and on SQL aggregates later). KS on 100
quantile bins is exact at the bin edges, a tight lower bound of the raw-sample statistic.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

PSI_EPSILON = 1e-4  # floor for empty bins, so PSI stays finite (Evidently uses the same idea)
FINE_BINS = 100


def _quantile_edges(values: np.ndarray, bins: int) -> list[float]:
    """Inner edges at the baseline's quantiles; duplicates dropped (constant or lumpy columns)."""
    if values.size == 0:
        return []
    qs = np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1])
    return [float(q) for q in np.unique(qs)]


def _bin_counts(values: np.ndarray, edges: list[float]) -> list[int]:
    # side="right": a value equal to an edge falls in the upper bin, consistently for both sides.
    idx = np.searchsorted(np.asarray(edges, dtype=float), values, side="right")
    return np.bincount(idx, minlength=len(edges) + 1).astype(int).tolist()


def _numeric(series: pd.Series) -> np.ndarray:
    values = series.to_numpy(dtype=float, na_value=np.nan)
    return values[np.isfinite(values)]


def summarize_baseline(df: pd.DataFrame, columns: dict[str, str], bins: int) -> dict[str, Any]:
    """Summarise the baseline: choose bin edges from its quantiles, then count.

    Args:
        df: the baseline rows.
        columns: column name -> "numeric" | "categorical".
        bins: number of (coarse) bins for PSI.
    """
    layout: dict[str, Any] = {}
    for name, kind in columns.items():
        if kind == "numeric":
            values = _numeric(df[name])
            layout[name] = {
                "kind": "numeric",
                "edges": _quantile_edges(values, bins),
                "fine_edges": _quantile_edges(values, FINE_BINS),
            }
        else:
            layout[name] = {"kind": "categorical"}
    return summarize_window(df, layout)


def summarize_window(df: pd.DataFrame, layout: dict[str, Any]) -> dict[str, Any]:
    """Summarise a window on the bin edges of ``layout`` (a baseline summary)."""
    out: dict[str, Any] = {}
    for name, spec in layout.items():
        column = df[name]
        nulls = int(column.isna().sum())
        if spec["kind"] == "numeric":
            values = _numeric(column)
            out[name] = {
                "kind": "numeric",
                "n": int(values.size),
                "nulls": nulls,
                "edges": spec["edges"],
                "counts": _bin_counts(values, spec["edges"]),
                "fine_edges": spec["fine_edges"],
                "fine_counts": _bin_counts(values, spec["fine_edges"]),
                "mean": float(values.mean()) if values.size else None,
            }
        else:
            counts = column.dropna().astype(str).value_counts()
            out[name] = {
                "kind": "categorical",
                "n": int(counts.sum()),
                "nulls": nulls,
                "counts": {str(k): int(v) for k, v in counts.items()},
            }
    return out


def psi(expected: np.ndarray | list[float], actual: np.ndarray | list[float]) -> float:
    """Population Stability Index between two count vectors on the same bins."""
    e = np.asarray(expected, dtype=float)
    a = np.asarray(actual, dtype=float)
    if e.sum() == 0 or a.sum() == 0:
        return float("nan")
    e = np.clip(e / e.sum(), PSI_EPSILON, None)
    a = np.clip(a / a.sum(), PSI_EPSILON, None)
    return float(np.sum((a - e) * np.log(a / e)))


def ks_statistic(expected: np.ndarray | list[float], actual: np.ndarray | list[float]) -> float:
    """Two-sample Kolmogorov-Smirnov D from counts on the same (ordered) bins."""
    e = np.asarray(expected, dtype=float)
    a = np.asarray(actual, dtype=float)
    if e.sum() == 0 or a.sum() == 0:
        return float("nan")
    return float(np.max(np.abs(np.cumsum(e) / e.sum() - np.cumsum(a) / a.sum())))


def _aligned_categories(base: dict[str, int], win: dict[str, int]) -> tuple[list[int], list[int]]:
    # Unseen categories get their own bin with a zero baseline count (PSI floors it).
    keys = sorted(set(base) | set(win))
    return [base.get(k, 0) for k in keys], [win.get(k, 0) for k in keys]


@dataclass(frozen=True)
class DriftResult:
    column: str
    method: str
    value: float | None
    threshold: float
    drifted: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def compare(
    baseline: dict[str, Any],
    window: dict[str, Any],
    methods: list[str],
    thresholds: dict[str, float],
) -> list[DriftResult]:
    """Drift of every summarised column; KS applies to numeric columns only."""
    results: list[DriftResult] = []
    for name, base in baseline.items():
        win = window[name]
        for method in methods:
            if base["kind"] == "categorical":
                if method != "psi":
                    continue
                e, a = _aligned_categories(base["counts"], win["counts"])
                value = psi(e, a)
            elif method == "psi":
                value = psi(base["counts"], win["counts"])
            else:
                value = ks_statistic(base["fine_counts"], win["fine_counts"])
            threshold = thresholds[method]
            finite = value is not None and np.isfinite(value)
            results.append(
                DriftResult(
                    column=name,
                    method=method,
                    value=float(value) if finite else None,
                    threshold=threshold,
                    drifted=bool(finite and value >= threshold),
                )
            )
    return results
