"""Built-in readiness checks every feed gets, and per-expectation severity from the spec.

The steward's suite says what good data looks like for one model; some checks apply to every
feed and should not depend on someone remembering to write them:

* **freshness**: the newest row of the window is no older than ``readiness.freshness.max_age``
  at the window's *end* (never the wall clock, so a rerun judges the same way);
  GX ``expect_column_max_to_be_between`` on the timestamp column.
* **volume**: the window's row count lies within ``[min_ratio, max_ratio]`` times the
  baseline's rows per window (baseline rows scaled by window length);
  GX ``expect_table_row_count_to_be_between``.
* **schema**: the window has exactly the baseline's columns (GX
  ``expect_table_columns_to_match_set`` with ``exact_match``), and no column changed its type
  family (numeric, string, datetime, boolean) since the baseline.
* **duplicates**: prediction ids are unique; GX ``expect_column_values_to_be_unique``.
* **scores**, **predictions**, **timestamps** (always on, critical unless the spec's
  ``readiness.severity`` says otherwise): no NULL/NaN score and every score in [0, 1] (which
  also catches ±inf), no NULL prediction, no NULL timestamp. Such rows would otherwise be
  dropped from the metrics without a word.

The baseline side (rows, duration, columns and type families) is a small *profile* captured
once from the source with one ``COUNT(*)`` and table reflection, and kept in the store, so a
later ``ALTER TABLE`` shows up as a schema change instead of silently moving the baseline.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from gapwatch import sources, store
from gapwatch.catalog import Severity
from gapwatch.text import duration_text
from gapwatch.window import naive_utc

if TYPE_CHECKING:
    from gapwatch.readiness.suite import ExpectationOutcome
    from gapwatch.spec import MonitorSpec

TYPES_MATCH_BASELINE = "gapwatch_column_types_match_baseline"


# ---------------------------------------------------------------- baseline profile


def type_family(sql_type: Any) -> str:
    """Coarse type family of a SQLAlchemy column type.

    Families, not exact types: an INTEGER column that becomes BIGINT, or FLOAT that becomes
    NUMERIC, is not a schema break for a model; a number that becomes text is.
    """
    if isinstance(sql_type, sa.Boolean):
        return "boolean"
    if isinstance(sql_type, sa.Integer | sa.Numeric | sa.Float | sa.Double):
        return "numeric"
    if isinstance(sql_type, sa.DateTime | sa.Date | sa.Time):
        return "datetime"
    if isinstance(sql_type, sa.String):
        return "string"
    return type(sql_type).__name__.lower()


def current_column_families(spec: MonitorSpec, source: sources.Source | None = None) -> dict[str, str]:
    """The predictions table's columns and type families, by reflection (no rows read)."""
    schema, table = sources.split_table(spec.predictions.table)
    inspector = sa.inspect((source or sources.Source(spec)).engine)
    return {c["name"]: type_family(c["type"]) for c in inspector.get_columns(table, schema=schema)}


def _profile_key(spec: MonitorSpec) -> str:
    p = spec.predictions
    basis = {
        "baseline": spec.baseline.model_dump(mode="json"),
        "table": p.table,
        "timestamp": p.timestamp,
    }
    return hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()[:32]


def baseline_profile(spec: MonitorSpec, source: sources.Source | None = None) -> dict[str, Any]:
    """The baseline's rows, duration and column type families; computed once, then stored.

    Args:
        spec: The monitor.
        source: The run's resolved source (else the spec's source is resolved here).

    Returns:
        ``{"rows": int, "seconds": float, "columns": {name: family}}``.
    """
    key = _profile_key(spec)
    table = store.readiness_profiles
    with store.engine().connect() as conn:
        stored = conn.execute(
            sa.select(table.c.profile).where(table.c.monitor == spec.name, table.c.key == key)
        ).scalar()
    if stored is not None:
        return dict(stored)

    profile = compute_profile(spec, source or sources.Source(spec))
    with store.engine().begin() as conn:
        store.insert_ignore(
            conn,
            table,
            {"monitor": spec.name, "key": key, "profile": profile, "created_at": store.utcnow()},
            ["monitor", "key"],
        )
    return profile


def compute_profile(spec: MonitorSpec, source: sources.Source) -> dict[str, Any]:
    """The baseline profile read from the source, not stored (``gapwatch suite test`` uses it)."""
    if spec.baseline.table is not None:
        # A reference table has no time span, so no rows per window (the spec then requires the
        # volume check off); the schema check still compares with today's columns.
        return {"rows": 0, "seconds": 0.0, "columns": current_column_families(spec, source)}
    return _window_profile(spec, source)


def _window_profile(spec: MonitorSpec, source: sources.Source | None = None) -> dict[str, Any]:
    source = source or sources.Source(spec)
    start, end = spec.baseline.start, spec.baseline.end
    assert start is not None and end is not None
    table = sources.predictions_table(spec)
    count = sa.select(sa.func.count()).select_from(table).where(sources.in_window(table, spec, start, end))
    with source.engine.connect() as conn:
        rows = int(conn.execute(count).scalar_one())
    return {
        "rows": rows,
        "seconds": (end - start).total_seconds(),
        "columns": current_column_families(spec, source),
    }


# ---------------------------------------------------------------- built-in expectations


def _entry(check: str, etype: str, kwargs: dict[str, Any], notes: str) -> dict[str, Any]:
    return {"type": etype, "kwargs": kwargs, "meta": {"gapwatch_check": check}, "notes": notes}


def builtin_entries(
    spec: MonitorSpec, window_start: datetime, window_end: datetime, profile: dict[str, Any]
) -> list[dict[str, Any]]:
    """GX suite entries for the enabled built-in checks of one window.

    Args:
        spec: The monitor.
        window_start: The window's start (UTC).
        window_end: The window's end (UTC); freshness is judged against it.
        profile: :func:`baseline_profile` output.

    Returns:
        Suite entries in the GX 1.x JSON shape, each with ``meta.gapwatch_check``.
    """
    r = spec.readiness
    p = spec.predictions
    entries: list[dict[str, Any]] = []
    if r.freshness.enabled:
        oldest_ok = window_end - r.freshness.max_age
        entries.append(
            _entry(
                "freshness",
                "expect_column_max_to_be_between",
                # Source timestamps are naive UTC (see sources); compare like with like.
                {"column": p.timestamp, "min_value": naive_utc(oldest_ok)},
                f"newest row at most {duration_text(r.freshness.max_age, short=True)} before the window end",
            )
        )
    if r.volume.enabled and profile["seconds"] > 0:
        entries.append(_volume_entry(spec, (window_end - window_start).total_seconds(), profile))
    if r.schema_check.enabled and profile["columns"]:
        entries.append(
            _entry(
                "schema",
                "expect_table_columns_to_match_set",
                {"column_set": sorted(profile["columns"]), "exact_match": True},
                "the baseline's columns, no more and no fewer",
            )
        )
    if r.duplicates.enabled:
        entries.append(
            _entry(
                "duplicates",
                "expect_column_values_to_be_unique",
                {"column": p.id},
                "one row per prediction id",
            )
        )
    return entries + value_entries(spec)


def _volume_entry(spec: MonitorSpec, window_seconds: float, profile: dict[str, Any]) -> dict[str, Any]:
    """The row-count band of one window: the baseline's rows per window times the spec's ratios."""
    v = spec.readiness.volume
    per_window = profile["rows"] * window_seconds / profile["seconds"]
    return _entry(
        "volume",
        "expect_table_row_count_to_be_between",
        {"min_value": math.ceil(per_window * v.min_ratio), "max_value": math.floor(per_window * v.max_ratio)},
        f"baseline has {per_window:.0f} rows per window; band {v.min_ratio:g}x-{v.max_ratio:g}x",
    )


def value_entries(spec: MonitorSpec) -> list[dict[str, Any]]:
    """Checks of the values the evaluation cannot do without, on every feed (issue 13).

    A NULL, NaN or infinite score, a NULL prediction or a NULL timestamp is otherwise left out
    of the metrics and drift without a word; each is a critical finding of its own
    (``scores``, ``predictions``, ``timestamps``) whose description says how many rows.
    """
    p = spec.predictions
    dropped = "rows left out of every metric and drift statistic"
    entries = []
    if p.score:
        entries += [
            _entry("scores", "expect_column_values_to_not_be_null", {"column": p.score},
                   f"every row has a score (NULL/NaN: {dropped})"),
            # inf and -inf fall outside [0, 1] too: one check for out-of-range and infinite.
            _entry("scores", "expect_column_values_to_be_between",
                   {"column": p.score, "min_value": 0, "max_value": 1},
                   f"scores are probabilities in [0, 1] (infinite or out of range: {dropped})"),
        ]
    entries.append(_entry("predictions", "expect_column_values_to_not_be_null", {"column": p.prediction},
                          f"every row has a prediction ({dropped})"))
    entries.append(_entry("timestamps", "expect_column_values_to_not_be_null", {"column": p.timestamp},
                          "every row has a timestamp (a NULL one belongs to no window)"))
    return entries


def types_outcome(
    spec: MonitorSpec, profile: dict[str, Any], current: dict[str, str], severity: str
) -> ExpectationOutcome:
    """The "no column changed type family" half of the schema check.

    Written here rather than with GX's ``expect_column_values_to_be_in_type_list``
    because, in GX 1.24, that expectation cannot read column types of a SQL *query*
    asset (it fails with ``KeyError: 'type'``) and rejects pandas 3's ``str`` dtype for
    every string type name, so it would fail healthy windows in both modes. Column types
    come from table reflection, which reads no rows.

    Args:
        spec: The monitor.
        profile: :func:`baseline_profile` output.
        current: :func:`current_column_families` output.
        severity: The schema check's severity.

    Returns:
        An outcome of check ``schema``.
    """
    from gapwatch.readiness.suite import ExpectationOutcome

    base = profile["columns"]
    changed = {c: f"{base[c]} -> {current[c]}" for c in sorted(base) if c in current and current[c] != base[c]}
    if changed:
        text = "table: retyped columns " + ", ".join(f"{c} ({v})" for c, v in changed.items())
    else:
        text = f"table: column types as in the baseline ({len(base)} checked)"
    return ExpectationOutcome(
        expectation_type=TYPES_MATCH_BASELINE,
        column=None,
        kwargs={"column_types": dict(sorted(base.items()))},
        severity=severity,
        success=not changed,
        observed_value=changed or None,
        description=text,
        check="schema",
    )


# ---------------------------------------------------------------- severity


def severity_for(spec: MonitorSpec, entry: dict[str, Any], default: str) -> str:
    """The severity the spec sets for a suite entry, else ``default``.

    Lookup order: the built-in check's name (``volume``), then ``expect_type:column``,
    then ``expect_type``.
    """
    overrides = spec.readiness.severity
    check = (entry.get("meta") or {}).get("gapwatch_check")
    if check and check != "suite":
        return overrides.get(check, default)
    etype = entry["type"]
    column = (entry.get("kwargs") or {}).get("column")
    if isinstance(column, str) and f"{etype}:{column}" in overrides:
        return overrides[f"{etype}:{column}"]
    return overrides.get(etype, default)


def apply_severity(spec: MonitorSpec, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Copies of the entries with the spec's severity written into ``meta.severity``.

    The suite file's own ``meta.severity`` is the default; the spec wins, so an operator
    can downgrade one expectation without editing the steward's suite.
    """
    out = []
    for entry in entries:
        meta = dict(entry.get("meta") or {})
        own = meta.get("severity") or entry.get("severity") or Severity.CRITICAL.value
        meta["severity"] = severity_for(spec, entry, own)
        copied = {k: v for k, v in entry.items() if k != "severity"}
        copied["meta"] = meta
        out.append(copied)
    return out
