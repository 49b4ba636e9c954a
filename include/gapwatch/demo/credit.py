"""The demo's credit default classifier and its prediction log, with both injected faults.

A scikit-learn ``HistGradientBoostingClassifier`` in a ``Pipeline`` with a one-hot encoded
``region``, version ``1.3.0``, trained on healthy "historical" data. Outcomes (``defaulted``) are
drawn from the *true* default probability and arrive seven days after scoring plus up to 48 hours;
about 2% never arrive. The feed break and the covariate shift are described in
:mod:`gapwatch.demo.seed`.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from gapwatch.demo.timeline import (
    FEED_BREAK_WINDOW,
    N_WINDOWS,
    SHIFT_FROM_WINDOW,
    prediction_ids,
    sigmoid,
    window_layout,
    window_timestamps,
)

MODEL_VERSION = "1.3.0"
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
SHIFT_NEW_SHARE = 0.35
_MISSING_LABEL_SHARE = 0.02
_LABEL_DELAY = timedelta(days=7)
_LABEL_JITTER_S = 48 * 3600


METADATA = sa.MetaData()

PREDICTIONS = sa.Table(
    "credit_predictions",
    METADATA,
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
OUTCOMES = sa.Table(
    "credit_outcomes",
    METADATA,
    sa.Column("prediction_id", sa.Text, primary_key=True),
    sa.Column("defaulted", sa.Integer, nullable=False),
    sa.Column("label_arrived_at", sa.DateTime, nullable=False),
)


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


def train_model(rng: np.random.Generator, random_state: int) -> Pipeline:
    """Fit the credit model on healthy "historical" data (not stored)."""
    hist = _round_credit(_healthy_credit(rng, _N_CREDIT_TRAIN))
    y = rng.binomial(1, sigmoid(_true_default_logit(hist)))
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


def tables(
    rng: np.random.Generator, model: Pipeline, rows_per_window: int
) -> tuple[pd.DataFrame, pd.DataFrame, dict[int, float]]:
    """Build the credit prediction log and its outcomes, with both faults."""
    # +-2% volume wobble per window: realistic, yet inside +-3% so that volume
    # checks stay quiet -- the only injected faults are the two documented ones.
    wobble = rng.uniform(-0.02, 0.02, N_WINDOWS)
    counts = np.rint(rows_per_window * (1.0 + wobble)).astype(np.int64)
    window, offset = window_layout(rng, counts)
    n = window.size

    healthy = _healthy_credit(rng, n)
    shifted = _shifted_credit(rng, n)
    is_new = (window >= SHIFT_FROM_WINDOW) & (rng.random(n) < SHIFT_NEW_SHARE)
    feats = _round_credit(healthy.where(pd.Series(~is_new), shifted))
    feats = feats.astype({c: healthy[c].dtype for c in feats.columns})

    # Outcomes depend on the customer's real utilization, even if the feed drops it.
    defaulted = rng.binomial(1, sigmoid(_true_default_logit(feats)))

    broken = (window == FEED_BREAK_WINDOW) & (rng.random(n) < _FEED_BREAK_NULL_SHARE)
    feats["utilization"] = feats["utilization"].mask(broken)

    score = np.round(model.predict_proba(feats[_CREDIT_FEATURES])[:, 1], 6)

    # Customer numbers are drawn without replacement so emails are unique.
    space = max(900_000, 10 * n)
    cust = rng.choice(space, size=n, replace=False) + 100_000
    email = ("c" + pd.Series(cust).astype(str) + "@example.com").to_numpy()

    ids = prediction_ids("cd", n)
    scored_at = window_timestamps(window, offset)
    preds = pd.DataFrame(
        {
            "prediction_id": ids,
            "scored_at": scored_at,
            "model_version": MODEL_VERSION,
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
