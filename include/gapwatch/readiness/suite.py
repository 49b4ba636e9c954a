"""Data-readiness validation of one monitoring window with Great Expectations 1.x.

A window of production predictions is only worth scoring (metrics, drift) if its inputs
look sane. This module runs a GX 1.x expectation suite stored as JSON in
``include/expectations/`` against a pandas DataFrame and turns GX's verbose result into
small, JSON-safe dataclasses that the rest of gapwatch stores and reports.

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
import datetime as _dt
import json
import logging
import math
import os
import uuid
from collections.abc import Collection, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

__all__ = [
    "SEVERITIES",
    "ExpectationOutcome",
    "ReadinessResult",
    "SuiteValidation",
    "load_suite_json",
    "validate_dataframe",
    "validate_suite",
]

SEVERITIES = ("critical", "warning")
_DEFAULT_SEVERITY = "critical"

# Names inside the throw-away GX context. Expectation ids carry the position in the suite
# file because GX returns results in its own order; they are UUIDs because GX's result
# schema (used when Data Docs store the result) accepts nothing else.
_DATASOURCE = "gapwatch_readiness"
_ID_BASE = 0x6A7E_0000_0000_0000_0000_0000_0000_0000

# How many failing values we keep per expectation. GX is asked for exactly this many so it
# does not collect (and count) more than we would throw away.
_MAX_EXAMPLES = 5

# Keys a GX 1.x suite entry may carry. Anything else is most likely a typo ("kwarg",
# "expectation_type" from a 0.x suite) that GX would silently ignore, so we reject it.
_ENTRY_KEYS = frozenset(
    {"type", "kwargs", "meta", "notes", "description", "severity", "id", "rendered_content"}
)

# Kwargs that name the column(s) an expectation reads; used to decide whether an
# expectation touches a PII column.
_COLUMN_KWARGS = ("column", "column_A", "column_B")
_COLUMN_LIST_KWARGS = ("column_list",)

# For these expectations the observed value is a count or a proportion, never a row value,
# so it is kept even when the column is PII. Every other observed value on a PII column
# (min, max, quantiles, distinct values, most common value, ...) is dropped.
_COUNT_LIKE_OBSERVED = frozenset(
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
            severity=str(d.get("severity") or _DEFAULT_SEVERITY),
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
        return _json_safe(asdict(self))

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
        _severity_of(entry, where)  # fail early on a typo such as "warn"
    return suite


def _severity_of(entry: Mapping[str, Any], where: str) -> str:
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
        return _DEFAULT_SEVERITY
    if severity not in SEVERITIES:
        raise ValueError(f"{where}: severity {severity!r} must be one of {list(SEVERITIES)}")
    return severity


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

    _quiet_gx()
    import great_expectations as gx
    from great_expectations.core.expectation_suite import ExpectationSuite
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    entries = list(suite_spec["expectations"])
    expectations = _build_expectations(entries, Path(source))
    if dataframe is not None:
        import pandas as pd

        if not isinstance(dataframe, pd.DataFrame):
            raise TypeError(
                f"validate_dataframe needs a pandas DataFrame, got {type(dataframe).__name__}"
            )
        frame = _for_fast_path(dataframe, entries)

    # Ephemeral = in-memory stores only. Progress bars (tqdm on stderr, one per metric
    # batch) and analytics are switched off in the context config itself; Data Docs are
    # rendered separately (readiness_docs) from the scrubbed result.
    context = gx.get_context(
        mode="ephemeral",
        project_config=DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
            analytics_enabled=False,
            progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
        ),
    )
    try:
        if dataframe is not None:
            asset = context.data_sources.add_pandas(_DATASOURCE).add_dataframe_asset(
                suite_spec["name"]
            )
            batch = asset.add_batch_definition_whole_dataframe("window").get_batch(
                batch_parameters={"dataframe": frame}
            )
        else:
            batch = (
                _add_sql_datasource(context, str(sql_url))
                .add_query_asset(suite_spec["name"], query=str(sql_query))
                .add_batch_definition_whole_table("window")
                .get_batch()
            )
        # The suite is not added to the context: nothing needs to persist, and adding it
        # would only cost a serialisation round trip.
        suite = ExpectationSuite(name=suite_spec["name"], expectations=expectations)
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
                "partial_unexpected_count": _MAX_EXAMPLES,
                "include_unexpected_rows": False,
            },
        )
        evaluated_rows = len(frame) if dataframe is not None else _row_count(gx_result, batch)
    finally:
        # GX's context is a process-wide singleton and its pandas execution engine keeps
        # the loaded batch (our whole DataFrame) alive after validation; dropping the
        # data source releases the frame's memory once we return. Cleanup must never
        # mask the real error, hence the suppress.
        with contextlib.suppress(Exception):
            context.data_sources.delete(_DATASOURCE)

    by_index: dict[int, Any] = {}
    for res in gx_result.results:
        exp_id = res.expectation_config.id or ""
        with contextlib.suppress(ValueError):
            by_index[uuid.UUID(exp_id).int - _ID_BASE] = res
    outcomes = []
    ordered = []
    for index, entry in enumerate(entries):
        res = by_index.get(index)
        if res is None:  # pragma: no cover - GX always returns one result per expectation
            raise RuntimeError(f"{source}: GX returned no result for expectation #{index}")
        outcomes.append(_to_outcome(entry, res, pii))
        ordered.append(res)
    gx_result.results = ordered
    _scrub_pii(gx_result, entries, pii)

    result = ReadinessResult(
        suite=suite_spec["name"],
        success=not any(not o.success and o.severity == "critical" for o in outcomes),
        evaluated_rows=evaluated_rows,
        outcomes=outcomes,
    )
    return SuiteValidation(result=result, gx_result=gx_result)


def _add_sql_datasource(context: Any, url: str) -> Any:
    """Add the GX SQL data source that fits the URL's dialect to an ephemeral context.

    ``create_temp_table`` matters for memory: to learn a query asset's column names, GX
    1.24 executes the bare query (``column_reflection_fallback``, no ``LIMIT``), and the
    DB-API driver buffers every row of the window in this process. With a temporary table
    the database copies the window server-side, GX reads the column names with
    ``SELECT * ... LIMIT 1`` and every metric stays an aggregate query; nothing but
    results reaches the worker (see bench/readiness_in_database.py).
    """
    from gapwatch.store.engine import timeout_connect_args

    dialect = url.split(":", 1)[0].split("+", 1)[0]
    sources = context.data_sources
    options: dict[str, Any] = {"connection_string": url, "create_temp_table": True}
    if connect_args := timeout_connect_args(url):  # GX's own engine times out like ours
        options["kwargs"] = {"connect_args": connect_args}
    if dialect in ("postgresql", "postgres"):
        return sources.add_postgres(_DATASOURCE, **options)
    if dialect == "sqlite":
        return sources.add_sqlite(_DATASOURCE, **options)
    return sources.add_sql(_DATASOURCE, **options)


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


# Result keys that can carry row values of the expectation's column.
_VALUE_BEARING_RESULT_KEYS = (
    "partial_unexpected_list",
    "partial_unexpected_counts",
    "partial_unexpected_index_list",
    "unexpected_list",
    "unexpected_index_list",
    "unexpected_index_query",
    "unexpected_rows",
    "details",
)


def _scrub_pii(gx_result: Any, entries: list[dict], pii: frozenset[str]) -> None:
    """Remove every value of a PII column from GX's result, in place (counts stay).

    GX renders unexpected values and observed values into Data Docs and GX 1.x has no
    per-expectation result format, so the values are removed after validation, before
    anything renders or stores them. Batch metadata that quotes the query is dropped too.
    """
    for entry, res in zip(entries, gx_result.results, strict=True):
        if not (_columns_of(entry.get("kwargs") or {}) & pii):
            continue
        result = res.result or {}
        for key in _VALUE_BEARING_RESULT_KEYS:
            result.pop(key, None)
        observed = result.get("observed_value")
        if observed is not None and not (
            entry["type"] in _COUNT_LIKE_OBSERVED
            and isinstance(observed, int | float)
            and not isinstance(observed, bool)
        ):
            result["observed_value"] = "(hidden: PII column)"
        res.result = result
        info = res.exception_info or {}
        if info:
            # Error messages can quote data (a failing cast of a value).
            res.exception_info = {
                "raised_exception": bool(_exception_message(res)),
                "exception_message": "details withheld (PII column)" if _exception_message(res) else None,
                "exception_traceback": None,
            }


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

    built = []
    for index, entry in enumerate(entries):
        etype = entry["type"]
        where = f"expectation suite {suite_path}: expectation #{index} ({etype})"
        kwargs = copy.deepcopy(entry.get("kwargs") or {})
        severity = _severity_of(entry, where)
        _check_bounds(kwargs, where)
        try:
            config = ExpectationConfiguration(
                type=etype,
                kwargs=kwargs,
                meta=copy.deepcopy(entry.get("meta") or {}),
                notes=entry.get("notes"),
                description=entry.get("description"),
                # Mirror our severity into GX's own field so GX-rendered output agrees.
                severity=severity,
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
        referenced |= _columns_of(entry.get("kwargs") or {})
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


def _columns_of(kwargs: Mapping[str, Any]) -> set[str]:
    """Return every column an expectation's kwargs refer to."""
    names = {kwargs[k] for k in _COLUMN_KWARGS if isinstance(kwargs.get(k), str)}
    for key in _COLUMN_LIST_KWARGS:
        value = kwargs.get(key)
        if isinstance(value, list):
            names |= {v for v in value if isinstance(v, str)}
    return names


# --------------------------------------------------------------------------- mapping


def _to_outcome(entry: Mapping[str, Any], res: Any, pii: frozenset[str]) -> ExpectationOutcome:
    """Map one GX ``ExpectationValidationResult`` to an :class:`ExpectationOutcome`."""
    etype = entry["type"]
    raw_kwargs = entry.get("kwargs") or {}
    column = raw_kwargs.get("column") if isinstance(raw_kwargs.get("column"), str) else None
    kwargs = _json_safe({k: v for k, v in raw_kwargs.items() if k not in ("column", "batch_id")})
    touches_pii = bool(_columns_of(raw_kwargs) & pii)
    severity = _severity_of(entry, etype)
    result = dict(res.result or {})

    observed = result.get("observed_value")
    if touches_pii and not (
        etype in _COUNT_LIKE_OBSERVED
        and isinstance(observed, int | float)
        and not isinstance(observed, bool)
    ):
        observed = None
    observed = _json_safe(observed)

    unexpected_count = _json_safe(result.get("unexpected_count"))
    unexpected_percent = _json_safe(result.get("unexpected_percent"))
    examples: list = []
    if not touches_pii:
        examples = _json_safe(list(result.get("partial_unexpected_list") or [])[:_MAX_EXAMPLES])

    error = _exception_message(res)
    outcome = ExpectationOutcome(
        expectation_type=etype,
        column=column,
        kwargs=kwargs,
        severity=severity,
        success=bool(res.success),
        observed_value=observed,
        unexpected_count=int(unexpected_count) if unexpected_count is not None else None,
        unexpected_percent=float(unexpected_percent) if unexpected_percent is not None else None,
        unexpected_examples=examples,
        check=str((entry.get("meta") or {}).get("gapwatch_check") or "suite"),
    )
    outcome.description = _describe(outcome, result, error, touches_pii)
    return outcome


def _exception_message(res: Any) -> str | None:
    """Return the first error message if GX failed to evaluate the expectation."""
    info = res.exception_info or {}
    # GX uses two shapes: a flat {"raised_exception": ..., "exception_message": ...} and
    # {metric_id: {same keys}} when a metric failed to resolve.
    candidates = [info] if "raised_exception" in info else list(info.values())
    for item in candidates:
        if isinstance(item, Mapping) and item.get("raised_exception"):
            return str(item.get("exception_message") or "unknown error")
    return None


# --------------------------------------------------------------------------- descriptions


def _describe(
    o: ExpectationOutcome, result: Mapping[str, Any], error: str | None, touches_pii: bool
) -> str:
    """Build the one-line human description of an outcome.

    Only counts, percents, the suite's own kwargs and (for non-PII columns) the examples
    already kept on the outcome are used, so no PII value can leak into the text.
    """
    kw = o.kwargs
    subject = o.column or "/".join(sorted(_columns_of(kw))) or "table"
    et = o.expectation_type

    if error is not None:
        # Error text can quote data (e.g. a failing cast); withhold it for PII columns.
        detail = "details withheld (PII column)" if touches_pii else _clip(error, 200)
        return f"{subject}: could not evaluate {et}: {detail}"

    if et == "expect_table_row_count_to_be_between":
        return f"table: {_num(o.observed_value)} rows, expected {_range_text(kw)}"
    if et == "expect_table_row_count_to_equal":
        return f"table: {_num(o.observed_value)} rows, expected {_num(kw.get('value'))}"
    if et in ("expect_table_columns_to_match_set", "expect_table_columns_to_match_ordered_list"):
        mismatched = (result.get("details") or {}).get("mismatched") or {}
        missing = _json_safe(mismatched.get("missing") or [])
        extra = _json_safe(mismatched.get("unexpected") or [])
        if o.success:
            return f"table: columns as expected ({len(kw.get('column_set') or kw.get('column_list') or [])} checked)"
        parts = []
        if missing:
            parts.append(f"missing columns {_clip(missing, 200)}")
        if extra and kw.get("exact_match", True):
            parts.append(f"unexpected columns {_clip(extra, 200)}")
        return "table: " + ("; ".join(parts) or "columns do not match the expected set")
    if et == "expect_column_to_exist":
        return f"{subject}: column {'present' if o.success else 'missing'}"

    if o.unexpected_percent is not None or o.unexpected_count is not None:
        return _describe_rowwise(o, subject)

    if "observed_value" in result:
        shown = (
            "hidden (PII column)"
            if o.observed_value is None and touches_pii
            else (_clip(o.observed_value, 120))
        )
        expected = _range_text(kw) if ("min_value" in kw or "max_value" in kw) else None
        tail = f", expected {expected}" if expected else ""
        return f"{subject}: observed {shown}{tail}"

    return f"{subject}: {et} {'passed' if o.success else 'failed'}"


def _describe_rowwise(o: ExpectationOutcome, subject: str) -> str:
    """Describe a row-wise ("map") expectation: share of failing rows vs. tolerance."""
    kw = o.kwargs
    et = o.expectation_type
    pct = _pct(o.unexpected_percent)
    if et == "expect_column_values_to_not_be_null":
        what = f"{pct} null"
    elif et == "expect_column_values_to_be_null":
        what = f"{pct} not null"
    else:
        what = f"{pct} of non-null values {_violation_text(et, kw)}"
    mostly = kw.get("mostly")
    if isinstance(mostly, int | float) and not isinstance(mostly, bool) and mostly < 1:
        allowed = f"expected at most {_num(round((1 - mostly) * 100, 6))}% (mostly={_num(mostly)})"
    else:
        allowed = "expected none"
    text = f"{subject}: {what}, {allowed}"
    if o.unexpected_count is not None:
        text += f" [{o.unexpected_count} row{'' if o.unexpected_count == 1 else 's'}]"
    # Examples are already [] for PII columns, so this cannot leak PII.
    if not o.success and o.unexpected_examples and et != "expect_column_values_to_not_be_null":
        text += f"; e.g. {_clip(', '.join(_short(v) for v in o.unexpected_examples[:3]), 120)}"
    return text


def _violation_text(et: str, kw: Mapping[str, Any]) -> str:
    """Phrase what a failing value does, e.g. ``not between 0 and 5``."""
    if et == "expect_column_values_to_be_unique":
        return "duplicated"
    if et == "expect_column_values_to_be_between":
        return f"not {_range_text(kw)}"
    if et == "expect_column_values_to_be_in_set":
        return f"not in {_clip(kw.get('value_set'), 100)}"
    if et == "expect_column_values_to_not_be_in_set":
        return f"in forbidden set {_clip(kw.get('value_set'), 100)}"
    if et == "expect_column_values_to_match_regex":
        return f"not matching {_clip(kw.get('regex'), 80)!s}"
    if et == "expect_column_values_to_not_match_regex":
        return f"matching {_clip(kw.get('regex'), 80)!s}"
    if et == "expect_column_value_lengths_to_be_between":
        return f"with length not {_range_text(kw)}"
    if et == "expect_column_value_lengths_to_equal":
        return f"with length != {_num(kw.get('value'))}"
    return f"failing {et}"


def _range_text(kw: Mapping[str, Any]) -> str:
    """Phrase a min/max pair, honouring strict bounds: ``between 0 and 5``, ``> 0``."""
    low, high = kw.get("min_value"), kw.get("max_value")
    strict_low, strict_high = bool(kw.get("strict_min")), bool(kw.get("strict_max"))
    if low is not None and high is not None:
        if not strict_low and not strict_high:
            return f"between {_num(low)} and {_num(high)}"
        lb, rb = "(" if strict_low else "[", ")" if strict_high else "]"
        return f"in {lb}{_num(low)}, {_num(high)}{rb}"
    if low is not None:
        return f"{'>' if strict_low else '>='} {_num(low)}"
    if high is not None:
        return f"{'<' if strict_high else '<='} {_num(high)}"
    return "unbounded"


def _pct(value: float | None) -> str:
    """Format a percent with sensible precision (``40.1%``, ``0.05%``, ``0%``)."""
    if value is None:
        return "?%"
    if value == 0:
        return "0%"
    if abs(value) >= 1:
        return f"{value:.1f}%"
    return f"{value:.2g}%"


def _num(value: Any) -> str:
    """Format a number without float noise (``1``, ``0.99``, ``2.5``)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _short(value: Any) -> str:
    """Format one example value compactly."""
    return _num(value) if isinstance(value, int | float) else repr(value)


def _clip(value: Any, limit: int) -> str:
    """``str(value)`` cut to ``limit`` characters, so one line stays one line."""
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------- JSON safety


def _json_safe(value: Any) -> Any:
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
        return _json_safe(float(value))
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        items = [_json_safe(v) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return items
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
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
            return _json_safe(value.tolist())
    if hasattr(value, "to_json_dict"):  # GX objects
        return _json_safe(value.to_json_dict())
    return str(value)
