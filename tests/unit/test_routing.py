"""Routing from the spec: who hears about what, on which channel; and what a spec may say."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gapwatch.incidents import routing
from gapwatch.spec import SpecError, load_spec

ROOT = Path(__file__).resolve().parents[2]


def _spec(tmp_path: Path, notifications: dict, **technical_owner):
    raw = yaml.safe_load((ROOT / "include" / "monitors" / "credit_default.yml").read_text())
    raw["owners"]["technical_owner"].update(technical_owner)
    raw["notifications"] = notifications
    path = tmp_path / "credit_default.yml"
    path.write_text(yaml.safe_dump(raw))
    return load_spec(path)


WIRED = {
    "channels": ["email", "slack"],
    "routes": {"credit-ml-oncall": {"channel": "pagerduty", "conn_id": "pd_credit"},
               "ml-leads": {"channel": "email", "to": "leads@example.com"}},
    "escalation": ["ml-leads"],
    "tracker": {"channel": "jira", "conn_id": "jira_default", "project": "CRML"},
}


def _where(destinations) -> list[tuple[str, str, str]]:
    return [(d.role, d.channel, d.recipient) for d in destinations]


def test_critical_model_incidents_page_the_oncall_route_and_reach_the_technical_owner(tmp_path) -> None:
    spec = _spec(tmp_path, WIRED, slack_conn_id="slack_credit_ml")
    got = routing.incident_destinations(spec, kind="performance", severity="critical",
                                        owner_role="technical_owner", event="opened")
    assert _where(got) == [
        ("technical_owner", "email", "Ravi Menon <ravi.menon@example.com>"),
        ("technical_owner", "slack", "#credit-ml"),
        ("oncall", "pagerduty", "credit-ml-oncall"),
    ]
    assert got[2].route == {"name": "credit-ml-oncall", "conn_id": "pd_credit"}  # no secret, only an id


def test_warnings_go_to_the_owners_channel_and_data_incidents_to_the_steward_without_paging(tmp_path) -> None:
    spec = _spec(tmp_path, WIRED, slack_conn_id="slack_credit_ml")
    drift = routing.incident_destinations(spec, kind="drift", severity="warning",
                                          owner_role="technical_owner", event="opened")
    assert ("technical_owner", "slack", "#credit-ml") in _where(drift)
    assert not [d for d in drift if d.role == "oncall"]
    data = routing.incident_destinations(spec, kind="data", severity="critical",
                                         owner_role="data_steward", event="opened")
    assert _where(data) == [("data_steward", "email", "Lena Ortiz <lena.ortiz@example.com>")]


def test_tickets_go_to_the_teams_jira_project_and_escalation_to_the_next_route(tmp_path) -> None:
    spec = _spec(tmp_path, WIRED, slack_conn_id="slack_credit_ml")
    ticket = routing.ticket_destinations(spec, "technical_owner")
    assert ticket[0].channel == "jira" and ticket[0].route["project"] == "CRML"
    up = routing.incident_destinations(spec, kind="performance", severity="critical",
                                       owner_role="technical_owner", event="escalated", escalation_level=1)
    assert _where(up) == [("escalation", "email", "leads@example.com")]
    # The routes an incident escalated to hear that it was resolved.
    done = routing.incident_destinations(spec, kind="performance", severity="critical",
                                         owner_role="technical_owner", event="resolved", escalation_level=1)
    assert ("escalation", "email", "leads@example.com") in _where(done)


def test_the_demo_default_keeps_everything_on_the_file_sink(tmp_path) -> None:
    spec = load_spec(ROOT / "include" / "monitors" / "credit_default.yml")
    got = routing.incident_destinations(spec, kind="performance", severity="critical",
                                        owner_role="technical_owner", event="opened")
    assert {d.channel for d in got} == {"file"} and [d.role for d in got] == ["technical_owner", "oncall"]


@pytest.mark.parametrize(
    ("notifications", "owner", "message"),
    [
        ({**WIRED, "escalation": ["nobody"]}, {"slack_conn_id": "s"}, "escalation routes ['nobody'] are not defined"),
        ({**WIRED, "tracker": {"channel": "jira", "conn_id": "j"}}, {"slack_conn_id": "s"}, "needs 'project'"),
        ({"channels": ["slack"]}, {}, "set owners.technical_owner.slack_conn_id"),
        ({**WIRED, "routes": {"x": {"channel": "pagerduty", "conn_id": "p"}}, "escalation": []},
         {"slack_conn_id": "s"}, "oncall_route 'credit-ml-oncall' is not a route"),
        ({"channels": ["file"], "ack_sla": {"critical": "soon"}}, {}, "is not a duration"),
    ],
)
def test_a_wrongly_wired_spec_is_one_clear_error(tmp_path, notifications, owner, message) -> None:
    with pytest.raises(SpecError) as error:
        _spec(tmp_path, notifications, **owner)
    assert message in str(error.value)


def test_platform_route_setting(monkeypatch) -> None:
    monkeypatch.setenv("GAPWATCH_PLATFORM_ROUTE", "slack:slack_platform")
    assert routing.platform_destination().route == {"conn_id": "slack_platform", "name": "platform"}
    monkeypatch.setenv("GAPWATCH_PLATFORM_ROUTE", "carrier-pigeon")
    with pytest.raises(ValueError, match="use file, email:ADDRESS"):
        routing.platform_destination()
