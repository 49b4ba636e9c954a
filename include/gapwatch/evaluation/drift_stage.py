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
MAX_DRIFT_SEGMENTS = 50  # segment values per column compared for drift: the most populous
SEGMENT_DRIFT_SHOWN = 10  # drifted (segment, column) pairs kept in the summary, most severe first
# A segment's column drifts only when the two-sample test on its counts also rejects at this
# level (or at ``drift.significance`` if set), divided by the tests made (segments x columns:
# Bonferroni), so a window's chance of one false segment alarm stays below that level.
SEGMENT_SIGNIFICANCE = 0.001
SEGMENT_CONCENTRATION = 2.0  # a segment's drift is its own when at least this times the whole window's


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
    ``indb.sampling.sample`` and calls :func:`drift_reference` as this does.
    """
    from gapwatch.evaluation.drift import multivariate_sample, summarize_baseline, summarize_window

    statistics = summarize_baseline(frame, drift_columns(spec), spec.drift.bins)
    parts = [summarize_window(part, statistics) for part in slices(frame, spec)] if spec.drift.threshold else []
    columns = multivariate_columns(spec)
    sample = multivariate_sample(frame, columns, spec.drift.multivariate_sample, BOOTSTRAP_SEED) if columns else None
    values = {column: chosen_segments(spec, _value_counts(frame[column])) for column in judged_segments(spec)}
    by_segment = segment_summaries(frame, statistics, values, statistics)
    return drift_reference(spec, statistics, parts, sample, segments=(values, by_segment))


def judged_segments(spec: MonitorSpec) -> list[str]:
    """The segment columns whose values are compared for drift (none without ``drift.per_segment``)."""
    return list(spec.segments) if spec.drift.per_segment and drift_columns(spec) else []


def plain_value(value: Any) -> Any:
    """A segment value as JSON keeps it and both paths compare it: numpy scalars and decimals
    (PostgreSQL NUMERIC) as Python numbers."""
    from decimal import Decimal

    if isinstance(value, np.generic):
        return value.item()
    return float(value) if isinstance(value, Decimal) else value


def chosen_segments(spec: MonitorSpec, counted: list[tuple[Any, int]]) -> list[Any]:
    """The values of a segment column that are judged for drift, from (value, baseline rows):
    those with at least ``drift.segment_min_rows`` rows, at most ``MAX_DRIFT_SEGMENTS``, most
    rows first (ties by value). Both paths choose with this. A column of other values than
    text, numbers and booleans (dates, times) is not judged per segment: none chosen."""
    enough = [(plain_value(v), int(n)) for v, n in counted
              if v is not None and v == v and int(n) >= spec.drift.segment_min_rows]  # v == v: not NaN
    if any(not isinstance(v, str | int | float) for v, _ in enough):  # bool is an int
        return []
    enough.sort(key=lambda p: (-p[1], p[0]))
    return [v for v, _ in enough[:MAX_DRIFT_SEGMENTS]]


def _value_counts(series: pd.Series) -> list[tuple[Any, int]]:
    counts = series.value_counts(dropna=True, sort=False)
    return list(zip(counts.index.tolist(), counts.tolist(), strict=True))


def segment_summaries(
    frame: pd.DataFrame, layout: dict[str, Any], values: dict[str, list[Any]], whole: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """``column=value`` -> the summary of that segment's rows on ``layout``, for each chosen value
    with rows; categories named as ``whole`` (the frame's own summary) names them, so the database
    path can count every segment in the scan that counts the whole (``indb.drift.summarize``)."""
    from gapwatch.evaluation.cells import segment_codes, segment_name
    from gapwatch.evaluation.summaries import named_in, summarize_window

    named = named_in(whole)
    out: dict[str, dict[str, Any]] = {}
    for column, wanted in values.items():
        codes, found = segment_codes(frame[column])
        index = {value: i for i, value in enumerate(found)}
        for value in wanted:
            i = index.get(value)
            if i is not None and (rows := codes == i).any():
                out[segment_name(column, value)] = summarize_window(frame[rows], layout, named=named)
    return out


def drift_reference(
    spec: MonitorSpec, statistics: dict[str, Any], parts: list[dict[str, Any]], sample: pd.DataFrame | None,
    *, segments: tuple[dict[str, list[Any]], dict[str, dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """The drift half of the baseline summary from its column summaries (both paths).

    Args:
        spec: the monitor.
        statistics: the baseline's column summaries.
        parts: the summaries of its ``baseline.sub_windows`` slices in time order (used with
            ``drift.threshold: auto``).
        sample: at most ``drift.multivariate_sample`` baseline rows of ``multivariate_columns``
            (None without ``drift.multivariate``).
        segments: (segment column -> the values judged, ``chosen_segments``; ``column=value`` ->
            that segment's summary), with ``drift.per_segment`` and segments.

    Returns:
        ``statistics``, plus ``drift_thresholds`` (column -> method -> threshold) with
        ``drift.threshold: auto``, ``multivariate`` (the PCA model) and ``segments`` ({"values",
        "statistics"}) when the spec asks for them.
    """
    from gapwatch.evaluation.drift import baseline_distance_thresholds, fit_reconstruction

    out: dict[str, Any] = {"statistics": statistics}
    if segments is not None:
        out["segments"] = {"values": segments[0], "statistics": segments[1]}
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

    results = compare(
        base["statistics"], stats, spec.drift.methods, spec.drift.method_thresholds(), _overrides(spec),
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


def _overrides(spec: MonitorSpec) -> dict[str, dict[str, Any]]:
    return {name: {"methods": o.methods, "threshold": o.threshold} for name, o in spec.drift.features.items()}


def _with_enough_rows(
    spec: MonitorSpec, reference: dict[str, Any], segments: dict[str, dict[str, Any]]
) -> tuple[dict[str, tuple[dict[str, Any], int]], list[str]]:
    """({segment: (its window summary, rows)} for the baseline segments with enough window rows,
    [the others])."""
    judged: dict[str, tuple[dict[str, Any], int]] = {}
    short = []
    for name in reference:
        actual = segments.get(name)
        rows = (window_rows(actual) or 0) if actual else 0
        if actual is None or rows < spec.drift.segment_min_rows:
            short.append(name)
        else:
            judged[name] = (actual, rows)
    return judged, short


def segment_drift(
    spec: MonitorSpec, base: dict[str, Any], stats: dict[str, Any], segments: dict[str, dict[str, Any]] | None,
    drifted: set[str] | frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Each baseline segment's window summary compared with the same segment of the baseline.

    A segment is judged when it has ``drift.segment_min_rows`` rows in the window too (the
    baseline chose only segments that had them); its columns get the same methods and the
    methods' thresholds (not ``threshold: auto``: the baseline's sub-windows calibrate the whole
    window, not a segment). A segment's column is *listed* when all hold:

    * its method says drift;
    * the two-sample test on the same counts rejects at ``drift.significance``
      (``SEGMENT_SIGNIFICANCE`` if unset) divided by the tests made (judged segments x columns);
    * the column did not drift in the whole window (``drifted``: the whole already says so);
    * its severity is at least ``SEGMENT_CONCENTRATION`` times the whole window's by the same
      method: the move is concentrated in the segment. Without this, a whole window moving just
      under a threshold crosses it in some segments by their sampling noise alone.

    Returns:
        {} without segment statistics in the baseline; else ``judged`` (segments compared),
        ``too_few_rows`` (baseline segments with too few window rows: not judged, not healthy),
        ``drifted`` ([{segment, column, rows, severity, values: {method: value}}] listed, most severe
        first, at most ``SEGMENT_DRIFT_SHOWN``), ``drifted_count`` (all listed) and ``with_whole``
        (pairs that drifted in their segment like the whole window: counted, not listed).
    """
    from gapwatch.evaluation.drift import compare, drift_value, severity, significance_pvalue

    reference = (base.get("segments") or {}).get("statistics") or {}
    if not reference:
        return {}
    judged, short = _with_enough_rows(spec, reference, segments or {})
    tests = sum(len(reference[name]) for name in judged)
    alpha = (spec.drift.significance or SEGMENT_SIGNIFICANCE) / max(tests, 1)

    found: dict[tuple[str, str], dict[str, Any]] = {}
    like_whole: set[tuple[str, str]] = set()
    for name, (actual, rows) in judged.items():
        expected = reference[name]
        for r in compare(expected, actual, spec.drift.methods, spec.drift.method_thresholds(), _overrides(spec)):
            if not r.drifted or significance_pvalue(expected[r.column], actual[r.column]) >= alpha:
                continue
            whole = drift_value(r.method, base["statistics"][r.column], stats[r.column])
            if r.column in drifted or r.severity < SEGMENT_CONCENTRATION * severity(r.method, whole, r.threshold):
                like_whole.add((name, r.column))
                continue
            entry = found.setdefault((name, r.column), {"segment": name, "column": r.column, "rows": rows,
                                                        "severity": 0.0, "values": {}})
            entry["values"][r.method] = r.value
            entry["severity"] = round(max(entry["severity"], r.severity), 4)
    ranked = sorted(found.values(), key=lambda d: -d["severity"])
    return {"judged": len(judged), "too_few_rows": short, "drifted": ranked[:SEGMENT_DRIFT_SHOWN],
            "drifted_count": len(ranked), "with_whole": len(like_whole - set(found))}


def window_drift_inputs(
    spec: MonitorSpec, frame: pd.DataFrame, base: dict[str, Any]
) -> tuple[dict[str, Any], pd.DataFrame | None, dict[str, dict[str, Any]]]:
    """The window's column summaries, its PCA sample and its segments' summaries, from its rows
    in memory (the database path gets the same from ``indb.drift.window_drift_inputs``)."""
    from gapwatch.evaluation.drift import multivariate_sample, summarize_window

    frame = numeric_checked(spec, frame)
    stats = summarize_window(frame, base["statistics"])
    model = base.get("multivariate")
    sample = (multivariate_sample(frame, model["columns"], spec.drift.multivariate_sample, BOOTSTRAP_SEED)
              if model else None)
    values = (base.get("segments") or {}).get("values") or {}
    return stats, sample, segment_summaries(frame, base["statistics"], values, stats)


def assess_drift(
    spec: MonitorSpec, frame: pd.DataFrame, base: dict[str, Any]
) -> tuple[dict[str, Any], list[Any]]:
    """``judge_drift`` on a window's rows in memory (see there)."""
    if len(frame) == 0:
        return judge_drift(spec, {}, None, base, rows=0)
    stats, sample, segments = window_drift_inputs(spec, frame, base)
    return judge_drift(spec, stats, sample, base, rows=len(frame), segments=segments)


def window_rows(stats: dict[str, Any]) -> int | None:
    """The rows a window summary counted (every column counts each row once), None without columns."""
    for summary in stats.values():
        return int(summary["n"] + summary["nulls"] + summary.get("nonfinite", 0))
    return None


def judge_drift(
    spec: MonitorSpec, stats: dict[str, Any], sample: pd.DataFrame | None, base: dict[str, Any], *,
    rows: int | None = None, segments: dict[str, dict[str, Any]] | None = None,
) -> tuple[dict[str, Any], list[Any]]:
    """Drift of each watched column (and the multivariate model) against the baseline statistics,
    and of each judged segment against the same segment of the baseline (:func:`segment_drift`).

    Args:
        spec: the monitor.
        stats: the window's column summaries on the baseline's layout.
        sample: the window's PCA sample (None without a multivariate model).
        base: ``summarize_reference`` output.
        rows: the window's rows (default: as its summaries counted them).
        segments: ``column=value`` -> the window's summary of that segment.

    Thresholds: a column's own in ``drift.features``, else the baseline's (``drift.threshold:
    auto``, stored in ``base["drift_thresholds"]``), else the method's.

    Returns:
        (summary, results): ``summary["drifted"]`` lists drifted columns, most drifted first, as
        ``{"column": name, <method>: value, ...}``; ``summary["ranking"]`` the top results with
        method, value, threshold and severity; ``summary["segments"]`` the segment verdicts
        (``drift`` when a segment drifted, even if the whole window did not); results are
        ``drift.DriftResult`` of the whole window. An empty window is ``insufficient``
        (``no_data: True``), never "no drift".
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
    by_segment = segment_drift(spec, base, stats, segments, set(drifted))
    summary = {
        "status": "drift" if drifted or by_segment.get("drifted") else "not_computable" if uncomputable else "ok",
        "not_computable": uncomputable,
        **({"reason": "drift not computable for " + ", ".join(uncomputable) + " (no finite values)"}
           if uncomputable else {}),
        "rows": rows,  # the predictions the drift is about (messages say how many)
        "drifted": [{"column": c, **drifted[c]} for c in ranked],
        "ranking": [{**r.to_dict(), "severity": round(r.severity, 4)} for r in ranking],
        "values": {f"{r.column}.{r.method}": r.value for r in results},
        **({"segments": by_segment} if by_segment else {}),
    }
    return summary, results
