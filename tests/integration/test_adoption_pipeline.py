"""Adoption through the real stages over the demo's twelve windows, asserting what a business
owner would see: team east's coverage incident, the overrides after the shift (rightly made),
an adoption ticket, nothing for the healthy delivery model; reruns change nothing; and a spec
without an adoption section runs exactly as it did before adoption existed."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from gapwatch import operations, store
from gapwatch.airflow.channels import default_senders
from gapwatch.demo import runner
from gapwatch.demo.decisions import EAST_LATE_FROM_WINDOW
from gapwatch.demo.seed import SHIFT_FROM_WINDOW, window_bounds
from gapwatch.evaluation.adoption import Measure, override_verdict
from gapwatch.health import adoption as health_adoption
from gapwatch.incidents import lifecycle as incidents_lifecycle
from gapwatch.pipeline import run_window
from gapwatch.spec import load_specs
from gapwatch.spec_adoption import ADOPTION_KINDS
from gapwatch.window import Window

pytestmark = pytest.mark.integration
START = {k: window_bounds(k)[0] for k in range(1, 13)}


def _run(spec, windows: range) -> None:
    for k in windows:
        run_window(spec, Window(*window_bounds(k)), airflow_run_id=f"manual__{spec.name}_{k}",
                   senders=default_senders())


def _counts() -> dict[str, int]:
    tables = (store.incidents, store.tickets, store.outbox, store.incident_events, store.findings,
              store.adoption_values)
    with store.engine().connect() as conn:
        return {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar() for t in tables}


def test_demo_adoption_over_twelve_windows(demo_env: Path, store_url: str, capsys) -> None:
    specs = load_specs()
    credit, eta = specs.by_name("credit_default"), specs.by_name("delivery_eta")
    for k in range(1, 13):
        _run(credit, range(k, k + 1))
        _run(eta, range(k, k + 1))

    with store.engine().connect() as conn:
        incidents = store.rows(conn, sa.select(store.incidents).order_by(store.incidents.c.id))
        tickets = store.rows(conn, sa.select(store.tickets).order_by(store.tickets.c.id))
        messages = store.rows(conn, sa.select(store.outbox).order_by(store.outbox.c.id))
        quality = store.rows(conn, sa.select(store.adoption_values).where(
            store.adoption_values.c.monitor == "credit_default", store.adoption_values.c.segment == "*",
            store.adoption_values.c.check == "override_quality").order_by(store.adoption_values.c.window_start))
        cells = health_adoption.summary_cells(conn)
        fleet = health_adoption.latest(conn)
        digest = operations.digest_message(conn, [credit], START[12] + timedelta(days=8))

    adoption = {i["check"]: i for i in incidents if i["kind"] in ADOPTION_KINDS}
    assert set(adoption) == {"adoption:coverage", "adoption:follow_rate"}
    assert all(i["monitor"] == "credit_default" for i in adoption.values())  # delivery_eta: none
    assert not [i for i in incidents if i["check"].startswith("readiness:decisions")]  # the feeds are fine

    # Team east stops acting within the SLA from window 6: a critical adoption incident that names
    # it, for the business owner, the window it starts.
    coverage = adoption["adoption:coverage"]
    assert coverage["opened_window"] == START[EAST_LATE_FROM_WINDOW]
    assert coverage["owner_role"] == "business_owner" and coverage["severity"] == "critical"
    assert "team east" in coverage["title"] and coverage["evidence"]["breaching_teams"] == ["east"]
    assert coverage["evidence"]["drivers"][0]["team"] == "east" and coverage["evidence"]["drivers"][0]["share"] > 0.8

    # After the covariate shift the underwriters override more, a warning; once the shifted
    # predictions' outcomes are in, the override quality says the people were right.
    follow = adoption["adoption:follow_rate"]
    assert START[SHIFT_FROM_WINDOW] <= follow["opened_window"] <= START[SHIFT_FROM_WINDOW + 1]
    assert follow["severity"] == "warning" and follow["owner_role"] == "business_owner"
    verdicts = {store.as_utc(r["window_start"]): override_verdict(
        Measure(r["value"], r["stderr"], r["n"], r["detail"]))["verdict"] for r in quality}
    assert all(verdicts[START[k]] == "humans_right" for k in range(SHIFT_FROM_WINDOW + 1, 13))
    assert all(verdicts[START[k]] != "humans_right" for k in range(2, SHIFT_FROM_WINDOW))
    assert follow["evidence"]["override_quality"]["verdict"] == "humans_right"  # the latest evidence
    assert cells[("credit_default", START[12])].endswith("people right")
    runner.print_summary()  # what `make demo` prints: an adoption column beside the model's verdicts
    printed = capsys.readouterr().out.splitlines()
    headers = [line.split() for line in printed if line.strip().startswith("window ")]
    assert len(headers) == 2 and all(h[-2:] == ["adoption", "status"] for h in headers)
    east_week = next(line for line in printed if line.strip().startswith(str(START[EAST_LATE_FROM_WINDOW].date())))
    assert "cov " in east_week and "%!" in east_week and f"opened #{coverage['id']}" in east_week

    # A sustained coverage drop raises an adoption ticket for the business owner; the overrides,
    # being right, raise none (the model needs the work: its retrain ticket).
    kinds = [(t["kind"], t["incident_id"]) for t in tickets]
    assert kinds == [("adoption", coverage["id"]), ("retrain", kinds[1][1])]
    assert tickets[0]["opened_window"] == START[EAST_LATE_FROM_WINDOW + 2]
    to_owner = [m for m in messages if m["recipient_role"] == "business_owner"]
    assert [m["payload"]["event"] for m in to_owner] == ["incident_opened", "ticket_opened", "incident_opened"]
    opened = to_owner[0]["body"]
    for expected in ("What broke: share of predictions acted on within the decision SLA (2.0 days)",
                     "team east", "Owner: Dana Whitfield", "check adoption:coverage"):
        assert expected in opened, expected
    delivered = [json.loads(line) for line in (demo_env / "outbox" / "messages.jsonl").read_text().splitlines()]
    assert {d["idempotency_key"] for d in delivered} == {m["idempotency_key"] for m in messages}

    assert fleet["credit_default"]["status"] == "breach"
    assert fleet["credit_default"]["breaching_teams"]["coverage"] == ["east"]
    assert fleet["delivery_eta"]["status"] == "ok" and fleet["delivery_eta"]["breaching_teams"] == {}
    body = digest.body
    assert body.index("Is it used, and does it pay?") < body.index("credit_default (v1.3.0)")
    assert "Business outcome (net_value)" in body and "healthy scepticism" in body

    # Reruns of the newest window and of an old one change nothing.
    before = _counts()
    _run(credit, range(12, 13))
    _run(credit, range(EAST_LATE_FROM_WINDOW, EAST_LATE_FROM_WINDOW + 1))
    assert _counts() == before

    # The business owner resolves it (team east retrained): its adoption ticket closes with it.
    with store.engine().begin() as conn:
        incidents_lifecycle.resolve(conn, credit, coverage["id"], by="Dana Whitfield", why="east back on the queue")
        statuses = {t["kind"]: t["status"] for t in store.rows(conn, sa.select(store.tickets))}
    assert statuses == {"adoption": "closed", "retrain": "open"}


def _model_side() -> dict[str, list]:
    """Everything the model-quality side of a run leaves in the store, ids left out."""
    def strip(rows: list[dict], drop: tuple[str, ...] = ("id",)) -> list[dict]:
        return [{k: v for k, v in r.items() if k not in drop} for r in rows]

    with store.engine().connect() as conn:
        runs = store.rows(conn, sa.select(store.runs).order_by(store.runs.c.window_start))
        for r in runs:
            r["summary"] = {k: v for k, v in r["summary"].items() if k != "changes"}
        incidents = [i for i in store.rows(conn, sa.select(store.incidents).order_by(store.incidents.c.opened_window,
                     store.incidents.c.fingerprint)) if i["kind"] not in ADOPTION_KINDS
                     and not i["check"].startswith("readiness:decisions")]
        findings = [f for f in store.rows(conn, sa.select(store.findings).order_by(
            store.findings.c.window_start, store.findings.c.fingerprint))
            if f["kind"] not in ADOPTION_KINDS and not f["check"].startswith("readiness:decisions")]
        return {
            "runs": strip(runs, ("id", "updated_at")),
            "metric_values": strip(store.rows(conn, sa.select(store.metric_values).order_by(
                store.metric_values.c.window_start, store.metric_values.c.segment, store.metric_values.c.metric))),
            "drift_values": strip(store.rows(conn, sa.select(store.drift_values).order_by(
                store.drift_values.c.window_start, store.drift_values.c.column, store.drift_values.c.method))),
            "findings": strip(findings),
            "incidents": strip(incidents, ("id", "opened_at", "updated_at", "resolved_at", "sla_due_at")),
            "adoption_values": store.rows(conn, sa.select(store.adoption_values)),
        }


def test_a_spec_without_adoption_runs_exactly_as_before(demo_env: Path, monkeypatch) -> None:
    spec = load_specs().by_name("credit_default")
    without = spec.model_copy(update={"adoption": None})
    results = {}
    for name, variant in (("with", spec), ("without", without)):
        monkeypatch.setenv("GAPWATCH_DB_URL", f"sqlite:///{demo_env / f'{name}.db'}")
        _run(variant, range(1, 10))
        results[name] = _model_side()
    with_adoption, plain = results["with"], results["without"]
    assert plain["adoption_values"] == [] and with_adoption["adoption_values"]
    for table in ("runs", "metric_values", "drift_values", "findings", "incidents"):
        assert plain[table] == with_adoption[table], table
    # The model's own story: data, estimate, drift, and every metric a check (roc_auc critical, f1
    # and accuracy warnings).
    assert sorted(i["check"] for i in plain["incidents"]) == [
        "drift", "estimate:roc_auc", "metric:accuracy", "metric:f1", "metric:roc_auc",
        "readiness:credit_default_inputs"]
