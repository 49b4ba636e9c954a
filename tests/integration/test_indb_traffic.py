"""The database path moves counts, not rows: a whole monitor run over a window (extract,
readiness, performance, estimate, drift, publish) on PostgreSQL fetches no more rows than the
cells, bins and sample can hold, and ten times the rows fetch about the same."""

from __future__ import annotations

import json
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from gapwatch import pipeline, sources
from gapwatch.demo import scenarios
from gapwatch.demo.scenario_world import Population
from gapwatch.demo.scenarios_db import load
from gapwatch.demo.seed import DEMO_START as START
from gapwatch.evaluation.cells import SCORE_BUCKETS
from gapwatch.evaluation.summaries import FINE_BINS, MAX_CATEGORIES
from gapwatch.indb.selection import FETCHED
from gapwatch.window import Window

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


def _fetched(rows: int, url: str, home, monkeypatch) -> tuple[int, int, dict]:
    # A store of its own: the baseline is summarised (in the database) by each run.
    monkeypatch.setenv("GAPWATCH_DB_URL", f"sqlite:///{home / f'gapwatch_{rows}.db'}")
    s = scenarios.Scenario("traffic", "healthy windows of a given size", [Population()] * 3, [rows] * 3,
                           baseline_size=rows, seed=3)
    data = scenarios.scenario_data(s)
    for frame in data.windows:  # rows spread over the week, as a live feed's are (freshness holds)
        frame["scored_at"] += pd.to_timedelta(np.linspace(0, 6.9 * 86_400, len(frame)), unit="s")
    load(data, url)
    spec = data.spec.model_copy(update={"compute_in": "database"})
    monkeypatch.setenv("GAPWATCH_SCENARIO_SOURCE_URL", url)  # the scenario spec's source.url_env
    FETCHED.reset()
    result = pipeline.run_window(spec, Window(START + timedelta(days=14), START + timedelta(days=21)))
    sources.source_engine.cache_clear()
    return FETCHED.rows, FETCHED.queries, result


def _bound(spec_columns: int, segments: int, categorical: int, sample: int) -> int:
    # Cells: (overall + each segment value) x score buckets x label x prediction, for the cohort and
    # the estimate; drift: the fine bins (+2 outside the baseline's range, + null/non-finite) per
    # numeric column, top-K per categorical column; plus the counts and the PCA sample.
    cells = (1 + segments) * SCORE_BUCKETS * 4 + SCORE_BUCKETS * 2 * 2
    bins = spec_columns * (FINE_BINS + 4) + categorical * (MAX_CATEGORIES + 2)
    return cells + bins + sample + 100


def test_a_window_run_fetches_counts_not_rows(pg_url, gapwatch_home, monkeypatch, tmp_path):
    # The scenario spec's suite "none": no expectations beyond the built-in checks (run in the database).
    (tmp_path / "none.json").write_text(json.dumps({"name": "none", "expectations": []}))
    monkeypatch.setenv("GAPWATCH_EXPECTATIONS_DIR", str(tmp_path))
    gapwatch_home.mkdir(parents=True, exist_ok=True)
    small, small_queries, result = _fetched(3_000, pg_url, gapwatch_home, monkeypatch)
    large, large_queries, _ = _fetched(30_000, pg_url, gapwatch_home, monkeypatch)
    print(f"rows fetched: {small} for 3,000 rows a window, {large} for 30,000 ({large_queries} queries)")
    assert result["status"] == "healthy"
    # 5 numeric columns (x1-x4, score), region as segment and categorical feature.
    assert large <= _bound(5, 4, 1, 0)
    # The memory path reads the window, its cohort and the 4-window baseline: 180,000 rows.
    assert large < 180_000 / 5
    assert small_queries == large_queries  # the same queries, whatever the size
    # Counts grow only as more score buckets fill up (bounded above), never in proportion to rows.
    assert large < 3 * small
