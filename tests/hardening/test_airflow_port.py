"""Issue 13, item 11: ``make airflow AIRFLOW_PORT=...`` serves the UI on that port and every task
process calls the execution API on that port too (Airflow's default is :8080 whatever the UI
port, so every task was SIGKILLed).

Two checks: the recipe as make would run it (``make -n``, quick), and the real thing: ``make
airflow`` on a free port, one run of the operations DAG through the REST API, every task
successful, and the monitor DAGs left paused (about two and a half minutes on two busy cores).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.hardening
ROOT = Path(__file__).resolve().parents[2]


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GAPWATCH_", "AIRFLOW_CONN_"))}
    return {**env, "GAPWATCH_HOME": str(tmp_path / "gapwatch"), "AIRFLOW_HOME": str(tmp_path / "airflow")}


def _seed_one_run(env: dict[str, str]) -> None:
    """A store with one run, so ``make airflow`` does not run the whole demo first."""
    code = """
import datetime as d
from gapwatch import store
t = d.datetime(2026, 1, 5, tzinfo=d.UTC)
with store.engine().begin() as conn:
    conn.execute(store.runs.insert().values(monitor="credit_default", window_start=t,
                                            window_end=t + d.timedelta(days=7), status="healthy", updated_at=t))
"""
    subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-c", code], env=env, check=True, timeout=120)


def test_the_airflow_recipe_points_the_execution_api_at_the_port(tmp_path: Path) -> None:
    env = _env(tmp_path)
    _seed_one_run(env)  # (the recipe's store check runs even in a dry run: it calls $(MAKE))
    done = subprocess.run(["make", "-n", "-o", ".venv/.installed", "airflow", "AIRFLOW_PORT=18090"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    recipe = done.stdout
    assert "AIRFLOW__API__PORT=18090" in recipe
    assert "AIRFLOW__CORE__EXECUTION_API_SERVER_URL=http://localhost:18090/execution/" in recipe
    assert ":8080" not in recipe


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(what: str, check: Any, seconds: float) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            value = check()
        except httpx.HTTPError:
            value = None
        if value:
            return value
        time.sleep(2)
    pytest.fail(f"{what}: not within {seconds:.0f}s")


@pytest.mark.integration
def test_make_airflow_on_another_port_runs_tasks_to_success(tmp_path: Path) -> None:
    env = _env(tmp_path)
    _seed_one_run(env)
    port = _free_port()
    base = f"http://localhost:{port}"
    log = (tmp_path / "airflow.log").open("w")
    proc = subprocess.Popen(["make", "-o", ".venv/.installed", "airflow", f"AIRFLOW_PORT={port}"], cwd=ROOT,
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait("api-server healthy", lambda: httpx.get(f"{base}/api/v2/monitor/health", timeout=5).is_success, 180)
        password = json.loads((tmp_path / "airflow" / "simple_auth_manager_passwords.json").read_text())["admin"]
        token = httpx.post(f"{base}/auth/token", json={"username": "admin", "password": password},
                           timeout=10).json()["access_token"]
        api = httpx.Client(base_url=f"{base}/api/v2", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        _wait("operations DAG parsed", lambda: api.get("/dags/gapwatch_operations").is_success, 120)
        assert api.patch("/dags/gapwatch_operations", json={"is_paused": False}).is_success
        run = api.post("/dags/gapwatch_operations/dagRuns",
                       json={"logical_date": datetime.now(UTC).isoformat()}).json()
        path = f"/dags/gapwatch_operations/dagRuns/{run['dag_run_id']}"
        state = _wait("the run finished",
                      lambda: (s := api.get(path).json()["state"]) in ("success", "failed") and s, 240)
        tasks = api.get(f"{path}/taskInstances").json()["task_instances"]
        summary = {t["task_id"]: t["state"] for t in tasks}
        assert state == "success", (summary, (tmp_path / "airflow.log").read_text()[-3000:])
        assert set(summary.values()) == {"success"} and len(summary) >= 3, summary
        # Monitor DAGs catch up missed windows, but `make airflow` creates them paused: the
        # scheduler never starts on every window since their start_date by itself.
        monitor = api.get("/dags/gapwatch__credit_default").json()
        assert monitor["is_paused"] is True
        assert api.get("/dags/gapwatch__credit_default/dagRuns").json()["total_entries"] == 0
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
