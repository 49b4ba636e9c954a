"""Empty windows never crash evaluation, and a text column read as numbers says which and where."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from gapwatch.evaluation import assessment
from gapwatch.evaluation.estimate import calibration_map, estimate_binary
from gapwatch.evaluation.metrics import binary_metrics, multiclass_metrics, regression_metrics
from gapwatch.spec import MonitorSpec

ROOT = Path(__file__).resolve().parents[2]
EMPTY = np.array([], dtype=float)


def _spec(**changes) -> MonitorSpec:
    data = yaml.safe_load((ROOT / "include" / "monitors" / "credit_default.yml").read_text())
    data.update(changes)
    return MonitorSpec.model_validate(data)


def _frame(rng: np.random.Generator, n: int) -> pd.DataFrame:
    y = (rng.random(n) < 0.3).astype(float)
    score = 1 / (1 + np.exp(-(2 * (y - 0.5) + rng.normal(0, 1, n))))
    return pd.DataFrame({
        "prediction_id": np.arange(n).astype(str),
        "scored_at": pd.Timestamp("2026-01-05") + pd.to_timedelta(np.arange(n), "min"),
        "age": rng.integers(21, 75, n), "income": rng.lognormal(10, 0.4, n), "utilization": rng.beta(2, 3, n),
        "late_payments": rng.poisson(0.5, n).astype(float), "tenure_months": rng.gamma(2, 30, n),
        "region": rng.choice(["north", "south"], n), "score": score,
        "predicted_label": (score > 0.5).astype(int), "label": y,
    })


@pytest.fixture(scope="module")
def fitted() -> tuple[MonitorSpec, dict, pd.DataFrame]:
    spec = _spec()
    reference = _frame(np.random.default_rng(0), 6000)
    return spec, assessment.summarize_reference(spec, reference, reference), reference


# ---------------------------------------------------------------- the metric functions


def test_every_metric_function_answers_an_empty_window_with_no_value() -> None:
    binary = ["roc_auc", "pr_auc", "f1", "precision", "recall", "accuracy", "log_loss", "brier", "ece"]
    for values in (binary_metrics(EMPTY, EMPTY, EMPTY, binary),
                   multiclass_metrics(np.array([], dtype=object), np.array([], dtype=object),
                                      ["accuracy", "f1_macro", "f1_weighted"]),
                   regression_metrics(EMPTY, EMPTY, ["mae", "rmse", "mape", "r2"])):
        assert values and all(v.value is None and v.stderr is None and v.n == 0 for v in values.values())
    assert set(binary_metrics(EMPTY, EMPTY, EMPTY, binary)) == set(binary)


def test_the_estimate_of_an_empty_window_is_there_with_no_value() -> None:
    # It used to leave the metric out, and the caller failed with KeyError: 'roc_auc'.
    calibration = calibration_map(np.array([0.0, 1.0, 1.0]), np.array([0.1, 0.8, 0.9]))
    out = estimate_binary(EMPTY, EMPTY, calibration, ["roc_auc", "accuracy", "f1"])
    assert set(out) == {"roc_auc", "accuracy"}
    assert all(v.value is None and v.n == 0 for v in out.values())


# ---------------------------------------------------------------- the assessment


def test_a_cohort_with_no_rows_is_insufficient_with_no_data(fitted) -> None:
    spec, base, reference = fitted
    summary, rows = assessment.assess_performance(spec, reference.iloc[:0], base)
    assert (summary["status"], summary["reason"], summary["no_data"]) == ("insufficient", "no rows in the window", True)
    assert rows == [] and summary["labeled"] == 0 and summary["pending_share"] is None


def test_a_cohort_with_no_matured_labels_is_insufficient_with_no_data(fitted) -> None:
    spec, base, reference = fitted
    pending = reference.head(500).assign(label=np.nan)
    summary, rows = assessment.assess_performance(spec, pending, base)
    assert (summary["status"], summary["reason"], summary["no_data"]) == ("insufficient", "no matured labels", True)
    assert summary["pending"] == 500 and rows == []
    # A few labels is "not enough yet", not "no data".
    few = reference.head(500).assign(label=lambda f: f["label"].where(f.index < 20))
    summary, _ = assessment.assess_performance(spec, few, base)
    assert summary["status"] == "insufficient" and "no_data" not in summary and "min_labels" in summary["reason"]


def test_a_failed_readiness_gate_wins_over_no_data(fitted) -> None:
    spec, base, reference = fitted
    summary, _ = assessment.assess_performance(spec, reference.iloc[:0], base, gate="failed readiness")
    assert summary["status"] == "inconclusive" and "no_data" not in summary


def test_a_segment_with_no_rows_is_judged_insufficient(fitted) -> None:
    spec, base, reference = fitted
    cohort = reference.head(2000).copy()
    # A categorical column keeps its unused categories: the "west" segment has no rows at all.
    cohort["region"] = pd.Categorical(cohort["region"], categories=["north", "south", "west"])
    summary, rows = assessment.assess_performance(spec, cohort, base)
    west = [r for r in rows if r["segment"] == "region=west"]
    assert {r["metric"] for r in west} == {m.name for m in spec.metrics}
    assert all(r["n"] == 0 and r["value"] is None and r["status"] == "insufficient" for r in west)
    assert summary["status"] == "ok"


def test_the_estimate_of_an_empty_window_is_insufficient_with_no_data(fitted) -> None:
    spec, base, reference = fitted
    estimate = assessment.estimate_performance(spec, reference.iloc[:0], base)
    assert (estimate["status"], estimate["reason"], estimate["no_data"]) == (
        "insufficient", "no rows in the window", True)
    # Rows whose scores are all missing: still no KeyError, and not judged: not computable (issue
    # 13), with the reason, never "insufficient" as if a few more rows would do.
    blank = assessment.estimate_performance(spec, reference.head(400).assign(score=np.nan), base)
    assert blank["status"] == "not_computable" and blank["row"]["value"] is None
    assert "only 0 of 400 rows have a finite label, prediction and score" in blank["row"]["reason"]


def test_drift_on_an_empty_window_is_insufficient_not_healthy(fitted) -> None:
    spec, base, reference = fitted
    summary, results = assessment.assess_drift(spec, reference.iloc[:0], base)
    assert (summary["status"], summary["reason"], summary["no_data"]) == ("insufficient", "no rows in the window", True)
    assert results == [] and summary["drifted"] == []


def test_a_baseline_without_labels_still_summarises(fitted) -> None:
    spec, _, reference = fitted
    base = assessment.summarize_reference(spec, reference, reference.iloc[:0])
    assert base["metrics"]["roc_auc"]["value"] is None and base["metrics"]["roc_auc"]["spread_n"] is None
    summary, _ = assessment.assess_performance(spec, reference.head(1000), base)
    assert summary["metrics"]["roc_auc"]["threshold"] == 0.74  # only the floor can be computed


# ---------------------------------------------------------------- text in a numeric column


def test_a_text_column_declared_numeric_names_the_column_and_the_spec_field(fitted) -> None:
    spec, base, reference = fitted
    features = [{"name": f} for f in ("age", "income", "utilization", "late_payments", "tenure_months")]
    wrong = _spec(predictions={**spec.predictions.model_dump(exclude={"features"}),
                               "features": [*features, {"name": "region"}]})  # region left as numeric
    for call in (lambda: assessment.summarize_reference(wrong, reference, reference),
                 lambda: assessment.assess_drift(wrong, reference, base),
                 lambda: assessment.estimate_performance(wrong, reference, base),
                 lambda: assessment.assess_performance(wrong, reference, base)):
        with pytest.raises(ValueError) as err:
            call()
        message = str(err.value)
        assert "column 'region'" in message and "predictions.features[5].kind" in message, message
        assert "e.g. 'north'" in message or "e.g. 'south'" in message
        assert "kind: categorical" in message


def test_binary_labels_as_text_name_the_label_field_and_numbers_as_text_are_read(fitted) -> None:
    spec, base, reference = fitted
    words = reference.head(1000).assign(label=lambda f: f["label"].map({1.0: "yes", 0.0: "no"}))
    with pytest.raises(ValueError, match="column 'label' holds text .* ground_truth.label"):
        assessment.assess_performance(spec, words, base)
    # Digits stored as text (a DECIMAL or VARCHAR column) are numbers, not an error.
    digits = reference.head(1000).assign(income=lambda f: f["income"].round(2).astype(str))
    summary, _ = assessment.assess_drift(spec, digits, base)
    assert summary["status"] in {"ok", "drift"}


def test_a_pii_column_never_shows_its_values_in_the_error(fitted) -> None:
    spec, _, reference = fitted
    preds = spec.predictions.model_dump()
    preds["features"] = [*preds["features"], {"name": "customer_email", "pii": True}]
    preds["score"] = "customer_email"  # nonsense on purpose: a PII column read as numbers
    wrong = _spec(predictions=preds)
    frame = reference.head(100).assign(customer_email="ana@example.com")
    with pytest.raises(ValueError) as err:
        assessment.estimate_performance(wrong, frame, {"calibration": {}, "statistics": {}, "metrics": {}})
    assert "customer_email" in str(err.value) and "ana@example.com" not in str(err.value)
