"""The adoption stage of a monitor run: is the model used, and does it pay?

``evaluate_adoption`` checks the decisions feed (freshness, volume), reduces the window to SQL
aggregates in the source database (``gapwatch.adoption_queries``), judges them against the stored
reference (``gapwatch.evaluation.adoption``), upserts every value into ``adoption_values`` and
returns a small JSON-safe summary (it travels through XCom). ``adoption_findings`` turns that
summary into findings: ``readiness:decisions:<check>`` (kind data, for the data steward: a broken
feed is a data incident and the adoption checks are inconclusive, never an adoption alarm) and
``adoption:<check>`` (kind adoption or outcome, for the business owner).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from gapwatch import sources, store
from gapwatch.spec import MonitorSpec
from gapwatch.spec_adoption import measured_checks
from gapwatch.window import Window
from gapwatch.window_run import window_run

BASELINE_FORMAT = 1  # bump when the stored reference changes shape, so old ones are rebuilt
FEED = "decisions"
_VALUE_COLUMNS = ("check", "segment", "value", "stderr", "baseline", "threshold", "n", "status", "detail")


def _baseline_key(spec: MonitorSpec) -> str:
    assert spec.adoption is not None
    basis = {
        "format": BASELINE_FORMAT,
        "adoption": spec.adoption.model_dump(mode="json", exclude={"checks", "readiness", "min_decisions"}),
        "baseline": spec.baseline.model_dump(mode="json"),
        "predictions": [spec.predictions.table, spec.predictions.id, spec.predictions.timestamp,
                        spec.predictions.prediction],
        "ground_truth": spec.ground_truth.model_dump(mode="json"),
        "segments": spec.segments,
        "checks": measured_checks(spec),
    }
    return hashlib.sha256(json.dumps(basis, sort_keys=True, default=str).encode()).hexdigest()[:32]


def compute_baseline(spec: MonitorSpec, conn: sa.Connection) -> dict[str, Any]:
    """The decisions' reference statistics (``summarize_baseline``) from the source."""
    from gapwatch.adoption_queries import collect_reference, reference_period
    from gapwatch.evaluation.adoption import summarize_baseline

    assert spec.adoption is not None
    period = reference_period(spec)
    if period is None:  # only absolute limits can apply; see spec_adoption.AdoptionBaseline
        return {"segments": {}, "decisions_per_second": None}
    whole, slices, per_second = collect_reference(spec, conn, period)
    return summarize_baseline(spec.adoption, measured_checks(spec), whole, slices, per_second)


def baseline(spec: MonitorSpec, source: sources.Source | None = None) -> dict[str, Any]:
    """The decisions' reference statistics, computed once per spec and stored (``source``: the
    run's resolved source, so a run asks for its connection once)."""
    assert spec.adoption is not None
    key, table = _baseline_key(spec), store.adoption_baselines
    with store.engine().connect() as conn:
        stored = conn.execute(
            sa.select(table.c.summary).where(table.c.monitor == spec.name, table.c.key == key)
        ).scalar()
    if stored is not None:
        return dict(stored)
    with (source or sources.Source(spec)).engine.connect() as conn:
        summary = compute_baseline(spec, conn)
    with store.engine().begin() as conn:
        store.insert_ignore(
            conn, table,
            {"monitor": spec.name, "key": key, "summary": summary, "created_at": store.utcnow()},
            ["monitor", "key"],
        )
    return summary


def _feed_settings(spec: MonitorSpec) -> dict[str, Any]:
    """The decisions feed's limits: the section's own, else the monitor's readiness settings."""
    a = spec.adoption
    assert a is not None
    r, own = spec.readiness, a.readiness
    return {
        "max_age": (own.max_age or r.freshness.max_age) if own.freshness else None,
        "min_ratio": own.min_ratio if own.min_ratio is not None else r.volume.min_ratio,
        "max_ratio": own.max_ratio if own.max_ratio is not None else r.volume.max_ratio,
        "volume": own.volume,
    }


def judge_window(
    spec: MonitorSpec, conn: sa.Connection, window: Window, base: dict[str, Any], broken_before: list[Any]
) -> dict[str, Any]:
    """Feed readiness, then every adoption check of the window against ``base``, on an open
    connection to the source (the stage and the scoreboard both call this).

    Args:
        spec: the monitor (with an adoption section).
        conn: a connection to the source database.
        window: the window.
        base: ``baseline(spec)``.
        broken_before: starts of earlier windows whose decisions feed failed readiness.

    Returns:
        ``{"status", "reason", "feed": [{"check", "failing", "observed", "rows"}], "checks": {check:
        {"status", "row", "drivers", "breaching_teams", "judged"}}, "override_quality", "rows",
        "cohort": [start, end], "label_cohort": [start, end], "decision_sla": seconds}``.
    """
    from gapwatch.adoption_queries import collect, feed_stats
    from gapwatch.evaluation.adoption import assess, feed_checks, feed_gate

    a = spec.adoption
    assert a is not None
    window = Window(_plain(window.start), _plain(window.end))
    settings = _feed_settings(spec)
    rows, newest = feed_stats(spec, conn, window.start, window.end)
    feed = feed_checks(
        rows=rows, newest=newest, start=window.start, end=window.end,
        per_second=base.get("decisions_per_second") if settings["volume"] else None,
        max_age=settings["max_age"], min_ratio=settings["min_ratio"], max_ratio=settings["max_ratio"],
    )
    feed = [{**c, "rows": rows} for c in feed]
    cohort, labelled = window.shifted(a.decision_sla), window.cohort(spec.ground_truth.delay, spec.schedule)
    gate = feed_gate(feed, broken_before, window.start, window.end, min(cohort.start, labelled.start))
    stats = None if gate else collect(spec, conn, window)
    return {
        **assess(a, measured_checks(spec), stats, base, gate=gate),
        "feed": feed,
        "cohort": [cohort.start.isoformat(), cohort.end.isoformat()],
        "label_cohort": [labelled.start.isoformat(), labelled.end.isoformat()],
        "decision_sla": a.decision_sla.total_seconds(),
    }


def _plain(value: datetime) -> datetime:
    """A standard-library UTC datetime. Airflow hands pendulum datetimes whose zone is
    ``datetime.timezone.utc``; pendulum drops that zone when a timedelta is subtracted, which would
    mix naive and aware values in the cohort arithmetic."""
    v = value.astimezone(UTC)
    return datetime(v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond, tzinfo=UTC)


def _broken_feed_windows(spec: MonitorSpec, window: Window) -> list[Any]:
    """Starts of earlier windows (as far back as the cohorts reach) whose decisions feed failed."""
    a = spec.adoption
    assert a is not None
    plain = Window(_plain(window.start), _plain(window.end))
    delay = plain.start - _plain(plain.cohort(spec.ground_truth.delay, spec.schedule).start)
    reach = max(a.decision_sla, delay) + (window.end - window.start)
    f = store.findings
    with store.engine().connect() as conn:
        starts = conn.execute(
            sa.select(f.c.window_start).distinct().where(
                f.c.monitor == spec.name, f.c.check.like(f"readiness:{FEED}:%"), f.c.status == "breach",
                f.c.window_start < window.start, f.c.window_start >= window.start - reach,
            )
        ).scalars()
        return [store.as_utc(s) for s in starts]


def evaluate_adoption(spec: MonitorSpec, window: Window) -> dict[str, Any]:
    """The adoption stage: ``judge_window`` on the source, every value upserted into
    ``adoption_values``; returns the summary without the per-segment rows (it goes to XCom)."""
    if spec.adoption is None:
        return {"status": "not_applicable", "checks": {}, "feed": []}
    source = window_run(spec, window).source  # the run's source: resolved once for all stages
    base = baseline(spec, source)
    broken = _broken_feed_windows(spec, window)
    with source.engine.connect() as conn:
        summary = judge_window(spec, conn, window, base, broken)
    _store_values(spec, window, summary.pop("rows"))
    return summary


def _store_values(spec: MonitorSpec, window: Window, rows: list[dict[str, Any]]) -> None:
    table = store.adoption_values
    with store.engine().begin() as conn:
        # Replace the window's rows as a whole: a rerun may see other teams than before.
        conn.execute(table.delete().where(table.c.monitor == spec.name, table.c.window_start == window.start))
        if rows:
            conn.execute(
                table.insert(),
                [{"monitor": spec.name, "window_start": window.start, **{k: r[k] for k in _VALUE_COLUMNS}}
                 for r in rows],
            )
