"""Behaviour of the demo production database written by ``gapwatch.demo.seed_demo``."""

from __future__ import annotations

from datetime import UTC, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sklearn.metrics import roc_auc_score

from gapwatch.demo.seed import (
    DEMO_START,
    FEED_BREAK_WINDOW,
    N_WINDOWS,
    SHIFT_FROM_WINDOW,
    WINDOW,
    seed_demo,
    window_bounds,
)

# Big enough that per-window ROC AUC is stable to ~0.01, small enough to seed in ~2 s.
ROWS = 2000
SMALL_ROWS = 200
TABLES = ["credit_predictions", "credit_outcomes", "eta_predictions", "eta_outcomes"]
HEALTHY = [k for k in range(1, SHIFT_FROM_WINDOW) if k != FEED_BREAK_WINDOW]
SHIFTED = list(range(SHIFT_FROM_WINDOW, N_WINDOWS + 1))
START = pd.Timestamp(DEMO_START).tz_convert(None)  # stored timestamps are naive UTC


def _url(path: Path) -> str:
    return f"sqlite:///{path}"


def _read(url: str) -> dict[str, pd.DataFrame]:
    engine = sa.create_engine(url)
    try:
        return {
            t: pd.read_sql_table(t, engine).sort_values("prediction_id", ignore_index=True)
            for t in TABLES
        }
    finally:
        engine.dispose()


def _window(ts: pd.Series) -> pd.Series:
    """1-based demo window of naive-UTC timestamps."""
    return (ts - START) // pd.Timedelta(WINDOW) + 1


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict]:
    url = _url(tmp_path_factory.mktemp("demo") / "demo.db")
    return url, seed_demo(url, seed=7, rows_per_window=ROWS)


@pytest.fixture(scope="module")
def tables(seeded: tuple[str, dict]) -> dict[str, pd.DataFrame]:
    return _read(seeded[0])


@pytest.fixture(scope="module")
def credit(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Credit predictions with their window number and outcome (NaN when missing)."""
    preds = tables["credit_predictions"].assign(
        window=lambda d: _window(d["scored_at"]),
    )
    return preds.merge(tables["credit_outcomes"], on="prediction_id", how="left")


@pytest.fixture(scope="module")
def auc_by_window(credit: pd.DataFrame) -> pd.Series:
    labelled = credit.dropna(subset=["defaulted"])
    return labelled.groupby("window").apply(
        lambda g: roc_auc_score(g["defaulted"].astype(int), g["score"])
    )


def test_window_bounds_are_weekly_utc_from_demo_start() -> None:
    start, end = window_bounds(1)
    assert start == DEMO_START
    assert start.tzinfo is not None and start.utcoffset() == timedelta(0)
    assert start.weekday() == 0  # Monday
    assert end - start == WINDOW
    assert window_bounds(2)[0] == end
    assert window_bounds(N_WINDOWS)[1] == DEMO_START + N_WINDOWS * WINDOW
    assert DEMO_START == DEMO_START.astimezone(UTC)
    for bad in (0, N_WINDOWS + 1):
        with pytest.raises(ValueError):
            window_bounds(bad)


def test_same_seed_gives_identical_tables_and_other_seed_differs(tmp_path: Path) -> None:
    # Small windows: determinism does not depend on the size, and every seeding trains both models.
    first, again, other = (_url(tmp_path / f"{name}.db") for name in ("first", "again", "other"))
    seed_demo(first, seed=7, rows_per_window=SMALL_ROWS)
    seed_demo(again, seed=7, rows_per_window=SMALL_ROWS)
    # Re-seeding the same database replaces the tables rather than appending.
    seed_demo(again, seed=7, rows_per_window=SMALL_ROWS)
    first_tables = _read(first)
    for name, df in _read(again).items():
        pd.testing.assert_frame_equal(df, first_tables[name], check_exact=True)

    seed_demo(other, seed=8, rows_per_window=SMALL_ROWS)
    other_tables = _read(other)
    assert not other_tables["credit_predictions"].equals(first_tables["credit_predictions"])
    assert not other_tables["credit_outcomes"].equals(first_tables["credit_outcomes"])


def test_rows_per_window_and_time_range(tables: dict[str, pd.DataFrame]) -> None:
    credit_counts = _window(tables["credit_predictions"]["scored_at"]).value_counts()
    assert sorted(credit_counts.index) == list(range(1, N_WINDOWS + 1))
    assert credit_counts.between(ROWS * 0.97, ROWS * 1.03).all()

    eta_counts = _window(tables["eta_predictions"]["scored_at"]).value_counts()
    assert sorted(eta_counts.index) == list(range(1, N_WINDOWS + 1))
    assert (eta_counts == ROWS // 2).all()

    end = START + N_WINDOWS * pd.Timedelta(WINDOW)
    for name in ("credit_predictions", "eta_predictions"):
        scored = tables[name]["scored_at"]
        assert scored.min() >= START and scored.max() < end
        assert tables[name]["prediction_id"].is_unique


def test_summary_matches_tables(
    seeded: tuple[str, dict], tables: dict[str, pd.DataFrame], auc_by_window: pd.Series
) -> None:
    summary = seeded[1]
    assert summary["rows"] == {name: len(df) for name, df in tables.items()}
    assert set(summary["credit_auc_by_window"]) == set(range(1, N_WINDOWS + 1))
    for k, auc in summary["credit_auc_by_window"].items():
        assert auc == pytest.approx(auc_by_window[k], abs=1e-3)
    kinds = {f["kind"]: f for f in summary["faults"]}
    assert kinds["feed_break"]["window"] == FEED_BREAK_WINDOW
    assert kinds["covariate_shift"]["windows"] == SHIFTED


def test_feed_break_nulls_utilization_only_in_its_window(credit: pd.DataFrame) -> None:
    null_share = credit.groupby("window")["utilization"].apply(lambda s: s.isna().mean())
    assert 0.35 <= null_share[FEED_BREAK_WINDOW] <= 0.45
    assert (null_share.drop(FEED_BREAK_WINDOW) == 0).all()
    # The model still scored the broken rows, and no other column has nulls.
    others = credit.drop(columns=["utilization", "defaulted", "label_arrived_at"])
    assert not others.isna().any().any()


def test_healthy_windows_have_stable_good_auc(auc_by_window: pd.Series) -> None:
    healthy = auc_by_window[HEALTHY]
    assert 0.78 <= healthy.mean() <= 0.85
    assert (healthy - healthy.mean()).abs().max() <= 0.03


def test_covariate_shift_really_lowers_auc(auc_by_window: pd.Series) -> None:
    healthy_mean = auc_by_window[HEALTHY].mean()
    shifted = auc_by_window[SHIFTED]
    assert (shifted <= healthy_mean - 0.08).all(), shifted.to_dict()


def test_shift_is_visible_but_values_stay_plausible(credit: pd.DataFrame) -> None:
    util = credit["utilization"]
    assert util.dropna().between(0, 3).all()
    assert credit["age"].between(21, 75).all()
    assert (credit["income"] > 0).all()
    assert (credit["late_payments"] >= 0).all()
    assert credit["tenure_months"].between(1, 240).all()
    assert set(credit["region"]) == {"north", "south", "east", "west"}
    in_shift = credit["window"] >= SHIFT_FROM_WINDOW
    # Before the shift utilization stays in the training range; after it, a
    # sizeable share of customers is over their limit.
    assert util[~in_shift].max() <= 1.0
    assert 0.2 <= (util[in_shift] > 1.0).mean() <= 0.5


def test_labels_arrive_late_and_some_never(
    credit: pd.DataFrame, tables: dict[str, pd.DataFrame]
) -> None:
    outcomes = tables["credit_outcomes"]
    assert set(outcomes["prediction_id"]) <= set(credit["prediction_id"])
    assert set(outcomes["defaulted"].unique()) == {0, 1}

    labelled = credit.dropna(subset=["label_arrived_at"])
    delay = labelled["label_arrived_at"] - labelled["scored_at"]
    assert (delay >= pd.Timedelta(days=7)).all()
    assert (delay <= pd.Timedelta(days=9)).all()
    # Labels of the last window may arrive after the demo period; they are kept.
    assert labelled["label_arrived_at"].max() >= START + N_WINDOWS * pd.Timedelta(WINDOW)

    missing = 1 - len(outcomes) / len(credit)
    assert 0.01 <= missing <= 0.03


def test_customer_email_is_unique_pii(credit: pd.DataFrame) -> None:
    emails = credit["customer_email"]
    assert emails.is_unique
    assert emails.str.fullmatch(r"c\d+@example\.com").all()
    assert credit["prediction_id"].str.fullmatch(r"cd-\d{6}").all()


def test_credit_predictions_are_consistent(credit: pd.DataFrame) -> None:
    assert (credit["model_version"] == "1.3.0").all()
    assert credit["score"].between(0, 1).all()
    assert set(credit["predicted_label"].unique()) == {0, 1}
    # The label is a threshold on the score (0.40), flagging a sensible share.
    flagged = credit.loc[credit["predicted_label"] == 1, "score"]
    passed = credit.loc[credit["predicted_label"] == 0, "score"]
    assert flagged.min() > passed.max()
    assert 0.1 <= credit.loc[credit["window"].isin(HEALTHY), "predicted_label"].mean() <= 0.35


def test_eta_model_is_healthy(tables: dict[str, pd.DataFrame]) -> None:
    preds, outcomes = tables["eta_predictions"], tables["eta_outcomes"]
    assert preds["prediction_id"].str.fullmatch(r"eta-\d{6}").all()
    assert set(preds["courier_type"]) == {"bike", "car", "scooter"}
    assert preds["hour_of_day"].between(0, 23).all()
    assert (preds["hour_of_day"] == preds["scored_at"].dt.hour).all()
    assert (preds["distance_km"] > 0).all() and (preds["items"] >= 1).all()

    merged = preds.merge(outcomes, on="prediction_id", validate="one_to_one")
    delay = merged["label_arrived_at"] - merged["scored_at"]
    assert delay.between(pd.Timedelta(hours=1), pd.Timedelta(hours=3)).all()

    abs_err = (merged["predicted_minutes"] - merged["actual_minutes"]).abs()
    mae = abs_err.groupby(_window(merged["scored_at"])).mean()
    assert (mae < 0.2 * merged["actual_minutes"].mean()).all()
    assert mae.max() - mae.min() < 0.5  # no degradation anywhere
    assert np.isfinite(merged[["predicted_minutes", "actual_minutes"]]).all().all()
