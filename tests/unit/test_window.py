"""Label delays in durations, schedule windows and calendar months, and the schedule's windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from gapwatch.spec import GroundTruthTable, LabelDelay
from gapwatch.window import Window, schedule_windows, shift

MONTHLY = "0 0 1 * *"
WEEKLY = "0 0 * * 1"


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _delay(text: str | int) -> LabelDelay:
    return LabelDelay.model_validate(text)


@pytest.mark.parametrize(
    ("text", "field", "value", "words"),
    [
        ("7d", "duration", timedelta(days=7), "7 days"),
        ("36h", "duration", timedelta(hours=36), "36 hours"),
        ("2w", "duration", timedelta(weeks=2), "14 days"),
        ("90m", "duration", timedelta(minutes=90), "90 minutes"),
        (3600, "duration", timedelta(hours=1), "1 hour"),
        ("1 window", "windows", 1, "1 window"),
        ("2 windows", "windows", 2, "2 windows"),
        ("1mo", "months", 1, "1 month"),
        ("3 months", "months", 3, "3 months"),
    ],
)
def test_label_delay_units_parse_and_read_back_in_words(text, field, value, words) -> None:
    delay = _delay(text)
    assert getattr(delay, field) == value
    assert {f for f in ("duration", "windows", "months") if getattr(delay, f) is not None} == {field}
    assert delay.describe() == words == str(delay)


@pytest.mark.parametrize("text", ["a week", "1 fortnight", "0 windows", "-1mo", "1.5d"])
def test_a_bad_label_delay_names_the_field_and_what_is_allowed(text) -> None:
    with pytest.raises(ValidationError) as err:
        GroundTruthTable(table="t", id="id", label="y", arrived_at="at", delay=text)
    message = str(err.value)
    assert "delay" in message
    if text != "0 windows":
        assert "1 window" in message and "1mo" in message and "7d" in message


def test_a_delay_of_one_window_is_exactly_the_previous_monthly_window() -> None:
    # Monthly windows are 28 to 31 days long: no fixed duration lands on the previous window.
    delay = _delay("1 window")
    march = Window(_utc(2026, 3, 1), _utc(2026, 4, 1))
    assert march.cohort(delay, MONTHLY) == Window(_utc(2026, 2, 1), _utc(2026, 3, 1))
    april = Window(_utc(2026, 4, 1), _utc(2026, 5, 1))
    assert april.cohort(delay, MONTHLY) == march
    assert march.cohort(_delay("2 windows"), MONTHLY) == Window(_utc(2026, 1, 1), _utc(2026, 2, 1))
    # A fixed 30 days would straddle two months instead:
    assert march.cohort(_delay("30d"), MONTHLY).start == _utc(2026, 1, 30)


def test_a_delay_in_windows_follows_a_weekly_and_a_daily_schedule() -> None:
    week = Window(_utc(2026, 1, 19), _utc(2026, 1, 26))
    assert week.cohort(_delay("1 window"), WEEKLY) == Window(_utc(2026, 1, 12), _utc(2026, 1, 19))
    assert week.cohort(_delay("2 windows"), WEEKLY) == Window(_utc(2026, 1, 5), _utc(2026, 1, 12))
    day = Window(_utc(2026, 3, 2, 6), _utc(2026, 3, 3, 6))
    assert day.cohort(_delay("1 window"), "0 6 * * *") == Window(_utc(2026, 3, 1, 6), _utc(2026, 3, 2, 6))


def test_a_delay_in_calendar_months_clamps_to_the_end_of_shorter_months() -> None:
    delay = _delay("1mo")
    assert Window(_utc(2026, 3, 1), _utc(2026, 4, 1)).cohort(delay, WEEKLY) == Window(
        _utc(2026, 2, 1), _utc(2026, 3, 1))
    assert shift(_utc(2026, 3, 31), delay, WEEKLY, -1) == _utc(2026, 2, 28)
    assert shift(_utc(2024, 3, 31), delay, WEEKLY, -1) == _utc(2024, 2, 29)
    assert shift(_utc(2026, 1, 31), delay, WEEKLY, 3) == _utc(2026, 4, 30)
    assert shift(_utc(2026, 12, 15), _delay("2 months"), WEEKLY, 1) == _utc(2027, 2, 15)


def test_durations_keep_their_meaning() -> None:
    window = Window(_utc(2026, 1, 12), _utc(2026, 1, 19))
    assert window.cohort(_delay("7d"), WEEKLY) == window.shifted(timedelta(days=7))
    assert window.cohort(_delay("36h"), WEEKLY) == Window(_utc(2026, 1, 10, 12), _utc(2026, 1, 17, 12))
    assert shift(_utc(2026, 1, 19), _delay("2w"), WEEKLY, 3) == _utc(2026, 3, 2)


def test_shifted_bounds_key_like_the_same_window_reached_any_other_way() -> None:
    back = Window(_utc(2026, 2, 1), _utc(2026, 3, 1)).cohort(_delay("1 window"), MONTHLY)
    assert back.key == "2026-01-01T000000Z" and back.start.fold == 0 and back.start.tzinfo is not None


def test_schedule_windows_are_the_whole_windows_inside_the_range_in_order() -> None:
    windows = schedule_windows(WEEKLY, _utc(2026, 1, 5), _utc(2026, 2, 16))
    assert [w.start.date().isoformat() for w in windows] == [
        "2026-01-05", "2026-01-12", "2026-01-19", "2026-01-26", "2026-02-02", "2026-02-09"]
    assert all(w.end - w.start == timedelta(days=7) for w in windows)
    # Bounds between ticks: partial windows at either edge are left out.
    inner = schedule_windows(WEEKLY, _utc(2026, 1, 6), _utc(2026, 1, 28))
    assert [(w.start.day, w.end.day) for w in inner] == [(12, 19), (19, 26)]
    months = schedule_windows(MONTHLY, _utc(2026, 1, 1), _utc(2026, 4, 1))
    assert [(w.end - w.start).days for w in months] == [31, 28, 31]
    assert schedule_windows(WEEKLY, _utc(2026, 1, 5), _utc(2026, 1, 11)) == []
