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
    for frame in [data.reference, *data.windows]:
        # Scores with two decimals (as many models emit): at most 101 score buckets fill, so the
        # counts saturate at these sizes as they do for any model at millions of rows.
        frame["score"] = frame["score"].round(2)
    for frame in data.windows:  # rows spread over the week, as a live feed's are (freshness holds)
        frame["scored_at"] += pd.to_timedelta(np.linspace(0, 6.9 * 86_400, len(frame)), unit="s")
    load(data, url)
    spec = data.spec.model_copy(update={"compute_in": "database"})
    monkeypatch.setenv("GAPWATCH_SCENARIO_SOURCE_URL", url)  # the scenario spec's source.url_env
    FETCHED.reset()
    result = pipeline.run_window(spec, Window(START + timedelta(days=14), START + timedelta(days=21)))
    sources.source_engine.cache_clear()
    return FETCHED.rows, FETCHED.queries, result


# What the run's queries can return at most, whatever the rows: cells per (segment, score bucket,
# label, prediction) for the cohort (overall + 4 regions) and the reference's 4 slices, the
# estimate's (bucket, outside the baseline's range, prediction), and per watched column its bins
# (fine bins, 2 outside the baseline's range, null, non-finite) or its top-K categories, for the
# window, the reference and its 4 slices; plus counts and edges.
SCORES = 101  # two-decimal scores
BOUND = ((1 + 4) * SCORES * 4 + 4 * SCORES * 4 + SCORES * 2 * 2
         + (1 + 1 + 4) * (5 * (FINE_BINS + 4) + (MAX_CATEGORIES + 2)) + 50)


def test_a_window_run_fetches_counts_not_rows(pg_url, gapwatch_home, monkeypatch, tmp_path):
    # The scenario spec's suite "none": no expectations beyond the built-in checks (run in the database).
    (tmp_path / "none.json").write_text(json.dumps({"name": "none", "expectations": []}))
    monkeypatch.setenv("GAPWATCH_EXPECTATIONS_DIR", str(tmp_path))
    gapwatch_home.mkdir(parents=True, exist_ok=True)
    small, small_queries, result = _fetched(3_000, pg_url, gapwatch_home, monkeypatch)
    large, large_queries, _ = _fetched(30_000, pg_url, gapwatch_home, monkeypatch)
    print(f"rows fetched: {small} for 3,000 rows a window, {large} for 30,000 ({large_queries} queries)")
    assert result["status"] == "healthy"
    assert small_queries == large_queries  # the same queries, whatever the size
    assert large <= BOUND  # the memory path reads 180,000 rows here (window, cohort, 4-week baseline)
    assert large < 1.2 * small  # ten times the rows, about the same counts
