"""Drift statistics computed in the source database: the database execution of
``evaluation.summaries`` (the memory execution is numpy there; both feed ``finish_numeric``).

* :func:`window_summaries`: every watched column of a selection summarised on the baseline's
  layout in ONE scan of the rows: each row is unpivoted into one row per column (a cross join with
  a constant list of column numbers) and grouped by (column, fine bin, category); the fine bin is
  PostgreSQL's ``width_bucket`` (binary search over the edges) or, elsewhere, a binary tree of
  ``CASE`` comparisons. Categories are ranked in the same statement (``ROW_NUMBER``), the top
  ``MAX_CATEGORIES`` kept and the rest summed into ``OTHER``, so the rows fetched are at most
  (fine bins + 3) per numeric column and ``MAX_CATEGORIES`` + 2 per categorical column, whatever the
  number of rows or of distinct values.
* :func:`slice_summaries`: the same per ``gw_slice`` of a reference selection (one scan).
* :func:`reference_statistics`: the baseline's edges (PostgreSQL ``percentile_disc`` in one scan;
  elsewhere ``ROW_NUMBER`` over each column, fetching only the rows at the wanted ranks), then its
  summary and its slices' summaries.
* the multivariate (PCA) model's bounded random sample is :func:`gapwatch.indb.sampling.sample`.

Values: a NULL is a null, and so is NaN (as pandas reads it; PostgreSQL stores NaN, which equals
itself there, so it is tested with ``= 'NaN'``; SQLite stores NaN as NULL); +-Infinity counts as
non-finite. Categories are compared as text, a whole number printed as an integer on both paths
(``indb.performance.class_text`` here, ``cells.class_names`` in memory). Every query goes
through ``indb.selection.fetch``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from gapwatch.evaluation import summaries as S
from gapwatch.indb.performance import class_text
from gapwatch.indb.sampling import sample
from gapwatch.indb.selection import SLICE, Selection, as_double, fetch, is_nan

if TYPE_CHECKING:
    import pandas as pd

NULL_BIN = -1  # the fine-bin number of nulls (and NaN)
NONFINITE_BIN = -2  # of +-Infinity
_COL, _BIN, _CAT, _SLICE = "gw_col", "gw_bin", "gw_cat", "gw_part"


class _bucket(FunctionElement[int]):
    """The fine bin of a finite value: how many ``edges`` are <= it (numpy's ``searchsorted``
    with ``side="right"``)."""

    name = "gapwatch_bucket"
    inherit_cache = False  # the edges are not a clause: never reuse a compiled form

    def __init__(self, value: sa.ColumnElement[Any], edges: list[float]) -> None:
        self.edges = [float(e) for e in edges]
        super().__init__(value)


def _tree(value: sa.ColumnElement[Any], edges: list[float], lo: int, hi: int) -> sa.ColumnElement[Any]:
    # Known: edges[:lo] <= value < edges[hi:]; halve the rest.
    if lo == hi:
        return sa.literal_column(str(lo), sa.Integer)
    mid = (lo + hi) // 2
    return sa.case(
        (value < sa.literal(edges[mid], sa.Double), _tree(value, edges, lo, mid)),
        else_=_tree(value, edges, mid + 1, hi),
    )


@compiles(_bucket)
def _bucket_default(element: _bucket, compiler: Any, **kw: Any) -> str:
    (value,) = element.clauses.clauses
    return str(compiler.process(_tree(value, element.edges, 0, len(element.edges)), **kw))


@compiles(_bucket, "postgresql")
def _bucket_postgresql(element: _bucket, compiler: Any, **kw: Any) -> str:
    (value,) = element.clauses.clauses
    if not element.edges:
        return "0"
    edges = sa.cast(sa.literal(element.edges, postgresql.ARRAY(sa.Double)), postgresql.ARRAY(sa.Double))
    return str(compiler.process(sa.func.width_bucket(value, edges), **kw))


def _finite(x: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
    # Within +-LARGEST (``summaries.usable``). False for NULL; for NaN too (IEEE comparisons; on
    # PostgreSQL NaN is above +Infinity).
    return sa.and_(x > sa.literal(-S.LARGEST, sa.Double), x < sa.literal(S.LARGEST, sa.Double))


def _numeric_parts(column: sa.ColumnElement[Any], layout: dict[str, Any]) -> tuple[Any, Any, Any]:
    """(fine bin with NULL_BIN / NONFINITE_BIN, the finite value or NULL, value - shift or NULL)."""
    x = as_double(column)
    finite = _finite(x)
    nullish = sa.or_(x.is_(None), is_nan(x))
    fine = layout["fine_edges"]
    bucket = (_bucket(x, fine) if fine else sa.literal_column("0", sa.Integer))
    bin_ = sa.case((finite, bucket), (nullish, NULL_BIN), else_=NONFINITE_BIN)
    value = sa.case((finite, x))
    shifted = sa.case((finite, x - sa.literal(S.shift_of(layout), sa.Double)))
    return bin_, value, shifted


def _numbers(ids: list[int], name: str) -> sa.Subquery:
    """A constant table of the column numbers ``ids`` (UNION ALL of one-row SELECTs: portable)."""
    return sa.union_all(*(sa.select(sa.literal_column(str(i), sa.Integer).label(name)) for i in ids)).subquery(
        "gw_columns"
    )


def _unpivoted(selection: Selection, layout: dict[str, Any], part: Any, *, numeric: bool) -> sa.Subquery:
    """One row per (source row, column) of ``layout``'s numeric columns (``numeric``): (column
    number in ``layout``, fine bin, slice, finite value, value - shift); or of its categorical
    ones: (column number, category, slice).

    PostgreSQL: ``unnest`` of one array per field (a set-returning function in FROM, implicitly
    lateral; three times faster than the portable form there). Elsewhere: a cross join with the
    constant column numbers, each field a ``CASE`` on the column number.
    """
    t = selection.subquery
    names = list(layout)
    ids = [i for i, name in enumerate(names) if (layout[name]["kind"] == "numeric") == numeric]
    columns: list[Any]
    if selection.source.engine.dialect.name == "postgresql":
        number = postgresql.array([sa.literal_column(str(i), sa.Integer) for i in ids])
        if not numeric:
            cats = postgresql.array([class_text(t.c[names[i]]) for i in ids])
            u = sa.func.unnest(number, cats).table_valued(_COL, _CAT).render_derived(name="gw_cells")
            columns = [u.c[_COL], u.c[_CAT], part.label(_SLICE)]
            return sa.select(*columns).select_from(t).join(u, sa.true()).subquery("gw_unpivoted")
        # The finite test once per value (in its bin); value and shifted value after the unnest.
        bins = postgresql.array([_numeric_parts(t.c[names[i]], layout[names[i]])[0] for i in ids])
        raw = postgresql.array([as_double(t.c[names[i]]) for i in ids])
        u = sa.func.unnest(number, bins, raw).table_valued(_COL, _BIN, "gw_raw").render_derived(name="gw_cells")
        finite = u.c[_BIN] >= 0
        # Each column's shift by its column number (written out: repr is exact for a float; a
        # cast needs parentheses before a subscript).
        shifts = [S.shift_of(s) if s["kind"] == "numeric" else 0.0 for s in layout.values()]
        constants = sa.literal_column(f"(ARRAY[{', '.join(map(repr, shifts))}]::float8[])", postgresql.ARRAY(sa.Double))
        columns = [u.c[_COL], u.c[_BIN], part.label(_SLICE), sa.case((finite, u.c.gw_raw)).label("gw_x"),
                   sa.case((finite, u.c.gw_raw - constants[u.c[_COL] + 1])).label("gw_d")]
        return sa.select(*columns).select_from(t).join(u, sa.true()).subquery("gw_unpivoted")
    numbers = _numbers(ids, _COL)
    col = numbers.c[_COL]
    if numeric:
        parts = {i: _numeric_parts(t.c[names[i]], layout[names[i]]) for i in ids}
        bin_, x, d = (sa.case({i: p[k] for i, p in parts.items()}, value=col) for k in range(3))
        columns = [col, bin_.label(_BIN), part.label(_SLICE), x.label("gw_x"), d.label("gw_d")]
    else:
        cat = sa.case({i: class_text(t.c[names[i]]) for i in ids}, value=col)
        columns = [col, cat.label(_CAT), part.label(_SLICE)]
    return sa.select(*columns).select_from(t.join(numbers, sa.true())).subquery("gw_unpivoted")


def _summary_queries(selection: Selection, layout: dict[str, Any], part: Any, *, whole: bool) -> list[sa.Select]:
    """The statements summarising ``layout``'s columns per value of ``part`` (a slice number, a
    segment value or a constant), one scan each: rows (column number, fine bin, category, part,
    rows, sum, sum of squares, min, max).

    Numeric columns: unpivot, group by (column, fine bin, part). Categorical columns: unpivot,
    group by (column, category, part), rank the categories, keep the top ``MAX_CATEGORIES`` and sum
    the rest into ``OTHER``: ranked within each part, or with ``whole`` by their count over all
    parts (segments: then the parts add up to the whole selection's summary). Two statements
    rather than one: the numeric unpivot then carries no text and the categorical one no numbers
    (on PostgreSQL, 1.3M rows x 26 columns: 11.0 s as one statement, 7.7 s as two).
    """
    kinds = [spec["kind"] == "numeric" for spec in layout.values()]
    out = []
    if any(kinds):
        u = _unpivoted(selection, layout, part, numeric=True).c
        out.append(sa.select(
            u[_COL], u[_BIN], sa.null().cast(sa.String).label(_CAT), u[_SLICE], sa.func.count(), sa.func.sum(u.gw_d),
            sa.func.sum(u.gw_d * u.gw_d), sa.func.min(u.gw_x), sa.func.max(u.gw_x),
        ).group_by(u[_COL], u[_BIN], u[_SLICE]))
    if not all(kinds):
        out.append(_categorical_query(selection, _unpivoted(selection, layout, part, numeric=False), whole=whole))
    return out


def _categorical_query(selection: Selection, unpivoted: sa.Subquery, *, whole: bool) -> sa.Select:
    """Category counts per (part, column), the top ``MAX_CATEGORIES`` by name (per part, or with
    ``whole`` by their count over every part), the rest as ``OTHER``."""
    u = unpivoted.c
    keys = (u[_COL], u[_CAT], u[_SLICE])
    grouped = sa.select(*keys, sa.func.count().label("gw_n")).group_by(*keys).subquery("gw_grouped")
    g = grouped.c
    postgres = selection.source.engine.dialect.name == "postgresql"

    def by_name(cat: Any) -> Any:  # code point order, as Python sorts the memory path's names
        return cat.collate("C") if postgres else cat

    if whole:
        # A category's rank by its total over the parts: DENSE_RANK gives its rows in every part
        # the same rank (the total and the name are the same there).
        total = sa.func.sum(g.gw_n).over(partition_by=[g[_COL], g[_CAT]])
        totaled = sa.select(*g, total.label("gw_total")).subquery("gw_totaled")
        g = totaled.c
        rank = sa.func.dense_rank().over(
            partition_by=[g[_COL], g[_CAT].is_(None)], order_by=[g.gw_total.desc(), by_name(g[_CAT])]
        )
        ranked = sa.select(g[_COL], g[_CAT], g[_SLICE], g.gw_n, rank.label("gw_rank")).subquery("gw_ranked")
    else:
        rank = sa.func.row_number().over(
            partition_by=[g[_SLICE], g[_COL], g[_CAT].is_(None)], order_by=[g.gw_n.desc(), by_name(g[_CAT])]
        )
        ranked = sa.select(*g, rank.label("gw_rank")).subquery("gw_ranked")
    r = ranked.c
    key = sa.case(
        (r[_CAT].is_(None), sa.null()),
        (r.gw_rank <= S.MAX_CATEGORIES, r[_CAT]),
        else_=sa.literal(S.OTHER, sa.String),
    ).label(_CAT)
    none = sa.null().cast(sa.Double)
    return sa.select(r[_COL], sa.null().cast(sa.Integer).label(_BIN), key, r[_SLICE], sa.func.sum(r.gw_n),
                     none, none, none, none).group_by(r[_COL], key, r[_SLICE])


def _summary_rows(selection: Selection, layout: dict[str, Any], part: Any, *, whole: bool = False) -> list[Any]:
    return [row for query in _summary_queries(selection, layout, part, whole=whole)
            for row in fetch(selection.source, query)]


def _lower(a: float | None, b: float) -> float:
    return b if a is None else min(a, b)


def _higher(a: float | None, b: float) -> float:
    return b if a is None else max(a, b)


def _assemble(layout: dict[str, Any], rows: list[Any]) -> dict[str, Any]:
    """Summaries from rows of ``_summary_queries`` (the same ``finish_numeric``); rows of several
    parts add up (counts and sums added, bin minima and maxima combined, categories summed)."""
    names = list(layout)
    raw: dict[str, dict[str, Any]] = {}
    cats: dict[str, dict[str | None, int]] = {n: {} for n in names}
    for name in names:
        if layout[name]["kind"] == "numeric":
            k = len(layout[name]["fine_edges"]) + 1
            raw[name] = {"n": 0, "nulls": 0, "nonfinite": 0, "fine_counts": [0] * k,
                         "fine_min": [None] * k, "fine_max": [None] * k, "sum": 0.0, "sumsq": 0.0}
    for col, bin_, cat, _part, n, total, squares, low, high in rows:
        name = names[col]
        if name not in raw:
            cats[name][cat] = cats[name].get(cat, 0) + int(n)
            continue
        entry = raw[name]
        if bin_ == NULL_BIN:
            entry["nulls"] += int(n)
        elif bin_ == NONFINITE_BIN:
            entry["nonfinite"] += int(n)
        else:
            entry["n"] += int(n)
            entry["fine_counts"][bin_] += int(n)
            entry["fine_min"][bin_] = _lower(entry["fine_min"][bin_], float(low))
            entry["fine_max"][bin_] = _higher(entry["fine_max"][bin_], float(high))
            entry["sum"] += float(total)
            entry["sumsq"] += float(squares)
    out: dict[str, Any] = {}
    for name in names:
        if name in raw:
            out[name] = S.finish_numeric(layout[name], raw[name])
            continue
        counts = {c: n for c, n in cats[name].items() if c is not None}
        out[name] = S.categorical_summary(S.named_categories(counts, set(counts) - {S.OTHER}),
                                          cats[name].get(None, 0))  # the SQL kept the top ones
    return out


def summarize(
    selection: Selection, layout: dict[str, Any], segments: dict[str, list[Any]] | None = None
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Every column of ``layout`` (a baseline summary) summarised over ``selection``, exactly as
    ``evaluation.summaries.summarize_window`` summarises the same rows, and over each segment
    value of ``segments`` (column -> values) as ``drift_stage.segment_summaries`` does.

    Without segments: one scan. With them: one scan per segment column, each grouped by the
    column's value where it is one of the values (the other rows in one NULL part); the whole
    selection's summary is the sum of the first column's parts, so a single segment column costs
    no extra scan, and the rows fetched grow with the values (at most ``MAX_DRIFT_SEGMENTS`` per
    column), never with the rows.

    Returns:
        (the whole selection's summaries, ``column=value`` -> that segment's summaries).
    """
    from gapwatch.evaluation import drift_stage
    from gapwatch.evaluation.cells import segment_name

    if not layout:
        return {}, {}
    t = selection.subquery
    wanted = {column: values for column, values in (segments or {}).items() if values}
    if not wanted:
        return _assemble(layout, _summary_rows(selection, layout, sa.literal_column("1", sa.Integer))), {}
    whole: dict[str, Any] = {}
    out: dict[str, dict[str, Any]] = {}
    for column, values in wanted.items():
        part = sa.case((t.c[column].in_(values), t.c[column]))
        rows = _summary_rows(selection, layout, part, whole=True)
        whole = whole or _assemble(layout, rows)
        by_value: dict[Any, list[Any]] = {}
        for row in rows:
            by_value.setdefault(drift_stage.plain_value(row[3]), []).append(row)
        out.update({segment_name(column, v): _assemble(layout, by_value[v]) for v in values if v in by_value})
    return whole, out


def window_summaries(selection: Selection, layout: dict[str, Any]) -> dict[str, Any]:
    """Every column of ``layout`` summarised over ``selection`` (:func:`summarize`, one scan)."""
    return summarize(selection, layout)[0]


def slice_summaries(selection: Selection, layout: dict[str, Any], k: int) -> list[dict[str, Any]]:
    """The summaries of ``gw_slice`` 1..k of a reference selection (one query, one scan)."""
    rows: list[Any] = _summary_rows(selection, layout, selection.subquery.c[SLICE]) if layout else []
    return [_assemble(layout, [r for r in rows if r[3] == i]) for i in range(1, k + 1)]


def segment_values(selection: Selection) -> dict[str, list[Any]]:
    """Segment column -> the values judged for drift (``drift_stage.chosen_segments`` of the
    counts), one ``GROUP BY`` per segment column fetching the ``MAX_DRIFT_SEGMENTS`` most
    populous values with enough rows, then, if that many, every value as populous as the last
    (the choice breaks ties by value, as the memory path does)."""
    from gapwatch.evaluation import drift_stage

    spec = selection.spec
    t = selection.subquery
    out: dict[str, list[Any]] = {}
    for column in drift_stage.judged_segments(spec):
        n = sa.func.count().label("gw_n")
        query = (sa.select(t.c[column], n).where(t.c[column].is_not(None)).group_by(t.c[column])
                 .having(sa.func.count() >= spec.drift.segment_min_rows).order_by(n.desc()))
        counted: list[Any] = fetch(selection.source, query.limit(drift_stage.MAX_DRIFT_SEGMENTS))
        if len(counted) == drift_stage.MAX_DRIFT_SEGMENTS:
            counted = fetch(selection.source, query.having(sa.func.count() >= counted[-1][1]))
        out[column] = drift_stage.chosen_segments(spec, [(value, rows) for value, rows in counted])
    return out


# ---------------------------------------------------------------- the baseline's edges


def _fractions(bins: int) -> np.ndarray:
    return np.unique(np.r_[S.coarse_fractions(bins), S.FINE_FRACTIONS])


def _edges_postgresql(selection: Selection, numeric: list[str], fractions: np.ndarray) -> dict[str, Any]:
    t = selection.subquery
    wanted = sa.cast(sa.literal(fractions.tolist(), postgresql.ARRAY(sa.Double)), postgresql.ARRAY(sa.Double))
    columns = []
    for name in numeric:
        x = as_double(t.c[name])
        value = sa.case((_finite(x), x))
        columns += [sa.func.min(value), sa.func.max(value), sa.func.percentile_disc(wanted).within_group(value)]
    (row,) = fetch(selection.source, sa.select(*columns))
    return {name: (row[3 * i], row[3 * i + 1], row[3 * i + 2]) for i, name in enumerate(numeric)}


def _edges_ranked(selection: Selection, numeric: list[str], fractions: np.ndarray) -> dict[str, Any]:
    """Without ``percentile_disc``: count each column's finite values, then fetch only the values
    at ranks ``max(ceil(f * n), 1)`` (the same definition) by ``ROW_NUMBER`` per column."""
    t = selection.subquery
    counts = [sa.func.count(sa.case((_finite(as_double(t.c[n])), 1))) for n in numeric]
    (totals,) = fetch(selection.source, sa.select(*counts))
    out: dict[str, Any] = {}
    for name, n in zip(numeric, totals, strict=True):
        if not n:
            out[name] = (None, None, None)
            continue
        ranks = np.maximum(np.ceil(fractions * n), 1).astype(np.int64)
        x = as_double(t.c[name])
        ordered = (
            sa.select(x.label("gw_x"), sa.func.row_number().over(order_by=x).label("gw_rank"))
            .where(_finite(x))
            .subquery("gw_ordered")
        )
        wanted = sorted({1, int(n), *ranks.tolist()})
        query = sa.select(ordered.c.gw_rank, ordered.c.gw_x).where(ordered.c.gw_rank.in_(wanted))
        rows: list[Any] = fetch(selection.source, query)
        at = {int(rank): float(value) for rank, value in rows}
        out[name] = (at[1], at[int(n)], [at[int(r)] for r in ranks])
    return out


def reference_layout(selection: Selection, columns: dict[str, str], bins: int) -> dict[str, Any]:
    """Each column's layout from the reference rows' percentiles, chosen in the database with
    the definition ``evaluation.summaries.baseline_layout`` uses (so both give the same edges)."""
    numeric = [n for n, kind in columns.items() if kind == "numeric"]
    fractions = _fractions(bins)
    postgres = selection.source.engine.dialect.name == "postgresql"
    found = (_edges_postgresql if postgres else _edges_ranked)(selection, numeric, fractions) if numeric else {}
    coarse = np.isin(fractions, S.coarse_fractions(bins))
    fine = np.isin(fractions, S.FINE_FRACTIONS)
    layout: dict[str, Any] = {}
    for name, kind in columns.items():
        if kind != "numeric":
            layout[name] = {"kind": "categorical"}
            continue
        low, high, values = found[name]
        if low is None:
            layout[name] = S.empty_layout()
            continue
        q = np.asarray(values, dtype=float)
        layout[name] = S.numeric_layout(float(low), float(high), q[coarse], q[fine])
    return layout


def reference_statistics(
    selection: Selection, columns: dict[str, str], bins: int, *, slices: int = 0,
    segments: dict[str, list[Any]] | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """The baseline's column summaries (edges from its percentiles, then counted), with
    ``slices`` the summaries of its ``gw_slice`` 1..slices on the same edges (for
    ``drift.threshold: auto``), and the summaries of the ``segments`` values (:func:`summarize`).
    A scan each: the percentiles, the summary (one per segment column), the slices."""
    layout = reference_layout(selection, columns, bins)
    statistics, by_segment = summarize(selection, layout, segments)
    return statistics, slice_summaries(selection, layout, slices) if slices else [], by_segment


# ---------------------------------------------------------------- the drift stage's inputs


def reference_drift(everything: Selection) -> dict[str, Any]:
    """The drift half of the baseline summary from the reference selection (with ``gw_slice``),
    as ``evaluation.drift_stage.reference_drift`` computes it from the rows in memory."""
    from gapwatch.evaluation import drift_stage

    spec = everything.spec
    slices = spec.baseline.sub_windows if spec.drift.threshold == "auto" else 0
    values = segment_values(everything)
    statistics, parts, by_segment = reference_statistics(everything, drift_stage.drift_columns(spec),
                                                         spec.drift.bins, slices=slices, segments=values)
    columns = drift_stage.multivariate_columns(spec)
    rows = drift_stage.window_rows(statistics)
    drawn = sample(everything, columns, spec.drift.multivariate_sample, rows=rows) if columns else None
    return drift_stage.drift_reference(spec, statistics, parts, drawn, segments=(values, by_segment))


def window_drift_inputs(
    window: Selection, base: dict[str, Any]
) -> tuple[dict[str, Any], pd.DataFrame | None, dict[str, dict[str, Any]]]:
    """A window's column summaries, PCA sample and segment summaries for
    ``evaluation.drift_stage.judge_drift``, as ``drift_stage.window_drift_inputs`` computes them
    from the rows in memory."""
    from gapwatch.evaluation import drift_stage

    values = (base.get("segments") or {}).get("values") or {}
    stats, by_segment = summarize(window, base["statistics"], values)
    model = base.get("multivariate")
    rows = drift_stage.window_rows(stats)
    drawn = (sample(window, model["columns"], window.spec.drift.multivariate_sample, rows=rows)
             if model and rows else None)
    return stats, drawn, by_segment
