"""A scoreboard of generated scenarios with known truth, run through the real evaluation.

Each scenario is a synthetic binary-classification monitor (a calibrated "model" whose score
extrapolates flat beyond its training range, like a tree ensemble) observed over a series of
windows, with a known story: a sudden covariate shift that hurts the model, one that does not,
concept drift, gradual drift, prior (label) shift, small noisy windows, a weekly seasonal cycle,
late labels, and a small sustained drop of a strong model on large windows. Every window goes through ``assessment`` (the functions the pipeline stages call) and
``policy.decide`` (the real findings), so the board measures production code, not a copy.

Truth comes from an oracle, not from the monitor: each window's *expected* ROC AUC is computed on a
large fresh sample of the same population with the true default probabilities
(``evaluation.estimate.expected_roc_auc``). A window is **harmful** when that value lies more than
``GRAY_ZONE`` below the spec's limit, **healthy** when it is at or above the limit, and in the gray
zone in between (an alarm there is neither a false alarm nor a detection). A scenario about a
drop smaller than the gray zone sets ``harm_drop`` instead: harmful more than that below its
healthy population's oracle. A run is judged on both
populations it looks at: the window's own predictions (drift, estimate) and the matured cohort.

Scored per scenario: detection delay (windows from the onset of harm to the first performance or
estimate alarm), missed degradations (not flagged within ``DETECT_WITHIN`` windows), false alarms
(performance/estimate alarms on healthy runs) and drift warnings (on runs whose inputs changed /
did not change). ``make scenarios`` writes docs/scoreboard.md.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gapwatch import policy
from gapwatch.demo.scenario_world import ORACLE_ROWS, Population, draw_window, oracle_auc
from gapwatch.demo.seed import DEMO_START as START  # the scenarios share the demo's calendar
from gapwatch.evaluation import assessment
from gapwatch.spec import MonitorSpec

GRAY_ZONE = 0.03
DETECT_WITHIN = 1


@dataclass
class Scenario:
    name: str
    story: str
    populations: list[Population]
    sizes: list[int]
    label_delay: int = 1  # windows until a window's labels are judged
    matured_share: float = 0.98
    period: timedelta = timedelta(days=7)
    baseline_windows: int = 4
    baseline_size: int = 2000
    metric: dict[str, Any] = field(default_factory=lambda: {"name": "roc_auc", "max_drop": 0.05, "min_labels": 200})
    sub_windows: int = 4
    healthy_by_design: bool = False  # truth: no window is a degradation (seasonal variation)
    seed: int = 0
    healthy: Population = field(default_factory=Population)  # the population of the baseline
    # Truth for a drop smaller than the gray zone: harmful when the oracle ROC AUC is more than
    # ``harm_drop`` below the healthy population's (gray within the half of it nearest).
    harm_drop: float | None = None


def scenario_spec(s: Scenario) -> MonitorSpec:
    person = {"name": "Scenario Owner", "email": "owner@example.com"}
    return MonitorSpec.model_validate(
        {
            "name": f"scenario_{s.name}",
            "version": "1",
            "task": "binary_classification",
            "owners": {"business_owner": person, "technical_owner": person, "data_steward": person},
            "schedule": "0 0 * * 1",
            "start_date": "2026-01-05",
            "source": {"url_env": "GAPWATCH_SCENARIO_SOURCE_URL"},
            "predictions": {
                "table": "predictions", "id": "id", "timestamp": "scored_at",
                "prediction": "predicted_label", "score": "score",
                "features": ["x1", "x2", "x3", "x4", {"name": "region", "kind": "categorical"}],
            },
            "ground_truth": {"table": "outcomes", "id": "id", "label": "label", "arrived_at": "arrived_at",
                             "delay": f"{s.label_delay * s.period.days}d"},
            "segments": ["region"],
            "readiness": {"suite": "none"},
            "metrics": [s.metric],
            "baseline": {"start": START - s.baseline_windows * s.period, "end": START,
                         "sub_windows": s.sub_windows},
            "runbook_url": "https://runbooks.example.com/scenarios",
            "fallback": "none",
        }
    )


# ---------------------------------------------------------------- the scenarios


def _series(n: int, onset: int, before: Population, after: Callable[[int], Population]) -> list[Population]:
    return [before if t < onset else after(t - onset) for t in range(n)]


HEALTHY = Population()
# A much more accurate model (ROC AUC ~0.97, like the credit benchmark of issue 10) whose 1-point
# drop is small against the limits of the other scenarios but large against its own spread.
SHARP = Population(sharpness=5.0, intercept=0.5)


def scenarios() -> list[Scenario]:
    """The scenario set, each deterministic from its seed."""
    weekday = (0.30, 0.25, 0.25, 0.20)
    weekend = (0.20, 0.25, 0.25, 0.30)
    season = [
        Population(region_p=weekend if d % 7 in (5, 6) else weekday, x2_shift=-0.2 if d % 7 in (5, 6) else 0.0)
        for d in range(42)
    ]
    return [
        Scenario("sudden_covariate_shift", "35% of rows from a channel beyond the training range, from window 13",
                 _series(24, 12, HEALTHY, lambda _: Population(new_share=0.35)), [2000] * 24, seed=1),
        Scenario("benign_shift", "an ignored input and the region mix shift from window 13; the model is unaffected",
                 _series(24, 12, HEALTHY, lambda _: Population(x4_shift=1.5, region_p=(0.1, 0.2, 0.3, 0.4))),
                 [2000] * 24, seed=2),
        Scenario("concept_drift", "from window 13 the labels' relation to x2/x3 changes; inputs do not",
                 _series(24, 12, HEALTHY, lambda _: Population(concept=0.6)), [2000] * 24, seed=3),
        Scenario("gradual_drift", "the out-of-range channel grows by 5 points a window from window 9",
                 _series(24, 8, HEALTHY, lambda k: Population(new_share=min(0.05 * (k + 1), 0.5))),
                 [2000] * 24, seed=4),
        Scenario("prior_shift", "the positive rate doubles from window 13 (P(x|y) unchanged; AUC is not hurt)",
                 _series(24, 12, HEALTHY, lambda _: Population(prevalence=0.5)), [2000] * 24, seed=5),
        Scenario("small_noisy_windows", "healthy, but only 120-400 rows a window",
                 [HEALTHY] * 24, [int(v) for v in np.random.default_rng(6).integers(120, 400, 24)], seed=6),
        Scenario("weekly_seasonal_cycle", "daily windows; weekends differ in volume, region mix and x2; "
                 "limit from the baseline's daily spread (mean - 3 std)",
                 season[14:], [250 if d % 7 in (5, 6) else 700 for d in range(14, 42)],
                 period=timedelta(days=1), baseline_windows=14, baseline_size=500, sub_windows=14,
                 metric={"name": "roc_auc", "spread_k": 3.0, "min_labels": 150}, healthy_by_design=True, seed=7),
        Scenario("late_labels", "sudden harmful shift from window 13, labels judged 3 windows late",
                 _series(24, 12, HEALTHY, lambda _: Population(new_share=0.35)), [2000] * 24,
                 label_delay=3, matured_share=0.9, seed=8),
        Scenario("healthy_reference", "nothing happens: 24 healthy windows",
                 [HEALTHY] * 24, [2000] * 24, seed=9),
        Scenario("small_sustained_drop_large_windows",
                 "a strong model (ROC AUC 0.972) loses 1 point from window 13 and stays there "
                 "(the labels' relation to x2/x3 shifts slightly); 5,000-row windows, limit "
                 "spread_k 3 over 10 baseline sub-windows of 5,000 rows",
                 _series(24, 12, SHARP, lambda _: replace(SHARP, concept=0.125)), [5000] * 24,
                 baseline_windows=10, baseline_size=5000, sub_windows=10, healthy=SHARP, harm_drop=0.008,
                 metric={"name": "roc_auc", "spread_k": 3.0, "min_labels": 200}, seed=10),
    ]


# ---------------------------------------------------------------- running one scenario


@dataclass
class RunResult:
    t: int
    truth_window: str  # healthy | gray | harmful
    truth_cohort: str
    inputs_changed: bool
    performance_alarm: bool
    estimate_alarm: bool
    drift_warning: bool
    realized: float | None
    estimated: float | None
    oracle: float


def _truth(auc: float, limit: float | None, gray: float = GRAY_ZONE) -> str:
    if limit is None or auc >= limit:
        return "healthy"
    return "gray" if auc >= limit - gray else "harmful"


def _oracle_limit(s: Scenario, spec: MonitorSpec) -> tuple[float | None, float]:
    """(limit, gray zone) the oracle's truth is judged against (no limit: healthy by design)."""
    if s.healthy_by_design:
        return None, GRAY_ZONE
    healthy = oracle_auc(s.healthy)
    if s.harm_drop is not None:
        return healthy - s.harm_drop / 2, s.harm_drop / 2
    metric = spec.main_metric
    base = {metric.name: {"value": healthy}}
    return assessment.metric_threshold(metric, base, sub_windows=s.sub_windows), GRAY_ZONE


def _reference(s: Scenario, rng: np.random.Generator) -> tuple[pd.DataFrame, list[Population]]:
    """The baseline's rows (``baseline_windows`` periods before the first window) and populations."""
    base_pops = [s.healthy] * s.baseline_windows
    if s.healthy_by_design:  # the seasonal baseline covers whole cycles of the same calendar
        base_pops = [Population(region_p=p.region_p, x2_shift=p.x2_shift) for p in
                     scenarios_season_baseline(s)]
    frames = []
    for k, pop in enumerate(base_pops):
        f = draw_window(rng, pop, s.baseline_size)
        f["scored_at"] = START - (s.baseline_windows - k) * s.period
        frames.append(f)
    return pd.concat(frames, ignore_index=True), base_pops


@dataclass
class ScenarioData:
    """Everything a scenario draws, in draw order: the reference, each window's rows and the cohort
    each window judges (labels NaN where still pending; empty before the first matured one)."""

    spec: MonitorSpec
    reference: pd.DataFrame
    base_pops: list[Population]
    windows: list[pd.DataFrame]
    cohorts: list[pd.DataFrame]
    cohort_of: list[int]  # the window index each run's cohort comes from (< 0: none yet)
    period: timedelta  # the windows' length (window t starts at DEMO_START + t * period)


# (baseline summary, [(performance with its "estimate", drift) per window]) from a scenario's data
Evaluation = Callable[[ScenarioData], tuple[dict[str, Any], list[tuple[dict[str, Any], dict[str, Any]]]]]


def scenario_data(s: Scenario) -> ScenarioData:
    """Draw a scenario's rows (deterministic from its seed)."""
    rng = np.random.default_rng(s.seed)
    reference, base_pops = _reference(s, rng)
    windows = []
    for t, (pop, n) in enumerate(zip(s.populations, s.sizes, strict=True)):
        f = draw_window(rng, pop, n)
        f["scored_at"] = START + t * s.period
        windows.append(f)
    cohorts, cohort_of = [], []
    for t, frame in enumerate(windows):
        c = t - s.label_delay
        if c >= 0:
            cohort = windows[c].copy()
            pending = rng.random(len(cohort)) >= s.matured_share
            cohort.loc[pending, "label"] = np.nan
        else:
            cohort = frame.iloc[:0].copy()
        cohorts.append(cohort)
        cohort_of.append(c)
    return ScenarioData(scenario_spec(s), reference, base_pops, windows, cohorts, cohort_of, s.period)


def evaluate_in_memory(data: ScenarioData) -> tuple[dict[str, Any], list[tuple[dict[str, Any], dict[str, Any]]]]:
    """Every window through ``assessment`` on its rows in memory (``compute_in: memory``)."""
    spec = data.spec
    base = assessment.summarize_reference(spec, data.reference, data.reference)
    out = []
    for frame, cohort in zip(data.windows, data.cohorts, strict=True):
        performance, _ = assessment.assess_performance(spec, cohort, base)
        performance["estimate"] = assessment.estimate_performance(spec, frame, base)
        drift, _ = assessment.assess_drift(spec, frame, base)
        out.append((performance, drift))
    return base, out


def run_scenario(s: Scenario, evaluate: Evaluation = evaluate_in_memory) -> tuple[list[RunResult], dict[str, Any]]:
    """Every window of a scenario through the real evaluation; returns per-run results and facts.

    ``evaluate`` computes the statistics: in memory by default, or in a database
    (``gapwatch.demo.scenarios_db``); the findings and the scoring are the same code either way.
    """
    data = scenario_data(s)
    spec = data.spec
    base, evaluated = evaluate(data)
    metric = spec.main_metric
    limit = assessment.metric_threshold(metric, base["metrics"], sub_windows=s.sub_windows)
    oracle_limit, gray = _oracle_limit(s, spec)
    oracle = [oracle_auc(pop) for pop in s.populations]
    truth = [_truth(a, oracle_limit, gray) for a in oracle]

    results: list[RunResult] = []
    for t, (frame, (performance, drift)) in enumerate(zip(data.windows, evaluated, strict=True)):
        c = data.cohort_of[t]
        performance["cohort_start"] = str(c)
        readiness = {"ready": True, "critical_failures": [], "warnings": [], "rows": len(frame)}
        findings = policy.decide(spec, readiness, performance, drift)
        status = {f["kind"]: f["status"] for f in findings}
        est_row = performance["estimate"].get("row") or {}
        results.append(
            RunResult(
                t=t,
                truth_window=truth[t],
                truth_cohort=truth[c] if c >= 0 else "healthy",
                inputs_changed=_inputs(s.populations[t]) != _inputs(data.base_pops[t % len(data.base_pops)]),
                # Every metric is a check; a critical one breaching is the alarm (the first by default).
                performance_alarm=bool(policy.failing_metrics(spec, findings)),
                estimate_alarm=status.get("estimate") == "breach",
                drift_warning=status.get("drift") == "breach",
                realized=performance["metrics"].get(metric.name, {}).get("value"),
                estimated=est_row.get("value"),
                oracle=oracle[t],
            )
        )
    return results, {"limit": limit, "oracle_limit": oracle_limit}


def _inputs(pop: Population) -> Population:
    """The part of a population that shapes its inputs (concept drift changes labels only)."""
    return Population(**{**pop.__dict__, "concept": 0.0})


def scenarios_season_baseline(s: Scenario) -> list[Population]:
    """The seasonal scenario's baseline: the two weeks before its first window, same calendar."""
    weekday, weekend = (0.30, 0.25, 0.25, 0.20), (0.20, 0.25, 0.25, 0.30)
    return [
        Population(region_p=weekend if d % 7 in (5, 6) else weekday, x2_shift=-0.2 if d % 7 in (5, 6) else 0.0)
        for d in range(s.baseline_windows)
    ]


# ---------------------------------------------------------------- scoring


@dataclass
class Score:
    name: str
    story: str
    runs: int
    healthy_runs: int
    onsets: list[int]
    delays: list[int | None]
    missed: int
    false_alarms: int
    drift_on_changed: int
    changed_runs: int
    drift_on_unchanged: int
    unchanged_runs: int
    first_drift_after_change: int | None
    perf_alarms: int


def score(s: Scenario, results: list[RunResult]) -> Score:
    """Detection delay, misses and false alarms of one scenario against its truth."""
    alarm = [r.performance_alarm or r.estimate_alarm for r in results]
    harmful = [r.truth_window == "harmful" for r in results]
    onsets = [t for t in range(len(results)) if harmful[t] and (t == 0 or not harmful[t - 1])]
    delays: list[int | None] = []
    for onset in onsets:
        # An alarm in the gray zone just before the onset counts as on time.
        start = onset
        while start > 0 and results[start - 1].truth_window == "gray":
            start -= 1
        hit = next((t for t in range(start, len(results)) if alarm[t]), None)
        delays.append(None if hit is None else max(hit - onset, 0))
    healthy = [r.truth_window == "healthy" and r.truth_cohort == "healthy" for r in results]
    changed = [r.inputs_changed for r in results]
    first_change = next((t for t, c in enumerate(changed) if c), None)
    first_drift = None
    if first_change is not None:
        hit = next((t for t in range(first_change, len(results)) if results[t].drift_warning), None)
        first_drift = None if hit is None else hit - first_change
    return Score(
        name=s.name,
        story=s.story,
        runs=len(results),
        healthy_runs=sum(healthy),
        onsets=onsets,
        delays=delays,
        missed=sum(1 for d in delays if d is None or d > DETECT_WITHIN),
        false_alarms=sum(1 for a, h in zip(alarm, healthy, strict=True) if a and h),
        drift_on_changed=sum(1 for r in results if r.inputs_changed and r.drift_warning),
        changed_runs=sum(changed),
        drift_on_unchanged=sum(1 for r in results if not r.inputs_changed and r.drift_warning),
        unchanged_runs=len(results) - sum(changed),
        first_drift_after_change=first_drift,
        perf_alarms=sum(alarm),
    )


def run_all() -> list[Score]:
    return [score(s, run_scenario(s)[0]) for s in scenarios()]


def _delay_text(sc: Score) -> str:
    if not sc.onsets:
        return "none (no harmful window)"
    return ", ".join(f"w{o + 1}: " + ("missed" if d is None else f"{d}") for o, d in zip(sc.onsets, sc.delays, strict=True))


def table(scores: list[Score]) -> str:
    """The scoreboard as a Markdown table, with a totals row."""
    lines = [
        "| scenario | degradation onset: detection delay (windows) | missed | false alarms / healthy runs "
        "| drift warnings: changed inputs (first after change) | drift warnings: unchanged inputs |",
        "|---|---|---|---|---|---|",
    ]
    for sc in scores:
        first = "-" if sc.first_drift_after_change is None else f"+{sc.first_drift_after_change}"
        changed = f"{sc.drift_on_changed}/{sc.changed_runs} ({first})" if sc.changed_runs else "-"
        lines.append(
            f"| {sc.name} | {_delay_text(sc)} | {sc.missed} | {sc.false_alarms}/{sc.healthy_runs} "
            f"| {changed} | {sc.drift_on_unchanged}/{sc.unchanged_runs} |"
        )
    fa = sum(s.false_alarms for s in scores)
    hr = sum(s.healthy_runs for s in scores)
    lines.append(
        f"| **all** | {sum(len(s.onsets) for s in scores)} degradations | {sum(s.missed for s in scores)} "
        f"| {fa}/{hr} ({100 * fa / max(hr, 1):.1f}%) | {sum(s.drift_on_changed for s in scores)}/"
        f"{sum(s.changed_runs for s in scores)} | {sum(s.drift_on_unchanged for s in scores)}/"
        f"{sum(s.unchanged_runs for s in scores)} |"
    )
    return "\n".join(lines)


def document(scores: list[Score]) -> str:
    stories = "\n".join(f"- **{s.name}**: {s.story}" for s in scores)
    return f"""# Scenario scoreboard

Generated by `make scenarios` (`python -m gapwatch.demo.scenarios`); deterministic. Every window runs
through `gapwatch.evaluation.assessment` and `gapwatch.policy.decide`, the code the monitor DAG runs.
A *degradation* is a window whose oracle ROC AUC (expected value on {ORACLE_ROWS:,} fresh rows
with true probabilities) is more than {GRAY_ZONE} below the spec's limit (for
small_sustained_drop_large_windows: more than 0.008 below its healthy oracle); *healthy* runs are those
whose window and judged cohort are both at or above it. An alarm is a realized-performance breach
or a label-free estimate breach; it must come within {DETECT_WITHIN} window of the onset.
Drift warnings are counted apart, on runs whose input distribution changed or did not.

{table(scores)}

Scenarios:

{stories}
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the scenario scoreboard.")
    parser.add_argument("--write", type=Path, help="write the Markdown scoreboard to this file")
    args = parser.parse_args(argv)
    from gapwatch.demo import adoption_scenarios

    scores = run_all()
    text = document(scores) + adoption_scenarios.document(adoption_scenarios.run_all())
    print(text)
    if args.write:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        args.write.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
