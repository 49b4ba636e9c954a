"""The demo's DAG runs keep their task logs: ``dag.test()`` writes none, gapwatch writes each task's
log file where Airflow's UI reads it, at INFO, while the console keeps the configured level."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gapwatch.demo.seed import window_bounds
from gapwatch.spec import load_specs

pytestmark = pytest.mark.integration

TASKS = ["extract_window", "check_readiness", "evaluate_performance", "evaluate_drift", "decide", "publish"]


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_demo_style_run_writes_each_tasks_log_file(airflow_db: Path, demo_env: Path, capfd) -> None:
    from airflow.configuration import conf

    from gapwatch.airflow.backfill import run_dag_for_window
    from gapwatch.airflow.dags import build_dag

    dag = build_dag(load_specs().by_name("credit_default"))
    end = window_bounds(2)[1]
    run = run_dag_for_window(dag, end)
    assert str(run.state).lower().endswith("success")
    console = capfd.readouterr()

    folder = Path(conf.get("logging", "base_log_folder")) / "dag_id=gapwatch__credit_default" / f"run_id={run.run_id}"
    files = {task: folder / f"task_id={task}" / "attempt=1.log" for task in TASKS}
    assert all(f.is_file() for f in files.values()), sorted(str(p) for p in folder.rglob("*"))
    publish = _lines(files["publish"])
    # Airflow's JSON lines (what a supervised task writes), with what the task returned
    assert all({"timestamp", "level", "event"} <= line.keys() for line in publish)
    done = [line["event"] for line in publish if line["event"].startswith("Done. Returned value was")]
    assert len(done) == 1 and "'status': <RunStatus.HEALTHY: 'healthy'>" in done[0]
    assert {line["level"] for line in publish} == {"info"}  # INFO kept in the file...
    assert "Returned value was" not in console.out + console.err  # ...off the console (WARNING here)
    # each file holds its own task's lines only: one "Done." line each, that task's return value
    for task, path in files.items():
        returned = [line["logger"] for line in _lines(path) if line["event"].startswith("Done. Returned value")]
        assert len(returned) == 1, (task, returned)

    # A rerun of the window (same run id, new task instances) replaces each file, not appends.
    run_dag_for_window(dag, end)
    done = [line for line in _lines(files["publish"]) if line["event"].startswith("Done. Returned value was")]
    assert len(done) == 1


def test_task_log_files_never_hold_a_secret_a_channel_touched(airflow_db: Path, tmp_path: Path, capfd) -> None:
    """The log files are one more output: a remembered secret is scrubbed there as on the console."""
    import logging
    from types import SimpleNamespace

    import structlog
    from airflow.configuration import conf

    from gapwatch import redaction
    from gapwatch.airflow import task_logs

    token = "xoxb-task-log-secret-1234"
    ti = SimpleNamespace(dag_id="gapwatch__secrets", run_id="manual__secret", task_id="publish",
                         map_index=-1, try_number=1)
    with task_logs.written():
        task_logs.TaskLogListener().on_task_instance_running(previous_state=None, task_instance=ti)
        redaction.remember(token)  # as a channel does when it reads a connection: after the tee is in place
        redaction.install_log_filter()
        structlog.get_logger(logger_name="task").info("posting", url=f"https://hooks.example/{token}")
        logging.getLogger("gapwatch.outbox").info("sent with %s", token)
        try:
            raise RuntimeError(f"refused {token}")
        except RuntimeError:
            structlog.get_logger(logger_name="task").exception("send failed")
        task_logs.TaskLogListener().on_task_instance_success(previous_state=None, task_instance=ti)
    path = (Path(conf.get("logging", "base_log_folder")) / "dag_id=gapwatch__secrets" / "run_id=manual__secret"
            / "task_id=publish" / "attempt=1.log")
    lines = _lines(path)
    assert [line["event"] for line in lines] == ["posting", "sent with ***", "send failed"]
    assert lines[0]["url"] == "https://hooks.example/***" and "refused ***" in lines[2]["exception"]
    assert token not in path.read_text()
    console = capfd.readouterr()
    assert token not in console.out + console.err
