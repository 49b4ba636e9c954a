from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from gapwatch.evaluation.drift import (
    compare,
    ks_statistic,
    psi,
    summarize_baseline,
    summarize_window,
)


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


# ---------------------------------------------------------------- issue 4: every method pinned


from scipy.spatial.distance import jensenshannon  # noqa: E402

from gapwatch.evaluation.drift import (  # noqa: E402
    chi_square_pvalue,
    default_method,
    jensen_shannon,
    ks_pvalue,
    outside_support,
    wasserstein_normed,
)


def _pair(base: np.ndarray, win: np.ndarray) -> tuple[dict, dict]:
    layout = summarize_baseline(pd.DataFrame({"x": base}), {"x": "numeric"}, bins=10)
    return layout, summarize_window(pd.DataFrame({"x": win}), layout)


def test_ks_pvalue_matches_scipy_asymptotic_on_the_same_statistic() -> None:
    rng = np.random.default_rng(3)
    base, win = rng.normal(0, 1, 4000), rng.normal(0.1, 1, 800)
    layout, window = _pair(base, win)
    d = ks_statistic(layout["x"]["fine_counts"], window["x"]["fine_counts"])
    exact = sps.ks_2samp(base, win, method="asymp")
    assert ks_pvalue(exact.statistic, 4000, 800) == pytest.approx(exact.pvalue, rel=1e-9)
    # From binned counts D is a lower bound, so the p-value is an upper bound (never more alarms).
    assert ks_pvalue(d, 4000, 800) >= exact.pvalue


@pytest.mark.parametrize(
    "draw",
    [
        lambda rng, n, s: rng.normal(s, 1, n),
        lambda rng, n, s: rng.lognormal(s, 1, n),  # heavy right tail
        lambda rng, n, s: rng.integers(0, 4, n) + s,  # lumpy: few distinct values
    ],
)
@pytest.mark.parametrize(("n", "shift"), [(3000, 0.0), (3000, 0.3), (150, 0.5)])
def test_wasserstein_from_summaries_is_close_to_scipy_on_raw_rows(draw, n, shift) -> None:
    rng = np.random.default_rng(4)
    base, win = draw(rng, 20_000, 0.0), draw(rng, n, shift)
    layout, window = _pair(base, win)
    exact = sps.wasserstein_distance(base, win) / np.std(base)
    ours = wasserstein_normed(layout["x"], window["x"])
    assert ours == pytest.approx(exact, rel=0.12, abs=0.005)


def test_wasserstein_hand_worked_and_constant_column() -> None:
    # Two point masses 1 apart: W1 = 1; a constant baseline has std 0 -> Evidently's floor 0.001.
    layout, window = _pair(np.full(100, 5.0), np.full(30, 6.0))
    assert wasserstein_normed(layout["x"], window["x"]) == pytest.approx(1 / 0.001)
    layout, window = _pair(np.r_[np.zeros(50), np.ones(50)], np.r_[np.zeros(50), np.ones(50)] + 1)
    assert wasserstein_normed(layout["x"], window["x"]) == pytest.approx(1 / 0.5)


def test_jensen_shannon_matches_scipy_with_empty_bins() -> None:
    assert jensen_shannon([10, 0, 30], [0, 20, 20]) == pytest.approx(
        jensenshannon([0.25, 0, 0.75], [0, 0.5, 0.5], base=2))
    # Reported in base 2, bounded to [0, 1]: disjoint supports -> 1, the maximum (sqrt(ln 2) in
    # natural-log units, which is what scipy's default base gives).
    assert jensen_shannon([5, 0], [0, 5]) == pytest.approx(1.0)
    assert jensen_shannon([10, 0, 30], [0, 20, 20]) == pytest.approx(
        jensenshannon([0.25, 0, 0.75], [0, 0.5, 0.5]) / np.sqrt(np.log(2)))
    assert jensen_shannon([1, 2], [1, 2]) == 0.0
    assert np.isnan(jensen_shannon([0, 0], [1, 1]))


def test_chi_square_matches_scipy_contingency_and_handles_unseen_categories() -> None:
    base = {"a": 500, "b": 300, "c": 200}
    win = {"a": 40, "b": 30, "c": 20, "new": 10}
    from gapwatch.evaluation.drift import _aligned_categories

    e, a = _aligned_categories(base, win)
    expected = sps.chi2_contingency(np.array([e, a]), correction=False).pvalue
    assert chi_square_pvalue(e, a) == pytest.approx(expected)
    assert chi_square_pvalue(e, a) < 0.001  # an unseen category is strong evidence
    assert chi_square_pvalue([10, 0], [5, 0]) == 1.0  # a single category cannot drift


def test_categorical_psi_js_chisquare_and_unseen_category_through_compare() -> None:
    layout = summarize_baseline(pd.DataFrame({"r": ["n", "s"] * 500}), {"r": "categorical"}, bins=10)
    win = summarize_window(pd.DataFrame({"r": ["n", "s", "mars", "mars"] * 100}), layout)
    results = {r.method: r for r in compare(layout, win, ["psi", "jensenshannon", "chisquare", "ks"])}
    assert set(results) == {"psi", "jensenshannon", "chisquare"}  # KS does not apply to categories
    # Hand-worked PSI: base 50/50/0(floored 1e-4) vs window 25/25/50 %.
    expected_psi = 2 * (0.25 - 0.5) * np.log(0.25 / 0.5) + (0.5 - 1e-4) * np.log(0.5 / 1e-4)
    assert results["psi"].value == pytest.approx(expected_psi)
    assert results["jensenshannon"].value == pytest.approx(jensenshannon([0.5, 0.5, 0], [0.25, 0.25, 0.5], base=2))
    assert all(r.drifted for r in results.values())


def test_default_methods_follow_evidently_by_kind_and_reference_size() -> None:
    assert default_method("numeric", 1000) == "ks_pvalue"
    assert default_method("categorical", 500) == "chisquare"
    assert default_method("numeric", 1001) == "wasserstein"
    assert default_method("categorical", 5000) == "jensenshannon"
    rng = np.random.default_rng(5)
    small = summarize_baseline(pd.DataFrame({"x": rng.normal(size=800)}), {"x": "numeric"}, bins=10)
    big = summarize_baseline(pd.DataFrame({"x": rng.normal(size=5000)}), {"x": "numeric"}, bins=10)
    window = pd.DataFrame({"x": rng.normal(size=500)})
    assert [r.method for r in compare(small, summarize_window(window, small), None)] == ["ks_pvalue"]
    assert [r.method for r in compare(big, summarize_window(window, big), None)] == ["wasserstein"]


def test_per_feature_override_and_significance_guard() -> None:
    rng = np.random.default_rng(6)
    layout = summarize_baseline(pd.DataFrame({"x": rng.normal(size=5000)}), {"x": "numeric"}, bins=10)
    tiny = summarize_window(pd.DataFrame({"x": rng.normal(size=15)}), layout)
    (noisy,) = compare(layout, tiny, ["wasserstein"])
    assert noisy.value > 0.1 and noisy.drifted  # 15 rows: the distance alone is noise
    (guarded,) = compare(layout, tiny, ["wasserstein"], significance=0.001)
    assert not guarded.drifted  # ... which the two-sample test does not confirm
    moved = summarize_window(pd.DataFrame({"x": rng.normal(2, 1, size=300)}), layout)
    (real,) = compare(layout, moved, ["wasserstein"], significance=0.001)
    assert real.drifted
    (override,) = compare(layout, moved, ["wasserstein"], overrides={"x": {"methods": ["psi"], "threshold": 50.0}})
    assert override.method == "psi" and override.threshold == 50.0 and not override.drifted


def test_nan_and_inf_in_the_window_do_not_drift_or_crash() -> None:
    rng = np.random.default_rng(7)
    layout = summarize_baseline(pd.DataFrame({"x": rng.normal(size=3000)}), {"x": "numeric"}, bins=10)
    values = rng.normal(size=1000)
    values[:50] = np.nan
    values[50:60] = np.inf
    win = summarize_window(pd.DataFrame({"x": values}), layout)
    assert win["x"]["nulls"] == 50 and win["x"]["nonfinite"] == 10 and win["x"]["n"] == 940
    methods = ["psi", "ks", "ks_pvalue", "wasserstein", "jensenshannon"]
    assert not any(r.drifted for r in compare(layout, win, methods, significance=0.001))
    empty = summarize_window(pd.DataFrame({"x": [np.nan, np.nan]}), layout)
    assert all(r.value is None and not r.drifted for r in compare(layout, empty, methods))


def test_rows_outside_the_baseline_range_are_flagged() -> None:
    layout = summarize_baseline(pd.DataFrame({"x": [0.0, 0.5, 1.0] * 10, "r": ["a"] * 30}),
                                {"x": "numeric", "r": "categorical"}, bins=2)
    frame = pd.DataFrame({"x": [0.2, 1.5, np.nan, -0.1], "r": ["a", "a", "zzz", "a"]})
    assert outside_support(frame, layout).tolist() == [False, True, False, True]


def test_pca_reconstruction_drift_flags_a_broken_correlation_not_a_resample() -> None:
    from gapwatch.evaluation.drift import (
        fit_reconstruction,
        reconstruction_drift,
        reconstruction_errors,
    )

    rng = np.random.default_rng(8)

    def frame(n: int, corr: float) -> pd.DataFrame:
        a = rng.normal(size=n)
        b = corr * a + np.sqrt(1 - corr**2) * rng.normal(size=n)
        return pd.DataFrame({"a": a, "b": b, "c": rng.normal(size=n)})

    model = fit_reconstruction(frame(5000, 0.9), ["a", "b", "c"])
    assert model is not None and len(model["components"]) < 3
    same = reconstruction_drift(reconstruction_errors(frame(2000, 0.9), model), model, 0.1)
    broken = reconstruction_drift(reconstruction_errors(frame(2000, -0.9), model), model, 0.1)
    assert same[0] < same[1] and broken[0] > broken[1]
