"""Window summaries: the counts drift is computed from, one definition for both executions.

A numeric column is summarised on its baseline's *layout*: coarse edges (PSI, Jensen-Shannon) and
fine edges (KS, Wasserstein), the coarse edges a subset of the fine ones, so one fine bin index
gives both. What an execution computes (numpy here, one SQL ``GROUP BY`` in ``gapwatch.indb.drift``)
is only the *raw* part:

* per fine bin: the count of finite values, their minimum and maximum;
* the count of finite values ``n``, of nulls (NaN counts as null, as pandas reads it) and of
  non-finite values (infinities, and values beyond +-``LARGEST``, whose squares would not fit);
  the sum and sum of squares of ``value - shift`` (``shift`` is a middle fine edge, a value near
  the baseline's median, so the sums keep their precision for large offsets).

Everything else is *derived* from the raw part by :func:`finish_numeric`, on both paths, so both
give identical numbers from identical counts: coarse counts (sums of fine bins), mean and standard
deviation (from the sums), minimum and maximum (of the bins), and the quantiles Wasserstein reads.
Those quantiles come from the fine bins: within a bin of ``c`` values the ranks are spread
linearly from the bin's minimum to its maximum. So a derived quantile is exact when its rank is a
bin's first or last value (every value of a bin holding one distinct value, e.g. lumpy columns),
and otherwise off by at most its bin's width (``fine_max - fine_min``); the baseline's fine edges
are its own percentiles, so on the baseline that is at most 1% of its rows' spread per bin.

The baseline's edges are its percentiles by PostgreSQL's ``percentile_disc`` definition (the value
of sorted row ``max(ceil(f * n), 1)``), so the database can choose them too and both agree exactly.

A categorical column keeps its ``MAX_CATEGORIES`` most frequent values (ties by the value's code
point order) as text, the rest counted as ``OTHER``, plus its nulls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

MAX_CATEGORIES = 100  # categories kept by name per summary; the rest are counted as OTHER
# A value beyond +-LARGEST counts as non-finite, like +-Infinity: its square (the sum of squares)
# would not fit a double, and PostgreSQL raises an error where numpy gives inf.
LARGEST = 1e150
OTHER = "__other__"
# Probabilities at which each numeric summary has quantiles (for Wasserstein): 0.05% steps in the
# outer 2% on each side, 1% steps in between; 176 values per column.
_QUANTILE_BREAKS = np.unique(np.r_[np.linspace(0, 0.02, 41), np.linspace(0.02, 0.98, 97), np.linspace(0.98, 1, 41)])
QUANTILE_GRID = (_QUANTILE_BREAKS[:-1] + _QUANTILE_BREAKS[1:]) / 2
QUANTILE_WEIGHTS = np.diff(_QUANTILE_BREAKS)
# The fine edges: the baseline's percentiles at the quantile grid's breaks (every 1%, and every
# 0.05% in the outer 2% on each side), so each Wasserstein quantile falls in a narrow bin.
FINE_FRACTIONS = _QUANTILE_BREAKS[1:-1]
FINE_BINS = len(FINE_FRACTIONS) + 1  # bins inside the baseline range (178)


def coarse_fractions(bins: int) -> np.ndarray:
    """The percentiles that make the coarse edges (deciles for ``bins=10``)."""
    return np.linspace(0, 1, bins + 1)[1:-1]


def discrete_quantiles(ordered: np.ndarray, fractions: np.ndarray) -> np.ndarray:
    """PostgreSQL's ``percentile_disc`` on sorted values: row ``max(ceil(f * n), 1)`` (1-based)."""
    rows = np.maximum(np.ceil(fractions * ordered.size), 1).astype(np.int64)
    return ordered[rows - 1]


def numeric_layout(minimum: float, maximum: float, coarse: np.ndarray, fine: np.ndarray) -> dict[str, Any]:
    """A numeric column's bin edges from its baseline's extremes and percentiles.

    Edges are the percentiles plus the minimum and just above the maximum, so values outside the
    baseline's range get bins of their own (a constant column still detects a new value); duplicates
    dropped. The fine edges include the coarse ones (one fine bin index gives both counts).
    """
    top = float(np.nextafter(maximum, np.inf))
    edges = np.unique(np.r_[minimum, coarse, top])
    fine_edges = np.unique(np.r_[minimum, fine, coarse, top])
    return {"kind": "numeric", "edges": edges.tolist(), "fine_edges": fine_edges.tolist()}


def empty_layout() -> dict[str, Any]:
    """The layout of a numeric column with no finite baseline value."""
    return {"kind": "numeric", "edges": [], "fine_edges": []}


def shift_of(layout: dict[str, Any]) -> float:
    """The offset subtracted before the sums: a middle fine edge (0 without edges)."""
    fine = layout["fine_edges"]
    return float(fine[len(fine) // 2]) if fine else 0.0


def coarse_of_fine(layout: dict[str, Any]) -> np.ndarray:
    """For each fine bin, the coarse bin holding it (the coarse edges are fine edges)."""
    edges = np.asarray(layout["edges"], dtype=float)
    fine = np.asarray(layout["fine_edges"], dtype=float)
    if not np.isin(edges, fine).all():
        raise ValueError("the coarse edges are not fine edges: a baseline summary of an older format")
    # Fine bin 0 lies below every edge; fine bin j >= 1 starts at fine edge j - 1.
    return np.r_[0, np.searchsorted(edges, fine, side="right")]


def derived_quantiles(counts: np.ndarray, lows: np.ndarray, highs: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Quantiles (``inverted_cdf`` ranks) at ``grid`` from per-bin counts, minima and maxima.

    Hand-written: the values inside a bin are unknown, so rank k of c is placed at
    ``low + (high - low) * k / (c - 1)`` (exact at a bin's first and last value).
    """
    n = int(counts.sum())
    ranks = np.clip(np.ceil(grid * n).astype(np.int64) - 1, 0, n - 1)
    ends = np.cumsum(counts)
    j = np.searchsorted(ends, ranks, side="right")  # the first bin ending after the rank
    c = counts[j]
    k = ranks - (ends[j] - c)
    step = np.where(c > 1, k / np.maximum(c - 1, 1), 0.0)
    return lows[j] + (highs[j] - lows[j]) * step


def finish_numeric(layout: dict[str, Any], raw: dict[str, Any]) -> dict[str, Any]:
    """The full numeric summary from its raw part (see the module docstring); both paths call it.

    Args:
        layout: the column's baseline layout (``edges``, ``fine_edges``).
        raw: ``n``, ``nulls``, ``nonfinite``, ``fine_counts``, ``fine_min``, ``fine_max`` (None for
            an empty bin), ``sum`` and ``sumsq`` of ``value - shift_of(layout)``.
    """
    counts = np.asarray(raw["fine_counts"], dtype=np.int64)
    n = int(raw["n"])
    coarse = np.bincount(coarse_of_fine(layout), weights=counts, minlength=len(layout["edges"]) + 1)
    out: dict[str, Any] = {
        "kind": "numeric",
        "n": n,
        "nulls": int(raw["nulls"]),
        "nonfinite": int(raw["nonfinite"]),
        "edges": layout["edges"],
        "counts": coarse.astype(np.int64).tolist(),
        "fine_edges": layout["fine_edges"],
        "fine_counts": counts.tolist(),
        "fine_min": raw["fine_min"],
        "fine_max": raw["fine_max"],
        "sum": float(raw["sum"]),
        "sumsq": float(raw["sumsq"]),
        "mean": None, "std": None, "min": None, "max": None, "quantiles": [],
    }
    if n:
        lows = np.asarray([np.nan if v is None else v for v in raw["fine_min"]], dtype=float)
        highs = np.asarray([np.nan if v is None else v for v in raw["fine_max"]], dtype=float)
        mean = out["sum"] / n
        out["mean"] = shift_of(layout) + mean
        out["std"] = float(np.sqrt(max(out["sumsq"] / n - mean * mean, 0.0)))
        out["min"], out["max"] = float(np.nanmin(lows)), float(np.nanmax(highs))
        out["quantiles"] = derived_quantiles(counts, lows, highs, QUANTILE_GRID).tolist()
    return out


def _raw_numeric(values: np.ndarray, layout: dict[str, Any]) -> dict[str, Any]:
    """The raw part of a numeric summary: one sort, then every bin by binary search on it."""
    nulls = int(np.isnan(values).sum())
    finite = values[usable(values)]
    finite.sort()
    n = finite.size
    bounds = np.r_[0, np.searchsorted(finite, np.asarray(layout["fine_edges"], dtype=float), side="left"), n]
    counts = np.diff(bounds)
    filled = counts > 0
    lows = np.where(filled, finite[np.minimum(bounds[:-1], max(n - 1, 0))] if n else 0.0, np.nan)
    highs = np.where(filled, finite[np.maximum(bounds[1:] - 1, 0)] if n else 0.0, np.nan)
    shifted = finite - shift_of(layout)
    return {
        "n": n,
        "nulls": nulls,
        "nonfinite": int(values.size - n - nulls),
        "fine_counts": counts.tolist(),
        "fine_min": [float(v) if f else None for v, f in zip(lows, filled, strict=True)],
        "fine_max": [float(v) if f else None for v, f in zip(highs, filled, strict=True)],
        "sum": float(shifted.sum()),
        "sumsq": float(np.sum(shifted * shifted)),  # pairwise summation, no BLAS threads
    }


def usable(values: np.ndarray) -> np.ndarray:
    """The finite values within +-``LARGEST`` (NaN and infinities not)."""
    with np.errstate(invalid="ignore"):
        return np.abs(values) < LARGEST


def numeric_values(series: pd.Series) -> np.ndarray:
    """A column as float64, nulls as NaN."""
    return series.to_numpy(dtype=float, na_value=np.nan)


def categorical_summary(counts: dict[str, int], nulls: int) -> dict[str, Any]:
    return {"kind": "categorical", "n": int(sum(counts.values())), "nulls": int(nulls), "counts": counts}


def named_categories(counts: dict[str, int], named: set[str] | None = None) -> dict[str, int]:
    """``counts`` with only the ``named`` categories kept by name (default: the ``MAX_CATEGORIES``
    most frequent), most frequent first, ties in code point order; every other one counted as
    OTHER."""
    ranked = sorted(((c, n) for c, n in counts.items() if n), key=lambda p: (-p[1], p[0]))
    if named is None:
        named = {c for c, _ in ranked[:MAX_CATEGORIES]}
    out = {c: n for c, n in ranked if c in named}
    rest = sum(n for c, n in counts.items() if c not in named)
    if rest:
        out[OTHER] = out.get(OTHER, 0) + rest
    return out


def _category_counts(column: pd.Series, named: set[str] | None) -> dict[str, int]:
    import pandas as pd

    from gapwatch.evaluation.cells import class_names

    # Named as the database names them: a whole number as an integer ("1", not "1.0": one NULL
    # makes pandas read an integer column as floats, and one window's categories would differ).
    counts = pd.Series(class_names(column)).value_counts(dropna=True, sort=False)
    return named_categories(dict(zip(counts.index, counts.tolist(), strict=True)), named)


def summarize_window(
    df: pd.DataFrame, layout: dict[str, Any], *, named: dict[str, set[str]] | None = None
) -> dict[str, Any]:
    """Summarise a window on the bin edges of ``layout`` (a baseline summary).

    ``named``: per categorical column, the categories kept by name (the others counted as
    OTHER) instead of the window's own ``MAX_CATEGORIES`` most frequent: a segment's summary
    names the categories its whole window names, so the segments add up to the window.
    """
    out: dict[str, Any] = {}
    for name, spec in layout.items():
        column = df[name]
        if spec["kind"] == "numeric":
            out[name] = finish_numeric(spec, _raw_numeric(numeric_values(column), spec))
        else:
            kept = None if named is None else named.get(name, set())
            out[name] = categorical_summary(_category_counts(column, kept), int(column.isna().sum()))
    return out


def named_in(summary: dict[str, Any]) -> dict[str, set[str]]:
    """Per categorical column of a window summary, the categories it keeps by name."""
    return {name: set(s["counts"]) - {OTHER} for name, s in summary.items() if s["kind"] == "categorical"}


def baseline_layout(df: pd.DataFrame, columns: dict[str, str], bins: int) -> dict[str, Any]:
    """Each column's layout, chosen from the baseline rows' percentiles."""
    layout: dict[str, Any] = {}
    for name, kind in columns.items():
        if kind != "numeric":
            layout[name] = {"kind": "categorical"}
            continue
        values = numeric_values(df[name])
        finite = np.sort(values[usable(values)])
        layout[name] = (
            numeric_layout(finite[0], finite[-1], discrete_quantiles(finite, coarse_fractions(bins)),
                           discrete_quantiles(finite, FINE_FRACTIONS))
            if finite.size else empty_layout()
        )
    return layout


def summarize_baseline(df: pd.DataFrame, columns: dict[str, str], bins: int) -> dict[str, Any]:
    """Summarise the baseline: choose bin edges from its percentiles, then count.

    Args:
        df: the baseline rows.
        columns: column name -> "numeric" | "categorical".
        bins: number of (coarse) bins for PSI and Jensen-Shannon.
    """
    return summarize_window(df, baseline_layout(df, columns, bins))

