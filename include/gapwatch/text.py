"""Small formatting shared by messages, Model Health and readiness descriptions."""

from __future__ import annotations

from datetime import timedelta

_DAY = 24 * 60


def duration_text(delta: timedelta, *, short: bool = False) -> str:
    """A duration in the largest unit that reads well: ``7 days``, ``36 h``, ``90 min``.

    Exact when the duration is a whole number of days or hours (a label delay, an SLA, a
    freshness limit); otherwise rounded down to minutes below two hours, hours below two days
    and days beyond (how long an incident has waited), where the rest does not matter.

    Args:
        delta: The duration.
        short: ``7d``, ``36h``, ``90min``: for text that packs several limits in one line.

    Returns:
        The text.
    """
    minutes = int(delta.total_seconds() // 60)
    if (minutes >= _DAY and minutes % _DAY == 0) or minutes >= 2 * _DAY:
        days = minutes // _DAY
        return f"{days}d" if short else f"{days} day" + ("" if days == 1 else "s")
    if (minutes >= 60 and minutes % 60 == 0) or minutes >= 120:
        return f"{minutes // 60}h" if short else f"{minutes // 60} h"
    return f"{minutes}min" if short else f"{minutes} min"
