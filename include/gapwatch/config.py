"""Every ``GAPWATCH_*`` setting, typed and read in one place: ``config.settings().<name>``.

Everything has an embedded default under ``GAPWATCH_HOME`` (``<repo>/.gapwatch``), so a fresh clone
works with no configuration; production sets ``GAPWATCH_DB_URL`` to PostgreSQL. The environment is
read when ``settings()`` is called, never at import time (a DAG file importing the package must
not freeze the configuration of the process that imported it).

Not here: the variables a spec names in ``source.url_env`` (any name, e.g.
``GAPWATCH_DEMO_SOURCE_URL`` in the demo's specs) are looked up by ``gapwatch.sources`` when it
resolves that monitor's source.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "GAPWATCH_"
# Read as the fallback of GAPWATCH_AIRFLOW_URL: the Airflow deployment already says where it lives.
AIRFLOW_BASE_URL_ENV = "AIRFLOW__API__BASE_URL"
PLATFORM_ROUTE_FORMS = "use file, email:ADDRESS, slack:CONN_ID, pagerduty:CONN_ID or webhook:CONN_ID"


def project_root() -> Path:
    """The repository root (the package lives in include/gapwatch)."""
    return Path(__file__).resolve().parents[2]


class ConfigError(ValueError):
    """A ``GAPWATCH_*`` variable holds a value its setting cannot take."""


class Settings(BaseSettings):
    """The settings, one field per ``GAPWATCH_<FIELD>`` variable (the README's settings table).

    An unset or empty variable takes the default; the defaults inside ``home`` are filled in by a
    validator, so every field holds a concrete value.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_ignore_empty=True, extra="ignore", frozen=True
    )

    home: Path = Field(
        default_factory=lambda: project_root() / ".gapwatch",
        description="the embedded home: store, run files, outbox file, Data Docs (created on first use)",
    )
    db_url: str = Field(
        default=None, validate_default=True,
        description="SQLAlchemy URL of the gapwatch store (default: SQLite, home/gapwatch.db)",
    )
    monitors_dir: Path = Field(
        default_factory=lambda: project_root() / "include" / "monitors",
        description="folder of the monitor specs (YAML, one per model)",
    )
    expectations_dir: Path = Field(
        default_factory=lambda: project_root() / "include" / "expectations",
        description="folder of the GX readiness suites (JSON)",
    )
    data_docs_dir: Path = Field(
        default=None, validate_default=True,
        description="the GX Data Docs site (default: home/data_docs; GX's stores in home/gx)",
    )
    runs_dir: Path = Field(
        default=None, validate_default=True,
        description="window extracts as Parquet, one folder per monitor and window (default: home/runs)",
    )
    outbox_file: Path = Field(
        default=None, validate_default=True,
        description="the file sink, one JSON line per message (default: home/outbox/messages.jsonl)",
    )
    smtp_conn_id: str = Field(default="smtp_default", description="Airflow connection the email channel sends through")
    platform_route: str = Field(
        default="file", description="where alerts about gapwatch itself (dead letters) go: " + PLATFORM_ROUTE_FORMS[4:]
    )
    channel_timeout: float = Field(default=10.0, gt=0, description="seconds a channel may take per delivery attempt")
    db_connect_timeout: float = Field(default=10.0, gt=0, description="seconds to wait for a database connection")
    statement_timeout: float = Field(default=300.0, gt=0, description="seconds one database statement may run")
    task_timeout: float = Field(default=3600.0, gt=0, description="every DAG task's execution_timeout, in seconds")
    runs_retention: float = Field(default=14.0, ge=0, description="days run extracts are kept (0: forever)")
    data_docs_retention: float = Field(default=90.0, ge=0, description="days Data Docs pages are kept (0: forever)")
    outbox_retention: float = Field(default=90.0, ge=0, description="days delivered outbox rows are kept (0: forever)")
    retry_backoff_seconds: float = Field(
        default=30.0, ge=0, description="delay of a message's first retry, doubling per attempt"
    )
    digest_weekday: int = Field(
        default=0, ge=0, le=6, description="weekday the business owners' digests are due (0 = Monday)"
    )
    digest_hour: int = Field(default=8, ge=0, le=23, description="hour (UTC) the digests are due")
    airflow_url: str = Field(
        default="http://localhost:8080",
        validation_alias=AliasChoices(f"{ENV_PREFIX}AIRFLOW_URL", AIRFLOW_BASE_URL_ENV),
        description=f"the Airflow UI that links in messages point at (else {AIRFLOW_BASE_URL_ENV})",
    )
    demo_source_url: str = Field(
        default=None, validate_default=True,
        description="the demo's production database (default: SQLite, home/demo_production.db)",
    )

    @field_validator("db_url", "data_docs_dir", "runs_dir", "outbox_file", "demo_source_url", mode="before")
    @classmethod
    def _under_home(cls, value: Any, info: ValidationInfo) -> Any:
        """Fill the defaults that live in ``home`` (declared first, so already validated)."""
        if value not in (None, ""):
            return value
        home = info.data.get("home") or project_root() / ".gapwatch"
        return {
            "db_url": f"sqlite:///{home / 'gapwatch.db'}",
            "data_docs_dir": home / "data_docs",
            "runs_dir": home / "runs",
            "outbox_file": home / "outbox" / "messages.jsonl",
            "demo_source_url": f"sqlite:///{home / 'demo_production.db'}",
        }[str(info.field_name)]

    @field_validator("data_docs_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        # The Model Health plugin serves only files inside this folder: compare resolved paths.
        return value.resolve()

    @field_validator("airflow_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("platform_route")
    @classmethod
    def _route_form(cls, value: str) -> str:
        value = value.strip()
        channel, _, target = value.partition(":")
        if channel == "file" or (channel in {"email", "slack", "pagerduty", "webhook"} and target):
            return value
        raise ValueError(PLATFORM_ROUTE_FORMS)


def variable(field: str) -> str:
    """The environment variable of a settings field, e.g. ``channel_timeout`` -> ``GAPWATCH_CHANNEL_TIMEOUT``."""
    alias = Settings.model_fields[field].validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return f"{ENV_PREFIX}{field.upper()}"


def _environment_key() -> tuple[tuple[str, str], ...]:
    # Keys first, values only of the matches: decoding every value of os.environ costs 3x more.
    env = os.environ
    return tuple([(k, env[k]) for k in env if k.startswith((ENV_PREFIX, AIRFLOW_BASE_URL_ENV))])


_lock = threading.Lock()
_parsed: tuple[tuple[tuple[str, str], ...], Settings] | None = None


def settings() -> Settings:
    """The settings of the current environment, parsed once per distinct environment.

    Read once, yet never stale: the parsed settings are kept with the tuple of the ``GAPWATCH_*``
    (and ``AIRFLOW__API__BASE_URL``) values they came from, and parsed again only when that tuple
    changes. Building the tuple is a scan of ``os.environ`` (microseconds), far cheaper than
    validating; and a changed variable (a test's ``monkeypatch.setenv``, a CLI that sets the demo
    source) is seen on the next call instead of being frozen at first use.

    Raises:
        ConfigError: A variable holds a value its setting cannot take; the message names it.
    """
    global _parsed
    key = _environment_key()
    current = _parsed
    if current is not None and current[0] == key:
        return current[1]
    with _lock:
        try:
            parsed = Settings()
        except ValidationError as exc:
            raise ConfigError(_explain(exc)) from None
        parsed.home.mkdir(parents=True, exist_ok=True)  # the SQLite store and the file sink write here
        _parsed = (key, parsed)
    return parsed


def _explain(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        loc = str(error["loc"][0]) if error["loc"] else ""
        name = variable(loc) if loc in Settings.model_fields else loc
        value = os.environ.get(name, error.get("input"))
        message = str(error["msg"]).removeprefix("Value error, ")
        described = Settings.model_fields[loc].description if loc in Settings.model_fields else None
        problems.append(f"{name}={value!r}: {message}" + (f" ({described})" if described else ""))
    return "invalid gapwatch setting: " + "; ".join(problems)
