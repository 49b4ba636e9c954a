"""The store's engine (migrated on first use) and the few dialect-aware writes every stage uses.

Every engine gapwatch creates (the store here, the production source in ``gapwatch.sources``, GX's
in-database readiness) goes through :func:`create_engine`, which bounds how long a database may
keep us waiting: a server that accepts TCP and never answers used to hang a run forever.

==================================  =======  ==========================================================
setting                             default  PostgreSQL / SQLite
==================================  =======  ==========================================================
``GAPWATCH_DB_CONNECT_TIMEOUT``     10 s     libpq ``connect_timeout`` (the whole connection set-up) / -
``GAPWATCH_STATEMENT_TIMEOUT``      300 s    ``-c statement_timeout`` (server side) / busy timeout (how
                                             long a statement waits for another writer's lock)
==================================  =======  ==========================================================

Other dialects get no extra arguments (their drivers name these differently).
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from gapwatch.window import as_utc


def connect_timeout() -> float:
    """Seconds to wait for a database connection (``GAPWATCH_DB_CONNECT_TIMEOUT``, default 10)."""
    from gapwatch import config

    return config.settings().db_connect_timeout


def statement_timeout() -> float:
    """Seconds one statement may run (``GAPWATCH_STATEMENT_TIMEOUT``, default 300)."""
    from gapwatch import config

    return config.settings().statement_timeout


def timeout_connect_args(url: str) -> dict[str, Any]:
    """The DB-API ``connect_args`` that apply the timeouts to a connection to ``url``."""
    parsed = sa.make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return {"timeout": statement_timeout()}
    if backend == "postgresql" and parsed.get_driver_name() in ("psycopg2", "psycopg"):
        # libpq wants whole seconds (at least 2, it says); options keep what the URL already set.
        options = " ".join(
            part for part in (parsed.query.get("options"), f"-c statement_timeout={int(statement_timeout() * 1000)}")
            if isinstance(part, str) and part
        )
        return {"connect_timeout": max(int(round(connect_timeout())), 2), "options": options}
    return {}


def create_engine(url: str, **kwargs: Any) -> Engine:
    """``sqlalchemy.create_engine`` with gapwatch's connect and statement timeouts applied."""
    connect_args = {**timeout_connect_args(url), **kwargs.pop("connect_args", {})}
    return sa.create_engine(url, connect_args=connect_args, **kwargs)


@cache
def _engine_for(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url)

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # WAL lets the UI read while a run writes; foreign keys are off by default in SQLite.
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


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
