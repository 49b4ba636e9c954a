"""Incident lifecycle by people and by the clock, each asserting the audit trail (who, what,
when, why): ack, resolve, snooze, escalation, reopen; plus dead letters and weekly digests.
Channels are real (PagerDuty, Slack on a loopback server; the file sink)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from loopback import SECRET, wire_connections, wired_spec_dir

from gapwatch import operations, outbox, store
from gapwatch.airflow.channels import default_senders
from gapwatch.cli import main as cli
from gapwatch.demo.seed import window_bounds
from gapwatch.incidents import lifecycle as incidents
from gapwatch.policy import make_finding
from gapwatch.spec import load_specs
from gapwatch.window import Window

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
FP = "credit_default|metric:roc_auc|*"


@pytest.fixture
def spec(gapwatch_home, store_url, fake_services, monkeypatch, tmp_path):
    wire_connections(monkeypatch, fake_services)
    folder = wired_spec_dir(tmp_path, ROOT, channels=["file", "slack"])
    monkeypatch.setenv("GAPWATCH_MONITORS_DIR", str(folder))
    monkeypatch.setenv("GAPWATCH_PLATFORM_ROUTE", "slack:slack_platform")
    return load_specs().by_name("credit_default")


def _run(spec, k: int, status: str, value: float = 0.70) -> list[dict]:
    evidence = {"metric": "roc_auc", "value": value, "stderr": 0.012, "threshold": 0.772,
                "baseline": 0.822, "labeled": 2900, "pending": 60, "worst_segments": [],
                "drifted_features": [{"column": "utilization", "psi": 1.2}],
                "data_docs_url": "http://docs.example.com/credit/validation.html"}
    finding = make_finding(spec, kind="performance", check="metric:roc_auc", status=status, evidence=evidence)
    with store.engine().begin() as conn:
        return incidents.apply_findings(conn, spec, Window(*window_bounds(k)), [finding],
                                        run_link=f"http://airflow/dags/gapwatch__credit_default/runs/w{k}")


def _incident(incident_id: int = 1) -> dict:
    with store.engine().connect() as conn:
        return incidents._incident(conn, incident_id)


def _trail(incident_id: int = 1) -> list[tuple[str, str]]:
    with store.engine().connect() as conn:
        return [(e["actor"], e["action"]) for e in incidents.audit_trail(conn, incident_id)]


def _events(incident_id: int = 1) -> list[dict]:
    with store.engine().connect() as conn:
        return incidents.audit_trail(conn, incident_id)


def _pages(fake_services) -> list[tuple[str, str, str]]:
    return [(r.json["routing_key"].split("-")[0], r.json["event_action"], r.json["dedup_key"])
            for r in fake_services.received("/v2/enqueue")]


def test_ack_records_who_and_why_and_acknowledges_the_page(spec, fake_services, capsys) -> None:
    _run(spec, 1, "breach")
    outbox.deliver_pending(store.engine(), default_senders())
    assert cli.main(["incidents", "ack", "1", "--by", "ravi.menon", "--why", "looking at the new channel"]) == 0
    incident = _incident()
    assert incident["status"] == "acknowledged" and incident["acknowledged_by"] == "ravi.menon"
    assert incident["sla_due_at"] is None  # no escalation once someone owns it
    assert _trail() == [("gapwatch", "opened"), ("ravi.menon", "acknowledged")]
    assert "metric:roc_auc failed 1 window(s) in a row" in _events()[0]["detail"]["why"]
    ack = _events()[-1]
    assert ack["detail"]["why"] == "looking at the new channel"
    assert abs(ack["at"] - store.utcnow()) < timedelta(minutes=1)
    assert _pages(fake_services) == [("oncall", "trigger", FP), ("oncall", "acknowledge", FP)]
    slack = [r.json["text"] for r in fake_services.received("/services/T000/")]
    assert slack[-1].startswith("[gapwatch] ACKNOWLEDGED critical")
    # Acknowledging twice succeeds without a second event, and says who got there first.
    assert cli.main(["incidents", "ack", "1", "--by", "someone"]) == 0
    assert "already acknowledged by ravi.menon" in capsys.readouterr().out
    assert _trail() == [("gapwatch", "opened"), ("ravi.menon", "acknowledged")]
    assert cli.main(["incidents", "show", "1"]) == 0
    assert "ravi.menon" in capsys.readouterr().out


def test_resolve_by_hand_resolves_the_page_and_is_audited(spec, fake_services) -> None:
    _run(spec, 1, "breach")
    assert cli.main(["incidents", "resolve", "1", "--by", "ravi.menon", "--why", "rolled back"]) == 0
    incident = _incident()
    assert incident["status"] == "resolved" and incident["resolved_window"] == window_bounds(1)[0]
    assert _trail() == [("gapwatch", "opened"), ("ravi.menon", "resolved")]
    assert _events()[-1]["detail"]["why"] == "rolled back"
    assert _pages(fake_services) == [("oncall", "trigger", FP), ("oncall", "resolve", FP)]
    assert cli.main(["incidents", "resolve", "1", "--by", "ravi.menon"]) == 1  # already resolved


def test_escalation_walks_the_routes_while_unacknowledged_and_hears_the_end(spec, fake_services) -> None:
    _run(spec, 1, "breach")
    opened = _incident()["opened_at"]
    assert operations.escalate(now=opened + timedelta(minutes=20)) == []  # within the 30 min SLA
    first = operations.escalate(now=opened + timedelta(minutes=31))
    assert first == [{"action": "escalated", "incident": 1, "route": "ml-leads"}]
    assert operations.escalate(now=opened + timedelta(minutes=40)) == []  # one level per SLA period
    second = operations.escalate(now=opened + timedelta(minutes=62))
    assert second[0]["route"] == "head-of-ml"
    operations.escalate(now=opened + timedelta(minutes=93))
    assert _trail() == [("gapwatch", "opened"), ("gapwatch", "escalated"), ("gapwatch", "escalated"),
                        ("gapwatch", "escalation_exhausted")]
    escalated = _events()[1]
    assert escalated["detail"]["route"] == "ml-leads" and escalated["detail"]["level"] == 1
    assert "unacknowledged for 31 min, past its 30 min acknowledgement SLA" in escalated["detail"]["why"]
    assert escalated["at"] == opened + timedelta(minutes=31)
    with store.engine().connect() as conn:
        queued = store.rows(conn, sa.select(store.outbox).where(store.outbox.c.recipient_role == "escalation"))
    assert [(m["channel"], m["recipient"]) for m in queued] == [
        ("pagerduty", "ml-leads"), ("email", "head.of.ml@example.com")]
    # Resolving tells the escalation route it paged, too.
    assert cli.main(["incidents", "resolve", "1", "--by", "lead"]) == 0
    outbox.deliver_pending(store.engine(), senders={**_real(), "email": lambda m: None})
    assert [p for p in _pages(fake_services) if p[0] == "leads"] == [("leads", "trigger", FP), ("leads", "resolve", FP)]


def _real() -> dict:
    from gapwatch.airflow.channels import default_senders

    return default_senders()


def test_snooze_holds_escalation_until_it_ends_and_is_audited(spec, fake_services) -> None:
    _run(spec, 1, "breach")
    opened = _incident()["opened_at"]
    until = (opened + timedelta(hours=2)).replace(microsecond=0)
    assert cli.main(["incidents", "snooze", "1", "--by", "ravi.menon", "--until", until.isoformat(),
                     "--why", "vendor fix due at noon"]) == 0
    assert _trail() == [("gapwatch", "opened"), ("ravi.menon", "snoozed")]
    assert _events()[-1]["detail"] == {"until": until.isoformat(), "why": "vendor fix due at noon"}
    assert operations.escalate(now=opened + timedelta(hours=1)) == []  # past the SLA, but snoozed
    assert operations.escalate(now=until + timedelta(minutes=10)) == []  # the SLA restarts at its end
    assert operations.escalate(now=until + timedelta(minutes=31))[0]["route"] == "ml-leads"
    past = (store.utcnow() - timedelta(hours=1)).isoformat()
    assert cli.main(["incidents", "snooze", "1", "--by", "x", "--until", past]) == 2


def test_a_recurrence_within_the_cooldown_reopens_the_same_incident(spec, fake_services) -> None:
    _run(spec, 1, "breach")
    _run(spec, 2, "ok", 0.81)
    assert _run(spec, 3, "ok", 0.82)[0]["action"] == "resolved"  # two healthy runs
    changes = _run(spec, 4, "breach")  # 7 days after resolution, cool-down 14 days
    assert changes[0] == {"action": "reopened", "incident": 1}
    incident = _incident()
    assert incident["status"] == "open" and incident["reopened_count"] == 1
    assert incident["last_breach_window"] == window_bounds(4)[0]
    assert _trail() == [("gapwatch", "opened"), ("gapwatch", "auto_resolved"), ("gapwatch", "reopened")]
    assert "breached again 7 days after it was resolved (cool-down 14 days)" in _events()[-1]["detail"]["why"]
    with store.engine().connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(store.incidents)).scalar() == 1
    outbox.deliver_pending(store.engine(), default_senders())
    assert [p[1] for p in _pages(fake_services)] == ["trigger", "resolve", "trigger"]
    # Resolved again, then a recurrence long after the cool-down: a new incident.
    _run(spec, 5, "ok", 0.81)
    _run(spec, 6, "ok", 0.81)
    assert _run(spec, 10, "breach")[0]["action"] == "opened"
    assert _incident(2)["fingerprint"] == FP and _incident(1)["status"] == "resolved"


def test_dead_letter_raises_a_platform_alert_without_the_secret(spec, fake_services) -> None:
    fake_services.fail("/services/T000/", 500)
    _run(spec, 1, "breach")
    now = store.utcnow()
    for attempt in range(outbox.MAX_ATTEMPTS):
        now += outbox.BASE_BACKOFF * 2 ** attempt
        outbox.deliver_pending(store.engine(), default_senders(), now=now)
    with store.engine().connect() as conn:
        dead = store.rows(conn, sa.select(store.outbox).where(store.outbox.c.status == "dead"))
    assert [(m["channel"], m["attempts"]) for m in dead] == [("slack", outbox.MAX_ATTEMPTS)]
    assert "500" in dead[0]["last_error"] and SECRET not in dead[0]["last_error"]
    outbox.deliver_pending(store.engine(), default_senders(), now=now)
    (alert,) = fake_services.received("/services/TPLAT/")
    text = alert.json["blocks"][1]["text"]["text"]
    assert alert.json["text"].startswith("[gapwatch] PLATFORM: undeliverable slack message for credit_default")
    assert dead[0]["subject"] in text and f"gapwatch messages retry {dead[0]['id']}" in text
    assert SECRET not in alert.body.decode()
    # The other channels were not held up, and the page went out.
    assert _pages(fake_services) == [("oncall", "trigger", FP)]
    # Once Slack is back, the platform team requeues it and it arrives.
    fake_services.heal()
    assert cli.main(["messages", "retry", str(dead[0]["id"])]) == 0
    outbox.deliver_pending(store.engine(), default_senders())
    assert len(fake_services.received("/services/T000/")) == 1


def test_weekly_digest_per_business_owner_once_a_week_in_plain_language(spec, fake_services) -> None:
    _run(spec, 1, "breach")
    monday = datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    assert operations.queue_digests(now=monday) == 0  # due at 08:00
    assert operations.queue_digests(now=monday + timedelta(hours=2)) == 2  # Dana (file) + Sam (file)
    assert operations.queue_digests(now=monday + timedelta(days=2)) == 0  # once per week
    with store.engine().connect() as conn:
        digests = store.rows(conn, sa.select(store.outbox).where(store.outbox.c.recipient_role == "business_owner"))
    dana = next(m for m in digests if "Dana" in m["recipient"])
    assert dana["subject"] == "[gapwatch] Weekly digest for Dana Whitfield: 1 of your 1 model(s) need attention"
    for expected in ("Hello Dana,", "credit_default (v1.3.0): NEEDS ATTENTION", "Open problems (1):",
                     "not yet acknowledged", "Meanwhile your users get: Route every application",
                     "Technical owner: Ravi Menon"):
        assert expected in dana["body"], expected
    sam = next(m for m in digests if "Sam" in m["recipient"])
    assert "delivery_eta (v2.0.1): OK" in sam["body"] and "No monitoring run yet." in sam["body"]
