from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """An Airflow metadata database (SQLite) in the session's AIRFLOW_HOME, migrated once."""
    home = Path(os.environ["AIRFLOW_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    airflow = Path(sys.executable).parent / "airflow"
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True, env=os.environ.copy())
    return home


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def source_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh source database, once SQLite (a file) and once PostgreSQL (a new database): what
    the database path's tests run on both. The cached source engines are dropped afterwards."""
    from gapwatch import sources

    yield f"sqlite:///{tmp_path / 'source.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    sources.source_engine.cache_clear()
