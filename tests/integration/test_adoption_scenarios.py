"""The adoption rows of the scoreboard hold their promises: every adoption problem flagged within
one window of its onset, no adoption alarm on a window without one (broken feeds included: those
are data incidents, raised at once), and docs/scoreboard.md shows the current rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from gapwatch.demo import adoption_scenarios as board_code

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def board() -> dict[str, board_code.AdoptionScore]:
    return {s.name: s for s in board_code.run_all()}


def test_the_four_stories_are_on_the_board(board) -> None:
    assert set(board) == {"trust_erosion_after_shift", "team_never_adopts", "healthy_adoption_with_noise",
                          "broken_decisions_feed"}
    assert sum(s.healthy_runs for s in board.values()) >= 50


def test_every_adoption_problem_is_flagged_within_one_window(board) -> None:
    problems = {name: s.delay for name, s in board.items() if s.onset is not None}
    assert set(problems) == {"trust_erosion_after_shift", "team_never_adopts"}
    assert all(d is not None and d <= board_code.DETECT_WITHIN for d in problems.values()), problems
    assert board_code.summary_row(list(board.values()))["missed"] == 0


def test_no_false_adoption_alarm_and_a_broken_feed_is_a_data_incident(board) -> None:
    totals = board_code.summary_row(list(board.values()))
    assert totals["false_alarms"] == 0 and totals["feed_false_alarms"] == 0
    feed = board["broken_decisions_feed"]
    assert feed.feed_delay == 0 and feed.false_alarms == 0


def test_the_kept_scoreboard_shows_the_current_adoption_rows(board) -> None:
    kept = (ROOT / "docs" / "scoreboard.md").read_text()
    assert board_code.table(list(board.values())) in kept, "run `make scenarios` and commit docs/scoreboard.md"
