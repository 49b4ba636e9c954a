"""Adoption messages in words: titles that name the team, who was right on the overrides, the
business owner's digest lines, and the shared message builders dispatching to them."""

from __future__ import annotations

from pathlib import Path

from gapwatch.incidents import adoption_text as text
from gapwatch.incidents.messages import incident_message, likely_cause, ticket_message, what_broke
from gapwatch.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]
COVERAGE = {
    "check": "coverage", "label": "share of predictions acted on within the decision SLA", "unit": "share",
    "value": 0.72, "stderr": 0.008, "baseline": 0.97, "threshold": 0.87, "n": 3000, "status": "breach",
    "higher_is_better": True, "decision_sla": 2 * 86400.0, "cohort": ["2026-02-14T00:00", "2026-02-21T00:00"],
    "drivers": [{"team": "east", "value": 0.02, "baseline": 0.97, "n": 760, "share": 0.88, "status": "breach"},
                {"team": "north", "value": 0.96, "baseline": 0.97, "n": 900, "share": 0.05, "status": "ok"}],
    "breaching_teams": ["east"], "value_column": "net_value",
}
QUALITY = {"verdict": "humans_right", "overrides": 400, "human_right_share": 0.7, "model_right_share": 0.3,
           "cohort": ["2026-02-23T00:00", "2026-03-02T00:00"]}


def test_the_title_names_the_value_the_baseline_and_the_team() -> None:
    title = text.title("credit_default", COVERAGE)
    assert title == ("credit_default: decision coverage 72.0% within 2.0 days (baseline 97.0%); "
                     "88% of misses from team east")
    follow = {**COVERAGE, "check": "follow_rate", "value": 0.75, "baseline": 0.85, "drivers": []}
    assert text.title("m", follow) == "m: override rate 25.0% vs baseline 15.0%"


def test_what_broke_and_who_drives_it() -> None:
    lines = text.what_broke(COVERAGE)
    assert lines[0].startswith("What broke: share of predictions acted on within the decision SLA (2.0 days) "
                               "is 72.0% (95% bounds 70.7% to 73.3%), below its threshold 87.0%")
    assert lines[1] == ("How badly: 15.0 points past the threshold; judged on 3000 predictions "
                        "(predictions made 2026-02-14 to 2026-02-21).")
    cause = text.likely_cause(COVERAGE)
    assert "team east 2.0% (baseline 97.0%, n=760, breach): 88% of the misses" in cause[1]
    # Only a team past its own limit overall: the message says so instead of a gap.
    team_only = {**COVERAGE, "value": 0.9}
    assert "team(s) east past their own limit" in text.what_broke(team_only)[1]


def test_the_overrides_in_words() -> None:
    assert "healthy scepticism" in text.overrides_in_words(QUALITY)
    assert "made 2026-02-23 to 2026-03-02" in text.overrides_in_words(QUALITY)
    trust = {**QUALITY, "verdict": "model_right", "human_right_share": 0.25, "model_right_share": 0.75}
    words = text.overrides_in_words(trust)
    assert "a trust problem" in words and "the model was right 75%" in words and "retraining would not" in words
    assert "neither was clearly" in text.overrides_in_words({**QUALITY, "verdict": "mixed"})
    assert "Not known yet" in text.overrides_in_words({"verdict": None, "overrides": 0})


def test_shared_message_builders_render_adoption_findings() -> None:
    spec = load_spec(ROOT / "include" / "monitors" / "credit_default.yml")
    evidence = {**COVERAGE, "check": "follow_rate", "override_quality": QUALITY}
    assert what_broke("adoption", evidence)[0].startswith("What broke: share of predictions")
    assert any("healthy scepticism" in line for line in likely_cause("adoption", evidence))
    incident = {"id": 7, "fingerprint": "credit_default|adoption:coverage|*", "kind": "adoption",
                "severity": "critical", "status": "open", "owner_role": "business_owner", "title": "t",
                "check": "adoption:coverage", "evidence": COVERAGE, "opened_window": None, "last_breach_window": None}
    message = incident_message(spec, incident, "opened", run_link="http://airflow/run", trend=[])
    assert "Owner: Dana Whitfield <dana.whitfield@example.com> (business owner)" in message.body
    assert message.payload["facts"]["breaching_teams"] == ["east"]
    ticket = ticket_message(spec, ticket_id=2, incident_id=7, title="Improve adoption of credit_default",
                            kind="adoption", breaches=3, evidence=COVERAGE, trend=[], run_link="r",
                            owner_role="business_owner")
    assert "decision SLA" in ticket.body and "team east" in ticket.body


def test_the_digest_lines_lead_with_adoption_and_outcome() -> None:
    latest = {
        "coverage": {"unit": "share", "value": 0.73, "baseline": 0.97, "status": "breach", "window": "2026-03-23T00:00"},
        "follow_rate": {"unit": "share", "value": 0.75, "baseline": 0.85, "status": "ok", "window": "2026-03-23"},
        "outcome_mean": {"unit": "value", "value": 19.7, "baseline": 17.8, "status": "ok", "window": "2026-03-23"},
        "override_quality": QUALITY,
    }
    lines = text.digest_lines(latest, "net_value", 2 * 86400.0)
    assert lines[0] == ("  Adoption (week of 2026-03-23): 73.0% of predictions acted on within 2.0 days "
                        "(baseline 97.0%) - below its limit; 75.0% of decisions followed the model (baseline 85.0%).")
    assert "healthy scepticism" in lines[1]
    assert lines[2] == "  Business outcome (net_value): 19.7 per decision (baseline 17.8)."
    assert text.digest_lines({}, None, 60.0) == ["  Adoption: not measured yet (no decisions judged)."]
