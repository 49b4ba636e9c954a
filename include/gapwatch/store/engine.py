"""The store's engine (migrated on first use) and the few dialect-aware writes every stage uses."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from gapwatch.window import as_utc


@cache
def _engine_for(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # WAL lets the UI read while a run writes; foreign keys are off by default in SQLite.
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def migrate(url: str) -> None:
    """Bring the store at ``url`` to the latest schema (Alembic ``upgrade head``)."""
    from alembic import command
    from alembic.config import Config

    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.attributes["url"] = url
    with _engine_for(url).begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


_migrated: set[str] = set()


def engine(url: str | None = None) -> Engine:
    """The store's engine, migrated to the latest schema on first use in this process."""
    from gapwatch import config

    url = url or config.settings().db_url
    if url not in _migrated:
        migrate(url)
        _migrated.add(url)
    return _engine_for(url)


def upsert(conn: Connection, table: sa.Table, values: dict[str, Any], keys: list[str]) -> None:
    """Insert or update one row identified by ``keys`` (SQLite and PostgreSQL ``ON CONFLICT``)."""
    insert = _dialect_insert(conn)(table).values(**values)
    update = {k: insert.excluded[k] for k in values if k not in keys and k != "id"}
    conn.execute(insert.on_conflict_do_update(index_elements=keys, set_=update))


def insert_ignore(
    conn: Connection, table: sa.Table, values: dict[str, Any], keys: list[str], where: Any = None
) -> bool:
    """Insert unless a row with the same ``keys`` exists; True when this call inserted it."""
    insert = _dialect_insert(conn)(table).values(**values)
    result = conn.execute(insert.on_conflict_do_nothing(index_elements=keys, index_where=where))
    return result.rowcount == 1


def _dialect_insert(conn: Connection) -> Any:
    name = conn.dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert
    # Guarded so a new backend fails loudly, not subtly.
    raise NotImplementedError(f"gapwatch store supports sqlite and postgresql, not {name}")


def rows(conn: Connection, query: Any) -> list[dict[str, Any]]:
    """Run a query and return plain dicts with UTC-aware datetimes."""
    return [
        {k: as_utc(v) if isinstance(v, datetime) else v for k, v in r._mapping.items()}
        for r in conn.execute(query)
    ]


def dispose(url: str) -> None:
    """Close the pooled connections to ``url`` and forget it was migrated (a dropped database)."""
    _engine_for(url).dispose()
    _migrated.discard(url)
