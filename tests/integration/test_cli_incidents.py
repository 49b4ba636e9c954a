"""The on-call engineer's command line: listings that refuse typos, unresolved-first defaults,
idempotent acknowledgement, ``--json`` everywhere, exit codes and human dates."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from loopback import wire_connections, wired_spec_dir

from gapwatch import store
from gapwatch.cli import main as cli
from gapwatch.demo.seed import window_bounds
from gapwatch.incidents import lifecycle as incidents
from gapwatch.policy import make_finding
from gapwatch.spec import load_specs
from gapwatch.window import Window

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def spec(gapwatch_home, store_url, fake_services, monkeypatch, tmp_path):
    wire_connections(monkeypatch, fake_services)
    folder = wired_spec_dir(tmp_path, ROOT, channels=["file"])
    monkeypatch.setenv("GAPWATCH_MONITORS_DIR", str(folder))
    return load_specs().by_name("credit_default")


def _breach(spec, k: int = 1) -> None:
    evidence = {"metric": "roc_auc", "value": 0.70, "stderr": 0.012, "threshold": 0.772,
                "baseline": 0.822, "labeled": 2900, "pending": 60}
    finding = make_finding(spec, kind="performance", check="metric:roc_auc", status="breach", evidence=evidence)
    with store.engine().begin() as conn:
        incidents.apply_findings(conn, spec, Window(*window_bounds(k)), [finding], run_link="http://airflow/x")


def _json(capsys) -> object:
    return json.loads(capsys.readouterr().out)


def test_listings_refuse_unknown_statuses_and_monitors(spec, capsys) -> None:
    _breach(spec)
    assert cli.main(["incidents", "list", "--status", "opn"]) == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'opn'" in err and "'open', 'acknowledged', 'resolved'" in err
    assert cli.main(["incidents", "list", "--monitor", "credit_defualt"]) == 2
    err = capsys.readouterr().err
    assert "--monitor: unknown value 'credit_defualt'; allowed: " in err and "credit_default" in err
    assert cli.main(["runs", "list", "--status", "healthyy"]) == 2
    assert cli.main(["incidents", "list", "--monitor", "credit_default", "--status", "open"]) == 0
    assert "credit_default" in capsys.readouterr().out


def test_incidents_list_shows_the_unresolved_with_owner_snooze_and_age(spec, capsys) -> None:
    _breach(spec)
    assert cli.main(["incidents", "list"]) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header.split()[:8] == ["id", "monitor", "kind", "severity", "status", "acknowledged_by",
                                  "snoozed_until", "age"]
    assert row.split()[4:8] == ["open", "-", "-", row.split()[7]] and row.split()[7][-1] in "smhd"
    assert cli.main(["incidents", "ack", "1", "--by", "ravi.menon"]) == 0
    capsys.readouterr()
    assert cli.main(["incidents", "list", "--json"]) == 0
    [listed] = _json(capsys)
    assert listed["acknowledged_by"] == "ravi.menon" and listed["status"] == "acknowledged"
    assert cli.main(["incidents", "resolve", "1", "--by", "ravi.menon"]) == 0
    capsys.readouterr()
    assert cli.main(["incidents", "list"]) == 0
    assert capsys.readouterr().out.strip() == "(none)"  # resolved: not on the default list
    assert cli.main(["incidents", "list", "--all", "--json"]) == 0
    assert [i["status"] for i in _json(capsys)] == ["resolved"]


def test_a_repeated_ack_succeeds_and_names_who_got_there_first(spec, capsys) -> None:
    _breach(spec)
    assert cli.main(["incidents", "ack", "1", "--by", "ravi.menon", "--json"]) == 0
    first = _json(capsys)
    assert first["incident"]["status"] == "acknowledged" and first["message"] == "incident #1 is now acknowledged"
    assert cli.main(["incidents", "ack", "1", "--by", "someone"]) == 0
    assert "incident #1 is already acknowledged by ravi.menon" in capsys.readouterr().out
    with store.engine().connect() as conn:
        trail = [(e["actor"], e["action"]) for e in incidents.audit_trail(conn, 1)]
    assert trail == [("gapwatch", "opened"), ("ravi.menon", "acknowledged")]  # nothing new recorded


def test_lifecycle_commands_speak_json_and_use_distinct_exit_codes(spec, capsys) -> None:
    _breach(spec)
    assert cli.main(["incidents", "snooze", "1", "--by", "x", "--until", "next tuesday"]) == 2
    assert "cannot read 'next tuesday' as a date" in capsys.readouterr().err
    assert cli.main(["incidents", "snooze", "1", "--by", "x", "--until", "now-1h"]) == 2
    assert "is not in the future" in capsys.readouterr().err
    assert cli.main(["incidents", "snooze", "1", "--by", "x", "--until", "now+2h", "--json"]) == 0
    snoozed = _json(capsys)
    until = store.as_utc(datetime.fromisoformat(snoozed["incident"]["snoozed_until"]))
    assert timedelta(minutes=119) < until - store.utcnow() <= timedelta(hours=2)
    assert cli.main(["incidents", "resolve", "1", "--by", "x", "--json"]) == 0
    assert _json(capsys)["incident"]["status"] == "resolved"
    assert cli.main(["incidents", "resolve", "1", "--by", "x"]) == 1  # already resolved: not usage
    assert "is resolved; cannot resolve it" in capsys.readouterr().err
    assert cli.main(["incidents", "show", "99"]) == 1  # not found
    assert "no incident #99" in capsys.readouterr().err
    assert cli.main(["incidents", "ack", "99", "--by", "x"]) == 1
    assert cli.main(["messages", "retry", "99", "--json"]) == 1
    assert cli.main(["incidents", "show", "1", "--json"]) == 0
    assert [e["action"] for e in _json(capsys)["events"]] == ["opened", "snoozed", "resolved"]
    assert cli.main(["incidents", "frobnicate"]) == 2  # usage, returned rather than raised


def test_no_broken_pipe_traceback_when_the_reader_leaves(spec) -> None:
    _breach(spec)
    read, write = os.pipe()
    os.close(read)  # like `| head` having exited: every write fails with EPIPE
    gapwatch = Path(sys.executable).parent / "gapwatch"
    done = subprocess.run([str(gapwatch), "incidents", "list"], stdout=write, stderr=subprocess.PIPE,
                          text=True, env=os.environ.copy(), timeout=120)
    os.close(write)
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr
    assert done.returncode == 1
