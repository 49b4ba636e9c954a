"""The adoption statistics of a window, reduced in the source database by SQL aggregates.

No decision row leaves the database: each query returns one row per group (team, segments and,
for the decisions, a time-to-action bucket), a few hundred rows at most whatever the table size.

* the **decision cohort** (coverage, follow rate, time to action): predictions made one
  ``decision_sla`` before the window, so every one of them has had its full SLA by the window's
  end, joined with the first decision on each (made before the window's end);
* the **label cohort** (override quality, business outcome): the predictions the performance
  stage judges (one label delay before the window), with their first decision and the latest label
  that had arrived by the window's end;
* the **feed**: how many decisions were made in the window and the newest one (readiness).

Timestamps are naive UTC in the source (as ``gapwatch.sources`` assumes). The time between a
prediction and its decision is computed in the database (SQLite ``julianday``, PostgreSQL
``EXTRACT(EPOCH ...)``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from gapwatch import sources
from gapwatch.evaluation.adoption import WindowStats, bucket_edges
from gapwatch.spec_adoption import TEAM
from gapwatch.window import Window, naive_utc

if TYPE_CHECKING:
    import pandas as pd

    from gapwatch.spec import MonitorSpec

NO_TEAM = "(no decision)"


def dims(spec: MonitorSpec) -> tuple[str, ...]:
    """Group columns of the statistics: ``team`` when the spec names one, then the segments."""
    a = spec.adoption
    assert a is not None
    team = (TEAM,) if (a.team or a.assigned_team) else ()
    return (*team, *[s for s in spec.segments if s != TEAM])


def _decisions(spec: MonitorSpec) -> sa.TableClause:
    a = spec.adoption
    assert a is not None
    schema, name = sources.split_table(a.table)
    names = {n for n in (a.id, a.action, a.team, a.value) if n is not None}
    columns: list[sa.ColumnClause[Any]] = [sa.column(a.decided_at, sa.DateTime())]
    if isinstance(a.followed, str):  # a true/false column: typed, so it can stand as a condition
        columns.append(sa.column(a.followed, sa.Boolean()))
    columns += [sa.column(n) for n in sorted(names) if n not in (a.decided_at, a.followed)]
    return sa.table(name, *columns, schema=schema)


def _predictions(spec: MonitorSpec) -> sa.TableClause:
    a = spec.adoption
    assert a is not None
    names = {spec.predictions.id, spec.predictions.prediction, *spec.segments}
    if a.assigned_team:
        names.add(a.assigned_team)
    return sources.predictions_table(spec, *names)


def _first_decisions(spec: MonitorSpec, since: datetime, as_of: datetime) -> sa.Subquery:
    """Each prediction's first decision made in ``[since, as_of)`` (``rn = 1``)."""
    a = spec.adoption
    assert a is not None
    d = _decisions(spec)
    order = sa.func.row_number().over(partition_by=d.c[a.id], order_by=d.c[a.decided_at]).label("rn")
    return (
        sa.select(*d.c, order)
        .where(d.c[a.decided_at] >= naive_utc(since), d.c[a.decided_at] < naive_utc(as_of))
        .subquery("first_decision")
    )


def seconds_between(dialect: str, later: Any, earlier: Any) -> sa.ColumnElement[Any]:
    """``later - earlier`` in seconds, computed by the database."""
    if dialect == "sqlite":
        return (sa.func.julianday(later) - sa.func.julianday(earlier)) * 86400.0
    if dialect == "postgresql":
        return sa.extract("epoch", later - earlier)
    raise NotImplementedError(
        f"adoption statistics run in sqlite and postgresql sources, not {dialect}: add its "
        "timestamp difference to gapwatch.adoption_queries.seconds_between"
    )


def _team(spec: MonitorSpec, p: sa.TableClause, fd: sa.Subquery) -> sa.ColumnElement[Any]:
    a = spec.adoption
    assert a is not None
    candidates = ([p.c[a.assigned_team]] if a.assigned_team else []) + ([fd.c[a.team]] if a.team else [])
    return sa.func.coalesce(*candidates, sa.literal(NO_TEAM)).label(TEAM)


def _followed(spec: MonitorSpec, p: sa.TableClause, fd: sa.Subquery) -> sa.ColumnElement[int]:
    """1 where the (first) decision followed the model, else 0 (also for no decision)."""
    a = spec.adoption
    assert a is not None
    if isinstance(a.followed, str):
        rule: Any = sa.case((fd.c[a.followed], 1), else_=0)
    else:
        assert a.action is not None  # the spec requires it with a mapping
        prediction, action = p.c[spec.predictions.prediction], fd.c[a.action]
        rule = sa.case(*[(sa.and_(prediction == key, action == act), 1) for key, act in a.followed.items()], else_=0)
    return sa.case((fd.c[a.id].is_(None), 0), else_=rule)


def _bucket(secs: Any, sla: timedelta) -> sa.ColumnElement[int]:
    edges = bucket_edges(sla)
    whens = [(secs.is_(None), -1)] + [(secs < float(e), i) for i, e in enumerate(edges)]
    return sa.case(*whens, else_=len(edges)).label("bucket")


def decision_stats(spec: MonitorSpec, conn: sa.Connection, cohort: Window, as_of: datetime) -> pd.DataFrame:
    """Predictions made in ``cohort`` with their first decision before ``as_of``: ``n``,
    ``decided``, ``within`` (the SLA) and ``followed``, per group and time-to-action bucket."""
    import pandas as pd

    a = spec.adoption
    assert a is not None
    p, fd = _predictions(spec), _first_decisions(spec, cohort.start, as_of)
    secs = seconds_between(conn.dialect.name, fd.c[a.decided_at], p.c[spec.predictions.timestamp])
    groups = [_team(spec, p, fd)] if TEAM in dims(spec) else []
    groups += [p.c[s].label(s) for s in dims(spec) if s != TEAM]
    inner = (
        sa.select(
            *groups,
            secs.label("secs"),
            sa.case((fd.c[a.id].is_(None), 0), else_=1).label("decided"),
            sa.case((sa.and_(fd.c[a.id].is_not(None), secs <= a.decision_sla.total_seconds()), 1), else_=0)
            .label("within"),
            _followed(spec, p, fd).label("followed"),
        )
        .select_from(p.outerjoin(fd, sa.and_(fd.c[a.id] == p.c[spec.predictions.id], fd.c.rn == 1)))
        .where(sources.in_window(p, spec, cohort.start, cohort.end))
        .subquery("cohort")
    )
    keys = [inner.c[g.name] for g in groups]
    bucket = _bucket(inner.c.secs, a.decision_sla)
    query = sa.select(
        *keys, bucket, sa.func.count().label("n"), sa.func.sum(inner.c.decided).label("decided"),
        sa.func.sum(inner.c.within).label("within"), sa.func.sum(inner.c.followed).label("followed"),
    ).group_by(*keys, bucket)
    return pd.read_sql(query, conn)


def _latest_labels(spec: MonitorSpec, as_of: datetime) -> sa.Subquery:
    g = spec.ground_truth
    schema, name = sources.split_table(g.table)
    t = sa.table(name, sa.column(g.id), sa.column(g.label), sa.column(g.arrived_at, sa.DateTime()), schema=schema)
    order = sa.func.row_number().over(partition_by=t.c[g.id], order_by=t.c[g.arrived_at].desc()).label("rn")
    return sa.select(t.c[g.id], t.c[g.label], order).where(t.c[g.arrived_at] < naive_utc(as_of)).subquery("label")


def _override_quality(
    spec: MonitorSpec, p: sa.TableClause, fd: sa.Subquery, t: sa.Subquery
) -> tuple[Any, Any, Any]:
    """(override with a matured label and a known human class, human right, model right), each 0/1."""
    a = spec.adoption
    assert a is not None
    prediction, label = p.c[spec.predictions.prediction], t.c[spec.ground_truth.label]
    overridden = sa.and_(fd.c[a.id].is_not(None), _followed(spec, p, fd) == 0, label.is_not(None))
    known: Any
    human: Any
    if isinstance(a.followed, dict):
        assert a.action is not None  # the spec requires it with a mapping
        action = fd.c[a.action]
        known = sa.and_(overridden, action.in_(list(a.followed.values())))
        human = sa.case(*[(sa.and_(action == act, label == key), 1) for key, act in a.followed.items()], else_=0)
    elif spec.task == "binary_classification":
        known, human = overridden, sa.case((prediction != label, 1), else_=0)
    else:
        known, human = sa.false(), sa.literal(0)
    model = sa.case((prediction == label, 1), else_=0)
    return (sa.case((known, 1), else_=0), sa.case((known, human), else_=0), sa.case((known, model), else_=0))


def label_stats(spec: MonitorSpec, conn: sa.Connection, cohort: Window, as_of: datetime) -> pd.DataFrame:
    """The label cohort per group: ``valued``, ``v_sum``, ``v_sumsq`` of the decisions' value and
    ``over_known``, ``human_right``, ``model_right`` on the overridden predictions."""
    import pandas as pd

    a = spec.adoption
    assert a is not None
    p, fd, t = _predictions(spec), _first_decisions(spec, cohort.start, as_of), _latest_labels(spec, as_of)
    value = fd.c[a.value] if a.value else sa.literal(None, sa.Float())
    known, human, model = _override_quality(spec, p, fd, t)
    groups = [_team(spec, p, fd)] if TEAM in dims(spec) else []
    groups += [p.c[s].label(s) for s in dims(spec) if s != TEAM]
    joined = p.outerjoin(fd, sa.and_(fd.c[a.id] == p.c[spec.predictions.id], fd.c.rn == 1)).outerjoin(
        t, sa.and_(t.c[spec.ground_truth.id] == p.c[spec.predictions.id], t.c.rn == 1))
    inner = (
        sa.select(*groups, sa.case((value.is_(None), 0), else_=1).label("valued"), value.label("v"),
                  known.label("over_known"), human.label("human_right"), model.label("model_right"))
        .select_from(joined)
        .where(sources.in_window(p, spec, cohort.start, cohort.end))
        .subquery("labelled")
    )
    keys = [inner.c[g.name] for g in groups]
    query = sa.select(
        *keys, sa.func.sum(inner.c.valued).label("valued"), sa.func.sum(inner.c.v).label("v_sum"),
        sa.func.sum(inner.c.v * inner.c.v).label("v_sumsq"), sa.func.sum(inner.c.over_known).label("over_known"),
        sa.func.sum(inner.c.human_right).label("human_right"), sa.func.sum(inner.c.model_right).label("model_right"),
    ).group_by(*keys)
    return pd.read_sql(query, conn).fillna({"v_sum": 0.0, "v_sumsq": 0.0})


def feed_stats(spec: MonitorSpec, conn: sa.Connection, start: datetime, end: datetime) -> tuple[int, datetime | None]:
    """How many decisions were made in ``[start, end)`` and when the newest one was."""
    a = spec.adoption
    assert a is not None
    d = _decisions(spec)
    ts = d.c[a.decided_at]
    rows, newest = conn.execute(
        sa.select(sa.func.count(), sa.func.max(ts)).where(ts >= naive_utc(start), ts < naive_utc(end))
    ).one()
    return int(rows), (newest.replace(tzinfo=start.tzinfo) if newest is not None else None)


def collect(spec: MonitorSpec, conn: sa.Connection, window: Window) -> WindowStats:
    """The window's adoption statistics: the decision cohort and the label cohort."""
    a = spec.adoption
    assert a is not None
    cohort = window.shifted(a.decision_sla)
    labelled = window.cohort(spec.ground_truth.delay, spec.schedule)
    return _stats(spec, conn, cohort, window.end, labelled, window.end)


def _stats(
    spec: MonitorSpec, conn: sa.Connection, cohort: Window, as_of: datetime, labelled: Window, label_as_of: datetime
) -> WindowStats:
    return WindowStats(
        decisions=decision_stats(spec, conn, cohort, as_of),
        labels=label_stats(spec, conn, labelled, label_as_of),
        dims=dims(spec),
        seconds=(cohort.end - cohort.start).total_seconds(),
        label_seconds=(labelled.end - labelled.start).total_seconds(),
    )


def reference_period(spec: MonitorSpec) -> Window | None:
    """The decisions' reference period: ``adoption.baseline``, else the monitor's baseline window
    (None when that is a reference table: a test set holds no decisions)."""
    a = spec.adoption
    assert a is not None
    if a.baseline is not None:
        return Window(a.baseline.start, a.baseline.end)
    if spec.baseline.start is None or spec.baseline.end is None:
        return None
    return Window(spec.baseline.start, spec.baseline.end)


def collect_reference(
    spec: MonitorSpec, conn: sa.Connection, period: Window
) -> tuple[WindowStats, list[WindowStats], float]:
    """The reference period whole and in ``baseline.sub_windows`` slices, with decisions and
    labels long settled (SLA / three label delays after each slice), and decisions per second."""
    a = spec.adoption
    assert a is not None
    delay = period.end - period.cohort(spec.ground_truth.delay, spec.schedule).end  # at the period's end
    settled = max(a.decision_sla, 3 * delay)
    whole = _stats(spec, conn, period, period.end + a.decision_sla, period, period.end + settled)
    k = spec.baseline.sub_windows
    step = (period.end - period.start) / k
    slices = []
    for i in range(k):  # a handful of small aggregate queries, one per sub-window
        part = Window(period.start + i * step, period.start + (i + 1) * step)
        slices.append(_stats(spec, conn, part, part.end + a.decision_sla, part, part.end + settled))
    rows, _ = feed_stats(spec, conn, period.start, period.end)
    return whole, slices, rows / (period.end - period.start).total_seconds()
