"""Reading a window of production data from the model's source database (SQLAlchemy)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING

import sqlalchemy as sa

if TYPE_CHECKING:
    import pandas as pd

    from gapwatch.spec import MonitorSpec


@cache
def source_engine(url: str) -> sa.Engine:
    return sa.create_engine(url, pool_pre_ping=True)


def _naive_utc(value: datetime) -> datetime:
    # Source tables store naive UTC timestamps (the common case for event tables).
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _predictions(spec: MonitorSpec) -> sa.TableClause:
    p = spec.predictions
    names = {p.id, p.timestamp, p.prediction, *(f.name for f in p.features)}
    if p.score:
        names.add(p.score)
    columns = [sa.column(n, sa.DateTime() if n == p.timestamp else None) for n in sorted(names)]
    return sa.table(p.table, *columns)


def read_window(spec: MonitorSpec, start: datetime, end: datetime) -> pd.DataFrame:
    """Every column of the predictions made in ``[start, end)`` (the readiness suite sees all)."""
    import pandas as pd

    p = spec.predictions
    table = sa.table(p.table, sa.column(p.timestamp, sa.DateTime()))
    query = (
        sa.select(sa.text("*"))
        .select_from(table)
        .where(table.c[p.timestamp] >= _naive_utc(start), table.c[p.timestamp] < _naive_utc(end))
    )
    with source_engine(spec.source_url()).connect() as conn:
        return pd.read_sql(query, conn)


def read_matured(spec: MonitorSpec, start: datetime, end: datetime, as_of: datetime) -> pd.DataFrame:
    """Predictions made in ``[start, end)`` with the labels that had arrived before ``as_of``.

    The ``label`` column is null where the label is still pending. When the truth table holds
    several labels for one prediction (a correction re-delivered), the latest one that had arrived
    counts, so a prediction is judged once.
    """
    import pandas as pd

    g = spec.ground_truth
    preds = _predictions(spec)
    truth = sa.table(
        g.table, sa.column(g.id), sa.column(g.label), sa.column(g.arrived_at, sa.DateTime())
    )
    ts = preds.c[spec.predictions.timestamp]
    query = (
        sa.select(*preds.c, truth.c[g.label].label("label"),
                  truth.c[g.arrived_at].label("gapwatch_label_arrived_at"))
        .select_from(
            preds.outerjoin(
                truth,
                sa.and_(
                    truth.c[g.id] == preds.c[spec.predictions.id],
                    truth.c[g.arrived_at] < _naive_utc(as_of),
                ),
            )
        )
        .where(ts >= _naive_utc(start), ts < _naive_utc(end))
    )
    with source_engine(spec.source_url()).connect() as conn:
        frame = pd.read_sql(query, conn)
    pid = spec.predictions.id
    if frame[pid].duplicated().any():
        frame = frame.sort_values("gapwatch_label_arrived_at", na_position="first", kind="stable")
        frame = frame.drop_duplicates(subset=pid, keep="last").sort_index()
    return frame.drop(columns="gapwatch_label_arrived_at")
