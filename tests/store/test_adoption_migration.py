"""Migration 11a creates the adoption tables exactly as the store's metadata declares them, on
SQLite and PostgreSQL, and downgrades cleanly."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext

from gapwatch import store

pytestmark = pytest.mark.integration
ADOPTION_TABLES = {"adoption_values", "adoption_baselines"}


def _diff_of_adoption_tables(url: str) -> list:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), store.metadata)
    engine.dispose()

    def table_of(diff) -> str | None:
        # add/remove_table: (op, Table); add/remove_column: (op, schema, table name, Column);
        # modify_*: [(op, schema, table name, column name, ...)]; indexes/constraints carry .table.
        for part in (diff[0] if isinstance(diff, list) else diff)[1:]:
            if isinstance(part, str) and part in ADOPTION_TABLES:
                return part
            name = getattr(getattr(part, "table", None), "name", None) or getattr(part, "name", None)
            if name in ADOPTION_TABLES:
                return name
        return None

    return [d for d in diffs if table_of(d) in ADOPTION_TABLES]


def test_migration_11a_matches_the_metadata_and_downgrades(store_url: str) -> None:
    store.migrate(store_url)
    inspector = sa.inspect(sa.create_engine(store_url))
    assert ADOPTION_TABLES <= set(inspector.get_table_names())
    unique = {tuple(u["column_names"]) for u in inspector.get_unique_constraints("adoption_values")}
    assert ("monitor", "window_start", "check", "segment") in unique
    assert _diff_of_adoption_tables(store_url) == []

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(store.__file__).parent / "migrations"))
    engine = sa.create_engine(store_url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "5a")
    assert not ADOPTION_TABLES & set(sa.inspect(engine).get_table_names())
    engine.dispose()
    store.dispose(store_url)
