"""Alembic environment for the gapwatch store (run through ``gapwatch.store.migrate``)."""

from __future__ import annotations

from alembic import context

from gapwatch.store import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # e.g. `alembic revision --autogenerate` run by a developer
    import sqlalchemy as sa

    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database: pass attributes['url'] or set sqlalchemy.url")
    connection = sa.create_engine(url).connect()

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,  # SQLite needs batch mode to alter tables
)
with context.begin_transaction():
    context.run_migrations()
