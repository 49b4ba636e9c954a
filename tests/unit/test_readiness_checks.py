"""Unit tests for the readiness spec fields, built-in checks, severity overrides and suggested suites."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from gapwatch.readiness.checks import apply_severity, builtin_entries, value_entries
from gapwatch.readiness.suggest import suggest_suite
from gapwatch.spec import Readiness, load_specs

START = datetime(2026, 2, 2, tzinfo=UTC)
END = START + timedelta(days=7)
PROFILE = {"rows": 6000, "seconds": 14 * 86400.0, "columns": {"a": "numeric", "prediction_id": "string"}}


def _spec(**readiness):
    spec = load_specs().by_name("credit_default")
    return spec.model_copy(update={"readiness": Readiness.model_validate({"suite": "s", **readiness})})


def test_readiness_defaults_turn_every_builtin_check_on() -> None:
    r = Readiness.model_validate({"suite": "s"})
    assert r.validate_in == "memory" and r.freshness.max_age == timedelta(days=1)
    assert (r.volume.min_ratio, r.volume.max_ratio) == (0.7, 1.5)
    assert r.schema_check.enabled and r.duplicates.enabled and r.freshness.enabled


@pytest.mark.parametrize(
    "bad",
    [{"severity": {"volume": "warn"}}, {"severity": {"not_a_check": "warning"}},
     {"volume": {"min_ratio": 2, "max_ratio": 1}}, {"validate_in": "warehouse"}, {"freshness": {"max_age": "soon"}}],
)
def test_bad_readiness_settings_are_rejected(bad: dict) -> None:
    with pytest.raises(ValidationError):
        Readiness.model_validate({"suite": "s", **bad})


def test_builtin_entries_are_judged_against_the_window_end_and_the_baseline_rate() -> None:
    spec = _spec(freshness={"max_age": "6h"}, volume={"min_ratio": 0.5, "max_ratio": 2})
    entries = {e["meta"]["gapwatch_check"]: e for e in builtin_entries(spec, START, END, PROFILE)}
    assert entries["freshness"]["kwargs"] == {"column": "scored_at", "min_value": datetime(2026, 2, 8, 18)}
    # 6000 rows in two weeks -> 3000 per weekly window
    assert entries["volume"]["kwargs"] == {"min_value": 1500, "max_value": 6000}
    assert entries["schema"]["kwargs"] == {"column_set": ["a", "prediction_id"], "exact_match": True}
    assert entries["duplicates"]["kwargs"] == {"column": "prediction_id"}


def test_disabled_builtin_checks_add_nothing() -> None:
    spec = _spec(freshness={"enabled": False}, volume={"enabled": False}, schema={"enabled": False},
                 duplicates={"enabled": False})
    # Only the always-on value checks remain (NULL predictions and timestamps; scores when scored).
    assert builtin_entries(spec, START, END, PROFILE) == value_entries(spec)
    assert {e["meta"]["gapwatch_check"] for e in value_entries(spec)} <= {"scores", "predictions", "timestamps"}


def test_spec_severity_overrides_suite_and_builtin_severity() -> None:
    spec = _spec(severity={"volume": "warning", "expect_column_values_to_not_be_null:age": "warning",
                           "expect_column_values_to_be_in_set": "critical"})
    entries = [
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "age"}},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "income"}},
        {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "region", "value_set": ["n"]},
         "meta": {"severity": "warning"}},
        *builtin_entries(spec, START, END, PROFILE),
    ]
    severities = [e["meta"]["severity"] for e in apply_severity(spec, entries)]
    values = ["critical"] * len(value_entries(spec))  # the always-on value checks
    assert severities == ["warning", "critical", "critical", "critical", "warning", "critical", "critical", *values]


def test_suggested_suite_profiles_columns_without_pii_values() -> None:
    rng = np.random.default_rng(1)
    n = 5000
    frame = pd.DataFrame(
        {
            "prediction_id": [f"p{i}" for i in range(n)],
            "scored_at": pd.date_range("2026-01-05", periods=n, freq="min"),
            "age": rng.integers(20, 80, n),
            "income": np.where(rng.uniform(size=n) < 0.05, np.nan, rng.uniform(1000, 2000, n)),
            "region": rng.choice(["north", "south"], n),
            "customer_email": [f"c{i}@mail.test" for i in range(n)],
        }
    )
    suite = suggest_suite(_spec(), frame, "suggested")
    by = {(e["type"], e["kwargs"].get("column")): e for e in suite["expectations"]}
    assert by[("expect_column_values_to_not_be_null", "prediction_id")]["kwargs"] == {"column": "prediction_id"}
    # about 5% nulls in the baseline -> tolerate about 11%
    assert 0.88 <= by[("expect_column_values_to_not_be_null", "income")]["kwargs"]["mostly"] <= 0.9
    age = by[("expect_column_values_to_be_between", "age")]
    assert age["kwargs"]["min_value"] <= 20 and age["kwargs"]["max_value"] >= 79
    assert age["kwargs"]["min_value"] >= 0 and age["meta"]["severity"] == "warning"
    assert by[("expect_column_values_to_be_in_set", "region")]["kwargs"]["value_set"] == ["north", "south"]
    assert suite["meta"]["profile"]["age"]["type"] == "numeric"
    assert "mail.test" not in str(suite)
    assert not [k for k in by if k[1] == "customer_email" and k[0] != "expect_column_values_to_not_be_null"]


def test_suggested_suite_is_type_aware_for_score_labels_and_versions() -> None:
    rng = np.random.default_rng(2)
    n = 4000
    score = rng.uniform(0, 1, n)
    frame = pd.DataFrame(
        {
            "prediction_id": [f"p{i}" for i in range(n)],
            "scored_at": pd.date_range("2026-01-05", periods=n, freq="min"),
            "score": score,
            "predicted_label": rng.choice([0, 2], n),  # integer labels, 1 never predicted
            "model_version": ["3.1.0"] * n,
            "age": rng.integers(20, 80, n),
        }
    )
    suite = suggest_suite(_spec(), frame, "suggested")
    by = {(e["type"], e["kwargs"].get("column")): e for e in suite["expectations"]}
    prob = by[("expect_column_values_to_be_between", "score")]
    assert (prob["kwargs"]["min_value"], prob["kwargs"]["max_value"]) == (0.0, 1.0)
    assert prob["meta"]["severity"] == "critical" and "mostly" not in prob["kwargs"]
    assert ("expect_column_values_to_be_between", "predicted_label") not in by
    assert by[("expect_column_values_to_be_in_set", "predicted_label")]["kwargs"]["value_set"] == [0, 2]
    assert [k[0] for k in by if k[1] == "model_version"] == ["expect_column_values_to_not_be_null"]
    assert ("expect_column_values_to_be_between", "age") in by  # other numeric columns keep ranges


@pytest.mark.parametrize(
    ("column", "version_like"),
    [("model_version", True), ("version", True), ("app_release", True), ("build", True), ("v2", True),
     ("score", False), ("conversion_rate", False), ("revenue", False), ("building_age", False)],
)
def test_version_like_columns(column: str, version_like: bool) -> None:
    from gapwatch.readiness.suggest import is_version_like

    assert is_version_like(column) is version_like
