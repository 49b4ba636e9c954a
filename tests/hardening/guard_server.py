"""A real Airflow api-server with the gapwatch plugin, over Data Docs built from hostile data.

Issue 13 items 6 and 7: the attack found stored XSS through values and column names GX renders,
and unauthenticated or leaky routes. The server here serves one monitor (``hostile_feed``) whose
source holds ``<script>`` in a value and an ``<img onerror>`` column name; one real window run
(GX builds its Data Docs page) happens before the server starts. Imported by the test modules
(not a conftest: tests/hardening is shared with other engineers' files).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

BIN = Path(sys.executable).parent
SCRIPT_VALUE = '<script>alert("region")</script>'
IMG_COLUMN = "<img src=x onerror=alert('col')>"
APP = "/gapwatch/health"

_SPEC = {
    "name": "hostile_feed",
    "version": "1",
    "task": "binary_classification",
    "owners": {
        "business_owner": {"name": "B", "email": "b@example.org"},
        "technical_owner": {"name": "T", "email": "t@example.org"},
        "data_steward": {"name": "S", "email": "s@example.org"},
    },
    "schedule": "0 0 * * 1",
    "start_date": "2026-03-02",
    "source": {"url_env": "HOSTILE_FEED_URL"},
    "predictions": {
        "table": "preds", "id": "pid", "timestamp": "ts", "prediction": "label_pred", "score": "score",
        "features": [{"name": "x"}, {"name": "region", "kind": "categorical"}],
    },
    "ground_truth": {"table": "truth", "id": "pid", "label": "y", "arrived_at": "arrived", "delay": "7d"},
    "readiness": {"suite": "hostile", "volume": {"enabled": False}},
    "metrics": [{"name": "roc_auc", "min_labels": 10}],
    "baseline": {"start": "2026-03-02", "end": "2026-03-16"},
    "runbook_url": "https://runbooks.example.org/hostile",
    "fallback": "manual review",
}

_SUITE = {
    "name": "hostile",
    "expectations": [
        {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "region", "value_set": ["north", "south"]}},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": IMG_COLUMN}},
    ],
}

# Runs one window through the real stages (GX renders the page), in its own process so the
# server's GAPWATCH_HOME is the one the settings are read from.
_RUN = textwrap.dedent(
    f"""
    import numpy as np, pandas as pd, sqlalchemy as sa
    from datetime import UTC, datetime, timedelta
    from gapwatch.pipeline import run_window
    from gapwatch.spec import load_specs
    from gapwatch.window import Window
    start = datetime(2026, 3, 2, tzinfo=UTC)
    n = 21 * 50
    rng = np.random.default_rng(3)
    ts = pd.Timestamp("2026-03-02") + pd.to_timedelta(np.sort(rng.uniform(0, 21 * 86400, n)), unit="s")
    x = rng.normal(size=n)
    score = 1 / (1 + np.exp(-x))
    region = np.where(np.arange(n) % 7 == 0, {SCRIPT_VALUE!r}, "north")
    column = np.where(np.arange(n) % 5 == 0, None, "ok")
    preds = pd.DataFrame({{"pid": [f"p{{i}}" for i in range(n)], "ts": ts, "x": x, "region": region,
                          {IMG_COLUMN!r}: column, "score": score, "label_pred": (score >= 0.5).astype(int)}})
    truth = pd.DataFrame({{"pid": preds["pid"], "y": (score > 0.5).astype(int), "arrived": ts + pd.Timedelta(days=1)}})
    engine = sa.create_engine(__import__("os").environ["HOSTILE_FEED_URL"])
    with engine.begin() as conn:
        preds.to_sql("preds", conn, index=False)
        truth.to_sql("truth", conn, index=False)
    spec = load_specs().by_name("hostile_feed")
    print(run_window(spec, Window(start + timedelta(days=14), start + timedelta(days=21)))["status"])
    """
)


@dataclass(frozen=True)
class GuardServer:
    url: str
    username: str
    password: str
    home: Path

    def token(self) -> str:
        response = httpx.post(f"{self.url}/auth/token", json={"username": self.username, "password": self.password})
        assert response.status_code == 201, response.text
        return str(response.json()["access_token"])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(url: str, process: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"api-server exited {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(f"{url}/api/v2/monitor/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"api-server not healthy after {timeout}s:\n{log.read_text()[-4000:]}")


@pytest.fixture(scope="session")
def guard_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GuardServer]:
    """The api-server (SimpleAuthManager, one admin) on a free port, hostile Data Docs built."""
    import yaml

    work = tmp_path_factory.mktemp("guard")
    password = secrets.token_urlsafe(12)
    (work / "passwords.json").write_text(json.dumps({"admin": password}))
    monitors, suites = work / "monitors", work / "expectations"
    monitors.mkdir()
    suites.mkdir()
    (monitors / "hostile_feed.yml").write_text(yaml.safe_dump(_SPEC))
    (suites / "hostile.json").write_text(json.dumps(_SUITE))
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(work / "airflow"),
        "GAPWATCH_HOME": str(work / "gapwatch"),
        "GAPWATCH_MONITORS_DIR": str(monitors),
        "GAPWATCH_EXPECTATIONS_DIR": str(suites),
        "HOSTILE_FEED_URL": f"sqlite:///{work / 'feed.db'}",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(work / "passwords.json"),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
        "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
    }
    env.pop("GAPWATCH_DB_URL", None)
    (work / "airflow").mkdir()
    subprocess.run([str(BIN / "airflow"), "db", "migrate"], env=env, check=True, capture_output=True)
    run = subprocess.run([sys.executable, "-c", _RUN], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = work / "api-server.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [str(BIN / "airflow"), "api-server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
            env=env | {"AIRFLOW__API__BASE_URL": url}, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_healthy(url, server, log)
        yield GuardServer(url, "admin", password, work)
    finally:
        os.killpg(server.pid, 15)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)


def validation_pages(server: GuardServer) -> list[str]:
    """The served paths (under data-docs/) of the hostile monitor's validation pages."""
    root = server.home / "gapwatch" / "data_docs"
    return sorted(str(p.relative_to(root)) for p in (root / "validations").rglob("*.html"))
