"""The demo's delivery ETA regressor and its prediction log (healthy throughout).

A ``HistGradientBoostingRegressor``, version ``2.0.1``; actual minutes arrive one to three
hours after scoring.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.metrics import mean_absolute_error
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from gapwatch.demo.timeline import N_WINDOWS, WINDOW, prediction_ids, window_timestamps

MODEL_VERSION = "2.0.1"
_ETA_FEATURES = ["distance_km", "items", "hour_of_day", "courier_type"]
_COURIERS = np.array(["bike", "car", "scooter"])
_COURIER_P = [0.35, 0.40, 0.25]
_COURIER_SPEED_KMH = {"bike": 14.0, "car": 26.0, "scooter": 21.0}
# Deliveries cluster around lunch and dinner; night hours are rare.
_HOUR_WEIGHTS = np.array(
    [1, 0.5, 0.3, 0.2, 0.2, 0.3, 0.6, 1.2, 2, 2, 2.5, 4, 6, 5, 3, 2.5, 3, 4.5, 6.5, 7, 5.5, 4, 3, 2]
)
_RUSH_HOURS = [7, 8, 9, 17, 18, 19]
_N_ETA_TRAIN = 10_000


METADATA = sa.MetaData()

PREDICTIONS = sa.Table(
    "eta_predictions",
    METADATA,
    sa.Column("prediction_id", sa.Text, primary_key=True),
    sa.Column("scored_at", sa.DateTime, nullable=False),
    sa.Column("model_version", sa.Text, nullable=False),
    sa.Column("distance_km", sa.Float),
    sa.Column("items", sa.Integer),
    sa.Column("hour_of_day", sa.Integer),
    sa.Column("courier_type", sa.Text),
    sa.Column("predicted_minutes", sa.Float, nullable=False),
)
OUTCOMES = sa.Table(
    "eta_outcomes",
    METADATA,
    sa.Column("prediction_id", sa.Text, primary_key=True),
    sa.Column("actual_minutes", sa.Float, nullable=False),
    sa.Column("label_arrived_at", sa.DateTime, nullable=False),
)


def _eta_features(rng: np.random.Generator, n: int, hour: np.ndarray | None = None) -> pd.DataFrame:
    distance = np.clip(rng.lognormal(np.log(3.5), 0.6, n), 0.3, 25.0).round(2)
    items = (rng.poisson(1.8, n) + 1).astype(np.int64)
    if hour is None:
        hour = rng.choice(24, size=n, p=_HOUR_WEIGHTS / _HOUR_WEIGHTS.sum())
    courier = rng.choice(_COURIERS, size=n, p=_COURIER_P)
    return pd.DataFrame(
        {
            "distance_km": distance,
            "items": items,
            "hour_of_day": hour.astype(np.int64),
            "courier_type": courier,
        }
    )


def _true_minutes(rng: np.random.Generator, df: pd.DataFrame) -> np.ndarray:
    """Actual delivery minutes: prep + travel (cars slow in rush hour) + noise."""
    speed = df["courier_type"].map(_COURIER_SPEED_KMH).to_numpy(dtype=float)
    rush = df["hour_of_day"].isin(_RUSH_HOURS).to_numpy()
    speed = np.where(rush & (df["courier_type"].to_numpy() == "car"), speed * 0.6, speed)
    base = 6.0 + 1.2 * df["items"].to_numpy() + df["distance_km"].to_numpy() / speed * 60.0
    noisy = base * rng.lognormal(0.0, 0.12, len(df)) + rng.normal(0.0, 2.0, len(df))
    return np.round(np.maximum(noisy, 3.0), 1)


def train_model(rng: np.random.Generator, random_state: int) -> Pipeline:
    """Fit the ETA model on "historical" deliveries (not stored)."""
    hist = _eta_features(rng, _N_ETA_TRAIN)
    y = _true_minutes(rng, hist)
    pre = ColumnTransformer(
        [
            (
                "courier",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                ["courier_type"],
            )
        ],
        remainder="passthrough",
        verbose_feature_names_out=False,
    )
    model = Pipeline(
        [
            ("pre", pre),
            ("hgb", HistGradientBoostingRegressor(max_iter=200, random_state=random_state)),
        ]
    )
    model.fit(hist[_ETA_FEATURES], y)
    return model


def tables(
    rng: np.random.Generator, model: Pipeline, rows_per_window: int
) -> tuple[pd.DataFrame, pd.DataFrame, dict[int, float]]:
    """The ETA prediction log, its outcomes and the MAE (minutes) per window."""
    n_per = max(rows_per_window // 2, 1)
    n = n_per * N_WINDOWS
    window = np.repeat(np.arange(1, N_WINDOWS + 1), n_per)
    # Draw the hour from the delivery-demand curve, then place the order inside
    # that hour on a uniform day, so hour_of_day agrees with scored_at.
    hour = rng.choice(24, size=n, p=_HOUR_WEIGHTS / _HOUR_WEIGHTS.sum())
    day = rng.integers(0, WINDOW.days, n)
    sec = rng.integers(0, 3600, n)
    offset = day * 86_400 + hour * 3600 + sec
    order = np.lexsort((offset, window))
    offset, hour = offset[order], hour[order]

    feats = _eta_features(rng, n, hour=hour)
    actual = _true_minutes(rng, feats)
    predicted = np.round(model.predict(feats[_ETA_FEATURES]), 2)

    ids = prediction_ids("eta", n)
    scored_at = window_timestamps(window, offset)
    preds = pd.DataFrame(
        {
            "prediction_id": ids,
            "scored_at": scored_at,
            "model_version": MODEL_VERSION,
            **{c: feats[c].to_numpy() for c in _ETA_FEATURES},
            "predicted_minutes": predicted,
        }
    )
    delay = rng.integers(3600, 3 * 3600 + 1, n).astype("timedelta64[s]")
    outcomes = pd.DataFrame(
        {"prediction_id": ids, "actual_minutes": actual, "label_arrived_at": scored_at + delay}
    )
    err = pd.DataFrame({"w": window, "y": actual, "p": predicted})
    mae = {
        int(k): round(float(mean_absolute_error(g["y"], g["p"])), 3) for k, g in err.groupby("w")
    }
    return preds, outcomes, mae
