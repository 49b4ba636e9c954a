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

from typing import TYPE_CHECKING, Any

import numpy as np

from gapwatch.catalog import BINARY, BREACH_Z, ESTIMABLE, MULTICLASS, REGRESSION
from gapwatch.spec import Metric, MonitorSpec

if TYPE_CHECKING:
    import pandas as pd

OVERALL = "*"
BOOTSTRAP_SEED = 20260105  # fixed: the same window always gets the same bootstrap errors
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


def metric_values(spec: MonitorSpec, labeled: pd.DataFrame) -> dict[str, Any]:
    """Every spec metric on labeled rows (a ``label`` column), each with its standard error."""
    from gapwatch.evaluation.metrics import compute_metrics

    p = spec.predictions
    score = labeled[p.score].to_numpy(dtype=float, na_value=np.nan) if p.score else None
    if spec.task == MULTICLASS:
        truth, pred = labeled["label"].to_numpy(dtype=object), labeled[p.prediction].to_numpy(dtype=object)
    else:
        truth = labeled["label"].to_numpy(dtype=float, na_value=np.nan)
        pred = labeled[p.prediction].to_numpy(dtype=float, na_value=np.nan)
    names = [m.name for m in spec.metrics]
    return compute_metrics(spec.task, names, truth, pred, score, seed=BOOTSTRAP_SEED)


def _slices(frame: pd.DataFrame, spec: MonitorSpec) -> list[pd.DataFrame]:
    """The baseline cut into ``sub_windows`` equal slices, in time order where there is a time."""
    k = spec.baseline.sub_windows
    ts = spec.predictions.timestamp
    ordered = frame.sort_values(ts, kind="stable") if ts in frame else frame
    return [ordered.iloc[i * len(ordered) // k : (i + 1) * len(ordered) // k] for i in range(k)]


def summarize_reference(spec: MonitorSpec, frame: pd.DataFrame, labeled: pd.DataFrame) -> dict[str, Any]:
    """Summarise the baseline once.

    Args:
        spec: the monitor.
        frame: the baseline's predictions (every row; for drift statistics).
        labeled: the baseline's predictions with a non-null ``label`` column.

    Returns:
        A JSON-safe dict: ``statistics`` (per-column summaries), ``metrics`` (name -> value,
        stderr, n, spread_mean, spread_std, spread_values over the sub-windows), and for binary
        classifiers ``calibration`` and ``prior`` (for the estimate), and ``multivariate`` (the
        PCA model) when the spec asks for it.
    """
    from gapwatch.evaluation.drift import fit_reconstruction, summarize_baseline
    from gapwatch.evaluation.metrics import calibration_map

    statistics = summarize_baseline(frame, drift_columns(spec), spec.drift.bins)
    metrics = {name: value.to_dict() for name, value in metric_values(spec, labeled).items()}
    per_slice = [metric_values(spec, part) for part in _slices(labeled, spec)]
    for name, entry in metrics.items():
        values = [s[name].value for s in per_slice if s[name].value is not None]
        entry["spread_values"] = values
        entry["spread_mean"] = float(np.mean(values)) if values else None
        entry["spread_std"] = float(np.std(values, ddof=1)) if len(values) > 1 else None
    out: dict[str, Any] = {"statistics": statistics, "metrics": metrics, "rows": len(frame)}
    p = spec.predictions
    if spec.task == BINARY and p.score and len(labeled):
        y = labeled["label"].to_numpy(dtype=float)
        out["calibration"] = calibration_map(y, labeled[p.score].to_numpy(dtype=float, na_value=np.nan))
        out["prior"] = float(np.mean(y))
    if spec.drift.multivariate:
        numeric = [f.name for f in p.features if f.kind == "numeric" and f.name not in spec.pii_columns]
        out["multivariate"] = fit_reconstruction(frame, numeric, seed=BOOTSTRAP_SEED)
    return out


def metric_threshold(metric: Metric, base: dict[str, Any]) -> float | None:
    """The effective limit of a metric given the baseline's values (see ``spec.Metric``)."""
    from gapwatch.evaluation.metrics import threshold_for

    entry = base.get(metric.name, {})
    spread = (entry["spread_mean"], entry["spread_std"]) if entry.get("spread_std") is not None else None
    return threshold_for(
        metric.higher_is_better,
        metric.floor,
        metric.max_drop,
        entry.get("value"),
        max_relative_drop=metric.max_relative_drop,
        spread=spread,
        spread_k=metric.spread_k,
    )


def _row(segment: str, metric: Metric, value: Any, base: dict[str, Any], *, estimated: bool = False) -> dict[str, Any]:
    from gapwatch.evaluation.metrics import is_breach

    threshold = metric_threshold(metric, base)
    too_few = value.n < metric.min_labels
    breach = not too_few and is_breach(value, threshold, metric.higher_is_better, BREACH_Z)
    margin = BREACH_Z * value.stderr if value.stderr is not None and value.value is not None else None
    return {
        "segment": segment,
        "metric": metric.name,
        "value": value.value,
        "stderr": value.stderr,
        "interval": [value.value - margin, value.value + margin] if margin is not None else None,
        "uncertainty": value.uncertainty,
        "baseline": base.get(metric.name, {}).get("value"),
        "threshold": threshold,
        "n": value.n,
        "status": "insufficient" if too_few else "breach" if breach else "ok",
        "estimated": estimated,
    }


def assess_performance(
    spec: MonitorSpec, cohort: pd.DataFrame, base: dict[str, Any], *, gate: str | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Every metric on the cohort's matured labels, overall and per segment, against the baseline.

    Args:
        spec: the monitor.
        cohort: the predictions being judged, with a ``label`` column (null = still pending).
        base: ``summarize_reference`` output.
        gate: a reason the window cannot be judged (failed readiness); None when it can.

    Returns:
        (summary, rows): the summary's ``status`` is ``ok`` / ``breach`` / ``insufficient``
        ("not enough labels", never an alarm) / ``inconclusive``; rows are every metric x segment.
    """
    labeled = cohort.dropna(subset=["label"])
    pending = len(cohort) - len(labeled)
    summary: dict[str, Any] = {
        "labeled": len(labeled),
        "pending": pending,
        "pending_share": pending / len(cohort) if len(cohort) else None,
        "metrics": {},
        "segments": [],
    }
    main = spec.main_metric
    if gate is not None:
        summary["status"], summary["reason"] = "inconclusive", gate
    elif len(labeled) < main.min_labels:
        summary["status"] = "insufficient"
        summary["reason"] = f"{len(labeled)} matured labels, fewer than min_labels={main.min_labels}"
    else:
        summary["status"] = "ok"
    if summary["status"] != "ok":
        return summary, []

    metrics_base = base["metrics"]
    by_name = {m.name: m for m in spec.metrics}
    rows: list[dict[str, Any]] = []
    groups: list[tuple[str, pd.DataFrame]] = [(OVERALL, labeled)]
    for column in spec.segments:
        groups += [(f"{column}={key}", part) for key, part in labeled.groupby(column, sort=True)]
    for segment, frame in groups:
        for name, value in metric_values(spec, frame).items():
            rows.append(_row(segment, by_name[name], value, metrics_base))
    summary["metrics"] = {r["metric"]: r for r in rows if r["segment"] == OVERALL}
    summary["segments"] = [r for r in rows if r["segment"] != OVERALL and r["metric"] == main.name]
    if summary["metrics"][main.name]["status"] == "breach":
        summary["status"] = "breach"
    return summary, rows


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
    ``evaluation.estimate_binary``). Always marked ``estimated``; a breach is judged like a
    realized value (the whole interval past the same threshold).

    Returns:
        ``{"status": ok|breach|insufficient|inconclusive|not_applicable, "metric", "row",
        "unsupported_share"}``.
    """
    from gapwatch.evaluation.drift import outside_support
    from gapwatch.evaluation.metrics import estimate_binary

    metric = estimated_metric(spec)
    if metric is None:
        return {"status": "not_applicable", "estimated": True}
    if gate is not None or frame is None:
        return {"status": "inconclusive", "reason": gate, "metric": metric.name, "estimated": True}
    if "calibration" not in base:
        return {"status": "not_applicable", "estimated": True}
    p = spec.predictions
    assert p.score is not None
    unsupported = outside_support(frame, base["statistics"])
    values = estimate_binary(
        frame[p.score].to_numpy(dtype=float, na_value=np.nan),
        frame[p.prediction].to_numpy(dtype=float, na_value=np.nan),
        base["calibration"],
        [metric.name],
        unsupported=unsupported,
        prior=base.get("prior"),
        seed=BOOTSTRAP_SEED,
    )
    value = values[metric.name]
    row = _row(OVERALL, metric, value, base["metrics"], estimated=True)
    status = row["status"] if value.value is not None else "insufficient"
    return {
        "status": status,
        "metric": metric.name,
        "row": row,
        "rows": len(frame),
        "unsupported_share": float(unsupported.mean()) if len(frame) else 0.0,
        "estimated": True,
    }


def assess_drift(
    spec: MonitorSpec, frame: pd.DataFrame, base: dict[str, Any]
) -> tuple[dict[str, Any], list[Any]]:
    """Drift of each watched column (and the multivariate model) against the baseline statistics.

    Returns:
        (summary, results): ``summary["drifted"]`` lists drifted columns, most drifted first, as
        ``{"column": name, <method>: value, ...}``; ``summary["ranking"]`` the top results with
        method, value, threshold and severity; results are ``statistics.DriftResult``.
    """
    from gapwatch.evaluation.drift import (
        DriftResult,
        compare,
        reconstruction_drift,
        reconstruction_errors,
        summarize_window,
    )

    statistics = base["statistics"]
    stats = summarize_window(frame, statistics)
    overrides = {
        name: {"methods": o.methods, "threshold": o.threshold} for name, o in spec.drift.features.items()
    }
    results = compare(
        statistics, stats, spec.drift.methods, spec.drift.method_thresholds(), overrides, spec.drift.significance
    )
    model = base.get("multivariate")
    if model:
        errors = reconstruction_errors(frame, model)
        value, limit = reconstruction_drift(errors, model, spec.drift.multivariate_tolerance)
        finite = bool(np.isfinite(value))
        results.append(
            DriftResult(MULTIVARIATE_COLUMN, "pca_reconstruction", value if finite else None, limit,
                        finite and value > limit)
        )
    drifted: dict[str, dict[str, Any]] = {}
    severity: dict[str, float] = {}
    for r in results:
        if r.drifted:
            drifted.setdefault(r.column, {})[r.method] = r.value
            severity[r.column] = max(severity.get(r.column, 0.0), r.severity)
    ranked = sorted(drifted, key=lambda c: -severity[c])
    ranking = sorted(results, key=lambda r: -r.severity)[:5]
    summary = {
        "status": "drift" if drifted else "ok",
        "drifted": [{"column": c, **drifted[c]} for c in ranked],
        "ranking": [{**r.to_dict(), "severity": round(r.severity, 4)} for r in ranking],
        "values": {f"{r.column}.{r.method}": r.value for r in results},
    }
    return summary, results
