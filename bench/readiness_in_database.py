"""Peak memory of readiness validation: in the database (GX SQL data source) vs in pandas.

Loads a ``credit_predictions`` table of N rows (default 3,000,000, all in one weekly window)
into a fresh PostgreSQL database with COPY, then validates that window with the shipped
``credit_default_inputs`` suite twice, each in its own child process so peak RSS is measured
cleanly:

* ``database``: ``readiness.validate_suite(sql_url=..., sql_query=...)`` -- what
  ``readiness: {validate_in: database}`` runs; GX computes every metric as SQL aggregates.
* ``memory``: ``pandas.read_sql`` of the window, then ``validate_suite(dataframe=...)`` -- what
  the default path does with the extracted window.

Prints each child's peak RSS, its RSS right after importing GX (the fixed cost), the table's
size in PostgreSQL and the DataFrame's size, and the ratios. Reproduce:

    .venv/bin/python bench/readiness_in_database.py            # 3M rows, ~3 minutes on 2 cores
    .venv/bin/python bench/readiness_in_database.py --rows 1000000

Measured on the 2-core dev machine (PostgreSQL 16 on loopback, 3,000,000 rows, 2026-11):

    table in PostgreSQL (with index): 559 MB; as a pandas DataFrame: 383 MB
    database: 3,000,000 rows validated in 14.8 s; peak RSS 268 MB (after importing GX 265 MB, validation adds 3 MB)
      memory: 3,000,000 rows validated in 28.9 s; peak RSS 3,201 MB (after importing GX 265 MB, validation adds 2,937 MB)
    peak RSS ratio memory/database: 12.0x
    memory the in-database validation adds, as a share of the rows' DataFrame size: 0.8%

(``ready=False`` in both: the shipped suite caps a window at 100,000 rows.) GX executes a query
asset's bare query once to read its column names: left alone, that added ~290 MB per million
rows to the database path. These figures were measured with GX's ``create_temp_table`` (the
window copied server-side, 4-5 s per 1.3M rows); since 2026-12-07 ``readiness/gx_sql.py`` rewrites
that one lookup to ``LIMIT 0`` instead (no copy, no rows).

Needs PostgreSQL at 127.0.0.1:5432 (trust auth, user postgres); the database it creates
(``gw3_bench_<random>``) is dropped at the end.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ADMIN_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
SUITE = ROOT / "include" / "expectations" / "credit_default_inputs.json"
WINDOW_START = datetime(2026, 2, 2)
WINDOW_END = WINDOW_START + timedelta(days=7)
CHUNK = 500_000

DDL = """
CREATE TABLE credit_predictions (
    prediction_id TEXT PRIMARY KEY, scored_at TIMESTAMP NOT NULL, model_version TEXT NOT NULL,
    age INTEGER, income DOUBLE PRECISION, utilization DOUBLE PRECISION, late_payments INTEGER,
    tenure_months INTEGER, region TEXT, customer_email TEXT, score DOUBLE PRECISION NOT NULL,
    predicted_label INTEGER NOT NULL)
"""


def _load(url: str, rows: int) -> None:
    """Create the table and fill it with COPY, chunk by chunk (vectorised numpy -> CSV)."""
    import numpy as np
    import pandas as pd
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(DDL))
    rng = np.random.default_rng(7)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for offset in range(0, rows, CHUNK):
            n = min(CHUNK, rows - offset)
            ids = np.arange(offset, offset + n)
            seconds = rng.integers(0, 7 * 86400, n)
            score = rng.uniform(0, 1, n)
            frame = pd.DataFrame(
                {
                    "prediction_id": pd.Series(ids).astype(str).radd("p-"),
                    "scored_at": pd.Timestamp(WINDOW_START) + pd.to_timedelta(seconds, unit="s"),
                    "model_version": "1.3.0",
                    "age": rng.integers(21, 76, n),
                    "income": rng.uniform(12_000, 250_000, n).round(2),
                    "utilization": rng.beta(2, 3.5, n).round(4),
                    "late_payments": rng.poisson(0.6, n),
                    "tenure_months": rng.integers(1, 241, n),
                    "region": rng.choice(["north", "south", "east", "west"], n),
                    "customer_email": pd.Series(ids).astype(str).radd("c").add("@example.com"),
                    "score": score.round(5),
                    "predicted_label": (score >= 0.4).astype(int),
                }
            )
            buffer = io.StringIO()
            frame.to_csv(buffer, index=False, header=False)
            buffer.seek(0)
            cursor.copy_expert("COPY credit_predictions FROM STDIN WITH (FORMAT csv)", buffer)
        raw.commit()
        cursor.execute("ANALYZE credit_predictions")
        raw.commit()
    finally:
        raw.close()
        engine.dispose()


def _memory_kb(field: str) -> int:
    """``VmHWM`` (peak) or ``VmRSS`` (now) of this process, in kB.

    Not ``getrusage``: Linux carries ``ru_maxrss`` across fork+exec, so a child would
    report the parent's peak (the parent held the generated rows while loading).
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _child(mode: str, url: str) -> None:
    """Validate the window in this process and print figures as one JSON line."""
    import great_expectations  # noqa: F401  (import cost is part of the fixed baseline)

    from gapwatch.readiness.suite import load_suite_json, validate_suite

    after_import = _memory_kb("VmHWM")
    suite = load_suite_json(SUITE)
    query = (
        "SELECT * FROM credit_predictions "
        f"WHERE scored_at >= '{WINDOW_START:%Y-%m-%d %H:%M:%S}' AND scored_at < '{WINDOW_END:%Y-%m-%d %H:%M:%S}'"
    )
    started = time.perf_counter()
    frame_bytes = None
    if mode == "database":
        result = validate_suite(suite, sql_url=url, sql_query=query, pii_columns={"customer_email"}).result
    else:
        import pandas as pd
        import sqlalchemy as sa

        engine = sa.create_engine(url)
        with engine.connect() as conn:
            frame = pd.read_sql(query, conn)
        frame_bytes = int(frame.memory_usage(deep=True).sum())
        result = validate_suite(suite, dataframe=frame, pii_columns={"customer_email"}).result
        del frame
    seconds = time.perf_counter() - started
    peak = _memory_kb("VmHWM")
    print(
        json.dumps(
            {
                "mode": mode,
                "rows": result.evaluated_rows,
                "ready": result.success,
                "peak_rss_kb": peak,
                "after_import_rss_kb": after_import,
                "frame_bytes": frame_bytes,
                "seconds": round(seconds, 1),
            }
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=3_000_000)
    parser.add_argument("--child", choices=["database", "memory"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.url)
        return 0

    import sqlalchemy as sa

    name = f"gw3_bench_{uuid.uuid4().hex[:8]}"
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    try:
        started = time.perf_counter()
        _load(url, args.rows)
        print(f"loaded {args.rows:,} rows with COPY in {time.perf_counter() - started:.1f} s")
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            table_bytes = conn.execute(sa.text("SELECT pg_total_relation_size('credit_predictions')")).scalar_one()
        engine.dispose()
        runs = {}
        for mode in ("database", "memory"):
            out = subprocess.run(
                [sys.executable, __file__, "--child", mode, "--url", url],
                check=True, capture_output=True, text=True,
            ).stdout
            runs[mode] = json.loads(out.strip().splitlines()[-1])
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()

    mb = 1024 * 1024
    db, mem = runs["database"], runs["memory"]
    print(f"table in PostgreSQL (with index): {table_bytes / mb:,.0f} MB; "
          f"as a pandas DataFrame: {mem['frame_bytes'] / mb:,.0f} MB")
    for r in (db, mem):
        print(
            f"{r['mode']:>8}: {r['rows']:,} rows validated in {r['seconds']} s, ready={r['ready']}; "
            f"peak RSS {r['peak_rss_kb'] / 1024:,.0f} MB "
            f"(after importing GX {r['after_import_rss_kb'] / 1024:,.0f} MB, "
            f"validation adds {(r['peak_rss_kb'] - r['after_import_rss_kb']) / 1024:,.0f} MB)"
        )
    added_db = (db["peak_rss_kb"] - db["after_import_rss_kb"]) * 1024
    print(f"peak RSS ratio memory/database: {mem['peak_rss_kb'] / db['peak_rss_kb']:.1f}x")
    print(f"memory the in-database validation adds, as a share of the rows' DataFrame size: "
          f"{added_db / mem['frame_bytes']:.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
