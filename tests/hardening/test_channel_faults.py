"""Issue 13, item 10: channels under faults, against real servers on loopback.

- A hung SMTP server (accepts TCP, never answers) costs one attempt about GAPWATCH_CHANNEL_TIMEOUT,
  not the provider's 6 x 30 s, and does not hold the other messages of the run.
- HTTP 429 with ``Retry-After`` (Slack, PagerDuty, Jira, webhook): one request per attempt, and the
  next attempt is not before the far side said.
- A dead-lettered OPEN is never overtaken by its RESOLVED; retrying it by hand releases both, in
  order.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from loopback import wire_connections, wired_spec_dir

from gapwatch import outbox, store
from gapwatch.airflow import channels
from gapwatch.airflow.channels import default_senders
from gapwatch.cli import main as cli
from gapwatch.demo.seed import window_bounds
from gapwatch.incidents import lifecycle as incidents
from gapwatch.incidents.messages import Message
from gapwatch.incidents.routing import Destination
from gapwatch.policy import make_finding
from gapwatch.spec import load_specs
from gapwatch.window import Window

pytestmark = pytest.mark.hardening
ROOT = Path(__file__).resolve().parents[2]


def _in_thread(func, limit: float) -> tuple[object, float]:
    """Run ``func`` in a daemon thread; fail if it has not returned within ``limit`` seconds.

    A hung call must not hang the test suite: the thread is abandoned, the test fails.
    """
    result: dict[str, object] = {}

    def target() -> None:
        try:
            result["value"] = func()
        except Exception as exc:  # handed back to the test
            result["error"] = exc

    started = time.monotonic()
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(limit)
    elapsed = time.monotonic() - started
    assert not thread.is_alive(), f"still blocked after {limit:.0f}s"
    return result.get("value", result.get("error")), elapsed


def _queue(destination: Destination, key: str = "one", incident_id: int | None = None) -> None:
    message = Message("[gapwatch] OPEN critical: credit_default: roc_auc 0.700 below 0.772", "What broke: ...",
                      {"event": "incident_opened", "fingerprint": "credit_default|metric:roc_auc|*",
                       "severity": "critical", "title": "credit_default: roc_auc 0.700 below 0.772"})
    with store.engine().begin() as conn:
        outbox.queue(conn, monitor="credit_default", event_key=key, destination=destination, message=message,
                     incident_id=incident_id)


def _messages() -> list[dict]:
    with store.engine().connect() as conn:
        return store.rows(conn, sa.select(store.outbox).order_by(store.outbox.c.id))


# ---------------------------------------------------------------- a hung SMTP server


def _hung_smtp(monkeypatch: pytest.MonkeyPatch, blackhole: tuple[str, int]) -> None:
    host, port = blackhole
    # No timeout or retry_limit extra: the provider's defaults (30 s, 5 retries) would apply.
    conn = {"conn_type": "smtp", "host": host, "port": port, "login": "gapwatch", "password": "smtp-pw-1234",
            "extra": {"disable_tls": True, "disable_ssl": True, "from_email": "gapwatch@example.com"}}
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps(conn))
    monkeypatch.setenv("GAPWATCH_CHANNEL_TIMEOUT", "2")


def test_one_email_attempt_against_a_hung_smtp_server_takes_about_the_channel_timeout(
    blackhole, monkeypatch
) -> None:
    _hung_smtp(monkeypatch, blackhole)
    message = {"idempotency_key": "k" * 64, "recipient": "Ravi <ravi.menon@example.com>", "route": {},
               "subject": "s", "body": "b"}
    error, elapsed = _in_thread(lambda: channels.send_email(message), limit=20)
    assert isinstance(error, Exception), error
    assert 1.5 <= elapsed < 8, elapsed  # one try, about 2 s; never 6 x 30 s


def test_a_hung_smtp_server_does_not_hold_the_other_messages_of_the_run(
    gapwatch_home, blackhole, monkeypatch
) -> None:
    _hung_smtp(monkeypatch, blackhole)
    _queue(Destination("email", "technical_owner", "Ravi <ravi.menon@example.com>", {"to": "ravi.menon@example.com"}))
    _queue(Destination("file", "technical_owner", "Ravi <ravi.menon@example.com>"), key="two")
    counts, elapsed = _in_thread(lambda: outbox.deliver_pending(store.engine(), default_senders()), limit=25)
    assert counts["retrying"] == 1 and counts["sent"] == 1, counts
    assert elapsed < 10, elapsed
    email, file = _messages()
    assert email["status"] == "pending" and email["attempts"] == 1 and "smtp" in email["last_error"].lower()
    assert file["status"] == "sent"


# ---------------------------------------------------------------- HTTP 429 Retry-After

RATE_LIMITED = {
    "slack": ("/services/", {"conn_id": "slack_credit_ml"}),
    "pagerduty": ("/v2/enqueue", {"conn_id": "pagerduty_credit_ml"}),
    "jira": ("/rest/api/2/", {"conn_id": "jira_default", "project": "CRML", "issue_type": "Task"}),
    "webhook": ("/hooks/", {"conn_id": "gapwatch_webhook"}),
}


@pytest.mark.parametrize("channel", sorted(RATE_LIMITED))
def test_a_429_retry_after_sets_the_next_attempt(channel: str, gapwatch_home, fake_services, monkeypatch) -> None:
    wire_connections(monkeypatch, fake_services)
    prefix, route = RATE_LIMITED[channel]
    fake_services.rate_limit(prefix, "120")
    _queue(Destination(channel, "technical_owner", "Ravi", route))
    now = store.utcnow()
    counts, _ = _in_thread(lambda: outbox.deliver_pending(store.engine(), default_senders(), now=now), limit=60)
    assert counts["retrying"] == 1, counts
    (message,) = _messages()
    assert message["status"] == "pending" and message["attempts"] == 1
    assert message["next_attempt_at"] >= now + timedelta(seconds=120)  # not the 30 s backoff
    assert "429" in message["last_error"]
    # One request per attempt: no client slept through the Retry-After or retried inside the call.
    assert len(fake_services.received(prefix, outcome=None)) == 1
    # Nothing goes out before then; afterwards it is delivered.
    fake_services.heal()
    assert outbox.deliver_pending(store.engine(), default_senders(), now=now + timedelta(seconds=119))["sent"] == 0
    assert outbox.deliver_pending(store.engine(), default_senders(), now=now + timedelta(seconds=121))["sent"] == 1


def test_retry_after_is_read_as_seconds_or_an_http_date() -> None:
    assert channels.retry_after_seconds("120") == 120
    in_five_minutes = datetime.now(UTC) + timedelta(minutes=5)
    assert 290 <= channels.retry_after_seconds(format_datetime(in_five_minutes, usegmt=True)) <= 300
    assert channels.retry_after_seconds("soon") == 60  # unreadable: still slow down
    assert channels.retry_after_seconds(None) == 60


def test_a_huge_retry_after_is_capped_at_a_day(gapwatch_home, fake_services, monkeypatch) -> None:
    wire_connections(monkeypatch, fake_services)
    fake_services.rate_limit("/hooks/", "99999999999")
    _queue(Destination("webhook", "technical_owner", "Ravi", {"conn_id": "gapwatch_webhook"}))
    now = store.utcnow()
    outbox.deliver_pending(store.engine(), default_senders(), now=now)
    (message,) = _messages()
    assert message["next_attempt_at"] == now + outbox.MAX_RETRY_AFTER


# ---------------------------------------------------------------- order behind a dead message


def _run(spec, k: int, status: str, value: float = 0.70) -> None:
    evidence = {"metric": "roc_auc", "value": value, "stderr": 0.012, "threshold": 0.772, "baseline": 0.822,
                "labeled": 2900, "pending": 60, "worst_segments": [], "drifted_features": []}
    finding = make_finding(spec, kind="performance", check="metric:roc_auc", status=status, evidence=evidence)
    with store.engine().begin() as conn:
        incidents.apply_findings(conn, spec, Window(*window_bounds(k)), [finding], run_link=f"http://airflow/w{k}")


def _pages(fake_services) -> list[str]:
    return [r.json["event_action"] for r in fake_services.received("/v2/enqueue")]


def test_a_dead_open_is_never_overtaken_by_its_resolved(
    gapwatch_home, fake_services, monkeypatch, tmp_path
) -> None:
    wire_connections(monkeypatch, fake_services)
    monkeypatch.setenv("GAPWATCH_MONITORS_DIR", str(wired_spec_dir(tmp_path, ROOT, channels=["file"])))
    spec = load_specs().by_name("credit_default")
    fake_services.fail("/v2/enqueue", 503)  # PagerDuty is down for the whole OPEN
    _run(spec, 1, "breach")
    now = store.utcnow()
    for attempt in range(outbox.MAX_ATTEMPTS):
        now += outbox.BASE_BACKOFF * 2 ** attempt
        outbox.deliver_pending(store.engine(), default_senders(), now=now)
    (opened,) = [m for m in _messages() if m["channel"] == "pagerduty"]
    assert opened["status"] == "dead"
    # PagerDuty is back; the incident resolves after two healthy runs.
    fake_services.heal()
    _run(spec, 2, "ok", 0.81)
    _run(spec, 3, "ok", 0.82)
    counts = outbox.deliver_pending(store.engine(), default_senders(), now=now)
    assert _pages(fake_services) == []  # the on-call never gets a RESOLVED for a page they never got
    resolved = [m for m in _messages() if m["channel"] == "pagerduty"][1]
    assert resolved["payload"]["event"] == "incident_resolved" and resolved["status"] == "pending"
    assert counts.get("held") == 1
    # The platform alert says the stream is held and how to release it.
    (alert,) = [m for m in _messages() if m["recipient_role"] == "platform"]
    assert f"gapwatch messages retry {opened['id']}" in alert["body"]
    assert "later messages of the same incident or ticket to this destination are held" in alert["body"]
    # Retrying the dead OPEN by hand releases the stream: OPEN, then RESOLVED.
    assert cli.main(["messages", "retry", str(opened["id"])]) == 0
    outbox.deliver_pending(store.engine(), default_senders())
    assert _pages(fake_services) == ["trigger", "resolve"]
    assert {m["status"] for m in _messages() if m["channel"] == "pagerduty"} == {"sent"}


def test_a_dead_digest_does_not_hold_later_messages_without_an_incident(gapwatch_home) -> None:
    # Digests and platform alerts belong to no incident: no order to keep, nothing to hold.
    destination = Destination("file", "business_owner", "Dana <dana@example.com>")
    _queue(destination, key="week-1")
    with store.engine().begin() as conn:
        conn.execute(store.outbox.update().values(status="dead", attempts=outbox.MAX_ATTEMPTS))
    _queue(destination, key="week-2")
    counts = outbox.deliver_pending(store.engine(), default_senders())
    assert counts["sent"] == 1 and counts.get("held", 0) == 0
