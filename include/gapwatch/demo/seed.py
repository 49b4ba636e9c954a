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

from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from threadpoolctl import threadpool_limits

from gapwatch.demo import credit, eta
from gapwatch.demo.decisions import write_decisions
from gapwatch.demo.timeline import (
    DEMO_START,
    FEED_BREAK_WINDOW,
    N_WINDOWS,
    SHIFT_FROM_WINDOW,
    WINDOW,
    naive_utc,
    window_bounds,
)

# The demo's calendar is imported from here by tests and the CLI.
__all__ = [
    "DEMO_START",
    "FEED_BREAK_WINDOW",
    "N_WINDOWS",
    "SHIFT_FROM_WINDOW",
    "WINDOW",
    "seed_demo",
    "window_bounds",
]

_INSERT_CHUNK = 5_000


def seed_demo(url: str, *, seed: int = 7, rows_per_window: int = 3000) -> dict[str, Any]:
    """Create (or replace) the demo production tables in a database.

    Drops and recreates ``credit_predictions``, ``credit_outcomes``,
    ``eta_predictions`` and ``eta_outcomes`` (and nothing else), trains the two
    demo models and writes twelve weekly windows of predictions and outcomes,
    plus the people's decisions on them (``gapwatch.demo.decisions``).
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
    credit_preds, credit_out, auc, eta_preds, eta_out, mae = _generate(seed, rows_per_window)
    _write_tables(
        url,
        {
            credit.PREDICTIONS: credit_preds,
            credit.OUTCOMES: credit_out,
            eta.PREDICTIONS: eta_preds,
            eta.OUTCOMES: eta_out,
        },
    )
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            decisions = write_decisions(conn, seed, credit_preds, credit_out, eta_preds,
                                        start=DEMO_START, week=WINDOW, shift_from=SHIFT_FROM_WINDOW)
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
        "faults": [*_faults(credit_preds), *decisions["faults"]],
        "decisions": decisions["rows"],
    }


def _generate(seed: int, rows_per_window: int) -> tuple[Any, ...]:
    """Train both models and draw their tables: credit (preds, outcomes, AUC), ETA (same, MAE)."""
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
        credit_model = credit.train_model(r_credit_train, random_state)
        credit_tables = credit.tables(r_credit, credit_model, rows_per_window)
        eta_model = eta.train_model(r_eta_train, random_state)
        eta_tables = eta.tables(r_eta, eta_model, rows_per_window)
    return (*credit_tables, *eta_tables)


def _write_tables(url: str, frames: dict[sa.Table, pd.DataFrame]) -> None:
    """Replace the demo tables with ``frames``, in one transaction."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            for metadata in (credit.METADATA, eta.METADATA):
                metadata.drop_all(conn, checkfirst=True)
                metadata.create_all(conn)
            for table, frame in frames.items():
                # Tables are created with typed SQLAlchemy Core columns above, so to_sql only
                # appends; executemany batches (no method="multi") are fast on both SQLite
                # and psycopg2.
                frame.to_sql(table.name, conn, if_exists="append", index=False, chunksize=_INSERT_CHUNK)
    finally:
        engine.dispose()


def _faults(credit_preds: pd.DataFrame) -> list[dict[str, Any]]:
    """The injected faults as the summary reports them (the feed break's measured null share)."""
    in_break = credit_preds["scored_at"].between(
        *(naive_utc(t) for t in window_bounds(FEED_BREAK_WINDOW)), inclusive="left"
    )
    null_share = round(float(credit_preds.loc[in_break, "utilization"].isna().mean()), 4)
    return [
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
            "new_population_share": credit.SHIFT_NEW_SHARE,
            "utilization_range": [1.0, 2.5],
        },
    ]
