"""The evaluation core on other model kinds and baselines: multiclass, a reference table, spread."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
import yaml

from gapwatch import baseline
from gapwatch.evaluation import assessment
from gapwatch.spec import MonitorSpec

ROOT = Path(__file__).resolve().parents[2]


def _spec(**changes) -> MonitorSpec:
    data = yaml.safe_load((ROOT / "include" / "monitors" / "credit_default.yml").read_text())
    data.update(changes)
    return MonitorSpec.model_validate(data)


def _frame(rng: np.random.Generator, n: int, accuracy: float) -> pd.DataFrame:
    truth = rng.choice(["low", "mid", "high"], n)
    pred = np.where(rng.random(n) < accuracy, truth, rng.choice(["low", "mid", "high"], n))
    return pd.DataFrame({
        "scored_at": pd.Timestamp("2026-01-05") + pd.to_timedelta(np.arange(n), "min"),
        "age": rng.integers(21, 75, n), "income": rng.lognormal(10, 0.4, n), "utilization": rng.beta(2, 3, n),
        "late_payments": rng.poisson(0.5, n), "tenure_months": rng.gamma(2, 30, n),
        "region": rng.choice(["north", "south"], n), "predicted_label": pred, "label": truth,
    })


def test_a_multiclass_monitor_gets_every_metric_per_segment_and_prediction_drift() -> None:
    preds = yaml.safe_load((ROOT / "include" / "monitors" / "credit_default.yml").read_text())["predictions"]
    preds.pop("score")
    spec = _spec(task="multiclass_classification", predictions=preds,
                 metrics=[{"name": "f1_macro", "max_drop": 0.05, "min_labels": 100},
                          {"name": "accuracy"}, {"name": "f1_weighted"}])
    rng = np.random.default_rng(0)
    reference = _frame(rng, 4000, 0.8)
    base = assessment.summarize_reference(spec, reference, reference)
    assert base["metrics"]["f1_macro"]["spread_std"] is not None and "calibration" not in base

    summary, rows = assessment.assess_performance(spec, _frame(rng, 2000, 0.5), base)
    assert summary["status"] == "breach" and summary["metrics"]["f1_macro"]["value"] < 0.7
    assert {(r["segment"], r["metric"]) for r in rows} >= {
        ("region=north", "f1_weighted"), ("region=south", "accuracy"), ("*", "f1_macro")}
    assert assessment.estimate_performance(spec, reference, base)["status"] == "not_applicable"
    drift, _ = assessment.assess_drift(spec, reference, base)
    assert "predicted_label.psi" in drift["values"]  # the prediction distribution, as categories


def test_spread_threshold_comes_from_the_baseline_sub_windows() -> None:
    spec = _spec(metrics=[{"name": "roc_auc", "spread_k": 2.0}])
    entry = {"value": 0.8, "spread_mean": 0.81, "spread_std": 0.01}
    assert assessment.metric_threshold(spec.main_metric, {"roc_auc": entry}) == pytest.approx(0.79)


def test_fewer_matured_labels_than_min_labels_is_not_enough_labels_never_an_alarm() -> None:
    spec = _spec()
    rng = np.random.default_rng(1)
    cohort = pd.DataFrame({"score": rng.random(1000), "predicted_label": 0, "region": "north",
                           "label": np.where(rng.random(1000) < 0.2, 0.0, np.nan)})
    summary, rows = assessment.assess_performance(spec, cohort, {"metrics": {}})
    assert summary["status"] == "insufficient" and rows == []
    assert summary["pending"] == 1000 - summary["labeled"] and summary["pending_share"] > 0.7


def test_baseline_from_a_reference_table(gapwatch_home, tmp_path, monkeypatch) -> None:
    url = f"sqlite:///{tmp_path / 'source.db'}"
    monkeypatch.setenv("GAPWATCH_DEMO_SOURCE_URL", url)
    rng = np.random.default_rng(2)
    n = 3000
    score = rng.random(n)
    test_set = pd.DataFrame({
        "prediction_id": np.arange(n).astype(str), "scored_at": pd.Timestamp("2025-12-01"),
        "age": rng.integers(21, 75, n), "income": rng.lognormal(10, 0.4, n), "utilization": rng.beta(2, 3, n),
        "late_payments": rng.poisson(0.5, n), "tenure_months": rng.gamma(2, 30, n),
        "region": rng.choice(["north", "south"], n), "score": score,
        "predicted_label": (score > 0.5).astype(int), "defaulted": (rng.random(n) < score).astype(int),
    })
    test_set.to_sql("credit_test_set", sa.create_engine(url), index=False)
    readiness = {"suite": "credit_default_inputs", "volume": {"enabled": False}}
    spec = _spec(baseline={"table": "credit_test_set", "sub_windows": 5}, readiness=readiness)
    base = baseline.ensure(spec)
    assert base["statistics"]["utilization"]["n"] == n
    assert base["metrics"]["roc_auc"]["value"] == pytest.approx(0.83, abs=0.03)
    assert len(base["metrics"]["roc_auc"]["spread_values"]) == 5
    assert baseline.load(spec)["calibration"] == base["calibration"]  # stored once, read back


def test_a_cohort_straddling_a_broken_window_is_not_judged(gapwatch_home) -> None:
    # Daily windows and a 36h label delay: the cohort overlaps two windows; one failed readiness.
    from datetime import UTC, datetime, timedelta

    from gapwatch import store
    from gapwatch.pipeline import _cohort_data_broken
    from gapwatch.window import Window

    spec = _spec()
    day = datetime(2026, 1, 1, tzinfo=UTC)
    with store.engine().begin() as conn:
        for k, readiness in enumerate(["ready", "not_ready", "ready", "ready"]):
            start = day + timedelta(days=k)
            conn.execute(store.runs.insert().values(
                monitor=spec.name, window_start=start, window_end=start + timedelta(days=1),
                status="healthy" if readiness == "ready" else "not_ready", readiness=readiness,
                updated_at=start))
    delay = timedelta(hours=36)
    straddling = Window(day + timedelta(days=2), day + timedelta(days=3)).shifted(delay)  # Jan 1 12h - Jan 2 12h
    later = Window(day + timedelta(days=4), day + timedelta(days=5)).shifted(delay)  # Jan 3 12h - Jan 4 12h
    assert _cohort_data_broken(spec, straddling)
    assert not _cohort_data_broken(spec, later)


def test_columns_named_in_predictions_pii_columns_are_never_summarised() -> None:
    # PII has one definition (spec.pii_columns): a feature listed under predictions.pii_columns
    # is PII even without `pii: true`, so its values never become bin edges or a PCA model.
    data = yaml.safe_load((ROOT / "include" / "monitors" / "credit_default.yml").read_text())
    data["predictions"]["pii_columns"] = ["customer_email", "income"]
    spec = _spec(predictions=data["predictions"], drift={**data["drift"], "multivariate": True})
    assert "income" in spec.pii_columns and not next(f for f in spec.predictions.features if f.name == "income").pii
    assert "income" not in assessment.drift_columns(spec) and "age" in assessment.drift_columns(spec)
    rng = np.random.default_rng(3)
    n = 500
    score = rng.random(n)
    frame = pd.DataFrame({
        "scored_at": pd.Timestamp("2026-01-05") + pd.to_timedelta(np.arange(n), "min"),
        "age": rng.integers(21, 75, n), "income": rng.lognormal(10, 0.4, n), "utilization": rng.beta(2, 3, n),
        "late_payments": rng.poisson(0.5, n), "tenure_months": rng.gamma(2, 30, n),
        "region": rng.choice(["north", "south"], n), "score": score, "predicted_label": (score > 0.5).astype(int),
        "label": (rng.random(n) < score).astype(float),
    })
    summary = assessment.summarize_reference(spec, frame, frame)
    assert "income" not in summary["statistics"] and "age" in summary["statistics"]
    assert "income" not in summary["multivariate"]["columns"] and "age" in summary["multivariate"]["columns"]
