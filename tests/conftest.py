"""Shared test set-up: an isolated Airflow home and gapwatch home for the whole session.

Airflow reads its configuration when first imported, so the environment is set here, before
any test module imports it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_SESSION_HOME = Path(tempfile.mkdtemp(prefix="gapwatch-tests-"))

os.environ["AIRFLOW_HOME"] = str(_SESSION_HOME / "airflow")
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(ROOT / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "WARNING"
os.environ["GX_ANALYTICS_ENABLED"] = "false"
os.environ.pop("GAPWATCH_DB_URL", None)
os.environ.pop("GAPWATCH_MONITORS_DIR", None)

PG_ADMIN_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def gapwatch_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh gapwatch home (store, runs, outbox file) for one test."""
    home = tmp_path / "gapwatch"
    monkeypatch.setenv("GAPWATCH_HOME", str(home))
    monkeypatch.delenv("GAPWATCH_DB_URL", raising=False)
    monkeypatch.delenv("GAPWATCH_OUTBOX_FILE", raising=False)
    monkeypatch.delenv("GAPWATCH_RUNS_DIR", raising=False)
    return home


@pytest.fixture(scope="session")
def demo_source(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The demo production database, seeded once per session (deterministic)."""
    from gapwatch.demo.seed import seed_demo

    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo_production.db'}"
    seed_demo(url, seed=7)
    return url


@pytest.fixture
def demo_env(gapwatch_home: Path, demo_source: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GAPWATCH_DEMO_SOURCE_URL", demo_source)
    return gapwatch_home


# ---------------------------------------------------------------- store backends (SQLite, PostgreSQL)

PG_DB_PREFIX = os.environ.get("GAPWATCH_TEST_PG_PREFIX", "gw6")


def create_pg_database() -> str:
    """A new, empty PostgreSQL database on the local server; returns its SQLAlchemy URL."""
    import uuid

    import sqlalchemy as sa

    name = f"{PG_DB_PREFIX}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:  # pragma: no cover - says what is missing, never skips
        raise RuntimeError(
            f"PostgreSQL at {PG_ADMIN_URL} is needed by the store tests (run .ci/run, which starts it)"
        ) from exc
    finally:
        admin.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def drop_pg_database(url: str) -> None:
    import sqlalchemy as sa

    from gapwatch import store

    store.dispose(url)
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(
    request: pytest.FixtureRequest, gapwatch_home: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """The gapwatch store on each backend: SQLite under the test's home, or a fresh PostgreSQL db."""
    if request.param == "sqlite":
        url = f"sqlite:///{gapwatch_home / 'gapwatch.db'}"
        monkeypatch.setenv("GAPWATCH_DB_URL", url)
        yield url
        return
    url = create_pg_database()
    monkeypatch.setenv("GAPWATCH_DB_URL", url)
    try:
        yield url
    finally:
        drop_pg_database(url)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test (dropped afterwards)."""
    url = create_pg_database()
    try:
        yield url
    finally:
        drop_pg_database(url)


# Real servers on loopback (SMTP, Slack/PagerDuty/Jira/webhook HTTP) for the notification tests.
from loopback import blackhole, fake_services, smtp_sink  # noqa: E402,F401
