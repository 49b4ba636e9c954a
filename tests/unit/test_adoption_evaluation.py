"""The adoption calculations (``gapwatch.evaluation.adoption``) against direct computations on
rows: the aggregates the SQL returns are built here from generated decisions, so each estimate can
be compared with numpy on the rows it summarises."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from gapwatch.evaluation import adoption as ev
from gapwatch.spec import MonitorSpec
from gapwatch.spec_adoption import CHECKS, measured_checks

ROOT = Path(__file__).resolve().parents[2]
SLA = timedelta(days=2)


def _spec(**checks) -> MonitorSpec:
    raw = yaml.safe_load((ROOT / "include" / "monitors" / "credit_default.yml").read_text())
    raw["adoption"]["checks"] = {**raw["adoption"]["checks"], **checks}
    raw["segments"] = ["region"]
    return MonitorSpec.model_validate(raw)


def _rows(rng: np.random.Generator, n: int, *, east_late: bool = False, follow: float = 0.85) -> pd.DataFrame:
    """Decisions as rows: team, segment, seconds to decision (NaN: none), followed, value, and
    on overrides whether the human and the model were right."""
    team = rng.choice(["north", "south", "east", "west"], n)
    secs = rng.lognormal(np.log(5 * 3600), 1.0, n)
    if east_late:
        secs = np.where(team == "east", rng.uniform(3, 8, n) * 86400, secs)
    secs = np.where(rng.random(n) < 0.03, np.nan, secs)
    followed = (rng.random(n) < follow) & ~np.isnan(secs)
    overridden = ~followed & ~np.isnan(secs)
    human_right = overridden & (rng.random(n) < 0.7)
    return pd.DataFrame({
        "team": team, "region": rng.choice(["a", "b"], n), "secs": secs, "followed": followed,
        "value": np.where(np.isnan(secs), np.nan, rng.normal(20, 100, n)),
        "over_known": overridden, "human_right": human_right, "model_right": overridden & ~human_right,
    })


def _stats(rows: pd.DataFrame, dims=("team", "region")) -> ev.WindowStats:
    """Aggregate rows to what ``adoption_queries`` returns (the test's stand-in for the SQL)."""
    edges = ev.bucket_edges(SLA)
    decided = rows["secs"].notna()
    bucket = np.where(decided, np.searchsorted(edges, rows["secs"].fillna(0), side="right"), -1)
    frame = rows.assign(bucket=bucket, n=1, decided=decided.astype(int),
                        within=(rows["secs"] <= SLA.total_seconds()).astype(int),
                        followed=rows["followed"].astype(int))
    decisions = frame.groupby([*dims, "bucket"], as_index=False)[["n", "decided", "within", "followed"]].sum()
    labels = rows.assign(valued=rows["value"].notna().astype(int), v_sum=rows["value"].fillna(0),
                         v_sumsq=rows["value"].fillna(0) ** 2)
    labels = labels.groupby(list(dims), as_index=False)[
        ["valued", "v_sum", "v_sumsq", "over_known", "human_right", "model_right"]].sum()
    return ev.WindowStats(decisions, labels, tuple(dims), 7 * 86400.0, 7 * 86400.0)


def test_measures_equal_direct_computations_on_the_rows() -> None:
    rows = _rows(np.random.default_rng(1), 5000)
    spec = _spec()
    m = ev.measure(_stats(rows), spec.adoption, measured_checks(spec))
    decided = rows.dropna(subset=["secs"])
    overall = m["*"]
    assert overall["coverage"].value == pytest.approx((rows["secs"] <= SLA.total_seconds()).mean())
    assert overall["coverage"].n == len(rows)
    assert overall["follow_rate"].value == pytest.approx(decided["followed"].mean())
    p = overall["follow_rate"].value
    assert overall["follow_rate"].stderr == pytest.approx(np.sqrt(p * (1 - p) / len(decided)))
    # Quantiles from the histogram are within one bucket (19%) of the exact ones.
    for check, q in (("time_to_action_p50", 0.5), ("time_to_action_p90", 0.9)):
        exact = np.quantile(decided["secs"], q)
        assert overall[check].value == pytest.approx(exact, rel=0.1)
        assert 0 < overall[check].stderr < 0.1 * exact
    assert overall["outcome_mean"].value == pytest.approx(decided["value"].mean())
    assert overall["outcome_mean"].stderr == pytest.approx(decided["value"].std(ddof=1) / np.sqrt(len(decided)))
    assert overall["outcome_sum"].value == pytest.approx(decided["value"].sum())
    over = rows[rows["over_known"]]
    d = over["human_right"].astype(int) - over["model_right"].astype(int)
    assert overall["override_quality"].value == pytest.approx(d.mean())
    assert overall["override_quality"].stderr == pytest.approx(d.std(ddof=0) / np.sqrt(len(d)))
    east = rows[rows["team"] == "east"]
    assert m["team=east"]["coverage"].value == pytest.approx((east["secs"] <= SLA.total_seconds()).mean())
    assert m["region=b"]["coverage"].n == (rows["region"] == "b").sum()


def test_hist_quantile_interpolates_inside_buckets_and_handles_empty_and_open_buckets() -> None:
    edges = np.array([1.0, 2.0, 4.0])
    counts = np.array([[0, 10, 10, 0], [0, 0, 0, 0], [0, 0, 0, 5]])
    q = ev.hist_quantile(counts, edges, 0.5)
    assert q[0] == pytest.approx(2.0) and np.isnan(q[1]) and q[2] == 4.0  # open bucket: its lower edge
    assert ev.hist_quantile(counts[:1], edges, 0.25)[0] == pytest.approx(1.5)


def _base(stats: ev.WindowStats, spec: MonitorSpec) -> dict:
    return ev.summarize_baseline(spec.adoption, measured_checks(spec), stats, [stats, stats], 0.01)


def test_a_team_that_stops_acting_breaches_coverage_and_is_named() -> None:
    spec = _spec()
    rng = np.random.default_rng(2)
    base = _base(_stats(_rows(rng, 6000)), spec)
    result = ev.assess(spec.adoption, measured_checks(spec), _stats(_rows(rng, 4000, east_late=True)), base)
    coverage = result["checks"]["coverage"]
    assert coverage["status"] == "breach" and coverage["breaching_teams"] == ["east"]
    assert coverage["drivers"][0]["team"] == "east" and coverage["drivers"][0]["share"] > 0.8
    # The late team also slows the median, but time to action is judged overall only.
    assert result["checks"]["time_to_action_p50"]["breaching_teams"] == []
    assert result["status"] == "breach"


def test_healthy_windows_do_not_breach_and_small_ones_are_insufficient() -> None:
    spec = _spec()
    rng = np.random.default_rng(3)
    base = _base(_stats(_rows(rng, 6000)), spec)
    for seed in range(5):
        window = ev.assess(spec.adoption, measured_checks(spec), _stats(_rows(np.random.default_rng(seed), 3000)), base)
        assert window["status"] == "ok", {c: v["status"] for c, v in window["checks"].items()}
    small = ev.assess(spec.adoption, measured_checks(spec), _stats(_rows(rng, 60)), base)
    assert small["checks"]["coverage"]["status"] == "insufficient"  # 60 < min_decisions, never an alarm
    gated = ev.assess(spec.adoption, measured_checks(spec), None, base, gate="feed broken")
    assert gated["status"] == "inconclusive" and gated["checks"]["coverage"]["status"] == "inconclusive"


def test_judge_uses_the_one_sided_bound_against_the_strictest_limit() -> None:
    spec = _spec(coverage={"floor": 0.9, "max_drop": 0.02})
    a = spec.adoption
    entry = {"value": 0.95}
    # The limit is max(floor 0.9, 0.95 - 0.02); 0.925 is below it, but its band reaches over it.
    within_noise = ev.Measure(0.925, 0.005, 2000, {})
    row = ev.judge(a, "coverage", "*", within_noise, entry)
    assert row["threshold"] == pytest.approx(0.93) and row["status"] == "ok"
    assert row["interval"] == pytest.approx([0.925 - 1.645 * 0.005, 0.925 + 1.645 * 0.005])
    clear = ev.Measure(0.92, 0.005, 2000, {})  # 0.92 + 1.645 x 0.005 < 0.93
    assert ev.judge(a, "coverage", "*", clear, entry)["status"] == "breach"
    slow = ev.Measure(12 * 3600.0, 600.0, 2000, {})  # lower is better: the bound is value - margin
    assert ev.judge(a, "time_to_action_p50", "*", slow, {"value": 5 * 3600.0})["status"] == "breach"


@pytest.mark.parametrize(("human", "model", "verdict"), [(300, 100, "humans_right"), (100, 300, "model_right"),
                                                          (200, 190, "mixed")])
def test_override_verdict_says_who_was_right(human: int, model: int, verdict: str) -> None:
    n = human + model
    value, stderr = ev._override_quality(np.array([human]), np.array([model]), np.array([n]))
    m = ev.Measure(float(value[0]), float(stderr[0]), n, {"human_right": human, "model_right": model})
    out = ev.override_verdict(m)
    assert out["verdict"] == verdict and out["human_right_share"] == pytest.approx(human / n)
    assert ev.override_verdict(ev.Measure(None, None, 0, {}))["verdict"] is None


def test_feed_checks_and_the_gate_after_a_break() -> None:
    start = datetime(2026, 3, 2, tzinfo=UTC)
    end = start + timedelta(days=7)
    common = {"start": start, "end": end, "per_second": 3000 / (7 * 86400), "max_age": timedelta(days=1),
              "min_ratio": 0.7, "max_ratio": 1.5}
    healthy = ev.feed_checks(rows=2900, newest=end - timedelta(hours=2), **common)
    assert [c["failing"] for c in healthy] == [[], []]
    broken = ev.feed_checks(rows=40, newest=start + timedelta(hours=3), **common)
    assert [c["check"] for c in broken if c["failing"]] == ["freshness", "volume"]
    assert "40 decisions in the window, expected 2100 to 4500" in broken[1]["failing"][0]
    assert ev.feed_checks(rows=0, newest=None, **common)[0]["failing"] == ["decisions feed: no decision in the window"]
    assert ev.feed_gate(broken, [], start, end, start - timedelta(days=7)) is not None
    # A cohort reaching back into a broken window is not judged; one that does not, is.
    earlier = [start - timedelta(days=7)]
    assert "overlap" in ev.feed_gate(healthy, earlier, start, end, start - timedelta(days=2))
    assert ev.feed_gate(healthy, [start - timedelta(days=14)], start, end, start - timedelta(days=2)) is None


def test_checks_are_declared_once_with_kind_unit_and_direction() -> None:
    assert {d.kind for d in CHECKS.values()} == {"adoption", "outcome"}
    assert {c for c, d in CHECKS.items() if d.per_team} == {"coverage", "follow_rate"}
    assert CHECKS["time_to_action_p50"].higher_is_better is False
