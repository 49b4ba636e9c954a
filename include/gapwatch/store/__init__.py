"""The gapwatch store: the system of record for runs, results, incidents, tickets and messages.

SQLAlchemy 2 Core tables (``tables``) whose schema Alembic creates and evolves
(``store/migrations``); SQLite by default, PostgreSQL in production, one URL to switch
(``GAPWATCH_DB_URL``). Callers use ``from gapwatch import store`` and ``store.runs``,
``store.engine()``, ``store.upsert(...)``.
"""

from gapwatch.store.adoption_tables import adoption_baselines, adoption_values
from gapwatch.store.engine import dispose, engine, insert_ignore, migrate, rows, upsert
from gapwatch.store.tables import (
    baselines,
    drift_values,
    findings,
    incident_events,
    incidents,
    metadata,
    metric_values,
    outbox,
    readiness_profiles,
    runs,
    tickets,
    validations,
)
from gapwatch.window import as_utc, utcnow

__all__ = [
    "adoption_baselines", "adoption_values",
    "as_utc", "baselines", "dispose", "drift_values", "engine", "findings", "incident_events",
    "incidents", "insert_ignore", "metadata", "metric_values", "migrate", "outbox",
    "readiness_profiles", "rows", "runs", "tickets", "upsert", "utcnow", "validations",
]
