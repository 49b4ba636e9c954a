"""Could not compute is not health (issue 13 item 1): a metric without a value and a drift value
without a value get ``not_computable`` with their reason, on the real evaluation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_empty_windows import _frame, _spec

from gapwatch import policy
from gapwatch.catalog import RunStatus, Verdict
from gapwatch.evaluation import assessment


@pytest.fixture(scope="module")
def fitted():
    spec = _spec()
    reference = _frame(np.random.default_rng(0), 6000)
    return spec, assessment.summarize_reference(spec, reference, reference), reference


def _judge(spec, base, cohort: pd.DataFrame, window: pd.DataFrame | None = None):
    performance, _ = assessment.assess_performance(spec, cohort, base)
    performance["cohort_start"] = "2026-01-05"
    performance["estimate"] = {"status": "not_applicable"}
    drift, _ = assessment.assess_drift(spec, cohort if window is None else window, base)
    readiness = {"ready": True, "critical_failures": [], "warnings": [], "rows": len(cohort)}
    return performance, drift, policy.run_status(readiness, performance, drift)


def test_all_labels_one_class_makes_roc_auc_not_computable(fitted) -> None:
    spec, base, reference = fitted
    cohort = reference.head(1000).assign(label=1.0)  # every label became 1
    performance, _, status = _judge(spec, base, cohort)
    row = performance["metrics"]["roc_auc"]
    assert row["status"] == Verdict.NOT_COMPUTABLE and row["value"] is None
    assert row["reason"] == "roc_auc not computable: all 1000 matured labels are 1.0 (one class only)"
    assert performance["status"] == Verdict.NOT_COMPUTABLE
    assert status is RunStatus.NOT_COMPUTABLE  # never healthy


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_unusable_scores_make_score_metrics_not_computable(fitted, bad) -> None:
    spec, base, reference = fitted
    cohort = reference.head(1000).assign(score=bad)
    performance, drift, status = _judge(spec, base, cohort)
    row = performance["metrics"]["roc_auc"]
    assert row["status"] == Verdict.NOT_COMPUTABLE
    assert "only 0 of 1000 rows have a finite label, prediction and score" in row["reason"]
    # accuracy needs no score: still judged
    assert performance["metrics"]["accuracy"]["status"] in (Verdict.OK, Verdict.BREACH)
    assert "score" in drift["not_computable"] and drift["status"] == Verdict.NOT_COMPUTABLE
    assert status is RunStatus.NOT_COMPUTABLE


def test_null_predictions_make_label_metrics_not_computable(fitted) -> None:
    spec, base, reference = fitted
    cohort = reference.head(1000).assign(predicted_label=np.nan)
    performance, _, _ = _judge(spec, base, cohort)
    assert performance["metrics"]["accuracy"]["status"] == Verdict.NOT_COMPUTABLE
    assert "only 0 of 1000 rows have a finite label, prediction" in performance["metrics"]["accuracy"]["reason"]
    assert performance["status"] == Verdict.NOT_COMPUTABLE


def test_an_all_null_feature_is_not_computable_drift(fitted) -> None:
    spec, base, reference = fitted
    window = reference.head(2000).assign(income=np.nan)
    drift, _ = assessment.assess_drift(spec, window, base)
    assert drift["not_computable"] == ["income"]
    assert drift["status"] in (Verdict.NOT_COMPUTABLE, "drift")
    findings = {f["check"]: f for f in policy.decide(
        spec, {"ready": True, "critical_failures": [], "warnings": [], "rows": 2000},
        {"status": "ok", "metrics": {}, "segments": [], "labeled": 0, "pending": 0, "cohort_start": "x"}, drift)}
    assert findings["drift"]["evidence"]["not_computable"] == ["income"]
    healthy, _ = assessment.assess_drift(spec, reference.head(2000), base)
    assert healthy["not_computable"] == [] and healthy["status"] == "ok"


def test_a_few_rows_of_a_segment_stay_insufficient_not_uncomputable(fitted) -> None:
    spec, base, reference = fitted
    performance, rows = assessment.assess_performance(spec, reference.head(30).assign(label=1.0), base)
    assert performance["status"] == "insufficient"  # below min_labels: too few, not broken
    assert rows == []


# ---------------------------------------------------------------- the built-in value checks


def test_builtin_checks_catch_unusable_scores_predictions_and_timestamps(fitted) -> None:
    from gapwatch.readiness.checks import apply_severity, value_entries
    from gapwatch.readiness.suite import validate_suite

    spec, _, reference = fitted
    window = reference.head(1000).copy()
    window.loc[:99, "score"] = np.nan  # 100 NULL scores
    window.loc[100:104, "score"] = np.inf  # 5 infinite
    window.loc[105:106, "score"] = 1.7  # 2 out of range
    window["predicted_label"] = window["predicted_label"].astype(float)
    window.loc[200:202, "predicted_label"] = np.nan  # 3 NULL predictions
    window.loc[300, "scored_at"] = pd.NaT  # 1 NULL timestamp
    entries = apply_severity(spec, value_entries(spec))
    result = validate_suite({"name": "builtin", "expectations": entries}, dataframe=window).result
    failing = {(o.check, o.expectation_type): o for o in result.critical_failures}
    assert set(failing) == {
        ("scores", "expect_column_values_to_not_be_null"), ("scores", "expect_column_values_to_be_between"),
        ("predictions", "expect_column_values_to_not_be_null"), ("timestamps", "expect_column_values_to_not_be_null"),
    }
    # Each says how many rows (today they were dropped without a word).
    assert "[100 rows]" in failing[("scores", "expect_column_values_to_not_be_null")].description
    assert "[7 rows]" in failing[("scores", "expect_column_values_to_be_between")].description
    assert "[3 rows]" in failing[("predictions", "expect_column_values_to_not_be_null")].description
    assert "[1 row]" in failing[("timestamps", "expect_column_values_to_not_be_null")].description
    clean = validate_suite({"name": "builtin", "expectations": entries}, dataframe=reference.head(1000)).result
    assert clean.success
