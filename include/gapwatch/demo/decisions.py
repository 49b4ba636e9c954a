"""The demo's decisions tables: what people did with the two models' predictions.

Written by ``seed_demo`` (one call) next to the prediction and outcome tables, deterministic from
the same seed through a stream of its own (so the existing tables do not change):

* ``credit_decisions`` -- underwriters of four regional teams (``north``, ``south``, ``east``,
  ``west``; a prediction goes to the team of its region) refer an application to manual review
  (``refer``) or ``approve`` it. The model recommends ``refer`` for ``predicted_label = 1``. In
  healthy windows they follow it about 85% of the time, and their overrides lean towards the cases
  the model gets wrong (they read documents the model never sees). From the covariate shift
  (``SHIFT_FROM_WINDOW``) they notice the over-limit balances of the new channel and override the
  model there far more often -- mostly rightly: healthy scepticism. From ``EAST_LATE_FROM_WINDOW``
  (6) team ``east`` stops acting on scores within the SLA: its decisions come three to eight days
  late, some never -- an adoption problem unrelated to model quality. ``net_value`` is the
  business outcome of the decision: a referral costs a review, an approval earns a margin when
  the customer repays and loses the balance when they default.
* ``eta_decisions`` -- dispatchers of three hubs promise the model's ETA (``followed``) or their
  own, within minutes of the prediction. Healthy throughout.

Every array is drawn at once (vectorised numpy); no loop over rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

EAST_LATE_FROM_WINDOW = 6  # 1-based: team east acts late from this window on
DECISIONS_STREAM = 11  # mixed into the seed: an independent stream for the decisions

_METADATA = sa.MetaData()
CREDIT_DECISIONS = sa.Table(
    "credit_decisions",
    _METADATA,
    sa.Column("decision_id", sa.Text, primary_key=True),
    sa.Column("prediction_id", sa.Text, nullable=False, index=True),
    sa.Column("decided_at", sa.DateTime, nullable=False, index=True),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("team", sa.Text, nullable=False),
    sa.Column("net_value", sa.Float),
)
ETA_DECISIONS = sa.Table(
    "eta_decisions",
    _METADATA,
    sa.Column("decision_id", sa.Text, primary_key=True),
    sa.Column("prediction_id", sa.Text, nullable=False, index=True),
    sa.Column("decided_at", sa.DateTime, nullable=False, index=True),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("followed", sa.Boolean, nullable=False),
    sa.Column("team", sa.Text, nullable=False),
)

# Underwriters: chance of overriding the model when it is right / wrong about the customer.
# Healthy: ~15% overrides, about half of them right. The new channel's over-limit
# balances stand out to a human reader, so there they override far more, and mostly rightly.
_OVERRIDE_WHEN_RIGHT, _OVERRIDE_WHEN_WRONG = 0.09, 0.38
_NEW_OVERRIDE_WHEN_RIGHT, _NEW_OVERRIDE_WHEN_WRONG = 0.20, 0.85
_MEDIAN_HOURS, _HOURS_SIGMA = 5.0, 1.0
_NEVER_DECIDED = 0.02
_EAST_LATE_HOURS = (72.0, 192.0)
_EAST_NEVER = 0.10
# net value of one decision: a manual review costs, a repaid approval earns, a default loses.
_REVIEW_COST, _MARGIN, _LOSS = -40.0, 180.0, -1200.0

_ETA_FOLLOW = 0.95
_ETA_MEDIAN_MINUTES, _ETA_SIGMA = 3.0, 0.8
_ETA_NEVER = 0.01
_HUBS = np.array(["hub_north", "hub_centre", "hub_south"])


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, DECISIONS_STREAM]))


def _window_of(scored_at: pd.Series, start: pd.Timestamp, week: pd.Timedelta) -> np.ndarray:
    return ((scored_at - start) // week + 1).to_numpy(dtype=np.int64)


def credit_decisions(
    rng: np.random.Generator, preds: pd.DataFrame, outcomes: pd.DataFrame, *,
    start: pd.Timestamp, week: pd.Timedelta, shift_from: int,
) -> pd.DataFrame:
    """The underwriters' decisions on the credit predictions (see the module docstring)."""
    n = len(preds)
    defaulted = (
        preds[["prediction_id"]].merge(outcomes[["prediction_id", "defaulted"]], how="left", on="prediction_id")
        ["defaulted"].fillna(0).to_numpy(dtype=np.int64)
    )
    predicted = preds["predicted_label"].to_numpy(dtype=np.int64)
    window = _window_of(preds["scored_at"], start, week)
    # Only the new partner channel carries balances over the limit (see seed._shifted_credit).
    new = (preds["utilization"].fillna(0).to_numpy() > 1.0) & (window >= shift_from)
    right = predicted == defaulted
    p_override = np.where(
        new,
        np.where(right, _NEW_OVERRIDE_WHEN_RIGHT, _NEW_OVERRIDE_WHEN_WRONG),
        np.where(right, _OVERRIDE_WHEN_RIGHT, _OVERRIDE_WHEN_WRONG),
    )
    human = np.where(rng.random(n) < p_override, 1 - predicted, predicted)
    team = preds["region"].to_numpy()
    hours = rng.lognormal(np.log(_MEDIAN_HOURS), _HOURS_SIGMA, n)
    late_east = (team == "east") & (window >= EAST_LATE_FROM_WINDOW)
    hours = np.where(late_east, rng.uniform(*_EAST_LATE_HOURS, n), hours)
    never = rng.random(n) < np.where(late_east, _EAST_NEVER, _NEVER_DECIDED)
    value = np.where(human == 1, _REVIEW_COST, np.where(defaulted == 1, _LOSS, _MARGIN))
    decided_at = preds["scored_at"].to_numpy() + (hours * 3_600_000_000).astype("timedelta64[us]")
    frame = pd.DataFrame(
        {
            "prediction_id": preds["prediction_id"].to_numpy(),
            "decided_at": decided_at.astype("datetime64[us]"),
            "action": np.where(human == 1, "refer", "approve"),
            "team": team,
            "net_value": value,
        }
    )[~never].reset_index(drop=True)
    frame.insert(0, "decision_id", "cdd-" + frame.index.astype(str).str.zfill(6))
    return frame


def eta_decisions(rng: np.random.Generator, preds: pd.DataFrame) -> pd.DataFrame:
    """The dispatchers' decisions on the ETA predictions: prompt and mostly following."""
    n = len(preds)
    followed = rng.random(n) < _ETA_FOLLOW
    minutes = rng.lognormal(np.log(_ETA_MEDIAN_MINUTES), _ETA_SIGMA, n)
    never = rng.random(n) < _ETA_NEVER
    decided_at = preds["scored_at"].to_numpy() + (minutes * 60_000_000).astype("timedelta64[us]")
    frame = pd.DataFrame(
        {
            "prediction_id": preds["prediction_id"].to_numpy(),
            "decided_at": decided_at.astype("datetime64[us]"),
            "action": np.where(followed, "promise_model_eta", "promise_own_eta"),
            "followed": followed,
            "team": rng.choice(_HUBS, size=n),
        }
    )[~never].reset_index(drop=True)
    frame.insert(0, "decision_id", "etd-" + frame.index.astype(str).str.zfill(6))
    return frame


def write_decisions(
    conn: sa.Connection, seed: int, credit_preds: pd.DataFrame, credit_outcomes: pd.DataFrame,
    eta_preds: pd.DataFrame, *, start: Any, week: Any, shift_from: int,
) -> dict[str, Any]:
    """Drop, recreate and fill ``credit_decisions`` and ``eta_decisions``; return a summary.

    Args:
        conn: an open transaction on the demo production database.
        seed: the demo's seed (the decisions use a stream of their own).
        credit_preds, credit_outcomes, eta_preds: the tables ``seed_demo`` just wrote.
        start, week: the demo's first window start (UTC) and window length.
        shift_from: the covariate shift's first (1-based) window.
    """
    rng = _rng(seed)
    start_ts = pd.Timestamp(start).tz_convert(None)
    credit = credit_decisions(rng, credit_preds, credit_outcomes, start=start_ts, week=pd.Timedelta(week),
                              shift_from=shift_from)
    eta = eta_decisions(rng, eta_preds)
    _METADATA.drop_all(conn, checkfirst=True)
    _METADATA.create_all(conn)
    for table, frame in ((CREDIT_DECISIONS, credit), (ETA_DECISIONS, eta)):
        frame.to_sql(table.name, conn, if_exists="append", index=False, chunksize=5_000)
    return {
        "rows": {"credit_decisions": len(credit), "eta_decisions": len(eta)},
        "faults": [{"model": "credit", "kind": "team_stops_acting_within_sla", "team": "east",
                    "from_window": EAST_LATE_FROM_WINDOW}],
    }
