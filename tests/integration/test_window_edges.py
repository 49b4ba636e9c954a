"""``[start, end)`` holds exactly on every backend: rows on both edges of a window, in every
timestamp representation a source may use (SQLite text with and without fractional seconds,
with 'T' or a space; PostgreSQL ``timestamp`` and ``timestamptz`` under a non-UTC session zone),
through the extract (``read_window``), the cohort's label maturity (``read_matured``), the SQL
the in-database readiness suite runs (``window_query``) and the volume profile's count. And a
window with no rows passes every evaluation stage on both backends (``no_data``, no crash)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from gapwatch import sources
from gapwatch.readiness.checks import _window_profile
from gapwatch.readiness.stage import window_query
from gapwatch.spec import MonitorSpec
from gapwatch.window import Window

pytestmark = pytest.mark.integration

# Bounds off midnight: with text comparison a "T" row sorts after any space-separated bound of its day.
START = datetime(2026, 1, 5, 6, 30, tzinfo=UTC)
END = datetime(2026, 1, 12, 6, 30, tzinfo=UTC)
# name -> moment; the window must hold exactly the "in_*" rows.
ROWS = {
    "before_start": START - timedelta(seconds=1),
    "in_start": START,
    "in_middle": START + timedelta(days=3, hours=7),
    "in_last_second": END - timedelta(seconds=1),
    "at_end": END,
    "after_end": END + timedelta(seconds=1),
}
INSIDE = sorted(k for k in ROWS if k.startswith("in_"))
SQLITE_FORMATS = {
    "space": "%Y-%m-%d %H:%M:%S",
    "T": "%Y-%m-%dT%H:%M:%S",
    "space_fraction": "%Y-%m-%d %H:%M:%S.%f",
    "T_fraction": "%Y-%m-%dT%H:%M:%S.%f",
    "T_millis_Z": "%Y-%m-%dT%H:%M:%S.000Z",
}
ENV = "GAPWATCH_EDGES_SOURCE_URL"


def _spec(url_env: str = ENV) -> MonitorSpec:
    person = {"name": "Edge Owner", "email": "edge@example.com"}
    return MonitorSpec.model_validate({
        "name": "edges", "version": "1", "task": "binary_classification",
        "owners": {"business_owner": person, "technical_owner": person, "data_steward": person},
        "schedule": "0 0 * * 1", "start_date": "2026-01-05", "source": {"url_env": url_env},
        "predictions": {"table": "preds", "id": "pid", "timestamp": "ts", "prediction": "pred",
                        "score": "score", "features": ["x"]},
        "ground_truth": {"table": "truth", "id": "pid", "label": "y", "arrived_at": "arrived", "delay": "7d"},
        "readiness": {"suite": "none", "volume": {"enabled": True}},
        "metrics": [{"name": "roc_auc"}],
        "baseline": {"start": START.isoformat(), "end": END.isoformat()},
        "runbook_url": "https://runbooks.example.com/edges", "fallback": "none",
    })


def _load(url: str, ts_type: str, render) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE TABLE preds (pid VARCHAR(40), ts {ts_type}, pred INTEGER, "
                             "score FLOAT, x FLOAT)"))
        conn.execute(sa.text(f"CREATE TABLE truth (pid VARCHAR(40), y INTEGER, arrived {ts_type})"))
        for name, moment in ROWS.items():
            conn.execute(sa.text("INSERT INTO preds VALUES (:pid, :ts, 1, 0.5, 1.0)"),
                         {"pid": name, "ts": render(moment)})
            # Each label arrives exactly at the window's end (not yet matured "as of" END) or one
            # second before it (matured), alternately.
            arrived = END if name in ("in_start", "in_last_second") else END - timedelta(seconds=1)
            conn.execute(sa.text("INSERT INTO truth VALUES (:pid, 1, :at)"), {"pid": name, "at": render(arrived)})
    engine.dispose()


def _assert_exact(spec: MonitorSpec, url: str) -> None:
    window = Window(START, END)
    frame = sources.read_window(spec, START, END)
    assert sorted(frame["pid"]) == INSIDE
    matured = sources.read_matured(spec, START, END, as_of=END).set_index("pid")
    assert sorted(matured.index) == INSIDE
    # A label that arrived exactly at ``as_of`` has not arrived "before" it.
    assert matured["label"].isna().to_dict() == {"in_last_second": True, "in_middle": False, "in_start": True}
    with sa.create_engine(url).connect() as conn:
        rows = conn.execute(sa.text(window_query(spec, window))).mappings().all()
    assert sorted(r["pid"] for r in rows) == INSIDE
    assert _window_profile(spec)["rows"] == len(INSIDE)


@pytest.fixture
def sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'edges.db'}"
    monkeypatch.setenv(ENV, url)
    return url


@pytest.mark.parametrize("fmt", sorted(SQLITE_FORMATS))
def test_sqlite_text_timestamps_hold_both_edges(sqlite_url: str, fmt: str) -> None:
    _load(sqlite_url, "TEXT", lambda moment: moment.strftime(SQLITE_FORMATS[fmt]))
    _assert_exact(_spec(), sqlite_url)


def test_sqlite_datetime_columns_written_by_sqlalchemy_hold_both_edges(sqlite_url: str) -> None:
    # A DATETIME column filled through SQLAlchemy (pandas.to_sql) stores '... 00:00:00.000000'.
    _load(sqlite_url, "DATETIME", lambda moment: moment.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds"))
    _assert_exact(_spec(), sqlite_url)


@pytest.fixture
def pg_source(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    # A session zone far from UTC: a naive bound compared with timestamptz would move 5 hours.
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'ALTER DATABASE "{pg_url.rsplit("/", 1)[1]}" SET timezone TO \'America/New_York\''))
    admin.dispose()
    monkeypatch.setenv(ENV, pg_url)
    yield pg_url
    sources.source_engine(pg_url).dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("ts_type", ["timestamp", "timestamptz"])
def test_postgresql_timestamp_types_hold_both_edges(pg_source: str, ts_type: str) -> None:
    if ts_type == "timestamp":
        render = lambda moment: moment.replace(tzinfo=None)  # noqa: E731 - naive UTC by convention
    else:
        render = lambda moment: moment  # noqa: E731 - an aware instant
    _load(pg_source, ts_type, render)
    with sa.create_engine(pg_source).connect() as conn:
        assert conn.execute(sa.text("SHOW timezone")).scalar() == "America/New_York"
    _assert_exact(_spec(), pg_source)


# ---------------------------------------------------------------- an empty window through the stages


def _empty_window_through_the_stages(spec: MonitorSpec) -> None:
    from gapwatch import pipeline

    # Two weeks after the data: no predictions, and a cohort (one week earlier) with none either.
    window = Window(END + timedelta(days=14), END + timedelta(days=21))
    extract = pipeline.extract_window(spec, window)
    assert extract["rows"] == 0 and extract["cohort_rows"] == 0
    performance = pipeline.evaluate_performance(spec, window, ready=True)
    assert (performance["status"], performance["reason"], performance["no_data"]) == (
        "insufficient", "no rows in the window", True)
    assert performance["estimate"]["status"] == "insufficient" and performance["estimate"]["no_data"]
    drift = pipeline.evaluate_drift(spec, window, ready=True)
    assert (drift["status"], drift["no_data"]) == ("insufficient", True)


def test_an_empty_window_passes_every_evaluation_stage_on_sqlite(gapwatch_home: Path, sqlite_url: str) -> None:
    _load(sqlite_url, "TEXT", lambda moment: moment.strftime(SQLITE_FORMATS["space"]))
    _empty_window_through_the_stages(_spec())


@pytest.mark.postgres
def test_an_empty_window_passes_every_evaluation_stage_on_postgresql(gapwatch_home: Path, pg_source: str) -> None:
    _load(pg_source, "timestamptz", lambda moment: moment)
    _empty_window_through_the_stages(_spec())
