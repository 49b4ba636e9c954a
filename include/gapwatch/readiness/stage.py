"""The readiness stage of a monitor run: validate, keep the result, render Data Docs, report.

``run_readiness`` validates one window with the steward's suite plus the built-in checks
(:mod:`gapwatch.readiness.checks`), either on the extracted window in pandas or, with
``readiness.validate_in: database``, inside the source database through a GX SQL data source
so no row leaves the database. The per-expectation result is upserted into the store's
``validations`` table with the path of its Data Docs page. ``gapwatch.policy.readiness_findings``
turns the stage summary into one finding per check and severity, so a stale feed and a short
feed open separate incidents for the data steward, and a warning-level failure notifies without
blocking evaluation.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from gapwatch import config, sources, store
from gapwatch.catalog import Severity

if TYPE_CHECKING:
    import pandas as pd

    from gapwatch.readiness.suite import ReadinessResult, SuiteValidation
    from gapwatch.spec import MonitorSpec
    from gapwatch.window import Window

log = logging.getLogger(__name__)


def window_query(spec: MonitorSpec, window: Window, source: sources.Source | None = None) -> str:
    """The ``SELECT`` of the window's rows, rendered for the source's dialect.

    GX's query asset takes SQL text, so the bounds are rendered as literals by SQLAlchemy
    (they are datetimes we produced, never user input).
    """
    query = sources.window_select(spec, window.start, window.end)
    dialect = (source or sources.Source(spec)).engine.dialect
    return str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def _with_parsed_timestamps(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Parse a text timestamp column (SQLite returns DATETIME as text) for the freshness check."""
    import pandas as pd

    if column not in frame.columns or pd.api.types.is_datetime64_any_dtype(frame[column]):
        return frame
    parsed = pd.to_datetime(frame[column], errors="coerce", utc=True).dt.tz_localize(None)
    copy = frame.copy(deep=False)
    copy[column] = parsed
    return copy


def validate_window(
    spec: MonitorSpec,
    window: Window,
    load_frame: Callable[[], pd.DataFrame],
    *,
    source: sources.Source,
    suite_path: Path,
    profile: dict[str, Any],
) -> SuiteValidation:
    """Validate one window with a suite file plus the built-in checks; store and render nothing.

    The part of :func:`run_readiness` that ``gapwatch suite test`` shares: the validation only.

    Args:
        spec: The monitor.
        window: The window.
        load_frame: Returns the window's rows (called only when validating in memory).
        source: The resolved source.
        suite_path: The suite file to validate with.
        profile: The baseline profile (:func:`gapwatch.readiness.checks.baseline_profile`).

    Returns:
        The :class:`gapwatch.readiness.suite` validation: ``result`` (a ``ReadinessResult``,
        the schema check's type outcome included) and ``gx_result``.
    """
    from gapwatch.readiness.checks import (
        apply_severity,
        builtin_entries,
        current_column_families,
        severity_for,
        types_outcome,
    )
    from gapwatch.readiness.suite import load_suite_json, validate_suite

    suite_spec = load_suite_json(suite_path)
    entries = apply_severity(
        spec, [*suite_spec["expectations"], *builtin_entries(spec, window.start, window.end, profile)]
    )
    combined = {"name": suite_spec["name"], "expectations": entries}
    pii = spec.pii_columns
    if spec.readiness.validate_in == "database":
        validation = validate_suite(
            combined,
            sql_url=source.url,
            sql_query=window_query(spec, window, source),
            pii_columns=pii,
            source=str(suite_path),
        )
    else:
        frame = _with_parsed_timestamps(load_frame(), spec.predictions.timestamp)
        validation = validate_suite(combined, dataframe=frame, pii_columns=pii, source=str(suite_path))
        del frame
    result = validation.result
    if spec.readiness.schema_check.enabled and profile["columns"]:
        severity = severity_for(spec, {"type": "", "meta": {"gapwatch_check": "schema"}}, Severity.CRITICAL.value)
        result.outcomes.append(types_outcome(spec, profile, current_column_families(spec, source), severity))
        result.success = not result.critical_failures
    return validation


def run_readiness(
    spec: MonitorSpec,
    window: Window,
    load_frame: Callable[[], pd.DataFrame],
    *,
    source: sources.Source | None = None,
) -> dict[str, Any]:
    """Validate one window, store the result and its Data Docs page, return the summary.

    Args:
        spec: The monitor.
        window: The window.
        load_frame: Returns the window's rows; called only when ``validate_in`` is
            ``memory`` (in-database validation reads no rows).
        source: The run's resolved source (else the spec's source is resolved here).

    Returns:
        A JSON-safe summary for XCom and ``policy.readiness_findings``: ``suite``, ``ready``,
        ``critical_failures`` and ``warnings`` (descriptions), ``rows``, ``validate_in``,
        ``data_docs_url`` and ``checks`` (one entry per check and severity).
    """
    from gapwatch.readiness.checks import baseline_profile

    source = source or sources.Source(spec)
    suite_path = config.settings().expectations_dir / f"{spec.readiness.suite}.json"
    validation = validate_window(
        spec, window, load_frame, source=source, suite_path=suite_path, profile=baseline_profile(spec, source)
    )
    result = validation.result

    page_path, page_url = _data_docs_page(spec, window, validation.gx_result)
    _store_validation(spec, window, result, page_path)
    return {
        "suite": result.suite,
        "ready": result.success,
        "critical_failures": [o.description for o in result.critical_failures],
        "warnings": [o.description for o in result.warnings],
        "rows": result.evaluated_rows,
        "validate_in": spec.readiness.validate_in,
        "data_docs_url": page_url,
        "checks": _checks(result),
    }


def _data_docs_page(spec: MonitorSpec, window: Window, gx_result: Any) -> tuple[str | None, str | None]:
    """Render the validation's Data Docs page: (path, url), or (None, None) when rendering fails."""
    try:
        from gapwatch.readiness.docs import build_page

        page = build_page(spec.name, window.key, window.start, gx_result)
        return str(page.path), page.url
    except Exception:  # Data Docs are for reading; a rendering bug must not stop the gate.
        log.exception("could not build the Data Docs page for %s %s", spec.name, window.key)
        return None, None


def _store_validation(spec: MonitorSpec, window: Window, result: ReadinessResult, page_path: str | None) -> None:
    """Upsert the window's per-expectation result (a rerun replaces it)."""
    with store.engine().begin() as conn:
        store.upsert(
            conn,
            store.validations,
            {
                "monitor": spec.name,
                "window_start": window.start,
                "suite": result.suite,
                "success": result.success,
                "evaluated_rows": result.evaluated_rows,
                "critical_failures": len(result.critical_failures),
                "warnings": len(result.warnings),
                "result": {**result.to_dict(), "validate_in": spec.readiness.validate_in},
                "data_docs_path": page_path,
            },
            ["monitor", "window_start", "suite"],
        )


def _checks(result: ReadinessResult) -> list[dict[str, Any]]:
    """One entry per (check, severity) present in the result, in first-seen order."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for o in result.outcomes:
        group = groups.setdefault(
            (o.check, o.severity),
            {"check": o.check, "severity": o.severity, "expectations": 0, "failing": []},
        )
        group["expectations"] += 1
        if not o.success:
            group["failing"].append(o.description)
    return list(groups.values())


# ---------------------------------------------------------------- reading results


def stored_validations(monitor: str, window_start: datetime | None = None) -> list[dict[str, Any]]:
    """Stored validations of a monitor, newest first (or the one of ``window_start``)."""
    v = store.validations
    query = sa.select(v).where(v.c.monitor == monitor).order_by(v.c.window_start.desc())
    if window_start is not None:
        query = query.where(v.c.window_start == window_start)
    with store.engine().connect() as conn:
        return store.rows(conn, query)


def format_validation(row: dict[str, Any], *, failed_only: bool = False) -> list[str]:
    """Terminal lines for one stored validation: verdict, Data Docs page, every expectation.

    The Data Docs page is the http link Model Health serves (``GAPWATCH_AIRFLOW_URL``), which
    anyone with a login can open, not a file on a worker; a page outside the site stays a path.
    With ``failed_only`` only the expectations that did not hold are listed.
    """
    from gapwatch.readiness.docs import data_docs_link
    from gapwatch.readiness.suite import ReadinessResult

    result = ReadinessResult.from_dict(row["result"])
    path = row["data_docs_path"]
    docs = data_docs_link(path, absolute=True) or path or "-"
    verdict = "ready" if row["success"] else "NOT READY"
    lines = [
        f"{row['window_start'].date().isoformat()}  {verdict}  suite {row['suite']}  "
        f"{row['evaluated_rows']} rows  {row['critical_failures']} critical, {row['warnings']} warning "
        f"(validated in {row['result'].get('validate_in', 'memory')})",
        f"  Data Docs: {docs}",
    ]
    for o in result.outcomes:
        if failed_only and o.success:
            continue
        mark = "ok  " if o.success else "FAIL"
        lines.append(f"  {mark} {o.severity:<8} {o.check:<10} {o.expectation_type}")
        lines.append(f"       {o.description}")
        details = []
        if o.observed_value is not None:
            details.append(f"observed {o.observed_value}")
        if o.unexpected_count is not None:
            details.append(f"unexpected {o.unexpected_count} ({(o.unexpected_percent or 0):.2f}%)")
        if o.unexpected_examples:
            details.append(f"e.g. {o.unexpected_examples}")
        if details and not o.success:
            lines.append("       " + "; ".join(str(d) for d in details))
    return lines
