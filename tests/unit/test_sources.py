from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

from gapwatch import sources
from gapwatch.demo.seed import window_bounds
from gapwatch.spec import load_specs


def test_a_re_delivered_label_counts_once_and_the_latest_wins(demo_source: str, tmp_path: Path, monkeypatch) -> None:
    copy = tmp_path / "source.db"
    shutil.copy(demo_source.removeprefix("sqlite:///"), copy)
    url = f"sqlite:///{copy}"
    monkeypatch.setenv("GAPWATCH_DEMO_SOURCE_URL", url)
    spec = load_specs().by_name("credit_default")
    start, end = window_bounds(3)
    as_of = end + timedelta(days=30)
    before = sources.read_matured(spec, start, end, as_of)
    target = before.dropna(subset=["label"]).iloc[0]
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        # A truth table that accepts corrections (no primary key on the id), then one correction
        # of that label, delivered a day after the original.
        conn.execute(sa.text("CREATE TABLE outcomes_log AS SELECT * FROM credit_outcomes"))
        conn.execute(sa.text("DROP TABLE credit_outcomes"))
        conn.execute(sa.text("ALTER TABLE outcomes_log RENAME TO credit_outcomes"))
        conn.execute(sa.text(
            "INSERT INTO credit_outcomes (prediction_id, defaulted, label_arrived_at) "
            "SELECT prediction_id, 1 - defaulted, datetime(label_arrived_at, '+1 day') "
            "FROM credit_outcomes WHERE prediction_id = :pid"), {"pid": target["prediction_id"]})
    after = sources.read_matured(spec, start, end, as_of)
    assert len(after) == len(before)
    row = after.set_index("prediction_id").loc[target["prediction_id"]]
    assert row["label"] == 1 - target["label"]


def test_window_bounds_in_another_time_zone_read_the_same_rows(demo_env: Path) -> None:
    spec = load_specs().by_name("credit_default")
    start, end = window_bounds(2)
    plus_one = timezone(timedelta(hours=1))
    utc_rows = sources.read_window(spec, start, end)
    shifted_rows = sources.read_window(spec, start.astimezone(plus_one), end.astimezone(plus_one))
    assert start.tzinfo == UTC and len(utc_rows) == len(shifted_rows) > 0
    assert datetime.fromisoformat(str(shifted_rows["scored_at"].min())) >= start.replace(tzinfo=None)


def test_a_window_given_in_another_time_zone_keys_like_its_utc_twin() -> None:
    from gapwatch.window import Window

    local = Window.parse("2026-01-05T01:00:00+01:00", "2026-01-12T01:00:00+01:00")
    utc = Window.parse("2026-01-05T00:00:00+00:00", "2026-01-12T00:00:00+00:00")
    assert local == utc and local.key == "2026-01-05T000000Z"
