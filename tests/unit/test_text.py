"""One duration formatter for messages, Model Health and readiness descriptions."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gapwatch.text import duration_text


@pytest.mark.parametrize(
    ("delta", "long", "short"),
    [
        (timedelta(minutes=30), "30 min", "30min"),
        (timedelta(minutes=31, seconds=59), "31 min", "31min"),  # how long it waited: rounded down
        (timedelta(minutes=90), "90 min", "90min"),
        (timedelta(hours=1), "1 h", "1h"),  # exact units read as such
        (timedelta(hours=6), "6 h", "6h"),
        (timedelta(hours=2, minutes=19), "2 h", "2h"),
        (timedelta(hours=36), "36 h", "36h"),
        (timedelta(days=1), "1 day", "1d"),
        (timedelta(days=7), "7 days", "7d"),
        (timedelta(days=3, hours=4), "3 days", "3d"),
    ],
)
def test_duration_text(delta: timedelta, long: str, short: str) -> None:
    assert duration_text(delta) == long
    assert duration_text(delta, short=True) == short
