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

What the spec says a column is decides over its values (the profile is type-aware):

* the score column is a probability: ``[0, 1]``, critical (a score of 1.05 is impossible,
  whatever the baseline's quantiles say);
* a classifier's prediction column is a label: the set of labels seen, never a range
  (``predicted_label`` in 0-2 would let 1.5 through);
* version-like columns (``model_version``, ``*_release``, ``build``) get a null check only:
  pinning them to the baseline's one value would warn on every release.

Column types are recorded in the suite's ``meta.profile``; they are enforced by the
built-in schema check (type families by reflection), which works in both validation modes.
PII columns get a null-rate check only: ranges and value sets are built from values.
"""

from __future__ import annotations

import json
import math
import re
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


# Column names that carry a release or version: their values change by design.
_VERSION_LIKE = re.compile(r"(^|_)(version|ver|release|build|revision|rev)(_|$)|^v\d", re.IGNORECASE)


def is_version_like(column: str) -> bool:
    """Whether a column names a version or release (``model_version``, ``app_release``)."""
    return bool(_VERSION_LIKE.search(column))


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
        if column in spec.pii_columns or column in must_be_complete or is_version_like(column):
            continue
        if column == p.score:
            expectations.append(_probability(column))
        elif column == p.prediction and spec.task != "regression":
            expectations += _value_expectations(column, series, "label")
        else:
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


def _probability(column: str) -> dict[str, Any]:
    """The score is a probability: outside [0, 1] is a broken feed, not a change in population."""
    return {
        "type": "expect_column_values_to_be_between",
        "kwargs": {"column": column, "min_value": 0.0, "max_value": 1.0},
        "meta": {"severity": "critical"},
        "notes": "the score is a probability of the positive class",
    }


def _value_expectations(column: str, series: pd.Series, kind: str) -> list[dict[str, Any]]:
    """A widened range for a numeric column, the seen categories for a few-valued one (warnings).

    ``kind`` ``"label"`` (a classifier's prediction) is a set of values whatever its dtype.
    """
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
    if kind not in ("string", "boolean", "label"):
        return []
    values = series.dropna().unique()
    if not 0 < len(values) <= MAX_CATEGORIES:
        return []
    return [
        {
            "type": "expect_column_values_to_be_in_set",
            "kwargs": {"column": column, "value_set": sorted(v.item() if hasattr(v, "item") else v for v in values)},
            "meta": {"severity": "warning"},
            "notes": "labels predicted in the baseline" if kind == "label" else "categories seen in the baseline",
        }
    ]


def profile_window(spec: MonitorSpec, start: datetime, end: datetime, name: str) -> dict[str, Any]:
    """The suggested suite for ``[start, end)`` of the monitor's source, written nowhere.

    Raises:
        ValueError: If the window has no rows.
    """
    from gapwatch import sources

    frame = sources.read_window(spec, start, end)
    if frame.empty:
        raise ValueError(f"monitor {spec.name}: no rows in {start.isoformat()}..{end.isoformat()}")
    return suggest_suite(spec, frame, name)


def _key(entry: dict[str, Any]) -> tuple[str, str]:
    return entry["type"], str((entry.get("kwargs") or {}).get("column", ""))


def diff_suites(current: dict[str, Any], suggested: dict[str, Any]) -> list[str]:
    """What the suggestion would change in the current suite, one line per expectation.

    Expectations are matched on (type, column): ``+`` only suggested, ``-`` only in the current
    suite (kept by a steward, or a column gone), ``~`` both with different kwargs or severity.

    Args:
        current: The suite file as it is.
        suggested: :func:`suggest_suite`'s output.

    Returns:
        The lines, empty when the suggestion matches the suite.
    """
    def by_key(suite: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
        return {_key(e): e for e in suite.get("expectations", [])}

    def label(key: tuple[str, str]) -> str:
        return f"{key[0]} ({key[1]})" if key[1] else key[0]

    def shown(entry: dict[str, Any]) -> dict[str, Any]:
        kwargs = {k: v for k, v in (entry.get("kwargs") or {}).items() if k != "column"}
        severity = (entry.get("meta") or {}).get("severity", "critical")
        return {**kwargs, "severity": severity}

    old, new = by_key(current), by_key(suggested)
    lines = [f"+ {label(k)} {json.dumps(shown(new[k]), default=str)}" for k in new if k not in old]
    lines += [f"- {label(k)} {json.dumps(shown(old[k]), default=str)}" for k in old if k not in new]
    for k in (k for k in new if k in old):
        before, after = shown(old[k]), shown(new[k])
        if before != after:
            changed = {f: (before.get(f), after.get(f)) for f in {*before, *after} if before.get(f) != after.get(f)}
            parts = ", ".join(f"{f}: {json.dumps(a, default=str)} -> {json.dumps(b, default=str)}"
                              for f, (a, b) in sorted(changed.items()))
            lines.append(f"~ {label(k)} {parts}")
    return lines


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
    if path.exists() and not force:
        raise SuiteExistsError(f"{path} exists; pass --force to overwrite it")
    suite = profile_window(spec, start, end, path.stem)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(suite, indent=2, default=str) + "\n", encoding="utf-8")
    return suite
