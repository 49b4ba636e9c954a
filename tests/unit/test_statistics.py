from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from gapwatch.statistics import compare, ks_statistic, psi, summarize_baseline, summarize_window


def test_psi_hand_worked_example() -> None:
    # expected 25/25/50 %, actual 50/25/25 %: sum((a-e)*ln(a/e))
    expected = (0.5 - 0.25) * np.log(2) + 0 + (0.25 - 0.5) * np.log(0.5)
    assert psi([25, 25, 50], [50, 25, 25]) == pytest.approx(expected)


def test_psi_is_finite_with_empty_bins_and_nan_for_empty_input() -> None:
    assert np.isfinite(psi([10, 0, 10], [0, 10, 10]))
    assert np.isnan(psi([0, 0], [1, 2]))


def test_ks_on_fine_bins_matches_scipy_on_raw_samples() -> None:
    rng = np.random.default_rng(1)
    base = pd.DataFrame({"x": rng.normal(0, 1, 20_000)})
    win = pd.DataFrame({"x": rng.normal(0.3, 1, 5_000)})
    layout = summarize_baseline(base, {"x": "numeric"}, bins=10)
    window = summarize_window(win, layout)
    ours = ks_statistic(layout["x"]["fine_counts"], window["x"]["fine_counts"])
    exact = sps.ks_2samp(base["x"], win["x"]).statistic
    assert ours == pytest.approx(exact, abs=0.01)
    assert ours <= exact + 1e-12  # exact at the bin edges, so never above the raw statistic


def test_nulls_and_infinities_are_counted_apart_not_binned() -> None:
    base = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0] * 50})
    layout = summarize_baseline(base, {"x": "numeric"}, bins=4)
    win = summarize_window(pd.DataFrame({"x": [1.0, np.nan, np.inf, 2.0]}), layout)
    assert win["x"]["nulls"] == 1
    assert win["x"]["n"] == 2 and sum(win["x"]["counts"]) == 2


def test_constant_column_gives_one_bin_and_no_false_drift() -> None:
    base = pd.DataFrame({"x": [5.0] * 100})
    layout = summarize_baseline(base, {"x": "numeric"}, bins=10)
    # below the minimum | the constant value | above the maximum
    assert layout["x"]["edges"] == [5.0, float(np.nextafter(5.0, np.inf))]
    assert layout["x"]["counts"] == [0, 100, 0]
    same = summarize_window(pd.DataFrame({"x": [5.0] * 30}), layout)
    results = compare(layout, same, ["psi", "ks"], {"psi": 0.2, "ks": 0.1})
    assert not any(r.drifted for r in results)


def test_unseen_category_drives_categorical_psi() -> None:
    base = pd.DataFrame({"region": ["north", "south"] * 500})
    layout = summarize_baseline(base, {"region": "categorical"}, bins=10)
    shifted = summarize_window(pd.DataFrame({"region": ["north", "south", "mars", "mars"] * 100}), layout)
    (result,) = compare(layout, shifted, ["psi", "ks"], {"psi": 0.2, "ks": 0.1})
    assert result.method == "psi" and result.drifted  # KS does not apply to categories


def test_a_shifted_feature_drifts_and_a_resample_does_not() -> None:
    rng = np.random.default_rng(2)
    layout = summarize_baseline(pd.DataFrame({"x": rng.uniform(0, 1, 5000)}), {"x": "numeric"}, bins=10)
    same = summarize_window(pd.DataFrame({"x": rng.uniform(0, 1, 2000)}), layout)
    moved = summarize_window(pd.DataFrame({"x": rng.uniform(0.5, 1.5, 2000)}), layout)
    thresholds = {"psi": 0.2, "ks": 0.15}
    assert not any(r.drifted for r in compare(layout, same, ["psi", "ks"], thresholds))
    assert all(r.drifted for r in compare(layout, moved, ["psi", "ks"], thresholds))
