"""Adoption in Model Health, the demo summary and the digest: read from ``adoption_values``.

Pure Python over the store (no Airflow): the per-model Adoption section (each check per window
with its band, per team), the fleet's adoption column, the outcome trend, and the one-line cells
``gapwatch demo summary`` prints. Charts are altair specs like ``gapwatch.health.charts``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gapwatch import store
from gapwatch.evaluation.adoption import Measure, override_verdict
from gapwatch.health.series import banded
from gapwatch.spec import MonitorSpec
from gapwatch.spec_adoption import CHECKS, TEAM

OVERALL = "*"
HOURS = 3600.0
TREND_CHECKS = ("coverage", "follow_rate", "time_to_action_p50", "time_to_action_p90", "override_quality")
TEAM_CHECKS = ("coverage", "follow_rate")
OUTCOME_CHECKS = ("outcome_sum", "outcome_mean")
VERDICT_WORDS = {"humans_right": "people right", "model_right": "model right"}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _row(r: dict[str, Any]) -> dict[str, Any]:
    return {
        **banded(r),
        "check": r["check"],
        "segment": r["segment"],
        "unit": CHECKS[r["check"]].unit if r["check"] in CHECKS else "value",
        "detail": r["detail"] or {},
    }


def adoption_rows(conn: Connection, monitor: str, segments: str = "teams") -> list[dict[str, Any]]:
    """Every stored adoption value of a monitor, oldest window first.

    Args:
        conn: the store.
        monitor: the model.
        segments: ``overall`` (``*`` only), ``teams`` (``*`` and ``team=...``) or ``all``.
    """
    t = store.adoption_values
    query = sa.select(t).where(t.c.monitor == monitor)
    if segments == "overall":
        query = query.where(t.c.segment == OVERALL)
    elif segments == "teams":
        query = query.where(sa.or_(t.c.segment == OVERALL, t.c.segment.like(f"{TEAM}=%")))
    rows = store.rows(conn, query.order_by(t.c.check, t.c.segment, t.c.window_start))
    return [_row(r) for r in rows]


def _window_verdict(rows: list[dict[str, Any]]) -> str:
    """A window's adoption verdict: breach when an overall value, or a team's value of a check
    judged per team, breaches; else ok when anything was judged."""
    def counts(r: dict[str, Any]) -> bool:
        return r["segment"] == OVERALL or (r["check"] in CHECKS and CHECKS[r["check"]].per_team)

    statuses = {r["status"] for r in rows if counts(r) and r["threshold"] is not None}
    return "breach" if "breach" in statuses else "ok" if "ok" in statuses else "insufficient"


def latest(conn: Connection) -> dict[str, dict[str, Any]]:
    """Each monitor's newest adoption window: its overall values by check and its verdict."""
    t = store.adoption_values
    newest = (sa.select(t.c.monitor, sa.func.max(t.c.window_start).label("w")).group_by(t.c.monitor).subquery())
    query = sa.select(t).join(newest, sa.and_(t.c.monitor == newest.c.monitor, t.c.window_start == newest.c.w))
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in store.rows(conn, query):
        grouped[r["monitor"]].append(_row(r))
    return {
        monitor: {
            "window": rows[0]["window"],
            "status": _window_verdict(rows),
            "checks": {r["check"]: r for r in rows if r["segment"] == OVERALL},
            "breaching_teams": _breaching_teams(rows),
        }
        for monitor, rows in grouped.items()
    }


def _breaching_teams(rows: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Per check judged per team, the teams past their own limit."""
    out: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        if r["status"] == "breach" and r["segment"].startswith(f"{TEAM}=") and CHECKS[r["check"]].per_team:
            out[r["check"]].append(r["segment"].split("=", 1)[1])
    return {check: sorted(teams) for check, teams in out.items()}


def fleet_cell(entry: dict[str, Any] | None) -> dict[str, Any] | None:
    """The fleet page's adoption column for one model (None: not monitored for adoption)."""
    if entry is None:
        return None
    checks = entry["checks"]

    def value(check: str) -> float | None:
        return (checks.get(check) or {}).get("value")

    teams = sorted({t for names in entry["breaching_teams"].values() for t in names})
    return {"window": entry["window"], "status": entry["status"], "coverage": value("coverage"),
            "follow_rate": value("follow_rate"), "breaching_teams": teams}


def summary_cells(conn: Connection) -> dict[tuple[str, datetime], str]:
    """``cov 72%! fol 78% people right`` per (monitor, window): coverage and follow rate (``!``
    past its limit overall or for a team) and what the override quality says."""
    t = store.adoption_values
    rows = store.rows(conn, sa.select(t).where(
        t.c.check.in_(["coverage", "follow_rate", "override_quality"]),
        sa.or_(t.c.segment == OVERALL, t.c.segment.like(f"{TEAM}=%"))))
    by_window: dict[tuple[str, datetime], dict[str, dict[str, Any]]] = defaultdict(dict)
    flagged: set[tuple[str, datetime, str]] = set()
    for r in rows:
        key = (r["monitor"], r["window_start"])
        if r["segment"] == OVERALL:
            by_window[key][r["check"]] = r
        if r["status"] == "breach":
            flagged.add((*key, r["check"]))
    cells = {}
    for key, checks in by_window.items():
        parts = []
        for check, short in (("coverage", "cov"), ("follow_rate", "fol")):
            value = (checks.get(check) or {}).get("value")
            if value is not None:
                parts.append(f"{short} {100 * value:.0f}%" + ("!" if (*key, check) in flagged else ""))
        quality = checks.get("override_quality")
        if quality is not None:
            measured = Measure(quality["value"], quality["stderr"], quality["n"], quality["detail"] or {})
            parts.append(VERDICT_WORDS.get(override_verdict(measured)["verdict"] or "", ""))
        cells[key] = " ".join(p for p in parts if p) or "-"
    return cells


def detail(conn: Connection, spec: MonitorSpec | None, monitor: str) -> dict[str, Any] | None:
    """The model page's Adoption section: overall and per-team rows, the newest window, and the
    spec's decision settings; None when the model is not monitored for adoption and has no rows."""
    rows = adoption_rows(conn, monitor)
    if spec is None or spec.adoption is None:
        if not rows:
            return None
    a = spec.adoption if spec is not None else None
    return {
        "rows": rows,
        "latest": latest(conn).get(monitor),
        "decision_sla_hours": a.decision_sla.total_seconds() / HOURS if a else None,
        "table": a.table if a else None,
        "value_column": a.value if a else None,
        "higher_is_better": {c: (a.higher_is_better(c) if a else (CHECKS[c].higher_is_better is not False))
                             for c in CHECKS},
    }


def add_to_fleet(conn: Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The fleet rows (``health.model.fleet``) with their ``adoption`` cell."""
    newest = latest(conn)
    return [{**r, "adoption": fleet_cell(newest.get(r["model"]))} for r in rows]


def add_to_detail(conn: Connection, model: dict[str, Any] | None, spec: MonitorSpec | None) -> dict[str, Any] | None:
    """A model page's data (``health.model.model_detail``) with its ``adoption`` section."""
    if model is None:
        return None
    return {**model, "adoption": detail(conn, spec, model["summary"]["model"])}


def adoption_lead(conn: Connection, specs: list[MonitorSpec]) -> list[str]:
    """The weekly digest's opening section: adoption and business outcome of each model that is
    monitored for it (empty when none is), from its newest window, in plain words."""
    from gapwatch.incidents.adoption_text import SHORT, digest_lines

    monitored = sorted((s for s in specs if s.adoption is not None), key=lambda s: s.name)
    if not monitored:
        return []
    newest = latest(conn)
    lines = ["Is it used, and does it pay?"]
    for spec in monitored:
        assert spec.adoption is not None
        entry = newest.get(spec.name)
        checks = {c: {**r, "window": entry["window"]} for c, r in entry["checks"].items()} if entry else {}
        if "override_quality" in checks:  # in words: were the people who overrode it right?
            q = checks["override_quality"]
            checks["override_quality"] = override_verdict(Measure(q["value"], q["stderr"], q["n"], q["detail"]))
        lines.append(f"{spec.name}:")
        lines += digest_lines(checks, spec.adoption.value, spec.adoption.decision_sla.total_seconds())
        if entry and entry["breaching_teams"]:
            lines.append("  Teams past their limit: " + "; ".join(
                f"{', '.join(teams)} ({SHORT[check]})" for check, teams in entry["breaching_teams"].items()) + ".")
    return ["\n".join(lines)]
