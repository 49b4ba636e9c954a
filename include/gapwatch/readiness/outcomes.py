"""What a readiness validation says about one window, as small JSON-safe dataclasses.

:class:`ExpectationOutcome` (one expectation), :class:`ReadinessResult` (the window's verdict) and
:class:`SuiteValidation` (the verdict with GX's own, PII-scrubbed result for Data Docs), plus the
helpers every reader of a suite entry shares. Light to import: no GX, no pandas.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

SEVERITIES = ("critical", "warning")
DEFAULT_SEVERITY = "critical"

# How many failing values we keep per expectation. GX is asked for exactly this many so it
# does not collect (and count) more than we would throw away.
MAX_EXAMPLES = 5

# Kwargs that name the column(s) an expectation reads; used to decide whether an
# expectation touches a PII column.
_COLUMN_KWARGS = ("column", "column_A", "column_B")
_COLUMN_LIST_KWARGS = ("column_list",)

# For these expectations the observed value is a count or a proportion, never a row value,
# so it is kept even when the column is PII. Every other observed value on a PII column
# (min, max, quantiles, distinct values, most common value, ...) is dropped.
COUNT_LIKE_OBSERVED = frozenset(
    {
        "expect_column_unique_value_count_to_be_between",
        "expect_column_proportion_of_unique_values_to_be_between",
        "expect_column_proportion_of_non_null_values_to_be_between",
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_null",
    }
)


@dataclass
class ExpectationOutcome:
    """The result of one expectation on one window, reduced to what gapwatch reports.

    Attributes:
        expectation_type: GX expectation type, e.g. ``"expect_column_values_to_not_be_null"``.
        column: The column the expectation is about, or None for table-level expectations.
        kwargs: The expectation's configuration kwargs as written in the suite file
            (JSON-safe), without ``column`` and ``batch_id``.
        severity: ``"critical"`` or ``"warning"`` (from the expectation's meta).
        success: Whether the expectation held on this window.
        observed_value: GX's observed value (JSON-safe); None on PII columns when it could
            reveal a row value.
        unexpected_count: Number of failing rows for row-wise expectations, else None.
        unexpected_percent: Percent of failing rows for row-wise expectations, else None.
        unexpected_examples: Up to five failing values; always empty for PII columns.
        description: One human-readable line; never contains a PII value.
        check: The check the expectation belongs to: ``"suite"`` for the steward's suite,
            or a built-in check (``freshness``, ``volume``, ``schema``, ``duplicates``).
    """

    expectation_type: str
    column: str | None
    kwargs: dict
    severity: str
    success: bool
    observed_value: Any = None
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    unexpected_examples: list = field(default_factory=list)
    description: str = ""
    check: str = "suite"

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ExpectationOutcome:
        """Rebuild an outcome from :meth:`ReadinessResult.to_dict` output.

        Args:
            d: One element of ``to_dict()["outcomes"]``.

        Returns:
            The outcome.
        """
        return cls(
            expectation_type=str(d["expectation_type"]),
            column=d.get("column"),
            kwargs=dict(d.get("kwargs") or {}),
            severity=str(d.get("severity") or DEFAULT_SEVERITY),
            success=bool(d["success"]),
            observed_value=d.get("observed_value"),
            unexpected_count=d.get("unexpected_count"),
            unexpected_percent=d.get("unexpected_percent"),
            unexpected_examples=list(d.get("unexpected_examples") or []),
            description=str(d.get("description") or ""),
            check=str(d.get("check") or "suite"),
        )


@dataclass
class ReadinessResult:
    """The readiness verdict for one window.

    Attributes:
        suite: Name of the expectation suite (its ``"name"`` field).
        success: False iff at least one critical expectation failed; warning-level
            failures never make a window unready.
        evaluated_rows: Number of rows in the validated DataFrame.
        outcomes: One outcome per expectation, in suite-file order.
    """

    suite: str
    success: bool
    evaluated_rows: int
    outcomes: list[ExpectationOutcome] = field(default_factory=list)

    @property
    def critical_failures(self) -> list[ExpectationOutcome]:
        """Failed expectations of critical severity (these make the window unready)."""
        return [o for o in self.outcomes if not o.success and o.severity == "critical"]

    @property
    def warnings(self) -> list[ExpectationOutcome]:
        """Failed expectations of warning severity (reported, but the window stays ready)."""
        return [o for o in self.outcomes if not o.success and o.severity == "warning"]

    def to_dict(self) -> dict:
        """Return a JSON-serialisable dict (numpy scalars converted, NaN/inf as None).

        Returns:
            ``{"suite", "success", "evaluated_rows", "outcomes": [...]}``;
            ``json.dumps`` works on it.
        """
        return json_safe(asdict(self))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ReadinessResult:
        """Rebuild a result from :meth:`to_dict` output (e.g. after a JSON round trip).

        Args:
            d: A dict produced by :meth:`to_dict`.

        Returns:
            The result.
        """
        return cls(
            suite=str(d["suite"]),
            success=bool(d["success"]),
            evaluated_rows=int(d["evaluated_rows"]),
            outcomes=[ExpectationOutcome.from_dict(o) for o in d.get("outcomes") or []],
        )


@dataclass
class SuiteValidation:
    """A readiness result together with GX's own (PII-scrubbed) validation result.

    Attributes:
        result: gapwatch's compact result (stored, reported).
        gx_result: GX's ``ExpectationSuiteValidationResult`` with every value of a PII
            column removed; what the Data Docs page is rendered from.
    """

    result: ReadinessResult
    gx_result: Any


# --------------------------------------------------------------------------- suite entries


def severity_of(entry: Mapping[str, Any], where: str) -> str:
    """Return an entry's severity from ``meta.severity`` (or GX 1.x's top-level field).

    Args:
        entry: One suite entry.
        where: Prefix for error messages (names file and expectation).

    Returns:
        One of :data:`SEVERITIES`.

    Raises:
        ValueError: On an unknown severity or conflicting meta/top-level values.
    """
    meta = entry.get("meta") or {}
    from_meta = meta.get("severity")
    top = entry.get("severity")
    if from_meta is not None and top is not None and from_meta != top:
        raise ValueError(f'{where}: meta.severity {from_meta!r} conflicts with "severity" {top!r}')
    severity = from_meta if from_meta is not None else top
    if severity is None:
        return DEFAULT_SEVERITY
    if severity not in SEVERITIES:
        raise ValueError(f"{where}: severity {severity!r} must be one of {list(SEVERITIES)}")
    return severity


def columns_of(kwargs: Mapping[str, Any]) -> set[str]:
    """Return every column an expectation's kwargs refer to.

    Args:
        kwargs: An expectation's kwargs.

    Returns:
        The column names (``column``, ``column_A``/``column_B``, ``column_list``).
    """
    names = {kwargs[k] for k in _COLUMN_KWARGS if isinstance(kwargs.get(k), str)}
    for key in _COLUMN_LIST_KWARGS:
        value = kwargs.get(key)
        if isinstance(value, list):
            names |= {v for v in value if isinstance(v, str)}
    return names


# --------------------------------------------------------------------------- JSON safety


def json_safe(value: Any) -> Any:
    """Recursively convert ``value`` into plain JSON types.

    numpy/pandas scalars become Python scalars, NaN/inf/NaT/NA become None, dates become
    ISO strings, sets become (sorted when possible) lists. Duck-typed so that it works
    without importing numpy or pandas.
    """
    if value is None or type(value) in (bool, str):
        return value
    if isinstance(value, bool):  # subclasses such as numpy.bool_ are not bool, but be safe
        return bool(value)
    if isinstance(value, str):  # e.g. numpy.str_
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):  # includes numpy.float64, a float subclass
        return float(value) if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return json_safe(float(value))
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        items = [json_safe(v) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return items
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    type_name = type(value).__name__
    if type_name in ("NaTType", "NAType"):  # pandas missing-value markers
        return None
    if isinstance(value, _dt.datetime | _dt.date | _dt.time):
        return value.isoformat()
    if isinstance(value, _dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    module = type(value).__module__ or ""
    if module.startswith("numpy"):
        if type_name.startswith(("datetime64", "timedelta64")):
            return None if str(value) == "NaT" else str(value)
        if hasattr(value, "tolist"):  # numpy scalars and arrays
            return json_safe(value.tolist())
    if hasattr(value, "to_json_dict"):  # GX objects
        return json_safe(value.to_json_dict())
    return str(value)
