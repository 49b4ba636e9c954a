from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import f1_score, mean_absolute_error, roc_auc_score

from gapwatch.evaluation import (
    MetricValue,
    binary_metrics,
    is_breach,
    regression_metrics,
    threshold_for,
)


def test_binary_metrics_match_sklearn_and_carry_an_error() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 1000)
    score = np.clip(y * 0.3 + rng.uniform(0, 0.7, 1000), 0, 1)
    pred = (score >= 0.5).astype(int)
    out = binary_metrics(y, pred, score, ["roc_auc", "f1", "accuracy"])
    assert out["roc_auc"].value == pytest.approx(roc_auc_score(y, score))
    assert out["f1"].value == pytest.approx(f1_score(y, pred))
    assert out["accuracy"].value == pytest.approx((y == pred).mean())
    assert 0 < out["roc_auc"].stderr < 0.05


def test_auc_stderr_hanley_mcneil_hand_worked() -> None:
    # By hand: A=0.8, Q1=A/(2-A)=0.6667, Q2=2A^2/(1+A)=0.7111, 50 positives and 50 negatives:
    # var = (0.16 + 49*(0.6667-0.64) + 49*(0.7111-0.64)) / 2500 = 0.0019804 -> SE 0.04450
    from gapwatch.evaluation import _auc_stderr

    assert _auc_stderr(0.8, 50, 50) == pytest.approx(0.04450, abs=5e-5)


def test_single_class_window_has_no_auc_instead_of_crashing() -> None:
    out = binary_metrics(np.ones(10), np.ones(10), np.linspace(0, 1, 10), ["roc_auc"])
    assert out["roc_auc"].value is None


def test_regression_metrics() -> None:
    y = np.array([10.0, 20.0, 30.0, 40.0])
    p = np.array([12.0, 18.0, 33.0, 40.0])
    out = regression_metrics(y, p, ["mae", "rmse"])
    assert out["mae"].value == pytest.approx(mean_absolute_error(y, p))
    assert out["rmse"].value == pytest.approx(math.sqrt(np.mean((y - p) ** 2)))


def test_threshold_takes_the_stricter_limit() -> None:
    assert threshold_for(True, 0.74, 0.05, 0.83) == pytest.approx(0.78)
    assert threshold_for(True, 0.80, 0.05, 0.83) == pytest.approx(0.80)
    assert threshold_for(False, 12.0, 1.0, 10.0) == pytest.approx(11.0)
    assert threshold_for(True, None, None, 0.8) is None


def test_breach_only_beyond_the_sampling_error() -> None:
    noisy = MetricValue("roc_auc", 0.76, 0.02, 300)
    clear = MetricValue("roc_auc", 0.70, 0.01, 3000)
    assert not is_breach(noisy, 0.78, True, 1.96)
    assert is_breach(clear, 0.78, True, 1.96)
    assert is_breach(MetricValue("mae", 15.0, 0.5, 500), 11.0, False, 1.96)
