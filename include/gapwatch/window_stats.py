"""Where a run's statistics come from: the database (``compute_in: database``) or the extracts.

The pipeline's stages ask this module for the *inputs* of the evaluation (cells, column
summaries, a PCA sample, row counts), and this module gets them one of two ways:

* **database** (the default): SQL aggregates over :mod:`gapwatch.indb.selection` subqueries, run
  in the source database. No extract is written; only counts and the bounded PCA sample reach the
  worker, so its memory does not grow with the window.
* **memory**: numpy over the run's Parquet extracts (``pipeline.extract_window`` writes them).

Both give the same cells, so the derivation (``gapwatch.evaluation``) and every verdict are the
same; ``tests/integration/test_indb_*`` compare the two on the same rows.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from gapwatch.window import Window

if TYPE_CHECKING:
    import pandas as pd

    from gapwatch.evaluation.cells import Cells
    from gapwatch.spec import MonitorSpec
    from gapwatch.window_run import WindowRun

DATABASE = "database"
COUNTS_FILE = "counts.json"  # the database path's extract: counts, no rows


def in_database(spec: MonitorSpec) -> bool:
    return spec.compute_in == DATABASE


def _window(run: WindowRun) -> Any:
    from gapwatch.indb import selection

    return selection.window(run.spec, run.source, run.window.start, run.window.end)


def _cohort(run: WindowRun, cohort: Window) -> Any:
    from gapwatch.indb import selection

    return selection.cohort(run.spec, run.source, cohort.start, cohort.end, as_of=run.window.end)


def save_counts(run: WindowRun, counts: dict[str, int]) -> dict[str, int]:
    """Keep the database path's extract: the window's rows and the cohort's labeled and pending
    rows (``source_check.database_problems`` counts them; nothing else is written)."""
    (run.folder / COUNTS_FILE).write_text(json.dumps(counts))
    return counts


def _counts(run: WindowRun) -> dict[str, int]:
    path = run.folder / COUNTS_FILE
    return {k: int(v) for k, v in json.loads(path.read_text()).items()} if path.is_file() else {}


def window_rows(run: WindowRun) -> int:
    """The window's rows as the extract counted them (its file, or the count it kept)."""
    if in_database(run.spec):
        return _counts(run).get("rows", 0)
    return len(run.frame("window"))


def window_frame(run: WindowRun) -> pd.DataFrame:
    """The window's rows, for what needs rows (an in-memory readiness suite): the extract on the
    memory path, read from the source on the database path."""
    from gapwatch import sources

    if in_database(run.spec):
        return sources.read_window(run.spec, run.window.start, run.window.end, source=run.source)
    return run.frame("window")


def cohort_performance(
    run: WindowRun, cohort: Window, base: dict[str, Any], *, gate: str | None, suspect: str | None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``assessment.assess_performance`` of the cohort, from cells computed where ``compute_in`` says."""
    from gapwatch.evaluation.assessment import assess_performance, performance_from_cells

    if not in_database(run.spec):
        return assess_performance(run.spec, run.frame("cohort"), base, gate=gate, suspect=suspect)
    from gapwatch.indb.performance import cohort_cells, label_counts

    selection = _cohort(run, cohort)
    labeled, pending = 0, 0
    if gate is None:  # the extract counted them; a run folder without its counts counts again
        known = _counts(run)
        labeled, pending = ((known["labeled"], known["pending"]) if "labeled" in known
                            else label_counts(selection))
    return performance_from_cells(run.spec, lambda: cohort_cells(selection, run.spec), base,
                                  labeled=labeled, pending=pending, gate=gate, suspect=suspect)


def window_estimate(run: WindowRun, base: dict[str, Any], *, gate: str | None) -> dict[str, Any]:
    """``assessment.estimate_performance`` on the window (None-gated when it failed readiness)."""
    from gapwatch.evaluation.assessment import (
        estimate_from_cells,
        estimate_performance,
        estimated_metric,
    )

    if not in_database(run.spec):
        frame = run.frame("window") if gate is None else None
        return estimate_performance(run.spec, frame, base, gate=gate)
    from gapwatch.evaluation.cells import empty
    from gapwatch.indb.performance import estimate_cells

    cells: Cells | None = None
    if gate is None:  # as the memory path: cells only for a binary classifier with a score
        watched = run.spec.predictions.score and estimated_metric(run.spec) is not None
        cells = estimate_cells(_window(run), run.spec, base) if watched else empty("estimate")
    return estimate_from_cells(run.spec, cells, base, gate=gate)


def window_drift(run: WindowRun, base: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
    """``assessment.assess_drift`` of the window against the baseline's statistics."""
    from gapwatch.evaluation.assessment import assess_drift, judge_drift

    if not in_database(run.spec):
        return assess_drift(run.spec, run.frame("window"), base)
    from gapwatch.indb import drift

    selection = _window(run)
    stats, sample, segments = drift.window_drift_inputs(selection, base)
    return judge_drift(run.spec, stats, sample, base, rows=None if stats else selection.count(), segments=segments)
