"""The scenario scoreboard with its statistics computed in a database (``compute_in: database``).

:func:`database_evaluation` loads a scenario's rows into a database (a ``predictions`` table and an
``outcomes`` table whose labels arrive when the scenario judges them) and evaluates each window
through :mod:`gapwatch.window_stats`, the functions the pipeline's stages call on that path. The
findings and the scoring are :func:`gapwatch.demo.scenarios.run_scenario`'s, so a scoreboard run
this way must give the verdicts of the memory path (``tests/integration/test_scenarios_in_database``
holds them to it on PostgreSQL).

Timing of the labels: a cohort's matured labels arrive at the start of the window that judges it
(before its end, the ``as_of`` of the cohort); the reference's at twice the label delay after the
reference ends, so windows judged before any scenario window has matured see only pending labels
(the memory path has no cohort there: both are ``insufficient``) while the baseline, read three
delays late, sees them all.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from gapwatch import baseline, sources, window_stats
from gapwatch.demo.scenarios import Evaluation, ScenarioData
from gapwatch.demo.seed import DEMO_START as START
from gapwatch.window import Window
from gapwatch.window_run import WindowRun


def _tables(data: ScenarioData) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(predictions, outcomes) rows of a scenario, with ids and label arrival times."""
    period = data.period
    delay = period * -data.cohort_of[0]  # the first window's cohort lies one label delay back
    frames = [data.reference, *data.windows]
    preds = pd.concat(frames, ignore_index=True)
    preds["id"] = np.arange(len(preds))
    offsets = np.cumsum([0, *(len(f) for f in frames)])
    outcomes = [pd.DataFrame({"id": preds["id"].iloc[: len(data.reference)],
                              "label": data.reference["label"].to_numpy(),
                              "arrived_at": START + 2 * delay})]
    for t, cohort in enumerate(data.cohorts):
        c = data.cohort_of[t]
        if c < 0:
            continue
        ids = preds["id"].iloc[offsets[c + 1]: offsets[c + 2]].to_numpy()
        matured = cohort["label"].notna().to_numpy()
        outcomes.append(pd.DataFrame({"id": ids[matured], "label": cohort["label"].to_numpy()[matured],
                                      "arrived_at": START + t * period}))
    columns = ["id", "scored_at", "predicted_label", "score", "x1", "x2", "x3", "x4", "region"]
    preds = preds[columns].assign(scored_at=lambda f: pd.to_datetime(f["scored_at"]).dt.tz_localize(None))
    truth = pd.concat(outcomes, ignore_index=True)
    truth["arrived_at"] = pd.to_datetime(truth["arrived_at"]).dt.tz_localize(None)
    return preds, truth


def load(data: ScenarioData, url: str) -> None:
    """Write a scenario's rows into the database at ``url`` (its ``predictions`` and ``outcomes``
    tables replaced)."""
    preds, truth = _tables(data)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        preds.to_sql("predictions", conn, index=False, if_exists="replace", chunksize=10_000)
        truth.to_sql("outcomes", conn, index=False, if_exists="replace", chunksize=10_000)
    engine.dispose()


def database_evaluation(url: str) -> Evaluation:
    """An ``Evaluation`` for ``run_scenario`` that loads the scenario into the database at ``url``
    (replacing its ``predictions`` and ``outcomes`` tables) and computes every statistic there."""

    def evaluate(data: ScenarioData) -> tuple[dict[str, Any], list[tuple[dict[str, Any], dict[str, Any]]]]:
        spec = data.spec.model_copy(update={"compute_in": window_stats.DATABASE})
        load(data, url)
        source = sources.Source(spec, url=url)
        base = baseline.summarize_in_database(spec, source)
        out = []
        for t in range(len(data.windows)):
            window = Window(START + t * data.period, START + (t + 1) * data.period)
            run = WindowRun(spec, window)
            run.source = source  # the scoreboard's database, not the spec's url_env
            cohort = window.cohort(spec.ground_truth.delay, spec.schedule)
            performance, _ = window_stats.cohort_performance(run, cohort, base, gate=None, suspect=None)
            performance["estimate"] = window_stats.window_estimate(run, base, gate=None)
            drift, _ = window_stats.window_drift(run, base)
            out.append((performance, drift))
        source.engine.dispose()
        return base, out

    return evaluate
