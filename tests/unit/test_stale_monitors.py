"""A monitor that stopped running reads ``stale``, not the last thing it saw."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gapwatch.catalog import FleetStatus
from gapwatch.health.palette import BADGES, FLEET_COLOURS, STATUS_LABELS
from gapwatch.health.staleness import stale_reason
from gapwatch.spec import load_spec

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]
MONDAY = datetime(2026, 1, 5, 0, 20, tzinfo=UTC)  # weekly monitor ('0 0 * * 1'), ran 20 min past


@pytest.fixture
def spec():
    spec = load_spec(ROOT / "include" / "monitors" / "credit_default.yml")
    assert spec.schedule == "0 0 * * 1"
    return spec


def test_a_monitor_is_stale_after_two_missed_schedule_intervals(spec) -> None:
    latest = {"updated_at": MONDAY}
    assert stale_reason(spec, latest, None, paused=False, now=MONDAY + timedelta(days=13)) is None
    # Ticks at Jan 12 and Jan 19 00:00 were both due and nothing ran.
    reason = stale_reason(spec, latest, None, paused=False, now=datetime(2026, 1, 19, 0, 1, tzinfo=UTC))
    assert reason == ("no run since 2026-01-05 00:20 UTC (clock time); 2 runs of schedule '0 0 * * 1' "
                      "were due by 2026-01-19 00:00 UTC")
    # A naive stored timestamp is UTC, as the store keeps it.
    assert stale_reason(spec, {"updated_at": MONDAY.replace(tzinfo=None)}, None, paused=False,
                        now=MONDAY + timedelta(days=20))


def test_a_newer_dag_run_counts_as_activity_and_a_paused_dag_is_stale_once_a_run_is_missed(spec) -> None:
    later = MONDAY + timedelta(days=14)  # the newest DAG run's run_after
    now = MONDAY + timedelta(days=20)
    assert stale_reason(spec, {"updated_at": MONDAY}, later, paused=False, now=now) is None
    assert stale_reason(spec, None, None, paused=False, now=now) is None  # never ran: "no runs"
    # Paused right after its run: nothing missed yet. Past the next Monday: stale.
    assert stale_reason(spec, {"updated_at": MONDAY}, None, paused=True, now=MONDAY + timedelta(days=6)) is None
    assert stale_reason(spec, {"updated_at": MONDAY}, None, paused=True, now=MONDAY + timedelta(days=8)) == (
        "the DAG gapwatch__credit_default is paused: no run since 2026-01-05 00:20 UTC (clock time); "
        "its run due 2026-01-12 00:00 UTC did not happen")
    assert stale_reason(spec, None, None, paused=True, now=MONDAY) == (
        "the DAG gapwatch__credit_default is paused and has never run")


def test_stale_has_a_label_a_colour_and_sorts_right_after_broken() -> None:
    order = list(FleetStatus)
    assert order.index(FleetStatus.STALE) == order.index(FleetStatus.MONITOR_BROKEN) + 1
    assert STATUS_LABELS[FleetStatus.STALE] == "stale (not running)"
    assert FleetStatus.STALE in FLEET_COLOURS and FleetStatus.STALE in BADGES
