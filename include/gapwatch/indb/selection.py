"""Which rows a statistic is computed over, as SQL that never leaves the database.

A :class:`Selection` is a subquery over the source: a window's predictions, a cohort's predictions
with the labels that had matured (the newest label wins, in SQL), or the reference. The statistics
modules aggregate over ``selection.subquery``; only their aggregates are fetched, and every fetch
goes through :func:`fetch`, which counts the rows that crossed into Python (``FETCHED``): the
test that the database path's traffic does not grow with the table reads it, and so does
``bench/scale_postgres.py``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from gapwatch import sources
from gapwatch.window import shift

if TYPE_CHECKING:
    from gapwatch.spec import MonitorSpec

LABEL = "label"
SLICE = "gw_slice"  # 1..k: the reference's sub-windows, equal row counts in time order (NTILE)
# A reference window's labels are read this many label delays after its end (late labels settled).
SETTLED_AFTER_DELAYS = 3


class _Counter:
    """Rows fetched from source databases by this process (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.rows = 0
        self.queries = 0

    def add(self, rows: int) -> None:
        with self._lock:
            self.rows += rows
            self.queries += 1

    def reset(self) -> None:
        with self._lock:
            self.rows = 0
            self.queries = 0


FETCHED = _Counter()


def as_double(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """A column read as a double-precision number (what every numeric statistic computes on)."""
    return sa.cast(column, sa.Double)


class is_nan(FunctionElement[bool]):
    """True for NaN: ``x <> x`` in IEEE arithmetic, ``x = 'NaN'`` on PostgreSQL (where NaN equals
    itself and sorts above every number)."""

    name = "gapwatch_is_nan"
    inherit_cache = True


@compiles(is_nan)
def _is_nan_default(element: is_nan, compiler: Any, **kw: Any) -> str:
    (value,) = element.clauses.clauses
    return str(compiler.process(value != value, **kw))


@compiles(is_nan, "postgresql")
def _is_nan_postgresql(element: is_nan, compiler: Any, **kw: Any) -> str:
    (value,) = element.clauses.clauses
    return str(compiler.process(value == sa.literal_column("'NaN'::float8"), **kw))


def fetch(source: sources.Source, query: sa.Executable) -> list[sa.Row[Any]]:
    """Run ``query`` on the source and return its rows, counted in ``FETCHED``."""
    with source.engine.connect() as conn:
        rows = list(conn.execute(query))
    FETCHED.add(len(rows))
    return rows


@dataclass(frozen=True)
class Selection:
    """Rows of the source as a subquery: every column the spec names, plus ``label`` for labeled
    selections (null while pending) and ``gw_slice`` for the reference."""

    spec: MonitorSpec
    source: sources.Source
    subquery: sa.Subquery

    def count(self) -> int:
        """How many rows (one aggregate query)."""
        rows = fetch(self.source, sa.select(sa.func.count()).select_from(self.subquery))
        return int(rows[0][0])


def spec_columns(spec: MonitorSpec) -> list[str]:
    """The prediction columns a statistic may read: id, timestamp, prediction, score, features,
    segments (each once)."""
    p = spec.predictions
    names = [p.id, p.timestamp, p.prediction, *([p.score] if p.score else []),
             *(f.name for f in p.features), *spec.segments]
    return list(dict.fromkeys(names))


def _predictions(spec: MonitorSpec) -> sa.TableClause:
    return sources.predictions_table(spec, *spec_columns(spec))


def _read(table: sa.TableClause, name: str, booleans: frozenset[str]) -> sa.ColumnElement[Any]:
    """A column as the statistics read it: a boolean read as a number as 0/1 (``booleans``)."""
    column = table.c[name]
    return sa.cast(column, sa.Integer).label(name) if name in booleans else column


def _read_as_numbers(spec: MonitorSpec, source: sources.Source, table: str) -> frozenset[str]:
    """The BOOLEAN columns of ``table`` (``sources.boolean_columns``) that the statistics read as
    numbers: the label, the prediction, the score, numeric features. A boolean segment or
    categorical feature stays a boolean ("True"/"False", as pandas names it), so its segment keys
    and categories are the memory path's."""
    p = spec.predictions
    numbers = {LABEL, spec.ground_truth.label, *([spec.baseline.label] if spec.baseline.label else []),
               p.prediction, *([p.score] if p.score else []),
               *(f.name for f in p.features if f.kind == "numeric")}
    return sources.boolean_columns(source, table) & numbers


def _label(table: sa.TableClause, name: str, spec: MonitorSpec, source: sources.Source, table_name: str) -> Any:
    """A label column as the statistics read it (``_read``), a float NaN read as NULL, a label not
    there yet, as pandas reads it (PostgreSQL's NaN is a value, equal to itself: it would count
    as labeled and as a class outside {0, 1}; SQLite stores NaN as NULL already)."""
    column = _read(table, name, _read_as_numbers(spec, source, table_name))
    if name in sources.float_columns(source, table_name):
        return sa.case((is_nan(column), sa.null()), else_=column)
    return column


def _spec_columns_of(preds: sa.TableClause, spec: MonitorSpec, source: sources.Source) -> list[sa.ColumnElement[Any]]:
    booleans = _read_as_numbers(spec, source, spec.predictions.table)
    return [_read(preds, n, booleans) for n in spec_columns(spec)]


def window(spec: MonitorSpec, source: sources.Source, start: datetime, end: datetime) -> Selection:
    """The predictions made in ``[start, end)`` (exact edges, as ``sources.in_window``)."""
    preds = _predictions(spec)
    query = sa.select(*_spec_columns_of(preds, spec, source)).where(sources.in_window(preds, spec, start, end))
    return Selection(spec, source, query.subquery("gw_window"))


def _cohort_query(
    spec: MonitorSpec, source: sources.Source, start: datetime, end: datetime, as_of: datetime
) -> sa.Select:
    """The window's predictions, each with its newest label arrived before ``as_of`` (or none).

    The window's predictions are joined to their labels first and ranked per prediction after
    (``ROW_NUMBER``), so the ranking touches the cohort's labels only, not the whole truth table.
    """
    g = spec.ground_truth
    schema, name = sources.split_table(g.table)
    truth = sa.table(name, sa.column(g.id), sa.column(g.label), sa.column(g.arrived_at, sa.DateTime()),
                     schema=schema)
    preds = _predictions(spec)
    pid = preds.c[spec.predictions.id]
    joined = preds.outerjoin(truth, sa.and_(truth.c[g.id] == pid, sources.before(truth.c[g.arrived_at], as_of)))
    rank = sa.func.row_number().over(partition_by=pid, order_by=truth.c[g.arrived_at].desc())
    label = _label(truth, g.label, spec, source, g.table)
    ranked = (
        sa.select(*_spec_columns_of(preds, spec, source), label.label(LABEL), rank.label("gw_rank"))
        .select_from(joined)
        .where(sources.in_window(preds, spec, start, end))
        .subquery("gw_ranked")
    )
    return sa.select(*(ranked.c[n] for n in [*spec_columns(spec), LABEL])).where(ranked.c.gw_rank == 1)


def cohort(
    spec: MonitorSpec, source: sources.Source, start: datetime, end: datetime, as_of: datetime
) -> Selection:
    """Predictions made in ``[start, end)`` with the labels arrived before ``as_of`` (``label``,
    null = pending); of several labels for one prediction the newest counts, as
    ``sources.read_matured`` does on the memory path."""
    return Selection(spec, source, _cohort_query(spec, source, start, end, as_of).subquery("gw_cohort"))


def _sliced(rows: sa.Select, order: str, k: int, name: str, *, labeled_only: bool,
            spec: MonitorSpec, source: sources.Source) -> Selection:
    inner = rows.subquery(f"{name}_rows")
    keep = [inner.c[LABEL].is_not(None)] if labeled_only else []
    ntile = sa.func.ntile(k).over(order_by=inner.c[order])
    outer = sa.select(*inner.c, ntile.label(SLICE)).where(*keep).subquery(name)
    return Selection(spec, source, outer)


def reference(spec: MonitorSpec, source: sources.Source) -> tuple[Selection, Selection]:
    """The reference rows and its labeled rows, each with ``gw_slice`` (``baseline.sub_windows``
    equal slices in time order; NTILE gives the first slices one row more when the rows do not
    divide evenly).

    From a reference window (its labels read ``SETTLED_AFTER_DELAYS`` label delays after its end)
    or a reference table (its own label column, ``baseline.label``; sliced in time order when it
    has the timestamp column, else in id order).
    """
    b, p = spec.baseline, spec.predictions
    if b.table is not None:
        schema, name = sources.split_table(b.table)
        label = b.label or spec.ground_truth.label
        has = sources.column_types(source, b.table)
        # A test set may have no timestamp: it is then left out and sliced in id order.
        columns = [c for c in spec_columns(spec) if c != label and (c in has or c != p.timestamp)]
        table = sa.table(name, *(sa.column(c) for c in [*columns, label]), schema=schema)
        booleans = _read_as_numbers(spec, source, b.table)
        rows = sa.select(*(_read(table, c, booleans) for c in columns),
                         _label(table, label, spec, source, b.table).label(LABEL))
        order = p.timestamp if p.timestamp in columns else p.id
    else:
        assert b.start is not None and b.end is not None
        as_of = shift(b.end, spec.ground_truth.delay, spec.schedule, SETTLED_AFTER_DELAYS)
        rows = _cohort_query(spec, source, b.start, b.end, as_of)
        order = p.timestamp
    return (
        _sliced(rows, order, b.sub_windows, "gw_reference", labeled_only=False, spec=spec, source=source),
        _sliced(rows, order, b.sub_windows, "gw_reference_labeled", labeled_only=True, spec=spec,
                source=source),
    )
