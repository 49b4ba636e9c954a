"""No data is not health, on the demo data and both store backends: empty windows publish
``no_data`` runs without a crash, never auto-resolve an incident, never close a ticket, raise the
volume incident, and show as ``no_data`` in the CLI's ``runs list`` and in Model Health."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from gapwatch import store
from gapwatch.catalog import FleetStatus, RunStatus, Verdict
from gapwatch.demo.timeline import DEMO_START, WINDOW
from gapwatch.pipeline import run_window
from gapwatch.spec import load_specs
from gapwatch.window import Window

pytestmark = pytest.mark.integration


def _window(k: int) -> Window:
    return Window(DEMO_START + (k - 1) * WINDOW, DEMO_START + k * WINDOW)


def _rows(table: sa.Table, *where) -> list[dict]:
    with store.engine().connect() as conn:
        return store.rows(conn, sa.select(table).where(*where).order_by(table.c.id if "id" in table.c else
                                                                        table.c.window_start))


def _suite_without_row_count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo's suite without its row-count expectation: only null rates and value ranges,
    which every empty window passes vacuously (the case that used to auto-resolve)."""
    from gapwatch import config

    source = config.settings().expectations_dir / "credit_default_inputs.json"
    suite = json.loads(source.read_text())
    suite["expectations"] = [e for e in suite["expectations"] if "row_count" not in e["type"]]
    folder = tmp_path / "expectations"
    folder.mkdir()
    (folder / source.name).write_text(json.dumps(suite))
    monkeypatch.setenv("GAPWATCH_EXPECTATIONS_DIR", str(folder))


def test_empty_windows_never_resolve_close_or_read_healthy(
    demo_env: Path, store_url: str, capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _suite_without_row_count(tmp_path, monkeypatch)
    spec = load_specs().by_name("credit_default")
    # A fix-feed ticket at the first failing window, so there is a ticket an empty window could close.
    spec = spec.model_copy(update={"policy": spec.policy.model_copy(update={"windows_before_ticket": 1})})
    for k in range(3, 6):  # window 5 is the feed break: data incident and ticket
        run_window(spec, _window(k))
    suite_check = f"readiness:{spec.readiness.suite}"
    (data_incident,) = _rows(store.incidents, store.incidents.c.check == suite_check)
    (ticket,) = _rows(store.tickets)
    assert data_incident["status"] == "open" and ticket["status"] == "open"

    # Windows 14-16: after the demo's twelve weeks, no predictions, and cohorts with none either.
    for k in (14, 15, 16):
        assert run_window(spec, _window(k))["status"] == RunStatus.NO_DATA

    (data_incident,) = _rows(store.incidents, store.incidents.c.check == suite_check)
    (ticket,) = _rows(store.tickets)
    assert data_incident["status"] == "open", "an empty window resolved a data incident"
    assert ticket["status"] == "open", "an empty window closed a ticket"
    late = _rows(store.findings, store.findings.c.window_start >= _window(14).start)
    by_check = {(f["window_start"].date(), f["check"]): f["status"] for f in late}
    # The null-rate suite passes on no rows: no_data, not ok; so do the built-in value checks.
    assert by_check[(_window(15).start.date(), suite_check)] == Verdict.NO_DATA
    assert by_check[(_window(15).start.date(), "readiness:scores")] == Verdict.NO_DATA
    assert by_check[(_window(15).start.date(), "metric:roc_auc")] == Verdict.NO_DATA
    assert by_check[(_window(15).start.date(), "readiness:volume")] == Verdict.BREACH
    # The volume check is on (the default): no rows raise a data incident of their own.
    (volume,) = _rows(store.incidents, store.incidents.c.check == "readiness:volume")
    assert volume["status"] == "open" and volume["opened_window"].date() == _window(14).start.date()
    runs = _rows(store.runs, store.runs.c.window_start >= _window(14).start)
    assert [r["status"] for r in runs] == [RunStatus.NO_DATA] * 3

    from gapwatch.cli.main import main

    capsys.readouterr()
    assert main(["runs", "list", "--monitor", "credit_default"]) in (0, None)
    listed = capsys.readouterr().out
    assert listed.count("no_data") >= 3

    from gapwatch.health import model as health

    with store.engine().connect() as conn:
        (row,) = [m for m in health.fleet(conn) if m["model"] == "credit_default"]
    assert row["status"] == FleetStatus.NO_DATA
    assert row["status_reason"]


def test_every_empty_window_from_the_start_is_no_data_not_awaiting_labels(demo_env: Path, store_url: str) -> None:
    spec = load_specs().by_name("delivery_eta")
    far = Window(DEMO_START + 40 * WINDOW, DEMO_START + 41 * WINDOW)
    assert run_window(spec, far)["status"] == RunStatus.NO_DATA
    assert far.end - far.start == timedelta(days=7)
