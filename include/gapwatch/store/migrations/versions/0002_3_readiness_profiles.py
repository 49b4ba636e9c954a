"""readiness baseline profiles (issue 3)

Revision ID: 3a
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "3a"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "readiness_profiles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("monitor", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("profile", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_readiness_profiles")),
        sa.UniqueConstraint("monitor", "key", name=op.f("uq_readiness_profiles_monitor_key")),
    )


def downgrade() -> None:
    op.drop_table("readiness_profiles")
