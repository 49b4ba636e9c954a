"""Issue 13 item 2: a source whose shape changed is a critical data finding, never a crash.

Each case changes a small SQLite source the way a producer might (a dropped or renamed feature
column, text in a numeric column, a third label value for a binary model, a dropped label
table) and runs one window through the real stages: the run row is written, the window is not
ready with a ``readiness:schema`` critical finding naming the column, evaluation is inconclusive.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from gapwatch import store
from gapwatch.pipeline import run_window
from gapwatch.spec import MonitorSpec
from gapwatch.window import Window

pytestmark = [pytest.mark.hardening, pytest.mark.integration]

START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
WEEK = timedelta(days=7)
WINDOW = Window(START + 2 * WEEK, START + 3 * WEEK)


def _spec() -> MonitorSpec:
    return MonitorSpec.model_validate(
        {
            "name": "shape_feed",
            "version": "1",
            "task": "binary_classification",
            "owners": {
                "business_owner": {"name": "B", "email": "b@example.org"},
                "technical_owner": {"name": "T", "email": "t@example.org"},
                "data_steward": {"name": "Sam Steward", "email": "steward@example.org"},
            },
            "schedule": "0 0 * * 1",
            "start_date": "2026-03-02",
            "source": {"url_env": "SHAPE_FEED_URL"},
            "predictions": {
                "table": "preds", "id": "pid", "timestamp": "ts", "prediction": "label_pred", "score": "score",
                "features": [{"name": "x"}, {"name": "region", "kind": "categorical"}],
            },
            "ground_truth": {"table": "truth", "id": "pid", "label": "y", "arrived_at": "arrived", "delay": "7d"},
            "readiness": {"suite": "shape"},
            "metrics": [{"name": "roc_auc", "min_labels": 50}],
            "baseline": {"start": START.isoformat(), "end": (START + 2 * WEEK).isoformat()},
            "runbook_url": "https://runbooks.example.org/shape",
            "fallback": "manual review",
        }
    )


def _feed() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(5)
    n = 21 * 100
    ts = pd.Timestamp("2026-03-02") + pd.to_timedelta(np.sort(rng.uniform(0, 21 * 86400, n)), unit="s")
    x = rng.normal(size=n)
    score = 1 / (1 + np.exp(-x))
    preds = pd.DataFrame({"pid": [f"p{i}" for i in range(n)], "ts": ts, "x": x,
                          "region": np.where(np.arange(n) % 2 == 0, "north", "south"),
                          "score": score, "label_pred": (score >= 0.5).astype(int)})
    truth = pd.DataFrame({"pid": preds["pid"], "y": (score > 0.5).astype(int), "arrived": ts + pd.Timedelta(days=1)})
    return preds, truth


def _drop_x(preds: pd.DataFrame, truth: pd.DataFrame) -> None:
    del preds["x"]


def _rename_x(preds: pd.DataFrame, truth: pd.DataFrame) -> None:
    preds["x_v2"] = preds.pop("x")


def _text_in_x(preds: pd.DataFrame, truth: pd.DataFrame) -> None:
    preds["x"] = preds["x"].astype(object)
    preds.loc[preds.index[::10], "x"] = "n/a"


def _three_labels(preds: pd.DataFrame, truth: pd.DataFrame) -> None:
    truth.loc[truth.index[::7], "y"] = 2


CASES: dict[str, tuple[Callable[[pd.DataFrame, pd.DataFrame], None], bool, str]] = {
    "dropped feature column": (_drop_x, True, "column x: missing from table preds"),
    "renamed feature column": (_rename_x, True, "column x: missing from table preds"),
    "text in a numeric column": (_text_in_x, True, "value(s) are not numbers (declared numeric)"),
    "labels 0, 1, 2 for a binary model": (_three_labels, True, "column y: values [2] outside {0, 1}"),
    "dropped label table": (lambda p, t: None, False, "table truth: does not exist in the source"),
}


@pytest.fixture
def source(gapwatch_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'shape.db'}"
    monkeypatch.setenv("SHAPE_FEED_URL", url)
    suites = tmp_path / "expectations"
    suites.mkdir()
    monkeypatch.setenv("GAPWATCH_EXPECTATIONS_DIR", str(suites))
    (suites / "shape.json").write_text(json.dumps({"name": "shape", "expectations": [
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "score"}}]}))
    return url


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_changed_source_is_a_critical_schema_finding_and_a_run_row(source: str, case: str) -> None:
    change, with_truth, expected = CASES[case]
    preds, truth = _feed()
    change(preds, truth)
    engine = sa.create_engine(source)
    with engine.begin() as conn:
        preds.to_sql("preds", conn, index=False)
        if with_truth:
            truth.to_sql("truth", conn, index=False)
    engine.dispose()

    result = run_window(_spec(), WINDOW)

    assert result["status"] == "not_ready"
    with store.engine().connect() as conn:
        (run,) = store.rows(conn, sa.select(store.runs))
        incidents = store.rows(conn, sa.select(store.incidents))
    assert run["readiness"] == "not_ready"
    assert run["performance"] == "inconclusive" and run["drift"] == "inconclusive"
    (incident,) = [i for i in incidents if i["check"] == "readiness:schema"]
    assert incident["severity"] == "critical" and incident["kind"] == "data"
    failing = incident["evidence"]["failing_expectations"]
    assert any(expected in f for f in failing), failing


def test_an_unchanged_source_has_no_schema_finding(source: str) -> None:
    preds, truth = _feed()
    engine = sa.create_engine(source)
    with engine.begin() as conn:
        preds.to_sql("preds", conn, index=False)
        truth.to_sql("truth", conn, index=False)
    engine.dispose()

    result = run_window(_spec(), WINDOW)

    assert result["status"] != "not_ready"
    with store.engine().connect() as conn:
        incidents = store.rows(conn, sa.select(store.incidents))
    assert not [i for i in incidents if i["check"] == "readiness:schema"]
