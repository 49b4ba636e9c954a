"""The evaluation at the heart of a monitor run, as pure functions of frames and the baseline.

``pipeline`` wraps these with file loading and store writes (the Airflow tasks call ``pipeline``);
the scenario scoreboard (``scenarios``) calls them directly on generated data, so the scoreboard
measures exactly the code that runs in production.

* ``summarize_reference``: the baseline, summarised once (drift statistics, metric values and
  their spread over sub-windows, a calibration map and the positive rate for the label-free
  estimate, the multivariate drift model).
* ``assess_performance``: every metric, overall and per segment, on matured labels only.
* ``estimate_performance``: the label-free CBPE estimate on the window's own predictions.
* ``assess_drift``: every column's drift against the baseline's stored statistics.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from gapwatch.catalog import BINARY, BREACH_Z, ESTIMABLE, METRICS, Severity
from gapwatch.evaluation.drift_stage import MULTIVARIATE_COLUMN as MULTIVARIATE_COLUMN
from gapwatch.evaluation.drift_stage import assess_drift as assess_drift
from gapwatch.evaluation.drift_stage import drift_columns as drift_columns
from gapwatch.evaluation.drift_stage import judge_drift as judge_drift
from gapwatch.evaluation.drift_stage import reference_drift
from gapwatch.evaluation.frames import BOOTSTRAP_SEED as BOOTSTRAP_SEED
from gapwatch.evaluation.frames import NO_ROWS as NO_ROWS
from gapwatch.evaluation.frames import numeric_checked as numeric_checked
from gapwatch.spec import Metric, MonitorSpec

if TYPE_CHECKING:
    import pandas as pd

    from gapwatch.evaluation.cells import Cells
    from gapwatch.evaluation.metrics import Limit

OVERALL = "*"


def metric_values(spec: MonitorSpec, labeled: pd.DataFrame) -> dict[str, Any]:
    """Every spec metric on labeled rows (a ``label`` column), each with its standard error."""
    from gapwatch.evaluation.cells import frame_cells
    from gapwatch.evaluation.derive import derive

    return derive(frame_cells(spec, labeled), [m.name for m in spec.metrics], seed=BOOTSTRAP_SEED)


def reference_performance(spec: MonitorSpec, slices: list[Cells]) -> dict[str, Any]:
    """The baseline's metrics from the cells of its labeled sub-window slices (one pass each,
    from memory or the database): ``metrics`` (``derive.reference_metrics``), for a binary
    classifier with a score ``calibration`` and ``prior`` (for the estimate)."""
    from gapwatch.evaluation.cells import merge
    from gapwatch.evaluation.derive import calibration, prior, reference_metrics

    overall = merge(slices)
    out: dict[str, Any] = {"metrics": reference_metrics(overall, slices, [m.name for m in spec.metrics],
                                                         seed=BOOTSTRAP_SEED)}
    if spec.task == BINARY and spec.predictions.score and overall.rows:
        out["calibration"], out["prior"] = calibration(overall), prior(overall)
    return out


def summarize_reference(spec: MonitorSpec, frame: pd.DataFrame, labeled: pd.DataFrame) -> dict[str, Any]:
    """Summarise the baseline once.

    Args:
        spec: the monitor.
        frame: the baseline's predictions (every row; for drift statistics).
        labeled: the baseline's predictions with a non-null ``label`` column.

    Returns:
        A JSON-safe dict: ``statistics`` (per-column summaries), ``metrics`` (name -> value,
        stderr, n, spread_mean, spread_std, spread_values over the sub-windows and spread_n,
        their mean rows), for binary classifiers ``calibration`` and ``prior`` (for the
        estimate), ``multivariate`` (the PCA model) when the spec asks for it, and
        ``drift_thresholds`` (column -> method -> threshold) with ``drift.threshold: auto``.
    """
    from gapwatch.evaluation.cells import slice_cells

    frame, labeled = numeric_checked(spec, frame), numeric_checked(spec, labeled)
    performance = reference_performance(spec, slice_cells(spec, labeled))
    return {**reference_drift(spec, frame), "rows": len(frame), **performance}


def metric_limits(
    metric: Metric, base: dict[str, Any], *, sub_windows: int, n: int | None = None
) -> list[Limit]:
    """The limits a metric is judged on, strictest first (see ``spec.Metric.limits``).

    Args:
        metric: the spec's metric.
        base: the baseline's metric entries (``summarize_reference(...)["metrics"]``).
        sub_windows: the baseline's sub-windows (chooses the default limit of a metric without one).
        n: rows the judged value was computed on (scales a spread limit to the window's size).
    """
    from gapwatch.evaluation.metrics import limits_for
    from gapwatch.spec import DEFAULT_RELATIVE_DROP

    entry = base.get(metric.name, {})
    # A spread of exactly zero (every sub-window the same value, e.g. a perfect classifier)
    # measures no noise at all: a limit at the mean would fire on any rounding. No spread then.
    spread = (entry["spread_mean"], entry["spread_std"]) if entry.get("spread_std") else None
    chosen = metric.limits(sub_windows)
    if "spread_k" in chosen and spread is None and len(chosen) == 1 and metric.spread_k is None:
        # The default spread limit with no spread to compute it from (too few judged sub-windows,
        # or none varied): fall back to the other default rather than leave the metric unwatched.
        chosen = {"max_relative_drop": DEFAULT_RELATIVE_DROP}
    return limits_for(
        metric.higher_is_better,
        chosen.get("floor"),
        chosen.get("max_drop"),
        entry.get("value"),
        max_relative_drop=chosen.get("max_relative_drop"),
        spread=spread,
        spread_k=chosen.get("spread_k"),
        n_sub=entry.get("spread_n"),
        n_window=n,
    )


def metric_threshold(
    metric: Metric, base: dict[str, Any], *, sub_windows: int = 4, n: int | None = None
) -> float | None:
    """The strictest limit of a metric given the baseline's values (None without any)."""
    limits = metric_limits(metric, base, sub_windows=sub_windows, n=n)
    return limits[0].threshold if limits else None


def _row(
    spec: MonitorSpec, segment: str, metric: Metric, value: Any, base: dict[str, Any], *,
    rows: int, cells: Cells | None = None, estimated: bool = False,
) -> dict[str, Any]:
    """One judged metric value: the value, its band, the deciding limit and its rule, the status.

    ``rows`` is how many rows it was meant to use; a metric with enough of them but no value
    (one class only, NaN or infinite inputs) is ``not_computable`` with the reason, never ``ok``.
    """
    from gapwatch.evaluation.metrics import judge

    limits = metric_limits(metric, base, sub_windows=spec.baseline.sub_windows, n=value.n)
    uncomputable = rows >= metric.min_labels and (value.value is None or value.n < metric.min_labels)
    too_few = value.n < metric.min_labels
    breach, deciding = judge(value, limits, metric.higher_is_better, BREACH_Z)
    breach = breach and not too_few
    margin = BREACH_Z * value.stderr if value.stderr is not None and value.value is not None else None
    status = "not_computable" if uncomputable else "insufficient" if too_few else "breach" if breach else "ok"
    return {
        "segment": segment,
        "metric": metric.name,
        "value": value.value,
        "stderr": value.stderr,
        "interval": [value.value - margin, value.value + margin] if margin is not None else None,
        "uncertainty": value.uncertainty,
        "bound": value.bound,  # ROC / PR AUC from score buckets: the largest difference to exact
        "baseline": base.get(metric.name, {}).get("value"),
        "threshold": deciding.threshold if deciding else None,
        # How the threshold was set and judged: spread_k (the value decides) or floor / max_drop /
        # max_relative_drop (the one-sided 95% bound decides); every computable limit in ``limits``.
        "rule": deciding.rule if deciding else None,
        "needs_bound": deciding.needs_bound if deciding else None,
        "limits": [lim.to_dict() for lim in limits],
        "n": value.n,
        "status": status,
        "reason": not_computable_reason(spec, metric, value, rows, cells) if uncomputable else None,
        "estimated": estimated,
    }


def not_computable_reason(
    spec: MonitorSpec, metric: Metric, value: Any, rows: int, cells: Cells | None
) -> str:
    """Why a metric has no value on ``rows`` rows, in words (the finding's and message's reason)."""
    if value.n < rows:
        used = (f"only {value.n} of {rows} rows have a finite label, prediction"
                + (" and score" if METRICS[metric.name].needs_score else ""))
        if value.value is None or value.n < metric.min_labels:
            return f"{metric.name} not computable: {used} (NULL, NaN or infinite values)"
    labels = set() if cells is None else {v for v in cells.keys.get("y", ()) if v is not None and v != -1}
    if len(labels) == 1:
        label = labels.pop()
        label = float(label) if cells is not None and cells.kind == "binary" else label  # 1.0, as stored
        return f"{metric.name} not computable: all {rows} matured labels are {label!r} (one class only)"
    return f"{metric.name} not computable on {rows} rows"


NO_LABELS = "no matured labels"


def _performance_gate(spec: MonitorSpec, rows: int, labeled: int, gate: str | None) -> dict[str, Any]:
    """Whether the cohort can be judged: status ok, or why not (``no_data`` when empty)."""
    main = spec.main_metric
    if gate is not None:
        return {"status": "inconclusive", "reason": gate}
    if rows == 0:
        return {"status": "insufficient", "reason": NO_ROWS, "no_data": True}
    if labeled == 0:
        return {"status": "insufficient", "reason": NO_LABELS, "no_data": True}
    if labeled < main.min_labels:
        return {"status": "insufficient",
                "reason": f"{labeled} matured labels, fewer than min_labels={main.min_labels}"}
    return {"status": "ok"}


def assess_performance(
    spec: MonitorSpec, cohort: pd.DataFrame, base: dict[str, Any], *, gate: str | None = None,
    suspect: str | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Every metric on the cohort's matured labels, overall and per segment, against the baseline.

    Args:
        spec: the monitor.
        cohort: the predictions being judged, with a ``label`` column (null = still pending).
        base: ``summarize_reference`` output.
        gate: a reason the cohort cannot be judged at all; None when it can.
        suspect: a reason the cohort's data is not trusted (its own window failed readiness):
            the metrics are still computed and stored, a breach still counts (``suspect_data``:
            the likely cause is the data), anything else is ``inconclusive``.

    Returns:
        (summary, rows): the summary's ``status`` is ``breach`` (a critical metric breaches; every
        critical breach is in ``breached``) / ``not_computable`` (the main metric has no value) /
        ``ok`` / ``insufficient`` ("not enough labels", never an alarm; with ``no_data: True``
        and the reason "no rows in the window" or "no matured labels" when there is nothing to
        judge) / ``inconclusive``; rows are every metric x segment.
    """
    from gapwatch.evaluation.cells import from_frame

    labeled = cohort.dropna(subset=["label"]) if "label" in cohort else cohort.iloc[:0]
    return performance_from_cells(
        spec, lambda: from_frame(spec, numeric_checked(spec, labeled)), base, labeled=len(labeled),
        pending=len(cohort) - len(labeled), gate=gate, suspect=suspect)


def performance_from_cells(
    spec: MonitorSpec, segments: dict[str, Cells] | Callable[[], dict[str, Cells]], base: dict[str, Any], *,
    labeled: int, pending: int, gate: str | None = None, suspect: str | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``assess_performance`` from the cohort's labeled cells per segment (``cells.from_frame`` or
    ``indb.performance.cohort_cells``; a callable is called only when the cohort can be judged),
    ``labeled`` and ``pending`` rows."""
    rows = labeled + pending
    summary: dict[str, Any] = {
        "labeled": labeled, "pending": pending, "pending_share": pending / rows if rows else None,
        "metrics": {}, "segments": [], "breached": [], **_performance_gate(spec, rows, labeled, gate),
    }
    if summary["status"] != "ok":
        return summary, []

    metric_rows = _metric_rows(spec, segments() if callable(segments) else segments, base["metrics"])
    main = spec.main_metric
    summary["metrics"] = {r["metric"]: r for r in metric_rows if r["segment"] == OVERALL}
    summary["segments"] = [r for r in metric_rows if r["segment"] != OVERALL and r["metric"] == main.name]
    summary["breached"] = [m.name for m in spec.metrics if spec.metric_severity(m) is Severity.CRITICAL
                           and summary["metrics"][m.name]["status"] == "breach"]
    if summary["breached"]:
        summary["status"] = "breach"
    elif summary["metrics"][main.name]["status"] == "not_computable":
        summary["status"], summary["reason"] = "not_computable", summary["metrics"][main.name]["reason"]
    if suspect is not None:
        summary["suspect_data"] = True
        summary["reason"] = suspect
        if summary["status"] != "breach":
            summary["status"] = "inconclusive"
    return summary, metric_rows


def _metric_rows(spec: MonitorSpec, segments: dict[str, Cells], metrics_base: dict[str, Any]) -> list[dict[str, Any]]:
    """Every metric x segment row from each segment's cells (the whole cohort is segment ``*``)."""
    from gapwatch.evaluation.derive import derive

    by_name = {m.name: m for m in spec.metrics}
    rows: list[dict[str, Any]] = []
    for segment, cells in segments.items():
        for name, value in derive(cells, list(by_name), seed=BOOTSTRAP_SEED).items():
            rows.append(_row(spec, segment, by_name[name], value, metrics_base, rows=cells.rows, cells=cells))
    return rows


def estimated_metric(spec: MonitorSpec) -> Metric | None:
    """The spec metric the label-free estimate watches: the first one CBPE can estimate."""
    if spec.task != BINARY or not spec.predictions.score:
        return None
    return next((m for m in spec.metrics if m.name in ESTIMABLE), None)


def estimate_performance(
    spec: MonitorSpec, frame: pd.DataFrame | None, base: dict[str, Any], *, gate: str | None = None
) -> dict[str, Any]:
    """Label-free estimate (CBPE) of a binary classifier's metric on the window's predictions.

    Rows with a numeric input outside the baseline's range are where the model extrapolates and
    its calibration cannot be trusted; they get the baseline's positive rate (see
    ``evaluation.estimate.estimate_binary``). Always marked ``estimated``; a breach is judged like
    a realized value (against the same limits, by the same rules).

    Returns:
        ``{"status": ok|breach|insufficient|inconclusive|not_applicable, "metric", "row",
        "unsupported_share"}``; an empty window is ``insufficient`` with ``no_data: True``.
    """
    from gapwatch.evaluation.cells import empty, estimate_cells
    from gapwatch.evaluation.drift import outside_support

    cells = None if frame is None else empty("estimate")
    p = spec.predictions
    if gate is None and frame is not None and len(frame) and p.score and estimated_metric(spec):
        frame = numeric_checked(spec, frame)
        cells = estimate_cells(frame[p.score].to_numpy(dtype=float, na_value=np.nan),
                               frame[p.prediction].to_numpy(dtype=float, na_value=np.nan),
                               outside_support(frame, base["statistics"]))
    return estimate_from_cells(spec, cells, base, gate=gate)


def estimate_from_cells(spec: MonitorSpec, cells: Cells | None, base: dict[str, Any], *,
                        gate: str | None = None) -> dict[str, Any]:
    """``estimate_performance`` from the window's estimate cells (``cells.estimate_cells`` or
    ``indb.performance.estimate_cells``; None: no window to estimate on)."""
    from gapwatch.evaluation.derive import estimate

    metric = estimated_metric(spec)
    if metric is None:
        return {"status": "not_applicable", "estimated": True}
    if gate is not None or cells is None:
        return {"status": "inconclusive", "reason": gate, "metric": metric.name, "estimated": True}
    if cells.rows == 0:
        return {"status": "insufficient", "reason": NO_ROWS, "no_data": True, "metric": metric.name,
                "rows": 0, "estimated": True}
    if "calibration" not in base:
        return {"status": "not_applicable", "estimated": True}
    value = estimate(cells, base["calibration"], [metric.name], prior=base.get("prior"),
                     seed=BOOTSTRAP_SEED)[metric.name]
    row = _row(spec, OVERALL, metric, value, base["metrics"], rows=cells.rows, estimated=True)
    outside = int(cells.sums["n"][cells.keys["unsupported"] == 1].sum())
    return {
        "status": row["status"],
        "metric": metric.name,
        "row": row,
        "rows": cells.rows,
        "unsupported_share": outside / cells.rows,
        "estimated": True,
    }
