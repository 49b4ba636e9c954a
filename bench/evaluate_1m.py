"""Benchmark: evaluating a 1M-row window (performance + estimate + drift), against reading it.

Prints seconds and peak traced memory of each step, as ratios against a reference run in the same
process: reading the same window from Parquet (what ``pipeline.evaluate_*`` does first), and the
in-memory size of the frame. Peak memory is what tracemalloc sees (numpy/pandas allocations;
pyarrow's own buffers during the read are not traced, hence memory is compared to the frame). Run with ``.venv/bin/python bench/evaluate_1m.py [rows]``.
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

from gapwatch.evaluation import assessment
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


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
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


if __name__ == "__main__":
    main()
