"""Data-readiness validation of one monitoring window with Great Expectations 1.x.

A window of production predictions is only worth scoring (metrics, drift) if its inputs
look sane. This module runs a GX 1.x expectation suite stored as JSON in
``include/expectations/`` against a pandas DataFrame (or inside the source database) and
turns GX's verbose result into the small, JSON-safe dataclasses of
:mod:`gapwatch.readiness.outcomes` (via :mod:`gapwatch.readiness.gx_results`) that the rest of
gapwatch stores and reports.

Design notes:

* ``great_expectations`` (~4 s to import) and ``pandas`` are imported inside the functions
  that need them, because this module is also imported by light code (DAG parsing, CLI).
* Every expectation carries a severity in its ``meta`` (``{"severity": "warning"}``);
  the default is ``"critical"``. Only critical failures make the window unready.
* Columns listed as PII never have their row values copied into the result: no examples,
  no value-bearing observed values, and descriptions built only from counts and the
  suite's own configuration.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import os
import uuid
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

from gapwatch.readiness.gx_results import scrub_pii, to_outcome
from gapwatch.readiness.gx_sql import add_sql_datasource
from gapwatch.readiness.outcomes import (
    MAX_EXAMPLES,
    SEVERITIES,
    ExpectationOutcome,
    ReadinessResult,
    SuiteValidation,
    columns_of,
    severity_of,
)

__all__ = [
    "SEVERITIES",
    "ExpectationOutcome",
    "ReadinessResult",
    "SuiteValidation",
    "load_suite_json",
    "validate_dataframe",
    "validate_suite",
]

# Names inside the throw-away GX context. Expectation ids carry the position in the suite
# file because GX returns results in its own order; they are UUIDs because GX's result
# schema (used when Data Docs store the result) accepts nothing else.
_DATASOURCE = "gapwatch_readiness"
_ID_BASE = 0x6A7E_0000_0000_0000_0000_0000_0000_0000

# Keys a GX 1.x suite entry may carry. Anything else is most likely a typo ("kwarg",
# "expectation_type" from a 0.x suite) that GX would silently ignore, so we reject it.
_ENTRY_KEYS = frozenset(
    {"type", "kwargs", "meta", "notes", "description", "severity", "id", "rendered_content"}
)


# --------------------------------------------------------------------------- suite files


def load_suite_json(path: Path) -> dict:
    """Read a GX 1.x expectation-suite JSON file and check its basic shape.

    The expected format is ``{"name": str, "expectations": [{"type": "expect_...",
    "kwargs": {...}, "meta": {...}}, ...]}``. Whether each type exists and its kwargs are
    valid is checked later, by GX, in :func:`validate_dataframe`.

    Args:
        path: The suite file.

    Returns:
        The parsed suite.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If the file is not valid JSON or not shaped like a GX 1.x suite; the
            message names the file.
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    try:
        suite = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"expectation suite {path}: invalid JSON: {exc}") from exc
    if not isinstance(suite, dict):
        raise ValueError(f"expectation suite {path}: top level must be a JSON object")
    name = suite.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f'expectation suite {path}: missing or empty "name" (GX 1.x format)')
    expectations = suite.get("expectations")
    if not isinstance(expectations, list):
        raise ValueError(f'expectation suite {path}: "expectations" must be a list')
    for index, entry in enumerate(expectations):
        where = f"expectation suite {path}: expectation #{index}"
        if not isinstance(entry, dict):
            raise ValueError(f"{where} must be a JSON object")
        etype = entry.get("type")
        if not isinstance(etype, str) or not etype:
            hint = ' ("expectation_type" is the GX 0.x key)' if "expectation_type" in entry else ""
            raise ValueError(f'{where}: missing "type"{hint}')
        where = f"{where} ({etype})"
        unknown = sorted(set(entry) - _ENTRY_KEYS)
        if unknown:
            raise ValueError(f"{where}: unknown keys {unknown}; allowed: {sorted(_ENTRY_KEYS)}")
        if not isinstance(entry.get("kwargs", {}), dict):
            raise ValueError(f'{where}: "kwargs" must be an object')
        if not isinstance(entry.get("meta") or {}, dict):
            raise ValueError(f'{where}: "meta" must be an object')
        severity_of(entry, where)  # fail early on a typo such as "warn"
    return suite


# --------------------------------------------------------------------------- validation


def validate_dataframe(
    df: Any, suite_path: Path, *, pii_columns: Collection[str] = ()
) -> ReadinessResult:
    """Validate one window's DataFrame against an expectation suite file.

    Runs GX 1.x in an ephemeral (in-memory, nothing written to disk) context with a
    pandas data source and a whole-DataFrame batch, using the ``SUMMARY`` result format.

    Args:
        df: The window as a ``pandas.DataFrame``; it is not modified.
        suite_path: A GX 1.x suite JSON file (see :func:`load_suite_json`).
        pii_columns: Columns whose values must never appear in the result.

    Returns:
        The readiness result; ``success`` is False iff a critical expectation failed.
        An expectation GX could not evaluate (e.g. its column is missing) counts as failed.

    Raises:
        ValueError: If the suite file is malformed, names an unknown expectation type or
            gives an expectation invalid kwargs; the message names the file and the
            expectation.
        TypeError: If ``df`` is not a pandas DataFrame.
    """
    suite_path = Path(suite_path)
    suite_spec = load_suite_json(suite_path)
    return validate_suite(
        suite_spec, dataframe=df, pii_columns=pii_columns, source=str(suite_path)
    ).result


def validate_suite(
    suite_spec: Mapping[str, Any],
    *,
    dataframe: Any = None,
    sql_url: str | None = None,
    sql_query: str | None = None,
    pii_columns: Collection[str] = (),
    source: str = "suite",
) -> SuiteValidation:
    """Validate one window against a suite, in pandas or inside a SQL database.

    Give either ``dataframe`` (GX pandas data source, whole-DataFrame batch) or
    ``sql_url`` and ``sql_query`` (GX SQL data source with a query asset: every metric
    is computed by the database as an aggregate query, so the rows never reach this
    process). Each entry's ``meta.gapwatch_check`` (default ``"suite"``) names the check
    it belongs to.

    Args:
        suite_spec: A suite as returned by :func:`load_suite_json` (entries may also come
            from the built-in checks).
        dataframe: The window as a ``pandas.DataFrame``; not modified.
        sql_url: SQLAlchemy URL of the source database (PostgreSQL, SQLite or another
            dialect GX's generic SQL data source supports).
        sql_query: A ``SELECT`` returning exactly the window's rows.
        pii_columns: Columns whose values must never appear in the result or in
            ``gx_result``.
        source: What to call the suite in error messages (usually its file).

    Returns:
        The compact result and GX's PII-scrubbed result (for Data Docs).

    Raises:
        ValueError: On a malformed suite entry (unknown type, invalid kwargs).
        TypeError: If ``dataframe`` is given but is not a pandas DataFrame.
    """
    if (dataframe is None) == (sql_url is None or sql_query is None):
        raise ValueError("give either dataframe, or sql_url and sql_query")
    pii = frozenset(pii_columns)
    _quiet_gx()  # before GX is first imported
    entries = list(suite_spec["expectations"])
    expectations = _build_expectations(entries, Path(source))
    frame = None if dataframe is None else _checked_frame(dataframe, entries)
    gx_result, evaluated_rows = _run_gx(suite_spec["name"], expectations, frame, sql_url, sql_query)

    gx_result.results = _in_file_order(gx_result.results, len(entries), source)
    outcomes = [to_outcome(entry, res, pii) for entry, res in zip(entries, gx_result.results, strict=True)]
    scrub_pii(gx_result, entries, pii)
    result = ReadinessResult(
        suite=suite_spec["name"],
        success=not any(not o.success and o.severity == "critical" for o in outcomes),
        evaluated_rows=evaluated_rows,
        outcomes=outcomes,
    )
    return SuiteValidation(result=result, gx_result=gx_result)


def _checked_frame(dataframe: Any, entries: list[dict]) -> Any:
    """The DataFrame to validate: type-checked, numeric columns on GX's fast path."""
    import pandas as pd

    if not isinstance(dataframe, pd.DataFrame):
        raise TypeError(f"validate_dataframe needs a pandas DataFrame, got {type(dataframe).__name__}")
    return _for_fast_path(dataframe, entries)


def _run_gx(
    name: str, expectations: list[Any], frame: Any, sql_url: str | None, sql_query: str | None
) -> tuple[Any, int]:
    """Validate the window (``frame``, else ``sql_query`` on ``sql_url``) in a throw-away context.

    Returns:
        GX's ``ExpectationSuiteValidationResult`` and the window's row count.
    """
    from great_expectations.core.expectation_suite import ExpectationSuite

    context = _ephemeral_context()
    try:
        if frame is not None:
            batch = (
                context.data_sources.add_pandas(_DATASOURCE)
                .add_dataframe_asset(name)
                .add_batch_definition_whole_dataframe("window")
                .get_batch(batch_parameters={"dataframe": frame})
            )
        else:
            batch = (
                add_sql_datasource(context, _DATASOURCE, str(sql_url), str(sql_query))
                .add_query_asset(name, query=str(sql_query))
                .add_batch_definition_whole_table("window")
                .get_batch()
            )
        # The suite is not added to the context: nothing needs to persist, and adding it
        # would only cost a serialisation round trip.
        suite = ExpectationSuite(name=name, expectations=expectations)
        # GX reorders results (ones that failed to evaluate come first). Ids let us map them
        # back to file order; they must be set after the suite is built, because
        # ExpectationSuite refuses expectations that already have an id.
        for index, expectation in enumerate(suite.expectations):
            expectation.id = str(uuid.UUID(int=_ID_BASE + index))
        gx_result = batch.validate(
            suite,
            result_format={
                # SUMMARY gives counts, percents and a few examples; COMPLETE would also
                # collect every failing index, which is slow on big windows and not needed.
                "result_format": "SUMMARY",
                "partial_unexpected_count": MAX_EXAMPLES,
                "include_unexpected_rows": False,
            },
        )
        return gx_result, len(frame) if frame is not None else _row_count(gx_result, batch)
    finally:
        # GX's context is a process-wide singleton and its pandas execution engine keeps
        # the loaded batch (our whole DataFrame) alive after validation; dropping the
        # data source releases the frame's memory once we return. Cleanup must never
        # mask the real error, hence the suppress.
        with contextlib.suppress(Exception):
            context.data_sources.delete(_DATASOURCE)


def _ephemeral_context() -> Any:
    """A GX context with in-memory stores only, quiet and without analytics.

    Progress bars (tqdm on stderr, one per metric batch) and analytics are switched off in the
    context config itself; Data Docs are rendered separately (readiness.docs) from the
    scrubbed result.
    """
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    return gx.get_context(
        mode="ephemeral",
        project_config=DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
            analytics_enabled=False,
            progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
        ),
    )


def _in_file_order(results: list[Any], count: int, source: str) -> list[Any]:
    """GX's results put back in suite-file order, by the ids :func:`_run_gx` gave them."""
    by_index: dict[int, Any] = {}
    for res in results:
        config = res.expectation_config
        with contextlib.suppress(ValueError):
            by_index[uuid.UUID((config.id if config else None) or "").int - _ID_BASE] = res
    missing = [index for index in range(count) if index not in by_index]
    if missing:  # pragma: no cover - GX always returns one result per expectation
        raise RuntimeError(f"{source}: GX returned no result for expectation #{missing[0]}")
    return [by_index[index] for index in range(count)]


def _row_count(gx_result: Any, batch: Any) -> int:
    """The window's row count, from a result that already has it, else one metric query."""
    for res in gx_result.results:
        result = res.result or {}
        if res.expectation_config.type == "expect_table_row_count_to_be_between":
            value = result.get("observed_value")
            if isinstance(value, int):
                return value
        if isinstance(result.get("element_count"), int):
            return int(result["element_count"])
    from great_expectations.validator.metric_configuration import MetricConfiguration

    metric = MetricConfiguration("table.row_count", metric_domain_kwargs={"batch_id": batch.id})
    return int(batch.validator.compute_metrics([metric])[metric.id])


def _quiet_gx() -> None:
    """Keep GX quiet: no analytics, no INFO chatter in task logs, unless the caller chose.

    Both settings only apply when the caller has not configured them, so an explicit
    ``GX_ANALYTICS_ENABLED`` or a level set on the ``great_expectations`` logger wins.
    """
    # Must be set before great_expectations is first imported to be sure it is seen.
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    # GX logs dozens of INFO lines on import (_docs_decorators, registry, fluent config),
    # which would flood Airflow task logs that run at INFO.
    gx_logger = logging.getLogger("great_expectations")
    if gx_logger.level == logging.NOTSET:
        gx_logger.setLevel(logging.WARNING)


def _build_expectations(entries: list[dict], suite_path: Path) -> list[Any]:
    """Turn suite entries into GX Expectation objects, failing loudly on bad ones.

    ``ExpectationSuite(expectations=[dict, ...])`` logs and *drops* invalid entries, which
    would silently weaken a readiness gate; building each one ourselves lets us raise a
    ValueError that names the file and the expectation instead.

    Args:
        entries: The suite's ``"expectations"`` list (already shape-checked).
        suite_path: The suite file, for error messages.

    Returns:
        GX Expectation objects, in file order.

    Raises:
        ValueError: On an unknown expectation type or invalid kwargs.
    """
    from great_expectations.exceptions import GreatExpectationsError
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )
    from great_expectations.expectations.metadata_types import FailureSeverity

    built = []
    for index, entry in enumerate(entries):
        etype = entry["type"]
        where = f"expectation suite {suite_path}: expectation #{index} ({etype})"
        kwargs = copy.deepcopy(entry.get("kwargs") or {})
        severity = severity_of(entry, where)
        _check_bounds(kwargs, where)
        try:
            config = ExpectationConfiguration(
                type=etype,
                kwargs=kwargs,
                meta=copy.deepcopy(entry.get("meta") or {}),
                notes=entry.get("notes"),
                description=entry.get("description"),
                # Mirror our severity into GX's own field so GX-rendered output agrees.
                severity=FailureSeverity(severity),
            )
            built.append(config.to_domain_obj())
        except GreatExpectationsError as exc:
            # ExpectationNotFoundError ("expect_foo not found") and configuration errors.
            message = getattr(exc, "message", None) or str(exc)
            raise ValueError(f"{where}: {message}") from exc
        except (ValueError, TypeError) as exc:
            # pydantic's ValidationError is a ValueError: missing/extra/mistyped kwargs.
            detail = " ".join(str(exc).split())
            raise ValueError(f"{where}: invalid kwargs {sorted(kwargs)}: {detail}") from exc
    return built


def _check_bounds(kwargs: Mapping[str, Any], where: str) -> None:
    """Reject ``min_value > max_value`` up front.

    GX only notices this while computing metrics and then reports it as a failed
    expectation, which would look like a data problem rather than a suite bug.
    """
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    numeric = (int, float)
    if (
        isinstance(low, numeric)
        and isinstance(high, numeric)
        and not isinstance(low, bool)
        and not isinstance(high, bool)
        and low > high
    ):
        raise ValueError(f"{where}: min_value {low} is greater than max_value {high}")


def _for_fast_path(df: Any, entries: Iterable[Mapping[str, Any]]) -> Any:
    """Return ``df`` with checked numeric columns cast to int64/float64 where needed.

    GX's pandas ``column_values.between`` metric is vectorised only for plain int64 /
    float64 columns; for int32, float32, nullable ``Int64``/``Float64`` or object
    (``Decimal``) columns it calls a Python function per row (~0.5 s per million rows
    per expectation). Casting keeps the range semantics (nullable ints become float64
    with NaN for NA; Decimals become floats). The caller's frame is never modified.
    """
    import numpy as np
    import pandas as pd

    referenced: set[str] = set()
    for entry in entries:
        referenced |= columns_of(entry.get("kwargs") or {})
    casts = {}
    for name in referenced:
        if name not in df.columns:
            continue
        column = df[name]
        dtype = column.dtype
        if dtype == np.dtype("object"):
            # NUMERIC columns read through psycopg2 arrive as Decimal objects. Only an
            # all-number object column is cast: casting strings would change what GX
            # checks (a "5" string must still fail a numeric range).
            if pd.api.types.infer_dtype(column, skipna=True) in _NUMERIC_OBJECT_KINDS:
                casts[name] = column.astype("float64")
            continue
        if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
            continue
        if dtype in (np.dtype("int64"), np.dtype("float64")):
            continue
        if pd.api.types.is_integer_dtype(dtype) and not column.isna().any():
            casts[name] = column.astype("int64")
        else:
            casts[name] = column.astype("float64")
    if not casts:
        return df
    frame = df.copy(deep=False)
    for name, column in casts.items():
        frame[name] = column
    return frame


# pandas.api.types.infer_dtype results for object columns that hold only numbers.
_NUMERIC_OBJECT_KINDS = frozenset({"decimal", "integer", "floating", "mixed-integer-float"})
