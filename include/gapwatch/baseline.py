"""The baseline's reference summary: computed once per monitor and baseline, stored, then loaded.

``assessment.summarize_reference`` turns the reference rows (a past window or a reference table)
into a few hundred numbers per column: drift statistics, metric values with their spread, the
estimate's calibration map and the multivariate model. Summarising a large baseline takes
seconds to minutes, so it happens once, keyed on everything that shapes it
(:func:`_baseline_key`), and is kept in the store's ``baselines`` table.

Who computes it: the readiness stage (:func:`ensure`), which runs before the DAG forks into
``evaluate_performance`` and ``evaluate_drift``; those two run in parallel and only load it
(:func:`load`), so the first run of a new monitor summarises its baseline exactly once.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from gapwatch import sources, store
from gapwatch.indb.selection import SETTLED_AFTER_DELAYS
from gapwatch.window import shift

if TYPE_CHECKING:
    import pandas as pd

    from gapwatch.spec import MonitorSpec

BASELINE_FORMAT = 6  # bump when the stored summary changes shape, so old baselines are rebuilt
# The baseline is in the past: its labels are settled SETTLED_AFTER_DELAYS label delays on.

log = logging.getLogger(__name__)


def _baseline_key(spec: MonitorSpec) -> str:
    basis = {
        "format": BASELINE_FORMAT,
        "baseline": spec.baseline.model_dump(mode="json"),
        "predictions": spec.predictions.model_dump(mode="json"),
        "ground_truth": spec.ground_truth.model_dump(mode="json"),
        "metrics": [m.name for m in spec.metrics],
        "drift": spec.drift.model_dump(mode="json"),
        "segments": spec.segments,
    }
    return hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()[:32]


def _read_reference(spec: MonitorSpec, source: sources.Source) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The reference rows and their labeled subset (a ``label`` column), from a window or a table."""
    b = spec.baseline
    if b.table is not None:
        frame = sources.read_table(spec, b.table, source=source)
        label = b.label or spec.ground_truth.label
        if label not in frame:
            raise ValueError(f"monitor {spec.name}: reference table {b.table} has no label column {label!r}")
        frame = frame.rename(columns={label: "label"})
        return frame, frame.dropna(subset=["label"])
    assert b.start is not None and b.end is not None
    frame = sources.read_window(spec, b.start, b.end, source=source)
    as_of = shift(b.end, spec.ground_truth.delay, spec.schedule, SETTLED_AFTER_DELAYS)
    matured = sources.read_matured(spec, b.start, b.end, as_of=as_of, source=source)
    return frame, matured.dropna(subset=["label"])


def summarize_in_database(spec: MonitorSpec, source: sources.Source) -> dict[str, Any]:
    """The baseline summary (``assessment.summarize_reference``'s output) computed in the
    database: the reference's percentiles, column summaries, slice summaries, the PCA sample
    (``indb.drift.reference_drift``) and the labeled slices' cells, each one query."""
    from gapwatch.evaluation.assessment import reference_performance
    from gapwatch.evaluation.drift_stage import window_rows
    from gapwatch.indb import drift, selection
    from gapwatch.indb.performance import reference_performance_cells

    everything, labeled = selection.reference(spec, source)
    summary = drift.reference_drift(everything)
    rows = window_rows(summary["statistics"])
    rows = everything.count() if rows is None else rows
    if rows == 0:
        raise ValueError(f"monitor {spec.name}: the baseline ({spec.baseline.describe()}) has no rows")
    performance = reference_performance(spec, reference_performance_cells(labeled, spec))
    return {**summary, "rows": rows, **performance}


def stored(spec: MonitorSpec) -> dict[str, Any] | None:
    """The stored summary of the spec's baseline, or None when it was never computed.

    Stored in ``baselines.statistics`` (the per-column drift statistics) and ``baselines.metrics``
    (metric values with their spread, plus the estimate's calibration map and the multivariate
    model under the ``_model`` key).
    """
    table = store.baselines
    with store.engine().connect() as conn:
        row = conn.execute(
            sa.select(table.c.statistics, table.c.metrics).where(
                table.c.monitor == spec.name, table.c.key == _baseline_key(spec)
            )
        ).first()
    if row is None:
        return None
    metrics = dict(row.metrics)
    return {"statistics": row.statistics, **metrics.pop("_model", {}), "metrics": metrics}


def compute(spec: MonitorSpec, source: sources.Source | None = None) -> dict[str, Any]:
    """Read the reference rows, summarise them and store the summary (if absent); return it.

    Two callers computing at once store one row (insert-if-absent on monitor and key); both
    summaries are the same numbers, since the summary is deterministic.
    """
    from gapwatch.evaluation.assessment import summarize_reference

    source = source or sources.Source(spec)
    if spec.compute_in == "database":
        summary = summarize_in_database(spec, source)
    else:
        frame, labeled = _read_reference(spec, source)
        if frame.empty:
            raise ValueError(f"monitor {spec.name}: the baseline ({spec.baseline.describe()}) has no rows")
        summary = summarize_reference(spec, frame, labeled)
    model = {k: v for k, v in summary.items() if k not in ("statistics", "metrics")}
    with store.engine().begin() as conn:
        store.insert_ignore(
            conn,
            store.baselines,
            {
                "monitor": spec.name,
                "key": _baseline_key(spec),
                "statistics": summary["statistics"],
                "metrics": {**summary["metrics"], "_model": model},
                "created_at": store.utcnow(),
            },
            ["monitor", "key"],
        )
    log.info("summarised the baseline of %s (%d rows, statistics computed in %s)", spec.name, summary["rows"],
             spec.compute_in)
    return summary


def ensure(spec: MonitorSpec, source: sources.Source | None = None) -> dict[str, Any]:
    """The summary, computed and stored first if this is the baseline's first use.

    Called by the readiness stage, before performance and drift fork, so that they only load.
    """
    return stored(spec) or compute(spec, source)


def load(spec: MonitorSpec, source: sources.Source | None = None) -> dict[str, Any]:
    """The stored summary, for the stages after readiness (performance, drift).

    It is there unless the readiness stage saw another spec than this stage (a spec edited while
    the run was under way: Airflow parses the DAG file again for each task). Then this stage
    computes it rather than failing a run that can only fail again on retry; if performance and
    drift both do, the summary is still stored once.
    """
    summary = stored(spec)
    if summary is None:
        log.warning(
            "monitor %s: no stored baseline summary for this spec (it changed since check_readiness "
            "ran?); computing it here", spec.name,
        )
        summary = compute(spec, source)
    return summary
