"""Cells: every performance number derived from counts, against scikit-learn on the same rows."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from gapwatch.evaluation import cells as cl
from gapwatch.evaluation import derive
from gapwatch.evaluation.estimate import expected_roc_auc
from gapwatch.evaluation.metrics import binary_metrics, regression_metrics
from gapwatch.spec import MonitorSpec

pytestmark = pytest.mark.unit


def _binary(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    score = rng.beta(2, 5, n)  # continuous: no two rows tie, so every shared bucket is an error
    y = (rng.random(n) < score).astype(int)
    return y, (score >= 0.3).astype(int), score


@pytest.mark.parametrize("n", [60, 2_000, 50_000])
def test_bucketed_roc_and_pr_auc_lie_within_their_stated_bound_of_scikit_learn(n: int) -> None:
    y, pred, score = _binary(n, seed=n)
    out = binary_metrics(y, pred, score, ["roc_auc", "pr_auc"])
    auc, ap = out["roc_auc"], out["pr_auc"]
    assert auc.bound is not None and ap.bound is not None
    assert abs(auc.value - skm.roc_auc_score(y, score)) <= auc.bound + 1e-12  # + rounding
    assert abs(ap.value - skm.average_precision_score(y, score)) <= ap.bound + 1e-12
    if n >= 2_000:  # the bound the README states for windows of that size
        assert auc.bound < 0.001


def test_scores_on_bucket_edges_and_outside_zero_one_land_where_scikit_learn_bins_them() -> None:
    score = np.array([0.0, 0.1, 0.1 + 1e-12, 0.3, 0.7, 1.0, -0.2, 1.3])
    buckets = cl.score_bucket(score)
    assert list(buckets // (cl.SCORE_BUCKETS // cl.ECE_BINS)) == [0, 0, 1, 2, 6, 9, 0, 9]
    assert buckets.min() >= 0 and buckets.max() == cl.SCORE_BUCKETS - 1


def test_loss_errors_from_sums_equal_the_per_row_formula() -> None:
    y, pred, score = _binary(3_000, seed=1)
    out = binary_metrics(y, pred, score, ["log_loss", "brier"])
    per_row_ll = -(y * np.log(score) + (1 - y) * np.log(1 - score))
    per_row_bs = (score - y) ** 2
    assert out["log_loss"].stderr == pytest.approx(np.std(per_row_ll, ddof=1) / math.sqrt(y.size), rel=1e-9)
    assert out["brier"].stderr == pytest.approx(np.std(per_row_bs, ddof=1) / math.sqrt(y.size), rel=1e-9)


def test_multinomial_cell_bootstrap_matches_a_row_bootstrap_with_scikit_learn() -> None:
    y, pred, score = _binary(2_000, seed=2)
    out = binary_metrics(y, pred, score, ["f1", "pr_auc", "ece"], seed=3)
    rng = np.random.default_rng(4)
    picks = rng.integers(0, y.size, size=(200, y.size))
    f1 = [skm.f1_score(y[i], pred[i]) for i in picks]
    ap = [skm.average_precision_score(y[i], score[i]) for i in picks]
    assert out["f1"].stderr == pytest.approx(np.std(f1, ddof=1), rel=0.2)
    assert out["pr_auc"].stderr == pytest.approx(np.std(ap, ddof=1), rel=0.2)
    assert out["ece"].stderr is not None and 0 < out["ece"].stderr < 0.05


def test_regression_errors_delta_method_agree_with_a_row_bootstrap() -> None:
    rng = np.random.default_rng(5)
    y = rng.gamma(3, 10, 4_000)
    pred = y + rng.normal(0, 6, y.size) * (1 + y / 30)  # heteroscedastic: no textbook shortcut
    out = regression_metrics(y, pred, ["mae", "rmse", "mape", "r2"])
    err = pred - y
    assert out["rmse"].stderr == pytest.approx(np.std(err**2, ddof=1) / math.sqrt(y.size) / (2 * out["rmse"].value))
    assert out["mape"].value == pytest.approx(skm.mean_absolute_percentage_error(y, pred))
    picks = rng.integers(0, y.size, size=(300, y.size))
    r2 = [skm.r2_score(y[i], pred[i]) for i in picks]
    assert out["r2"].value == pytest.approx(skm.r2_score(y, pred), rel=1e-9)
    assert out["r2"].stderr == pytest.approx(np.std(r2, ddof=1), rel=0.2)
    assert out["r2"].uncertainty == "analytic"


def test_missing_scores_leave_score_metrics_but_not_the_others() -> None:
    y, pred, score = _binary(500, seed=6)
    score = score.copy()
    score[:100] = np.nan
    out = binary_metrics(y, pred, score, ["roc_auc", "brier", "accuracy", "f1"])
    assert out["roc_auc"].n == out["brier"].n == 400 and out["accuracy"].n == out["f1"].n == 500
    assert out["brier"].value == pytest.approx(skm.brier_score_loss(y[100:], score[100:]))
    nothing = binary_metrics(y, pred, np.full(500, np.nan), ["roc_auc", "accuracy"])
    assert nothing["roc_auc"].value is None and nothing["roc_auc"].n == 0 and nothing["accuracy"].n == 500


def _spec() -> MonitorSpec:
    person = {"name": "Cell Owner", "email": "cells@example.com"}
    return MonitorSpec.model_validate({
        "name": "cells", "version": "1", "task": "binary_classification",
        "owners": {"business_owner": person, "technical_owner": person, "data_steward": person},
        "schedule": "0 0 * * 1", "start_date": "2026-03-02", "source": {"url_env": "X"},
        "predictions": {"table": "p", "id": "id", "timestamp": "ts", "prediction": "pred", "score": "score",
                        "features": [{"name": "region", "kind": "categorical"}]},
        "ground_truth": {"table": "t", "id": "id", "label": "y", "arrived_at": "a", "delay": "7d"},
        "segments": ["region"], "readiness": {"suite": "none"}, "metrics": [{"name": "roc_auc"}],
        "baseline": {"start": "2026-03-02", "end": "2026-03-09", "sub_windows": 3},
        "runbook_url": "https://runbooks.example.com/cells", "fallback": "none",
    })


def test_segments_and_slices_group_rows_as_pandas_does() -> None:
    y, pred, score = _binary(1_000, seed=7)
    region = pd.Categorical(np.random.default_rng(8).choice(["b", "a", None], 1_000), categories=["a", "b", "z"])
    frame = pd.DataFrame({"ts": np.arange(1_000), "label": y, "pred": pred, "score": score, "region": region})
    segments = cl.from_frame(_spec(), frame)
    assert list(segments) == ["*", "region=a", "region=b", "region=z"]  # every category, in order
    for key, part in frame.groupby("region", observed=False):
        assert segments[f"region={key}"].rows == len(part)
    assert segments["region=z"].rows == 0
    slices = cl.slice_cells(_spec(), frame.sample(frac=1, random_state=1))  # time order restored
    assert [s.rows for s in slices] == [334, 333, 333]  # NTILE: the first slice one row longer
    whole = cl.merge(slices)
    assert (whole.sums["n"] == segments["*"].canonical().sums["n"]).all()
    first = derive.binary(slices[0], ["roc_auc"])["roc_auc"].value
    assert first == pytest.approx(skm.roc_auc_score(y[:334], score[:334]), abs=derive.auc_bound(
        *(np.bincount(cl.score_bucket(score[:334]), weights=w, minlength=cl.SCORE_BUCKETS)
          for w in (y[:334], 1 - y[:334]))) + 1e-12)


def test_cbpe_from_cells_equals_the_row_level_estimate() -> None:
    rng = np.random.default_rng(9)
    score = rng.beta(2, 4, 20_000)
    calibration = {"x": [0.0, 0.2, 0.5, 1.0], "y": [0.05, 0.15, 0.6, 0.9]}
    cells = cl.estimate_cells(score, score >= 0.5)
    out = derive.estimate(cells, calibration, ["roc_auc", "accuracy"], seed=1)
    prob = np.interp(score, calibration["x"], calibration["y"])
    assert out["roc_auc"].value == pytest.approx(expected_roc_auc(score, prob), abs=1e-3)
    correct = np.where(score >= 0.5, prob, 1 - prob)
    assert out["accuracy"].value == pytest.approx(correct.mean(), abs=1e-4)
    # The row bootstrap of the row-level estimate (200 resamples of these rows) gives 0.00063.
    assert out["roc_auc"].stderr == pytest.approx(0.00063, rel=0.25)


def test_segment_names_print_whole_floats_as_integers() -> None:
    # An integer segment column with NULLs reads as floats in pandas and as integers from the
    # database: both paths must name the segment "region=1".
    assert cl.segment_name("region", 1.0) == cl.segment_name("region", 1) == "region=1"
    assert cl.segment_name("region", np.float64(2.0)) == "region=2"
    assert cl.segment_name("region", 2.5) == "region=2.5"
    assert cl.segment_name("region", True) == "region=True"
    assert cl.segment_name("region", "north") == "region=north"
