"""The drift stage of the evaluation: the baseline's drift summary and a window's drift verdict.

Both executions feed the same pure judgement: the memory path summarises frames here
(``reference_drift``, ``assess_drift``); the database path computes the same summaries and PCA
sample with ``gapwatch.indb.drift`` and calls ``drift_reference`` and ``judge_drift``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from gapwatch.catalog import MULTICLASS, REGRESSION
from gapwatch.evaluation.frames import BOOTSTRAP_SEED, NO_ROWS, numeric_checked, slices

if TYPE_CHECKING:
    import pandas as pd

    from gapwatch.spec import MonitorSpec

MULTIVARIATE_COLUMN = "__multivariate__"


def drift_columns(spec: MonitorSpec) -> dict[str, str]:
    """Columns whose distribution is watched: non-PII features plus the score or prediction.

    PII is ``spec.pii_columns`` (features marked ``pii`` and ``predictions.pii_columns``): their
    values would otherwise be kept as bin edges and category counts.
    """
    pii = spec.pii_columns
    columns: dict[str, str] = {f.name: f.kind for f in spec.predictions.features if f.name not in pii}
    if spec.predictions.score:
        columns[spec.predictions.score] = "numeric"
    elif spec.task == REGRESSION:
        columns[spec.predictions.prediction] = "numeric"
    if spec.task == MULTICLASS:
        columns[spec.predictions.prediction] = "categorical"
    return columns


def multivariate_columns(spec: MonitorSpec) -> list[str]:
    """The numeric features the PCA model reads (none unless ``drift.multivariate``)."""
    if not spec.drift.multivariate:
        return []
    return [f.name for f in spec.predictions.features if f.kind == "numeric" and f.name not in spec.pii_columns]


def reference_drift(spec: MonitorSpec, frame: pd.DataFrame) -> dict[str, Any]:
    """The drift half of the baseline summary, from the baseline rows in memory.

    The database path computes the same inputs with ``indb.drift.reference_statistics`` and
    ``indb.drift.sample`` and calls :func:`drift_reference` as this does.
    """
    from gapwatch.evaluation.drift import multivariate_sample, summarize_baseline, summarize_window

    statistics = summarize_baseline(frame, drift_columns(spec), spec.drift.bins)
    parts = [summarize_window(part, statistics) for part in slices(frame, spec)] if spec.drift.threshold else []
    columns = multivariate_columns(spec)
    sample = multivariate_sample(frame, columns, spec.drift.multivariate_sample, BOOTSTRAP_SEED) if columns else None
    return drift_reference(spec, statistics, parts, sample)


def drift_reference(
    spec: MonitorSpec, statistics: dict[str, Any], parts: list[dict[str, Any]], sample: pd.DataFrame | None
) -> dict[str, Any]:
    """The drift half of the baseline summary from its column summaries (both paths).

    Args:
        spec: the monitor.
        statistics: the baseline's column summaries.
        parts: the summaries of its ``baseline.sub_windows`` slices in time order (used with
            ``drift.threshold: auto``).
        sample: at most ``drift.multivariate_sample`` baseline rows of ``multivariate_columns``
            (None without ``drift.multivariate``).

    Returns:
        ``statistics``, plus ``drift_thresholds`` (column -> method -> threshold) with
        ``drift.threshold: auto`` and ``multivariate`` (the PCA model) when the spec asks for them.
    """
    from gapwatch.evaluation.drift import baseline_distance_thresholds, fit_reconstruction

    out: dict[str, Any] = {"statistics": statistics}
    if spec.drift.threshold == "auto":
        out["drift_thresholds"] = baseline_distance_thresholds(statistics, parts, spec.drift.threshold_k)
    if spec.drift.multivariate:
        columns = multivariate_columns(spec)
        out["multivariate"] = (
            fit_reconstruction(sample, columns, statistics, seed=BOOTSTRAP_SEED) if sample is not None else None
        )
    return out


def _drift_results(
    spec: MonitorSpec, stats: dict[str, Any], sample: pd.DataFrame | None, base: dict[str, Any]
) -> list[Any]:
    """Every column's drift results, plus the multivariate model's when the baseline has one."""
    from gapwatch.evaluation.drift import (
        DriftResult,
        compare,
        reconstruction_drift,
        reconstruction_errors,
    )

    overrides = {
        name: {"methods": o.methods, "threshold": o.threshold} for name, o in spec.drift.features.items()
    }
    results = compare(
        base["statistics"], stats, spec.drift.methods, spec.drift.method_thresholds(), overrides,
        spec.drift.significance, column_thresholds=base.get("drift_thresholds"),
    )
    model = base.get("multivariate")
    if model:
        errors = reconstruction_errors(sample, model) if sample is not None else np.empty(0)
        value, limit = reconstruction_drift(errors, model, spec.drift.multivariate_tolerance)
        finite = bool(np.isfinite(value))
        results.append(
            DriftResult(MULTIVARIATE_COLUMN, "pca_reconstruction", value if finite else None, limit,
                        finite and value > limit)
        )
    return results


def window_drift_inputs(
    spec: MonitorSpec, frame: pd.DataFrame, base: dict[str, Any]
) -> tuple[dict[str, Any], pd.DataFrame | None]:
    """The window's column summaries and its PCA sample, from its rows in memory (the database
    path gets the same from ``indb.drift.window_summaries`` and ``indb.drift.sample``)."""
    from gapwatch.evaluation.drift import multivariate_sample, summarize_window

    frame = numeric_checked(spec, frame)
    stats = summarize_window(frame, base["statistics"])
    model = base.get("multivariate")
    sample = (multivariate_sample(frame, model["columns"], spec.drift.multivariate_sample, BOOTSTRAP_SEED)
              if model else None)
    return stats, sample


def assess_drift(
    spec: MonitorSpec, frame: pd.DataFrame, base: dict[str, Any]
) -> tuple[dict[str, Any], list[Any]]:
    """``judge_drift`` on a window's rows in memory (see there)."""
    if len(frame) == 0:
        return judge_drift(spec, {}, None, base, rows=0)
    stats, sample = window_drift_inputs(spec, frame, base)
    return judge_drift(spec, stats, sample, base, rows=len(frame))


def window_rows(stats: dict[str, Any]) -> int | None:
    """The rows a window summary counted (every column counts each row once), None without columns."""
    for summary in stats.values():
        return int(summary["n"] + summary["nulls"] + summary.get("nonfinite", 0))
    return None


def judge_drift(
    spec: MonitorSpec, stats: dict[str, Any], sample: pd.DataFrame | None, base: dict[str, Any], *,
    rows: int | None = None,
) -> tuple[dict[str, Any], list[Any]]:
    """Drift of each watched column (and the multivariate model) against the baseline statistics.

    Args:
        spec: the monitor.
        stats: the window's column summaries on the baseline's layout.
        sample: the window's PCA sample (None without a multivariate model).
        base: ``summarize_reference`` output.
        rows: the window's rows (default: as its summaries counted them).

    Thresholds: a column's own in ``drift.features``, else the baseline's (``drift.threshold:
    auto``, stored in ``base["drift_thresholds"]``), else the method's.

    Returns:
        (summary, results): ``summary["drifted"]`` lists drifted columns, most drifted first, as
        ``{"column": name, <method>: value, ...}``; ``summary["ranking"]`` the top results with
        method, value, threshold and severity; results are ``drift.DriftResult``. An empty
        window is ``insufficient`` (``no_data: True``), never "no drift".
    """
    rows = window_rows(stats) if rows is None else rows
    if not rows:
        return {"status": "insufficient", "reason": NO_ROWS, "no_data": True, "drifted": [],
                "ranking": [], "values": {}}, []
    results = _drift_results(spec, stats, sample, base)
    drifted: dict[str, dict[str, Any]] = {}
    severity: dict[str, float] = {}
    for r in results:
        if r.drifted:
            drifted.setdefault(r.column, {})[r.method] = r.value
            severity[r.column] = max(severity.get(r.column, 0.0), r.severity)
    ranked = sorted(drifted, key=lambda c: -severity[c])
    ranking = sorted(results, key=lambda r: -r.severity)[:5]
    # A watched column with no value (all NULL, infinite scores) is not "no drift".
    uncomputable = sorted({r.column for r in results if r.value is None})
    summary = {
        "status": "drift" if drifted else "not_computable" if uncomputable else "ok",
        "not_computable": uncomputable,
        **({"reason": "drift not computable for " + ", ".join(uncomputable) + " (no finite values)"}
           if uncomputable else {}),
        "rows": rows,  # the predictions the drift is about (messages say how many)
        "drifted": [{"column": c, **drifted[c]} for c in ranked],
        "ranking": [{**r.to_dict(), "severity": round(r.severity, 4)} for r in ranking],
        "values": {f"{r.column}.{r.method}": r.value for r in results},
    }
    return summary, results
