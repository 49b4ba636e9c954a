"""PII in the window's extracts: the Parquet files hold keyed hashes, never the plain values, and the
readiness checks on a PII column (not null) give the same answer as on the source.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from gapwatch import pipeline, sources
from gapwatch.demo.seed import window_bounds
from gapwatch.pseudonymize import new_key, pseudonymize
from gapwatch.readiness.stage import stored_validations
from gapwatch.readiness.suite import ReadinessResult
from gapwatch.spec import MonitorSpec, load_specs
from gapwatch.window import Window
from gapwatch.window_run import window_run

pytestmark = pytest.mark.integration

def _memory_path(spec: MonitorSpec) -> MonitorSpec:
    """The spec on the memory path (``compute_in: memory``, the suite validated in memory too):
    the one that writes extracts and reads them."""
    readiness = spec.readiness.model_copy(update={"validate_in": "memory"})
    return spec.model_copy(update={"compute_in": "memory", "readiness": readiness})


FIRST_JUDGED = 3


def test_extracts_hold_no_plain_pii_and_readiness_still_checks_it(demo_env: Path) -> None:
    spec = _memory_path(load_specs().by_name("credit_default"))
    start, end = window_bounds(FIRST_JUDGED)
    window = Window(start, end)
    raw = sources.read_window(spec, start, end)
    emails = set(raw["customer_email"].dropna())
    assert emails, "the demo source has emails to hide"

    pipeline.extract_window(spec, window)
    run = window_run(spec, window)
    for name in ("window", "cohort"):
        data = Path(run.path(name)).read_bytes()
        assert not any(e.encode() in data for e in list(emails)[:200]), f"plain email in {name}.parquet"
    window_frame = pd.read_parquet(run.path("window"))
    assert "customer_email" in window_frame.columns
    assert not set(window_frame["customer_email"].dropna()) & emails
    # nulls and equal values are kept, so not-null and unique checks answer as on the source
    assert window_frame["customer_email"].isna().sum() == raw["customer_email"].isna().sum()
    assert window_frame["customer_email"].nunique() == raw["customer_email"].nunique()

    pipeline.check_readiness(spec, window)
    (row,) = stored_validations(spec.name, start)
    outcomes = ReadinessResult.from_dict(row["result"]).outcomes
    email_checks = [o for o in outcomes if o.column == "customer_email"]
    assert email_checks and all(o.success for o in email_checks)


def test_numeric_pii_stays_numeric_and_keys_differ() -> None:
    frame = pd.DataFrame({"phone": [5551234, None, 5551234], "email": ["a@x", "b@x", None], "k": [1, 2, 3]})
    key = new_key()
    out = pseudonymize(frame, ["phone", "email", "absent"], key)
    assert out["k"].tolist() == [1, 2, 3]
    assert pd.api.types.is_integer_dtype(out["phone"].dtype)
    assert out["phone"].isna().tolist() == [False, True, False]
    assert out["phone"][0] == out["phone"][2] and out["phone"][0] != 5551234
    assert out["email"].isna().tolist() == [False, False, True]
    assert "a@x" not in set(out["email"].dropna())
    assert frame["email"][0] == "a@x", "the input frame is not changed"
    other = pseudonymize(frame, ["email"], new_key())
    assert other["email"][0] != out["email"][0], "a fresh key per extraction"
