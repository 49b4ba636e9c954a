"""Each channel against a real server on loopback speaking its protocol (Slack incoming webhook,
PagerDuty Events v2, Jira REST v2, a signed JSON webhook, SMTP), through Airflow connections."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from loopback import SECRET, wire_connections

from gapwatch.airflow import channels

pytestmark = pytest.mark.integration


def _message(channel: str, route: dict, **extra) -> dict:
    return {
        "idempotency_key": hashlib.sha256(f"{channel}{route}".encode()).hexdigest(),
        "monitor": "credit_default",
        "channel": channel,
        "recipient_role": "technical_owner",
        "recipient": "Ravi Menon <ravi.menon@example.com>",
        "subject": "[gapwatch] OPEN critical: credit_default: roc_auc 0.700 ± 0.024 below 0.772",
        "body": "credit_default: roc_auc 0.700 ± 0.024 below 0.772\n\nWhat broke: ...",
        "payload": {
            "event": "incident_opened", "fingerprint": "credit_default|metric:roc_auc|*",
            "severity": "critical", "kind": "performance", "check": "metric:roc_auc",
            "title": "credit_default: roc_auc 0.700 ± 0.024 below 0.772",
            "links": {"airflow_run": "http://localhost:8080/dags/gapwatch__credit_default",
                      "runbook": "https://runbooks.example.com/credit-default"},
            "facts": {"metric": "roc_auc", "value": 0.7, "threshold": 0.772},
        },
        "incident_id": 3, "ticket_id": None, "queued_at": "2026-03-02T00:00:00+00:00", "route": route,
        **extra,
    }


def test_slack_webhook_gets_block_kit_message(fake_services, monkeypatch) -> None:
    wire_connections(monkeypatch, fake_services)
    channels.send_slack(_message("slack", {"conn_id": "slack_credit_ml"}))
    (request,) = fake_services.received("/services/")
    assert request.path == f"/services/T000/B000/{SECRET}"  # the token lives in the connection only
    body = request.json
    assert body["text"].startswith("[gapwatch] OPEN critical")
    assert body["blocks"][0]["type"] == "header"
    assert "What broke" in body["blocks"][1]["text"]["text"]
    assert {e["url"] for e in body["blocks"][2]["elements"]} >= {"https://runbooks.example.com/credit-default"}


def test_pagerduty_trigger_then_resolve_share_the_fingerprint_as_dedup_key(fake_services, monkeypatch) -> None:
    wire_connections(monkeypatch, fake_services)
    opened = _message("pagerduty", {"conn_id": "pagerduty_credit_ml"})
    resolved = _message("pagerduty", {"conn_id": "pagerduty_credit_ml"})
    resolved["payload"] = {**resolved["payload"], "event": "incident_resolved"}
    assert channels.send_pagerduty(opened) == "credit_default|metric:roc_auc|*"
    channels.send_pagerduty(resolved)
    events = [r.json for r in fake_services.received("/v2/enqueue")]
    assert [e["event_action"] for e in events] == ["trigger", "resolve"]
    assert {e["dedup_key"] for e in events} == {"credit_default|metric:roc_auc|*"}
    assert events[0]["routing_key"] == f"oncall-{SECRET}"
    assert events[0]["payload"]["severity"] == "critical"
    assert events[0]["payload"]["summary"].startswith("credit_default: roc_auc 0.700")
    assert events[0]["links"][1] == {"href": "https://runbooks.example.com/credit-default", "text": "runbook"}


def test_jira_files_one_issue_per_message_even_when_sent_twice(fake_services, monkeypatch) -> None:
    wire_connections(monkeypatch, fake_services)
    message = _message("jira", {"conn_id": "jira_default", "project": "CRML", "issue_type": "Task"})
    first = channels.send_jira(message)
    second = channels.send_jira(message)
    assert first == second == "CRML-1"
    assert len(fake_services.issues) == 1
    fields = fake_services.issues[0]["fields"]
    assert fields["project"] == {"key": "CRML"} and fields["issuetype"] == {"name": "Task"}
    assert fields["summary"].startswith("OPEN critical: credit_default")
    assert channels.jira_label(message["idempotency_key"]) in fields["labels"]
    assert [r.method for r in fake_services.received("/rest/api/2/")] == ["GET", "POST", "GET"]


def test_webhook_is_signed_with_hmac_sha256_of_timestamp_and_body(fake_services, monkeypatch) -> None:
    wire_connections(monkeypatch, fake_services)
    message = _message("webhook", {"conn_id": "gapwatch_webhook"})
    channels.send_webhook(message)
    (request,) = fake_services.received("/hooks/gapwatch")
    stamp = request.headers["X-Gapwatch-Timestamp"]
    expected = hmac.new(SECRET.encode(), stamp.encode() + b"." + request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Gapwatch-Signature"] == f"sha256={expected}"
    assert request.headers["Idempotency-Key"] == message["idempotency_key"]
    document = request.json
    assert document["payload"]["fingerprint"] == "credit_default|metric:roc_auc|*"
    assert document["subject"] == message["subject"]
    # A receiver with the wrong secret would reject it.
    forged = hmac.new(b"wrong", stamp.encode() + b"." + request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Gapwatch-Signature"] != f"sha256={forged}"


def test_email_arrives_through_smtp_with_a_stable_message_id(fake_services, smtp_sink, monkeypatch) -> None:
    wire_connections(monkeypatch, fake_services, smtp_sink)
    message = _message("email", {"to": "ravi.menon@example.com"})
    channels.send_email(message)
    (mail,) = smtp_sink.messages
    assert mail["To"] == "ravi.menon@example.com"
    assert mail["Message-ID"] == f"<{message['idempotency_key']}@gapwatch>"
    assert mail["Subject"].startswith("[gapwatch] OPEN critical")
    html = next(p for p in mail.walk() if p.get_content_type() == "text/html").get_payload(decode=True).decode()
    assert "What broke" in html
    assert smtp_sink.logins == [("gapwatch", SECRET)]


def test_a_failing_or_hung_far_side_raises_without_leaking_the_secret(fake_services, monkeypatch) -> None:
    wire_connections(monkeypatch, fake_services)
    monkeypatch.setenv("GAPWATCH_CHANNEL_TIMEOUT", "1")
    fake_services.fail("/services/", 500)
    with pytest.raises(Exception) as failed:
        channels.send_slack(_message("slack", {"conn_id": "slack_credit_ml"}))
    fake_services.hang("/v2/enqueue", 3)
    with pytest.raises(Exception) as hung:
        channels.send_pagerduty(_message("pagerduty", {"conn_id": "pagerduty_credit_ml"}))
    for exc in (failed.value, hung.value):
        assert SECRET not in channels.redact(f"{type(exc).__name__}: {exc}")
    assert json.dumps([r.outcome for r in fake_services.requests]) == '["failed", "hung"]'
