from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn import metrics as skm

from gapwatch.catalog import METRICS, metrics_for
from gapwatch.evaluation.cells import SCORE_BUCKETS, from_arrays
from gapwatch.evaluation.derive import auc_stderr, bucket_auc, bucket_average_precision, draw
from gapwatch.evaluation.estimate import (
    calibration_map,
    estimate_binary,
    expected_roc_auc,
    weighted_expected_roc_auc,
)
from gapwatch.evaluation.metrics import (
    MetricValue,
    binary_metrics,
    compute_metrics,
    expected_calibration_error,
    is_breach,
    multiclass_metrics,
    regression_metrics,
    threshold_for,
)


@pytest.fixture
def binary_sample() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 1000)
    # Rounded scores: ties, as real score columns have.
    score = np.round(np.clip(y * 0.3 + rng.uniform(0, 0.7, 1000), 0, 1), 2)
    return y, (score >= 0.5).astype(int), score


def test_every_binary_metric_equals_scikit_learn(binary_sample) -> None:
    y, pred, score = binary_sample
    out = binary_metrics(y, pred, score, metrics_for("binary_classification"))
    assert out["roc_auc"].value == pytest.approx(skm.roc_auc_score(y, score))
    assert out["pr_auc"].value == pytest.approx(skm.average_precision_score(y, score))
    assert out["f1"].value == pytest.approx(skm.f1_score(y, pred))
    assert out["precision"].value == pytest.approx(skm.precision_score(y, pred))
    assert out["recall"].value == pytest.approx(skm.recall_score(y, pred))
    assert out["accuracy"].value == pytest.approx(skm.accuracy_score(y, pred))
    assert out["log_loss"].value == pytest.approx(skm.log_loss(y, score))
    assert out["brier"].value == pytest.approx(skm.brier_score_loss(y, score))
    # ECE by hand from scikit-learn's calibration_curve: |observed - predicted| x bin share.
    from sklearn.calibration import calibration_curve

    observed, predicted = calibration_curve(y, score, n_bins=10, strategy="uniform")
    bins = np.searchsorted(np.linspace(0, 1, 11)[1:-1], score)  # calibration_curve's binning
    shares = np.bincount(bins, minlength=10) / y.size
    assert out["ece"].value == pytest.approx(np.sum(np.abs(observed - predicted) * shares[shares > 0]))
    assert all(v.stderr is not None and 0 < v.stderr < 0.05 for v in out.values())
    assert {v.uncertainty for v in out.values()} == {"analytic", "bootstrap"}


def test_metric_directions_are_declared() -> None:
    assert METRICS["roc_auc"].higher_is_better and METRICS["r2"].higher_is_better
    assert not METRICS["log_loss"].higher_is_better and not METRICS["ece"].higher_is_better
    assert not METRICS["mape"].higher_is_better and not METRICS["brier"].higher_is_better
    assert set(metrics_for("multiclass_classification")) == {"accuracy", "f1_macro", "f1_weighted"}


def test_ece_hand_worked() -> None:
    # Bin (0.1, 0.2]: scores 0.2, 0.2 with labels 0, 1 -> |0.5 - 0.2| x 2/4 = 0.15
    # Bin (0.8, 0.9]: score 0.9, label 1 -> |1 - 0.9| x 1/4 = 0.025; bin (0.9, 1]: 1.0, label 1 -> 0
    assert expected_calibration_error(np.array([0, 1, 1, 1]), np.array([0.2, 0.2, 0.9, 1.0])) == pytest.approx(0.175)


def test_cbpe_weighted_form_with_unit_weights_equals_scikit_learn(binary_sample) -> None:
    y, _, score = binary_sample
    assert weighted_expected_roc_auc(np.ones((1, y.size)), score, y.astype(float))[0] == pytest.approx(
        skm.roc_auc_score(y, score))


def test_one_multinomial_draw_of_the_cells_is_a_row_bootstrap(binary_sample) -> None:
    # A draw of the (bucket, label) cell counts is a resample of rows with those counts: the curve
    # on the drawn counts equals scikit-learn on such rows (scores of 2 decimals: one per bucket).
    y, _, score = binary_sample
    cells = from_arrays("binary_classification", y, y, score)[0]
    bucket, label, n = cells.keys["bucket"], cells.keys["y"], cells.sums["n"]
    drawn = draw(np.random.default_rng(3), n.astype(float))[2].astype(int)
    assert drawn.sum() == y.size
    s = np.round(cells.sums["s1"] / n, 2)  # every row of a cell has the same score here
    rows_y, rows_s = np.repeat(label, drawn), np.repeat(s, drawn)
    pos = np.bincount(bucket, weights=drawn * (label == 1), minlength=SCORE_BUCKETS)
    neg = np.bincount(bucket, weights=drawn * (label == 0), minlength=SCORE_BUCKETS)
    assert bucket_average_precision(pos, neg) == pytest.approx(skm.average_precision_score(rows_y, rows_s))
    assert bucket_auc(pos, neg) == pytest.approx(skm.roc_auc_score(rows_y, rows_s))


def test_bootstrap_is_seeded_and_deterministic(binary_sample) -> None:
    y, pred, score = binary_sample
    a = binary_metrics(y, pred, score, ["f1", "pr_auc"], seed=7)
    b = binary_metrics(y, pred, score, ["f1", "pr_auc"], seed=7)
    c = binary_metrics(y, pred, score, ["f1", "pr_auc"], seed=8)
    assert a == b and a["f1"].stderr != c["f1"].stderr


def test_bootstrap_error_agrees_with_the_analytic_one_where_both_exist() -> None:
    # F1's bootstrap error vs. the binomial error of a proportion of similar size: same order.
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 4000)
    pred = np.where(rng.random(4000) < 0.8, y, 1 - y)
    out = binary_metrics(y, pred, None, ["f1", "accuracy"])
    assert out["f1"].stderr == pytest.approx(out["accuracy"].stderr, rel=0.35)


def test_auc_stderr_hanley_mcneil_hand_worked() -> None:
    # By hand: A=0.8, Q1=A/(2-A)=0.6667, Q2=2A^2/(1+A)=0.7111, 50 positives and 50 negatives:
    # var = (0.16 + 49*(0.6667-0.64) + 49*(0.7111-0.64)) / 2500 = 0.0019804 -> SE 0.04450
    assert auc_stderr(0.8, 50, 50) == pytest.approx(0.04450, abs=5e-5)


def test_single_class_window_has_no_auc_instead_of_crashing() -> None:
    out = binary_metrics(np.ones(10), np.ones(10), np.linspace(0, 1, 10), ["roc_auc", "pr_auc", "accuracy"])
    assert out["roc_auc"].value is None
    assert out["pr_auc"].value == pytest.approx(1.0) and out["accuracy"].value == 1.0


def test_nan_and_inf_scores_are_left_out_not_fatal() -> None:
    y = np.array([0, 1, 0, 1, 1, 0, 1, 0])
    score = np.array([0.1, 0.9, np.nan, 0.8, np.inf, 0.3, 0.6, 0.4])
    pred = (np.nan_to_num(score, posinf=1) >= 0.5).astype(int)
    out = binary_metrics(y, pred, score, ["roc_auc", "brier", "accuracy"])
    keep = np.isfinite(score)
    assert out["roc_auc"].n == 6 and out["roc_auc"].value == pytest.approx(skm.roc_auc_score(y[keep], score[keep]))
    assert out["brier"].value == pytest.approx(skm.brier_score_loss(y[keep], score[keep]))
    assert out["accuracy"].n == 8  # accuracy does not need the score


def test_log_loss_of_a_certain_wrong_answer_is_finite_like_scikit_learn() -> None:
    y = np.array([1, 0, 1, 0])
    score = np.array([0.0, 0.0, 1.0, 1.0])
    out = binary_metrics(y, (score > 0.5).astype(int), score, ["log_loss"])
    assert out["log_loss"].value == pytest.approx(skm.log_loss(y, score))
    assert math.isfinite(out["log_loss"].stderr)


def test_multiclass_metrics_match_scikit_learn() -> None:
    rng = np.random.default_rng(2)
    truth = rng.choice(["cat", "dog", "owl"], 900)
    pred = np.where(rng.random(900) < 0.7, truth, rng.choice(["cat", "dog", "owl", "yak"], 900))
    out = compute_metrics("multiclass_classification", ["accuracy", "f1_macro", "f1_weighted"], truth, pred)
    assert out["accuracy"].value == pytest.approx(skm.accuracy_score(truth, pred))
    assert out["f1_macro"].value == pytest.approx(skm.f1_score(truth, pred, average="macro"))
    assert out["f1_weighted"].value == pytest.approx(skm.f1_score(truth, pred, average="weighted"))
    assert all(0 < v.stderr < 0.05 for v in out.values())
    with_missing = multiclass_metrics(np.array(["a", None, "b"], dtype=object), np.array(["a", "b", "b"]), ["accuracy"])
    assert with_missing["accuracy"].n == 2 and with_missing["accuracy"].value == 1.0


def test_regression_metrics_match_scikit_learn_and_skip_non_finite_rows() -> None:
    y = np.array([10.0, 20.0, 30.0, 40.0, np.nan, 50.0])
    p = np.array([12.0, 18.0, 33.0, 40.0, 10.0, np.inf])
    out = regression_metrics(y, p, ["mae", "rmse", "mape", "r2"])
    yk, pk = y[:4], p[:4]
    assert out["mae"].value == pytest.approx(skm.mean_absolute_error(yk, pk)) and out["mae"].n == 4
    assert out["rmse"].value == pytest.approx(math.sqrt(np.mean((yk - pk) ** 2)))
    assert out["mape"].value == pytest.approx(skm.mean_absolute_percentage_error(yk, pk))
    assert out["r2"].value == pytest.approx(skm.r2_score(yk, pk))
    # MAE error by hand: |e| = 2, 2, 3, 0, mean 1.75, squared deviations sum 4.75 -> std (ddof 1)
    # = sqrt(4.75 / 3) = 1.2583 -> / sqrt(4) = 0.6292
    assert out["mae"].stderr == pytest.approx(0.6292, abs=1e-4)


def test_constant_regression_target_has_no_r2_error_instead_of_nan() -> None:
    out = regression_metrics(np.full(50, 3.0), np.full(50, 3.0), ["r2", "mae"])
    assert out["mae"].value == 0.0 and out["r2"].stderr is None


def test_huge_regression_targets_are_not_usable_instead_of_a_crash() -> None:
    # Beyond 1e75 the fourth moments do not fit a double (PostgreSQL raises, numpy overflows):
    # such rows are skipped like non-finite ones, on both paths.
    y = np.r_[np.array([1.0, 2.0, 3.0, 1.5]) * 1e80, 10.0, 20.0, 30.0]
    out = regression_metrics(y, np.r_[y[:4] * 1.01, 12.0, 18.0, 33.0], ["rmse", "r2"])
    assert out["r2"].n == 3 and out["r2"].value == pytest.approx(skm.r2_score([10, 20, 30], [12, 18, 33]))
    assert out["rmse"].value == pytest.approx(math.sqrt((4 + 4 + 9) / 3))


def test_cbpe_estimate_equals_realized_auc_for_calibrated_scores() -> None:
    rng = np.random.default_rng(4)
    score = rng.uniform(0, 1, 20_000)
    y = (rng.random(20_000) < score).astype(float)  # the score is the true probability
    calibration = calibration_map(y, score)
    out = estimate_binary(score, (score >= 0.5).astype(int), calibration, ["roc_auc", "accuracy"])
    assert out["roc_auc"].value == pytest.approx(skm.roc_auc_score(y, score), abs=0.01)
    assert out["accuracy"].value == pytest.approx(0.75, abs=0.01)  # E[max(p, 1-p)] for uniform p
    assert out["roc_auc"].uncertainty == "estimated"
    # By hand: positives ~ Beta(2,1), negatives ~ Beta(1,2) when p ~ U(0,1); P(pos > neg) = 5/6.
    assert expected_roc_auc(score, score) == pytest.approx(5 / 6, abs=0.01)


def test_cbpe_estimate_distrusts_rows_the_model_extrapolates_on() -> None:
    rng = np.random.default_rng(5)
    score = rng.uniform(0, 1, 5000)
    calibration = {"x": [0.0, 1.0], "y": [0.0, 1.0]}
    outside = score < 0.3  # the low scores come from inputs beyond the baseline's range
    trusted = estimate_binary(score, score >= 0.5, calibration, ["roc_auc"])["roc_auc"].value
    doubted = estimate_binary(score, score >= 0.5, calibration, ["roc_auc"], unsupported=outside, prior=0.5)
    assert doubted["roc_auc"].value < trusted - 0.05


def test_threshold_takes_the_stricter_limit() -> None:
    assert threshold_for(True, 0.74, 0.05, 0.83) == pytest.approx(0.78)
    assert threshold_for(True, 0.80, 0.05, 0.83) == pytest.approx(0.80)
    assert threshold_for(False, 12.0, 1.0, 10.0) == pytest.approx(11.0)
    assert threshold_for(True, None, None, 0.8) is None
    assert threshold_for(True, None, None, 0.8, max_relative_drop=0.1) == pytest.approx(0.72)
    assert threshold_for(False, None, None, 10.0, max_relative_drop=0.2) == pytest.approx(12.0)
    assert threshold_for(True, None, None, None, spread=(0.8, 0.01), spread_k=3) == pytest.approx(0.77)
    assert threshold_for(False, None, 5.0, 10.0, spread=(10.0, 0.5), spread_k=2) == pytest.approx(11.0)


def test_breach_only_beyond_the_sampling_error() -> None:
    noisy = MetricValue("roc_auc", 0.76, 0.02, 300)
    clear = MetricValue("roc_auc", 0.70, 0.01, 3000)
    assert not is_breach(noisy, 0.78, True, 1.645)
    assert is_breach(clear, 0.78, True, 1.645)
    assert is_breach(MetricValue("mae", 15.0, 0.5, 500), 11.0, False, 1.645)
    assert not is_breach(MetricValue("mae", 11.5, 0.5, 500), 11.0, False, 1.645)
