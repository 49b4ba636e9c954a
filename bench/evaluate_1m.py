"""Benchmark: evaluating a 1M-row window (performance + estimate + drift), against reading it,
and the in-memory performance evaluation paired with a plain numpy/scikit-learn script.

Prints seconds and peak traced memory of each step, as ratios against a reference run in the same
process: reading the same window from Parquet (what ``pipeline.evaluate_*`` does first), and the
in-memory size of the frame. Peak memory is what tracemalloc sees (numpy/pandas allocations;
pyarrow's own buffers during the read are not traced, hence memory is compared to the frame).

The pairing: the same rows through gapwatch (cells -> every metric with its standard error, per
segment; the CBPE estimate; the baseline's metrics over its sub-windows) and through a plain script
calling scikit-learn once per metric and segment (values only, no errors), best of three runs each,
alternated. Ratio = gapwatch / plain (at most 1 is the target).

Run with ``.venv/bin/python bench/evaluate_1m.py [rows ...]`` (default 1,000,000).
"""

from __future__ import annotations

import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gapwatch.evaluation import assessment, cells
from gapwatch.spec import MonitorSpec, load_specs


def frame_of(rows: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    utilization = rng.beta(2, 3.5, rows) + shift
    income = rng.lognormal(np.log(55_000), 0.45, rows)
    logit = -1.5 + 2.2 * utilization - 0.8 * np.log(income / 55_000)
    score = np.round(1 / (1 + np.exp(-logit)), 6)
    return pd.DataFrame(
        {
            "scored_at": pd.Timestamp("2026-01-05") + pd.to_timedelta(rng.integers(0, 7 * 86400, rows), "s"),
            "age": rng.integers(21, 75, rows),
            "income": income,
            "utilization": utilization,
            "late_payments": rng.poisson(0.5, rows),
            "tenure_months": rng.gamma(2, 30, rows).round(),
            "region": rng.choice(["north", "south", "east", "west"], rows),
            "score": score,
            "predicted_label": (score >= 0.4).astype(int),
            "label": (rng.random(rows) < score).astype(float),
        }
    )


def measure(step: Callable[[], Any]) -> tuple[float, float, Any]:
    tracemalloc.start()
    t0 = time.perf_counter()
    out = step()
    seconds = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, peak / 2**20, out


METRICS = ("roc_auc", "pr_auc", "f1", "precision", "recall", "accuracy", "log_loss", "brier", "ece")


def plain_metrics(y: np.ndarray, pred: np.ndarray, score: np.ndarray) -> dict[str, float]:
    """The nine binary metrics as a plain script computes them: scikit-learn on the rows."""
    from sklearn import metrics as skm

    bins = np.searchsorted(np.linspace(0, 1, 11)[1:-1], score)
    count = np.bincount(bins, minlength=10)
    gap = np.abs(np.bincount(bins, weights=y, minlength=10) - np.bincount(bins, weights=score, minlength=10))
    return {
        "roc_auc": skm.roc_auc_score(y, score), "pr_auc": skm.average_precision_score(y, score),
        "f1": skm.f1_score(y, pred), "precision": skm.precision_score(y, pred),
        "recall": skm.recall_score(y, pred), "accuracy": skm.accuracy_score(y, pred),
        "log_loss": skm.log_loss(y, score), "brier": skm.brier_score_loss(y, score),
        "ece": float(gap.sum() / count.sum()),
    }


def plain_performance(frame: pd.DataFrame) -> list[dict[str, float]]:
    """Every metric overall and per region, as a plain script would."""
    parts = [frame] + [part for _, part in frame.groupby("region", sort=True)]
    return [plain_metrics(p["label"].to_numpy(), p["predicted_label"].to_numpy(), p["score"].to_numpy())
            for p in parts]


def plain_estimate(frame: pd.DataFrame, calibration: dict[str, list[float]]) -> tuple[float, float]:
    """CBPE as a plain script: calibrated probabilities, expected ROC AUC from one sort."""
    score = frame["score"].to_numpy()
    prob = np.interp(score, calibration["x"], calibration["y"])
    order = np.argsort(-score, kind="stable")
    tp, fp = np.cumsum(prob[order]), np.cumsum(1 - prob[order])
    auc = float(np.trapezoid(np.r_[0, tp] / tp[-1], np.r_[0, fp] / fp[-1]))
    accuracy = float(np.mean(np.where(frame["predicted_label"].to_numpy() == 1, prob, 1 - prob)))
    return auc, accuracy


def plain_reference(frame: pd.DataFrame, k: int) -> list[list[dict[str, float]]]:
    """The baseline's metrics on all of it and on each of k slices (no errors)."""
    ordered = frame.sort_values("scored_at", kind="stable")
    parts = [ordered] + [ordered.iloc[i * len(ordered) // k:(i + 1) * len(ordered) // k] for i in range(k)]
    return [plain_performance(p)[:1] for p in parts]


def best_of(step: Callable[[], Any], runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return min(times)


def pairing(spec: MonitorSpec, rows: int) -> None:
    """gapwatch's in-memory performance vs the plain script on the same rows, paired."""
    reference = frame_of(rows, seed=1)
    window = frame_of(rows, seed=2, shift=0.05)
    base = assessment.summarize_reference(spec, reference, reference)
    pairs = {
        "performance (9 metrics x overall + 4 segments)": (
            lambda: assessment.assess_performance(spec, window, base), lambda: plain_performance(window)),
        "label-free estimate (CBPE)": (
            lambda: assessment.estimate_performance(spec, window, base),
            lambda: plain_estimate(window, base["calibration"])),
        "baseline metrics (all + sub-windows)": (
            lambda: assessment.reference_performance(spec, cells.slice_cells(spec, reference)),
            lambda: plain_reference(reference, spec.baseline.sub_windows)),
    }
    print(f"\npaired, {rows:,} + {rows:,} rows (best of 3):")
    print(f"{'step':50} {'gapwatch s':>10} {'plain s':>8} {'ratio':>6}")
    total_g = total_p = 0.0
    for name, (ours, plain) in pairs.items():
        g, p = best_of(ours), best_of(plain)
        total_g, total_p = total_g + g, total_p + p
        print(f"{name:50} {g:10.2f} {p:8.2f} {g / p:6.2f}")
    print(f"{'total':50} {total_g:10.2f} {total_p:8.2f} {total_g / total_p:6.2f}")


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [1_000_000]
    rows = sizes[-1]
    base_spec = load_specs().by_name("credit_default")
    data = base_spec.model_dump()
    data["metrics"] = [{"name": m, "min_labels": 200} for m in
                       ("roc_auc", "pr_auc", "f1", "precision", "recall", "accuracy", "log_loss", "brier", "ece")]
    data["metrics"][0].update(floor=0.6, max_drop=0.05)
    data["drift"] = {"multivariate": True}  # automatic methods + PCA reconstruction
    spec = MonitorSpec.model_validate(data)

    reference = frame_of(200_000, seed=1)
    window = frame_of(rows, seed=2, shift=0.05)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "window.parquet"
        window.to_parquet(path, index=False)
        read_s, read_mb, loaded = measure(lambda: pd.read_parquet(path))
    frame_mb = loaded.memory_usage(deep=True).sum() / 2**20
    base_s, base_mb, base = measure(lambda: assessment.summarize_reference(spec, reference, reference))

    steps = {
        "performance (9 metrics x overall + 4 segments)": lambda: assessment.assess_performance(spec, loaded, base),
        "label-free estimate (CBPE)": lambda: assessment.estimate_performance(spec, loaded, base),
        "drift (6 columns + score + PCA)": lambda: assessment.assess_drift(spec, loaded, base),
    }
    print(f"window: {rows:,} rows, {frame_mb:.0f} MB in memory; reference: read_parquet "
          f"{read_s:.2f} s, peak {read_mb:.0f} MB")
    print(f"(baseline of 200,000 rows summarised once: {base_s:.2f} s, peak {base_mb:.0f} MB)")
    print(f"{'step':50} {'seconds':>8} {'x read':>7} {'peak MB':>8} {'x frame':>8}")
    total = 0.0
    for name, step in steps.items():
        seconds, peak, _ = measure(step)
        total += seconds
        print(f"{name:50} {seconds:8.2f} {seconds / read_s:7.1f} {peak:8.0f} {peak / frame_mb:8.2f}")
    print(f"{'total evaluation':50} {total:8.2f} {total / read_s:7.1f}")
    for n in sizes:
        pairing(spec, n)


if __name__ == "__main__":
    main()
