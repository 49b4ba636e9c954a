"""Performance and estimate cells computed in the source database: one GROUP BY per need.

The same keys and sums as ``evaluation.cells`` (see its docstring), written as SQLAlchemy Core
expressions over a :class:`~gapwatch.indb.selection.Selection`; only the cells are fetched (through
``selection.fetch``), at most buckets x labels x predictions rows per segment value, however many
rows the window has. The derivations are ``evaluation.derive``'s, shared with the memory path.

Portable to PostgreSQL and SQLite: numbers are read as FLOAT (double precision, so a bucket edge
falls where numpy puts it); ``ceil`` is written with CAST and CASE (PostgreSQL's CAST to INTEGER
rounds, SQLite's truncates: the CASE corrects either); a value is finite when it lies between the
largest finite doubles (NULL, NaN and infinities are not; PostgreSQL orders NaN above every
number); ``ln`` is built into both (SQLite's math functions, registered on connect when a build
lacks them).
"""

from __future__ import annotations

import math
import sqlite3
from functools import cache
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from gapwatch.catalog import BINARY, BINARY_LABELS, MULTICLASS
from gapwatch.evaluation import cells as cl
from gapwatch.indb.selection import LABEL, SLICE, Selection, fetch, is_nan

if TYPE_CHECKING:
    from gapwatch.evaluation.cells import Cells

BIGGEST = 1.7976931348623157e308


def _num(column: Any) -> Any:
    return sa.cast(column, sa.Float())


def _finite(value: Any) -> Any:
    return value.between(-BIGGEST, BIGGEST)


def _ceil(value: Any) -> Any:
    whole = sa.cast(value, sa.Integer())
    return sa.case((whole < value, whole + 1), else_=whole)


def _bucket(score: Any, finite: Any) -> Any:
    """``cells.score_bucket``: ceil(score x B) - 1 clipped to [0, B - 1]; NO_SCORE when not finite."""
    b = cl.SCORE_BUCKETS
    # The test is positive first: a NULL comparison (a NULL score) falls to ELSE, never NOT NULL.
    inside = sa.case((score <= 0, 0), (score >= 1, b - 1), else_=_ceil(score * float(b)) - 1)
    return sa.case((finite, inside), else_=cl.NO_SCORE)


def _binary_columns(q: Any, spec: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    p = spec.predictions
    y, pred = _num(q.c[LABEL]), _num(q.c[p.prediction])
    ok = sa.and_(_finite(y), _finite(pred))
    keys = {"y": sa.case((ok, sa.case((y != 0, 1), else_=0)), else_=cl.DROPPED),
            "pred": sa.case((sa.and_(ok, pred != 0), 1), else_=0)}
    if not p.score:
        zero = sa.literal(0.0, sa.Float())
        return {"bucket": sa.literal(cl.NO_SCORE, sa.Integer()), **keys}, dict.fromkeys(cl.SUMS["binary"][1:], zero)
    s = _num(q.c[p.score])
    fin = sa.and_(ok, _finite(s))
    yv = sa.case((y != 0, 1.0), else_=0.0)
    clipped = sa.case((s < cl.EPS, cl.EPS), (s > 1 - cl.EPS, 1 - cl.EPS), else_=s)
    log_term = sa.case((y != 0, -sa.func.ln(clipped)), else_=-sa.func.ln(1 - clipped))
    sq = (s - yv) * (s - yv)

    def only(expr: Any) -> Any:
        return sa.case((fin, expr), else_=0.0)

    sums = {"s1": only(s), "bs": only(sq), "bs2": only(sq * sq), "ll": only(log_term),
            "ll2": only(log_term * log_term)}
    return {"bucket": _bucket(s, fin), **keys}, sums


class class_text(FunctionElement[str]):
    """A class name as text, as ``cells.class_names`` prints it: ``CAST(x AS VARCHAR)``
    (PostgreSQL prints the float 1.0 as "1"); on SQLite a whole REAL prints as an integer too
    (its CAST gives "1.0")."""

    name = "gapwatch_class_text"
    inherit_cache = True


@compiles(class_text)
def _class_text_default(element: class_text, compiler: Any, **kw: Any) -> str:
    (value,) = element.clauses.clauses
    return str(compiler.process(sa.cast(value, sa.String()), **kw))


@compiles(class_text, "sqlite")
def _class_text_sqlite(element: class_text, compiler: Any, **kw: Any) -> str:
    (value,) = element.clauses.clauses
    x = compiler.process(value, **kw)
    return (f"CASE WHEN typeof({x}) = 'real' AND {x} = CAST({x} AS INTEGER) "
            f"THEN CAST(CAST({x} AS INTEGER) AS TEXT) ELSE CAST({x} AS TEXT) END")


def _multiclass_columns(q: Any, spec: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    return {"y": class_text(q.c[LABEL]), "pred": class_text(q.c[spec.predictions.prediction])}, {}


def _regression_columns(q: Any, spec: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    y, pred = _num(q.c[LABEL]), _num(q.c[spec.predictions.prediction])
    big = sa.literal(cl.REGRESSION_LARGEST, sa.Double)
    ok = sa.and_(y > -big, y < big, pred > -big, pred < big)  # False for NULL and NaN too
    e = pred - y
    e2 = e * e
    ae = sa.case((e < 0, -e), else_=e)
    ay = sa.case((y < 0, -y), else_=y)
    ape = ae / sa.case((ay < cl.EPS, cl.EPS), else_=ay)
    raw = {"e1": e, "ae": ae, "e2": e2, "e4": e2 * e2, "ape": ape, "ape2": ape * ape, "y1": y, "y2": y * y,
           "y3": y * y * y, "y4": y * y * y * y, "e2y": e2 * y, "e2y2": e2 * y * y}
    return {"ok": sa.case((ok, 1), else_=0)}, {k: sa.case((ok, v), else_=0.0) for k, v in raw.items()}


def _columns(kind: str, q: Any, spec: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    if kind == "binary":
        return _binary_columns(q, spec)
    if kind == "multiclass":
        return _multiclass_columns(q, spec)
    return _regression_columns(q, spec)


def kind_of(spec: Any) -> str:
    return {BINARY: "binary", MULTICLASS: "multiclass"}.get(spec.task, "regression")


def _cells_query(kind: str, rows: Any, keys: dict[str, Any], sums: dict[str, Any], by: list[Any]) -> sa.Select:
    """SELECT <by>, <keys>, count, sums FROM (row-level keys and terms) GROUP BY <by>, <keys>.

    The keys are computed in an inner query and grouped by name: a CASE holding bound parameters
    in both SELECT and GROUP BY is not recognised as the same expression by PostgreSQL.
    """
    inner = sa.select(*(c.label(f"gw_by{i}") for i, c in enumerate(by)),
                      *(v.label(k) for k, v in keys.items()),
                      *(v.label(k) for k, v in sums.items())).select_from(rows).subquery("gw_cells")
    group = [inner.c[f"gw_by{i}"] for i in range(len(by))] + [inner.c[k] for k in keys]
    aggregates = [sa.func.count().label("n"), *(sa.func.sum(inner.c[k]).label(k) for k in sums)]
    return sa.select(*group, *aggregates).group_by(*group)


def _grouped(selection: Selection, kind: str, rows: Any, keys: dict[str, Any], sums: dict[str, Any],
             by: str | None) -> dict[Any, Cells]:
    """Cells per value of column ``by`` of ``rows`` (None: one group, key None), one fetched query."""
    _sqlite_math(selection)
    query = _cells_query(kind, rows, keys, sums, [] if by is None else [rows.c[by]])
    out: dict[Any, list[Any]] = {}
    for record in fetch(selection.source, query):
        out.setdefault(record[0] if by is not None else None, []).append(record)
    return {value: cl.from_records(kind, records) for value, records in out.items()}


def _labeled(selection: Selection) -> Any:
    return selection.subquery.c[LABEL].is_not(None)


def cohort_cells(selection: Selection, spec: Any) -> dict[str, Cells]:
    """Segment (``*`` and ``column=value``) -> cells of the cohort's labeled rows, as
    ``cells.from_frame`` builds them: one GROUP BY query per segment column (one without)."""
    kind = kind_of(spec)
    rows = sa.select(selection.subquery).where(_labeled(selection)).subquery("gw_labeled")
    keys, sums = _columns(kind, rows, spec)
    columns = list(spec.segments)
    first = _grouped(selection, kind, rows, keys, sums, columns[0] if columns else None)
    out = {"*": cl.merge(list(first.values())) if first else cl.empty(kind)}
    for i, column in enumerate(columns):
        parts = first if i == 0 else _grouped(selection, kind, rows, keys, sums, column)
        out.update({cl.segment_name(column, value): parts[value]
                    for value in sorted(v for v in parts if v is not None)})
    return out


def screen(selection: Selection, *, label: str | None = None, binary: str | None = None) -> dict[str, int]:
    """One aggregate over a selection: ``rows``; ``nonnull``, the rows where column ``label`` is
    set (a cohort's labeled rows); ``outside``, the values of column ``binary`` outside {0, 1}."""
    q = selection.subquery
    aggregates = [sa.func.count(), sa.func.count(q.c[label]) if label else sa.literal(0),
                  sa.func.count(sa.case((q.c[binary].not_in(sorted(BINARY_LABELS)), 1))) if binary else sa.literal(0)]
    rows, nonnull, outside = (int(v or 0) for v in tuple(fetch(selection.source, sa.select(*aggregates)
                                                               .select_from(q))[0]))
    return {"rows": rows, "nonnull": nonnull, "outside": outside}


def label_counts(selection: Selection) -> tuple[int, int]:
    """(labeled, pending) rows of a cohort, one query."""
    counted = screen(selection, label=LABEL)
    return counted["nonnull"], counted["rows"] - counted["nonnull"]


def reference_performance_cells(labeled: Selection, spec: Any) -> list[Cells]:
    """The cells of each labeled reference slice (``gw_slice`` 1..k), one GROUP BY query; feed
    them to ``assessment.reference_performance``."""
    kind = kind_of(spec)
    keys, sums = _columns(kind, labeled.subquery, spec)
    parts = _grouped(labeled, kind, labeled.subquery, keys, sums, SLICE)
    return [parts.get(i, cl.empty(kind)) for i in range(1, spec.baseline.sub_windows + 1)]


def unsupported(q: Any, statistics: dict[str, Any]) -> Any:
    """``drift.outside_support`` in SQL: 1 when a numeric input is outside the baseline's range
    (+-Infinity included, as numpy compares it; NULL and NaN not: PostgreSQL sorts NaN above
    every number)."""
    outside = [sa.and_(sa.not_(is_nan(_num(q.c[name]))),
                       sa.or_(_num(q.c[name]) < base["min"], _num(q.c[name]) > base["max"]))
               for name, base in statistics.items()
               if base["kind"] == "numeric" and base.get("min") is not None and name in q.c]
    return sa.case((sa.or_(*outside), 1), else_=0) if outside else sa.literal(0, sa.Integer())


def estimate_cells(selection: Selection, spec: Any, base: dict[str, Any]) -> Cells:
    """The window's label-free estimate cells (score bucket, unsupported, prediction >= 0.5), one
    GROUP BY query; feed them to ``assessment.estimate_from_cells``."""
    q, p = selection.subquery, spec.predictions
    if not p.score:
        return cl.empty("estimate")
    s = _num(q.c[p.score])
    fin = _finite(s)
    keys = {"bucket": _bucket(s, fin), "unsupported": unsupported(q, base["statistics"]),
            "pred": sa.case((_num(q.c[p.prediction]) >= 0.5, 1), else_=0)}
    parts = _grouped(selection, "estimate", q, keys, {"s1": sa.case((fin, s), else_=0.0)}, None)
    return parts.get(None, cl.empty("estimate"))


@cache
def _sqlite_has_math() -> bool:
    try:
        sqlite3.connect(":memory:").execute("SELECT ln(1)")
    except sqlite3.OperationalError:
        return False
    return True


_PATCHED: set[int] = set()


def _sqlite_math(selection: Selection) -> None:
    """Register ``ln`` on SQLite connections when this SQLite build has no math functions."""
    engine = selection.source.engine
    if engine.dialect.name != "sqlite" or _sqlite_has_math() or id(engine) in _PATCHED:
        return
    _PATCHED.add(id(engine))

    def add(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.create_function("ln", 1, lambda v: None if v is None or v <= 0 else math.log(v),
                                          deterministic=True)

    sa.event.listen(engine, "connect", add)
    engine.dispose()
