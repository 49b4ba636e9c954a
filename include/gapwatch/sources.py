"""Reading a window of production data from the model's source database (SQLAlchemy).

Where the data is comes from the spec: ``source.url_env`` names an environment variable holding a
SQLAlchemy URL (any name, so it is looked up here, not in ``gapwatch.config``), ``source.conn_id``
an Airflow connection, resolved by the resolver the Airflow adapter installs. A :class:`Source`
resolves it at most once for all the reads of one run.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from gapwatch.window import as_utc, naive_utc

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


class Source:
    """A monitor's production database, its URL resolved once for every read that shares it.

    Resolving ``source.conn_id`` asks Airflow for the connection (a metadata-database or API
    call in a task), so one run resolves it once (``gapwatch.window_run.WindowRun`` holds one
    ``Source``). The URL is kept with what it was resolved from (the ``url_env`` variable's
    value, or the installed resolver): when that changes, the next read resolves again instead of
    reaching a database the spec no longer points at.
    """

    def __init__(self, spec: MonitorSpec, *, url: str | None = None) -> None:
        self.spec = spec
        self._lock = threading.Lock()  # the performance and drift stages may read at once
        self._resolved: tuple[object, str] | None = None
        self._pinned = url  # a URL given outright (the scoreboard's database), never resolved
        self.reflected: dict[tuple[str, str], dict[str, Any]] = {}  # (url, table) -> column -> type

    def _basis(self) -> object:
        if self._pinned is not None:
            return ("pinned", self._pinned)
        if self.spec.source.url_env:
            return ("env", os.environ.get(self.spec.source.url_env))
        return ("conn", _resolver)

    @property
    def url(self) -> str:
        """The SQLAlchemy URL (see :func:`source_url`)."""
        basis = self._basis()
        with self._lock:
            if self._resolved is None or self._resolved[0] != basis:
                self._resolved = (basis, self._pinned or source_url(self.spec))
            return self._resolved[1]

    @property
    def engine(self) -> sa.Engine:
        """The pooled engine of :attr:`url` (one per URL in the process)."""
        return source_engine(self.url)


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


def column_types(source: Source, table: str) -> dict[str, Any]:
    """Column name -> the type the database gives it, for ``table`` ({} if there is no such
    table): reflected once per source (a run's stages build several selections over the same
    tables) and URL."""
    key = (source.url, table)
    if key not in source.reflected:
        schema, name = split_table(table)
        inspector = sa.inspect(source.engine)
        source.reflected[key] = {
            c["name"]: c["type"] for c in (inspector.get_columns(name, schema=schema)
                                           if inspector.has_table(name, schema=schema) else [])}
    return source.reflected[key]


def boolean_columns(source: Source, table: str) -> frozenset[str]:
    """The columns of ``table`` the database types as booleans.

    The database path reads such a column as 0/1 (``indb.selection``): PostgreSQL refuses to
    CAST a boolean to a float or to compare it with 0 and 1, which every binary statistic does.
    """
    return frozenset(n for n, t in column_types(source, table).items() if isinstance(t, sa.Boolean))


def float_columns(source: Source, table: str) -> frozenset[str]:
    """The floating-point columns of ``table`` (they can hold NaN). Not NUMERIC: read through a
    float NaN test it would turn into a float, and print "1" where its NUMERIC(5, 1) peers print
    "1.0"."""
    return frozenset(n for n, t in column_types(source, table).items() if isinstance(t, sa.Float))


# ---------------------------------------------------------------- exact window edges
# ``[start, end)`` must hold on every backend, for rows exactly on either edge:
# * SQLite has no timestamp type: values are text such as '2026-01-05 00:00:00', with or without
#   fractional seconds, with 'T' or a space. Text comparison with a bound rendered differently
#   ('2026-01-05 00:00:00.000000') moves the edges ('...:00' < '...:00.000000' left the start row
#   out and let the end row in). Both sides are normalised with strftime to one fixed-width form
#   (millisecond precision; a 'Z' or '+01:00' suffix is converted to UTC by SQLite).
# * PostgreSQL: a bound sent as an untyped literal with an explicit UTC offset takes the
#   column's type, and the offset is honoured for ``timestamptz`` and ignored for ``timestamp``
#   (naive UTC by convention): exact for both whatever the session's TimeZone. A typed naive
#   bound would be cast to timestamptz in the session's zone.
# * Other databases get a naive UTC datetime, as before.
_SQLITE_TIME = "%Y-%m-%d %H:%M:%f"


class _comparable(FunctionElement[Any]):
    """A timestamp (column or bound) as window comparisons see it: SQLite's text normalised."""

    name = "gapwatch_comparable_time"
    inherit_cache = True


@compiles(_comparable)
def _comparable_default(element: _comparable, compiler: Any, **kw: Any) -> str:
    (inner,) = element.clauses.clauses
    return str(compiler.process(inner, **kw))


@compiles(_comparable, "sqlite")
def _comparable_sqlite(element: _comparable, compiler: Any, **kw: Any) -> str:
    (inner,) = element.clauses.clauses
    return str(compiler.process(sa.func.strftime(_SQLITE_TIME, inner), **kw))


class _UnknownText(sa.types.UserDefinedType[str]):
    """Text sent without a type (no ``::VARCHAR`` cast), so PostgreSQL reads it as the column's."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "TEXT"

    def literal_processor(self, dialect: Any) -> Any:
        return lambda value: "'" + str(value).replace("'", "''") + "'"


class _WindowBound(sa.types.TypeDecorator[datetime]):
    """A window bound (an aware UTC datetime) bound the way each dialect compares exactly."""

    impl = sa.DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(_UnknownText())
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String())
        return dialect.type_descriptor(sa.DateTime())

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        if dialect.name in ("postgresql", "sqlite"):
            return as_utc(value).isoformat(sep=" ", timespec="microseconds")
        return naive_utc(value)

    def process_literal_param(self, value: Any, dialect: Any) -> Any:
        return self.process_bind_param(value, dialect)


def _at_or_after(column: sa.ColumnElement[Any], bound: datetime) -> sa.ColumnElement[bool]:
    return _comparable(column) >= _comparable(sa.literal(as_utc(bound), _WindowBound()))


def before(column: sa.ColumnElement[Any], bound: datetime) -> sa.ColumnElement[bool]:
    return _comparable(column) < _comparable(sa.literal(as_utc(bound), _WindowBound()))


def in_window(table: sa.TableClause, spec: MonitorSpec, start: datetime, end: datetime) -> sa.ColumnElement[bool]:
    """Rows of ``table`` whose timestamp lies in ``[start, end)``, exactly, on every backend."""
    ts = table.c[spec.predictions.timestamp]
    return sa.and_(_at_or_after(ts, start), before(ts, end))


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


def read_window(
    spec: MonitorSpec, start: datetime, end: datetime, *, source: Source | None = None
) -> pd.DataFrame:
    """Every column of the predictions made in ``[start, end)`` (the readiness suite sees all).

    ``source`` is the run's resolved source; without one the spec's source is resolved here.
    """
    import pandas as pd

    with (source or Source(spec)).engine.connect() as conn:
        return pd.read_sql(window_select(spec, start, end), conn)


def read_matured(
    spec: MonitorSpec, start: datetime, end: datetime, as_of: datetime, *, source: Source | None = None
) -> pd.DataFrame:
    """Predictions made in ``[start, end)`` with the labels that had arrived before ``as_of``.

    The ``label`` column is null where the label is still pending. When the truth table holds
    several labels for one prediction (a correction re-delivered), the latest one that had arrived
    counts, so a prediction is judged once. ``source`` as in :func:`read_window`.
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
                    before(truth.c[g.arrived_at], as_of),
                ),
            )
        )
        .where(in_window(preds, spec, start, end))
    )
    with (source or Source(spec)).engine.connect() as conn:
        frame = pd.read_sql(query, conn)
    pid = spec.predictions.id
    if frame[pid].duplicated().any():
        frame = frame.sort_values("gapwatch_label_arrived_at", na_position="first", kind="stable")
        frame = frame.drop_duplicates(subset=pid, keep="last").sort_index()
    return frame.drop(columns="gapwatch_label_arrived_at")


def read_table(spec: MonitorSpec, name: str, *, source: Source | None = None) -> pd.DataFrame:
    """Every row of a table of the source, e.g. a reference table (``"schema.table"`` or a bare name)."""
    import pandas as pd

    schema, table = split_table(name)
    with (source or Source(spec)).engine.connect() as conn:
        return pd.read_sql(sa.select(sa.text("*")).select_from(sa.table(table, schema=schema)), conn)
