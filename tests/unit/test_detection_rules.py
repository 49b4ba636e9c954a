"""Breach rules that fit the limit, default limits, and drift thresholds from the baseline."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from gapwatch.cli.main import main
from gapwatch.evaluation import assessment
from gapwatch.evaluation.drift import (
    baseline_distance_thresholds,
    compare,
    drift_value,
    summarize_baseline,
    summarize_window,
)
from gapwatch.evaluation.metrics import Limit, MetricValue, judge, limits_for, scaled_spread_std
from gapwatch.spec import Metric, MonitorSpec

ROOT = Path(__file__).resolve().parents[2]
DEMO_SPEC = ROOT / "include" / "monitors" / "credit_default.yml"
Z = 1.645


def _spec(**changes) -> MonitorSpec:
    data = yaml.safe_load(DEMO_SPEC.read_text())
    data.update(changes)
    return MonitorSpec.model_validate(data)


# ---------------------------------------------------------------- breach rules


def test_a_spread_limit_is_judged_on_the_value_a_drop_limit_on_the_one_sided_bound() -> None:
    # The numbers: the spread limit 0.9629, values 0.9585-0.9596 whose upper bounds
    # (value + 1.645 SE) stayed above it. The spread already holds the sampling noise.
    value = MetricValue("roc_auc", 0.9590, 0.0030, 5000)
    spread = limits_for(True, None, None, None, spread=(0.9710, 0.0027), spread_k=3)
    assert spread == [Limit("spread_k", pytest.approx(0.9629))]
    assert judge(value, spread, True, Z) == (True, spread[0])
    # The same limit set as a drop from the baseline keeps the one-sided bound: no breach.
    drop = limits_for(True, None, 0.0081, 0.9710)
    assert drop[0].threshold == pytest.approx(0.9629) and drop[0].needs_bound
    assert judge(value, drop, True, Z) == (False, drop[0])
    # Error metrics the other way round.
    mae = limits_for(False, None, None, None, spread=(10.0, 0.5), spread_k=2)
    assert judge(MetricValue("mae", 11.2, 0.5, 500), mae, False, Z)[0]
    assert not judge(MetricValue("mae", 10.9, 0.5, 500), mae, False, Z)[0]


def test_the_spread_is_scaled_to_the_window_size() -> None:
    # A window 4x a sub-window varies half as much from sampling alone.
    assert scaled_spread_std(0.01, 1000, 4000) == pytest.approx(0.005)
    assert scaled_spread_std(0.01, 1000, 250) == pytest.approx(0.02)
    assert scaled_spread_std(0.01, None, 4000) == 0.01
    big = limits_for(True, None, None, None, spread=(0.8, 0.01), spread_k=3, n_sub=1000, n_window=4000)
    small = limits_for(True, None, None, None, spread=(0.8, 0.01), spread_k=3, n_sub=1000, n_window=250)
    assert big[0].threshold == pytest.approx(0.785) and small[0].threshold == pytest.approx(0.74)
    assert judge(MetricValue("roc_auc", 0.78, 0.01, 4000), big, True, Z)[0]
    assert not judge(MetricValue("roc_auc", 0.78, 0.02, 250), small, True, Z)[0]


def test_the_deciding_limit_is_the_strictest_breached_under_its_own_rule() -> None:
    limits = limits_for(True, 0.80, None, None, spread=(0.81, 0.001), spread_k=3)
    assert [lim.rule for lim in limits] == ["spread_k", "floor"]  # strictest first: 0.807, 0.80
    # Below both, but the floor's bound is not below 0.80: the spread limit decides.
    breach, deciding = judge(MetricValue("roc_auc", 0.795, 0.01, 3000), limits, True, Z)
    assert breach and deciding.rule == "spread_k"
    breach, deciding = judge(MetricValue("roc_auc", 0.82, 0.01, 3000), limits, True, Z)
    assert not breach and deciding.rule == "spread_k" and deciding.threshold == pytest.approx(0.807)
    assert judge(MetricValue("roc_auc", 0.5, 0.01, 3000), [], True, Z) == (False, None)


def _binary(rng: np.random.Generator, n: int, signal: float, start: str = "2026-01-05") -> pd.DataFrame:
    y = (rng.random(n) < 0.3).astype(float)
    score = 1 / (1 + np.exp(-(signal * (y - 0.5) + rng.normal(0, 1, n))))
    return pd.DataFrame({
        "scored_at": pd.Timestamp(start) + pd.to_timedelta(np.arange(n), "min"),
        "age": rng.integers(21, 75, n), "income": rng.lognormal(10, 0.4, n), "utilization": rng.beta(2, 3, n),
        "late_payments": rng.poisson(0.5, n).astype(float), "tenure_months": rng.gamma(2, 30, n),
        "region": rng.choice(["north", "south"], n), "score": score,
        "predicted_label": (score > 0.5).astype(int), "label": y,
    })


def test_a_spread_row_records_its_rule_and_its_threshold_scaled_to_the_cohort() -> None:
    spec = _spec(metrics=[{"name": "roc_auc", "spread_k": 3.0, "min_labels": 100}],
                 baseline={"start": "2026-01-05", "end": "2026-01-19", "sub_windows": 8})
    rng = np.random.default_rng(3)
    reference = _binary(rng, 8000, 2.0)
    base = assessment.summarize_reference(spec, reference, reference)
    entry = base["metrics"]["roc_auc"]
    assert entry["spread_n"] == pytest.approx(1000) and len(entry["spread_values"]) == 8
    summary, rows = assessment.assess_performance(spec, _binary(rng, 4000, 2.0), base)
    row = summary["metrics"]["roc_auc"]
    scaled = entry["spread_std"] * math.sqrt(entry["spread_n"] / row["n"])
    assert row["rule"] == "spread_k" and row["needs_bound"] is False
    assert row["threshold"] == pytest.approx(entry["spread_mean"] - 3 * scaled)
    assert row["limits"] == [{"rule": "spread_k", "threshold": row["threshold"], "needs_bound": False}]
    # A weaker model on a window of the same size breaches on its value alone.
    worse, _ = assessment.assess_performance(spec, _binary(rng, 4000, 1.6), base)
    assert worse["status"] == "breach" and worse["metrics"]["roc_auc"]["rule"] == "spread_k"


def test_a_drop_row_records_the_bound_rule() -> None:
    spec = _spec()
    rng = np.random.default_rng(4)
    reference = _binary(rng, 6000, 2.0)
    base = assessment.summarize_reference(spec, reference, reference)
    summary, _ = assessment.assess_performance(spec, _binary(rng, 3000, 2.0), base)
    row = summary["metrics"]["roc_auc"]
    assert row["rule"] == "max_drop" and row["needs_bound"] is True
    assert {lim["rule"] for lim in row["limits"]} == {"floor", "max_drop"}


# ---------------------------------------------------------------- default limits


def test_a_metric_without_a_limit_gets_a_spread_limit_or_a_relative_drop() -> None:
    bare = Metric(name="f1")
    assert bare.limits(4) == {"spread_k": 3.0} and bare.limits(10) == {"spread_k": 3.0}
    assert bare.limits(3) == {"max_relative_drop": 0.05} and bare.limits(2) == {"max_relative_drop": 0.05}
    assert Metric(name="f1", floor=0.5).limits(10) == {"floor": 0.5}
    assert "default limit" in bare.describe_limits(4) and "mean - 3 std of the baseline's 4" in bare.describe_limits(4)
    assert "5% (max_relative_drop)" in bare.describe_limits(3)
    assert "above the mean + 3 std" in Metric(name="mae").describe_limits(6)


def test_every_metric_without_a_limit_is_judged_and_can_breach() -> None:
    spec = _spec(metrics=[{"name": "roc_auc", "max_drop": 0.05}, {"name": "accuracy"}, {"name": "f1"}])
    rng = np.random.default_rng(5)
    reference = _binary(rng, 8000, 2.5)
    base = assessment.summarize_reference(spec, reference, reference)
    summary, _ = assessment.assess_performance(spec, _binary(rng, 3000, 1.0), base)
    for name in ("accuracy", "f1"):
        row = summary["metrics"][name]
        assert row["rule"] == "spread_k" and row["threshold"] is not None and row["status"] == "breach", name
    # Fewer sub-windows than a spread needs: a 5% relative drop instead.
    few = _spec(metrics=[{"name": "roc_auc"}], baseline={"start": "2026-01-05", "end": "2026-01-19",
                                                          "sub_windows": 3})
    row = assessment.assess_performance(few, _binary(rng, 3000, 2.5), assessment.summarize_reference(
        few, reference, reference))[0]["metrics"]["roc_auc"]
    assert row["rule"] == "max_relative_drop"
    assert row["threshold"] == pytest.approx(row["baseline"] * 0.95)


def test_the_default_spread_falls_back_to_a_relative_drop_when_the_baseline_has_no_spread() -> None:
    metric = Metric(name="roc_auc")
    base = {"roc_auc": {"value": 0.8, "spread_mean": None, "spread_std": None}}
    (limit,) = assessment.metric_limits(metric, base, sub_windows=4, n=1000)
    assert limit.rule == "max_relative_drop" and limit.threshold == pytest.approx(0.76)
    # A spread of zero (every sub-window the same, e.g. a perfect classifier) measures no noise.
    flat = {"roc_auc": {"value": 1.0, "spread_mean": 1.0, "spread_std": 0.0, "spread_n": 500}}
    (limit,) = assessment.metric_limits(metric, flat, sub_windows=4, n=1000)
    assert limit.rule == "max_relative_drop" and limit.threshold == pytest.approx(0.95)
    assert assessment.metric_limits(Metric(name="roc_auc", spread_k=3), flat, sub_windows=4, n=1000) == []


def test_validate_prints_the_limits_each_monitor_will_use(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("GAPWATCH_DEMO_SOURCE_URL", "sqlite://")  # validate checks url_env is set
    data = yaml.safe_load(DEMO_SPEC.read_text())
    data["metrics"][1] = {"name": "f1"}  # no limit: the default one (the demo sets its own)
    (tmp_path / "credit_default.yml").write_text(yaml.safe_dump(data))
    assert main(["validate", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "roc_auc (min_labels 300): breach when its one-sided 95% upper bound is below the strictest " \
           "of 0.74 (floor), baseline - 0.05 (max_drop)" in out
    assert "f1 (min_labels 200, default limit): breach when its value is below the mean - 3 std of the " \
           "baseline's 4 sub-windows" in out
    assert "labels judged 7 days late" in out


def test_validate_fails_naming_a_missing_suite_file(tmp_path: Path, capsys, monkeypatch) -> None:
    data = yaml.safe_load(DEMO_SPEC.read_text())
    data["readiness"]["suite"] = "no_such_suite"
    (tmp_path / "credit_default.yml").write_text(yaml.safe_dump(data))
    assert main(["validate", str(tmp_path)]) == 1
    err = capsys.readouterr()
    assert "credit_default.yml: readiness.suite" in err.err and "no_such_suite.json does not exist" in err.err
    assert "0 valid, 1 invalid" in err.out
    # A malformed suite file is named too.
    suites = tmp_path / "expectations"
    suites.mkdir()
    (suites / "no_such_suite.json").write_text("{not json")
    monkeypatch.setenv("GAPWATCH_EXPECTATIONS_DIR", str(suites))
    assert main(["validate", str(tmp_path)]) == 1
    assert "no_such_suite.json: invalid JSON" in capsys.readouterr().err


# ---------------------------------------------------------------- drift thresholds from the baseline


def _drift_frames(rng: np.random.Generator) -> pd.DataFrame:
    # "wobbly" moves a lot from one baseline sub-window to the next; "steady" does not.
    parts = []
    for k in range(8):
        n = 2000
        parts.append(pd.DataFrame({
            "scored_at": pd.Timestamp("2026-01-05") + pd.Timedelta(days=k) + pd.to_timedelta(np.arange(n), "s"),
            "wobbly": rng.normal(0.4 * (k % 2), 1.0, n), "steady": rng.normal(0.0, 1.0, n),
        }))
    return pd.concat(parts, ignore_index=True)


def test_auto_drift_thresholds_come_from_the_baseline_sub_windows() -> None:
    rng = np.random.default_rng(6)
    frame = _drift_frames(rng)
    layout = summarize_baseline(frame, {"wobbly": "numeric", "steady": "numeric"}, bins=10)
    parts = [summarize_window(frame.iloc[k * 2000:(k + 1) * 2000], layout) for k in range(8)]
    thresholds = baseline_distance_thresholds(layout, parts, 3.0)
    assert set(thresholds["steady"]) == {"psi", "ks", "wasserstein", "jensenshannon"}
    psi = np.array([drift_value("psi", layout["wobbly"], p["wobbly"]) for p in parts])
    assert thresholds["wobbly"]["psi"] == pytest.approx(psi.mean() + 3 * psi.std(ddof=1))
    assert thresholds["wobbly"]["psi"] > 3 * thresholds["steady"]["psi"]
    # A window as far off as the wobbly column's usual swing is not drift for it under auto
    # thresholds; the same shift in the steady column is.
    window = summarize_window(pd.DataFrame({"wobbly": rng.normal(0.4, 1, 3000), "steady": rng.normal(0.4, 1, 3000)}),
                              layout)
    auto = {r.column: r for r in compare(layout, window, ["psi"], column_thresholds=thresholds)}
    assert auto["steady"].drifted and not auto["wobbly"].drifted
    fixed = {r.column: r for r in compare(layout, window, ["psi"], {"psi": 0.02})}
    assert fixed["steady"].drifted and fixed["wobbly"].drifted
    # A column's own threshold in the spec still wins.
    own = compare(layout, window, ["psi"], overrides={"wobbly": {"threshold": 0.01}}, column_thresholds=thresholds)
    assert next(r for r in own if r.column == "wobbly").threshold == 0.01


def test_threshold_auto_is_stored_in_the_baseline_summary_and_used_by_assess_drift() -> None:
    spec = _spec(drift={"methods": ["psi", "jensenshannon", "ks_pvalue"], "threshold": "auto", "threshold_k": 4},
                 baseline={"start": "2026-01-05", "end": "2026-01-19", "sub_windows": 6})
    assert spec.drift.describe() == "psi, jensenshannon, ks_pvalue; thresholds from the baseline"
    rng = np.random.default_rng(7)
    reference = _binary(rng, 6000, 2.0)
    base = assessment.summarize_reference(spec, reference, reference)
    stored = base["drift_thresholds"]
    assert set(stored) >= {"age", "income", "region", "score"}
    assert "ks" in stored["age"] and "ks" not in stored["region"] and "ks_pvalue" not in stored["age"]
    summary, results = assessment.assess_drift(spec, _binary(rng, 3000, 2.0), base)
    by_key = {(r.column, r.method): r for r in results}
    assert by_key[("income", "psi")].threshold == pytest.approx(stored["income"]["psi"])
    assert by_key[("income", "ks_pvalue")].threshold == 0.05  # p-values keep their level
    assert summary["status"] == "ok"
    # Without the option the summary has no thresholds and the method defaults apply.
    plain = _spec(drift={"methods": ["psi"]})
    base_plain = assessment.summarize_reference(plain, reference, reference)
    assert "drift_thresholds" not in base_plain
    assert assessment.assess_drift(plain, reference, base_plain)[1][0].threshold == 0.2
