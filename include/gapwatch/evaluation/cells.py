"""Counts ("cells"): the one unit every performance number is derived from.

A cell is a group of rows that share a key (a score bucket, a label, a prediction); it holds how
many rows it has and a few per-row sums. Every metric, standard error and the label-free estimate
is then a pure function of the cells (``evaluation.derive``). Two executions build the same cells:

* in memory, here, with numpy on a DataFrame (``from_frame``, ``slice_cells``, ``estimate_cells``);
* in the source database, one ``GROUP BY`` per need (``gapwatch.indb.performance``), the same key
  and sum expressions written in SQL.

So both paths give identical numbers given identical cells, and a window of any size is reduced
to at most a few thousand numbers before anything is derived.

Cell kinds (``Cells.kind``):

* ``binary``: keys ``bucket`` (``ceil(score x SCORE_BUCKETS) - 1`` clipped to [0, B-1]; ``NO_SCORE``
  when the score is missing or not finite), ``y`` (0/1; ``DROPPED`` when the label or prediction
  is missing or not finite), ``pred`` (0/1); sums ``n``, ``s1`` (score), ``bs``/``bs2``
  ((score - y)^2 and its square, the Brier term), ``ll``/``ll2`` (the log-loss term, score clipped
  to [eps, 1 - eps] as scikit-learn does, and its square).
* ``multiclass``: keys ``y`` and ``pred`` as strings (None: missing); sum ``n``.
* ``regression``: key ``ok`` (1: label and prediction finite); sums of e = prediction - label:
  ``e1``, ``ae`` (|e|), ``e2``, ``e4``, ``ape``/``ape2`` (|e| / max(|y|, eps), scikit-learn's
  MAPE floor, and its square), ``y1``..``y4``, ``e2y``, ``e2y2`` (what R^2's delta method needs).
* ``estimate``: keys ``bucket``, ``unsupported`` (a numeric input outside the baseline's
  [min, max]), ``pred`` (prediction >= 0.5); sums ``n``, ``s1``.

Rows left out of a metric stay in the cells under their own key, so ``Cells.rows`` is every row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from gapwatch.catalog import BINARY, MULTICLASS

if TYPE_CHECKING:
    import pandas as pd

    from gapwatch.spec import MonitorSpec

# Equal-width score buckets on [0, 1]. ROC AUC from buckets treats a bucket as tied scores; its
# error is at most 1/2 x sum_b P(pos in b) x P(neg in b) (``derive.auc_bound``). Measured against
# scikit-learn on every window, segment and slice of the scenarios: ROC AUC within 0.0003 and PR
# AUC within 0.0013 on groups of 100+ rows (0.00003 / 0.00015 on 1,000+), at most 0.011 standard
# errors anywhere. A multiple of ECE_BINS, so every ECE bin is a whole number of buckets.
SCORE_BUCKETS = 10_000
ECE_BINS = 10
NO_SCORE = -1
DROPPED = -1
EPS = float(np.finfo(np.float64).eps)
# A regression target or prediction beyond +-this is not usable, like a non-finite one: its fourth
# power (the moments of R^2's error) would not fit a double; PostgreSQL raises an error there.
REGRESSION_LARGEST = 1e75
NONE_KEY = "\x00<none>"  # a missing class while keys are sorted as text (first; numpy keeps it)

KEYS: dict[str, tuple[str, ...]] = {
    "binary": ("bucket", "y", "pred"),
    "multiclass": ("y", "pred"),
    "regression": ("ok",),
    "estimate": ("bucket", "unsupported", "pred"),
}
SUMS: dict[str, tuple[str, ...]] = {
    "binary": ("n", "s1", "bs", "bs2", "ll", "ll2"),
    "multiclass": ("n",),
    "regression": ("n", "e1", "ae", "e2", "e4", "ape", "ape2", "y1", "y2", "y3", "y4", "e2y", "e2y2"),
    "estimate": ("n", "s1"),
}


@dataclass(frozen=True)
class Cells:
    """The non-empty cells of one group of rows (a segment, a slice, a window)."""

    kind: str
    keys: dict[str, np.ndarray]
    sums: dict[str, np.ndarray]

    @property
    def rows(self) -> int:
        """Every row of the group, those left out of the metrics included."""
        return int(self.sums["n"].sum())

    def __len__(self) -> int:
        return int(self.sums["n"].size)

    def canonical(self) -> Cells:
        """The same cells in key order (two executions' cells compare equal after this)."""
        if not len(self):
            return self
        columns = [np.array([_sort_key(v) for v in self.keys[k]], dtype=object) if self.keys[k].dtype == object
                   else self.keys[k] for k in reversed(KEYS[self.kind])]
        order = np.lexsort(columns) if columns else np.arange(len(self))
        return Cells(self.kind, {k: v[order] for k, v in self.keys.items()},
                     {k: v[order] for k, v in self.sums.items()})


def _sort_key(value: Any) -> str:
    return NONE_KEY if value is None else str(value)


def empty(kind: str) -> Cells:
    keys = {k: np.array([], dtype=object if kind == "multiclass" else np.int64) for k in KEYS[kind]}
    sums = {k: np.array([], dtype=np.int64 if k == "n" else np.float64) for k in SUMS[kind]}
    return Cells(kind, keys, sums)


def from_records(kind: str, records: list[Any]) -> Cells:
    """Cells from rows carrying every key and sum by name (a database result; duplicates of a key
    are added up, so partial results can be combined)."""
    if not records:
        return empty(kind)
    keys = {k: np.array([getattr(r, k) if not isinstance(r, dict) else r[k] for r in records],
                        dtype=object if kind == "multiclass" else np.int64) for k in KEYS[kind]}
    sums = {k: np.array([_number(getattr(r, k) if not isinstance(r, dict) else r[k]) for r in records],
                        dtype=np.int64 if k == "n" else np.float64) for k in SUMS[kind]}
    if kind == "multiclass":
        keys = {k: np.array([None if v is None else str(v) for v in a], dtype=object) for k, a in keys.items()}
    return merge([Cells(kind, keys, sums)])


def _number(value: Any) -> float:
    return 0.0 if value is None else float(value)


def merge(parts: list[Cells]) -> Cells:
    """One group's cells from several (slices into the whole, partial results into one)."""
    kind = parts[0].kind
    names = KEYS[kind]
    keys = {k: np.concatenate([p.keys[k] for p in parts]) for k in names}
    sums = {k: np.concatenate([p.sums[k] for p in parts]) for k in SUMS[kind]}
    if not sums["n"].size:
        return empty(kind)
    codes = np.zeros(sums["n"].size, dtype=np.int64)
    for k in names:
        _, inverse = np.unique(np.array([_sort_key(v) for v in keys[k]]) if keys[k].dtype == object
                               else keys[k], return_inverse=True)
        codes = codes * (int(inverse.max()) + 1) + inverse
    uniq, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    out_sums = {k: np.bincount(inverse, weights=v, minlength=uniq.size) for k, v in sums.items()}
    out_sums["n"] = np.rint(out_sums["n"]).astype(np.int64)
    return Cells(kind, {k: v[first] for k, v in keys.items()}, out_sums).canonical()


# ---------------------------------------------------------------- row quantities (numpy)


def score_bucket(score: np.ndarray) -> np.ndarray:
    """The bucket of each finite score: ceil(score x B) - 1 clipped to [0, B - 1], so bucket k is
    (k/B, (k+1)/B] and a score on an edge is in the lower bucket, as scikit-learn's
    ``calibration_curve`` bins it (ECE). The SQL is the same expression on the same doubles."""
    with np.errstate(invalid="ignore"):
        return (np.ceil(np.clip(score, 0.0, 1.0) * SCORE_BUCKETS) - 1).clip(0, SCORE_BUCKETS - 1).astype(np.int64)


def _binary_rows(y: np.ndarray, pred: np.ndarray, score: np.ndarray | None) -> tuple[dict, dict]:
    ok = np.isfinite(y) & np.isfinite(pred)
    yi = np.where(ok, y != 0, DROPPED).astype(np.int64)
    pi = np.where(ok, pred != 0, 0).astype(np.int64)
    n = y.size
    if score is None:
        fin = np.zeros(n, dtype=bool)
        score = np.zeros(n)
    else:
        fin = ok & np.isfinite(score)
    s = np.where(fin, score, 0.0)
    bucket = np.where(fin, score_bucket(s), NO_SCORE)
    yf = np.where(fin, yi, 0).astype(np.float64)
    clipped = np.clip(s, EPS, 1 - EPS)
    ll = np.where(fin, -(yf * np.log(clipped) + (1 - yf) * np.log(1 - clipped)), 0.0)
    bs = np.where(fin, (s - yf) ** 2, 0.0)
    keys = {"bucket": bucket, "y": yi, "pred": pi}
    return keys, {"s1": s, "bs": bs, "bs2": bs**2, "ll": ll, "ll2": ll**2}


def _multiclass_rows(y: np.ndarray, pred: np.ndarray) -> tuple[dict, dict]:
    import pandas as pd

    truth, predicted = pd.Series(y, dtype=object), pd.Series(pred, dtype=object)
    keys = {}
    for name, series in (("y", truth), ("pred", predicted)):
        strings = series.astype(str).to_numpy(dtype=object)
        strings[series.isna().to_numpy()] = None
        keys[name] = strings
    return keys, {}


def _regression_rows(y: np.ndarray, pred: np.ndarray) -> tuple[dict, dict]:
    with np.errstate(invalid="ignore"):
        ok = (np.abs(y) < REGRESSION_LARGEST) & (np.abs(pred) < REGRESSION_LARGEST)
    y = np.where(ok, y, 0.0)
    e = np.where(ok, pred, 0.0) - y
    e2 = e**2
    ape = np.abs(e) / np.maximum(np.abs(y), EPS)
    return {"ok": ok.astype(np.int64)}, {
        "e1": e, "ae": np.abs(e), "e2": e2, "e4": e2**2, "ape": ape, "ape2": ape**2,
        "y1": y, "y2": y**2, "y3": y**3, "y4": y**4, "e2y": e2 * y, "e2y2": e2 * y**2,
    }


def _digits(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(code 0..r-1 per row, the value of each code): integers by offset, text by sorting."""
    if values.dtype != object:
        low = int(values.min()) if values.size else 0
        high = int(values.max()) if values.size else 0
        return values - low, np.arange(low, high + 1, dtype=np.int64)
    uniq, inverse = np.unique(np.array([_sort_key(v) for v in values]), return_inverse=True)
    decoded = np.empty(uniq.size, dtype=object)
    decoded[:] = [None if u == NONE_KEY else u for u in uniq]
    return inverse, decoded


def _group(kind: str, keys: dict[str, np.ndarray], sums: dict[str, np.ndarray],
           groups: np.ndarray | None = None, n_groups: int = 1) -> list[Cells]:
    """The cells of each group (``groups``: a code 0..n_groups-1 per row, -1 = in no group).

    Each row's cell is one mixed-radix code (group, then every key); counts and sums are
    ``bincount``s over it (no sort), or over ``np.unique``'s codes when the code space is large.
    """
    n = next(iter(keys.values())).size
    groups = np.zeros(n, dtype=np.int64) if groups is None else np.asarray(groups, dtype=np.int64)
    keep = groups >= 0
    code = groups[keep]
    decoders = []
    for name in KEYS[kind]:
        digit, values = _digits(keys[name][keep])
        decoders.append((name, values))
        code = code * values.size + digit
    size = n_groups * int(np.prod([v.size for _, v in decoders]))
    if size <= 8 * max(code.size, 1_000_000):
        counts = np.bincount(code, minlength=size)
        cell = np.flatnonzero(counts)
        counts = counts[cell]
        totals = {k: np.bincount(code, weights=v[keep], minlength=size)[cell] for k, v in sums.items()}
    else:
        cell, inverse = np.unique(code, return_inverse=True)
        counts = np.bincount(inverse, minlength=cell.size)
        totals = {k: np.bincount(inverse, weights=v[keep], minlength=cell.size) for k, v in sums.items()}
    decoded: dict[str, np.ndarray] = {}
    rest = cell
    for name, values in reversed(decoders):
        rest, digit = np.divmod(rest, values.size)
        decoded[name] = values[digit]
    group_of = rest
    out = []
    for g in range(n_groups):
        mine = group_of == g
        out.append(Cells(kind, {name: decoded[name][mine] for name, _ in decoders},
                         {"n": counts[mine].astype(np.int64), **{k: v[mine] for k, v in totals.items()}}))
    return out


def from_arrays(task: str, y: np.ndarray, pred: np.ndarray, score: np.ndarray | None = None,
                groups: np.ndarray | None = None, n_groups: int = 1) -> list[Cells]:
    """The cells of a task's rows, one ``Cells`` per group (no ``groups``: one for all rows)."""
    if task == BINARY:
        keys, sums = _binary_rows(np.asarray(y, dtype=float), np.asarray(pred, dtype=float),
                                  None if score is None else np.asarray(score, dtype=float))
        kind = "binary"
    elif task == MULTICLASS:
        keys, sums = _multiclass_rows(np.asarray(y, dtype=object), np.asarray(pred, dtype=object))
        kind = "multiclass"
    else:
        keys, sums = _regression_rows(np.asarray(y, dtype=float), np.asarray(pred, dtype=float))
        kind = "regression"
    if not np.asarray(y).size:
        return [empty(kind) for _ in range(n_groups)]
    return _group(kind, keys, sums, groups, n_groups)


def _columns(spec: MonitorSpec, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    p = spec.predictions
    score = frame[p.score].to_numpy(dtype=float, na_value=np.nan) if p.score else None
    if spec.task == MULTICLASS:
        return class_names(frame["label"]), class_names(frame[p.prediction]), None
    return (frame["label"].to_numpy(dtype=float, na_value=np.nan),
            frame[p.prediction].to_numpy(dtype=float, na_value=np.nan), score)


def class_names(series: pd.Series) -> np.ndarray:
    """A multiclass column's values as class names (text; None where missing). A whole number
    prints as an integer ("1", not "1.0"): pandas reads an integer column holding NULLs (pending
    labels) as floats, and class 1 must stay the class an integer prediction column calls "1"
    (the database path's ``indb.performance.class_text`` prints numbers the same way)."""
    import pandas as pd

    dtype = series.dtype
    if (pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_integer_dtype(dtype)
            or not pd.api.types.is_numeric_dtype(dtype)):
        # Integers as they are: through floats, values of 2**53 and more would merge.
        names = series.astype(str).to_numpy(dtype=object)
        names[series.isna().to_numpy()] = None
        return names
    x = series.to_numpy(dtype=float, na_value=np.nan)
    whole = np.isfinite(x) & (np.floor(x) == x) & (np.abs(x) < 2.0**53)
    names = x.astype(str).astype(object)
    names[whole] = x[whole].astype(np.int64).astype(str)
    names[np.isnan(x)] = None
    return names


def segment_name(column: str, value: Any) -> str:
    """``column=value``, a whole float printed as an integer ("region=1", not "region=1.0"): an
    integer segment column holding NULLs reads as floats in pandas and as integers from the
    database; both paths name its segments with this."""
    if isinstance(value, float | np.floating) and np.isfinite(value) and float(value).is_integer():
        value = int(value)
    return f"{column}={value}"


def segment_codes(series: pd.Series) -> tuple[np.ndarray, list[Any]]:
    """(code per row, -1 for a missing value; the values in order) as ``groupby(sort=True,
    observed=False)`` groups them: sorted, and every category of a categorical column."""
    import pandas as pd

    if isinstance(series.dtype, pd.CategoricalDtype):
        return series.cat.codes.to_numpy(dtype=np.int64), list(series.cat.categories)
    codes, uniques = pd.factorize(series, sort=True)
    return codes.astype(np.int64), list(uniques)


def from_frame(spec: MonitorSpec, labeled: pd.DataFrame) -> dict[str, Cells]:
    """Segment (``*`` and ``column=value``) -> cells of the labeled rows, as ``_metric_rows`` judges."""
    y, pred, score = _columns(spec, labeled)
    out = {"*": from_arrays(spec.task, y, pred, score)[0]}
    for column in spec.segments:
        codes, values = segment_codes(labeled[column])
        parts = from_arrays(spec.task, y, pred, score, codes, len(values))
        out.update({segment_name(column, value): part for value, part in zip(values, parts, strict=True)})
    return out


def ntile(n: int, k: int) -> np.ndarray:
    """SQL's NTILE(k) over n ordered rows, 0-based: the first n mod k slices one row longer."""
    size, extra = divmod(n, k)
    lengths = [size + 1] * extra + [size] * (k - extra)
    return np.repeat(np.arange(k), lengths)


def slice_cells(spec: MonitorSpec, labeled: pd.DataFrame) -> list[Cells]:
    """The cells of each of the baseline's ``sub_windows`` slices of ``labeled`` (NTILE in time
    order, as the database path's ``gw_slice``)."""
    k = spec.baseline.sub_windows
    ts = spec.predictions.timestamp
    ordered = labeled.sort_values(ts if ts in labeled else spec.predictions.id, kind="stable")
    y, pred, score = _columns(spec, ordered)
    return from_arrays(spec.task, y, pred, score, ntile(len(ordered), k), k)


def estimate_cells(score: np.ndarray, pred: np.ndarray, unsupported: np.ndarray | None = None) -> Cells:
    """The label-free estimate's cells of a window's rows (score bucket, unsupported, pred >= 0.5)."""
    score = np.asarray(score, dtype=float)
    if not score.size:
        return empty("estimate")
    fin = np.isfinite(score)
    s = np.where(fin, score, 0.0)
    with np.errstate(invalid="ignore"):
        flag = (np.asarray(pred, dtype=float) >= 0.5).astype(np.int64)
    outside = np.zeros(score.size, dtype=np.int64) if unsupported is None else np.asarray(unsupported).astype(np.int64)
    keys = {"bucket": np.where(fin, score_bucket(s), NO_SCORE), "unsupported": outside, "pred": flag}
    return _group("estimate", keys, {"s1": s})[0]


def frame_cells(spec: MonitorSpec, labeled: pd.DataFrame) -> Cells:
    """The cells of all of ``labeled`` (one group)."""
    return from_arrays(spec.task, *_columns(spec, labeled))[0]
