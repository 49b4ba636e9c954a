"""``gapwatch suite suggest``: a starter GX suite profiled from a baseline window.

GX 1.x dropped the profilers of 0.x (``UserConfigurableProfiler``, the Onboarding Data
Assistant) and ships no replacement, so the profile is computed here, vectorised in pandas,
and written as a plain GX 1.x suite JSON the steward edits and commits.

What is suggested, and at which severity:

* the columns present (``expect_table_columns_to_match_set``, extra columns allowed): critical;
* null rates: ``expect_column_values_to_not_be_null`` with ``mostly`` set to the baseline's
  non-null share less a margin (ids and timestamps must never be null): critical, because a
  column that stops arriving is a broken feed;
* numeric ranges from the 0.1% / 99.9% quantiles widened by 10% of their spread, and
  category sets of low-cardinality text columns: **warning**, because values beyond the
  baseline are as often a real change in the population (which drift monitoring judges) as
  a broken feed, and a critical range would hide exactly that change from evaluation. The
  steward raises a range to critical where a value is truly impossible.

Column types are recorded in the suite's ``meta.profile``; they are enforced by the
built-in schema check (type families by reflection), which works in both validation modes.
PII columns get a null-rate check only: ranges and value sets are built from values.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from gapwatch.spec import MonitorSpec

MAX_CATEGORIES = 20
_RANGE_MARGIN = 0.10  # share of the quantile spread added on each side
_NULL_MARGIN = 0.01  # absolute share of extra nulls tolerated
_TAIL = 0.001  # quantiles used for ranges, so one outlier in the baseline does not set them
_RANGE_MOSTLY = 0.99  # the tails beyond the quantiles are real values, just rare


class SuiteExistsError(FileExistsError):
    """The suite file exists and ``force`` was not given."""


def _kind(series: pd.Series) -> str:
    import pandas as pd

    if pd.api.types.is_bool_dtype(series.dtype):
        return "boolean"
    if pd.api.types.is_numeric_dtype(series.dtype):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return "datetime"
    return "string"


def _round_down(value: float, digits: int = 3) -> float:
    scale = 10**digits
    return math.floor(value * scale) / scale


def _range(series: pd.Series) -> tuple[float, float] | None:
    import pandas as pd

    values = series.dropna().astype("float64")
    if values.empty:
        return None
    low, high = (float(v) for v in values.quantile([_TAIL, 1 - _TAIL]))
    spread = high - low
    margin = spread * _RANGE_MARGIN if spread > 0 else max(abs(high) * _RANGE_MARGIN, 1.0)
    lower, upper = low - margin, high + margin
    if float(values.min()) >= 0:
        lower = max(lower, 0.0)  # a non-negative quantity stays non-negative
    if pd.api.types.is_integer_dtype(series.dtype):
        return float(math.floor(lower)), float(math.ceil(upper))
    return float(f"{lower:.6g}"), float(f"{upper:.6g}")


def suggest_suite(spec: MonitorSpec, frame: pd.DataFrame, name: str) -> dict[str, Any]:
    """Build a starter suite from a baseline window's rows.

    Args:
        spec: The monitor (ids, timestamps and PII columns get special treatment).
        frame: The baseline window's rows.
        name: The suite name (the file stem).

    Returns:
        A GX 1.x suite dict (``name``, ``meta``, ``expectations``).
    """
    p = spec.predictions
    must_be_complete = {p.id, p.timestamp}
    expectations: list[dict[str, Any]] = [
        {
            "type": "expect_table_columns_to_match_set",
            "kwargs": {"column_set": list(frame.columns), "exact_match": False},
            "notes": "every baseline column must be present; extra columns are fine",
        }
    ]
    profile: dict[str, Any] = {}
    null_rates = frame.isna().mean()
    for column in frame.columns:
        series = frame[column]
        kind = _kind(series)
        null_rate = float(null_rates[column])
        profile[column] = {"type": kind, "dtype": str(series.dtype), "null_rate": round(null_rate, 6)}
        expectations.append(_not_null(column, null_rate, complete=column in must_be_complete))
        if column not in spec.pii_columns and column not in must_be_complete:
            expectations += _value_expectations(column, series, kind)
    return {
        "name": name,
        "meta": {
            "notes": f"Starter suite for {spec.name}, profiled from its baseline by "
            "`gapwatch suite suggest`; review and edit before relying on it.",
            "profile": profile,
        },
        "expectations": expectations,
    }


def _not_null(column: str, null_rate: float, *, complete: bool) -> dict[str, Any]:
    """Nulls at most about twice the baseline's rate; none at all in ids and timestamps."""
    kwargs: dict[str, Any] = {"column": column}
    if not complete:
        kwargs["mostly"] = _round_down(max(0.0, 1.0 - (2 * null_rate + _NULL_MARGIN)))
    return {
        "type": "expect_column_values_to_not_be_null",
        "kwargs": kwargs,
        "notes": f"baseline null rate {null_rate:.2%}",
    }


def _value_expectations(column: str, series: pd.Series, kind: str) -> list[dict[str, Any]]:
    """A widened range for a numeric column, the seen categories for a few-valued one (warnings)."""
    if kind == "numeric":
        bounds = _range(series)
        if bounds is None:
            return []
        return [
            {
                "type": "expect_column_values_to_be_between",
                "kwargs": {
                    "column": column,
                    "min_value": bounds[0],
                    "max_value": bounds[1],
                    "mostly": _RANGE_MOSTLY,
                },
                "meta": {"severity": "warning"},
                "notes": "baseline 0.1%-99.9% quantiles widened by 10% of their spread; "
                "a few rows beyond them are normal, a share above 1% is not",
            }
        ]
    if kind not in ("string", "boolean"):
        return []
    values = series.dropna().unique()
    if not 0 < len(values) <= MAX_CATEGORIES:
        return []
    return [
        {
            "type": "expect_column_values_to_be_in_set",
            "kwargs": {"column": column, "value_set": sorted(v.item() if hasattr(v, "item") else v for v in values)},
            "meta": {"severity": "warning"},
            "notes": "categories seen in the baseline",
        }
    ]


def write_suggested_suite(
    spec: MonitorSpec, start: datetime, end: datetime, path: Path, *, force: bool = False
) -> dict[str, Any]:
    """Profile ``[start, end)`` of the monitor's source and write the starter suite to ``path``.

    Args:
        spec: The monitor.
        start: Baseline start (UTC).
        end: Baseline end (UTC).
        path: The suite file to write.
        force: Overwrite an existing file.

    Returns:
        The suite written.

    Raises:
        SuiteExistsError: If ``path`` exists and ``force`` is False.
        ValueError: If the window has no rows.
    """
    from gapwatch import sources

    if path.exists() and not force:
        raise SuiteExistsError(f"{path} exists; pass --force to overwrite it")
    frame = sources.read_window(spec, start, end)
    if frame.empty:
        raise ValueError(f"monitor {spec.name}: no rows in {start.isoformat()}..{end.isoformat()}")
    suite = suggest_suite(spec, frame, path.stem)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(suite, indent=2, default=str) + "\n", encoding="utf-8")
    return suite
