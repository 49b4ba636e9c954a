"""The store's tables (SQLAlchemy 2 Core). The schema is created and evolved by the Alembic
migrations in ``store/migrations``; a new column needs a migration there too.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from gapwatch.catalog import IncidentState, TicketState

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _ts(name: str, **kw: Any) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), **kw)


runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("monitor", sa.String(100), nullable=False),
    _ts("window_start", nullable=False),
    _ts("window_end", nullable=False),
    sa.Column("status", sa.String(30), nullable=False),  # catalog.RunStatus
    sa.Column("readiness", sa.String(30)),  # catalog.Readiness
    sa.Column("performance", sa.String(30)),  # catalog.Verdict
    sa.Column("drift", sa.String(30)),  # catalog.Verdict (ok | drift | inconclusive)
    sa.Column("main_metric", sa.String(50)),
    sa.Column("main_value", sa.Float),
    sa.Column("rows", sa.Integer),
    sa.Column("labeled", sa.Integer),
    sa.Column("pending", sa.Integer),
    sa.Column("summary", sa.JSON),
    sa.Column("airflow_run_id", sa.String(250)),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="1"),
    _ts("updated_at", nullable=False),
    sa.UniqueConstraint("monitor", "window_start"),
)

metric_values = sa.Table(
    "metric_values",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("monitor", sa.String(100), nullable=False),
    _ts("window_start", nullable=False),
    sa.Column("segment", sa.String(200), nullable=False),  # "*" is the whole window
    sa.Column("metric", sa.String(50), nullable=False),
    sa.Column("value", sa.Float),
    sa.Column("stderr", sa.Float),
    sa.Column("baseline", sa.Float),
    sa.Column("threshold", sa.Float),
    sa.Column("n", sa.Integer, nullable=False),
    sa.Column("status", sa.String(30), nullable=False),  # catalog.Verdict
    sa.UniqueConstraint("monitor", "window_start", "segment", "metric"),
)

drift_values = sa.Table(
    "drift_values",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("monitor", sa.String(100), nullable=False),
    _ts("window_start", nullable=False),
    sa.Column("column", sa.String(200), nullable=False),
    sa.Column("method", sa.String(30), nullable=False),
    sa.Column("value", sa.Float),
    sa.Column("threshold", sa.Float, nullable=False),
    sa.Column("drifted", sa.Boolean, nullable=False),
    sa.UniqueConstraint("monitor", "window_start", "column", "method"),
)

validations = sa.Table(
    "validations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("monitor", sa.String(100), nullable=False),
    _ts("window_start", nullable=False),
    sa.Column("suite", sa.String(200), nullable=False),
    sa.Column("success", sa.Boolean, nullable=False),
    sa.Column("evaluated_rows", sa.Integer, nullable=False),
    sa.Column("critical_failures", sa.Integer, nullable=False),
    sa.Column("warnings", sa.Integer, nullable=False),
    sa.Column("result", sa.JSON, nullable=False),
    sa.Column("data_docs_path", sa.String(500)),
    sa.UniqueConstraint("monitor", "window_start", "suite"),
)

baselines = sa.Table(
    "baselines",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("monitor", sa.String(100), nullable=False),
    sa.Column("key", sa.String(64), nullable=False),  # hash of what the baseline was built from
    sa.Column("statistics", sa.JSON, nullable=False),
    sa.Column("metrics", sa.JSON, nullable=False),
    _ts("created_at", nullable=False),
    sa.UniqueConstraint("monitor", "key"),
)

# What the readiness built-in checks compare a window with (issue 3): the baseline's rows per
# second and its columns with their type families, captured once so a later schema change shows.
readiness_profiles = sa.Table(
    "readiness_profiles",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("monitor", sa.String(100), nullable=False),
    sa.Column("key", sa.String(64), nullable=False),  # hash of what the profile was built from
    sa.Column("profile", sa.JSON, nullable=False),
    _ts("created_at", nullable=False),
    sa.UniqueConstraint("monitor", "key"),
)

findings = sa.Table(
    "findings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("monitor", sa.String(100), nullable=False),
    _ts("window_start", nullable=False),
    sa.Column("fingerprint", sa.String(300), nullable=False),
    sa.Column("kind", sa.String(30), nullable=False),  # catalog.Kind
    sa.Column("check", sa.String(100), nullable=False),
    sa.Column("segment", sa.String(200), nullable=False),
    sa.Column("status", sa.String(30), nullable=False),  # catalog.Verdict
    sa.Column("severity", sa.String(20), nullable=False),  # catalog.Severity
    sa.Column("evidence", sa.JSON, nullable=False),
    sa.UniqueConstraint("monitor", "window_start", "fingerprint"),
)

incidents = sa.Table(
    "incidents",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("fingerprint", sa.String(300), nullable=False),
    sa.Column("monitor", sa.String(100), nullable=False),
    sa.Column("kind", sa.String(30), nullable=False),  # catalog.Kind
    sa.Column("check", sa.String(100), nullable=False),
    sa.Column("segment", sa.String(200), nullable=False),
    sa.Column("severity", sa.String(20), nullable=False),  # catalog.Severity
    sa.Column("status", sa.String(20), nullable=False),  # catalog.IncidentState
    sa.Column("owner_role", sa.String(30), nullable=False),  # catalog.Role
    sa.Column("title", sa.String(500), nullable=False),
    sa.Column("evidence", sa.JSON, nullable=False),
    _ts("opened_window", nullable=False),
    _ts("last_breach_window", nullable=False),
    _ts("resolved_window"),
    _ts("opened_at", nullable=False),
    _ts("updated_at", nullable=False),
    _ts("resolved_at"),
    # Lifecycle (migration 5a): who acknowledged, quiet until, when escalation is due, how far it
    # has escalated, and how often a recurrence within the cool-down reopened it.
    _ts("acknowledged_at"),
    sa.Column("acknowledged_by", sa.String(200)),
    _ts("snoozed_until"),
    _ts("sla_due_at"),
    sa.Column("escalation_level", sa.Integer, nullable=False, server_default="0"),
    sa.Column("reopened_count", sa.Integer, nullable=False, server_default="0"),
    # At most one unresolved incident per fingerprint, enforced by the database so two
    # concurrent runs cannot both open one.
    sa.Index(
        "uq_incidents_open_fingerprint",
        "fingerprint",
        unique=True,
        sqlite_where=sa.text(f"status != '{IncidentState.RESOLVED}'"),
        postgresql_where=sa.text(f"status != '{IncidentState.RESOLVED}'"),
    ),
)

incident_events = sa.Table(
    "incident_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False, index=True),
    _ts("at", nullable=False),
    _ts("window_start"),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("action", sa.String(50), nullable=False),
    sa.Column("detail", sa.JSON, nullable=False),
)

tickets = sa.Table(
    "tickets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("fingerprint", sa.String(300), nullable=False),
    sa.Column("monitor", sa.String(100), nullable=False),
    sa.Column("kind", sa.String(30), nullable=False),  # catalog.TicketKind
    sa.Column("status", sa.String(20), nullable=False),  # catalog.TicketState
    sa.Column("title", sa.String(500), nullable=False),
    sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id")),
    sa.Column("evidence", sa.JSON, nullable=False),
    _ts("opened_window", nullable=False),
    _ts("created_at", nullable=False),
    sa.Column("tracker_key", sa.String(100)),  # the issue key in the team's tracker (e.g. Jira)
    sa.Index(
        "uq_tickets_open_fingerprint",
        "fingerprint",
        unique=True,
        sqlite_where=sa.text(f"status = '{TicketState.OPEN}'"),
        postgresql_where=sa.text(f"status = '{TicketState.OPEN}'"),
    ),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("idempotency_key", sa.String(64), nullable=False, unique=True),
    sa.Column("monitor", sa.String(100), nullable=False),
    sa.Column("channel", sa.String(30), nullable=False),
    sa.Column("recipient_role", sa.String(30), nullable=False),  # catalog.Role
    sa.Column("recipient", sa.String(300), nullable=False),
    sa.Column("subject", sa.String(500), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id")),
    sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id")),
    sa.Column("status", sa.String(20), nullable=False),  # catalog.MessageStatus
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    _ts("next_attempt_at", nullable=False),
    sa.Column("last_error", sa.Text),
    _ts("created_at", nullable=False),
    _ts("sent_at"),
    # Where the message goes beyond its channel (connection id, Jira project, ...; never a
    # secret) and what the far side called it (a Jira issue key, a PagerDuty dedup key).
    sa.Column("route", sa.JSON),
    sa.Column("external_ref", sa.String(200)),
)
