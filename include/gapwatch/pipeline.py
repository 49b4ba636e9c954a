"""The monitor pipeline's stages, as plain functions the DAG tasks (and the CLI) call.

``extract_window -> check_readiness -> evaluate_performance / evaluate_drift -> decide -> publish``

Every stage is keyed on (monitor, window) and idempotent: outputs are Parquet files under a
run-scoped folder and upserted rows in the store, so a retry or a rerun overwrites instead of
adding. Stages return small JSON-safe summaries (they travel through XCom).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from gapwatch import config, store
from gapwatch.spec import MonitorSpec

if TYPE_CHECKING:
    import pandas as pd

OVERALL = "*"
SAMPLING_Z = 1.96  # breaches count only beyond the 95% interval of the value


@dataclass(frozen=True)
class Window:
    """The data interval a run looks at: ``[start, end)`` in UTC."""

    start: datetime
    end: datetime

    @classmethod
    def parse(cls, start: str | datetime, end: str | datetime) -> Window:
        def _dt(v: str | datetime) -> datetime:
            value = datetime.fromisoformat(v) if isinstance(v, str) else v
            return store.as_utc(value)  # type: ignore[return-value]

        return cls(_dt(start), _dt(end))

    @property
    def key(self) -> str:
        return self.start.strftime("%Y-%m-%dT%H%M%SZ")

    def shifted(self, delta: timedelta) -> Window:
        return Window(self.start - delta, self.end - delta)


def run_dir(spec: MonitorSpec, window: Window) -> Path:
    path = config.runs_dir() / spec.name / window.key
    path.mkdir(parents=True, exist_ok=True)
    return path


# ---------------------------------------------------------------- extract


def extract_window(spec: MonitorSpec, window: Window) -> dict[str, Any]:
    """Pull the window's predictions and the label-matured cohort into run-scoped Parquet files.

    The cohort is the predictions made one label delay before this window, joined with the labels
    that had arrived by the window's end: the newest predictions whose outcome can be known.
    """
    from gapwatch import sources

    folder = run_dir(spec, window)
    frame = sources.read_window(spec, window.start, window.end)
    frame.to_parquet(folder / "window.parquet", index=False)
    cohort_window = window.shifted(spec.ground_truth.delay)
    cohort = sources.read_matured(spec, cohort_window.start, cohort_window.end, as_of=window.end)
    cohort.to_parquet(folder / "cohort.parquet", index=False)
    labeled = int(cohort["label"].notna().sum())
    return {
        "rows": len(frame),
        "cohort_start": cohort_window.start.isoformat(),
        "cohort_rows": len(cohort),
        "labeled": labeled,
        "pending": len(cohort) - labeled,
    }


def _load(spec: MonitorSpec, window: Window, name: str) -> pd.DataFrame:
    import pandas as pd

    path = run_dir(spec, window) / f"{name}.parquet"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run extract_window for this window first")
    return pd.read_parquet(path)


# ---------------------------------------------------------------- readiness


def check_readiness(spec: MonitorSpec, window: Window) -> dict[str, Any]:
    """Validate the window with the monitor's GX suite and built-in checks; keep the result.

    With ``readiness.validate_in: database`` the suite runs inside the source database and
    the extracted window is never loaded here (see ``gapwatch.readiness_stage``).
    """
    from gapwatch.readiness_stage import run_readiness

    return run_readiness(spec, window, lambda: _load(spec, window, "window"))


def _window_ready(spec: MonitorSpec, start: datetime) -> bool | None:
    """The stored readiness verdict of the window starting at ``start`` (None if never checked)."""
    with store.engine().connect() as conn:
        value = conn.execute(
            sa.select(store.validations.c.success).where(
                store.validations.c.monitor == spec.name,
                store.validations.c.window_start == start,
            )
        ).scalar()
    return None if value is None else bool(value)


# ---------------------------------------------------------------- baseline


def _baseline_key(spec: MonitorSpec) -> str:
    basis = {
        "baseline": spec.baseline.model_dump(mode="json"),
        "predictions": spec.predictions.model_dump(mode="json"),
        "ground_truth": spec.ground_truth.model_dump(mode="json"),
        "metrics": [m.name for m in spec.metrics],
        "bins": spec.drift.bins,
        "segments": spec.segments,
    }
    return hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()[:32]


def _drift_columns(spec: MonitorSpec) -> dict[str, str]:
    columns = {f.name: f.kind for f in spec.predictions.features if not f.pii}
    if spec.predictions.score:
        columns[spec.predictions.score] = "numeric"
    elif spec.task == "regression":
        columns[spec.predictions.prediction] = "numeric"
    return columns


def baseline(spec: MonitorSpec) -> dict[str, Any]:
    """The baseline's statistics and metric values, computed once and kept in the store."""
    from gapwatch import sources
    from gapwatch.statistics import summarize_baseline

    key = _baseline_key(spec)
    table = store.baselines
    with store.engine().connect() as conn:
        row = conn.execute(
            sa.select(table.c.statistics, table.c.metrics).where(
                table.c.monitor == spec.name, table.c.key == key
            )
        ).first()
    if row is not None:
        return {"statistics": row.statistics, "metrics": row.metrics}

    start, end = spec.baseline.start, spec.baseline.end
    frame = sources.read_window(spec, start, end)
    if frame.empty:
        raise ValueError(f"monitor {spec.name}: the baseline window {start}..{end} has no rows")
    statistics = summarize_baseline(frame, _drift_columns(spec), spec.drift.bins)
    # The baseline is in the past: its labels are settled well before three label delays on.
    matured = sources.read_matured(spec, start, end, as_of=end + 3 * spec.ground_truth.delay)
    metrics = {
        name: value.to_dict() for name, value in _metrics(spec, matured.dropna(subset=["label"])).items()
    }
    with store.engine().begin() as conn:
        store.insert_ignore(
            conn,
            table,
            {
                "monitor": spec.name,
                "key": key,
                "statistics": statistics,
                "metrics": metrics,
                "created_at": store.utcnow(),
            },
            ["monitor", "key"],
        )
    return {"statistics": statistics, "metrics": metrics}


# ---------------------------------------------------------------- performance


def _metrics(spec: MonitorSpec, labeled: pd.DataFrame) -> dict[str, Any]:
    from gapwatch.evaluation import binary_metrics, regression_metrics

    names = [m.name for m in spec.metrics]
    p = spec.predictions
    if spec.task == "binary_classification":
        score = labeled[p.score].to_numpy(dtype=float) if p.score else None
        return binary_metrics(labeled["label"].to_numpy(), labeled[p.prediction].to_numpy(), score, names)
    return regression_metrics(labeled["label"].to_numpy(), labeled[p.prediction].to_numpy(), names)


def evaluate_performance(spec: MonitorSpec, window: Window, ready: bool) -> dict[str, Any]:
    """Metrics on the matured cohort, overall and per segment, against the baseline."""
    from gapwatch.evaluation import is_breach, threshold_for

    cohort = _load(spec, window, "cohort")
    labeled = cohort.dropna(subset=["label"])
    cohort_start = window.shifted(spec.ground_truth.delay).start
    summary: dict[str, Any] = {
        "labeled": len(labeled),
        "pending": len(cohort) - len(labeled),
        "cohort_start": cohort_start.isoformat(),
        "metrics": {},
        "segments": [],
    }
    main = spec.main_metric
    if not ready:
        summary["status"] = "inconclusive"
        summary["reason"] = "this window failed its readiness suite"
    elif _window_ready(spec, cohort_start) is False:
        summary["status"] = "inconclusive"
        summary["reason"] = "the predictions being judged were made on data that failed readiness"
    elif len(labeled) < main.min_labels:
        summary["status"] = "insufficient"
        summary["reason"] = f"{len(labeled)} matured labels, fewer than min_labels={main.min_labels}"
    else:
        summary["status"] = "ok"
    if summary["status"] != "ok":
        _store_metric_rows(spec, window, [])
        return summary

    base = baseline(spec)["metrics"]
    rows: list[dict[str, Any]] = []
    groups: list[tuple[str, pd.DataFrame]] = [(OVERALL, labeled)]
    for column in spec.segments:
        groups += [(f"{column}={key}", part) for key, part in labeled.groupby(column, sort=True)]
    for segment, frame in groups:
        for name, value in _metrics(spec, frame).items():
            metric = next(m for m in spec.metrics if m.name == name)
            base_value = base.get(name, {}).get("value")
            threshold = threshold_for(metric.higher_is_better, metric.floor, metric.max_drop, base_value)
            too_few = value.n < metric.min_labels
            breach = not too_few and is_breach(value, threshold, metric.higher_is_better, SAMPLING_Z)
            status = "insufficient" if too_few else "breach" if breach else "ok"
            rows.append(
                {
                    "segment": segment,
                    "metric": name,
                    "value": value.value,
                    "stderr": value.stderr,
                    "baseline": base_value,
                    "threshold": threshold,
                    "n": value.n,
                    "status": status,
                }
            )
    _store_metric_rows(spec, window, rows)
    summary["metrics"] = {r["metric"]: r for r in rows if r["segment"] == OVERALL}
    summary["segments"] = [r for r in rows if r["segment"] != OVERALL and r["metric"] == main.name]
    if summary["metrics"][main.name]["status"] == "breach":
        summary["status"] = "breach"
    return summary


def _store_metric_rows(spec: MonitorSpec, window: Window, rows: list[dict[str, Any]]) -> None:
    table = store.metric_values
    with store.engine().begin() as conn:
        # Replace the window's rows as a whole: a rerun may have fewer segments than before.
        conn.execute(
            table.delete().where(table.c.monitor == spec.name, table.c.window_start == window.start)
        )
        if rows:
            conn.execute(
                table.insert(),
                [{"monitor": spec.name, "window_start": window.start, **r} for r in rows],
            )


# ---------------------------------------------------------------- drift


def evaluate_drift(spec: MonitorSpec, window: Window, ready: bool) -> dict[str, Any]:
    """Drift of each feature and of the score against the baseline's stored statistics."""
    from gapwatch.statistics import compare, summarize_window

    table = store.drift_values
    if not ready:
        with store.engine().begin() as conn:
            conn.execute(
                table.delete().where(table.c.monitor == spec.name, table.c.window_start == window.start)
            )
        return {"status": "inconclusive", "reason": "this window failed its readiness suite", "drifted": []}
    base = baseline(spec)["statistics"]
    frame = _load(spec, window, "window")
    stats = summarize_window(frame, base)
    thresholds = {"psi": spec.drift.psi_threshold, "ks": spec.drift.ks_threshold}
    results = compare(base, stats, spec.drift.methods, thresholds)
    with store.engine().begin() as conn:
        for r in results:
            store.upsert(
                conn,
                table,
                {"monitor": spec.name, "window_start": window.start, **r.to_dict()},
                ["monitor", "window_start", "column", "method"],
            )
    drifted: dict[str, dict[str, float | None]] = {}
    for r in results:
        if r.drifted:
            drifted.setdefault(r.column, {})[r.method] = r.value
    ranked = sorted(drifted.items(), key=lambda kv: -max(v or 0 for v in kv[1].values()))
    return {
        "status": "drift" if drifted else "ok",
        "drifted": [{"column": c, **values} for c, values in ranked],
        "values": {f"{r.column}.{r.method}": r.value for r in results},
    }


# ---------------------------------------------------------------- decide & publish


def decide(
    spec: MonitorSpec,
    window: Window,
    readiness: dict[str, Any],
    performance: dict[str, Any],
    drift: dict[str, Any],
) -> list[dict[str, Any]]:
    """Turn the stage summaries into findings: one per check, each breach / ok / not judged."""
    from gapwatch.incidents import make_finding
    from gapwatch.readiness_stage import readiness_findings

    main = spec.main_metric
    findings = readiness_findings(spec, readiness)
    main_row = performance["metrics"].get(main.name, {})
    perf_status = {"breach": "breach", "ok": "ok"}.get(performance["status"], performance["status"])
    worst = sorted(
        (s for s in performance["segments"] if s["value"] is not None),
        key=lambda s: s["value"] if main.higher_is_better else -s["value"],
    )[:3]
    findings.append(
        make_finding(
            spec,
            kind="performance",
            check=f"metric:{main.name}",
            status=perf_status,
            evidence={
                **main_row,
                "labeled": performance["labeled"],
                "pending": performance["pending"],
                "cohort_start": performance["cohort_start"],
                "reason": performance.get("reason"),
                "worst_segments": worst,
                "drifted_features": drift.get("drifted", [])[:5],
            },
        )
    )
    findings.append(
        make_finding(
            spec,
            kind="drift",
            check="drift",
            status={"drift": "breach"}.get(drift["status"], drift["status"]),
            evidence={"drifted_features": drift.get("drifted", [])},
        )
    )
    return findings


def run_status(readiness: dict[str, Any], performance: dict[str, Any], drift: dict[str, Any]) -> str:
    if not readiness["ready"]:
        return "not_ready"
    if performance["status"] == "breach":
        return "degraded"
    if drift["status"] == "drift":
        return "drifting"
    if performance["status"] == "insufficient":
        return "awaiting_labels"
    return "healthy"


def publish(
    spec: MonitorSpec,
    window: Window,
    extract: dict[str, Any],
    readiness: dict[str, Any],
    performance: dict[str, Any],
    drift: dict[str, Any],
    findings: list[dict[str, Any]],
    airflow_run_id: str | None = None,
) -> dict[str, Any]:
    """Record the run, move incidents and tickets through their lifecycle, and send messages."""
    from gapwatch import incidents, notify

    main = spec.main_metric
    status = run_status(readiness, performance, drift)
    run_link = incidents.dag_run_link(spec, airflow_run_id)
    engine = store.engine()
    with engine.begin() as conn:
        changes = incidents.apply_findings(conn, spec, window, findings, run_link=run_link)
        previous = conn.execute(
            sa.select(store.runs.c.attempts).where(
                store.runs.c.monitor == spec.name, store.runs.c.window_start == window.start
            )
        ).scalar()
        store.upsert(
            conn,
            store.runs,
            {
                "monitor": spec.name,
                "window_start": window.start,
                "window_end": window.end,
                "status": status,
                "readiness": "ready" if readiness["ready"] else "not_ready",
                "performance": performance["status"],
                "drift": drift["status"],
                "main_metric": main.name,
                "main_value": performance["metrics"].get(main.name, {}).get("value"),
                "rows": extract["rows"],
                "labeled": performance["labeled"],
                "pending": performance["pending"],
                "summary": {
                    "readiness": readiness,
                    "performance": {k: v for k, v in performance.items() if k != "segments"},
                    "drift": {k: v for k, v in drift.items() if k != "values"},
                    "changes": changes,
                },
                "airflow_run_id": airflow_run_id,
                "attempts": (previous or 0) + 1,
                "updated_at": store.utcnow(),
            },
            ["monitor", "window_start"],
        )
    delivery = notify.deliver_pending(engine, monitor=spec.name)
    return {"status": status, "changes": changes, "delivery": delivery}


def run_window(spec: MonitorSpec, window: Window, airflow_run_id: str | None = None) -> dict[str, Any]:
    """All stages in one process (the CLI's ``gapwatch run``; the DAG runs them as tasks)."""
    extract = extract_window(spec, window)
    readiness = check_readiness(spec, window)
    performance = evaluate_performance(spec, window, readiness["ready"])
    drift = evaluate_drift(spec, window, readiness["ready"])
    findings = decide(spec, window, readiness, performance, drift)
    return publish(spec, window, extract, readiness, performance, drift, findings, airflow_run_id)
