"""A baseline from a schema-qualified reference table (``schema.table``) on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
import yaml

from gapwatch import baseline, sources
from gapwatch.spec import MonitorSpec

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]


def test_a_reference_table_in_another_schema_is_read_as_schema_and_table(
    gapwatch_home: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    n = 2000
    rng = np.random.default_rng(5)
    score = rng.random(n)
    test_set = pd.DataFrame({
        "prediction_id": np.arange(n).astype(str), "scored_at": pd.Timestamp("2025-12-01"),
        "age": rng.integers(21, 75, n), "income": rng.lognormal(10, 0.4, n), "utilization": rng.beta(2, 3, n),
        "late_payments": rng.poisson(0.5, n), "tenure_months": rng.gamma(2, 30, n),
        "region": rng.choice(["north", "south"], n), "score": score,
        "predicted_label": (score > 0.5).astype(int), "defaulted": (rng.random(n) < score).astype(int),
    })
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE SCHEMA validation"))
    test_set.to_sql("credit_test_set", engine, schema="validation", index=False)
    engine.dispose()
    monkeypatch.setenv("GAPWATCH_DEMO_SOURCE_URL", pg_url)
    data = yaml.safe_load((ROOT / "include" / "monitors" / "credit_default.yml").read_text())
    data["baseline"] = {"table": "validation.credit_test_set", "sub_windows": 4}
    data["readiness"]["volume"] = {"enabled": False}
    spec = MonitorSpec.model_validate(data)
    try:
        summary = baseline.ensure(spec)
    finally:
        sources.source_engine(pg_url).dispose()  # the database is dropped after the test
    assert summary["statistics"]["utilization"]["n"] == n
    assert summary["metrics"]["roc_auc"]["value"] == pytest.approx(0.83, abs=0.04)
    assert baseline.stored(spec) == summary


@pytest.mark.parametrize("compute_in", ["memory", "database"])
def test_a_reference_table_without_timestamps_is_sliced_in_id_order_on_both_paths(
    gapwatch_home: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch, compute_in: str
) -> None:
    n = 1200
    rng = np.random.default_rng(6)
    score = rng.random(n)
    test_set = pd.DataFrame({  # a test set: no scored_at column
        "prediction_id": np.arange(n), "age": rng.integers(21, 75, n), "income": rng.lognormal(10, 0.4, n),
        "utilization": rng.beta(2, 3, n), "late_payments": rng.poisson(0.5, n),
        "tenure_months": rng.gamma(2, 30, n), "region": rng.choice(["north", "south"], n), "score": score,
        "predicted_label": (score > 0.5).astype(int), "defaulted": (rng.random(n) < score).astype(int),
    })
    test_set.to_sql("credit_test_set", pg_url, index=False)
    monkeypatch.setenv("GAPWATCH_DEMO_SOURCE_URL", pg_url)
    data = yaml.safe_load((ROOT / "include" / "monitors" / "credit_default.yml").read_text())
    data["baseline"] = {"table": "credit_test_set", "sub_windows": 4}
    data["compute_in"] = compute_in
    data["readiness"]["volume"] = {"enabled": False}
    data["drift"]["threshold"] = "auto"  # reads the slices
    spec = MonitorSpec.model_validate(data)
    try:
        summary = baseline.compute(spec)
    finally:
        sources.source_engine(pg_url).dispose()
    assert summary["statistics"]["utilization"]["n"] == n
    assert summary["metrics"]["roc_auc"]["value"] == pytest.approx(0.83, abs=0.05)
    assert summary["drift_thresholds"]["utilization"]["psi"] > 0
