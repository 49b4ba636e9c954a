"""Readiness as a data steward sees it: built-in checks opening their own incidents, severity,
Data Docs pages linked from messages, PII never leaking, suggested suites, in-database runs.

Small source tables are built per test in SQLite (and the demo in PostgreSQL for the
in-database test); every run goes through the real pipeline stages."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from gapwatch import store
from gapwatch.airflow.channels import default_senders
from gapwatch.demo.seed import FEED_BREAK_WINDOW, window_bounds
from gapwatch.pipeline import run_window
from gapwatch.spec import MonitorSpec, load_specs
from gapwatch.window import Window

pytestmark = pytest.mark.integration

FEED_START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
WEEK = timedelta(days=7)
ROWS_PER_DAY = 100


# ---------------------------------------------------------------- a small feed of our own


def _spec(url_env: str, suite: str, **readiness: object) -> MonitorSpec:
    return MonitorSpec.model_validate(
        {
            "name": "tiny_feed",
            "version": "1",
            "task": "binary_classification",
            "owners": {
                "business_owner": {"name": "B", "email": "b@example.org"},
                "technical_owner": {"name": "T", "email": "t@example.org"},
                "data_steward": {"name": "Sam Steward", "email": "steward@example.org"},
            },
            "schedule": "0 0 * * 1",
            "start_date": "2026-03-02",
            "source": {"url_env": url_env},
            "predictions": {
                "table": "preds",
                "id": "pid",
                "timestamp": "ts",
                "prediction": "label_pred",
                "score": "score",
                "features": [{"name": "x"}, {"name": "national_id", "kind": "categorical", "pii": True}],
                "pii_columns": ["email"],
            },
            "ground_truth": {"table": "truth", "id": "pid", "label": "y", "arrived_at": "arrived", "delay": "7d"},
            "readiness": {"suite": suite, **readiness},
            "metrics": [{"name": "roc_auc", "min_labels": 50}],
            "baseline": {"start": FEED_START.isoformat(), "end": (FEED_START + 2 * WEEK).isoformat()},
            "runbook_url": "https://runbooks.example.org/tiny",
            "fallback": "manual review",
        }
    )


def _rows(start: datetime, days: float, per_day: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = int(days * per_day)
    offsets = np.sort(rng.uniform(0, days * 86400, n))
    ts = pd.Timestamp(start.replace(tzinfo=None)) + pd.to_timedelta(offsets, unit="s")
    x = rng.normal(size=n)
    score = 1 / (1 + np.exp(-x))
    return pd.DataFrame(
        {
            "pid": [f"{seed}-{i}" for i in range(n)],
            "ts": ts,
            "x": x,
            "national_id": [f"NID-{seed:02d}{i:05d}" for i in range(n)],
            "email": [f"person{seed:02d}{i:05d}@customers.test" for i in range(n)],
            "score": score,
            "label_pred": (score >= 0.5).astype(int),
        }
    )


def _write_feed(url: str, parts: list[pd.DataFrame]) -> None:
    preds = pd.concat(parts, ignore_index=True)
    truth = pd.DataFrame(
        {"pid": preds["pid"], "y": (preds["score"] > 0.5).astype(int), "arrived": preds["ts"] + pd.Timedelta(days=1)}
    )
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        preds.to_sql("preds", conn, if_exists="replace", index=False)
        truth.to_sql("truth", conn, if_exists="replace", index=False)
    engine.dispose()


@pytest.fixture
def tiny_feed(gapwatch_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A SQLite source with a healthy two-week baseline, a suite folder and an env var for it."""
    url = f"sqlite:///{tmp_path / 'feed.db'}"
    monkeypatch.setenv("TINY_FEED_URL", url)
    suites = tmp_path / "expectations"
    suites.mkdir()
    monkeypatch.setenv("GAPWATCH_EXPECTATIONS_DIR", str(suites))
    (suites / "tiny.json").write_text(
        json.dumps(
            {
                "name": "tiny",
                "expectations": [
                    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "x"}},
                    {"type": "expect_column_values_to_be_between", "kwargs": {"column": "score", "min_value": 0, "max_value": 1}},
                ],
            }
        )
    )
    baseline = [_rows(FEED_START, 7, ROWS_PER_DAY, 1), _rows(FEED_START + WEEK, 7, ROWS_PER_DAY, 2)]
    return url, suites, baseline


def _incidents() -> list[dict]:
    with store.engine().connect() as conn:
        return store.rows(conn, sa.select(store.incidents).order_by(store.incidents.c.id))


def _messages() -> list[dict]:
    with store.engine().connect() as conn:
        return store.rows(conn, sa.select(store.outbox).order_by(store.outbox.c.id))


def test_stale_feed_opens_its_own_freshness_incident(tiny_feed) -> None:
    url, _, baseline = tiny_feed
    window = Window(FEED_START + 2 * WEEK, FEED_START + 3 * WEEK)
    # The feed stopped a day and a half before the window's end: enough rows, none recent.
    _write_feed(url, [*baseline, _rows(window.start, 5.5, ROWS_PER_DAY, 3)])
    spec = _spec("TINY_FEED_URL", "tiny")
    result = run_window(spec, window, senders=default_senders())

    (incident,) = _incidents()
    assert incident["check"] == "readiness:freshness"
    assert incident["owner_role"] == "data_steward" and incident["severity"] == "critical"
    (failing,) = incident["evidence"]["failing_expectations"]
    # observed against expected: the newest row, and the oldest acceptable one (end - 1 day)
    assert failing.startswith("ts: observed 2026-03-21") and "expected >= 2026-03-22" in failing
    assert result["status"] == "not_ready"
    (message,) = _messages()
    assert message["recipient"] == "Sam Steward <steward@example.org>"


def test_halved_volume_opens_its_own_volume_incident(tiny_feed) -> None:
    url, _, baseline = tiny_feed
    window = Window(FEED_START + 2 * WEEK, FEED_START + 3 * WEEK)
    _write_feed(url, [*baseline, _rows(window.start, 7, ROWS_PER_DAY // 2, 3)])
    run_window(_spec("TINY_FEED_URL", "tiny"), window, senders=default_senders())

    (incident,) = _incidents()
    assert incident["check"] == "readiness:volume"
    (failing,) = incident["evidence"]["failing_expectations"]
    # 700 rows per baseline window; the default band is 0.7x-1.5x
    assert failing == "table: 350 rows, expected between 490 and 1050"


def test_new_and_retyped_columns_open_a_schema_incident(tiny_feed) -> None:
    url, _, baseline = tiny_feed
    spec = _spec("TINY_FEED_URL", "tiny")
    _write_feed(url, baseline)
    first = Window(FEED_START + WEEK, FEED_START + 2 * WEEK)
    run_window(spec, first, senders=default_senders())  # captures the baseline profile
    window = Window(FEED_START + 2 * WEEK, FEED_START + 3 * WEEK)
    changed = _rows(window.start, 7, ROWS_PER_DAY, 3)
    changed["x"] = changed["x"].round(3).astype(str)  # a number that became text
    changed["channel"] = "web"  # a column the baseline never had
    frames = [frame.assign(x=frame["x"].astype(str), channel="web") for frame in baseline]
    _write_feed(url, [*frames, changed])
    run_window(spec, window, senders=default_senders())

    (incident,) = [i for i in _incidents() if i["check"] == "readiness:schema"]
    failing = incident["evidence"]["failing_expectations"]
    assert any("unexpected columns ['channel']" in f for f in failing), failing
    assert any("retyped columns x (numeric -> string)" in f for f in failing), failing


def test_warning_notifies_the_steward_and_evaluation_goes_on(tiny_feed) -> None:
    url, suites, baseline = tiny_feed
    window = Window(FEED_START + 2 * WEEK, FEED_START + 3 * WEEK)
    broken = _rows(window.start, 7, ROWS_PER_DAY, 3)
    broken.loc[broken.index[::3], "x"] = np.nan
    _write_feed(url, [*baseline, broken])

    warn = _spec("TINY_FEED_URL", "tiny", severity={"expect_column_values_to_not_be_null:x": "warning"})
    result = run_window(warn, window, senders=default_senders())
    (incident,) = _incidents()
    assert incident["severity"] == "warning" and incident["owner_role"] == "data_steward"
    assert incident["check"] == "readiness:tiny:warning"
    assert result["status"] != "not_ready"
    with store.engine().connect() as conn:
        run = store.rows(conn, sa.select(store.runs))[0]
    assert run["readiness"] == "ready" and run["drift"] in ("ok", "drift")  # drift was evaluated
    assert run["performance"] != "inconclusive"
    (message,) = _messages()
    assert message["recipient_role"] == "data_steward"
    assert "x: 33.4% null, expected none [234 rows]" in message["body"], message["body"]
    assert "Warning only: model evaluation went ahead." in message["body"]


def test_critical_failure_marks_evaluation_inconclusive(tiny_feed) -> None:
    url, _, baseline = tiny_feed
    window = Window(FEED_START + 2 * WEEK, FEED_START + 3 * WEEK)
    broken = _rows(window.start, 7, ROWS_PER_DAY, 3)
    broken.loc[broken.index[::3], "x"] = np.nan
    _write_feed(url, [*baseline, broken])
    run_window(_spec("TINY_FEED_URL", "tiny"), window, senders=default_senders())
    with store.engine().connect() as conn:
        run = store.rows(conn, sa.select(store.runs))[0]
    assert run["readiness"] == "not_ready"
    # This window's readiness gates its drift (and estimate); its cohort (the healthy week
    # before) is judged on its own readiness (issue 10).
    assert run["drift"] == "inconclusive" and run["performance"] in ("ok", "breach")
    (incident,) = _incidents()
    assert incident["severity"] == "critical" and incident["check"] == "readiness:tiny"


@pytest.mark.parametrize("validate_in", ["memory", "database"])
def test_pii_values_appear_nowhere(tiny_feed, gapwatch_home: Path, validate_in: str) -> None:
    url, suites, baseline = tiny_feed
    (suites / "tiny.json").write_text(
        json.dumps(
            {
                "name": "tiny",
                "expectations": [
                    # every one fails on every row, so GX has unexpected values to show
                    {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "national_id", "regex": "^ID"}},
                    {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "email", "value_set": ["x"]}},
                    {"type": "expect_column_value_lengths_to_be_between", "kwargs": {"column": "email", "max_value": 3}},
                    {"type": "expect_column_distinct_values_to_be_in_set", "kwargs": {"column": "national_id", "value_set": ["y"]}},
                    {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "email"}},
                ],
            }
        )
    )
    window = Window(FEED_START + 2 * WEEK, FEED_START + 3 * WEEK)
    part = _rows(window.start, 7, ROWS_PER_DAY, 3)
    part.loc[part.index[1], "email"] = part.loc[part.index[0], "email"]  # a duplicate email
    _write_feed(url, [*baseline, part])
    run_window(_spec("TINY_FEED_URL", "tiny", validate_in=validate_in), window, senders=default_senders())

    (incident,) = _incidents()
    assert len(incident["evidence"]["failing_expectations"]) == 5
    texts = [m["subject"] + m["body"] + json.dumps(m["payload"]) for m in _messages()]
    outbox_file = gapwatch_home / "outbox" / "messages.jsonl"
    texts.append(outbox_file.read_text())
    with store.engine().connect() as conn:
        for table in store.metadata.sorted_tables:
            texts += [json.dumps(r, default=str) for r in store.rows(conn, sa.select(table))]
    docs = [p for folder in ("data_docs", "gx") for p in (gapwatch_home / folder).rglob("*") if p.is_file()]
    assert any(p.suffix == ".html" and "validations" in p.parts for p in docs)
    texts += [p.read_text(errors="replace") for p in docs]
    blob = "\n".join(texts)
    assert "@customers.test" not in blob and "NID-" not in blob
    assert re.search(r"person\d+", blob) is None
    # the counts are still there for the steward
    assert "email: 100.0% of non-null values not in ['x'], expected none [700 rows]" in blob, incident["evidence"]


def test_feed_break_window_has_a_data_docs_page_linked_from_the_steward_message(demo_env: Path) -> None:
    spec = load_specs().by_name("credit_default")
    window = Window(*window_bounds(FEED_BREAK_WINDOW))
    run_window(spec, window, senders=default_senders())

    (incident,) = _incidents()
    url = incident["evidence"]["data_docs_url"]
    page = Path(url.removeprefix("file://"))
    assert page.is_file() and page.is_relative_to(demo_env / "data_docs")
    with store.engine().connect() as conn:
        stored = conn.execute(sa.select(store.validations.c.data_docs_path)).scalar_one()
    assert stored == str(page)
    (message,) = _messages()
    # the steward gets a link a browser can open: the page served by Model Health behind the login
    from urllib.parse import quote

    from gapwatch import config

    served = f"{config.settings().airflow_url}/gapwatch/health/data-docs/" + quote(
        page.relative_to(demo_env / "data_docs").as_posix())
    assert message["recipient_role"] == "data_steward" and f"Data Docs: {served}" in message["body"]
    assert message["payload"]["links"]["data_docs"] == served

    text = _page_text(page)
    assert "Status: Failed" in text and "Unsuccessful Expectations 1" in text
    # the failing expectation with its observed share of nulls (1168 of 2951 rows)
    assert (
        "utilization Status Expectation Observed Value values must not be null, at least 99 % of the time. "
        "1168 unexpected values found. ≈39.58% of 2951 total rows."
    ) in text
    # the site index (a table GX fills in from embedded data) links to the page
    assert str(page.relative_to(demo_env / "data_docs")) in (demo_env / "data_docs" / "index.html").read_text()


def _page_text(path: Path) -> str:
    import html

    raw = path.read_text()
    raw = re.sub(r"<(script|style).*?</\1>", " ", raw, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", raw)))


def test_suggested_suite_passes_healthy_windows_and_fails_the_feed_break(
    demo_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from gapwatch import sources
    from gapwatch.cli.main import main
    from gapwatch.readiness.suite import validate_dataframe

    monkeypatch.setenv("GAPWATCH_EXPECTATIONS_DIR", str(tmp_path))
    start, _ = window_bounds(1)
    _, end = window_bounds(2)
    args = ["suite", "suggest", "credit_default", "--start", start.isoformat(), "--end", end.isoformat()]
    assert main(args) == 0
    path = tmp_path / "credit_default_inputs.json"
    suite = json.loads(path.read_text())
    types = {e["type"] for e in suite["expectations"]}
    assert {"expect_column_values_to_not_be_null", "expect_column_values_to_be_between",
            "expect_column_values_to_be_in_set", "expect_table_columns_to_match_set"} <= types
    assert "@example.com" not in path.read_text()  # customer_email is PII: null rate only

    before = path.read_text()
    assert main(args) == 1  # never overwrites without --force
    assert "--force" in capsys.readouterr().err and path.read_text() == before
    assert main([*args, "--force"]) == 0

    spec = load_specs().by_name("credit_default")
    for k in (3, 4, 6, 7):
        result = validate_dataframe(sources.read_window(spec, *window_bounds(k)), path)
        assert result.success and not result.warnings, (k, [o.description for o in result.outcomes if not o.success])
    broken = validate_dataframe(sources.read_window(spec, *window_bounds(FEED_BREAK_WINDOW)), path)
    assert not broken.success
    assert [o.column for o in broken.critical_failures] == ["utilization"]


def test_readiness_show_prints_each_expectation(demo_env: Path, capsys: pytest.CaptureFixture) -> None:
    from gapwatch.cli.main import main

    spec = load_specs().by_name("credit_default")
    run_window(spec, Window(*window_bounds(FEED_BREAK_WINDOW)), senders=default_senders())
    capsys.readouterr()
    assert main(["readiness", "show", "credit_default", "--window", "2026-02-02"]) == 0
    out = capsys.readouterr().out
    assert "NOT READY" in out and "Data Docs: " in out and "credit_default.html" in out
    assert "FAIL critical suite      expect_column_values_to_not_be_null" in out
    assert "utilization: 39.6% null, expected at most 1% (mostly=0.99) [1168 rows]" in out
    assert "ok   critical freshness  expect_column_max_to_be_between" in out


@pytest.fixture
def pg_demo_url(pg_url: str) -> Iterator[str]:
    """The demo production database, seeded into a fresh PostgreSQL database."""
    from gapwatch import sources
    from gapwatch.demo.seed import seed_demo

    seed_demo(pg_url, seed=7)
    yield pg_url
    sources.source_engine(pg_url).dispose()


@pytest.mark.postgres
def test_in_database_validation_on_postgres_reads_no_rows(
    gapwatch_home: Path, pg_demo_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gapwatch.readiness.stage import run_readiness

    monkeypatch.setenv("GAPWATCH_DEMO_SOURCE_URL", pg_demo_url)
    spec = load_specs().by_name("credit_default")
    spec = spec.model_copy(update={"readiness": spec.readiness.model_copy(update={"validate_in": "database"})})

    def no_rows():
        raise AssertionError("in-database validation must not load the window's rows")

    # Every row any query on the source returned to this process, whoever ran it (GX's engine
    # too): GX's column-name lookup of the query asset would return the whole window.
    returned = {"rows": 0, "queries": 0}
    database = sa.engine.make_url(pg_demo_url).database

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        if conn.engine.url.database == database and cursor.description is not None:
            returned["rows"] += max(cursor.rowcount, 0)
            returned["queries"] += 1

    sa.event.listen(sa.Engine, "after_cursor_execute", count)
    try:
        summary = run_readiness(spec, Window(*window_bounds(FEED_BREAK_WINDOW)), no_rows)
    finally:
        sa.event.remove(sa.Engine, "after_cursor_execute", count)
    assert not summary["ready"] and summary["validate_in"] == "database"
    # Aggregates (one row each) and a few failing-row examples per expectation, not the window.
    assert 0 < returned["rows"] < summary["rows"] // 4, returned
    assert summary["critical_failures"] == ["utilization: 39.6% null, expected at most 1% (mostly=0.99) [1168 rows]"]
    assert summary["rows"] == 2951
    assert Path(summary["data_docs_url"].removeprefix("file://")).is_file()
    healthy = run_readiness(spec, Window(*window_bounds(4)), no_rows)
    assert healthy["ready"] and not healthy["warnings"], healthy
