"""The monitor pipeline's stages, as plain functions the DAG tasks (and the CLI) call.

``extract_window -> check_readiness -> evaluate_performance / evaluate_drift -> decide -> publish``
(``decide`` is :func:`gapwatch.policy.decide`, a pure function.)

Every stage is keyed on (monitor, window) and idempotent: outputs are Parquet files under a
run-scoped folder and upserted rows in the store, so a retry or a rerun overwrites instead of
adding. Stages return small JSON-safe summaries (they travel through XCom).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from gapwatch import policy, store
from gapwatch.catalog import TREND_IN_MESSAGES, Kind, Readiness, Severity, Verdict
from gapwatch.spec import MonitorSpec
from gapwatch.window import Window, as_utc
from gapwatch.window_run import window_run

if TYPE_CHECKING:
    from gapwatch.outbox import Sender

OVERALL = "*"


# ---------------------------------------------------------------- extract


def extract_window(spec: MonitorSpec, window: Window) -> dict[str, Any]:
    """Start the run: check the source's shape and count the window; on the memory path
    (``compute_in: memory``) pull the window's predictions and the label-matured cohort into
    run-scoped Parquet files (the database path computes its statistics in the source, later).

    The cohort is the predictions made one label delay before this window, joined with the labels
    that had arrived by the window's end: the newest predictions whose outcome can be known.
    Starts the run (:func:`gapwatch.window_run.window_run`): the stages after it share its
    resolved source and read each file it writes once. PII columns are written as keyed hashes
    (:mod:`gapwatch.pseudonymize`), never in plain text.
    """
    from gapwatch import source_check, window_stats

    run = window_run(spec, window, new=True)
    cohort_window = window.cohort(spec.ground_truth.delay, spec.schedule)
    if window_stats.in_database(spec):
        # Statistics are computed in the source database by the stages that need them: nothing
        # is extracted, the extract only checks the source's shape and counts.
        problems, _blocked, counts = source_check.database_problems(spec, run, window, cohort_window)
        source_check.save_problems(run, problems)
        window_stats.save_counts(run, counts)
        return {"source_problems": problems, "cohort_start": cohort_window.start.isoformat(),
                "compute_in": spec.compute_in, **counts}
    return _extract_to_files(spec, window, run, cohort_window)


def _extract_to_files(spec: MonitorSpec, window: Window, run: Any, cohort_window: Window) -> dict[str, Any]:
    """The memory path's extract: the window and the cohort as run-scoped Parquet files."""
    from gapwatch import source_check
    from gapwatch.pseudonymize import new_key, pseudonymize

    # What the source has is checked first: a changed schema is a readiness finding, not a crash.
    frame, cohort, problems = source_check.read_checked(spec, run, window, cohort_window)
    # PII never reaches the run files in clear: a keyed hash per extraction (nulls and equality kept).
    key = new_key()
    pseudonymize(frame, spec.pii_columns, key).to_parquet(run.path("window"), index=False)
    pseudonymize(cohort, spec.pii_columns, key).to_parquet(run.path("cohort"), index=False)
    source_check.save_problems(run, problems)
    labeled = int(cohort["label"].notna().sum())
    return {
        "source_problems": problems,
        "rows": len(frame),
        "cohort_start": cohort_window.start.isoformat(),
        "cohort_rows": len(cohort),
        "labeled": labeled,
        "pending": len(cohort) - labeled,
        "compute_in": spec.compute_in,
    }


# ---------------------------------------------------------------- readiness


def check_readiness(spec: MonitorSpec, window: Window) -> dict[str, Any]:
    """Validate the window with the monitor's GX suite and built-in checks; keep the result.

    With ``readiness.validate_in: database`` the suite runs inside the source database and
    the extracted window is never loaded here (see ``gapwatch.readiness.stage``).

    A ready window also makes sure the baseline summary exists: this stage runs before the DAG
    forks into performance and drift, so the first run of a new monitor computes it once and
    those two only load it (``gapwatch.baseline``).
    """
    from gapwatch import source_check, window_stats
    from gapwatch.readiness.stage import run_readiness

    run = window_run(spec, window)
    problems = source_check.load_problems(run)
    if problems:  # the source lacks what the spec names: readiness is those problems
        return source_check.readiness_summary(spec, problems, rows=window_stats.window_rows(run))
    summary = run_readiness(spec, window, lambda: window_stats.window_frame(run), source=run.source)
    if summary["ready"]:
        run.ensure_baseline()
    return summary


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
                r.c.readiness == Readiness.NOT_READY,
                r.c.window_start < cohort.end,
                r.c.window_end > cohort.start,
            )
        ).scalar()
    return bool(broken)


# ---------------------------------------------------------------- performance


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
            .limit(TREND_IN_MESSAGES),
        )
    return [
        {"window": store.as_utc(r["window_start"]).date().isoformat(), "value": r["value"],
         "stderr": r["stderr"], "status": r["status"]}
        for r in reversed(rows)
    ]


def evaluate_performance(spec: MonitorSpec, window: Window, ready: bool) -> dict[str, Any]:
    """Metrics on the matured cohort, overall and per segment, against the baseline; plus the
    label-free estimate on this window's own predictions (binary classifiers), under ``estimate``.

    The cohort is judged on its own readiness, not this window's: this window's readiness gates
    the estimate (and drift) only. When the cohort's own window failed readiness the metrics are
    still computed and stored; a breach counts, linked to that window's data incident
    (``likely_cause: data``), and anything else is inconclusive.
    """
    from gapwatch import source_check, window_stats

    run = window_run(spec, window)
    cohort_window = window.cohort(spec.ground_truth.delay, spec.schedule)
    suspect = None
    # A cohort overlapping this window (a delay shorter than a window) shares its readiness.
    overlaps_this_window = not ready and as_utc(cohort_window.end) > as_utc(window.start)
    if overlaps_this_window or _cohort_data_broken(spec, cohort_window):
        suspect = "the predictions being judged were made on data that failed readiness"
    gate = None
    if not ready and source_check.load_problems(run):
        # The source no longer has the spec's shape: nothing (the baseline included) can be read
        # the way the spec says, so the cohort is not judged at all.
        gate = "the source does not have the columns or types the spec names (see readiness:schema)"
        base: dict[str, Any] = {"metrics": {}}
    else:
        # A not-ready window did not make sure the baseline exists (readiness does it for ready ones).
        base = run.baseline() if ready else run.ensure_baseline()
    summary, rows = window_stats.cohort_performance(run, cohort_window, base, gate=gate,
                                                    suspect=None if gate else suspect)
    summary["cohort_start"] = cohort_window.start.isoformat()
    if suspect is not None and gate is None:
        summary["data_incident"] = _cohort_data_incident(spec, cohort_window)
    _store_metric_rows(spec, window, rows)
    summary["trend"] = _trend(spec, window, spec.main_metric.name)
    summary["estimate"] = window_stats.window_estimate(
        run, base, gate=None if ready else "this window failed its readiness suite"
    )
    return summary


def _cohort_data_incident(spec: MonitorSpec, cohort: Window) -> dict[str, Any] | None:
    """The critical data incident of the cohort's window (id and check), if one was opened."""
    inc = store.incidents
    with store.engine().connect() as conn:
        row = conn.execute(
            sa.select(inc.c.id, inc.c.check)
            .where(inc.c.monitor == spec.name, inc.c.kind == Kind.DATA, inc.c.severity == Severity.CRITICAL,
                   inc.c.opened_window < cohort.end, inc.c.last_breach_window >= cohort.start)
            .order_by(inc.c.id.desc())
            .limit(1)
        ).first()
    return {"id": row.id, "check": row.check} if row else None


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
    from gapwatch import window_stats

    table = store.drift_values
    if not ready:
        with store.engine().begin() as conn:
            conn.execute(
                table.delete().where(table.c.monitor == spec.name, table.c.window_start == window.start)
            )
        return {"status": "inconclusive", "reason": "this window failed its readiness suite", "drifted": []}
    run = window_run(spec, window)
    summary, results = window_stats.window_drift(run, run.baseline())
    with store.engine().begin() as conn:
        for r in results:
            store.upsert(
                conn,
                table,
                {"monitor": spec.name, "window_start": window.start, **r.to_dict()},
                ["monitor", "window_start", "column", "method"],
            )
    return summary


# ---------------------------------------------------------------- publish
# (the decide step, stage summaries -> findings, is ``gapwatch.policy.decide``: pure, no I/O)


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

    status = policy.run_status(readiness, performance, drift)
    run_link = incidents.dag_run_link(spec, airflow_run_id)
    engine = store.engine()
    with engine.begin() as conn:
        changes = incidents.apply_findings(conn, spec, window, findings, run_link=run_link)
        previous = conn.execute(
            sa.select(store.runs.c.attempts).where(
                store.runs.c.monitor == spec.name, store.runs.c.window_start == window.start
            )
        ).scalar()
        record = _run_record(spec, window, extract, readiness, performance, drift)
        store.upsert(
            conn,
            store.runs,
            {
                **record,
                "status": status,
                "summary": {**record["summary"], "changes": changes},
                "airflow_run_id": airflow_run_id,
                "attempts": (previous or 0) + 1,
                "updated_at": store.utcnow(),
            },
            ["monitor", "window_start"],
        )
    delivery = outbox.deliver_pending(engine, senders, monitor=spec.name) if senders is not None else None
    return {"status": status, "changes": changes, "delivery": delivery}


def _run_record(
    spec: MonitorSpec, window: Window, extract: dict[str, Any], readiness: dict[str, Any],
    performance: dict[str, Any], drift: dict[str, Any],
) -> dict[str, Any]:
    """What the ``runs`` row keeps of the stage summaries (the per-segment detail stays out)."""
    main = spec.main_metric
    return {
        "monitor": spec.name,
        "window_start": window.start,
        "window_end": window.end,
        "readiness": policy.readiness_verdict(readiness),
        # An empty cohort or window reads no_data in the runs table, not "insufficient".
        "performance": Verdict.NO_DATA if performance.get("no_data") else performance["status"],
        "drift": Verdict.NO_DATA if drift.get("no_data") else drift["status"],
        "main_metric": main.name,
        "main_value": performance["metrics"].get(main.name, {}).get("value"),
        "rows": extract["rows"],
        "labeled": performance["labeled"],
        "pending": performance["pending"],
        "summary": {
            "compute_in": extract.get("compute_in"),  # where the statistics were computed
            "readiness": readiness,
            "performance": {k: v for k, v in performance.items() if k != "segments"},
            "drift": {k: v for k, v in drift.items() if k != "values"},
        },
    }


def run_window(
    spec: MonitorSpec, window: Window, airflow_run_id: str | None = None,
    *, senders: Mapping[str, Sender] | None = None,
) -> dict[str, Any]:
    """All stages in one process (the CLI's ``gapwatch run``; the DAG runs them as tasks)."""
    extract = extract_window(spec, window)
    readiness = check_readiness(spec, window)
    performance = evaluate_performance(spec, window, readiness["ready"])
    drift = evaluate_drift(spec, window, readiness["ready"])
    adoption = None
    if spec.adoption is not None:
        from gapwatch.adoption import evaluate_adoption

        adoption = evaluate_adoption(spec, window)
    findings = policy.decide(spec, readiness, performance, drift, adoption)
    return publish(spec, window, extract, readiness, performance, drift, findings, airflow_run_id,
                   senders=senders)
