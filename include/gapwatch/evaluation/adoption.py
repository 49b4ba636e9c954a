"""Adoption and business outcome, as pure functions of window statistics and the baseline.

The stage (``gapwatch.adoption``) reduces a window to a few aggregated rows in the source database
(counts of predictions, decisions within the SLA and followed decisions per team, segment and
time-to-action bucket; sums over the overridden and valued decisions of the label-matured cohort);
everything here works on those rows, vectorised over groups with numpy/pandas, never on decision
rows. The scoreboard (``gapwatch.demo.adoption_scenarios``) calls the same functions.

* ``measure``: every check's value and standard error, overall and per team/segment.
* ``summarize_baseline``: the reference values and their spread over sub-windows.
* ``assess``: every value judged against its limit (one-sided 95% bound, as for metrics), the teams
  that drive each check, and what the override quality says in words.
* ``feed_checks``: freshness and volume of the decisions feed.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from gapwatch.catalog import BREACH_Z
from gapwatch.spec_adoption import CHECKS, LABEL_CHECKS, TEAM

if TYPE_CHECKING:
    import pandas as pd

    from gapwatch.spec_adoption import Adoption

OVERALL = "*"
BUCKETS_PER_DOUBLING = 4  # time-to-action histogram: bucket edges 19% apart
BUCKET_RANGE = (-40, 16)  # edges from SLA / 1024 to SLA x 16 (in powers of 2 ** (1/4))
DECISION_COLUMNS = ("n", "decided", "within", "followed")
LABEL_COLUMNS = ("valued", "v_sum", "v_sumsq", "over_known", "human_right", "model_right")
HUMANS_RIGHT, MODEL_RIGHT, MIXED = "humans_right", "model_right", "mixed"


@dataclass(frozen=True)
class WindowStats:
    """A cohort reduced to aggregates (what the SQL in ``gapwatch.adoption_queries`` returns).

    Attributes:
        decisions: one row per group (``dims``) and time-to-action ``bucket`` (-1: undecided by
            the cohort's as-of time) with ``n`` predictions, ``decided``, ``within`` (decided within
            the SLA) and ``followed``.
        labels: one row per group of the label-matured cohort with ``valued`` (decisions with a
            value), ``v_sum``, ``v_sumsq``, ``over_known`` (overrides whose label matured and whose
            human choice is known), ``human_right`` and ``model_right`` among them.
        dims: the group columns: ``team`` (when the spec names one) and the spec's segments.
        seconds: the length of the decision cohort; label_seconds: of the label cohort.
    """

    decisions: pd.DataFrame
    labels: pd.DataFrame
    dims: tuple[str, ...]
    seconds: float
    label_seconds: float


@dataclass(frozen=True)
class Measure:
    """One check's value with its standard error; ``detail`` holds the counts behind it."""

    value: float | None
    stderr: float | None
    n: int
    detail: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe fields."""
        return asdict(self)


def bucket_edges(sla: timedelta) -> np.ndarray:
    """Upper edges (seconds) of the time-to-action buckets; one edge is the SLA itself."""
    k = np.arange(BUCKET_RANGE[0], BUCKET_RANGE[1] + 1)
    return sla.total_seconds() * 2.0 ** (k / BUCKETS_PER_DOUBLING)


def _finite(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


# ---------------------------------------------------------------- estimators (vectorised over groups)
# Hand-written on purpose: the stage only has per-group counts and bucket histograms (the SQL
# aggregates, never decision rows), and the estimators run over every team and segment at once.
# np.quantile and scipy.stats need the raw values; statsmodels' proportion helpers are not a
# dependency and would add nothing to k/n and sqrt(p(1-p)/n).


def proportion(k: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Share k/n and its binomial standard error, NaN where n is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(n > 0, k / np.where(n > 0, n, 1), np.nan)
        se = np.sqrt(p * (1 - p) / np.where(n > 0, n, np.nan))
    return p, se


def hist_quantile(counts: np.ndarray, edges: np.ndarray, q: np.ndarray | float) -> np.ndarray:
    """Quantile q of each row of a (groups x buckets) histogram, interpolated inside its bucket.

    Buckets are ``[0, e0), [e0, e1), ..., [e_last, inf)``; a quantile in the open last bucket is
    its lower edge (the value is at least that). NaN for an empty row.
    """
    counts = np.atleast_2d(np.asarray(counts, dtype=float))
    lower = np.r_[0.0, edges]
    upper = np.r_[edges, np.inf]
    total = counts.sum(axis=1)
    target = np.broadcast_to(np.asarray(q, dtype=float), total.shape) * total
    cum = counts.cumsum(axis=1)
    idx = np.argmax(cum >= target[:, None] - 1e-9, axis=1)
    rows = np.arange(counts.shape[0])
    inside = counts[rows, idx]
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.clip(np.where(inside > 0, (target - (cum[rows, idx] - inside)) / inside, 0.0), 0.0, 1.0)
    width = upper[idx] - lower[idx]
    value = np.where(np.isfinite(width), lower[idx] + frac * np.where(np.isfinite(width), width, 0), lower[idx])
    return np.where(total > 0, value, np.nan)


def quantile_with_error(counts: np.ndarray, edges: np.ndarray, q: float) -> tuple[np.ndarray, np.ndarray]:
    """Quantile and a distribution-free standard error from the order statistics' binomial band:
    the quantiles at ranks q -/+ z sqrt(q(1-q)/n), half their distance over z."""
    counts = np.atleast_2d(np.asarray(counts, dtype=float))
    n = counts.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        half = BREACH_Z * np.sqrt(q * (1 - q) / np.where(n > 0, n, np.nan))
    lo = hist_quantile(counts, edges, np.clip(q - np.nan_to_num(half), 0, 1))
    hi = hist_quantile(counts, edges, np.clip(q + np.nan_to_num(half), 0, 1))
    return hist_quantile(counts, edges, q), (hi - lo) / (2 * BREACH_Z)


def _override_quality(h: np.ndarray, m: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # Per overridden case d = human right - model right is -1, 0 or 1, and both can never be right
    # (the human chose another class than the model), so sum(d^2) = h + m.
    with np.errstate(divide="ignore", invalid="ignore"):
        safe = np.where(n > 0, n, np.nan)
        d = (h - m) / safe
        var = np.maximum((h + m) / safe - d**2, 0.0)
        return d, np.sqrt(var / safe)


def _mean(total: np.ndarray, sumsq: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = total / np.where(n > 0, n, np.nan)
        var = np.maximum(sumsq / np.where(n > 0, n, np.nan) - mean**2, 0.0) * n / np.where(n > 1, n - 1, np.nan)
        return mean, np.sqrt(var / np.where(n > 0, n, np.nan))


# ---------------------------------------------------------------- grouping


def _segment_frames(frame: pd.DataFrame, dims: tuple[str, ...], columns: list[str]) -> pd.DataFrame:
    """Sums of ``columns`` overall (``*``) and per value of each dim, indexed by segment name."""
    import pandas as pd

    parts = [frame[columns].sum().to_frame(OVERALL).T]
    for dim in dims:
        grouped = frame.groupby(dim, sort=True, dropna=False)[columns].sum()
        grouped.index = [f"{dim}={v}" for v in grouped.index]
        parts.append(grouped)
    return pd.concat(parts).fillna(0)


def _histograms(decisions: pd.DataFrame, dims: tuple[str, ...], n_buckets: int) -> pd.DataFrame:
    """Decided predictions per segment (rows) and time-to-action bucket (columns 0..n-1)."""
    import pandas as pd

    decided = decisions[decisions["bucket"] >= 0]
    overall = decided.groupby("bucket")["decided"].sum().reindex(range(n_buckets), fill_value=0)
    parts = [overall.to_frame(OVERALL).T]
    for dim in dims:
        part = decided.groupby([dim, "bucket"], dropna=False)["decided"].sum().unstack(fill_value=0)
        part = part.reindex(columns=range(n_buckets), fill_value=0)
        part.index = [f"{dim}={v}" for v in part.index]
        parts.append(part)
    return pd.concat(parts).fillna(0)


def measure(stats: WindowStats, adoption: Adoption, checks: list[str]) -> dict[str, dict[str, Measure]]:
    """The measure of each of ``checks``, overall (``*``) and per ``dim=value`` segment.

    Returns:
        ``{segment: {check: Measure}}``; a segment seen in only one cohort has the other's checks
        with n = 0.
    """
    edges = bucket_edges(adoption.decision_sla)
    dec = _segment_frames(stats.decisions, stats.dims, list(DECISION_COLUMNS))
    lab = _segment_frames(stats.labels, stats.dims, list(LABEL_COLUMNS))
    segments = list(dict.fromkeys([*dec.index, *lab.index]))
    dec, lab = dec.reindex(segments, fill_value=0), lab.reindex(segments, fill_value=0)
    hist = _histograms(stats.decisions, stats.dims, edges.size + 1).reindex(segments, fill_value=0)
    values = _check_arrays(dec, lab, hist.to_numpy(dtype=float), edges, stats.label_seconds)
    out: dict[str, dict[str, Measure]] = {}
    for i, segment in enumerate(segments):
        out[segment] = {
            check: Measure(_finite(v[i]), _finite(se[i]), int(n[i]), {k: _plain(d[i]) for k, d in detail.items()})
            for check, (v, se, n, detail) in values.items()
            if check in checks
        }
    return out


def _plain(x: Any) -> int | float:
    """A JSON-safe count (int) or amount (float) from a numpy scalar."""
    value = float(x)
    return int(value) if value.is_integer() else value


def _check_arrays(
    dec: pd.DataFrame, lab: pd.DataFrame, hist: np.ndarray, edges: np.ndarray, label_seconds: float
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]]:
    """(value, stderr, n, detail arrays) per check, one entry per segment row."""
    n, decided, within, followed = (dec[c].to_numpy(dtype=float) for c in DECISION_COLUMNS)
    valued, v_sum, v_sumsq, over, h, m = (lab[c].to_numpy(dtype=float) for c in LABEL_COLUMNS)
    p50, p50_se = quantile_with_error(hist, edges, 0.5)
    p90, p90_se = quantile_with_error(hist, edges, 0.9)
    beyond = hist[:, -1] if hist.size else np.zeros(len(n))
    out = {
        "coverage": (*proportion(within, n), n,
                     {"misses": n - within, "undecided": n - decided, "late": decided - within}),
        "follow_rate": (*proportion(followed, decided), decided, {"overrides": decided - followed}),
        "time_to_action_p50": (p50, p50_se, decided, {"late": decided - within, "beyond_range": beyond}),
        "time_to_action_p90": (p90, p90_se, decided, {"late": decided - within, "beyond_range": beyond}),
        "override_quality": (*_override_quality(h, m, over), over,
                             {"overrides": over, "human_right": h, "model_right": m}),
        "outcome_mean": (*_mean(v_sum, v_sumsq, valued), valued, {"sum": v_sum}),
        # A window's total: its error is that of a compound Poisson sum, sqrt(sum of squares).
        "outcome_sum": (v_sum, np.sqrt(v_sumsq), valued, {"seconds": np.full(len(n), label_seconds)}),
    }
    return out


# ---------------------------------------------------------------- baseline


def summarize_baseline(
    adoption: Adoption, checks: list[str], whole: WindowStats, slices: list[WindowStats],
    decisions_per_second: float,
) -> dict[str, Any]:
    """The reference: each segment's check values over the whole period and their spread over
    sub-periods (for ``spread_k``). ``outcome_sum`` is kept per second of cohort, since windows and
    the reference differ in length. JSON-safe."""
    main = measure(whole, adoption, checks)
    parts = [measure(s, adoption, checks) for s in slices]
    per_second = {"outcome_sum": (whole.label_seconds, [s.label_seconds for s in slices])}
    segments: dict[str, dict[str, Any]] = {}
    for segment, by_check in main.items():
        entries = {}
        for check, m in by_check.items():
            scale, slice_scales = per_second.get(check, (1.0, [1.0] * len(slices)))
            slice_values = [(p[segment][check].value if check in p.get(segment, {}) else None, s)
                            for p, s in zip(parts, slice_scales, strict=True)]
            spread = [v / s for v, s in slice_values if v is not None and s]
            entries[check] = {
                "value": m.value / scale if m.value is not None and scale else None,
                "stderr": m.stderr / scale if m.stderr is not None and scale else None,
                "n": m.n,
                "spread_mean": float(np.mean(spread)) if spread else None,
                "spread_std": float(np.std(spread, ddof=1)) if len(spread) > 1 else None,
            }
        segments[segment] = entries
    return {"segments": segments, "decisions_per_second": decisions_per_second}


def _base_entry(base: dict[str, Any], segment: str, check: str, seconds: float) -> dict[str, Any]:
    entry = dict((base.get("segments", {}).get(segment) or {}).get(check) or {})
    if check == "outcome_sum":  # stored per second: scale to this cohort's length
        for key in ("value", "spread_mean", "spread_std"):
            if entry.get(key) is not None:
                entry[key] = entry[key] * seconds
    return entry


# ---------------------------------------------------------------- judging


def judge(
    adoption: Adoption, check: str, segment: str, m: Measure, entry: dict[str, Any]
) -> dict[str, Any]:
    """One value against its limit: a breach needs the one-sided 95% bound past it; fewer than
    ``min_decisions`` is insufficient, never an alarm."""
    from gapwatch.evaluation.metrics import threshold_for

    limits = adoption.limits(check)
    higher = adoption.higher_is_better(check)
    spread = (entry["spread_mean"], entry["spread_std"]) if entry.get("spread_std") is not None else None
    threshold = threshold_for(higher, limits.floor, limits.max_drop, entry.get("value"),
                              max_relative_drop=limits.max_relative_drop, spread=spread,
                              spread_k=limits.spread_k)
    margin = BREACH_Z * (m.stderr or 0.0)
    if m.value is None or m.n < adoption.min_for(check):
        status = "insufficient"
    elif threshold is not None and (m.value + margin < threshold if higher else m.value - margin > threshold):
        status = "breach"
    else:
        status = "ok"
    return {
        "check": check, "segment": segment, "value": m.value, "stderr": m.stderr,
        "interval": [m.value - margin, m.value + margin] if m.value is not None else None,
        "baseline": entry.get("value"), "threshold": threshold, "n": m.n, "status": status,
        "higher_is_better": higher, "detail": m.detail,
    }


def _contribution(row: dict[str, Any]) -> float:
    """How much of a check's problem one team's row accounts for (counts, or value shortfall)."""
    d, check = row["detail"], row["check"]
    if check == "coverage":
        return float(d.get("misses", 0))
    if check == "follow_rate":
        return float(d.get("overrides", 0))
    if check.startswith("time_to_action"):
        return float(d.get("late", 0))
    if check == "override_quality":
        return float(d.get("model_right", 0))
    if row["value"] is None or row["baseline"] is None:
        return 0.0
    gap = (row["baseline"] - row["value"]) if row["higher_is_better"] else (row["value"] - row["baseline"])
    return max(gap, 0.0) * (row["n"] if check == "outcome_mean" else 1)


def drivers(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The team rows of one check, biggest share of the problem first."""
    teams = [r for r in rows if r["segment"].startswith(f"{TEAM}=")]
    contributions = np.array([_contribution(r) for r in teams], dtype=float)
    total = contributions.sum()
    out = [
        {"team": r["segment"].split("=", 1)[1], "value": r["value"], "baseline": r["baseline"],
         "n": r["n"], "status": r["status"], "share": float(c / total) if total > 0 else 0.0}
        for r, c in zip(teams, contributions, strict=True)
    ]
    return sorted(out, key=lambda d: (-d["share"], d["status"] != "breach", d["team"]))


def override_verdict(m: Measure | None) -> dict[str, Any]:
    """Whether the humans who overrode the model were right, from the override-quality measure:
    significantly more often right than the model = healthy scepticism; less = a trust problem."""
    if m is None or m.value is None or not m.n:
        return {"verdict": None, "overrides": m.n if m else 0}
    margin = BREACH_Z * (m.stderr or 0.0)
    verdict = HUMANS_RIGHT if m.value - margin > 0 else MODEL_RIGHT if m.value + margin < 0 else MIXED
    n = m.n
    return {
        "verdict": verdict, "overrides": n, "value": m.value,
        "human_right_share": m.detail.get("human_right", 0) / n, "model_right_share": m.detail.get("model_right", 0) / n,
    }


def assess(
    adoption: Adoption, checks: list[str], stats: WindowStats | None, base: dict[str, Any], *,
    gate: str | None = None,
) -> dict[str, Any]:
    """Every check judged overall and per team/segment; a check breaches when its overall value
    breaches, or, for the checks judged per team (``CheckDef.per_team``), any team's value against
    that team's own baseline.

    Args:
        adoption: the spec section.
        checks: the checks measured (``spec_adoption.measured_checks``).
        stats: the window's aggregates (None when gated).
        base: ``summarize_baseline`` output.
        gate: why the window cannot be judged (a broken decisions feed); None when it can.

    Returns:
        ``{"status", "reason", "checks": {check: {"status", "row", "drivers", "breaching_teams",
        "judged"}}, "override_quality": override_verdict(...), "rows": [judged rows]}``.
    """
    enabled = [c for c in CHECKS if c in checks]
    if gate is not None or stats is None:
        gated: dict[str, dict[str, Any]] = {c: {"status": "inconclusive", "row": None, "drivers": [], "breaching_teams": [],
                     "judged": bool(adoption.limits(c).limits())} for c in enabled}
        return {"status": "inconclusive", "reason": gate, "checks": gated,
                "override_quality": {"verdict": None, "overrides": 0}, "rows": []}
    measures = measure(stats, adoption, enabled)
    rows = [
        judge(adoption, check, segment, m,
              _base_entry(base, segment, check, stats.label_seconds if check in LABEL_CHECKS else stats.seconds))
        for segment, by_check in measures.items()
        for check, m in by_check.items()
    ]
    verdicts: dict[str, dict[str, Any]] = {}
    for check in enabled:
        own = [r for r in rows if r["check"] == check]
        overall = next(r for r in own if r["segment"] == OVERALL)
        teams = [r["segment"].split("=", 1)[1] for r in own
                 if r["segment"].startswith(f"{TEAM}=") and r["status"] == "breach"] if CHECKS[check].per_team else []
        status = "breach" if overall["status"] == "breach" or teams else overall["status"]
        verdicts[check] = {"status": status, "row": overall, "drivers": drivers(own)[:5],
                           "breaching_teams": teams, "judged": bool(adoption.limits(check).limits())}
    judged = [c["status"] for c in verdicts.values() if c["judged"]]
    status = "breach" if "breach" in judged else "ok" if "ok" in judged else "insufficient"
    return {"status": status, "reason": None, "checks": verdicts,
            "override_quality": override_verdict(measures[OVERALL].get("override_quality")), "rows": rows}


# ---------------------------------------------------------------- the decisions feed


def feed_checks(
    *, rows: int, newest: datetime | None, start: datetime, end: datetime, per_second: float | None,
    max_age: timedelta | None, min_ratio: float | None, max_ratio: float | None,
) -> list[dict[str, Any]]:
    """Freshness and volume of the decisions that arrived in ``[start, end)``.

    Args:
        rows: decisions made in the window; newest: the latest ``decided_at`` among them.
        start, end: the window (UTC); freshness is judged at its end, never the wall clock.
        per_second: the baseline's decisions per second (None: no volume check).
        max_age: freshness limit (None: no freshness check).
        min_ratio, max_ratio: the volume band around the baseline's decisions per window.

    Returns:
        ``[{"check": "freshness"|"volume", "failing": [text], "observed": ...}]``.
    """
    out: list[dict[str, Any]] = []
    if max_age is not None:
        oldest_ok = end - max_age
        fresh = newest is not None and newest >= oldest_ok
        text = (f"decisions feed: newest decision {newest:%Y-%m-%d %H:%M} is older than "
                f"{_age(max_age)} before the window end" if newest is not None
                else "decisions feed: no decision in the window")
        out.append({"check": "freshness", "failing": [] if fresh else [text],
                    "observed": newest.isoformat() if newest else None})
    if per_second and min_ratio is not None and max_ratio is not None:
        expected = per_second * (end - start).total_seconds()
        low, high = math.ceil(expected * min_ratio), math.floor(expected * max_ratio)
        ok = low <= rows <= high
        text = (f"decisions feed: {rows} decisions in the window, expected {low} to {high} "
                f"(baseline {expected:.0f} per window)")
        out.append({"check": "volume", "failing": [] if ok else [text], "observed": rows})
    return out


def _age(age: timedelta) -> str:
    hours = age.total_seconds() / 3600
    return f"{hours / 24:g}d" if hours >= 24 and hours % 24 == 0 else f"{hours:g}h"


def feed_gate(
    feed: list[dict[str, Any]], broken_before: list[datetime], start: datetime, end: datetime, earliest: datetime
) -> str | None:
    """Why the adoption checks of window ``[start, end)`` cannot be judged, or None.

    A window whose decisions feed fails its checks is inconclusive; so is one whose cohorts
    (predictions from ``earliest`` on, decided by ``end``) overlap an earlier window whose feed
    failed (``broken_before``: those windows' starts; they are as long as this one): their
    missing decisions would read as people not acting.
    """
    if any(c["failing"] for c in feed):
        return "the decisions feed failed its readiness checks"
    length = end - start
    overlapping = sorted(s for s in broken_before if s < start and s + length > earliest)
    if overlapping:
        return (f"the decisions feed of the window of {overlapping[-1]:%Y-%m-%d} failed readiness, and this "
                "window's cohorts overlap it")
    return None
