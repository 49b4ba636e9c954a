"""Settings: every GAPWATCH_* variable typed in one place, read once per environment, never stale."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from gapwatch import config
from gapwatch.airflow import channels

ROOT = Path(__file__).resolve().parents[2]
TEST_ONLY = {"GAPWATCH_TEST_PG_PREFIX", "GAPWATCH_SCREENSHOT_DIR"}


def test_defaults_live_in_home_and_a_changed_variable_is_seen(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("GAPWATCH_HOME", str(tmp_path / "home"))
    for name in ("DB_URL", "RUNS_DIR", "OUTBOX_FILE", "DATA_DOCS_DIR", "DEMO_SOURCE_URL", "AIRFLOW_URL"):
        monkeypatch.delenv(f"GAPWATCH_{name}", raising=False)
    monkeypatch.delenv("AIRFLOW__API__BASE_URL", raising=False)
    s = config.settings()
    home = tmp_path / "home"
    assert home.is_dir()  # created: the SQLite store and the file sink write into it
    assert s.db_url == f"sqlite:///{home / 'gapwatch.db'}"
    assert (s.runs_dir, s.outbox_file) == (home / "runs", home / "outbox" / "messages.jsonl")
    assert s.data_docs_dir == (home / "data_docs").resolve()
    assert (s.channel_timeout, s.retry_backoff_seconds, s.digest_weekday, s.digest_hour) == (10, 30, 0, 8)
    assert (s.platform_route, s.smtp_conn_id, s.airflow_url) == ("file", "smtp_default", "http://localhost:8080")
    assert config.settings() is s  # read once: the same environment is not parsed again

    monkeypatch.setenv("GAPWATCH_CHANNEL_TIMEOUT", "2.5")
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "http://airflow.internal:8080/")
    changed = config.settings()
    assert changed is not s and changed.channel_timeout == 2.5 and channels.timeout() == 2.5
    assert changed.airflow_url == "http://airflow.internal:8080"  # Airflow's own setting as fallback
    monkeypatch.setenv("GAPWATCH_AIRFLOW_URL", "https://gapwatch.example.com/")
    assert config.settings().airflow_url == "https://gapwatch.example.com"
    monkeypatch.setenv("GAPWATCH_CHANNEL_TIMEOUT", "")  # empty is unset, as before
    assert config.settings().channel_timeout == 10


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("GAPWATCH_CHANNEL_TIMEOUT", "abc", "valid number"),
        ("GAPWATCH_CHANNEL_TIMEOUT", "0", "greater than 0"),
        ("GAPWATCH_DIGEST_HOUR", "25", "less than or equal to 23"),
        ("GAPWATCH_RETRY_BACKOFF_SECONDS", "soon", "valid number"),
        ("GAPWATCH_PLATFORM_ROUTE", "carrier-pigeon", "use file, email:ADDRESS"),
        ("GAPWATCH_PLATFORM_ROUTE", "slack:", "use file, email:ADDRESS"),
    ],
)
def test_a_bad_value_is_one_error_naming_the_variable(monkeypatch, variable, value, problem) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(config.ConfigError) as error:
        config.settings()
    text = str(error.value)
    assert f"{variable}={value!r}" in text and problem in text
    assert text.count("GAPWATCH_") == 1  # only the bad variable, not the whole environment
    monkeypatch.delenv(variable)
    assert config.settings()  # fixed environment, fixed settings: no error is cached


def test_the_readme_lists_every_setting_in_one_table() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### Settings (environment)"):]
    section = section[: section.index("\n## ")]
    listed = re.findall(r"^\| `(GAPWATCH_[A-Z_]+)` \|", section, flags=re.MULTILINE)
    expected = {config.variable(name) for name in config.Settings.model_fields}
    assert set(listed) == expected | TEST_ONLY
    assert len(listed) == len(set(listed))
    for name, field in config.Settings.model_fields.items():
        assert field.description, f"{config.variable(name)} has no description"


def _environment_reads(path: Path) -> list[str]:
    """``os.environ``/``os.getenv`` uses in one module, as source text."""
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "os" \
                and node.attr in {"environ", "getenv"}:
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_the_environment_is_read_in_config_only() -> None:
    """Settings have one home; the exceptions are deliberate and named here."""
    allowed = {
        "include/gapwatch/config.py",  # the settings themselves
        "include/gapwatch/sources.py",  # source.url_env: a variable the spec names, any name
        "include/gapwatch/readiness/suite.py",  # GX_ANALYTICS_ENABLED for GX, set before GX loads
    }
    reads = [r for p in sorted((ROOT / "include" / "gapwatch").rglob("*.py")) for r in _environment_reads(p)]
    assert reads, "the scan found nothing at all: it is looking in the wrong place"
    assert [r for r in reads if r.split(":")[0] not in allowed] == []
