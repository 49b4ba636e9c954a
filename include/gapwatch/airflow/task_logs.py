"""Task logs for the DAG runs ``dag.test()`` makes (``gapwatch demo run``, ``gapwatch backfill``).

A scheduled task runs under Airflow's supervisor, which writes the task's log lines (JSON, one a
line) to ``$AIRFLOW_HOME/logs/<[logging] log_filename_template>``, the file the UI's log view
reads. Airflow 3.3's ``dag.test()`` runs each task in this process instead
(``InProcessTestSupervisor``) and writes no file: the lines go to the console only, and the UI
shows an empty log for every demo run, the runs the messages link to.

:func:`written` writes the same file for those runs:

* a task listener (Airflow's listener API, ``on_task_instance_running`` and the end hooks)
  says which task instance is running, and opens its log file;
* a structlog processor (in place, before the console renderer, like :mod:`gapwatch.redaction`'s)
  and a ``logging`` handler copy each line logged meanwhile into that file as Airflow's JSON
  lines, secrets scrubbed;
* the file gets INFO and above, as a supervised task's does, while the console keeps the
  configured level (``make demo`` sets WARNING): the levels are lowered for the run, and the
  processor drops from the console what the configured level would have dropped.

A rerun of a window (same run id, new task instances) replaces the file. Deferred tasks (none in
gapwatch) would keep only the segment after the deferral.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import threading
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO, Any

from airflow.listeners import hookimpl

from gapwatch import redaction

FILE_LEVEL = logging.INFO  # what a supervised task's log keeps by default
# The execution API answers in this process too; its lines are the server's, not the task's.
_SERVER_SIDE = "airflow.api_fastapi"


class _State:
    """The open log file of the running task, and the console's level while a run is logged."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.file: IO[str] | None = None
        self.console_level = 0  # 0: nothing dropped (outside :func:`written`)
        self.active = False


_state = _State()


def _write(line: dict[str, Any]) -> None:
    with _state.lock:
        if _state.file is not None:
            _state.file.write(json.dumps(line, default=str) + "\n")
            _state.file.flush()


def _level_number(name: str) -> int:
    number = logging.getLevelName({"exception": "ERROR", "warn": "WARNING", "msg": "INFO"}.get(name, name.upper()))
    return number if isinstance(number, int) else logging.INFO


def tee_processor(_logger: Any, method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """A structlog processor: the event into the running task's file; off the console below its level."""
    import structlog

    if _state.file is not None and not str(event_dict.get("logger", "")).startswith(_SERVER_SIDE):
        line = {k: v for k, v in redaction.structlog_redactor(None, method, dict(event_dict)).items()
                if not k.startswith("_")}
        exc_info = line.pop("exc_info", None)
        if exc_info:
            exc = sys.exc_info() if exc_info is True else exc_info
            if isinstance(exc, BaseException):
                exc = (type(exc), exc, exc.__traceback__)
            if isinstance(exc, tuple) and exc[0] is not None:
                line["exception"] = redaction.redact("".join(traceback.format_exception(*exc)))
        line.setdefault("timestamp", datetime.now(UTC).isoformat())
        line["level"] = str(line.get("level") or method).lower()
        line["event"] = str(line.get("event", ""))
        _write(line)
    if _level_number(str(event_dict.get("level") or method)) < _state.console_level:
        raise structlog.DropEvent
    return event_dict


class _FileHandler(logging.Handler):
    """``logging`` records (gapwatch's own loggers, GX, pandas) into the running task's file."""

    def emit(self, record: logging.LogRecord) -> None:
        if _state.file is None:
            return
        line: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(), "event": record.getMessage(), "logger": record.name,
        }
        if record.exc_info and record.exc_info[0] is not None:
            line["exception"] = "".join(traceback.format_exception(*record.exc_info))
        _write({k: redaction.redact(v) if isinstance(v, str) else v for k, v in line.items()})


_handler = _FileHandler(level=FILE_LEVEL)
_handler.addFilter(redaction.RedactingFilter())


def _open(task_instance: Any) -> None:
    from airflow.sdk.log import init_log_file
    from airflow.utils.helpers import log_filename_template_renderer

    path = init_log_file(log_filename_template_renderer()(ti=task_instance))
    with _state.lock:
        if _state.file is not None:
            _state.file.close()
        _state.file = path.open("w", encoding="utf-8")


def _close() -> None:
    with _state.lock:
        if _state.file is not None:
            _state.file.close()
            _state.file = None


class TaskLogListener:
    """Opens the task's log file when it starts running, closes it when it ends (in-process runs)."""

    @hookimpl
    def on_task_instance_running(self, previous_state: Any, task_instance: Any) -> None:
        if _state.active:
            _open(task_instance)

    @hookimpl
    def on_task_instance_success(self, previous_state: Any, task_instance: Any) -> None:
        _close()

    @hookimpl
    def on_task_instance_failed(self, previous_state: Any, task_instance: Any, error: Any) -> None:
        _close()

    @hookimpl
    def on_task_instance_skipped(self, previous_state: Any, task_instance: Any) -> None:
        _close()


_listener = TaskLogListener()


def _structlog_levels() -> Any:
    """Airflow's per-logger level table its structlog loggers read when they are bound (a trie
    keyed by logger name, ``""`` the default); None when structlog is not configured by Airflow."""
    import structlog

    maker = structlog.get_config().get("wrapper_class")
    module = sys.modules.get(getattr(maker, "__module__", "") or "")
    return getattr(module, "PER_LOGGER_LEVELS", None)


def _install_processor() -> None:
    import structlog

    processors = structlog.get_config()["processors"]
    if tee_processor not in processors and isinstance(processors, list):
        # In place and before the renderer: loggers already bound share this list.
        processors.insert(max(len(processors) - 1, 0), tee_processor)


@contextlib.contextmanager
def written() -> Iterator[None]:
    """While inside, each task ``dag.test()`` runs in this process writes its Airflow log file."""
    from airflow.sdk.listener import get_listener_manager

    get_listener_manager().add_listener(_listener)  # once per process; a no-op after
    _install_processor()
    levels = _structlog_levels()
    root = logging.getLogger()
    saved_default: int | None = levels[""] if levels is not None else None
    saved_root = root.level
    # The console keeps the configured level: what the lowered levels let through, it drops.
    console = saved_default if saved_default is not None and saved_default > FILE_LEVEL else 0
    _state.console_level, _state.active = console, True
    if console:
        levels[""] = FILE_LEVEL
    if root.getEffectiveLevel() > FILE_LEVEL:
        root.setLevel(FILE_LEVEL)
    root.addHandler(_handler)
    try:
        yield
    finally:
        root.removeHandler(_handler)
        root.setLevel(saved_root)
        if levels is not None and saved_default is not None:
            levels[""] = saved_default
        _close()
        _state.active = False
        # Loggers bound during the run stay at INFO: keep dropping from the console what the
        # configured level drops.
        _state.console_level = console
