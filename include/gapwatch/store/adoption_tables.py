"""The store's adoption tables (issue 11), on the shared ``metadata``; created by migration 11a.

``adoption_values``: one row per window, adoption check and segment (``*`` overall, ``team=east``,
``region=north``), with its sampling error and what it was judged against, like
``metric_values``. ``adoption_baselines``: the decisions' reference statistics, computed once per
monitor and spec (key), like ``baselines``.
"""

from __future__ import annotations

import sqlalchemy as sa

from gapwatch.store.tables import _ts, metadata

adoption_values = sa.Table(
    "adoption_values",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("monitor", sa.String(100), nullable=False),
    _ts("window_start", nullable=False),
    sa.Column("check", sa.String(50), nullable=False),
    sa.Column("segment", sa.String(200), nullable=False),  # "*" is the whole cohort
    sa.Column("value", sa.Float),
    sa.Column("stderr", sa.Float),
    sa.Column("baseline", sa.Float),
    sa.Column("threshold", sa.Float),
    sa.Column("n", sa.Integer, nullable=False),
    sa.Column("status", sa.String(30), nullable=False),
    sa.Column("detail", sa.JSON),  # counts behind the value (e.g. override quality's right/wrong)
    sa.UniqueConstraint("monitor", "window_start", "check", "segment"),
)

adoption_baselines = sa.Table(
    "adoption_baselines",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("monitor", sa.String(100), nullable=False),
    sa.Column("key", sa.String(64), nullable=False),  # hash of what the baseline was built from
    sa.Column("summary", sa.JSON, nullable=False),
    _ts("created_at", nullable=False),
    sa.UniqueConstraint("monitor", "key"),
)
