"""Drift summaries computed in the database equal the memory path's on the same rows.

The same generated rows are loaded into SQLite and PostgreSQL; the memory path reads them back
as the pipeline does (``sources.read_window``) and summarises them with numpy. Counts, bin minima
and maxima, edges and the quantiles derived from them must be identical; the float sums agree to
1e-9 relative. The rows fetched stay bounded by the bins and categories, not by the rows.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from gapwatch import sources
from gapwatch.evaluation import drift_stage, frames, summaries
from gapwatch.indb import drift as indb_drift
from gapwatch.indb import sampling, selection
from gapwatch.spec import MonitorSpec

pytestmark = pytest.mark.integration

START = datetime(2026, 3, 2, tzinfo=UTC)  # the baseline week; the window is the week after
WEEK = timedelta(days=7)
NUMERIC = ["normal", "heavy", "lumpy", "constant", "broken", "offset"]
CATEGORICAL = ["many", "region", "tier", "code"]


def _spec(url_env: str, *, auto: bool = False, segments: bool = False) -> MonitorSpec:
    person = {"name": "Drift Owner", "email": "drift@example.com"}
    features = [{"name": n, "kind": "numeric"} for n in NUMERIC]
    features += [{"name": n, "kind": "categorical"} for n in CATEGORICAL + (["grade"] if segments else [])]
    return MonitorSpec.model_validate({
        "name": "drifty", "version": "1", "task": "binary_classification",
        "owners": {"business_owner": person, "technical_owner": person, "data_steward": person},
        "schedule": "0 0 * * 1", "start_date": "2026-03-02", "source": {"url_env": url_env},
        "predictions": {"table": "preds", "id": "id", "timestamp": "ts", "prediction": "pred",
                        "score": "score", "features": features},
        "ground_truth": {"table": "truth", "id": "id", "label": "y", "arrived_at": "arrived", "delay": "7d"},
        "readiness": {"suite": "none"},
        "metrics": [{"name": "roc_auc"}],
        "baseline": {"start": "2026-03-02", "end": "2026-03-09", "sub_windows": 4},
        "drift": {"multivariate": True, "threshold": "auto" if auto else None, "multivariate_sample": 500,
                  "segment_min_rows": 150},
        "segments": ["region", "many", "grade"] if segments else [],
        "runbook_url": "https://runbooks.example.com/drifty", "fallback": "none",
    })


def _rows(n: int, seed: int, start: datetime, shift: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    broken = rng.normal(size=n)
    broken[rng.random(n) < 0.05] = np.inf
    broken[rng.random(n) < 0.05] = -np.inf
    broken[rng.random(n) < 0.05] = np.nan  # NULL once stored
    broken[rng.random(n) < 0.01] = 1e200  # its square overflows: counted as non-finite on both paths
    many = rng.integers(0, 150, n).astype(str)  # more distinct values than MAX_CATEGORIES, with ties
    region = np.where(rng.random(n) < 0.1, None, rng.choice(["north", "south", "east", "west"], n))
    frame = pd.DataFrame({
        "id": np.arange(n) + (0 if shift == 0 else 10**6),
        "ts": [start.replace(tzinfo=None) + timedelta(seconds=int(s)) for s in np.linspace(0, WEEK.total_seconds() - 1, n)],
        "pred": rng.integers(0, 2, n),
        "score": rng.random(n),
        "normal": rng.normal(shift, 1, n),
        "heavy": rng.lognormal(shift, 1, n),
        "lumpy": rng.integers(0, 5, n) + shift,
        "constant": np.full(n, 3.0),
        "broken": broken,
        "offset": 1e6 + rng.normal(shift, 1, n),
        "many": many,
        "region": region,
        # An INTEGER category with NULLs in the baseline week only: pandas reads that week as
        # floats, and its categories must still be "1", "2", "3", as the next week's are.
        "tier": pd.Series(rng.integers(1, 4, n), dtype="Int64").mask((rng.random(n) < 0.05) & (shift == 0)),
        "code": 2**53 + rng.integers(0, 3, n),  # integer codes a float cannot tell apart
    })
    return frame


def _store(url: str, preds: pd.DataFrame) -> None:
    """The predictions, and a label for each a day later."""
    truth = pd.DataFrame({"id": preds["id"], "y": preds["pred"], "arrived": preds["ts"] + timedelta(days=1)})
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        preds.to_sql("preds", conn, index=False, if_exists="replace")
        truth.to_sql("truth", conn, index=False, if_exists="replace")
        if engine.dialect.name == "postgresql":  # PostgreSQL keeps NaN (pandas wrote NULL): a few real ones
            conn.execute(sa.text("UPDATE preds SET broken = 'NaN' WHERE id % 23 = 0"))
    engine.dispose()


def _load(url: str, n: int) -> None:
    _store(url, pd.concat([_rows(n, 1, START, 0.0), _rows(n, 2, START + WEEK, 0.5)], ignore_index=True))


def _bases(spec: MonitorSpec) -> tuple[sources.Source, dict, dict]:
    """(the source, the baseline's drift summary computed in memory, the same in the database)."""
    src = sources.Source(spec)
    memory = drift_stage.reference_drift(
        spec, frames.numeric_checked(spec, sources.read_window(spec, START, START + WEEK, source=src)))
    everything, _ = selection.reference(spec, src)
    return src, memory, indb_drift.reference_drift(everything)


@pytest.fixture
def db(source_url, monkeypatch):
    monkeypatch.setenv("GW_DRIFT_URL", source_url)
    return source_url


def _same(memory: dict, database: dict) -> None:
    assert list(memory) == list(database)
    for name, m in memory.items():
        d = database[name]
        if m["kind"] == "categorical":
            assert d == m, name
            continue
        exact = ["n", "nulls", "nonfinite", "edges", "counts", "fine_edges", "fine_counts", "fine_min",
                 "fine_max", "min", "max", "quantiles"]
        assert {k: d[k] for k in exact} == {k: m[k] for k in exact}, name
        scale = max(m["n"], 1) * (1 + (m["std"] or 0) ** 2)
        for key in ("sum", "sumsq"):
            assert d[key] == pytest.approx(m[key], rel=1e-9, abs=1e-9 * scale), (name, key)
        for key in ("mean", "std"):
            assert (d[key] is None) == (m[key] is None)
            if m[key] is not None:
                assert d[key] == pytest.approx(m[key], rel=1e-9, abs=1e-9), (name, key)


def test_window_and_reference_summaries_equal_the_memory_path(db):
    _load(db, 2000)
    spec = _spec("GW_DRIFT_URL", auto=True)
    src = sources.Source(spec)
    columns = drift_stage.drift_columns(spec)
    reference = drift_stage.reference_drift(spec, frames.numeric_checked(
        spec, sources.read_window(spec, START, START + WEEK, source=src)))

    everything, _ = selection.reference(spec, src)
    statistics, parts, _ = indb_drift.reference_statistics(everything, columns, spec.drift.bins, slices=4)
    _same(reference["statistics"], statistics)
    memory_parts = [summaries.summarize_window(p, reference["statistics"]) for p in frames.slices(
        frames.numeric_checked(spec, sources.read_window(spec, START, START + WEEK, source=src)), spec)]
    assert len(parts) == 4
    for m, d in zip(memory_parts, parts, strict=True):
        _same(m, d)

    window = frames.numeric_checked(spec, sources.read_window(spec, START + WEEK, START + 2 * WEEK, source=src))
    in_db = indb_drift.window_summaries(selection.window(spec, src, START + WEEK, START + 2 * WEEK), statistics)
    _same(summaries.summarize_window(window, statistics), in_db)
    # The cases that matter are there: NaN counted as null, infinities apart, OTHER beyond the top-K.
    assert in_db["broken"]["nulls"] > 0 and in_db["broken"]["nonfinite"] > 0
    assert summaries.OTHER in in_db["many"]["counts"] and len(in_db["many"]["counts"]) == summaries.MAX_CATEGORIES + 1
    assert in_db["region"]["nulls"] > 0


def test_the_drift_verdict_is_the_same_on_both_paths(db):
    _load(db, 2000)
    spec = _spec("GW_DRIFT_URL", auto=True)
    src, memory_base, db_base = _bases(spec)
    assert db_base["statistics"].keys() == memory_base["statistics"].keys()
    assert db_base["multivariate"]["columns"] == memory_base["multivariate"]["columns"] == NUMERIC
    assert db_base["drift_thresholds"].keys() == memory_base["drift_thresholds"].keys()
    for column, methods in memory_base["drift_thresholds"].items():
        assert db_base["drift_thresholds"][column] == pytest.approx(methods, rel=1e-6), column

    window = sources.read_window(spec, START + WEEK, START + 2 * WEEK, source=src)
    memory, _ = drift_stage.assess_drift(spec, window, memory_base)
    stats, sample, _ = indb_drift.window_drift_inputs(selection.window(spec, src, START + WEEK, START + 2 * WEEK), db_base)
    assert sample is not None and len(sample) == spec.drift.multivariate_sample
    in_db, _ = drift_stage.judge_drift(spec, stats, sample, db_base)
    assert in_db["rows"] == memory["rows"] == len(window)
    assert in_db["status"] == memory["status"] == "drift"
    # Every column's verdict is the same; the PCA model reads a different random sample on each path.
    def columns(summary: dict) -> list[str]:
        return [d["column"] for d in summary["drifted"] if d["column"] != drift_stage.MULTIVARIATE_COLUMN]

    assert columns(in_db) == columns(memory) and len(columns(memory)) >= 4
    for key, value in memory["values"].items():
        if key.startswith(drift_stage.MULTIVARIATE_COLUMN):
            continue  # a different random sample on each path
        assert (in_db["values"][key] is None) == (value is None)
        if value is not None:
            assert in_db["values"][key] == pytest.approx(value, rel=1e-6, abs=1e-9), key


def _bound(layout: dict) -> int:
    return sum(len(s["fine_edges"]) + 3 if s["kind"] == "numeric" else summaries.MAX_CATEGORIES + 2
               for s in layout.values())


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_rows_fetched_do_not_grow_with_the_rows(dialect, tmp_path, monkeypatch, request):
    fetched = {}
    for n in (1000, 20000):
        url = f"sqlite:///{tmp_path / f'source{n}.db'}" if dialect == "sqlite" else request.getfixturevalue("pg_url")
        _load(url, n)
        monkeypatch.setenv("GW_DRIFT_URL", url)
        spec = _spec("GW_DRIFT_URL")
        src = sources.Source(spec)
        everything, _ = selection.reference(spec, src)
        before = selection.FETCHED.rows
        statistics, _, _ = indb_drift.reference_statistics(everything, drift_stage.drift_columns(spec),
                                                           spec.drift.bins)
        edges_and_summary = selection.FETCHED.rows - before
        before = selection.FETCHED.rows
        indb_drift.window_summaries(selection.window(spec, src, START + WEEK, START + 2 * WEEK), statistics)
        window_rows = selection.FETCHED.rows - before
        before = selection.FETCHED.rows
        sample = sampling.sample(everything, ["normal", "heavy"], 300)
        assert len(sample) == 300 and selection.FETCHED.rows - before == 300
        # Knowing the rows, a pre-filter keeps about 300 + 4 sd before the sort: still 300 rows,
        # from the whole reference (not its first rows).
        thinned = sampling.sample(everything, ["id", "normal"], 300, rows=n)
        assert len(thinned) == 300 and thinned["id"].is_unique
        assert thinned["id"].min() < n / 10 and thinned["id"].max() > n * 9 / 10
        if dialect == "postgresql":  # a seeded draw there: the same window gives the same sample
            again = sampling.sample(everything, ["id", "normal"], 300, rows=n)
            assert again["id"].tolist() == thinned["id"].tolist()
        fetched[n] = (edges_and_summary, window_rows)
        bound = _bound(statistics)
        numeric = sum(s["kind"] == "numeric" for s in statistics.values())
        edges = 1 if dialect == "postgresql" else 1 + numeric * (len(summaries.FINE_FRACTIONS) + 12)
        assert window_rows <= bound
        assert edges_and_summary <= bound + edges
        sources.source_engine.cache_clear()
    # 20 times the rows: the traffic is set by the bins and categories, not the rows.
    assert fetched[20000][1] <= _bound(statistics) and fetched[1000][1] <= _bound(statistics)


def _load_segment_shift(url: str, n: int) -> None:
    """Two weeks of the same population, but in the second the ``normal`` feature of the small
    region "tiny" (~6% of rows) moves by one standard deviation: too little to move the whole
    window, plain in the segment. ``grade`` is a second segment column, NUMERIC on PostgreSQL
    (read as decimals there)."""
    frames_ = []
    for week, seed in ((0, 1), (1, 2)):
        rows = _rows(n, seed, START + week * WEEK, 0.0)
        rng = np.random.default_rng(seed + 10)
        rows.loc[rng.random(n) < 0.06, "region"] = "tiny"
        rows["grade"] = rng.choice([0.5, 1.5], n)
        if week:
            rows["id"] += 10**6
            rows.loc[rows["region"] == "tiny", "normal"] += 1.0
        frames_.append(rows)
    _store(url, pd.concat(frames_, ignore_index=True))
    engine = sa.create_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE preds ALTER COLUMN grade TYPE NUMERIC(4, 1)"))
    engine.dispose()


def test_segment_summaries_and_segment_drift_are_the_same_on_both_paths(db):
    _load_segment_shift(db, 4000)
    spec = _spec("GW_DRIFT_URL", segments=True)
    src, memory_base, db_base = _bases(spec)

    # The same segments chosen (enough baseline rows; "many" has ~27 rows a value: none), and the
    # same summaries for each, categories named as the whole window names them.
    values = memory_base["segments"]["values"]
    assert values == db_base["segments"]["values"]
    assert values["many"] == [] and sorted(values["region"]) == ["east", "north", "south", "tiny", "west"]
    assert sorted(values["grade"]) == [0.5, 1.5]
    assert memory_base["segments"]["statistics"].keys() == db_base["segments"]["statistics"].keys()
    for name, m in memory_base["segments"]["statistics"].items():
        _same(m, db_base["segments"]["statistics"][name])
    _same(memory_base["statistics"], db_base["statistics"])
    tiny = db_base["segments"]["statistics"]["region=tiny"]
    assert summaries.OTHER in tiny["many"]["counts"]  # the whole's top-K: the rest of the segment is OTHER
    regions = [s for name, s in db_base["segments"]["statistics"].items() if name.startswith("region=")]
    assert sum(s["normal"]["n"] for s in regions) < db_base["statistics"]["normal"]["n"]  # NULL regions: only whole

    window = sources.read_window(spec, START + WEEK, START + 2 * WEEK, source=src)
    memory, _ = drift_stage.assess_drift(spec, window, memory_base)
    stats, sample, by_segment = indb_drift.window_drift_inputs(
        selection.window(spec, src, START + WEEK, START + 2 * WEEK), db_base)
    for name, m in drift_stage.window_drift_inputs(spec, window, memory_base)[2].items():
        _same(m, by_segment[name])
    in_db, _ = drift_stage.judge_drift(spec, stats, sample, db_base, segments=by_segment)

    # The whole window did not move; the segment did, and that alone makes the window "drift".
    for summary in (memory, in_db):
        assert "normal" not in [d["column"] for d in summary["drifted"]]
        assert summary["status"] == "drift"
        assert summary["segments"]["judged"] == 7 and summary["segments"]["with_whole"] == 0
        assert summary["segments"]["too_few_rows"] == []
        assert [(d["segment"], d["column"]) for d in summary["segments"]["drifted"]] == [("region=tiny", "normal")]
    # ~240 baseline rows in the segment: its method is the small-sample one (KS p-value).
    assert memory["segments"]["drifted"][0]["values"]["ks_pvalue"] < spec.drift.significance
    for d, m in zip(in_db["segments"]["drifted"], memory["segments"]["drifted"], strict=True):
        assert d.keys() == m.keys()
        assert {k: d[k] for k in ("segment", "column", "rows")} == {k: m[k] for k in ("segment", "column", "rows")}
        assert d["values"]["ks_pvalue"] == pytest.approx(m["values"]["ks_pvalue"], rel=1e-6)
    # A segment whose rows stop arriving is not judged (too few rows), and it is not silent: the
    # segment column is itself a watched feature, and its distribution moved.
    gone, _ = drift_stage.assess_drift(spec, window[window["region"] != "tiny"], memory_base)
    assert "region=tiny" in gone["segments"]["too_few_rows"]
    assert "region" in [d["column"] for d in gone["drifted"]] and gone["status"] == "drift"
