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


# ---------------------------------------------------------------- markers by folder

# The folder says what a test needs: tests/unit runs with no database server and no Airflow run
# (`pytest -m unit`, under a minute); the others carry their own markers.
UNIT_DIR = ROOT / "tests" / "unit"
# Fixtures that need the PostgreSQL server or run Airflow; a unit test asking for one is misfiled.
_NOT_FOR_UNIT_TESTS = {"pg_url", "store_url", "airflow_db"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test under tests/unit ``unit``; refuse a unit test that needs a server or a DAG run."""
    misfiled = []
    for item in items:
        if not item.path.resolve().is_relative_to(UNIT_DIR):
            continue
        item.add_marker(pytest.mark.unit)
        needs = _NOT_FOR_UNIT_TESTS & set(getattr(item, "fixturenames", ()))
        if needs:
            misfiled.append(f"{item.nodeid} uses {sorted(needs)}")
    if misfiled:
        raise pytest.UsageError(
            "unit tests need no database server and run no DAG; move these to tests/integration "
            "or tests/store:\n  " + "\n  ".join(misfiled)
        )


# ---------------------------------------------------------------- PostgreSQL (one fixture for all)

PG_ADMIN_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
PG_DB_PREFIX = os.environ.get("GAPWATCH_TEST_PG_PREFIX", "gwtest")


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
            f"PostgreSQL at {PG_ADMIN_URL} is needed by this test (run .ci/run, which starts it)"
        ) from exc
    finally:
        admin.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def drop_pg_database(url: str) -> None:
    """Drop a database made by :func:`create_pg_database`, closing what still holds it."""
    import sqlalchemy as sa

    from gapwatch import store

    store.dispose(url)
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test (dropped afterwards).

    The one PostgreSQL fixture: every test that needs the server asks for this (or for
    ``store_url``, which uses it), so names, clean-up and the error when the server is down agree.
    """
    url = create_pg_database()
    try:
        yield url
    finally:
        drop_pg_database(url)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(
    request: pytest.FixtureRequest, gapwatch_home: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    """The gapwatch store on each backend: SQLite under the test's home, or a fresh PostgreSQL db."""
    if request.param == "sqlite":
        url = f"sqlite:///{gapwatch_home / 'gapwatch.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    monkeypatch.setenv("GAPWATCH_DB_URL", url)
    return url


# Real servers on loopback (SMTP, Slack/PagerDuty/Jira/webhook HTTP) for the notification tests.
from loopback import blackhole, fake_services, smtp_sink  # noqa: E402,F401
