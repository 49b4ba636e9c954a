"""Secrets a channel has touched, remembered so that no error text or log line repeats them.

Kept apart from the channel senders (in ``gapwatch.airflow``) because the outbox, which records a
failed attempt's error, must scrub it without importing Airflow.

Third-party clients log what they send: slack_sdk's retry handler prints the webhook URL (which
*is* the token) at INFO through the provider hook's logger, and its DEBUG line adds the body and
headers. Silencing known chatty loggers is not enough (the hook logs under Airflow's own logger
names), so :func:`install_log_filter` puts a :class:`RedactingFilter` on every handler the
process has, and Airflow's structlog loggers (which write to the console without going through
``logging`` handlers: hooks' ``self.log`` in the CLI, ``dag.test`` and the scheduler console,
where Airflow's own masker is not in the chain) get :func:`structlog_redactor` as a processor.
Whatever logger a line comes from, it is scrubbed before anything writes it.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

_secrets: set[str] = set()
_secrets_lock = threading.Lock()


def remember(*values: Any) -> list[str]:
    """Register secret values; returns the ones kept (shorter than 4 characters are ignored)."""
    found = [str(v) for v in values if v and len(str(v)) >= 4]
    if found:
        with _secrets_lock:
            _secrets.update(found)
    return found


def redact(text: str) -> str:
    """``text`` with every remembered secret replaced by ``***``."""
    with _secrets_lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


class RedactingFilter(logging.Filter):
    """A handler filter that scrubs remembered secrets from a record before it is written.

    The record is changed in place (message rendered and scrubbed, arguments dropped, a traceback
    that holds a secret folded into the message, scrubbed), so every later handler sees the
    scrubbed record too. It never drops a record.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        with _secrets_lock:
            if not _secrets:
                return True
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is logging's problem to report, not ours
            return True
        clean = redact(message)
        if record.exc_info:
            trace = logging.Formatter().formatException(record.exc_info)
            if redact(trace) != trace:
                # Formatters (structlog's too) render exc_info themselves, so a traceback that
                # holds a secret is folded, scrubbed, into the message instead.
                clean = f"{clean}\n{redact(trace)}"
                record.exc_info, record.exc_text = None, None
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


_filter = RedactingFilter()


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    if type(value) in (list, tuple):
        return type(value)(_scrub(v) for v in value)
    return value


def structlog_redactor(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """A structlog processor: every string in the event scrubbed, tracebacks included."""
    with _secrets_lock:
        if not _secrets:
            return event_dict
    exc_info = event_dict.get("exc_info")
    if exc_info:
        import traceback

        if exc_info is True:
            import sys

            exc_info = sys.exc_info()
        elif isinstance(exc_info, BaseException):
            exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
        if isinstance(exc_info, tuple) and exc_info[0] is not None:
            trace = "".join(traceback.format_exception(*exc_info))
            if redact(trace) != trace:  # rendered here, scrubbed, instead of by the renderer
                event_dict.pop("exc_info")
                event_dict["exception"] = trace
    return {k: _scrub(v) for k, v in event_dict.items()}


def _install_structlog_redactor() -> None:
    try:
        import structlog
    except ImportError:  # pragma: no cover - structlog comes with Airflow
        return
    processors = structlog.get_config()["processors"]
    if structlog_redactor in processors or not isinstance(processors, list):
        return
    # In place and before the renderer (the last processor): loggers already bound (a hook's
    # ``self.log``) share this list, so they are covered too.
    processors.insert(max(len(processors) - 1, 0), structlog_redactor)


def install_log_filter() -> None:
    """Scrub secrets from every log output known now: every ``logging`` handler (root, named
    loggers, last resort) gets :class:`RedactingFilter`, structlog gets :func:`structlog_redactor`.

    Called each time a channel reads a secret, so handlers added later (a test's log capture,
    a task's file handler, a reconfigured structlog) are covered from the next send on; installing
    twice is a no-op.
    """
    _install_structlog_redactor()
    handlers: list[logging.Handler] = list(logging.getLogger().handlers)
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger):
            handlers.extend(logger.handlers)
    if logging.lastResort is not None:
        handlers.append(logging.lastResort)
    for handler in handlers:
        if _filter not in handler.filters:
            handler.addFilter(_filter)
