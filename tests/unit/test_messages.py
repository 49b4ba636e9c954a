"""What an on-call engineer reads: the estimate, drift and performance messages say what was
measured on what, list what they count, and say where to look and how to acknowledge."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from gapwatch.catalog import IncidentEvent
from gapwatch.incidents.messages import incident_message, incident_title, ticket_message
from gapwatch.spec import load_spec

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]
DRIFTED = [{"column": c, "psi": v} for c, v in
           [("utilization", 1.2), ("income", 0.9), ("age", 0.5), ("score", 0.4), ("tenure", 0.3), ("region", 0.25)]]
SEGMENTS = [{"segment": "region=north", "value": 0.61, "stderr": 0.02, "n": 300, "status": "breach"}]


@pytest.fixture
def spec(monkeypatch):
    monkeypatch.setenv("GAPWATCH_AIRFLOW_URL", "http://airflow.example.com")
    return load_spec(ROOT / "include" / "monitors" / "credit_default.yml")


def _incident(kind: str, check: str, evidence: dict, status: str = "open") -> dict:
    return {"id": 7, "kind": kind, "check": check, "severity": "warning", "status": status,
            "owner_role": "technical_owner", "title": f"credit_default: {kind}", "fingerprint": f"fp|{check}",
            "evidence": evidence, "opened_window": datetime(2026, 1, 5, tzinfo=UTC),
            "last_breach_window": datetime(2026, 1, 5, tzinfo=UTC),
            "opened_at": datetime(2026, 1, 12, 6, 41, 13, tzinfo=UTC), "updated_at": None}


def _body(spec, incident: dict, event: IncidentEvent = IncidentEvent.OPENED) -> str:
    return incident_message(spec, incident, event, run_link="http://airflow/run", trend=[]).body


def test_the_estimate_message_counts_predictions_not_labels_and_shows_no_realized_segments(spec) -> None:
    ev = {"metric": "roc_auc", "value": 0.70, "stderr": 0.01, "threshold": 0.77, "baseline": 0.82,
          "n": 3100, "labeled": 2506, "pending": 3100, "unsupported_share": 0.04, "worst_segments": SEGMENTS}
    body = _body(spec, _incident("estimate", "estimate:roc_auc", ev))
    assert "matured labels" not in body
    assert "estimated on 3100 predictions without labels (3100 labels still pending" in body
    assert "region=north" not in body  # a realized value, not what the estimate judged
    assert "Predictions affected: 3100 predictions in the window (estimated without labels)" in body


def test_the_drift_message_lists_what_it_counts_and_its_cause_does_not_repeat_them(spec) -> None:
    ranking = [{"column": "utilization", "method": "psi", "value": 1.2, "threshold": 0.2, "drifted": True}]
    ev = {"drifted_features": DRIFTED[:4], "drift_ranking": ranking, "rows": 5000}
    body = _body(spec, _incident("drift", "drift", ev))
    assert "4 input/output distribution(s) moved" in body
    how_badly = next(line for line in body.splitlines() if line.startswith("How badly"))
    assert [c for c in ("utilization", "income", "age", "score") if c in how_badly] == [
        "utilization", "income", "age", "score"]
    cause = body.split("Likely cause:")[1].split("\n\n")[0]
    assert "income" not in cause and "start with utilization" in cause
    assert "largest statistic: psi 1.200 on utilization (threshold 0.200)" in cause
    assert "Predictions affected: 5000 predictions in the window" in body
    many = _body(spec, _incident("drift", "drift", {"drifted_features": DRIFTED}))
    assert "6 input/output distribution(s) moved" in many and "(the 5 most moved of 6)" in many


def test_a_drift_only_within_a_segment_names_the_segment_and_where_to_start(spec) -> None:
    moved = [{"segment": "region=north", "column": "income", "rows": 1400, "severity": 3.1,
              "values": {"wasserstein": 0.31}}]
    evidence = {"drifted_features": [], "drifted_segments": moved, "rows": 5000}
    incident = _incident("drift", "drift", evidence)
    message = incident_message(spec, incident, IncidentEvent.OPENED, run_link="http://airflow/run", trend=[])
    title = incident_title(spec, {"kind": "drift", "check": "drift", "evidence": evidence})
    assert title == "credit_default: input/output drift in income (region=north)"
    assert "0 input/output distribution(s) moved away from the baseline, and 1 within a segment" in message.body
    assert "income in region=north (1400 rows; wasserstein 0.31)" in message.body
    assert "start with income in region=north" in message.body.split("Likely cause:")[1]
    # A performance incident lists the drifted features as a likely cause, nothing to "start with".
    performance = _body(spec, _incident("performance", "metric:roc_auc", {
        "metric": "roc_auc", "value": 0.70, "stderr": 0.01, "threshold": 0.77, "drifted_features": DRIFTED[:2]}))
    cause = performance.split("Likely cause:")[1]
    assert "drifted features: utilization (psi 1.20), income (psi 0.90)" in cause and "start with" not in cause


def test_every_message_links_model_health_says_how_to_ack_and_when_it_was_detected(spec) -> None:
    ev = {"metric": "roc_auc", "value": 0.70, "stderr": 0.01, "threshold": 0.77, "baseline": 0.82,
          "labeled": 2900, "pending": 60, "cohort_start": "2025-12-01T00:00:00+00:00", "worst_segments": SEGMENTS}
    incident = _incident("performance", "metric:roc_auc", ev)
    message = incident_message(spec, incident, IncidentEvent.OPENED, run_link="http://airflow/run", trend=[])
    health = "http://airflow.example.com/gapwatch/health/models/credit_default"
    assert f"Model Health: {health}" in message.body
    assert (f"Acknowledge: gapwatch incidents ack 7 --by YOUR_NAME --why '...' or the Acknowledge button "
            f"on {health}") in message.body
    assert "Detected: 2026-01-12 06:41 UTC (clock time)" in message.body
    assert "Predictions affected: 2960 predictions in the judged cohort (window starting 2025-12-01)" in message.body
    assert "judged on 2900 matured labels" in message.body and "region=north 0.610" in message.body
    assert message.payload["links"]["model_health"] == health
    assert message.payload["acknowledge"]["cli"] == "gapwatch incidents ack 7 --by YOUR_NAME"
    assert message.payload["detected_at"] == "2026-01-12 06:41 UTC"
    resolved = _body(spec, {**incident, "status": "resolved"}, IncidentEvent.RESOLVED)
    assert "Acknowledge:" not in resolved and f"Model Health: {health}" in resolved
    data = _body(spec, _incident("data", "readiness:credit", {"rows": 4100, "failing_expectations": ["x"]}))
    assert "Predictions affected: 4100 predictions in the window" in data
    ticket = ticket_message(spec, ticket_id=1, incident_id=7, title="Retrain", kind="retrain", breaches=3,
                            evidence=ev, trend=[], run_link="http://airflow/run", owner_role="technical_owner")
    assert f"Model Health: {health}" in ticket.body and "Predictions affected: 2960" in ticket.body
