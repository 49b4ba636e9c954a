"""The monitor pipeline's stages, as plain functions the DAG tasks (and the CLI) call.

``extract_window -> check_readiness -> evaluate_performance / evaluate_drift -> decide -> publish``

Every stage is keyed on (monitor, window) and idempotent: outputs are Parquet files under a
run-scoped folder and upserted rows in the store, so a retry or a rerun overwrites instead of
adding. Stages return small JSON-safe summaries (they travel through XCom).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from gapwatch import config, store
from gapwatch.spec import MonitorSpec
from gapwatch.window import Window, shift

if TYPE_CHECKING:
    import pandas as pd

    from gapwatch.outbox import Sender

OVERALL = "*"


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
    cohort_window = window.cohort(spec.ground_truth.delay, spec.schedule)
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
    the extracted window is never loaded here (see ``gapwatch.readiness.stage``).
    """
    from gapwatch.readiness.stage import run_readiness

    return run_readiness(spec, window, lambda: _load(spec, window, "window"))


def _cohort_data_broken(spec: MonitorSpec, cohort: Window) -> bool:
    """Whether any published window overlapping the cohort's interval failed readiness.

    Overlap, not equality: with a label delay that is not a whole number of schedule intervals
    (a daily schedule and a 36h delay) the cohort straddles two windows.
    """
    r = store.runs
    with store.engine().connect() as conn:
        broken = conn.execute(
            sa.select(sa.func.count()).where(
                r.c.monitor == spec.name,
                r.c.readiness == "not_ready",
                r.c.window_start < cohort.end,
                r.c.window_end > cohort.start,
            )
        ).scalar()
    return bool(broken)


# ---------------------------------------------------------------- baseline


BASELINE_FORMAT = 3  # bump when the stored summary changes shape, so old baselines are rebuilt


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


def _read_reference(spec: MonitorSpec) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The reference rows and their labeled subset (a ``label`` column), from a window or a table."""
    from gapwatch import sources

    b = spec.baseline
    if b.table is not None:
        import pandas as pd

        with sources.source_engine(sources.source_url(spec)).connect() as conn:
            frame = pd.read_sql(sa.select(sa.text("*")).select_from(sa.table(b.table)), conn)
        label = b.label or spec.ground_truth.label
        if label not in frame:
            raise ValueError(f"monitor {spec.name}: reference table {b.table} has no label column {label!r}")
        frame = frame.rename(columns={label: "label"})
        return frame, frame.dropna(subset=["label"])
    assert b.start is not None and b.end is not None
    frame = sources.read_window(spec, b.start, b.end)
    # The baseline is in the past: its labels are settled well before three label delays on.
    settled = shift(b.end, spec.ground_truth.delay, spec.schedule, 3)
    matured = sources.read_matured(spec, b.start, b.end, as_of=settled)
    return frame, matured.dropna(subset=["label"])


def baseline(spec: MonitorSpec) -> dict[str, Any]:
    """The baseline's summary (``assessment.summarize_reference``), computed once and stored.

    Stored in ``baselines.statistics`` (the per-column drift statistics) and ``baselines.metrics``
    (metric values with their spread, plus the estimate's calibration map and the multivariate
    model under the ``_model`` key): a few hundred numbers per column, never rows.
    """
    from gapwatch.evaluation.assessment import summarize_reference

    key = _baseline_key(spec)
    table = store.baselines
    with store.engine().connect() as conn:
        row = conn.execute(
            sa.select(table.c.statistics, table.c.metrics).where(
                table.c.monitor == spec.name, table.c.key == key
            )
        ).first()
    if row is not None:
        metrics = dict(row.metrics)
        return {"statistics": row.statistics, **metrics.pop("_model", {}), "metrics": metrics}

    frame, labeled = _read_reference(spec)
    if frame.empty:
        raise ValueError(f"monitor {spec.name}: the baseline ({spec.baseline}) has no rows")
    summary = summarize_reference(spec, frame, labeled)
    model = {k: v for k, v in summary.items() if k not in ("statistics", "metrics")}
    with store.engine().begin() as conn:
        store.insert_ignore(
            conn,
            table,
            {
                "monitor": spec.name,
                "key": key,
                "statistics": summary["statistics"],
                "metrics": {**summary["metrics"], "_model": model},
                "created_at": store.utcnow(),
            },
            ["monitor", "key"],
        )
    return summary


# ---------------------------------------------------------------- performance


TREND_WINDOWS = 6


def _trend(spec: MonitorSpec, window: Window, metric: str) -> list[dict[str, Any]]:
    """The metric's overall value in the last windows up to this one (oldest first)."""
    t = store.metric_values
    with store.engine().connect() as conn:
        rows = store.rows(
            conn,
            sa.select(t.c.window_start, t.c.value, t.c.stderr, t.c.status)
            .where(t.c.monitor == spec.name, t.c.metric == metric, t.c.segment == OVERALL,
                   t.c.window_start <= window.start)
            .order_by(t.c.window_start.desc())
            .limit(TREND_WINDOWS),
        )
    return [
        {"window": store.as_utc(r["window_start"]).date().isoformat(), "value": r["value"],
         "stderr": r["stderr"], "status": r["status"]}
        for r in reversed(rows)
    ]


def evaluate_performance(spec: MonitorSpec, window: Window, ready: bool) -> dict[str, Any]:
    """Metrics on the matured cohort, overall and per segment, against the baseline; plus the
    label-free estimate on this window's own predictions (binary classifiers), under ``estimate``."""
    from gapwatch.evaluation.assessment import assess_performance, estimate_performance

    cohort = _load(spec, window, "cohort")
    cohort_start = window.cohort(spec.ground_truth.delay, spec.schedule).start
    gate = None
    if not ready:
        gate = "this window failed its readiness suite"
    elif _cohort_data_broken(spec, window.cohort(spec.ground_truth.delay, spec.schedule)):
        gate = "the predictions being judged were made on data that failed readiness"
    base = baseline(spec) if gate is None else {"metrics": {}}
    summary, rows = assess_performance(spec, cohort, base, gate=gate)
    summary["cohort_start"] = cohort_start.isoformat()
    _store_metric_rows(spec, window, rows)
    summary["trend"] = _trend(spec, window, spec.main_metric.name)
    frame = _load(spec, window, "window") if ready else None
    summary["estimate"] = estimate_performance(
        spec, frame, baseline(spec) if ready else {}, gate=None if ready else "this window failed its readiness suite"
    )
    return summary


_METRIC_COLUMNS = ("segment", "metric", "value", "stderr", "baseline", "threshold", "n", "status")


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
                [{"monitor": spec.name, "window_start": window.start, **{k: r[k] for k in _METRIC_COLUMNS}}
                 for r in rows],
            )


# ---------------------------------------------------------------- drift


def evaluate_drift(spec: MonitorSpec, window: Window, ready: bool) -> dict[str, Any]:
    """Drift of each feature and of the score against the baseline's stored statistics."""
    from gapwatch.evaluation.assessment import assess_drift

    table = store.drift_values
    if not ready:
        with store.engine().begin() as conn:
            conn.execute(
                table.delete().where(table.c.monitor == spec.name, table.c.window_start == window.start)
            )
        return {"status": "inconclusive", "reason": "this window failed its readiness suite", "drifted": []}
    summary, results = assess_drift(spec, _load(spec, window, "window"), baseline(spec))
    with store.engine().begin() as conn:
        for r in results:
            store.upsert(
                conn,
                table,
                {"monitor": spec.name, "window_start": window.start, **r.to_dict()},
                ["monitor", "window_start", "column", "method"],
            )
    return summary


# ---------------------------------------------------------------- decide & publish


WORST_SEGMENTS = 3
DRIFTED_IN_EVIDENCE = 5


def decide(
    spec: MonitorSpec,
    window: Window,
    readiness: dict[str, Any],
    performance: dict[str, Any],
    drift: dict[str, Any],
) -> list[dict[str, Any]]:
    """Turn the stage summaries into findings: one per check, each breach / ok / not judged.

    Checks: ``readiness:<suite>`` (kind data), ``metric:<main metric>`` (kind performance, the
    realized value on matured labels), ``estimate:<metric>`` (kind estimate, binary classifiers:
    the label-free CBPE estimate, severity warning; never opens a ticket), ``drift`` (kind drift).

    Evidence of the performance and estimate findings (stable field names; messages are rendered
    from them):

    - ``metric``, ``value``, ``stderr``, ``interval`` ([low, high]: value -/+ 1.645 stderr, the
      one-sided 95% bounds; a breach needs the whole interval past the threshold),
      ``uncertainty`` (analytic | bootstrap | estimated), ``n``: the value and its sampling error;
    - ``baseline``, ``threshold``, ``status`` (breach | ok | insufficient): what it is judged against;
    - ``estimated`` (bool): True for the label-free estimate, never for a realized value;
    - ``labeled``, ``pending``, ``pending_share``, ``cohort_start``, ``reason``: label maturity;
    - ``trend``: [{window, value, stderr, status}] of the realized main metric, last windows;
    - ``worst_segments``: [{segment, value, stderr, n, status}], lowest first (highest for errors);
    - ``drifted_features``: [{column, <method>: value, ...}] most drifted first;
    - ``drift_ranking``: [{column, method, value, threshold, drifted, severity}] top results;
    - estimate only: ``unsupported_share`` (rows outside the baseline's input range).
    """
    from gapwatch.incidents.lifecycle import make_finding
    from gapwatch.readiness.stage import readiness_findings

    main = spec.main_metric
    findings = readiness_findings(spec, readiness)
    main_row = performance["metrics"].get(main.name, {})
    perf_status = {"breach": "breach", "ok": "ok"}.get(performance["status"], performance["status"])
    judged = [s for s in performance["segments"] if s["value"] is not None]
    worst = sorted(judged, key=lambda s: s["value"] if main.higher_is_better else -s["value"])[:WORST_SEGMENTS]
    context = {
        "labeled": performance["labeled"],
        "pending": performance["pending"],
        "pending_share": performance.get("pending_share"),
        "cohort_start": performance["cohort_start"],
        "trend": performance.get("trend", []),
        "worst_segments": [
            {k: s[k] for k in ("segment", "value", "stderr", "n", "status")} for s in worst
        ],
        "drifted_features": drift.get("drifted", [])[:DRIFTED_IN_EVIDENCE],
        "drift_ranking": drift.get("ranking", []),
    }
    findings.append(
        make_finding(
            spec,
            kind="performance",
            check=f"metric:{main.name}",
            status=perf_status,
            evidence={
                **{k: v for k, v in main_row.items() if k != "segment"},
                "metric": main.name,
                "estimated": False,
                **context,
                "reason": performance.get("reason"),
            },
        )
    )
    estimate = performance.get("estimate") or {}
    if estimate.get("status", "not_applicable") != "not_applicable":
        row = estimate.get("row") or {}
        findings.append(
            make_finding(
                spec,
                kind="estimate",
                check=f"estimate:{estimate['metric']}",
                status=estimate["status"],
                evidence={
                    **{k: v for k, v in row.items() if k != "segment"},
                    "metric": estimate["metric"],
                    "estimated": True,
                    **context,
                    "unsupported_share": estimate.get("unsupported_share"),
                    "reason": estimate.get("reason"),
                },
            )
        )
    findings.append(
        make_finding(
            spec,
            kind="drift",
            check="drift",
            status={"drift": "breach"}.get(drift["status"], drift["status"]),
            evidence={"drifted_features": drift.get("drifted", []), "drift_ranking": drift.get("ranking", [])},
        )
    )
    return findings


def run_status(readiness: dict[str, Any], performance: dict[str, Any], drift: dict[str, Any]) -> str:
    if not readiness["ready"]:
        return "not_ready"
    if performance["status"] == "breach":
        return "degraded"
    if (performance.get("estimate") or {}).get("status") == "breach":
        return "at_risk"  # the label-free estimate says degraded; labels have not confirmed it yet
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
    *,
    senders: Mapping[str, Sender] | None = None,
) -> dict[str, Any]:
    """Record the run, move incidents and tickets through their lifecycle, and send messages.

    ``senders`` (``gapwatch.airflow.channels.default_senders()`` in a DAG run) deliver this
    monitor's queued messages at once; without them the messages wait in the outbox for the
    operations DAG.
    """
    from gapwatch import outbox
    from gapwatch.incidents import lifecycle as incidents

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
    delivery = outbox.deliver_pending(engine, senders, monitor=spec.name) if senders is not None else None
    return {"status": status, "changes": changes, "delivery": delivery}


def run_window(
    spec: MonitorSpec, window: Window, airflow_run_id: str | None = None,
    *, senders: Mapping[str, Sender] | None = None,
) -> dict[str, Any]:
    """All stages in one process (the CLI's ``gapwatch run``; the DAG runs them as tasks)."""
    extract = extract_window(spec, window)
    readiness = check_readiness(spec, window)
    performance = evaluate_performance(spec, window, readiness["ready"])
    drift = evaluate_drift(spec, window, readiness["ready"])
    findings = decide(spec, window, readiness, performance, drift)
    return publish(spec, window, extract, readiness, performance, drift, findings, airflow_run_id,
                   senders=senders)
