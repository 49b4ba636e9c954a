"""The optional ``adoption`` spec section: parsing, defaults, limits and clear errors."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from gapwatch.spec import MonitorSpec, SpecError, load_spec, load_specs
from gapwatch.spec_adoption import CHECKS, measured_checks

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "include" / "monitors" / "credit_default.yml"


def _raw() -> dict:
    return yaml.safe_load(DEMO.read_text())


def _spec(**adoption) -> MonitorSpec:
    raw = _raw()
    raw["adoption"] = {**raw["adoption"], **adoption}
    return MonitorSpec.model_validate(raw)


def _write(tmp_path: Path, raw: dict) -> Path:
    path = tmp_path / "credit_default.yml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def test_the_demo_specs_parse_with_their_adoption_sections() -> None:
    specs = load_specs(ROOT / "include" / "monitors")
    assert not specs.errors
    credit = specs.by_name("credit_default").adoption
    assert credit is not None and credit.decision_sla == timedelta(days=2)
    assert credit.followed == {1: "refer", 0: "approve"}  # prediction values keep their type
    assert credit.assigned_team == "region" and credit.value == "net_value"
    eta = specs.by_name("delivery_eta").adoption
    assert eta is not None and eta.followed == "followed" and eta.decision_sla == timedelta(minutes=30)


def test_a_spec_without_adoption_has_none_and_measures_nothing() -> None:
    raw = _raw()
    del raw["adoption"]
    spec = MonitorSpec.model_validate(raw)
    assert spec.adoption is None and measured_checks(spec) == []


def test_limits_replace_the_defaults_and_severity_keeps_them() -> None:
    spec = _spec(checks={"coverage": {"floor": 0.9}, "follow_rate": {"severity": "critical", "min_decisions": 50}})
    a = spec.adoption
    assert a.limits("coverage").limits() == {"floor": 0.9}  # the spec's limits, not the default max_drop
    assert a.limits("follow_rate").limits() == CHECKS["follow_rate"].default_limits
    assert a.severity("follow_rate") == "critical" and a.severity("coverage") == "critical"
    assert a.severity("time_to_action_p50") == "warning"
    assert a.min_for("follow_rate") == 50 and a.min_for("coverage") == a.min_decisions == 200
    assert not a.limits("time_to_action_p90").limits()  # shown, not judged, unless limits are set


def test_measured_checks_follow_the_task_and_the_value_column() -> None:
    credit = _spec()
    assert measured_checks(credit) == list(CHECKS)  # binary with a mapping: everything
    eta = load_spec(ROOT / "include" / "monitors" / "delivery_eta.yml")
    # A regression has no class for the human: no override quality; no value column: no outcome.
    assert measured_checks(eta) == ["coverage", "follow_rate", "time_to_action_p50", "time_to_action_p90"]
    disabled = _spec(checks={"time_to_action_p90": {"enabled": False}})
    assert "time_to_action_p90" not in measured_checks(disabled)
    lower_is_better = _spec(value_higher_is_better=False).adoption
    assert lower_is_better.higher_is_better("outcome_mean") is False
    assert lower_is_better.higher_is_better("coverage") is True


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"action": None}, "set adoption.action too"),
        ({"value": None, "checks": {"outcome_mean": {"spread_k": 2}}}, "need adoption.value"),
        ({"decision_sla": "soon"}, "is not a duration"),
        ({"checks": {"coverage_rate": {"floor": 0.5}}}, "adoption.checks.coverage_rate"),
        ({"decided": "decided_at"}, "adoption.decided: unknown field"),
    ],
)
def test_bad_adoption_sections_name_the_field(tmp_path: Path, change: dict, message: str) -> None:
    raw = _raw()
    raw["adoption"] = {k: v for k, v in {**raw["adoption"], **change}.items() if v is not None}
    with pytest.raises(SpecError) as err:
        load_spec(_write(tmp_path, raw))
    assert message in str(err.value)


def test_adoption_that_cannot_work_with_the_rest_of_the_spec_is_rejected(tmp_path: Path) -> None:
    raw = _raw()
    raw["adoption"]["assigned_team"] = "customer_email"  # pii: its values would reach messages
    with pytest.raises(SpecError, match="pii"):
        load_spec(_write(tmp_path, raw))
    eta = yaml.safe_load((ROOT / "include" / "monitors" / "delivery_eta.yml").read_text())
    eta["adoption"]["action"] = "action"
    eta["adoption"]["followed"] = {10: "promise"}
    path = tmp_path / "delivery_eta.yml"
    path.write_text(yaml.safe_dump(eta))
    with pytest.raises(SpecError, match="regression"):
        load_spec(path)


def test_adoption_incidents_can_page() -> None:
    raw = _raw()
    raw["notifications"]["page_for"] = ["performance", "adoption"]
    assert MonitorSpec.model_validate(raw).notifications.page_for == ["performance", "adoption"]


def test_validate_prints_the_adoption_checks_and_their_limits(tmp_path: Path, capsys, monkeypatch) -> None:
    from gapwatch.cli.main import main

    monkeypatch.setenv("GAPWATCH_DEMO_SOURCE_URL", "sqlite://")  # validate checks url_env is set
    raw = _raw()
    raw["adoption"]["checks"]["time_to_action_p90"] = {"max_relative_drop": 2.0, "severity": "critical"}
    _write(tmp_path, raw)
    assert main(["validate", str(tmp_path)]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if "adoption (business owner)" in x)
    assert "decisions in credit_decisions within 2.0 days, at least 200 a window" in line
    assert "coverage (floor 0.8, max_drop 0.1; critical)" in line
    assert "time_to_action_p90 (max_relative_drop 2; critical)" in line
    assert "outcome_sum (shown, not judged)" in line


def test_validate_says_nothing_of_adoption_without_the_section(tmp_path: Path, capsys, monkeypatch) -> None:
    from gapwatch.cli.main import main

    monkeypatch.setenv("GAPWATCH_DEMO_SOURCE_URL", "sqlite://")
    raw = _raw()
    del raw["adoption"]
    _write(tmp_path, raw)
    assert main(["validate", str(tmp_path)]) == 0
    assert "adoption" not in capsys.readouterr().out
