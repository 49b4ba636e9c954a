"""The data steward's CLI on the demo: ``readiness show --failed`` with the served Data Docs link,
``suite test`` (validates, prints, stores nothing), ``suite suggest --diff`` (writes nothing), and
``validate`` reading the predictions table's columns from the source.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from gapwatch.airflow.channels import default_senders
from gapwatch.cli.main import main
from gapwatch.demo.seed import FEED_BREAK_WINDOW, window_bounds
from gapwatch.pipeline import run_window
from gapwatch.spec import load_specs
from gapwatch.window import Window

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "include" / "expectations" / "credit_default_inputs.json"


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` with its size and modification time."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()}


def test_readiness_show_failed_lists_only_failures_with_the_served_link(
    demo_env: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GAPWATCH_AIRFLOW_URL", "https://airflow.example.org")
    spec = load_specs().by_name("credit_default")
    run_window(spec, Window(*window_bounds(FEED_BREAK_WINDOW)), senders=default_senders())
    capsys.readouterr()
    assert main(["readiness", "show", "credit_default", "--window", "2026-02-02", "--failed"]) == 0
    out = capsys.readouterr().out
    assert "Data Docs: https://airflow.example.org/gapwatch/health/data-docs/validations/credit_default_inputs/" in out
    assert "FAIL critical suite      expect_column_values_to_not_be_null" in out
    assert "ok  " not in out  # the expectations that held are left out
    assert main(["readiness", "show", "credit_default", "--window", "2026-02-02"]) == 0
    assert "ok   critical freshness" in capsys.readouterr().out
    assert main(["readiness", "show", "credit_default", "--window", "2026-02-02", "--failed", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["result"]["outcomes"] and not any(o["success"] for o in row["result"]["outcomes"])
    assert row["data_docs_url"].startswith("https://airflow.example.org/gapwatch/health/data-docs/")


def test_suite_test_validates_prints_and_stores_nothing(
    demo_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    spec = load_specs().by_name("credit_default")
    run_window(spec, Window(*window_bounds(FEED_BREAK_WINDOW - 1)), senders=default_senders())
    before = _tree(demo_env)
    capsys.readouterr()

    # a moment inside the feed-break window names that window
    assert main(["suite", "test", "credit_default", "--window", "2026-02-04T12:00"]) == 1
    out = capsys.readouterr().out
    assert "trial of" in out and "2026-02-02T00:00:00+00:00 .. 2026-02-09T00:00:00+00:00" in out
    assert "NOT READY" in out and "FAIL critical suite      expect_column_values_to_not_be_null" in out
    assert "Data Docs" not in out
    assert _tree(demo_env) == before, "suite test wrote into GAPWATCH_HOME (store, runs, Data Docs)"

    # an edited suite, tried before it is committed: utilization may be null now
    edited = json.loads(SUITE.read_text())
    edited["expectations"] = [e for e in edited["expectations"]
                              if e["kwargs"].get("column") != "utilization"]
    trial = tmp_path / "edited.json"
    trial.write_text(json.dumps(edited))
    assert main(["suite", "test", "credit_default", "--window", "2026-02-02", "--suite", str(trial), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["success"] and result["suite_file"] == str(trial)
    assert _tree(demo_env) == before


def test_suite_test_on_a_fresh_home_creates_no_store(demo_env: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["suite", "test", "credit_default", "--window", "2026-01-12", "--failed"]) == 0
    assert "ready" in capsys.readouterr().out
    assert not demo_env.exists() or not any(demo_env.rglob("*"))


def test_suggest_diff_prints_changes_and_writes_nothing(
    demo_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("GAPWATCH_EXPECTATIONS_DIR", str(tmp_path))
    path = tmp_path / SUITE.name
    shutil.copy(SUITE, path)
    start, _ = window_bounds(1)
    _, end = window_bounds(2)
    args = ["suite", "suggest", "credit_default", "--start", start.isoformat(), "--end", end.isoformat()]
    before = path.read_text()
    assert main([*args, "--diff"]) == 0
    out = capsys.readouterr().out
    assert path.read_text() == before
    assert f"suggested vs {path}" in out
    # the shipped suite keeps a hand-written row-count check the profile does not suggest
    assert "- expect_table_row_count_to_be_between " in out
    assert main([*args, "--force"]) == 0
    capsys.readouterr()
    assert main([*args, "--diff"]) == 0
    assert "(no differences)" in capsys.readouterr().out


def test_validate_reads_the_tables_columns_from_a_reachable_source(
    demo_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from gapwatch.readiness.suite_check import check_suite

    suite = json.loads(SUITE.read_text())
    suite["expectations"][0]["kwargs"]["column_set"].append("customer_phone")
    suite["expectations"].append({"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "customer_phone"}})
    path = tmp_path / SUITE.name
    path.write_text(json.dumps(suite))
    spec = load_specs().by_name("credit_default")
    check = check_suite(spec, path)
    assert check.columns_from == "table"
    assert check.errors == [
        f"{path}: expectation #22 (expect_column_values_to_not_be_null): column(s) ['customer_phone'] "
        "not in the table credit_predictions"
    ]
    assert check_suite(spec, SUITE).errors == []


def test_suggest_json_writes_the_suite_and_reports_it(
    demo_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("GAPWATCH_EXPECTATIONS_DIR", str(tmp_path))
    start, _ = window_bounds(1)
    _, end = window_bounds(2)
    args = ["suite", "suggest", "credit_default", "--start", start.isoformat(), "--end", end.isoformat(), "--json"]
    path = tmp_path / SUITE.name
    capsys.readouterr()
    assert main(args) == 0
    written = json.loads(capsys.readouterr().out)
    assert written["written"] is True and written["suite_file"] == str(path)
    assert written["suite"] == json.loads(path.read_text())  # what it reports is what it wrote
    assert written["expectations"] == len(written["suite"]["expectations"]) > 5
    # a second run refuses to overwrite: exit 1, nothing on stdout that a script would parse as success
    assert main(args) == 1
    refused = capsys.readouterr()
    assert refused.out == "" and "pass --force to overwrite it" in refused.err
    # --diff --json: the changes as a list, nothing written
    edited = json.loads(path.read_text())
    edited["expectations"] = edited["expectations"][1:]
    path.write_text(json.dumps(edited))
    assert main([*args, "--diff"]) == 0
    diff = json.loads(capsys.readouterr().out)
    assert diff["written"] is False and diff["exists"] is True
    assert len(diff["changes"]) == 1 and diff["changes"][0].startswith("+ ")
    assert json.loads(path.read_text()) == edited
