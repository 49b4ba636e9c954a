"""Issue 13, item 8: a Slack webhook token planted in a connection never reaches any output.

slack_sdk logs the webhook URL (which is the token) at INFO when it retries a refused connection
and at DEBUG for every request, through the provider hook's logger. The far side here is a real
loopback port that refuses connections, or the loopback fake answering 500; delivery runs through
``gapwatch operations run`` (a subprocess, console output captured) and in-process (every log
record captured at DEBUG, plus a console handler like the scheduler's).
"""

from __future__ import annotations

import io
import json
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from gapwatch import outbox, store
from gapwatch.incidents.messages import Message
from gapwatch.incidents.routing import Destination

pytestmark = pytest.mark.hardening
TOKEN = "PLANTED-hardening-slack-9d41c7"
GAPWATCH = Path(sys.executable).parent / "gapwatch"


@pytest.fixture
def refused_url() -> Iterator[str]:
    """A loopback port that is bound but never listens: every connection is refused."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/services"
    sock.close()


def _slack_connection(host: str) -> str:
    return json.dumps({"conn_type": "slackwebhook", "host": host, "password": f"T0HARD/B0HARD/{TOKEN}"})


def _queue_slack_message() -> None:
    destination = Destination("slack", "technical_owner", "#credit-ml", {"conn_id": "slack_planted"})
    with store.engine().begin() as conn:
        outbox.queue(conn, monitor="credit_default", event_key="planted", destination=destination,
                     message=Message("[gapwatch] OPEN critical: planted", "body", {"event": "incident_opened"}),
                     incident_id=None)


def _the_message() -> dict:
    with store.engine().connect() as conn:
        (message,) = store.rows(conn, sa.select(store.outbox).where(store.outbox.c.channel == "slack"))
    return message


@pytest.mark.parametrize(("far_side", "level"), [("refused", "INFO"), ("refused", "DEBUG"), ("erroring", "DEBUG")])
def test_operations_run_never_prints_the_slack_token(
    far_side: str, level: str, gapwatch_home: Path, refused_url: str, fake_services, monkeypatch
) -> None:
    host = refused_url
    if far_side == "erroring":
        fake_services.fail("/services/", 500)
        host = f"{fake_services.url}/services"
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_PLANTED", _slack_connection(host))
    _queue_slack_message()
    env = {**os.environ, "AIRFLOW__LOGGING__LOGGING_LEVEL": level}
    done = subprocess.run([str(GAPWATCH), "operations", "run"], env=env, capture_output=True, text=True,
                          timeout=180)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert TOKEN not in output
    # The attempt really happened and failed (so the silence above means something).
    message = _the_message()
    assert message["status"] == "pending" and message["attempts"] == 1
    assert TOKEN not in (message["last_error"] or "")
    if far_side == "refused":
        assert "Going to retry the same request" in output  # slack_sdk's line, scrubbed
        assert "/services/***" in output
    else:
        assert len(fake_services.received("/services/", outcome="failed")) == 1


def test_in_process_delivery_logs_never_carry_the_slack_token(
    gapwatch_home: Path, refused_url: str, monkeypatch, caplog, capsys
) -> None:
    from airflow.logging_config import configure_logging

    from gapwatch.airflow.channels import default_senders

    monkeypatch.setenv("AIRFLOW_CONN_SLACK_PLANTED", _slack_connection(refused_url))
    _queue_slack_message()
    # The console logging of `airflow scheduler` or `dag.test`, at DEBUG (structlog for Airflow's
    # loggers, a stdlib handler for the rest), plus a plain handler and pytest's log capture.
    monkeypatch.setenv("AIRFLOW__LOGGING__LOGGING_LEVEL", "DEBUG")
    configure_logging()
    console = io.StringIO()
    handler = logging.StreamHandler(console)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.addHandler(caplog.handler)
    try:
        counts = outbox.deliver_pending(store.engine(), default_senders())
    finally:
        root.removeHandler(handler)
        monkeypatch.setenv("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
        configure_logging()  # back to the session's settings
    assert counts["retrying"] == 1
    captured = capsys.readouterr()
    everything = caplog.text + console.getvalue() + captured.out + captured.err
    assert "Sending a request - url:" in everything  # slack_sdk's DEBUG line was written ...
    assert "Going to retry the same request" in everything  # ... and its INFO retry line
    assert "gapwatch outbox: message #1 (slack -> technical_owner) failed" in everything
    assert TOKEN not in everything
    assert all(TOKEN not in r.getMessage() for r in caplog.records)
