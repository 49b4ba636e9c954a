"""Unit tests for gapwatch.readiness.suite (GX 1.x readiness validation of one window)."""

from __future__ import annotations

import gc
import json
import math
import subprocess
import sys
import weakref
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gapwatch.readiness.suite import (
    SEVERITIES,
    ExpectationOutcome,
    ReadinessResult,
    load_suite_json,
    validate_dataframe,
)

EXPECTATIONS = Path(__file__).resolve().parents[2] / "include" / "expectations"
CREDIT_SUITE = EXPECTATIONS / "credit_default_inputs.json"
DELIVERY_SUITE = EXPECTATIONS / "delivery_eta_inputs.json"
N_ROWS = 2000


def credit_frame(n: int = N_ROWS, seed: int = 7) -> pd.DataFrame:
    """A healthy credit_default window (utilization in [0, 2.5], nothing missing)."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "prediction_id": [f"pred-{i:06d}" for i in range(n)],
            "scored_at": pd.date_range("2025-03-03", periods=n, freq="min", tz="UTC"),
            "model_version": "2.3.1",
            "age": rng.integers(21, 76, n),
            "income": rng.uniform(12_000, 250_000, n),
            "utilization": rng.uniform(0, 2.5, n),
            "late_payments": rng.integers(0, 12, n),
            "tenure_months": rng.integers(1, 241, n),
            "region": rng.choice(["north", "south", "east", "west"], n),
            "customer_email": [f"customer{i:05d}@example.com" for i in range(n)],
            "score": rng.uniform(0, 1, n),
            "predicted_label": rng.integers(0, 2, n),
        }
    )


def delivery_frame(n: int = N_ROWS, seed: int = 11) -> pd.DataFrame:
    """A healthy delivery_eta window."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "prediction_id": [f"eta-{i}" for i in range(n)],
            "scored_at": pd.date_range("2025-03-03", periods=n, freq="min", tz="UTC"),
            "model_version": "0.9.0",
            "distance_km": rng.uniform(0, 40, n),
            "items": rng.integers(1, 51, n),
            "hour_of_day": rng.integers(0, 24, n),
            "courier_type": rng.choice(["bike", "car", "scooter"], n),
            "predicted_minutes": rng.uniform(5, 90, n),
        }
    )


def write_suite(path: Path, expectations: list[dict], name: str = "tmp_suite") -> Path:
    path.write_text(json.dumps({"name": name, "expectations": expectations}), encoding="utf-8")
    return path


def test_import_is_light() -> None:
    # DAG parsing imports this module; it must not drag in GX (~4 s) or pandas.
    code = (
        "import sys, gapwatch.readiness.suite; "
        "print('great_expectations' in sys.modules, 'pandas' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["False", "False"]


@pytest.mark.parametrize("suite", [CREDIT_SUITE, DELIVERY_SUITE])
def test_shipped_suites_load(suite: Path) -> None:
    spec = load_suite_json(suite)
    assert spec["name"] == suite.stem
    assert spec["expectations"]


def test_healthy_credit_window_passes() -> None:
    df = credit_frame()
    result = validate_dataframe(df, CREDIT_SUITE)
    assert result.success, [o.description for o in result.outcomes if not o.success]
    assert result.suite == "credit_default_inputs"
    assert result.evaluated_rows == N_ROWS
    assert result.critical_failures == [] and result.warnings == []
    assert len(result.outcomes) == len(load_suite_json(CREDIT_SUITE)["expectations"])
    assert all(o.severity in SEVERITIES for o in result.outcomes)
    # outcomes follow suite-file order
    types = [e["type"] for e in load_suite_json(CREDIT_SUITE)["expectations"]]
    assert [o.expectation_type for o in result.outcomes] == types


def test_healthy_delivery_window_passes() -> None:
    result = validate_dataframe(delivery_frame(), DELIVERY_SUITE)
    assert result.success, [o.description for o in result.outcomes if not o.success]


def test_window_frame_is_released_after_validation() -> None:
    # GX keeps loaded batches in a process-wide context; a 1M-row window must not stay
    # in memory after the call returns.
    df = credit_frame()
    ref = weakref.ref(df)
    validate_dataframe(df, CREDIT_SUITE)
    del df
    gc.collect()
    assert ref() is None


def test_null_utilization_fails_critically() -> None:
    df = credit_frame()
    df.loc[df.sample(frac=0.4, random_state=3).index, "utilization"] = np.nan
    result = validate_dataframe(df, CREDIT_SUITE)
    assert not result.success
    failing = [o for o in result.critical_failures if o.column == "utilization"]
    assert len(failing) == 1
    outcome = failing[0]
    assert outcome.expectation_type == "expect_column_values_to_not_be_null"
    assert outcome.severity == "critical"
    assert outcome.unexpected_count == int(0.4 * N_ROWS)
    assert outcome.unexpected_percent == pytest.approx(40, abs=0.5)
    assert "utilization" in outcome.description
    assert "40" in outcome.description and "null" in outcome.description
    assert "mostly=0.99" in outcome.description
    # the range check still sees only non-null values, and they are fine
    assert all(o.column == "utilization" for o in result.critical_failures)


def test_utilization_over_limit_fails_range() -> None:
    df = credit_frame()
    df.loc[:9, "utilization"] = 7.5
    result = validate_dataframe(df, CREDIT_SUITE)
    assert not result.success
    (outcome,) = result.critical_failures
    assert outcome.expectation_type == "expect_column_values_to_be_between"
    assert outcome.unexpected_count == 10
    assert outcome.unexpected_examples == [7.5] * 5
    assert "utilization" in outcome.description and "7.5" in outcome.description


def test_warning_level_failure_keeps_window_ready() -> None:
    df = credit_frame()
    df.loc[df.sample(frac=0.1, random_state=5).index, "customer_email"] = None
    result = validate_dataframe(df, CREDIT_SUITE, pii_columns={"customer_email"})
    assert result.success
    assert result.critical_failures == []
    (warning,) = result.warnings
    assert warning.column == "customer_email"
    assert warning.severity == "warning"
    assert not warning.success
    assert warning.unexpected_percent == pytest.approx(10, abs=0.5)


def test_missing_column_is_a_critical_failure_not_a_crash() -> None:
    df = credit_frame().drop(columns=["income"])
    result = validate_dataframe(df, CREDIT_SUITE)
    assert not result.success
    failed = {(o.expectation_type, o.column) for o in result.critical_failures}
    assert ("expect_table_columns_to_match_set", None) in failed
    assert ("expect_column_values_to_be_between", "income") in failed
    columns_outcome = next(
        o for o in result.outcomes if o.expectation_type == "expect_table_columns_to_match_set"
    )
    assert "income" in columns_outcome.description


def test_row_count_out_of_range_fails() -> None:
    result = validate_dataframe(credit_frame(n=100), CREDIT_SUITE)
    assert not result.success
    (outcome,) = result.critical_failures
    assert outcome.expectation_type == "expect_table_row_count_to_be_between"
    assert outcome.observed_value == 100


@pytest.fixture
def email_suite(tmp_path: Path) -> Path:
    """A suite whose expectations fail on customer_email and would normally quote values."""
    return write_suite(
        tmp_path / "email_checks.json",
        [
            {
                "type": "expect_column_values_to_match_regex",
                "kwargs": {"column": "customer_email", "regex": r"^[a-z0-9]+@example\.com$"},
            },
            {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "customer_email"}},
            {
                "type": "expect_column_most_common_value_to_be_in_set",
                "kwargs": {"column": "customer_email", "value_set": ["nobody"]},
            },
            {
                "type": "expect_column_values_to_not_be_null",
                "kwargs": {"column": "customer_email", "mostly": 0.99},
                "meta": {"severity": "warning"},
            },
        ],
    )


def email_frame() -> pd.DataFrame:
    df = credit_frame()
    df.loc[:49, "customer_email"] = [f"Broken.Address.{i}@Example.ORG" for i in range(50)]
    df.loc[50:59, "customer_email"] = "shared.inbox@example.com"  # duplicates
    df.loc[60:299, "customer_email"] = None
    return df


@pytest.mark.parametrize("pii", [True, False])
def test_pii_values_never_leave_the_result(email_suite: Path, pii: bool) -> None:
    df = email_frame()
    result = validate_dataframe(
        df, email_suite, pii_columns={"customer_email"} if pii else frozenset()
    )
    dumped = json.dumps(result.to_dict())
    values = set(df["customer_email"].dropna())
    leaked = sorted(v for v in values if v in dumped)
    assert not result.success and len(result.warnings) == 1
    if pii:
        assert leaked == []
        for outcome in result.outcomes:
            assert outcome.unexpected_examples == []
        # counts and percents survive
        regex = result.outcomes[0]
        assert regex.unexpected_count == 60 and regex.unexpected_percent is not None
        assert result.outcomes[2].observed_value is None
    else:
        # Without PII protection the same run does quote values, so the check above bites.
        assert leaked
        assert result.outcomes[0].unexpected_examples


def test_to_dict_round_trip_through_json() -> None:
    df = credit_frame()
    df.loc[:799, "utilization"] = np.nan
    df.loc[:3, "region"] = "atlantis"
    result = validate_dataframe(df, CREDIT_SUITE)
    payload = json.loads(json.dumps(result.to_dict()))
    again = ReadinessResult.from_dict(payload)
    assert again == result
    assert again.critical_failures == result.critical_failures
    assert again.to_dict() == payload
    region = next(o for o in again.critical_failures if o.column == "region")
    assert region.unexpected_examples == ["atlantis"] * 4


def test_to_dict_converts_numpy_and_nan() -> None:
    outcome = ExpectationOutcome(
        expectation_type="expect_column_mean_to_be_between",
        column="score",
        kwargs={"min_value": np.float64(0.1), "max_value": np.int64(1)},
        severity="critical",
        success=bool(np.bool_(False)),
        observed_value=np.float64("nan"),
        unexpected_count=None,
        unexpected_percent=None,
        unexpected_examples=[np.int64(3), np.float64("inf"), pd.NaT, pd.Timestamp("2025-01-01")],
        description="score: observed nan",
    )
    result = ReadinessResult(
        suite="s", success=False, evaluated_rows=np.int64(5), outcomes=[outcome]
    )
    d = result.to_dict()
    text = json.dumps(d, allow_nan=False)
    assert "NaN" not in text
    o = d["outcomes"][0]
    assert o["observed_value"] is None
    assert o["kwargs"] == {"min_value": 0.1, "max_value": 1}
    assert o["unexpected_examples"][:3] == [3, None, None]
    assert o["unexpected_examples"][3].startswith("2025-01-01")
    assert isinstance(d["evaluated_rows"], int) and not math.isnan(
        d["outcomes"][0]["kwargs"]["min_value"]
    )


def test_unknown_expectation_type_raises_naming_the_file(tmp_path: Path) -> None:
    suite = write_suite(
        tmp_path / "typo_suite.json",
        [{"type": "expect_column_values_to_be_betwen", "kwargs": {"column": "age"}}],
    )
    with pytest.raises(ValueError, match="typo_suite.json") as info:
        validate_dataframe(credit_frame(), suite)
    assert "expect_column_values_to_be_betwen" in str(info.value)


def test_bad_kwargs_raise_naming_file_and_expectation(tmp_path: Path) -> None:
    suite = write_suite(
        tmp_path / "bad_kwargs.json",
        [
            {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}},
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"colum": "age"}},
        ],
    )
    with pytest.raises(
        ValueError, match=r"bad_kwargs\.json.*#1.*expect_column_values_to_not_be_null"
    ):
        validate_dataframe(credit_frame(), suite)


def test_inverted_bounds_are_a_suite_error(tmp_path: Path) -> None:
    suite = write_suite(
        tmp_path / "inverted.json",
        [
            {
                "type": "expect_column_values_to_be_between",
                "kwargs": {"column": "age", "min_value": 100, "max_value": 18},
            }
        ],
    )
    with pytest.raises(ValueError, match="inverted.json"):
        validate_dataframe(credit_frame(), suite)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "invalid JSON"),
        (json.dumps({"expectations": []}), '"name"'),
        (json.dumps({"name": "x", "expectations": {}}), '"expectations"'),
        (json.dumps({"name": "x", "expectations": [{"expectation_type": "e"}]}), "0.x"),
        (
            json.dumps(
                {
                    "name": "x",
                    "expectations": [{"type": "e", "kwargs": {}, "meta": {"severity": "warn"}}],
                }
            ),
            "severity",
        ),
    ],
)
def test_load_suite_json_rejects_malformed_files(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "broken_suite.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match="broken_suite.json") as info:
        load_suite_json(path)
    assert message in str(info.value)
