"""Drift summaries from counts: the memory execution against independent numpy computations.

The database execution is compared with this one in tests/integration/test_indb_drift.py; here
the counts, bin extremes, sums and derived values are checked against numpy/pandas on raw rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gapwatch.evaluation import summaries
from gapwatch.evaluation.drift import multivariate_sample, wasserstein_normed
from gapwatch.evaluation.frames import slices
from gapwatch.spec import MonitorSpec


def _layout(values: np.ndarray, bins: int = 10) -> dict:
    return summaries.baseline_layout(pd.DataFrame({"x": values}), {"x": "numeric"}, bins)


def test_edges_are_percentile_disc_and_the_coarse_edges_are_fine_edges() -> None:
    rng = np.random.default_rng(11)
    values = rng.lognormal(0, 1, 5001)
    layout = _layout(values, bins=7)["x"]
    # numpy's inverted_cdf is PostgreSQL's percentile_disc: the first value whose rank reaches f.
    coarse = np.percentile(values, summaries.coarse_fractions(7) * 100, method="inverted_cdf")
    assert layout["edges"] == [values.min(), *coarse, np.nextafter(values.max(), np.inf)]
    assert set(layout["edges"]) <= set(layout["fine_edges"])
    fine = np.percentile(values, summaries.FINE_FRACTIONS * 100, method="inverted_cdf")
    assert set(fine) <= set(layout["fine_edges"])
    assert np.all(np.diff(layout["fine_edges"]) > 0)


def test_counts_extremes_and_sums_match_numpy_on_the_raw_rows() -> None:
    rng = np.random.default_rng(12)
    layout = _layout(rng.normal(1e6, 3, 20_000))  # a large offset: the sums are taken around a shift
    values = rng.normal(1e6 + 1, 4, 7_000)
    values[:30] = np.nan
    values[30:40] = np.inf
    values[40:45] = -np.inf
    summary = summaries.summarize_window(pd.DataFrame({"x": values}), layout)["x"]
    finite = values[np.isfinite(values)]
    for edges, counts in (("edges", "counts"), ("fine_edges", "fine_counts")):
        idx = np.searchsorted(layout["x"][edges], finite, side="right")
        assert summary[counts] == np.bincount(idx, minlength=len(layout["x"][edges]) + 1).tolist()
    idx = pd.Series(np.searchsorted(layout["x"]["fine_edges"], finite, side="right"))
    lows, highs = pd.Series(finite).groupby(idx).min(), pd.Series(finite).groupby(idx).max()
    assert [v for v in summary["fine_min"] if v is not None] == lows.tolist()
    assert [v for v in summary["fine_max"] if v is not None] == highs.tolist()
    assert (summary["n"], summary["nulls"], summary["nonfinite"]) == (finite.size, 30, 15)
    assert (summary["min"], summary["max"]) == (finite.min(), finite.max())
    assert summary["mean"] == pytest.approx(finite.mean(), rel=1e-12)
    assert summary["std"] == pytest.approx(finite.std(), rel=1e-9)


@pytest.mark.parametrize(
    "draw",
    [lambda rng, n: rng.normal(0, 1, n), lambda rng, n: rng.lognormal(0, 1.5, n),
     lambda rng, n: rng.integers(0, 6, n).astype(float)],
)
def test_derived_quantiles_are_within_their_bin_of_the_exact_ones(draw) -> None:
    rng = np.random.default_rng(13)
    layout = _layout(draw(rng, 10_000))
    values = draw(rng, 3_000) * 1.1 + 0.2
    summary = summaries.summarize_window(pd.DataFrame({"x": values}), layout)["x"]
    exact = np.quantile(values, summaries.QUANTILE_GRID, method="inverted_cdf")
    ours = np.asarray(summary["quantiles"])
    # The stated bound: the width of the fine bin each quantile falls in.
    bins = np.searchsorted(layout["x"]["fine_edges"], exact, side="right")
    width = np.asarray([summary["fine_max"][b] - summary["fine_min"][b] for b in bins])
    assert np.all(np.abs(ours - exact) <= width + 1e-12)
    assert np.mean(ours == exact) > 0.05  # exact wherever the rank is a bin's first or last value


def test_lumpy_columns_give_exact_quantiles_and_wasserstein() -> None:
    base = np.repeat([0.0, 1.0, 2.0, 3.0], 500)
    layout = _layout(base)
    window = summaries.summarize_window(pd.DataFrame({"x": base + 0.3}), layout)
    assert window["x"]["quantiles"] == np.quantile(base + 0.3, summaries.QUANTILE_GRID, method="inverted_cdf").tolist()
    base_summary = summaries.summarize_window(pd.DataFrame({"x": base}), layout)
    assert wasserstein_normed(base_summary["x"], window["x"]) == pytest.approx(0.3 / base.std())


def test_categories_keep_the_top_k_by_count_then_by_code_point_and_sum_the_rest() -> None:
    values = [f"c{i:03d}" for i in range(150)] * 2 + ["a"] * 5 + ["B"] * 5 + [None] * 7
    summary = summaries.summarize_window(pd.DataFrame({"r": values}), {"r": {"kind": "categorical"}})["r"]
    counts = summary["counts"]
    assert list(counts)[:2] == ["B", "a"]  # ties broken by code point ("B" < "a")
    kept = [k for k in counts if k not in ("B", "a", summaries.OTHER)]
    assert kept == [f"c{i:03d}" for i in range(summaries.MAX_CATEGORIES - 2)]
    assert counts[summaries.OTHER] == 2 * (150 - (summaries.MAX_CATEGORIES - 2))
    assert summary["nulls"] == 7 and summary["n"] == 310


def test_reference_slices_have_ntile_sizes_in_time_order() -> None:
    spec = MonitorSpec.model_construct(
        baseline=type("B", (), {"sub_windows": 4})(), predictions=type("P", (), {"timestamp": "t"})())
    frame = pd.DataFrame({"t": np.arange(10)[::-1]})
    parts = slices(frame, spec)
    assert [len(p) for p in parts] == [3, 3, 2, 2]  # SQL's NTILE(4) of 10 rows
    assert [p["t"].tolist() for p in parts] == [[0, 1, 2], [3, 4, 5], [6, 7], [8, 9]]


def test_the_multivariate_sample_is_bounded_and_seeded() -> None:
    frame = pd.DataFrame({"a": np.arange(50_000.0), "b": np.arange(50_000.0) * 2, "c": 1.0})
    one = multivariate_sample(frame, ["a", "b"], 1000, seed=5)
    assert list(one.columns) == ["a", "b"] and len(one) == 1000 and one["a"].is_unique
    assert one.equals(multivariate_sample(frame, ["a", "b"], 1000, seed=5))
    assert len(multivariate_sample(frame.head(10), ["a"], 1000, seed=5)) == 10  # small: every row
