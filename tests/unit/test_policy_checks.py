"""Every metric a check, no data and not computable are not health, cohorts judged on their own
readiness: the pure rules (issue 10 and issue 13 item 1), without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gapwatch import policy
from gapwatch.catalog import Kind, RunStatus, Severity, TicketKind, Verdict
from gapwatch.incidents import messages
from gapwatch.policy import Action, Rules, Streaks
from gapwatch.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 1, 5, tzinfo=UTC)
WEEK = timedelta(days=7)


@pytest.fixture(scope="module")
def spec():
    return load_spec(ROOT / "include" / "monitors" / "credit_default.yml")


def _row(metric: str, status: str, value: float | None = 0.7, **extra: Any) -> dict[str, Any]:
    return {"segment": "*", "metric": metric, "value": value, "stderr": 0.01, "status": status,
            "threshold": 0.75, "rule": "floor", **extra}


def _readiness(rows: int = 100, *, volume_failing: bool = False, ready: bool = True) -> dict[str, Any]:
    return {"ready": ready, "critical_failures": [], "warnings": [], "rows": rows,
            "checks": [{"check": "suite", "severity": "critical", "failing": []},
                       {"check": "volume", "severity": "critical",
                        "failing": ["table: 0 rows, expected 2100-4500"] if volume_failing else []},
                       {"check": "scores", "severity": "critical", "failing": []}]}


def _performance(status: str = "ok", **metrics: str) -> dict[str, Any]:
    rows = {name: _row(name, verdict) for name, verdict in metrics.items()}
    return {"status": status, "metrics": rows, "segments": [], "labeled": 900, "pending": 10,
            "cohort_start": "2026-01-05", "estimate": {"status": "ok", "metric": "roc_auc", "row": {}}}


def _by_check(findings: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f["check"]: f for f in findings}


# ---------------------------------------------------------------- every metric a check


def test_every_metric_has_its_own_finding_fingerprint_and_severity(spec) -> None:
    performance = _performance("ok", roc_auc="ok", f1="breach", accuracy="ok")
    found = _by_check(policy.decide(spec, _readiness(), performance, {"status": "ok"}))
    assert found["metric:f1"]["status"] == Verdict.BREACH
    assert found["metric:f1"]["fingerprint"] == "credit_default|metric:f1|*"
    # The first metric is critical, the others warnings unless the spec says otherwise.
    assert [found[f"metric:{m}"]["severity"] for m in ("roc_auc", "f1", "accuracy")] == [
        Severity.CRITICAL, Severity.WARNING, Severity.WARNING]
    assert found["metric:f1"]["evidence"]["metric"] == "f1"
    assert found["estimate:roc_auc"]["kind"] == Kind.ESTIMATE  # the estimate finding stays


def test_a_metric_can_be_made_critical_in_the_spec(spec) -> None:
    metrics = [spec.metrics[0], spec.metrics[1].model_copy(update={"severity": Severity.CRITICAL}), spec.metrics[2]]
    strict = spec.model_copy(update={"metrics": metrics})
    assert strict.metric_severity(strict.metrics[1]) is Severity.CRITICAL
    found = _by_check(policy.decide(strict, _readiness(), _performance("breach", roc_auc="ok", f1="breach",
                                                                       accuracy="ok"), {"status": "ok"}))
    assert found["metric:f1"]["severity"] == Severity.CRITICAL
    assert policy.failing_metrics(strict, found.values()) == ["f1"]


def test_a_warning_metric_opens_a_warning_incident_but_never_a_ticket(spec) -> None:
    finding = _by_check(policy.decide(spec, _readiness(), _performance("ok", roc_auc="ok", f1="breach",
                                                                       accuracy="ok"), {"status": "ok"}))["metric:f1"]
    decision = policy.next_step(finding, window_start=START, current=None, last_resolved=None,
                                streak=Streaks(5, 0), rules=Rules())
    assert decision.action is Action.OPEN and decision.ticket is None
    assert policy.ticket_fingerprints(spec, finding) == []


def test_a_retrain_ticket_counts_windows_of_any_critical_metric(spec) -> None:
    # roc_auc failed, then another critical metric, then roc_auc again: three failing windows.
    history = [(START + 2 * WEEK, "breach"), (START + WEEK, "ok"), (START + WEEK, "breach"),
               (START, "breach"), (START, "ok")]
    combined = policy.streaks(policy.any_breach_by_window(history))
    assert combined == Streaks(3, 0)
    finding = {"kind": "performance", "severity": "critical", "status": "breach", "check": "metric:roc_auc"}
    own = Streaks(1, 0)
    decision = policy.next_step(finding, window_start=START + 2 * WEEK, current=policy.OpenIncident(7, START),
                                last_resolved=None, streak=own, rules=Rules(), ticket_streak=combined)
    assert (decision.action, decision.ticket, decision.ticket_streak) == (Action.CONTINUE, TicketKind.RETRAIN, 3)
    # Without the cross-metric streak the finding's own single breach asks for no ticket.
    alone = policy.next_step(finding, window_start=START + 2 * WEEK, current=policy.OpenIncident(7, START),
                             last_resolved=None, streak=own, rules=Rules())
    assert alone.ticket is None
    assert policy.ticket_fingerprints(spec, finding) == ["credit_default|metric:roc_auc|*"]


# ---------------------------------------------------------------- no data


def test_an_empty_window_is_no_data_except_the_volume_check(spec) -> None:
    found = _by_check(policy.readiness_findings(spec, _readiness(0, volume_failing=True, ready=False)))
    assert found["readiness:volume"]["status"] == Verdict.BREACH  # raises the data incident
    assert found[f"readiness:{spec.readiness.suite}"]["status"] == Verdict.NO_DATA
    assert found["readiness:scores"]["status"] == Verdict.NO_DATA
    # With the volume check off nothing on an empty window says ok.
    quiet = _readiness(0)
    quiet["checks"] = [c for c in quiet["checks"] if c["check"] != "volume"]
    assert {f["status"] for f in policy.readiness_findings(spec, quiet)} == {Verdict.NO_DATA}


def test_no_data_never_resolves_an_incident_nor_closes_its_ticket() -> None:
    finding = {"kind": "data", "severity": "critical", "status": Verdict.NO_DATA, "check": "readiness:inputs"}
    # An incident open, then only empty windows: the judged history is still one breach.
    verdicts = [Verdict.NO_DATA, Verdict.NO_DATA, Verdict.NO_DATA, Verdict.BREACH]
    decision = policy.next_step(finding, window_start=START + 3 * WEEK, current=policy.OpenIncident(1, START),
                                last_resolved=None, streak=policy.streaks(verdicts), rules=Rules())
    assert decision.action is Action.NOTHING
    uncomputable = {**finding, "status": Verdict.NOT_COMPUTABLE}
    assert policy.next_step(uncomputable, window_start=START + 3 * WEEK, current=policy.OpenIncident(1, START),
                            last_resolved=None, streak=Streaks(0, 5), rules=Rules()).action is Action.NOTHING


def test_the_metrics_of_an_empty_cohort_are_no_data(spec) -> None:
    performance = {**_performance("insufficient"), "no_data": True, "labeled": 0, "pending": 0,
                   "reason": "no rows in the window"}
    found = _by_check(policy.decide(spec, _readiness(), performance, {"status": "ok"}))
    assert {found[f"metric:{m.name}"]["status"] for m in spec.metrics} == {Verdict.NO_DATA}
    assert policy.run_status(_readiness(), performance, {"status": "ok"}) is RunStatus.NO_DATA
    # Labels still on their way are awaited, not "no data".
    waiting = {**performance, "pending": 40, "reason": "no matured labels"}
    assert policy.run_status(_readiness(), waiting, {"status": "ok"}) is RunStatus.AWAITING_LABELS


@pytest.mark.parametrize("ready", [True, False])
def test_an_empty_window_is_never_healthy(spec, ready) -> None:
    drift = {"status": "insufficient", "no_data": True}
    performance = _performance("ok", roc_auc="ok", f1="ok", accuracy="ok")
    status = policy.run_status(_readiness(0, volume_failing=not ready, ready=ready), performance, drift)
    assert status is RunStatus.NO_DATA
    # A breach on the cohort still degrades the run: evidence is never hidden behind "no data".
    breach = _performance("breach", roc_auc="breach", f1="ok", accuracy="ok")
    assert policy.run_status(_readiness(0, ready=True), breach, drift) is RunStatus.DEGRADED


# ---------------------------------------------------------------- not computable


def test_a_main_metric_or_a_watched_column_not_computable_is_never_healthy(spec) -> None:
    performance = _performance("not_computable", roc_auc="not_computable", f1="ok", accuracy="ok")
    performance["metrics"]["roc_auc"]["reason"] = "roc_auc not computable: all 900 matured labels are 1.0"
    found = _by_check(policy.decide(spec, _readiness(), performance, {"status": "ok"}))
    assert found["metric:roc_auc"]["status"] == Verdict.NOT_COMPUTABLE
    assert "all 900 matured labels" in found["metric:roc_auc"]["evidence"]["reason"]
    assert policy.run_status(_readiness(), performance, {"status": "ok"}) is RunStatus.NOT_COMPUTABLE
    ok = _performance("ok", roc_auc="ok", f1="ok", accuracy="ok")
    drift = {"status": "not_computable", "not_computable": ["income"], "reason": "drift not computable for income"}
    assert policy.run_status(_readiness(), ok, drift) is RunStatus.NOT_COMPUTABLE
    assert _by_check(policy.decide(spec, _readiness(), ok, drift))["drift"]["status"] == Verdict.NOT_COMPUTABLE
    assert policy.run_status(_readiness(), ok, {"status": "ok"}) is RunStatus.HEALTHY


# ---------------------------------------------------------------- cohort readiness


def test_a_cohort_on_broken_data_counts_a_breach_linked_to_the_data_incident(spec) -> None:
    performance = _performance("breach", roc_auc="breach", f1="ok", accuracy="ok")
    performance.update(suspect_data=True, reason="the predictions being judged were made on data that failed "
                       "readiness", data_incident={"id": 4, "check": "readiness:credit_default_inputs"})
    found = _by_check(policy.decide(spec, _readiness(), performance, {"status": "ok"}))
    roc = found["metric:roc_auc"]
    assert roc["status"] == Verdict.BREACH
    assert (roc["evidence"]["likely_cause"], roc["evidence"]["data_incident"]) == ("data", 4)
    # An ok value on untrusted data is no evidence of health.
    assert found["metric:f1"]["status"] == Verdict.INCONCLUSIVE
    assert "likely_cause" not in found["estimate:roc_auc"]["evidence"]
    title = messages.incident_title(spec, roc)
    assert title == ("credit_default: roc_auc fell while credit_default_inputs failed: likely cause data, "
                     "see incident #4")


def test_a_warning_data_incident_is_not_titled_not_ready(spec) -> None:
    finding = policy.make_finding(spec, kind=Kind.DATA, check="readiness:freshness:warning", status="breach",
                                  evidence={}, severity=Severity.WARNING)
    assert messages.incident_title(spec, finding) == "credit_default: input data warnings (freshness)"
    critical = policy.make_finding(spec, kind=Kind.DATA, check="readiness:volume", status="breach", evidence={})
    assert messages.incident_title(spec, critical) == "credit_default: input data not ready (volume)"


def test_a_spread_breach_does_not_claim_95_percent_bounds() -> None:
    ev = {"metric": "accuracy", "value": 0.79, "stderr": 0.008, "threshold": 0.799, "baseline": 0.82,
          "rule": "spread_k", "labeled": 3000, "pending": 0}
    text = " ".join(messages.what_broke(Kind.PERFORMANCE, ev))
    assert "95% bounds" not in text
    assert "beyond mean - k·σ of the baseline sub-windows (scaled to n)" in text
    bounded = " ".join(messages.what_broke(Kind.PERFORMANCE, {**ev, "rule": "floor"}))
    assert "95% bounds" in bounded
    # An error metric's own direction, not the main metric's.
    mae = " ".join(messages.what_broke(Kind.PERFORMANCE, {**ev, "metric": "mae", "value": 9.0, "threshold": 8.0}))
    assert "above its threshold" in mae


def test_the_trend_marks_a_value_judged_on_broken_data() -> None:
    line = messages.trend_line([{"window": "2026-02-02", "value": 0.809, "status": "ok"},
                                {"window": "2026-02-09", "value": 0.818, "status": "inconclusive"},
                                {"window": "2026-02-16", "value": None, "status": "no_data"}])
    assert line == "Trend (oldest first): 2026-02-02 0.809 | 2026-02-09 0.818 (inconclusive) | 2026-02-16 no_data"
