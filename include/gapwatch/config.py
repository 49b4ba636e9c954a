"""Settings read from the environment at call time (never at import time).

Everything has an embedded default under ``GAPWATCH_HOME`` (``<repo>/.gapwatch``), so a fresh clone
works with no configuration; production sets ``GAPWATCH_DB_URL`` to PostgreSQL.
"""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    """The repository root (the package lives in include/gapwatch)."""
    return Path(__file__).resolve().parents[2]


def home() -> Path:
    path = Path(os.environ.get("GAPWATCH_HOME") or project_root() / ".gapwatch")
    path.mkdir(parents=True, exist_ok=True)
    return path


def db_url() -> str:
    return os.environ.get("GAPWATCH_DB_URL") or f"sqlite:///{home() / 'gapwatch.db'}"


def runs_dir() -> Path:
    """Run-scoped working files (window extracts as Parquet) live here."""
    return Path(os.environ.get("GAPWATCH_RUNS_DIR") or home() / "runs")


def outbox_file() -> Path:
    """The file sink: one JSON line per delivered message (the embedded default channel)."""
    return Path(os.environ.get("GAPWATCH_OUTBOX_FILE") or home() / "outbox" / "messages.jsonl")


def expectations_dir() -> Path:
    return Path(os.environ.get("GAPWATCH_EXPECTATIONS_DIR") or project_root() / "include" / "expectations")


def airflow_base_url() -> str:
    """Where links in messages point (the Airflow UI)."""
    return (
        os.environ.get("GAPWATCH_AIRFLOW_URL")
        or os.environ.get("AIRFLOW__API__BASE_URL")
        or "http://localhost:8080"
    ).rstrip("/")


def smtp_conn_id() -> str:
    """The Airflow connection the email channel sends through."""
    return os.environ.get("GAPWATCH_SMTP_CONN_ID") or "smtp_default"
