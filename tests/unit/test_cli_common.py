"""Human dates, choices and ages of the command line (``gapwatch.cli.common``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gapwatch.cli.common import UsageError, age, parse_when, require_choice

pytestmark = pytest.mark.unit
NOW = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-05", datetime(2026, 1, 5, tzinfo=UTC)),
        ("2026-01-05 10:00", datetime(2026, 1, 5, 10, tzinfo=UTC)),
        ("2026-01-05T10:00:00+01:00", datetime(2026, 1, 5, 9, tzinfo=UTC)),
        ("2026-01-05T10:00:00Z", datetime(2026, 1, 5, 10, tzinfo=UTC)),
        ("now", NOW),
        ("now+2h", NOW + timedelta(hours=2)),
        ("NOW + 30m", NOW + timedelta(minutes=30)),
        ("now-3d", NOW - timedelta(days=3)),
        ("now+1w", NOW + timedelta(weeks=1)),
    ],
)
def test_dates_as_people_type_them(text: str, expected: datetime) -> None:
    assert parse_when(text, now=NOW) == expected


@pytest.mark.parametrize("text", ["next tuesday", "05/01/2026", "now+2y", "2026-13-01"])
def test_an_unreadable_date_says_which_forms_work(text: str) -> None:
    with pytest.raises(UsageError) as err:
        parse_when(text, option="--until", now=NOW)
    assert str(err.value).startswith(f"--until: cannot read {text!r} as a date; use UTC: 2026-01-05")
    assert "now+2h" in str(err.value) and "isoformat" not in str(err.value)


def test_an_unknown_choice_lists_the_allowed_ones() -> None:
    require_choice("--monitor", "credit_default", ["credit_default", "eta"])
    with pytest.raises(UsageError, match=r"--monitor: unknown value 'credit_defualt'; allowed: credit_default, eta"):
        require_choice("--monitor", "credit_defualt", ["eta", "credit_default"])


def test_age_in_the_largest_whole_unit() -> None:
    assert age(None) is None
    assert age(NOW - timedelta(days=3, hours=5), NOW) == "3d"
    assert age(NOW - timedelta(hours=5, minutes=59), NOW) == "5h"
    assert age((NOW - timedelta(minutes=12)).replace(tzinfo=None), NOW) == "12m"
    assert age(NOW - timedelta(seconds=4), NOW) == "4s"


def test_validate_speaks_json_with_the_same_exit_code(tmp_path, capsys, monkeypatch) -> None:
    import json
    from pathlib import Path

    import yaml

    from gapwatch.cli.main import main

    root = Path(__file__).resolve().parents[2]
    # validate reports an unset source.url_env: the demo specs read this one.
    monkeypatch.setenv("GAPWATCH_DEMO_SOURCE_URL", f"sqlite:///{tmp_path / 'demo.db'}")
    assert main(["validate", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True and report["errors"] == []
    assert {v["monitor"] for v in report["valid"]} == {"credit_default", "delivery_eta"}
    assert any(line.startswith("labels judged") for line in report["valid"][0]["checks"])
    data = yaml.safe_load((root / "include" / "monitors" / "credit_default.yml").read_text())
    data["readiness"]["suite"] = "no_such_suite"
    (tmp_path / "credit_default.yml").write_text(yaml.safe_dump(data))
    assert main(["validate", str(tmp_path), "--json"]) == 1
    broken = json.loads(capsys.readouterr().out)
    assert broken["ok"] is False and broken["valid"] == [] and "no_such_suite.json does not exist" in broken["errors"][0]
