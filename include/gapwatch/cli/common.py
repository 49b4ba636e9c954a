"""What every ``gapwatch`` command shares: exit codes, usage errors, human dates and output.

Exit codes: 0 ok, 1 a check failed or a thing was not found (or could not change), 2 usage (an
unknown value, a date that does not parse). Scripts tell "fix your command" from "look at the
monitor" by them.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(ValueError):
    """The command line asks for something that cannot exist (exit 2, like argparse)."""


class CheckFailed(Exception):
    """The command was well formed but what it asks cannot be done now (exit 1), e.g. resolving
    an incident that is already resolved."""


def require_choice(option: str, value: str | None, allowed: list[str]) -> None:
    """Refuse a value outside ``allowed``, listing the allowed ones (a typo is not "(none)")."""
    if value is not None and value not in allowed:
        shown = ", ".join(sorted(allowed)) or "(none)"
        raise UsageError(f"{option}: unknown value {value!r}; allowed: {shown}")


_RELATIVE = re.compile(r"^now\s*(?:([+-])\s*(\d+)\s*([mhdw]))?$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
DATE_HELP = "UTC: 2026-01-05, '2026-01-05 10:00', 2026-01-05T10:00:00+01:00, now, now+2h, now-3d (m h d w)"


def parse_when(text: str, *, option: str = "date", now: datetime | None = None) -> datetime:
    """A date or time as people type it, as an aware UTC datetime.

    Accepts ISO dates and date-times (a space or ``T``; no offset means UTC) and ``now``,
    ``now+2h``, ``now-3d`` (minutes, hours, days, weeks).

    Raises:
        UsageError: saying which forms are accepted, instead of "Invalid isoformat string".
    """
    cleaned = text.strip().lower()
    match = _RELATIVE.match(cleaned)
    if match:
        base = now or datetime.now(UTC)
        if not match.group(1):
            return base
        delta = timedelta(**{_UNITS[match.group(3)]: int(match.group(2))})
        return base + delta if match.group(1) == "+" else base - delta
    try:
        value = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        raise UsageError(f"{option}: cannot read {text!r} as a date; use {DATE_HELP}") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def age(since: datetime | None, now: datetime | None = None) -> str | None:
    """How long ago, in the largest whole unit (``3d``, ``5h``, ``12m``)."""
    if since is None:
        return None
    since = since.replace(tzinfo=UTC) if since.tzinfo is None else since
    seconds = max(0, int(((now or datetime.now(UTC)) - since).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def print_json(value: Any) -> None:
    print(json.dumps(value, default=str, indent=2))
