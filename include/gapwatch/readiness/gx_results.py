"""Reading GX's validation results: one :class:`ExpectationOutcome` per expectation, PII removed.

GX's results are verbose and can carry row values. Each is reduced to an outcome with a one-line
description built only from counts, percents, the suite's own kwargs and (for non-PII columns)
a few examples; :func:`scrub_pii` removes every value of a PII column from GX's own result before
Data Docs render it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gapwatch.readiness.outcomes import (
    COUNT_LIKE_OBSERVED,
    MAX_EXAMPLES,
    ExpectationOutcome,
    columns_of,
    json_safe,
    severity_of,
)

# --------------------------------------------------------------------------- mapping


def to_outcome(entry: Mapping[str, Any], res: Any, pii: frozenset[str]) -> ExpectationOutcome:
    """Map one GX ``ExpectationValidationResult`` to an :class:`ExpectationOutcome`.

    Args:
        entry: The suite entry the result belongs to (as written in the suite file).
        res: GX's result for that entry.
        pii: Columns whose values must not appear in the outcome.

    Returns:
        The outcome, with its one-line description.
    """
    etype = entry["type"]
    raw_kwargs = entry.get("kwargs") or {}
    column = raw_kwargs.get("column") if isinstance(raw_kwargs.get("column"), str) else None
    kwargs = json_safe({k: v for k, v in raw_kwargs.items() if k not in ("column", "batch_id")})
    touches_pii = bool(columns_of(raw_kwargs) & pii)
    severity = severity_of(entry, etype)
    result = dict(res.result or {})

    observed = result.get("observed_value")
    if touches_pii and not (
        etype in COUNT_LIKE_OBSERVED
        and isinstance(observed, int | float)
        and not isinstance(observed, bool)
    ):
        observed = None
    observed = json_safe(observed)

    unexpected_count = json_safe(result.get("unexpected_count"))
    unexpected_percent = json_safe(result.get("unexpected_percent"))
    examples: list = []
    if not touches_pii:
        examples = json_safe(list(result.get("partial_unexpected_list") or [])[:MAX_EXAMPLES])

    error = exception_message(res)
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


def exception_message(res: Any) -> str | None:
    """Return the first error message if GX failed to evaluate the expectation.

    Args:
        res: GX's result for one expectation.

    Returns:
        The message, or None when the expectation was evaluated.
    """
    info = res.exception_info or {}
    # GX uses two shapes: a flat {"raised_exception": ..., "exception_message": ...} and
    # {metric_id: {same keys}} when a metric failed to resolve.
    candidates = [info] if "raised_exception" in info else list(info.values())
    for item in candidates:
        if isinstance(item, Mapping) and item.get("raised_exception"):
            return str(item.get("exception_message") or "unknown error")
    return None


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


def scrub_pii(gx_result: Any, entries: list[dict], pii: frozenset[str]) -> None:
    """Remove every value of a PII column from GX's result, in place (counts stay).

    GX renders unexpected values and observed values into Data Docs and GX 1.x has no
    per-expectation result format, so the values are removed after validation, before
    anything renders or stores them. Batch metadata that quotes the query is dropped too.

    Args:
        gx_result: GX's ``ExpectationSuiteValidationResult``, results in suite-file order.
        entries: The suite's entries, in the same order.
        pii: The PII columns.
    """
    for entry, res in zip(entries, gx_result.results, strict=True):
        if not (columns_of(entry.get("kwargs") or {}) & pii):
            continue
        result = res.result or {}
        for key in _VALUE_BEARING_RESULT_KEYS:
            result.pop(key, None)
        observed = result.get("observed_value")
        if observed is not None and not (
            entry["type"] in COUNT_LIKE_OBSERVED
            and isinstance(observed, int | float)
            and not isinstance(observed, bool)
        ):
            result["observed_value"] = "(hidden: PII column)"
        res.result = result
        info = res.exception_info or {}
        if info:
            # Error messages can quote data (a failing cast of a value).
            res.exception_info = {
                "raised_exception": bool(exception_message(res)),
                "exception_message": "details withheld (PII column)" if exception_message(res) else None,
                "exception_traceback": None,
            }


# --------------------------------------------------------------------------- descriptions


def _describe(
    o: ExpectationOutcome, result: Mapping[str, Any], error: str | None, touches_pii: bool
) -> str:
    """Build the one-line human description of an outcome.

    Only counts, percents, the suite's own kwargs and (for non-PII columns) the examples
    already kept on the outcome are used, so no PII value can leak into the text.
    """
    kw = o.kwargs
    subject = o.column or "/".join(sorted(columns_of(kw))) or "table"
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
        missing = json_safe(mismatched.get("missing") or [])
        extra = json_safe(mismatched.get("unexpected") or [])
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
