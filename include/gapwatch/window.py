"""The window a run looks at and the time arithmetic around it (pure; no I/O).

A run evaluates the data interval ``[start, end)`` in UTC. Its *cohort* is the predictions made
one label delay earlier, whose labels have had time to arrive by the window's end. A label delay
is a duration, a number of the schedule's windows, or calendar months (``spec.LabelDelay``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, overload

if TYPE_CHECKING:
    from gapwatch.spec_fields import LabelDelay


def utcnow() -> datetime:
    return datetime.now(UTC)


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: None) -> None: ...
def as_utc(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; everything gapwatch stores is UTC. An aware value in
    another zone (``--start 2026-01-05T00:00+01:00``) is converted, so windows key the same."""
    if value is None:
        return value
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def naive_utc(value: datetime) -> datetime:
    """Source tables store naive UTC timestamps (the common case for event tables)."""
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _cron_step(schedule: str, moment: datetime, times: int) -> datetime:
    # croniter is what Airflow's CronDataIntervalTimetable uses, so the steps are Airflow's windows.
    from croniter import croniter

    cron = croniter(schedule, moment)
    for _ in range(abs(times)):
        moment = cron.get_next(datetime) if times > 0 else cron.get_prev(datetime)
    return _tick(moment)


def _tick(value: datetime) -> datetime:
    # croniter can return fold=1 after stepping back; UTC has no folds, and keys must compare equal.
    return as_utc(value).replace(fold=0)


def shift(moment: datetime, delay: LabelDelay, schedule: str, times: int = 1) -> datetime:
    """``moment`` moved by ``times`` label delays (negative: back in time).

    Args:
        moment: an aware UTC datetime.
        delay: the spec's label delay.
        schedule: the monitor's cron expression; a delay in windows steps along its ticks
            (from a moment between ticks, the first step lands on the nearest tick).
        times: how many delays, and which way.
    """
    moment = as_utc(moment)
    if delay.windows is not None:
        return _cron_step(schedule, moment, times * delay.windows)
    if delay.months is not None:
        from dateutil.relativedelta import relativedelta

        return moment + relativedelta(months=times * delay.months)
    assert delay.duration is not None
    return moment + times * delay.duration


def schedule_windows(schedule: str, start: datetime, end: datetime) -> list[Window]:
    """Every window of the cron ``schedule`` that lies inside ``[start, end)``, in order.

    The first window starts at the first tick at or after ``start``; the last ends at or before
    ``end`` (a partial window at either edge is left out: it would be judged on part of its data).
    """
    from croniter import croniter

    start_utc, end_utc = as_utc(start), as_utc(end)
    assert start_utc is not None and end_utc is not None
    cron = croniter(schedule, start_utc - timedelta(microseconds=1))
    previous = _tick(cron.get_next(datetime))
    windows: list[Window] = []
    while True:
        following = _tick(cron.get_next(datetime))
        if following > end_utc:
            return windows
        windows.append(Window(previous, following))
        previous = following


@dataclass(frozen=True)
class Window:
    """The data interval a run looks at: ``[start, end)`` in UTC."""

    start: datetime
    end: datetime

    @classmethod
    def parse(cls, start: str | datetime, end: str | datetime) -> Window:
        def _dt(v: str | datetime) -> datetime:
            value = datetime.fromisoformat(v) if isinstance(v, str) else v
            return as_utc(value)

        return cls(_dt(start), _dt(end))

    @property
    def key(self) -> str:
        return self.start.strftime("%Y-%m-%dT%H%M%SZ")

    def shifted(self, delta: timedelta) -> Window:
        return Window(self.start - delta, self.end - delta)

    def cohort(self, delay: LabelDelay, schedule: str) -> Window:
        """The window whose predictions this run judges: both bounds one label delay earlier.

        With a delay in windows that is exactly the schedule's earlier window, whatever its length.
        """
        return Window(shift(self.start, delay, schedule, -1), shift(self.end, delay, schedule, -1))
