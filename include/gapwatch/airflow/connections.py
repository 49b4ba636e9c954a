"""Airflow connections as SQLAlchemy URLs: how a monitor's ``source.conn_id`` is resolved.

Passed into :func:`gapwatch.sources.source_url` by whatever runs a stage (a DAG task, the CLI),
so the spec and the stages never import Airflow.
"""

from __future__ import annotations


def connection_sqlalchemy_url(conn_id: str) -> str:
    """The SQLAlchemy URL of an Airflow connection (secrets stay in Airflow, not in specs)."""
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection(conn_id)
    extra = conn.extra_dejson
    if extra.get("sqlalchemy_url"):
        return str(extra["sqlalchemy_url"])
    return conn.get_uri().replace("postgres://", "postgresql+psycopg2://", 1)


def install() -> None:
    """Let the stages resolve ``source.conn_id`` through Airflow (called by tasks and the CLI)."""
    from gapwatch import sources

    sources.use_connection_resolver(connection_sqlalchemy_url)
