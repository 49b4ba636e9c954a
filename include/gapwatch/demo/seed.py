"""Deterministic demo "production database" for gapwatch.

``seed_demo`` writes four tables into any SQLAlchemy database (SQLite or
PostgreSQL) that look like what two real models left behind after twelve
weeks in production:

* ``credit_predictions`` / ``credit_outcomes`` -- a credit default classifier
  (scikit-learn ``HistGradientBoostingClassifier`` in a ``Pipeline`` with a
  one-hot encoded ``region``), version ``1.3.0``. Outcomes (``defaulted``) are
  drawn from the *true* default probability and arrive late: seven days after
  scoring plus up to 48 hours of jitter. About 2% of predictions never get an
  outcome row.
* ``eta_predictions`` / ``eta_outcomes`` -- a delivery ETA regressor
  (``HistGradientBoostingRegressor``), version ``2.0.1``. Healthy throughout;
  actual minutes arrive one to three hours after scoring.

Both models are trained at seed time on synthetic "historical" data drawn from
the healthy population; training data is not stored.

Time layout: ``N_WINDOWS`` (12) weekly windows starting at ``DEMO_START``
(Monday 2026-01-05 00:00 UTC). Windows 1-2 are the monitoring baseline.
Timestamps are stored as naive UTC ``DateTime`` columns. Outcome arrival times
of the last window(s) may lie after the end of window 12; they are kept on
purpose because consumers filter by arrival time.

Injected faults (credit model only):

1. **Feed break** in window ``FEED_BREAK_WINDOW`` (5): ``utilization`` arrives
   NULL for ~40% of that window's rows. The model still scored them (HGB
   routes missing values natively), so scores exist but are less informative;
   everything else in the window is normal. Outcomes still depend on the
   customer's real utilization, but utilization is only one of several
   signals, so window 5's ROC AUC barely moves: this fault is meant to be
   caught by data-quality checks (null rate), not by performance monitoring.
2. **Covariate shift** from window ``SHIFT_FROM_WINDOW`` (8) through window 12:
   about 35% of each window's customers come from a new balance-transfer
   partner channel -- older, high-income, long-tenured customers with clean
   payment records who carry balances of 1.0-2.5x their credit limit, i.e.
   ``utilization`` beyond anything seen in training (healthy utilization is
   Beta(2, 3.5) distributed in [0, 1]). The true default risk keeps rising
   (even faster) above utilization 1.0, but a tree model extrapolates flat
   beyond its last split, so it sees them as "utilization ~ 1, rich, clean
   record" -- low risk -- while about a third of them default. The per-window
   ROC AUC (score vs ``defaulted``) drops from ~0.82 to ~0.70 for seed 7 (by
   0.11-0.18 across seeds). All values stay plausible (utilization <= 2.5,
   age 21-75, income > 0, late_payments >= 0, no new NULLs); the shift is
   also visible as drift in utilization, income, age and tenure.

Determinism: every random draw comes from ``numpy.random.Generator`` streams
spawned from one ``SeedSequence(seed)`` and every estimator has a fixed
``random_state``; floats are rounded before they are written, so two calls
with the same seed produce identical table contents.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import mean_absolute_error, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder
from threadpoolctl import threadpool_limits

DEMO_START: datetime = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday
WINDOW = timedelta(days=7)
N_WINDOWS = 12
FEED_BREAK_WINDOW = 5  # 1-based window number
SHIFT_FROM_WINDOW = 8  # 1-based; the shift lasts through window N_WINDOWS

# --- credit model -----------------------------------------------------------
_CREDIT_MODEL_VERSION = "1.3.0"
_CREDIT_NUMERIC = ["age", "income", "utilization", "late_payments", "tenure_months"]
_CREDIT_FEATURES = [*_CREDIT_NUMERIC, "region"]
_REGIONS = np.array(["north", "south", "east", "west"])
_REGION_P = [0.30, 0.25, 0.25, 0.20]
_REGION_EFFECT = {"north": 0.0, "south": 0.25, "east": -0.10, "west": 0.15}
# predicted_label = score >= 0.40. Below 0.5 on purpose: with a ~22% base
# default rate, 0.5 flags only ~14% of customers; 0.40 flags ~20% in healthy
# windows, i.e. roughly as many as actually default -- a sensible operating
# point for a "refer to manual review" policy.
_CREDIT_THRESHOLD = 0.40
_N_CREDIT_TRAIN = 20_000
_FEED_BREAK_NULL_SHARE = 0.40
_SHIFT_NEW_SHARE = 0.35
_MISSING_LABEL_SHARE = 0.02
_LABEL_DELAY = timedelta(days=7)
_LABEL_JITTER_S = 48 * 3600

# --- ETA model --------------------------------------------------------------
_ETA_MODEL_VERSION = "2.0.1"
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

_INSERT_CHUNK = 5_000

_METADATA = sa.MetaData()

_CREDIT_PREDICTIONS = sa.Table(
    "credit_predictions",
    _METADATA,
    sa.Column("prediction_id", sa.Text, primary_key=True),
    sa.Column("scored_at", sa.DateTime, nullable=False),
    sa.Column("model_version", sa.Text, nullable=False),
    sa.Column("age", sa.Integer),
    sa.Column("income", sa.Float),
    sa.Column("utilization", sa.Float),
    sa.Column("late_payments", sa.Integer),
    sa.Column("tenure_months", sa.Integer),
    sa.Column("region", sa.Text),
    sa.Column("customer_email", sa.Text),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("predicted_label", sa.Integer, nullable=False),
)
_CREDIT_OUTCOMES = sa.Table(
    "credit_outcomes",
    _METADATA,
    sa.Column("prediction_id", sa.Text, primary_key=True),
    sa.Column("defaulted", sa.Integer, nullable=False),
    sa.Column("label_arrived_at", sa.DateTime, nullable=False),
)
_ETA_PREDICTIONS = sa.Table(
    "eta_predictions",
    _METADATA,
    sa.Column("prediction_id", sa.Text, primary_key=True),
    sa.Column("scored_at", sa.DateTime, nullable=False),
    sa.Column("model_version", sa.Text, nullable=False),
    sa.Column("distance_km", sa.Float),
    sa.Column("items", sa.Integer),
    sa.Column("hour_of_day", sa.Integer),
    sa.Column("courier_type", sa.Text),
    sa.Column("predicted_minutes", sa.Float, nullable=False),
)
_ETA_OUTCOMES = sa.Table(
    "eta_outcomes",
    _METADATA,
    sa.Column("prediction_id", sa.Text, primary_key=True),
    sa.Column("actual_minutes", sa.Float, nullable=False),
    sa.Column("label_arrived_at", sa.DateTime, nullable=False),
)


def window_bounds(k: int) -> tuple[datetime, datetime]:
    """Return the ``[start, end)`` bounds of demo window ``k``.

    Args:
        k: 1-based window number, ``1 <= k <= N_WINDOWS``.

    Returns:
        Tz-aware UTC datetimes ``(start, end)``; ``end`` is exclusive.

    Raises:
        ValueError: If ``k`` is outside ``1..N_WINDOWS``.
    """
    if not 1 <= k <= N_WINDOWS:
        raise ValueError(f"window must be in 1..{N_WINDOWS}, got {k}")
    start = DEMO_START + (k - 1) * WINDOW
    return start, start + WINDOW


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _ids(prefix: str, n: int) -> np.ndarray:
    """Return ``prefix-000001``-style ids (pandas string ops, numpy 1.26+ safe)."""
    width = max(6, len(str(n)))
    return (f"{prefix}-" + pd.Series(np.arange(1, n + 1)).astype(str).str.zfill(width)).to_numpy()


def _naive_utc(ts: datetime) -> np.datetime64:
    # Stored columns are naive UTC, so strip the tz after normalising to UTC.
    return np.datetime64(ts.astimezone(UTC).replace(tzinfo=None), "us")


def _window_layout(rng: np.random.Generator, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (1-based window per row, seconds offset inside the window).

    Rows are sorted by time so ids increase with ``scored_at``, like a real
    append-only prediction log.
    """
    window = np.repeat(np.arange(1, N_WINDOWS + 1), counts)
    offset = rng.integers(0, int(WINDOW.total_seconds()), size=window.size)
    order = np.lexsort((offset, window))
    return window, offset[order]


def _window_timestamps(window: np.ndarray, offset_s: np.ndarray) -> np.ndarray:
    start = _naive_utc(DEMO_START)
    window_us = np.timedelta64(int(WINDOW.total_seconds()), "s").astype("timedelta64[us]")
    return start + (window - 1) * window_us + offset_s.astype("timedelta64[s]")


# ---------------------------------------------------------------------------
# credit model
# ---------------------------------------------------------------------------


def _healthy_credit(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Draw ``n`` customers from the population the model was trained on."""
    age = np.clip(np.rint(rng.normal(43.0, 12.0, n)), 21, 75).astype(np.int64)
    income = rng.lognormal(np.log(55_000.0), 0.45, n)
    utilization = rng.beta(2.0, 3.5, n)
    # Heavier users of their credit line miss more payments.
    late = rng.poisson(0.3 + 1.0 * utilization)
    tenure = np.rint(rng.gamma(2.0, 30.0, n))
    # Nobody has a credit history longer than their adult life.
    tenure = np.clip(tenure, 1, np.minimum(240, (age - 18) * 12)).astype(np.int64)
    region = rng.choice(_REGIONS, size=n, p=_REGION_P)
    return pd.DataFrame(
        {
            "age": age,
            "income": income,
            "utilization": utilization,
            "late_payments": late.astype(np.int64),
            "tenure_months": tenure,
            "region": region,
        }
    )


def _shifted_credit(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Draw ``n`` customers of the new partner channel (the covariate shift).

    Utilization of 1.0-2.5 lies beyond the training range: the tree model sees
    all of them as "utilization ~ 1" while the true risk keeps rising. Their
    other features look safe, so the model ranks them below many healthy
    customers who default less often -- that is what costs ROC AUC.
    """
    age = np.clip(np.rint(rng.normal(50.0, 8.0, n)), 21, 75).astype(np.int64)
    income = rng.lognormal(np.log(110_000.0), 0.40, n)
    utilization = rng.uniform(1.0, 2.5, n)
    late = rng.poisson(0.05, n)
    tenure = np.rint(rng.gamma(4.0, 35.0, n))
    tenure = np.clip(tenure, 1, np.minimum(240, (age - 18) * 12)).astype(np.int64)
    region = rng.choice(_REGIONS, size=n, p=_REGION_P)
    return pd.DataFrame(
        {
            "age": age,
            "income": income,
            "utilization": utilization,
            "late_payments": late.astype(np.int64),
            "tenure_months": tenure,
            "region": region,
        }
    )


def _round_credit(df: pd.DataFrame) -> pd.DataFrame:
    # Round like a real feature store would; also makes floats stable.
    return df.assign(income=df["income"].round(2), utilization=df["utilization"].round(4))


def _true_default_logit(df: pd.DataFrame) -> np.ndarray:
    """Ground-truth default log-odds; monotone in utilization at any level."""
    u = df["utilization"].to_numpy()
    region_effect = df["region"].map(_REGION_EFFECT).to_numpy(dtype=float)
    return (
        -2.5
        + 2.2 * (np.minimum(u, 1.0) - 0.36)
        # Over-limit balances are a distress signal: risk keeps rising (even
        # faster) beyond utilization 1.0, where no training data exists.
        + 3.0 * np.maximum(u - 1.0, 0.0)
        + 1.1 * df["late_payments"].to_numpy()
        - 2.0 * np.log(df["income"].to_numpy() / 55_000.0)
        - 0.04 * (df["age"].to_numpy() - 43.0)
        - 0.008 * (df["tenure_months"].to_numpy() - 60.0)
        + region_effect
    )


def _train_credit_model(rng: np.random.Generator, random_state: int) -> Pipeline:
    """Fit the credit model on healthy "historical" data (not stored)."""
    hist = _round_credit(_healthy_credit(rng, _N_CREDIT_TRAIN))
    y = rng.binomial(1, _sigmoid(_true_default_logit(hist)))
    pre = ColumnTransformer(
        [("region", OneHotEncoder(handle_unknown="ignore", sparse_output=False), ["region"])],
        remainder="passthrough",
        verbose_feature_names_out=False,
    )
    model = Pipeline(
        [
            ("pre", pre),
            (
                "hgb",
                HistGradientBoostingClassifier(
                    learning_rate=0.08, max_iter=200, max_leaf_nodes=15, random_state=random_state
                ),
            ),
        ]
    )
    model.fit(hist[_CREDIT_FEATURES], y)
    return model


def _credit_tables(
    rng: np.random.Generator, model: Pipeline, rows_per_window: int
) -> tuple[pd.DataFrame, pd.DataFrame, dict[int, float]]:
    """Build the credit prediction log and its outcomes, with both faults."""
    # +-2% volume wobble per window: realistic, yet inside +-3% so that volume
    # checks stay quiet -- the only injected faults are the two documented ones.
    wobble = rng.uniform(-0.02, 0.02, N_WINDOWS)
    counts = np.rint(rows_per_window * (1.0 + wobble)).astype(np.int64)
    window, offset = _window_layout(rng, counts)
    n = window.size

    healthy = _healthy_credit(rng, n)
    shifted = _shifted_credit(rng, n)
    is_new = (window >= SHIFT_FROM_WINDOW) & (rng.random(n) < _SHIFT_NEW_SHARE)
    feats = _round_credit(healthy.where(pd.Series(~is_new), shifted))
    feats = feats.astype({c: healthy[c].dtype for c in feats.columns})

    # Outcomes depend on the customer's real utilization, even if the feed drops it.
    defaulted = rng.binomial(1, _sigmoid(_true_default_logit(feats)))

    broken = (window == FEED_BREAK_WINDOW) & (rng.random(n) < _FEED_BREAK_NULL_SHARE)
    feats["utilization"] = feats["utilization"].mask(broken)

    score = np.round(model.predict_proba(feats[_CREDIT_FEATURES])[:, 1], 6)

    # Customer numbers are drawn without replacement so emails are unique.
    space = max(900_000, 10 * n)
    cust = rng.choice(space, size=n, replace=False) + 100_000
    email = ("c" + pd.Series(cust).astype(str) + "@example.com").to_numpy()

    ids = _ids("cd", n)
    scored_at = _window_timestamps(window, offset)
    preds = pd.DataFrame(
        {
            "prediction_id": ids,
            "scored_at": scored_at,
            "model_version": _CREDIT_MODEL_VERSION,
            **{c: feats[c].to_numpy() for c in _CREDIT_FEATURES},
            "customer_email": email,
            "score": score,
            "predicted_label": (score >= _CREDIT_THRESHOLD).astype(np.int64),
        }
    )

    jitter = rng.integers(0, _LABEL_JITTER_S + 1, n).astype("timedelta64[s]")
    arrived = scored_at + np.timedelta64(int(_LABEL_DELAY.total_seconds()), "s") + jitter
    has_label = rng.random(n) >= _MISSING_LABEL_SHARE
    outcomes = pd.DataFrame(
        {"prediction_id": ids, "defaulted": defaulted.astype(np.int64), "label_arrived_at": arrived}
    )[has_label].reset_index(drop=True)

    # ROC AUC of the model on its own (eventually arriving) labels, per window
    # (a loop over the 12 windows, not rows); NaN if a tiny window has one class.
    lab = pd.DataFrame({"w": window, "s": score, "y": defaulted})[has_label]
    auc = {
        int(k): round(float(roc_auc_score(g["y"], g["s"])), 4) if g["y"].nunique() == 2 else np.nan
        for k, g in lab.groupby("w")
    }
    return preds, outcomes, auc


# ---------------------------------------------------------------------------
# ETA model
# ---------------------------------------------------------------------------


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


def _train_eta_model(rng: np.random.Generator, random_state: int) -> Pipeline:
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


def _eta_tables(
    rng: np.random.Generator, model: Pipeline, rows_per_window: int
) -> tuple[pd.DataFrame, pd.DataFrame, dict[int, float]]:
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

    ids = _ids("eta", n)
    scored_at = _window_timestamps(window, offset)
    preds = pd.DataFrame(
        {
            "prediction_id": ids,
            "scored_at": scored_at,
            "model_version": _ETA_MODEL_VERSION,
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


# ---------------------------------------------------------------------------
# public entry point
# ---------------------------------------------------------------------------


def _write(conn: sa.Connection, table: sa.Table, df: pd.DataFrame) -> None:
    # Tables are created with typed SQLAlchemy Core columns beforehand, so
    # to_sql only appends; executemany batches (no method="multi") are fast on
    # both SQLite and psycopg2.
    df.to_sql(table.name, conn, if_exists="append", index=False, chunksize=_INSERT_CHUNK)


def seed_demo(url: str, *, seed: int = 7, rows_per_window: int = 3000) -> dict[str, Any]:
    """Create (or replace) the demo production tables in a database.

    Drops and recreates ``credit_predictions``, ``credit_outcomes``,
    ``eta_predictions`` and ``eta_outcomes`` (and nothing else), trains the two
    demo models and writes twelve weekly windows of predictions and outcomes.
    See the module docstring for the injected faults.

    Args:
        url: SQLAlchemy URL, e.g. ``"sqlite:////abs/path/demo.db"`` or
            ``"postgresql+psycopg2://user@host:5432/db"``.
        seed: Seed for every random draw and estimator; the same seed yields
            identical table contents.
        rows_per_window: Credit predictions per weekly window (each window
            varies by up to +-2%); the ETA model gets half as many, exactly.

    Returns:
        A small JSON-friendly summary: ``seed``, ``rows`` per table,
        ``credit_auc_by_window`` (ROC AUC of the credit score against
        ``defaulted`` for every 1-based window), ``eta_mae_by_window`` (minutes)
        and ``faults`` (the injected faults with their windows).

    Raises:
        ValueError: If ``rows_per_window`` is not positive.
    """
    if rows_per_window <= 0:
        raise ValueError("rows_per_window must be positive")

    # Independent streams, so e.g. changing the ETA generator never changes
    # the credit tables of the same seed.
    ss = np.random.SeedSequence(seed)
    r_credit_train, r_credit, r_eta_train, r_eta = (np.random.default_rng(s) for s in ss.spawn(4))
    random_state = int(ss.generate_state(1)[0] % (2**31 - 1))

    # One OpenMP thread: the models are small (well under a second each), and
    # multi-threaded HGB stalls for seconds when other processes compete for
    # the cores (e.g. parallel Airflow tasks). It also keeps floating-point
    # reductions in one order, so results do not depend on the core count.
    with threadpool_limits(limits=1):
        credit_model = _train_credit_model(r_credit_train, random_state)
        credit_preds, credit_out, auc = _credit_tables(r_credit, credit_model, rows_per_window)
        eta_model = _train_eta_model(r_eta_train, random_state)
        eta_preds, eta_out, mae = _eta_tables(r_eta, eta_model, rows_per_window)

    in_break = credit_preds["scored_at"].between(
        *(_naive_utc(t) for t in window_bounds(FEED_BREAK_WINDOW)), inclusive="left"
    )
    null_share = round(float(credit_preds.loc[in_break, "utilization"].isna().mean()), 4)

    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            _METADATA.drop_all(conn, checkfirst=True)
            _METADATA.create_all(conn)
            _write(conn, _CREDIT_PREDICTIONS, credit_preds)
            _write(conn, _CREDIT_OUTCOMES, credit_out)
            _write(conn, _ETA_PREDICTIONS, eta_preds)
            _write(conn, _ETA_OUTCOMES, eta_out)
    finally:
        engine.dispose()

    return {
        "seed": seed,
        "rows": {
            "credit_predictions": len(credit_preds),
            "credit_outcomes": len(credit_out),
            "eta_predictions": len(eta_preds),
            "eta_outcomes": len(eta_out),
        },
        "credit_auc_by_window": auc,
        "eta_mae_by_window": mae,
        "faults": [
            {
                "model": "credit",
                "kind": "feed_break",
                "window": FEED_BREAK_WINDOW,
                "column": "utilization",
                "null_share": null_share,
            },
            {
                "model": "credit",
                "kind": "covariate_shift",
                "windows": list(range(SHIFT_FROM_WINDOW, N_WINDOWS + 1)),
                "new_population_share": _SHIFT_NEW_SHARE,
                "utilization_range": [1.0, 2.5],
            },
        ],
    }
