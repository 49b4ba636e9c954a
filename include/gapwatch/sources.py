"""Reading a window of production data from the model's source database (SQLAlchemy)."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING

import sqlalchemy as sa

from gapwatch.window import naive_utc

if TYPE_CHECKING:
    import pandas as pd

    from gapwatch.spec import MonitorSpec


ConnectionResolver = Callable[[str], str]
_resolver: ConnectionResolver | None = None


def use_connection_resolver(resolver: ConnectionResolver | None) -> None:
    """Install how ``source.conn_id`` becomes a URL (``gapwatch.airflow.connections`` installs
    Airflow's connections; the stages themselves never import Airflow)."""
    global _resolver
    _resolver = resolver


def source_url(spec: MonitorSpec) -> str:
    """The SQLAlchemy URL of the monitor's production source, resolved at run time (never at parse)."""
    if spec.source.url_env:
        url = os.environ.get(spec.source.url_env)
        if not url:
            raise RuntimeError(
                f"monitor {spec.name}: environment variable {spec.source.url_env} "
                "(source.url_env) is not set"
            )
        return url
    if _resolver is None:
        raise RuntimeError(
            f"monitor {spec.name}: source.conn_id {spec.source.conn_id!r} needs Airflow's connections; "
            "run it through its DAG or the gapwatch CLI"
        )
    return _resolver(spec.source.conn_id or "")


@cache
def source_engine(url: str) -> sa.Engine:
    """The source's engine, with the connect and statement timeouts every gapwatch engine has."""
    from gapwatch.store.engine import create_engine

    return create_engine(url, pool_pre_ping=True)


def split_table(name: str) -> tuple[str | None, str]:
    """``"schema.table"`` -> ``("schema", "table")``; a bare name has no schema."""
    schema, _, table = name.rpartition(".")
    return (schema or None), table


def predictions_table(spec: MonitorSpec, *names: str) -> sa.TableClause:
    """The predictions table with its timestamp column typed (so bounds bind as datetimes)."""
    p = spec.predictions
    schema, table = split_table(p.table)
    columns = [sa.column(n, sa.DateTime() if n == p.timestamp else None) for n in sorted({p.timestamp, *names})]
    return sa.table(table, *columns, schema=schema)


def in_window(table: sa.TableClause, spec: MonitorSpec, start: datetime, end: datetime) -> sa.ColumnElement[bool]:
    ts = table.c[spec.predictions.timestamp]
    return sa.and_(ts >= naive_utc(start), ts < naive_utc(end))


def window_select(spec: MonitorSpec, start: datetime, end: datetime) -> sa.Select:
    """``SELECT *`` of the predictions made in ``[start, end)``."""
    table = predictions_table(spec)
    return sa.select(sa.text("*")).select_from(table).where(in_window(table, spec, start, end))


def _predictions(spec: MonitorSpec) -> sa.TableClause:
    p = spec.predictions
    names = {p.id, p.prediction, *(f.name for f in p.features)}
    if p.score:
        names.add(p.score)
    return predictions_table(spec, *names)


def read_window(spec: MonitorSpec, start: datetime, end: datetime) -> pd.DataFrame:
    """Every column of the predictions made in ``[start, end)`` (the readiness suite sees all)."""
    import pandas as pd

    with source_engine(source_url(spec)).connect() as conn:
        return pd.read_sql(window_select(spec, start, end), conn)


def read_matured(spec: MonitorSpec, start: datetime, end: datetime, as_of: datetime) -> pd.DataFrame:
    """Predictions made in ``[start, end)`` with the labels that had arrived before ``as_of``.

    The ``label`` column is null where the label is still pending. When the truth table holds
    several labels for one prediction (a correction re-delivered), the latest one that had arrived
    counts, so a prediction is judged once.
    """
    import pandas as pd

    g = spec.ground_truth
    preds = _predictions(spec)
    truth_schema, truth_name = split_table(g.table)
    truth = sa.table(
        truth_name, sa.column(g.id), sa.column(g.label), sa.column(g.arrived_at, sa.DateTime()),
        schema=truth_schema,
    )
    query = (
        sa.select(*preds.c, truth.c[g.label].label("label"),
                  truth.c[g.arrived_at].label("gapwatch_label_arrived_at"))
        .select_from(
            preds.outerjoin(
                truth,
                sa.and_(
                    truth.c[g.id] == preds.c[spec.predictions.id],
                    truth.c[g.arrived_at] < naive_utc(as_of),
                ),
            )
        )
        .where(in_window(preds, spec, start, end))
    )
    with source_engine(source_url(spec)).connect() as conn:
        frame = pd.read_sql(query, conn)
    pid = spec.predictions.id
    if frame[pid].duplicated().any():
        frame = frame.sort_values("gapwatch_label_arrived_at", na_position="first", kind="stable")
        frame = frame.drop_duplicates(subset=pid, keep="last").sort_index()
    return frame.drop(columns="gapwatch_label_arrived_at")
