"""A real Airflow api-server with the gapwatch plugin, over a store filled by the demo's DAG runs."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class AirflowServer:
    url: str
    username: str
    password: str
    home: Path


def _free_port() -> int:
    # The api-server takes a port number, not a socket: ask the kernel for an ephemeral one.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, process: subprocess.Popen, log: Path, timeout: float = 120) -> None:
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
def airflow_server(
    tmp_path_factory: pytest.TempPathFactory, demo_source: str
) -> Iterator[AirflowServer]:
    """Airflow (SimpleAuthManager, a known admin login) serving Model Health on a free port.

    The store is filled the way ``make demo`` does it: every demo window of both monitors run
    through Airflow (``gapwatch demo run``), so the DAG runs the page links to exist too.
    """
    work = tmp_path_factory.mktemp("ui")
    password = secrets.token_urlsafe(12)
    passwords = work / "passwords.json"
    passwords.write_text(json.dumps({"admin": password}))
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(work / "airflow"),
        "GAPWATCH_HOME": str(work / "gapwatch"),
        "GAPWATCH_DEMO_SOURCE_URL": demo_source,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        # One secret for every api-server worker, so a token issued by one is valid on all.
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
        "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
    }
    env.pop("GAPWATCH_DB_URL", None)
    (work / "airflow").mkdir()
    subprocess.run([str(BIN / "airflow"), "db", "migrate"], env=env, check=True, capture_output=True)
    demo = subprocess.run([str(BIN / "gapwatch"), "demo", "run"], env=env, capture_output=True, text=True)
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = work / "api-server.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [str(BIN / "airflow"), "api-server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
            env=env | {"AIRFLOW__API__BASE_URL": url},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_healthy(url, server, log)
        yield AirflowServer(url, "admin", password, work)
    finally:
        os.killpg(server.pid, 15)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)


@pytest.fixture(scope="session")
def chromium_paths() -> tuple[str, str]:
    """Debian's chromium and chromedriver; the Makefile installs them (never a browser download)."""
    browser = shutil.which("chromium") or "/usr/bin/chromium"
    driver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    missing = [p for p in (browser, driver) if not Path(p).exists()]
    if missing:
        pytest.fail(
            f"{missing} not found: install Debian's chromium and chromium-driver "
            "(`make chromium`, or apt-get install -y chromium chromium-driver)"
        )
    # Selenium must use these and never fetch a driver or browser of its own.
    os.environ["SE_OFFLINE"] = "true"
    return browser, driver
