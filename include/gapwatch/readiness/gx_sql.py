"""GX's SQL data source for a window query: validation in the database, no rows in the worker."""

from __future__ import annotations

from typing import Any


def add_sql_datasource(context: Any, name: str, url: str, query: str) -> Any:
    """Add the GX SQL data source that fits the URL's dialect to an ephemeral context, its engine
    made to read the column names of ``query`` without its rows (:func:`_columns_without_rows`)."""
    from gapwatch.store.engine import timeout_connect_args

    dialect = url.split(":", 1)[0].split("+", 1)[0]
    sources = context.data_sources
    options: dict[str, Any] = {"connection_string": url, "create_temp_table": False}
    if connect_args := timeout_connect_args(url):  # GX's own engine times out like ours
        options["kwargs"] = {"connect_args": connect_args}
    if dialect in ("postgresql", "postgres"):
        datasource = sources.add_postgres(name, **options)
    elif dialect == "sqlite":
        datasource = sources.add_sqlite(name, **options)
    else:
        datasource = sources.add_sql(name, **options)
    _columns_without_rows(datasource.get_execution_engine().engine, query)
    return datasource


def _columns_without_rows(engine: Any, query: str) -> None:
    """Make GX's column-name lookup of the query asset read no rows.

    To learn a query asset's column names, GX 1.24 executes the bare query
    (``column_reflection_fallback``: no ``LIMIT``) and the DB-API driver buffers every row of the
    window in this process (~290 MB per million rows). GX's own remedy, ``create_temp_table``,
    copies the window server-side instead, once per validation: 4-5 s per 1.3M rows on
    PostgreSQL, more than all the checks together. GX has no option to read the names alone, so
    this hook (written by hand for that reason) rewrites exactly that statement, on GX's engine
    only, to ``SELECT * FROM (query) LIMIT 0``: the same column names, no rows. Every metric query
    wraps the query in a larger statement and is left alone.
    """
    import sqlalchemy as sa

    bare = " ".join(query.split())

    def rewrite(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> Any:
        # The driver's statement: a '%' in the query reaches a pyformat driver (psycopg2) as '%%'.
        if " ".join(statement.replace("%%", "%").split()) == bare:
            return f"SELECT * FROM ({statement}) AS gw_columns LIMIT 0", parameters
        return statement, parameters

    sa.event.listen(engine, "before_cursor_execute", rewrite, retval=True)
