"""The window a run looks at and the time arithmetic around it (pure; no I/O).

A run evaluates the data interval ``[start, end)`` in UTC. Its *cohort* is the predictions made
one label delay earlier, whose labels have had time to arrive by the window's end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import overload


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
