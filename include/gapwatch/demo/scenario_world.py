"""The scenarios' world: how a window's rows are drawn, and the oracle that knows its truth.

A calibrated "model" whose score extrapolates flat beyond its training range (like a tree
ensemble), four regions, an input nobody uses, and populations that move each of them
(see :class:`Population`). ``oracle_auc`` is a population's expected ROC AUC on a large fresh
sample with the true probabilities: the truth the scoreboard judges the monitor against.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from gapwatch.evaluation.estimate import expected_roc_auc

ORACLE_ROWS = 40_000
ORACLE_SEED = 424242
REGIONS = np.array(["north", "south", "east", "west"])
REGION_EFFECT = np.array([0.0, 0.25, -0.10, 0.15])


@dataclass(frozen=True)
class Population:
    """How one window's rows are drawn. Defaults are the healthy population."""

    new_share: float = 0.0  # share from a new channel with x1 in [1, 2.5], beyond training
    concept: float = 0.0  # 0 = original labels; 1 = x2's effect reversed, x3's gone
    prevalence: float | None = None  # label shift: resample to this positive rate
    x4_shift: float = 0.0  # an input the model and the truth ignore
    region_p: tuple[float, float, float, float] = (0.30, 0.25, 0.25, 0.20)
    x2_shift: float = 0.0
    sharpness: float = 1.0  # scales model and true logits alike: > 1 makes a more accurate model
    intercept: float = 0.0  # added to both logits: moves the positive rate



def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _draw(rng: np.random.Generator, pop: Population, n: int) -> pd.DataFrame:
    new = rng.random(n) < pop.new_share
    x1 = np.where(new, rng.uniform(1.0, 2.5, n), rng.beta(2.0, 3.5, n))
    x2 = np.where(new, rng.normal(1.5, 0.5, n), rng.normal(pop.x2_shift, 1.0, n))
    x3 = np.where(new, rng.poisson(0.05, n), rng.poisson(0.3 + x1.clip(0, 1))).astype(float)
    x4 = rng.normal(pop.x4_shift, 1.0, n)
    region = rng.choice(4, size=n, p=np.asarray(pop.region_p) / sum(pop.region_p))
    base = -1.4 + 2.2 * (np.minimum(x1, 1.0) - 0.36) + REGION_EFFECT[region]
    model_logit = pop.sharpness * (base + pop.intercept + 0.8 * x3 - 0.7 * x2)
    c = pop.concept
    true_logit = pop.sharpness * (
        base + pop.intercept + 4.0 * np.maximum(x1 - 1.0, 0.0) + (0.8 * (1 - c)) * x3 + (-0.7 + 1.4 * c) * x2)
    return pd.DataFrame(
        {
            "x1": x1, "x2": x2, "x3": x3, "x4": x4, "region": REGIONS[region],
            "score": _sigmoid(model_logit), "p_true": _sigmoid(true_logit),
        }
    )


def draw_window(rng: np.random.Generator, pop: Population, n: int) -> pd.DataFrame:
    """``n`` rows of a population with labels drawn from the true probabilities."""
    if pop.prevalence is None:
        frame = _draw(rng, pop, n)
        frame["label"] = (rng.random(n) < frame["p_true"]).astype(float)
    else:
        # Label shift: P(x | y) fixed, P(y) moved, by sampling each class from a healthy pool.
        pool = _draw(rng, Population(**{**pop.__dict__, "prevalence": None}), 6 * n)
        pool["label"] = (rng.random(len(pool)) < pool["p_true"]).astype(float)
        n_pos = int(round(pop.prevalence * n))
        pos = pool[pool["label"] == 1].sample(n_pos, random_state=int(rng.integers(1 << 31)))
        neg = pool[pool["label"] == 0].sample(n - n_pos, random_state=int(rng.integers(1 << 31)))
        frame = pd.concat([pos, neg]).sample(frac=1.0, random_state=int(rng.integers(1 << 31)))
        frame = frame.reset_index(drop=True)
        frame["p_true"] = frame["label"]  # the oracle knows each row's class
    frame["predicted_label"] = (frame["score"] >= 0.4).astype(int)
    return frame


@lru_cache(maxsize=256)
def oracle_auc(pop: Population) -> float:
    """The population's expected ROC AUC (large fresh sample, true probabilities)."""
    frame = draw_window(np.random.default_rng(ORACLE_SEED), pop, ORACLE_ROWS)
    value = expected_roc_auc(frame["score"].to_numpy(), frame["p_true"].to_numpy())
    assert value is not None
    return value
