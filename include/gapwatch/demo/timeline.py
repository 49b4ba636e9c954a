"""The demo's calendar: twelve weekly windows from ``DEMO_START``, and the faults' windows.

Shared by the demo's generators (:mod:`gapwatch.demo.credit`, :mod:`gapwatch.demo.eta`), the
seeding entry point (:mod:`gapwatch.demo.seed`) and the runner, so the demo has one start date.
Timestamps are stored as naive UTC ``DateTime`` columns.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

DEMO_START: datetime = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday
WINDOW = timedelta(days=7)
N_WINDOWS = 12
FEED_BREAK_WINDOW = 5  # 1-based window number
SHIFT_FROM_WINDOW = 8  # 1-based; the shift lasts through window N_WINDOWS



def window_bounds(k: int) -> tuple[datetime, datetime]:
    """Return the ``[start, end)`` bounds of demo window ``k``.

    Args:
        k: 1-based window number, ``1 <= k <= N_WINDOWS``.

    Returns:
        Tz-aware UTC datetimes ``(start, end)``; ``end`` is exclusive.

    Raises:
        ValueError: If ``k`` is outside ``1..N_WINDOWS``.
    """
    if not 1 <= k <= N_WINDOWS:
        raise ValueError(f"window must be in 1..{N_WINDOWS}, got {k}")
    start = DEMO_START + (k - 1) * WINDOW
    return start, start + WINDOW


def sigmoid(z: np.ndarray) -> np.ndarray:
    """The logistic function (log-odds to probability)."""
    return 1.0 / (1.0 + np.exp(-z))


def prediction_ids(prefix: str, n: int) -> np.ndarray:
    """Return ``prefix-000001``-style ids (pandas string ops, numpy 1.26+ safe)."""
    width = max(6, len(str(n)))
    return (f"{prefix}-" + pd.Series(np.arange(1, n + 1)).astype(str).str.zfill(width)).to_numpy()


def naive_utc(ts: datetime) -> np.datetime64:
    """``ts`` as a naive UTC numpy datetime: stored columns are naive UTC."""
    return np.datetime64(ts.astimezone(UTC).replace(tzinfo=None), "us")


def window_layout(rng: np.random.Generator, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (1-based window per row, seconds offset inside the window).

    Rows are sorted by time so ids increase with ``scored_at``, like a real
    append-only prediction log.
    """
    window = np.repeat(np.arange(1, N_WINDOWS + 1), counts)
    offset = rng.integers(0, int(WINDOW.total_seconds()), size=window.size)
    order = np.lexsort((offset, window))
    return window, offset[order]


def window_timestamps(window: np.ndarray, offset_s: np.ndarray) -> np.ndarray:
    """Naive-UTC timestamps of rows given their 1-based window and offset in seconds."""
    start = naive_utc(DEMO_START)
    window_us = np.timedelta64(int(WINDOW.total_seconds()), "s").astype("timedelta64[us]")
    return start + (window - 1) * window_us + offset_s.astype("timedelta64[s]")
