"""Checking a readiness suite file against GX and the monitor's tables, before any run.

``gapwatch validate`` calls :func:`suite_errors`: a misspelled expectation type
(``expect_column_values_to_not_be_nul``), a column the predictions table does not have, or
kwargs GX rejects (a missing ``value_set``, ``mostly: 2``) would otherwise pass validation and
fail only in the first run's readiness task. Each error names the file and the expectation's
index (its position in ``expectations``, from 0), as the suite loader's errors do.

The columns a suite may name are the predictions table's columns, read by reflection from the
source when it can be reached; when it cannot (no URL in this shell), the columns the spec
declares plus those the suite itself lists in ``expect_table_columns_to_match_set``, and the
result says the table was not read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gapwatch.spec import MonitorSpec

# kwargs that name one or more columns of the table, by GX's own names.
_COLUMN_KWARGS = ("column", "column_A", "column_B")
_COLUMN_LIST_KWARGS = ("column_list",)


@dataclass
class SuiteCheck:
    """What checking one suite file found.

    Attributes:
        errors: One line per problem, each naming the file and the expectation's index.
        columns_from: ``"table"`` when the columns were read from the source, else ``"spec"``.
    """

    errors: list[str] = field(default_factory=list)
    columns_from: str = "table"


def _declared_columns(spec: MonitorSpec, suite: dict[str, Any]) -> set[str]:
    p = spec.predictions
    declared = {p.id, p.timestamp, p.prediction, *(f.name for f in p.features), *p.pii_columns}
    if p.score:
        declared.add(p.score)
    for entry in suite.get("expectations", []):
        if entry.get("type") == "expect_table_columns_to_match_set":
            declared.update(str(c) for c in (entry.get("kwargs") or {}).get("column_set") or [])
    return declared


def _table_columns(spec: MonitorSpec) -> set[str] | None:
    """The predictions table's columns from the source, or None when it cannot be read now."""
    from gapwatch.readiness.checks import current_column_families

    try:
        return set(current_column_families(spec))
    except Exception:  # noqa: BLE001 - an unreachable or unset source: fall back to the spec
        return None


def _expectation_class(etype: str) -> Any:
    """GX's class for an expectation type, or None when GX has no such expectation."""
    from great_expectations.expectations.registry import get_expectation_impl

    try:
        return get_expectation_impl(etype)
    except Exception:  # noqa: BLE001 - GX raises its own not-found error types
        return None


def _columns_named(kwargs: dict[str, Any]) -> list[str]:
    names = [kwargs[k] for k in _COLUMN_KWARGS if isinstance(kwargs.get(k), str)]
    for key in _COLUMN_LIST_KWARGS:
        names += [c for c in kwargs.get(key) or [] if isinstance(c, str)]
    return names


def _kwargs_error(cls: Any, kwargs: dict[str, Any]) -> str | None:
    """GX's own validation of the kwargs (its expectations are pydantic models)."""
    try:
        cls(**kwargs)
    except Exception as exc:  # noqa: BLE001 - pydantic and GX errors alike are the steward's to read
        text = " ".join(str(exc).split())
        return text if len(text) <= 300 else text[:297] + "..."
    return None


def check_suite(spec: MonitorSpec, path: Path) -> SuiteCheck:
    """Check every expectation of the suite file ``path`` for ``spec``.

    Args:
        spec: The monitor whose predictions table the suite validates.
        path: The suite file (already known to load: :func:`gapwatch.readiness.suite.load_suite_json`).

    Returns:
        The errors found (empty when the suite is usable) and where the columns came from.
    """
    from gapwatch.readiness.suite import load_suite_json

    suite = load_suite_json(path)
    table = _table_columns(spec)
    result = SuiteCheck(columns_from="table" if table is not None else "spec")
    known = table if table is not None else _declared_columns(spec, suite)
    for index, entry in enumerate(suite["expectations"]):
        etype = entry["type"]
        where = f"{path}: expectation #{index} ({etype})"
        cls = _expectation_class(etype)
        if cls is None:
            result.errors.append(f"{where}: GX has no expectation type {etype!r}")
            continue
        kwargs = dict(entry.get("kwargs") or {})
        missing = [c for c in _columns_named(kwargs) if c not in known]
        if missing:
            source = f"the table {spec.predictions.table}" if table is not None else "the spec or the suite's column set"
            result.errors.append(f"{where}: column(s) {missing} not in {source}")
        problem = _kwargs_error(cls, kwargs)
        if problem:
            result.errors.append(f"{where}: invalid kwargs: {problem}")
    return result
