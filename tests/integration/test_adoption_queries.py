"""The adoption SQL on SQLite and PostgreSQL sources: a handful of decisions with known answers
(first decision counts, late and missing ones, an action outside the mapping, a re-delivered label,
a NULL segment) reduced by the database to the aggregates the evaluation reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from gapwatch.adoption_queries import NO_TEAM, decision_stats, dims, feed_stats, label_stats
from gapwatch.evaluation.adoption import bucket_edges
from gapwatch.spec import MonitorSpec
from gapwatch.window import Window

pytestmark = pytest.mark.integration
T = datetime(2026, 3, 3, 10)  # naive UTC, as sources store it
COHORT = Window(datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 9, tzinfo=UTC))
AS_OF = datetime(2026, 3, 11, tzinfo=UTC)
H, D = timedelta(hours=1), timedelta(days=1)


def _spec() -> MonitorSpec:
    person = {"name": "Owner", "email": "owner@example.com"}
    return MonitorSpec.model_validate({
        "name": "adoption_sql", "version": "1", "task": "binary_classification",
        "owners": {"business_owner": person, "technical_owner": person, "data_steward": person},
        "schedule": "0 0 * * 1", "start_date": "2026-01-05", "source": {"url_env": "UNUSED"},
        "predictions": {"table": "preds", "id": "pid", "timestamp": "scored_at", "prediction": "label_pred",
                        "score": "score", "features": ["x1", {"name": "region", "kind": "categorical"}]},
        "ground_truth": {"table": "truth", "id": "pid", "label": "y", "arrived_at": "arrived", "delay": "7d"},
        "segments": ["region"], "readiness": {"suite": "none"}, "metrics": [{"name": "roc_auc"}],
        "baseline": {"start": "2026-01-05", "end": "2026-01-19"},
        "adoption": {"table": "decisions", "id": "pid", "decided_at": "decided_at", "action": "action",
                     "followed": {1: "refer", 0: "approve"}, "team": "team", "value": "value", "decision_sla": "2d"},
        "runbook_url": "https://runbooks.example.com/x", "fallback": "none",
    })


def _fill(url: str) -> None:
    preds = pd.DataFrame({
        "pid": ["p1", "p2", "p3", "p4", "p5", "p6", "p7"],
        "scored_at": [T, T, T, T + D, T + 2 * D, datetime(2026, 3, 9, 1), T + 4 * D],
        "label_pred": [1, 0, 0, 1, 0, 0, 1], "score": [0.9, 0.1, 0.2, 0.8, 0.1, 0.1, 0.7],
        "x1": [0.0] * 7, "region": ["a", "a", "b", "b", None, "a", "a"],
    })
    decisions = pd.DataFrame({
        "pid": ["p1", "p2", "p2", "p3", "p5", "p6", "p7"],
        "decided_at": [T + H, T + 3 * H, T + 5 * H, T + 3 * D, T + 2 * D + 0.5 * H, datetime(2026, 3, 9, 2),
                       datetime(2026, 3, 12)],
        "action": ["refer", "refer", "approve", "approve", "escalate", "approve", "refer"],
        "team": ["north", "north", "south", "east", "south", "north", "west"],
        "value": [-40.0, -40.0, 180.0, 180.0, None, 180.0, -40.0],
    })
    truth = pd.DataFrame({
        "pid": ["p1", "p2", "p2", "p3", "p5"],
        "y": [1, 0, 1, 0, 0],  # p2's label was corrected: the later one counts
        "arrived": [T + 7 * D, T + 6 * D, T + 8 * D, T + 7 * D, T + 9 * D],
    })
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for name, frame in (("preds", preds), ("decisions", decisions), ("truth", truth)):
            frame.to_sql(name, conn, index=False)
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def source(request: pytest.FixtureRequest, tmp_path) -> sa.Engine:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'source.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    _fill(url)
    engine = sa.create_engine(url)
    yield engine
    engine.dispose()


def test_decision_cohort_aggregates(source: sa.Engine) -> None:
    spec = _spec()
    with source.connect() as conn:
        frame = decision_stats(spec, conn, COHORT, AS_OF)
    assert dims(spec) == ("team", "region")
    totals = frame[["n", "decided", "within", "followed"]].sum().to_dict()
    # p1..p5 and p7 are in the cohort; p7's decision came after the as-of time; p4 has none;
    # p2's first decision (refer, an override) counts; p3 came 3 days late (outside the 2d SLA).
    assert totals == {"n": 6, "decided": 4, "within": 3, "followed": 2}
    by_team = frame.groupby("team")[["n", "decided", "within", "followed"]].sum()
    assert by_team.loc["north"].tolist() == [2, 2, 2, 1]
    assert by_team.loc["east"].tolist() == [1, 1, 0, 1]
    assert by_team.loc[NO_TEAM].tolist() == [2, 0, 0, 0]
    edges = bucket_edges(spec.adoption.decision_sla)
    buckets = sorted(frame.loc[frame["bucket"] >= 0, "bucket"].repeat(frame.loc[frame["bucket"] >= 0, "decided"]))
    expected = sorted(np.searchsorted(edges, [3600, 3 * 3600, 3 * 86400, 1800], side="right"))
    assert buckets == expected  # the database measured each delay to the second
    assert frame.loc[frame["team"] == "south", "region"].isna().all()  # a NULL segment stays a group


def test_label_cohort_aggregates(source: sa.Engine) -> None:
    spec = _spec()
    with source.connect() as conn:
        frame = label_stats(spec, conn, COHORT, datetime(2026, 3, 20, tzinfo=UTC))
    totals = frame[["valued", "v_sum", "v_sumsq", "over_known", "human_right", "model_right"]].sum()
    # Decided by the 20th: p1, p2 (first decision), p3, p7 with a value; p5's has none.
    assert totals["valued"] == 4 and totals["v_sum"] == pytest.approx(-40 - 40 + 180 - 40)
    assert totals["v_sumsq"] == pytest.approx(3 * 40**2 + 180**2)
    # p2: overridden (refer on a 0), its corrected label is 1: the human was right. p5's
    # "escalate" maps to no class, so its override says nothing about who was right.
    assert (totals["over_known"], totals["human_right"], totals["model_right"]) == (1, 1, 0)
    with source.connect() as conn:
        early = label_stats(spec, conn, COHORT, datetime(2026, 3, 9, 12, tzinfo=UTC))
    assert early["over_known"].sum() == 1 and early["human_right"].sum() == 0  # p2's first label (0) only


def test_feed_counts_decisions_made_in_the_window(source: sa.Engine) -> None:
    with source.connect() as conn:
        rows, newest = feed_stats(_spec(), conn, COHORT.start, COHORT.end)
    assert rows == 5 and newest == (T + 3 * D).replace(tzinfo=UTC)


def test_judge_window_takes_the_datetimes_airflow_hands_over(source: sa.Engine) -> None:
    """Airflow's data interval is pendulum with ``datetime.timezone.utc``, which pendulum drops on
    subtracting a timedelta; the cohort arithmetic must not mix naive and aware values."""
    import pendulum

    from gapwatch.adoption import judge_window

    def airflow_like(value: datetime):
        return pendulum.instance(value).astimezone(UTC)  # what Window.parse makes of it

    assert (airflow_like(COHORT.end) - timedelta(days=1)).tzinfo is None  # the quirk itself
    window = Window(airflow_like(COHORT.start), airflow_like(COHORT.end))
    with source.connect() as conn:
        summary = judge_window(_spec(), conn, window, {"segments": {}, "decisions_per_second": None},
                               [COHORT.start - timedelta(days=7)])
    # The newest decision (the 6th) is older than a day at the window's end: a stale feed.
    assert summary["status"] == "inconclusive" and summary["reason"] == "the decisions feed failed its readiness checks"
    assert summary["feed"][0]["check"] == "freshness" and summary["feed"][0]["failing"]
