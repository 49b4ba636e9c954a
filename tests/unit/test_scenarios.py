"""The scoreboard's promises, checked by running every scenario through the real evaluation."""

from __future__ import annotations

import pytest

from gapwatch.demo import scenarios


@pytest.fixture(scope="module")
def board() -> dict[str, scenarios.Score]:
    return {s.name: s for s in scenarios.run_all()}


def test_there_are_at_least_eight_scenarios_with_enough_healthy_windows(board) -> None:
    assert len(board) >= 8
    assert sum(s.healthy_runs for s in board.values()) >= 100


def test_every_harmful_degradation_is_flagged_within_one_window(board) -> None:
    degradations = [(s.name, d) for s in board.values() for d in s.delays]
    assert {name for name, _ in degradations} >= {
        "sudden_covariate_shift", "concept_drift", "gradual_drift", "late_labels",
        "small_sustained_drop_large_windows"}
    assert all(d is not None and d <= scenarios.DETECT_WITHIN for _, d in degradations), degradations
    assert sum(s.missed for s in board.values()) == 0


def test_false_alarms_on_at_most_two_percent_of_healthy_windows(board) -> None:
    alarms = sum(s.false_alarms for s in board.values())
    healthy = sum(s.healthy_runs for s in board.values())
    assert alarms <= 0.02 * healthy, (alarms, healthy)


def test_a_shift_that_does_not_hurt_warns_about_drift_but_raises_no_performance_alarm(board) -> None:
    for name in ("benign_shift", "prior_shift"):
        s = board[name]
        assert not s.onsets and s.perf_alarms == 0, name
        assert s.first_drift_after_change is not None and s.first_drift_after_change <= 1, name


def test_late_labels_are_caught_by_the_estimate_before_the_labels_mature() -> None:
    late = next(s for s in scenarios.scenarios() if s.name == "late_labels")
    results, _ = scenarios.run_scenario(late)
    onset = next(r.t for r in results if r.truth_window == "harmful")
    assert results[onset].estimate_alarm and not results[onset].performance_alarm
    assert any(r.performance_alarm for r in results[onset + late.label_delay:])


def test_a_small_sustained_drop_on_large_windows_is_flagged_as_soon_as_its_labels_mature(board) -> None:
    # A 1-point ROC AUC drop of a strong model, limit spread_k 3 over 10 sub-windows: the spread
    # holds the sampling noise, so the value alone decides and the first matured cohort breaches.
    small = next(s for s in scenarios.scenarios() if s.name == "small_sustained_drop_large_windows")
    assert small.metric["spread_k"] == 3 and small.sub_windows == 10 and set(small.sizes) == {5000}
    results, facts = scenarios.run_scenario(small)
    onset = next(r.t for r in results if r.truth_window == "harmful")
    assert results[onset].oracle == pytest.approx(results[0].oracle - 0.01, abs=0.001)
    assert not any(r.performance_alarm or r.estimate_alarm for r in results[:onset + small.label_delay])
    assert all(r.performance_alarm for r in results[onset + small.label_delay:])
    assert board[small.name].delays == [small.label_delay] and board[small.name].false_alarms == 0


def test_the_kept_scoreboard_is_the_current_one(board) -> None:
    kept = (scenarios.Path(__file__).resolve().parents[2] / "docs" / "scoreboard.md").read_text()
    assert scenarios.table(list(board.values())) in kept, "run `make scenarios` and commit docs/scoreboard.md"
