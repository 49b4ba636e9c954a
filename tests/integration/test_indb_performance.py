"""The database path's performance cells equal the memory path's on the same rows.

The same generated rows are loaded into SQLite and PostgreSQL (pandas ``to_sql``); the memory
path reads them as the pipeline does (``sources.read_matured``) and builds its cells with numpy.
Counts must be equal, sums within 1e-9 relative (the database adds them in another order), and so
the judged metric rows equal. Rows are awkward on purpose: scores on bucket and ECE edges, 0 and
1, missing scores, predictions and labels, pending labels, a segment value with NULL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from gapwatch import sources
from gapwatch.evaluation import assessment
from gapwatch.evaluation import cells as cl
from gapwatch.indb import performance, selection
from gapwatch.spec import MonitorSpec

pytestmark = pytest.mark.integration

START = datetime(2026, 3, 2, tzinfo=UTC)
END = START + timedelta(days=7)
AS_OF = START + timedelta(days=30)
N = 3000
METRICS = {
    "binary_classification": ["roc_auc", "pr_auc", "f1", "precision", "recall", "accuracy", "log_loss",
                              "brier", "ece"],
    "multiclass_classification": ["accuracy", "f1_macro", "f1_weighted"],
    "regression": ["mae", "rmse", "mape", "r2"],
}


def _spec(task: str) -> MonitorSpec:
    person = {"name": "Perf Owner", "email": "perf@example.com"}
    return MonitorSpec.model_validate({
        "name": "perf", "version": "1", "task": task,
        "owners": {"business_owner": person, "technical_owner": person, "data_steward": person},
        "schedule": "0 0 * * 1", "start_date": "2026-03-02", "source": {"url_env": "GW_PERF_URL"},
        "predictions": {"table": "preds", "id": "id", "timestamp": "ts", "prediction": "pred",
                        "score": "score" if task == "binary_classification" else None,
                        "features": ["x", {"name": "region", "kind": "categorical"}]},
        "ground_truth": {"table": "truth", "id": "id", "label": "y", "arrived_at": "arrived", "delay": "7d"},
        "segments": ["region"],
        "readiness": {"suite": "none"},
        "metrics": [{"name": m, "min_labels": 10} for m in METRICS[task]],
        "baseline": {"start": "2026-03-02", "end": "2026-03-09", "sub_windows": 4},
        "runbook_url": "https://runbooks.example.com/perf", "fallback": "none",
    })


def _rows(task: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(7)
    ts = START + pd.to_timedelta(np.sort(rng.choice(7 * 86400, N, replace=False)), "s")
    region = rng.choice(np.array(["north", "south", "east", None], dtype=object), N, p=[0.4, 0.3, 0.25, 0.05])
    x = rng.normal(size=N)
    x[70:75], x[75:80] = np.inf, -np.inf  # beyond any baseline's range: unsupported on both paths
    if task == "binary_classification":
        score = np.round(rng.beta(2, 3, N), 4)
        score[:40] = np.tile([0.0, 1.0, 0.1, 0.3, 0.5, 0.7, 0.0005, 0.9995], 5)  # edges, 0 and 1
        score[40:60] = np.nan
        truth = (rng.random(N) < score).astype(float)
        pred = (score >= 0.4).astype(float)
        pred[60:70] = np.nan
        preds = pd.DataFrame({"score": score, "pred": pred})
    elif task == "multiclass_classification":
        truth = rng.choice(np.array(["cat", "dog", "owl"], dtype=object), N)
        pred = np.where(rng.random(N) < 0.7, truth, rng.choice(np.array(["cat", "dog", "yak"], dtype=object), N))
        pred[60:70] = None
        preds = pd.DataFrame({"pred": pred})
    else:
        truth = np.round(rng.gamma(3, 10, N), 2)
        truth[:5] = 0.0  # MAPE's eps floor
        pred = truth + rng.normal(0, 4, N)
        pred[60:70] = np.nan
        pred[70:72] = 1e200  # y^4 and e^4 overflow a double: not usable, on both paths
        preds = pd.DataFrame({"pred": pred})
    preds.insert(0, "id", np.arange(N))
    preds.insert(1, "ts", ts.tz_localize(None))
    preds["x"], preds["region"] = x, region
    arrived = (ts + pd.Timedelta(days=2)).tz_localize(None)
    labels = pd.DataFrame({"id": np.arange(N), "y": truth, "arrived": arrived})
    labels = labels.iloc[: N - 300]  # the last 300 predictions are still pending
    labels.loc[labels.index[100:110], "y"] = None  # a label row with no value
    return preds, labels


@pytest.fixture
def backend(source_url: str, monkeypatch) -> Any:
    url = source_url
    monkeypatch.setenv("GW_PERF_URL", url)

    def load(task: str, *, booleans: bool = False, integer_classes: bool = False) -> tuple[MonitorSpec, sources.Source]:
        preds, labels = _rows(task)
        if integer_classes:  # class ids: INTEGER predictions; labels with NULLs, so pandas floats
            ids = {"cat": 0, "dog": 1, "owl": 2, "yak": 3}
            preds["pred"] = preds["pred"].map(ids).astype("Int64")
            labels["y"] = labels["y"].map(ids).astype(float)
        if booleans:  # label, prediction and the segment column stored as (nullable) BOOLEAN columns
            preds["pred"] = preds["pred"].astype("boolean")
            labels["y"] = labels["y"].astype("boolean")
            preds["region"] = preds["region"].map({"north": True, "south": False, "east": False}).astype("boolean")
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            preds.to_sql("preds", conn, index=False, if_exists="replace")
            labels.to_sql("truth", conn, index=False, if_exists="replace")
        engine.dispose()
        spec = _spec(task)
        return spec, sources.Source(spec)

    return load


def _assert_same(db: cl.Cells, memory: cl.Cells) -> None:
    db, memory = db.canonical(), memory.canonical()
    assert db.kind == memory.kind and len(db) == len(memory) > 0
    for key in cl.KEYS[db.kind]:
        assert list(db.keys[key]) == list(memory.keys[key]), key
    assert (db.sums["n"] == memory.sums["n"]).all()
    for name in cl.SUMS[db.kind][1:]:
        np.testing.assert_allclose(db.sums[name], memory.sums[name], rtol=1e-9, atol=1e-9, err_msg=name)


def _memory_labeled(spec: MonitorSpec, src: sources.Source) -> pd.DataFrame:
    cohort = sources.read_matured(spec, START, END, as_of=AS_OF, source=src)
    return assessment.numeric_checked(spec, cohort.dropna(subset=["label"]))


@pytest.mark.parametrize("task", list(METRICS))
def test_cohort_cells_and_metric_rows_equal_the_memory_path(backend, task: str) -> None:
    spec, src = backend(task)
    sel = selection.cohort(spec, src, START, END, AS_OF)
    before = selection.FETCHED.rows
    in_db = performance.cohort_cells(sel, spec)
    fetched = selection.FETCHED.rows - before
    labeled = _memory_labeled(spec, src)
    memory = cl.from_frame(spec, labeled)
    assert list(in_db) == list(memory) == ["*", "region=east", "region=north", "region=south"]
    for segment in memory:
        _assert_same(in_db[segment], memory[segment])
    # Only cells crossed: the segment column's groups (the NULL one too), never the rows.
    assert sum(len(in_db[s]) for s in in_db if s != "*") <= fetched <= 4 * len(in_db["*"])
    assert performance.label_counts(sel) == (len(labeled), N - len(labeled))

    base = assessment.summarize_reference(spec, labeled, labeled)
    db_summary, db_rows = assessment.performance_from_cells(spec, in_db, base, labeled=len(labeled),
                                                            pending=N - len(labeled))
    mem_summary, mem_rows = assessment.assess_performance(
        spec, sources.read_matured(spec, START, END, as_of=AS_OF, source=src), base)
    assert db_summary["status"] == mem_summary["status"] and len(db_rows) == len(mem_rows)
    for a, b in zip(db_rows, mem_rows, strict=True):
        assert (a["segment"], a["metric"], a["status"], a["n"]) == (b["segment"], b["metric"], b["status"], b["n"])
        assert a["value"] == pytest.approx(b["value"], rel=1e-9)
        assert a["stderr"] == pytest.approx(b["stderr"], rel=1e-6)


@pytest.mark.parametrize("task", list(METRICS))
def test_reference_slices_equal_the_memory_path(backend, task: str) -> None:
    spec, src = backend(task)
    everything, labeled_sel = selection.reference(spec, src)
    slices = performance.reference_performance_cells(labeled_sel, spec)
    with src.engine.connect() as conn:
        labeled = pd.read_sql(sa.select(labeled_sel.subquery), conn)
    labeled = assessment.numeric_checked(spec, labeled.drop(columns=["gw_slice"]))
    memory = cl.slice_cells(spec, labeled)
    assert len(slices) == len(memory) == 4
    for db, mem in zip(slices, memory, strict=True):
        _assert_same(db, mem)
    db_ref = assessment.reference_performance(spec, slices)
    mem_ref = assessment.reference_performance(spec, memory)
    for name, entry in mem_ref["metrics"].items():
        assert db_ref["metrics"][name]["value"] == pytest.approx(entry["value"], rel=1e-9)
        assert db_ref["metrics"][name]["spread_values"] == pytest.approx(entry["spread_values"], rel=1e-9)
    if task == "binary_classification":
        for axis in ("x", "y"):
            assert db_ref["calibration"][axis] == pytest.approx(mem_ref["calibration"][axis], rel=1e-9)
        assert db_ref["prior"] == mem_ref["prior"]


def test_estimate_cells_equal_the_memory_path(backend) -> None:
    spec, src = backend("binary_classification")
    window = sources.read_window(spec, START, END, source=src)
    labeled = _memory_labeled(spec, src)
    base = assessment.summarize_reference(spec, labeled.iloc[:1500], labeled.iloc[:1500])
    sel = selection.window(spec, src, START, END)
    in_db = performance.estimate_cells(sel, spec, base)
    frame = assessment.numeric_checked(spec, window)
    from gapwatch.evaluation.drift import outside_support

    outside = outside_support(frame, base["statistics"])
    assert 0 < outside.sum() < len(frame)  # some rows are beyond the first half's range
    memory = cl.estimate_cells(frame["score"].to_numpy(dtype=float, na_value=np.nan),
                               frame["pred"].to_numpy(dtype=float, na_value=np.nan), outside)
    _assert_same(in_db, memory)
    db_est = assessment.estimate_from_cells(spec, in_db, base)
    mem_est = assessment.estimate_performance(spec, window, base)
    assert db_est["row"]["value"] == pytest.approx(mem_est["row"]["value"], rel=1e-9)
    assert db_est["unsupported_share"] == mem_est["unsupported_share"] and db_est["rows"] == N


def test_boolean_labels_and_predictions_are_read_as_0_and_1(backend) -> None:
    """A warehouse's binary label is often a BOOLEAN column: PostgreSQL refuses to CAST it to a
    float or compare it with 0 and 1, so the database path reads it as 0/1, as pandas does."""
    spec, src = backend("binary_classification", booleans=True)
    assert sources.boolean_columns(src, "truth") == {"y"} and "pred" in sources.boolean_columns(src, "preds")
    sel = selection.cohort(spec, src, START, END, AS_OF)
    # The tables are reflected once per source: building the run's other selections asks nothing.
    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    sa.event.listen(src.engine, "before_cursor_execute", seen)
    try:
        selection.cohort(spec, src, START, END, AS_OF)
        selection.window(spec, src, START, END)
    finally:
        sa.event.remove(src.engine, "before_cursor_execute", seen)
    assert statements == []
    in_db = performance.cohort_cells(sel, spec)
    labeled = _memory_labeled(spec, src)
    memory = cl.from_frame(spec, labeled)
    # A boolean segment keeps its values: the same segment names on both paths (False/True on
    # PostgreSQL; SQLite stores booleans as 0/1, and both paths read those).
    assert list(in_db) == list(memory) and len(memory) == 3
    assert src.engine.dialect.name == "sqlite" or list(memory) == ["*", "region=False", "region=True"]
    for segment in memory:
        _assert_same(in_db[segment], memory[segment])
    assert performance.label_counts(sel) == (len(labeled), N - len(labeled))
    # The extract's screen counts the labels outside {0, 1}: none (True and False are 1 and 0).
    assert performance.screen(sel, label="label", binary="label") == {"rows": N, "nonnull": len(labeled), "outside": 0}
    window = selection.window(spec, src, START, END)
    estimate = performance.estimate_cells(window, spec, assessment.summarize_reference(spec, labeled, labeled))
    assert int(estimate.sums["n"].sum()) == N


def test_integer_class_ids_match_across_an_integer_and_a_float_column(backend) -> None:
    """Class 1 is class 1 whether its column is INTEGER or holds floats (a label column with
    NULLs: pandas reads it as floats, SQLite's to_sql stores REAL): both paths name it "1"."""
    spec, src = backend("multiclass_classification", integer_classes=True)
    sel = selection.cohort(spec, src, START, END, AS_OF)
    in_db = performance.cohort_cells(sel, spec)
    labeled = _memory_labeled(spec, src)
    memory = cl.from_frame(spec, labeled)
    for segment in memory:
        _assert_same(in_db[segment], memory[segment])
    assert set(memory["*"].keys["y"]) == {"0", "1", "2"}
    base = assessment.summarize_reference(spec, labeled, labeled)
    _, rows = assessment.performance_from_cells(spec, in_db, base, labeled=len(labeled), pending=0)
    accuracy = next(r for r in rows if r["segment"] == "*" and r["metric"] == "accuracy")
    assert 0.6 < accuracy["value"] < 0.8  # 70% of the predictions copy the label
