"""The pure decisions, without a database: findings, run status, streaks and the incident state
machine, driven week by week the way ``incidents.lifecycle`` drives it against the store."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gapwatch import policy
from gapwatch.catalog import Kind, Role, RunStatus, Severity, TicketKind, Verdict
from gapwatch.policy import Action, Rules, Streaks
from gapwatch.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]
WEEK = timedelta(days=7)
START = datetime(2026, 1, 5, tzinfo=UTC)


@pytest.fixture(scope="module")
def spec():
    return load_spec(ROOT / "include" / "monitors" / "credit_default.yml")


def _finding(kind: Kind = Kind.PERFORMANCE, status: str = Verdict.BREACH) -> dict[str, Any]:
    check = {Kind.DATA: "readiness:inputs", Kind.PERFORMANCE: "metric:roc_auc", Kind.ESTIMATE: "estimate:roc_auc",
             Kind.DRIFT: "drift"}[kind]
    return {"fingerprint": f"m|{check}|*", "kind": str(kind), "check": check, "segment": "*",
            "status": str(status), "severity": str(policy.SEVERITY[kind]), "evidence": {}}


@dataclass
class Timeline:
    """One check's incidents over weekly windows, kept in memory as the store keeps them.

    Each :meth:`run` is one window: its verdict joins the history (newest first, as the store
    query returns it), the state machine decides, and the decision is applied as the lifecycle
    applies it. Only the bookkeeping lives here; every rule is the policy's.
    """

    rules: Rules = field(default_factory=Rules)
    kind: Kind = Kind.PERFORMANCE
    verdicts: list[str] = field(default_factory=list)
    current: policy.OpenIncident | None = None
    resolved: policy.ResolvedIncident | None = None
    opened: int = 0
    window: datetime = START - WEEK

    def run(self, verdict: str) -> policy.Decision:
        self.window += WEEK
        self.verdicts.insert(0, verdict)
        decision = policy.next_step(
            _finding(self.kind, verdict), window_start=self.window, current=self.current,
            last_resolved=self.resolved, streak=policy.streaks(self.verdicts), rules=self.rules,
        )
        if decision.action is Action.OPEN:
            self.opened += 1
            self.current = policy.OpenIncident(self.opened, self.window)
        elif decision.action is Action.CONTINUE:
            assert self.current is not None and decision.incident == self.current.id
            self.current = replace(self.current, last_breach_window=self.window)
        elif decision.action is Action.REOPEN:
            assert self.resolved is not None and decision.incident == self.resolved.id
            self.current, self.resolved = policy.OpenIncident(self.resolved.id, self.window), None
        elif decision.action is Action.RESOLVE:
            assert self.current is not None and decision.incident == self.current.id
            self.current, self.resolved = None, policy.ResolvedIncident(self.current.id, self.window)
        return decision

    def actions(self, *verdicts: str) -> list[str]:
        return [str(self.run(v).action) for v in verdicts]


B, OK, INC, INS = Verdict.BREACH, Verdict.OK, Verdict.INCONCLUSIVE, Verdict.INSUFFICIENT


# ---------------------------------------------------------------- the state machine


def test_a_breach_opens_an_incident_and_further_breaches_continue_it() -> None:
    t = Timeline()
    first = t.run(B)
    assert first.action is Action.OPEN and first.incident is None  # the lifecycle assigns the id
    assert first.why == "metric:roc_auc failed 1 window(s) in a row (policy: incident after 1)"
    second = t.run(B)
    assert second.action is Action.CONTINUE and second.incident == 1
    assert second.why == "still failing (2 windows in a row)"
    assert t.opened == 1


def test_resolves_after_n_healthy_runs_in_a_row() -> None:
    t = Timeline(Rules(healthy_runs_to_resolve=2))
    assert t.actions(B, OK) == ["open", "nothing"]
    resolved = t.run(OK)
    assert resolved.action is Action.RESOLVE and resolved.incident == 1
    assert resolved.why == "the check has been healthy for 2 runs in a row"
    assert t.actions(OK, OK) == ["nothing", "nothing"]  # nothing open any more

    three = Timeline(Rules(healthy_runs_to_resolve=3))
    assert three.actions(B, OK, OK, OK) == ["open", "nothing", "nothing", "resolve"]
    broken = Timeline(Rules(healthy_runs_to_resolve=2))
    assert broken.actions(B, OK, B, OK, OK) == ["open", "nothing", "continue", "nothing", "resolve"]


def test_reopens_within_the_cool_down_and_not_after_it() -> None:
    t = Timeline(Rules(healthy_runs_to_resolve=2, reopen_cooldown=timedelta(days=14)))
    assert t.actions(B, OK, OK) == ["open", "nothing", "resolve"]
    again = t.run(B)  # 7 days after the resolving window
    assert again.action is Action.REOPEN and again.incident == 1
    assert again.why == ("the check breached again 7 days after it was resolved (cool-down 14 days), "
                         "so the same incident continues")
    assert t.opened == 1

    edge = Timeline(Rules(healthy_runs_to_resolve=2, reopen_cooldown=timedelta(days=14)))
    assert edge.actions(B, OK, OK, OK, B) == ["open", "nothing", "resolve", "nothing", "reopen"]  # 14 days

    later = Timeline(Rules(healthy_runs_to_resolve=2, reopen_cooldown=timedelta(days=14)))
    assert later.actions(B, OK, OK, OK, OK, B) == ["open", "nothing", "resolve", "nothing", "nothing", "open"]
    assert later.opened == 2  # 21 days on: a new incident


def test_a_ticket_after_k_failing_windows_for_performance_and_data_only() -> None:
    t = Timeline(Rules(windows_before_ticket=3))
    decisions = [t.run(B) for _ in range(4)]
    assert [d.ticket for d in decisions] == [None, None, TicketKind.RETRAIN, TicketKind.RETRAIN]
    assert decisions[2].incident == 1  # the ticket belongs to the open incident
    assert decisions[2].ticket_why == "3 failing windows (policy: ticket after 3)"

    data = Timeline(Rules(windows_before_ticket=2), kind=Kind.DATA)
    assert [data.run(B).ticket for _ in range(2)] == [None, TicketKind.FIX_FEED]
    for kind in (Kind.ESTIMATE, Kind.DRIFT):  # warnings never ask for planned work
        quiet = Timeline(Rules(windows_before_ticket=1), kind=kind)
        assert [quiet.run(B).ticket for _ in range(5)] == [None] * 5


def test_breaches_before_incident_above_one() -> None:
    t = Timeline(Rules(breaches_before_incident=2))
    assert t.actions(B, B, B) == ["nothing", "open", "continue"]
    assert t.run(B).why == "still failing (4 windows in a row)"
    assert Timeline(Rules(breaches_before_incident=2)).actions(B, OK, B, B) == ["nothing", "nothing", "nothing", "open"]
    three = Timeline(Rules(breaches_before_incident=3))
    assert three.actions(B, B) == ["nothing", "nothing"]
    assert three.run(B).why == "metric:roc_auc failed 3 window(s) in a row (policy: incident after 3)"


def test_inconclusive_and_insufficient_neither_count_nor_break_a_streak() -> None:
    t = Timeline(Rules(breaches_before_incident=2, windows_before_ticket=3))
    assert t.actions(B, INC, INS, B) == ["nothing", "nothing", "nothing", "open"]
    assert t.actions(INC) == ["nothing"]  # an unjudged window does not continue it either
    ticket = t.run(B)
    assert ticket.action is Action.CONTINUE and ticket.ticket is TicketKind.RETRAIN  # 3 judged breaches

    healing = Timeline(Rules(healthy_runs_to_resolve=2))
    assert healing.actions(B, OK, INS, INC) == ["open", "nothing", "nothing", "nothing"]
    assert healing.run(OK).action is Action.RESOLVE  # the two oks around the gaps count together
    assert policy.streaks([B, INC, B, INS, B, OK]) == Streaks(breaches=3, healthy=0)
    assert policy.streaks([OK, INS, OK, B]) == Streaks(breaches=0, healthy=2)
    assert policy.streaks([INC, INS]) == Streaks(0, 0)


def test_a_rerun_of_an_older_window_changes_nothing() -> None:
    assert policy.replays_history(START, START + WEEK)  # the lifecycle only refreshes findings
    assert not policy.replays_history(START + WEEK, START + WEEK)  # a retry of the newest window
    assert not policy.replays_history(START, None)  # the first run

    t = Timeline(Rules(windows_before_ticket=2))
    t.actions(B, B)
    assert t.current is not None
    rerun = policy.next_step(_finding(), window_start=t.window, current=t.current, last_resolved=None,
                             streak=Streaks(2, 0), rules=t.rules)
    assert rerun.action is Action.NOTHING and rerun.incident == 1  # no second "breach continues" ...
    assert rerun.ticket is TicketKind.RETRAIN  # ... while a due ticket is still raised once

    healed = Timeline(Rules(healthy_runs_to_resolve=1))
    healed.actions(B, OK)
    assert healed.resolved is not None
    replay = policy.next_step(_finding(), window_start=healed.resolved.resolved_window - WEEK, current=None,
                              last_resolved=healed.resolved, streak=Streaks(1, 0), rules=healed.rules)
    assert replay == policy.Decision(Action.NOTHING, why=replay.why) and replay.ticket is None


def test_a_breach_without_an_incident_below_the_threshold_or_an_ok_while_healthy_does_nothing() -> None:
    for verdict in (OK, INC, INS, Verdict.NOT_APPLICABLE):
        decision = policy.next_step(_finding(status=verdict), window_start=START, current=None,
                                    last_resolved=None, streak=Streaks(0, 5), rules=Rules())
        assert decision == policy.Decision(Action.NOTHING)


# ---------------------------------------------------------------- findings


def test_every_kind_has_a_severity_and_an_owner_and_tickets_go_to_their_owner() -> None:
    assert set(policy.SEVERITY) == set(Kind) and set(policy.OWNER_ROLE) == set(Kind)
    assert policy.SEVERITY[Kind.ESTIMATE] is Severity.WARNING and policy.SEVERITY[Kind.PERFORMANCE] is Severity.CRITICAL
    assert policy.OWNER_ROLE[Kind.DATA] is Role.DATA_STEWARD
    assert {policy.OWNER_ROLE[policy.TICKET_SOURCE[t]] for t in TicketKind} == {
        Role.TECHNICAL_OWNER, Role.DATA_STEWARD, Role.BUSINESS_OWNER}
    assert policy.ticket_fingerprint("credit_default", TicketKind.RETRAIN) == "credit_default|ticket:retrain|*"


def test_findings_are_plain_json(spec) -> None:
    finding = policy.make_finding(spec, kind=Kind.DRIFT, check="drift", status=Verdict.OK, evidence={})
    assert finding["fingerprint"] == "credit_default|drift|*"
    assert finding["severity"] == "warning"
    assert all(type(finding[k]) is str for k in ("kind", "status", "severity"))  # XCom carries JSON
    assert json.loads(json.dumps(finding)) == finding
    with pytest.raises(ValueError):
        policy.make_finding(spec, kind=Kind.DRIFT, check="drift", status="fine", evidence={})


def _summaries(perf: str = "ok", estimate: str = "ok", drift: str = "ok", ready: bool = True):
    readiness = {"ready": ready, "critical_failures": [] if ready else ["x: null"], "warnings": [], "rows": 10,
                 "checks": [{"check": "suite", "severity": "critical", "failing": [] if ready else ["x: null"]},
                            {"check": "freshness", "severity": "warning", "failing": ["stale"]}]}
    row = {"segment": "*", "metric": "roc_auc", "value": 0.7, "stderr": 0.01, "status": perf}
    performance = {"status": perf, "metrics": {"roc_auc": row}, "segments": [], "labeled": 90, "pending": 10,
                   "cohort_start": "2026-01-05", "estimate": {"status": estimate, "metric": "roc_auc", "row": row}}
    return readiness, performance, {"status": drift, "drifted": [{"column": "income", "psi": 0.4}]}


def test_decide_turns_the_summaries_into_one_finding_per_check(spec) -> None:
    findings = policy.decide(spec, *_summaries(perf="breach", estimate="breach", drift="drift"))
    by_check = {f["check"]: f for f in findings}
    # Every metric of the spec is a check of its own (issue 10).
    assert list(by_check) == [f"readiness:{spec.readiness.suite}", "readiness:freshness:warning",
                              "metric:roc_auc", "metric:f1", "metric:accuracy", "estimate:roc_auc", "drift"]
    assert by_check["readiness:freshness:warning"]["severity"] == "warning"
    assert by_check["readiness:freshness:warning"]["status"] == "breach"
    assert by_check["drift"]["status"] == "breach"  # the drift stage says "drift"; its finding says breach
    assert by_check["estimate:roc_auc"]["evidence"]["estimated"] is True
    assert by_check["metric:roc_auc"]["evidence"]["drifted_features"] == [{"column": "income", "psi": 0.4}]
    regressor = policy.decide(spec, *_summaries(estimate="not_applicable"))
    assert "estimate:roc_auc" not in {f["check"] for f in regressor}


# ---------------------------------------------------------------- run status


@pytest.mark.parametrize(
    ("ready", "perf", "estimate", "drift", "expected"),
    [
        (False, "breach", "breach", "drift", RunStatus.NOT_READY),
        (True, "breach", "breach", "drift", RunStatus.DEGRADED),
        (True, "ok", "breach", "drift", RunStatus.AT_RISK),
        (True, "insufficient", "breach", "ok", RunStatus.AT_RISK),
        (True, "ok", "ok", "drift", RunStatus.DRIFTING),
        (True, "insufficient", "insufficient", "drift", RunStatus.DRIFTING),
        (True, "insufficient", "ok", "ok", RunStatus.AWAITING_LABELS),
        (True, "ok", "ok", "ok", RunStatus.HEALTHY),
        (True, "inconclusive", "not_applicable", "ok", RunStatus.HEALTHY),
    ],
)
def test_run_status_is_the_worst_that_applies(ready, perf, estimate, drift, expected) -> None:
    readiness, performance, drift_summary = _summaries(perf, estimate, drift, ready)
    assert policy.run_status(readiness, performance, drift_summary) is expected


# ---------------------------------------------------------------- escalation


def test_escalation_walks_the_routes_then_is_exhausted() -> None:
    routes = ["ml-leads", "head-of-ml"]
    first = policy.escalation_step(0, routes, late=timedelta(minutes=31), sla=timedelta(minutes=30))
    assert (first.level, first.route) == (1, "ml-leads")
    assert first.why == "unacknowledged for 31 min, past its 30 min acknowledgement SLA"
    assert policy.escalation_step(1, routes, late=timedelta(hours=3), sla=timedelta(hours=1)).route == "head-of-ml"
    done = policy.escalation_step(2, routes, late=timedelta(days=3), sla=timedelta(days=1))
    assert done.route is None and done.why.endswith("past its 1 day acknowledgement SLA; no further escalation "
                                                    "route in the spec")
