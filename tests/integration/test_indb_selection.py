"""The database path's selections: the cohort's labels as the memory path reads them, the
reference's slices, and the fetch counter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from gapwatch import sources
from gapwatch.indb import performance, selection
from gapwatch.spec import MonitorSpec

pytestmark = pytest.mark.integration

START = datetime(2026, 3, 2, tzinfo=UTC)


def _spec(url_env: str) -> MonitorSpec:
    person = {"name": "Sel Owner", "email": "sel@example.com"}
    return MonitorSpec.model_validate({
        "name": "sel", "version": "1", "task": "binary_classification",
        "owners": {"business_owner": person, "technical_owner": person, "data_steward": person},
        "schedule": "0 0 * * 1", "start_date": "2026-03-02", "source": {"url_env": url_env},
        "predictions": {"table": "preds", "id": "id", "timestamp": "ts", "prediction": "pred",
                        "score": "score", "features": ["x"]},
        "ground_truth": {"table": "truth", "id": "id", "label": "y", "arrived_at": "arrived", "delay": "7d"},
        "readiness": {"suite": "none"},
        "metrics": [{"name": "roc_auc"}],
        "baseline": {"start": "2026-03-02", "end": "2026-03-09", "sub_windows": 3},
        "runbook_url": "https://runbooks.example.com/sel", "fallback": "none",
    })


def _load(url: str) -> None:
    rng = np.random.default_rng(1)
    n = 50
    preds = pd.DataFrame({
        "id": np.arange(n), "ts": [START + timedelta(hours=3 * i) for i in range(n)],
        "pred": rng.integers(0, 2, n), "score": rng.random(n), "x": rng.normal(size=n),
    })
    preds["ts"] = preds["ts"].dt.tz_localize(None)
    # Labels: ids 0-29 labeled, 30-39 labeled twice (the later one wins), 40-49 arrive too late.
    arrived = START + timedelta(days=10)
    truth = [{"id": i, "y": i % 2, "arrived": arrived} for i in range(40)]
    truth += [{"id": i, "y": 1 - i % 2, "arrived": arrived + timedelta(days=1)} for i in range(30, 40)]
    truth += [{"id": i, "y": 1, "arrived": START + timedelta(days=60)} for i in range(40, 50)]
    frame = pd.DataFrame(truth)
    frame["arrived"] = frame["arrived"].dt.tz_localize(None)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        preds.to_sql("preds", conn, index=False, if_exists="replace")
        frame.to_sql("truth", conn, index=False, if_exists="replace")
    engine.dispose()


@pytest.fixture
def source(source_url, monkeypatch):
    _load(source_url)
    monkeypatch.setenv("GW_SEL_URL", source_url)
    spec = _spec("GW_SEL_URL")
    return spec, sources.Source(spec)


def test_the_cohort_has_the_labels_the_memory_path_reads(source):
    spec, src = source
    end, as_of = START + timedelta(days=7), START + timedelta(days=30)
    sel = selection.cohort(spec, src, START, end, as_of)
    rows = selection.fetch(src, sa.select(sel.subquery.c.id, sel.subquery.c.label).order_by(sel.subquery.c.id))
    in_db = {int(r.id): (None if r.label is None else int(r.label)) for r in rows}
    memory = sources.read_matured(spec, START, end, as_of=as_of, source=src)
    expected = {int(i): (None if pd.isna(v) else int(v)) for i, v in zip(memory["id"], memory["label"], strict=True)}
    assert in_db == expected
    assert in_db[31] == 0 and in_db[45] is None  # the re-delivered label wins; a late one is pending


def test_reference_slices_cover_every_row_once_in_time_order(source):
    spec, src = source
    everything, labeled = selection.reference(spec, src)
    s = everything.subquery
    rows = selection.fetch(src, sa.select(s.c.gw_slice, sa.func.count(), sa.func.min(s.c.id), sa.func.max(s.c.id))
                           .group_by(s.c.gw_slice).order_by(s.c.gw_slice))
    assert [r[0] for r in rows] == [1, 2, 3]
    assert sum(r[1] for r in rows) == everything.count() > 0
    assert all(a[3] < b[2] for a, b in zip(rows, rows[1:], strict=False))  # slices follow time
    # The reference's labels are read three delays after its end: ids 0-39 (the late ones pending).
    assert labeled.count() == 40


def test_fetch_counts_the_rows_that_crossed(source):
    spec, src = source
    sel = selection.window(spec, src, START, START + timedelta(days=7))
    before = selection.FETCHED.rows
    selection.fetch(src, sa.select(sel.subquery.c.id))
    assert selection.FETCHED.rows - before == 50  # every prediction lies in the week
    assert selection.FETCHED.queries > 0


@pytest.mark.postgres
def test_a_nan_label_is_pending_as_pandas_reads_it(pg_url, monkeypatch):
    """PostgreSQL stores a float NaN as a value (equal to itself): read as a label it would count
    as labeled and as a class outside {0, 1}. Both paths read it as not arrived. (SQLite stores
    a NaN as NULL.)"""
    _load(pg_url)
    monkeypatch.setenv("GW_SEL_URL", pg_url)
    spec = _spec("GW_SEL_URL")
    src = sources.Source(spec)
    engine = sa.create_engine(src.url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE truth"))
        conn.execute(sa.text("CREATE TABLE truth (id BIGINT, y DOUBLE PRECISION, arrived TIMESTAMP)"))
        conn.execute(sa.text("INSERT INTO truth VALUES (0, 1.0, :t), (1, 'NaN', :t), (2, 0.0, :t)"),
                     {"t": (START + timedelta(days=10)).replace(tzinfo=None)})
    engine.dispose()
    end, as_of = START + timedelta(days=7), START + timedelta(days=30)
    sel = selection.cohort(spec, src, START, end, as_of)
    labels = {int(r.id): r.label for r in selection.fetch(src, sa.select(sel.subquery.c.id, sel.subquery.c.label))}
    memory = sources.read_matured(spec, START, end, as_of=as_of, source=src)
    assert labels[0] == 1 and labels[2] == 0 and labels[1] is None
    assert performance.label_counts(sel) == (int(memory["label"].notna().sum()), int(memory["label"].isna().sum()))
    assert performance.screen(sel, label=selection.LABEL, binary=selection.LABEL)["outside"] == 0
