"""The demo's decisions tables (``gapwatch.demo.decisions``), as ``seed_demo`` writes them: the
story they must tell is checked on the rows themselves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from gapwatch.demo.decisions import EAST_LATE_FROM_WINDOW
from gapwatch.demo.seed import DEMO_START, SHIFT_FROM_WINDOW, WINDOW, seed_demo

ROWS = 2000
START = pd.Timestamp(DEMO_START).tz_convert(None)


def _read(url: str, *tables: str) -> list[pd.DataFrame]:
    engine = sa.create_engine(url)
    try:
        return [pd.read_sql_table(t, engine) for t in tables]
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict]:
    url = f"sqlite:///{tmp_path_factory.mktemp('decisions') / 'demo.db'}"
    return url, seed_demo(url, seed=7, rows_per_window=ROWS)


@pytest.fixture(scope="module")
def credit(seeded: tuple[str, dict]) -> pd.DataFrame:
    preds, outcomes, decisions = _read(seeded[0], "credit_predictions", "credit_outcomes", "credit_decisions")
    frame = preds.merge(decisions, on="prediction_id", how="left").merge(outcomes, on="prediction_id", how="left")
    frame["window"] = (frame["scored_at"] - START) // pd.Timedelta(WINDOW) + 1
    frame["hours"] = (frame["decided_at"] - frame["scored_at"]).dt.total_seconds() / 3600
    frame["followed"] = np.where(frame["action"].isna(), np.nan,
                                 (frame["action"] == "refer") == (frame["predicted_label"] == 1))
    return frame


def test_every_decision_acts_on_one_prediction_after_it_was_made(seeded, credit) -> None:
    _, summary = seeded
    decisions, = _read(seeded[0], "credit_decisions")
    assert decisions["prediction_id"].is_unique and decisions["decision_id"].is_unique
    assert (credit["hours"].dropna() > 0).all()
    assert summary["decisions"] == {"credit_decisions": len(decisions), "eta_decisions": summary["decisions"]["eta_decisions"]}
    assert {f["kind"] for f in summary["faults"]} >= {"team_stops_acting_within_sla"}


def test_underwriters_follow_about_85_percent_until_the_shift(credit) -> None:
    before = credit[credit["window"] < SHIFT_FROM_WINDOW]
    after = credit[credit["window"] >= SHIFT_FROM_WINDOW]
    assert 0.82 <= before["followed"].mean() <= 0.88
    assert after["followed"].mean() <= before["followed"].mean() - 0.07


def test_after_the_shift_the_overrides_are_mostly_right(credit) -> None:
    overridden = credit[(credit["followed"] == 0) & credit["defaulted"].notna()]
    right = (overridden["action"] == "refer") == (overridden["defaulted"] == 1)
    assert right[overridden["window"] >= SHIFT_FROM_WINDOW].mean() > 0.58
    assert 0.4 <= right[overridden["window"] < SHIFT_FROM_WINDOW].mean() <= 0.58


def test_team_east_stops_acting_within_the_sla_from_window_6(credit) -> None:
    within = credit["hours"] <= 48
    east = credit["region"] == "east"
    late = credit["window"] >= EAST_LATE_FROM_WINDOW
    assert within[east & late].mean() == 0 and within[east & ~late].mean() > 0.94
    assert within[~east].mean() > 0.94  # the other teams never change
    assert credit.loc[east & late, "action"].notna().mean() > 0.85  # late, mostly not never


def test_dispatchers_follow_the_eta_promptly_throughout(seeded) -> None:
    preds, decisions = _read(seeded[0], "eta_predictions", "eta_decisions")
    frame = preds.merge(decisions, on="prediction_id")
    minutes = (frame["decided_at"] - frame["scored_at"]).dt.total_seconds() / 60
    window = (frame["scored_at"] - START) // pd.Timedelta(WINDOW) + 1
    assert (minutes.groupby(window).quantile(0.9) < 30).all()
    follow = frame["followed"].astype(bool).groupby(window).mean()
    assert follow.between(0.92, 0.98).all()


def test_the_decisions_are_a_function_of_the_seed_and_the_predictions(seeded) -> None:
    """The stored rows are exactly what the generator draws again from the same seed (the
    predictions' own determinism is test_demo_seed's), and another seed draws others."""
    from gapwatch.demo import decisions as gen

    preds, outcomes, stored = _read(seeded[0], "credit_predictions", "credit_outcomes", "credit_decisions")
    kwargs = {"start": START, "week": pd.Timedelta(WINDOW), "shift_from": SHIFT_FROM_WINDOW}
    again = gen.credit_decisions(gen._rng(7), preds, outcomes, **kwargs)
    pd.testing.assert_frame_equal(stored, again, check_dtype=False)
    other = gen.credit_decisions(gen._rng(8), preds, outcomes, **kwargs)
    assert not other["action"].equals(again["action"])
