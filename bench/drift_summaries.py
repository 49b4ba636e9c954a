"""Benchmark: summarising a window for drift in memory, counts from one sort vs the former code.

The reference, in the same run on the same rows, is the summary as gapwatch computed it before
issue 14: per numeric column ``np.quantile`` at the 176 Wasserstein grid points plus two
``searchsorted`` passes (coarse and fine edges) and the mean/std/min/max passes. The new summary
(``evaluation.summaries.summarize_window``) sorts each column once and reads every count, bin
extreme and quantile off the sorted array. Prints seconds of each and the ratio (best of 3).

Run with ``.venv/bin/python bench/drift_summaries.py [rows]`` (default 1,000,000 rows, 20 numeric
columns, baseline of 200,000 rows).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from gapwatch.evaluation import summaries


def former_summary(df: pd.DataFrame, layout: dict[str, Any]) -> dict[str, Any]:
    """The numeric summary as computed before (quantiles at the grid, two bucketings)."""
    out: dict[str, Any] = {}
    for name, spec in layout.items():
        raw = df[name].to_numpy(dtype=float, na_value=np.nan)
        values = raw[np.isfinite(raw)]
        counts = []
        for key in ("edges", "fine_edges"):
            idx = np.searchsorted(np.asarray(spec[key]), values, side="right")
            counts.append(np.bincount(idx, minlength=len(spec[key]) + 1))
        out[name] = {
            "counts": counts, "mean": values.mean(), "std": values.std(), "min": values.min(),
            "max": values.max(),
            "quantiles": np.quantile(values, summaries.QUANTILE_GRID, method="inverted_cdf"),
        }
    return out


def best_of(step: Callable[[], Any], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    rng = np.random.default_rng(0)
    columns = [f"f{i}" for i in range(20)]

    def frame(n: int, shift: float) -> pd.DataFrame:
        return pd.DataFrame({c: rng.normal(shift, 1 + i % 3, n) if i % 2 else rng.lognormal(shift, 1, n)
                             for i, c in enumerate(columns)})

    layout = summaries.baseline_layout(frame(200_000, 0.0), dict.fromkeys(columns, "numeric"), 10)
    window = frame(rows, 0.1)
    before = best_of(lambda: former_summary(window, layout))
    after = best_of(lambda: summaries.summarize_window(window, layout))
    print(f"{rows} rows x {len(columns)} numeric columns: former {before:.3f} s, counts from one sort "
          f"{after:.3f} s, speed-up {before / after:.1f}x")


if __name__ == "__main__":
    main()
