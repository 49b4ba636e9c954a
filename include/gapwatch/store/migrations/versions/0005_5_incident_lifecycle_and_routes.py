"""incident lifecycle (ack, snooze, escalation, reopen) and routed outbox messages

Revision ID: 5a
Revises: 3a (merged from main; originally 0001)
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "5a"
down_revision = "3a"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("acknowledged_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("snoozed_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("sla_due_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("escalation_level", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("reopened_count", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tracker_key", sa.String(length=100), nullable=True))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("route", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("external_ref", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("external_ref")
        batch_op.drop_column("route")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("tracker_key")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_column("reopened_count")
        batch_op.drop_column("escalation_level")
        batch_op.drop_column("sla_due_at")
        batch_op.drop_column("snoozed_until")
        batch_op.drop_column("acknowledged_by")
        batch_op.drop_column("acknowledged_at")
