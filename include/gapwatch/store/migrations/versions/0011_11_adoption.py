"""adoption monitoring: adoption_values (per window, check, segment) and adoption_baselines

Revision ID: 11a
Revises: 5a
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "11a"
down_revision = "5a"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "adoption_values",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("monitor", sa.String(length=100), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("check", sa.String(length=50), nullable=False),
        sa.Column("segment", sa.String(length=200), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("stderr", sa.Float(), nullable=True),
        sa.Column("baseline", sa.Float(), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adoption_values")),
        sa.UniqueConstraint("monitor", "window_start", "check", "segment",
                            name=op.f("uq_adoption_values_monitor_window_start_check_segment")),
    )
    op.create_table(
        "adoption_baselines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("monitor", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adoption_baselines")),
        sa.UniqueConstraint("monitor", "key", name=op.f("uq_adoption_baselines_monitor_key")),
    )


def downgrade() -> None:
    op.drop_table("adoption_baselines")
    op.drop_table("adoption_values")
