"""Frames as the evaluation reads them: numbers checked, the baseline cut into slices.

Shared by the performance and the drift halves of the evaluation (``assessment``, ``drift_stage``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gapwatch.catalog import MULTICLASS

if TYPE_CHECKING:
    import pandas as pd

    from gapwatch.spec import MonitorSpec

BOOTSTRAP_SEED = 20260105  # fixed: the same window always gets the same bootstrap errors
NO_ROWS = "no rows in the window"


def _numeric_fields(spec: MonitorSpec) -> list[tuple[str, str, str]]:
    """(column, the spec field that makes it numeric, what to do about text) for every column
    the evaluation reads as numbers."""
    p = spec.predictions
    fields = [
        (f.name, f"predictions.features[{i}].kind",
         f"set predictions.features[{i}].kind: categorical if it holds categories")
        for i, f in enumerate(p.features) if f.kind == "numeric"
    ]
    if p.score:
        fields.append((p.score, "predictions.score", "the score must be a probability"))
    if spec.task != MULTICLASS:
        fields.append((p.prediction, "predictions.prediction", f"a {spec.task} predicts numbers"))
        fields.append(("label", "ground_truth.label", f"a {spec.task} needs numeric labels (0/1)"))
    return fields


def numeric_checked(spec: MonitorSpec, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every column read as numbers made numeric, or a ValueError naming the column
    and the spec field when one holds text (instead of a conversion error deep in numpy).

    Text that parses as numbers (a DECIMAL or a text column of digits) is converted.
    """
    import pandas as pd

    converted: dict[str, pd.Series] = {}
    for column, field, hint in _numeric_fields(spec):
        if column not in frame:
            continue
        series = frame[column]
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            continue
        values = pd.to_numeric(series, errors="coerce")
        bad = series.notna() & values.isna()
        if bad.any():
            # A PII column's values never appear in an error (they end up in logs and the store).
            example = "" if column in spec.pii_columns else f", e.g. {series[bad].iloc[0]!r}"
            raise ValueError(
                f"monitor {spec.name}: column {column!r} holds text ({int(bad.sum())} of {len(series)} "
                f"rows{example}) but {field} reads it as numbers; {hint}"
            )
        converted[column] = values.astype(float)
    return frame.assign(**converted) if converted else frame


def slices(frame: pd.DataFrame, spec: MonitorSpec) -> list[pd.DataFrame]:
    """The baseline cut into ``sub_windows`` slices, in time order where there is a time (a
    reference table without one: in id order, as the database path's NTILE).

    Sizes as SQL's ``NTILE(k)`` gives them (``indb.selection.reference``): as equal as possible,
    the first ``len % k`` slices one row longer, so both paths cut the same slices.
    """
    k = spec.baseline.sub_windows
    ts = spec.predictions.timestamp
    ordered = frame.sort_values(ts if ts in frame else spec.predictions.id, kind="stable")
    size, extra = divmod(len(ordered), k)
    bounds = [i * size + min(i, extra) for i in range(k + 1)]
    return [ordered.iloc[bounds[i] : bounds[i + 1]] for i in range(k)]
