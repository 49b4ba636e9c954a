"""A bounded random sample of a selection drawn in the source database, for the multivariate
(PCA) drift model: the only rows of a window, besides GX's failing-row examples, that leave the
database on the database path."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from gapwatch.indb.selection import Selection, as_double, fetch

if TYPE_CHECKING:
    import pandas as pd


def sample(selection: Selection, columns: list[str], n: int, *, rows: int | None = None) -> pd.DataFrame:
    """At most ``n`` rows of ``columns``, drawn at random in the database, for the multivariate
    model: the rows with the ``n`` smallest draws (:class:`_draw`, one scan and a top-n sort).
    With ``rows`` (the selection's size, known from its summaries) a row is first kept only when
    its draw is a little above ``n / rows``, so only about ``n`` rows are sorted.

    On PostgreSQL the draw is a seeded hash of the prediction id: the same window gives the same
    sample on every run (and the scan stays parallel: ``random()`` is parallel-restricted there,
    and its unknown selectivity led the planner to an index scan 9x slower at 1.3M rows).
    Elsewhere it is ``random()``.
    """
    import pandas as pd

    t = selection.subquery
    draw = _draw(t.c[selection.spec.predictions.id])
    query = sa.select(*(as_double(t.c[c]).label(c) for c in columns)).order_by(draw).limit(n)
    if rows is not None and rows > n:
        # n plus four standard deviations of the kept count, so fewer than n is ~1 in 30,000 runs.
        keep = min(1.0, (n + 4 * math.sqrt(n) + 10) / rows)
        query = query.where(draw < keep)
    found = fetch(selection.source, query)
    return pd.DataFrame([tuple(r) for r in found], columns=columns, dtype=float)


SAMPLE_SEED = 14  # the seed of PostgreSQL's per-row draw (any fixed number: the sample's identity)
_BITS = 2**52  # the draw's resolution: the hash's low 52 bits, exact in a double


class _draw(FunctionElement[float]):
    """A row's draw, uniform in [0, 1): PostgreSQL ``hashtextextended(id::text, seed)`` (seeded:
    the same rows each run); elsewhere ``random()`` (:class:`_uniform`)."""

    name = "gapwatch_draw"
    inherit_cache = True


@compiles(_draw)
def _draw_default(element: _draw, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(_uniform(), **kw))


@compiles(_draw, "postgresql")
def _draw_postgresql(element: _draw, compiler: Any, **kw: Any) -> str:
    (value,) = element.clauses.clauses
    text = compiler.process(sa.cast(value, sa.Text), **kw)
    return f"((hashtextextended({text}, {SAMPLE_SEED}) & {_BITS - 1}) / {float(_BITS)!r})"


class _uniform(FunctionElement[float]):
    """A uniform random number in [0, 1): ``random()`` on PostgreSQL; SQLite's ``random()`` is a
    64-bit integer, scaled."""

    name = "gapwatch_uniform"
    inherit_cache = True


@compiles(_uniform)
def _uniform_default(element: _uniform, compiler: Any, **kw: Any) -> str:
    return "random()"


@compiles(_uniform, "sqlite")
def _uniform_sqlite(element: _uniform, compiler: Any, **kw: Any) -> str:
    return "(random() / 18446744073709551616.0 + 0.5)"
