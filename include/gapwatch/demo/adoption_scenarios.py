"""Adoption scenarios with known truth for the scoreboard, run through the real adoption code.

Each scenario writes a small SQLite "production database" (predictions, outcomes, decisions of
four teams over a reference period and 24 weekly windows), then runs every window through
``gapwatch.adoption.judge_window`` (the SQL aggregates and judgement the monitor DAG runs) and
``adoption_findings``. Truth is known by construction: the window from which people stop acting on
the model as they did (an *adoption problem*), and the windows whose decisions feed was broken.

Scored: detection delay of each adoption problem (windows from onset to the first adoption or
outcome alarm; must be at most ``DETECT_WITHIN``), false alarms (adoption alarms on windows
without an adoption problem, broken-feed windows included: a broken feed is a data incident, never
an adoption alarm), and for a broken feed how soon its data incident comes.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from gapwatch.spec import MonitorSpec
from gapwatch.window import Window

DETECT_WITHIN = 1
START = datetime(2026, 1, 5, tzinfo=UTC)
WEEK = timedelta(days=7)
BASELINE_WINDOWS = 4
WINDOWS = 24
TEAMS = np.array(["north", "south", "east", "west"])
ACCURACY = 0.8  # the model is right 80% of the time in every scenario: adoption is the question
REFERENCE_SIZE = 1600  # predictions per reference week (about 400 a team)
INDEXES = (("predictions", "scored_at"), ("predictions", "id"), ("outcomes", "id"),
           ("decisions", "id"), ("decisions", "decided_at"))


@dataclass(frozen=True)
class Behaviour:
    """How one team acts on the model's predictions in one window."""

    within_sla: float = 0.96  # decided within the 1-day SLA; the rest 2-6 days late or never
    never: float = 0.02
    override_when_right: float = 0.08
    override_when_wrong: float = 0.35


HEALTHY = Behaviour()


@dataclass
class AdoptionScenario:
    name: str
    story: str
    behaviour: Callable[[int, str], Behaviour]  # (window index, negative in the reference, team)
    problem_from: int | None = None  # first window with an adoption problem (truth)
    broken_feed: tuple[int, ...] = ()  # windows whose decisions never reach the table
    input_shift_from: int | None = None  # x1 moves by 1.5 from this window (the model stays right)
    sizes: Callable[[np.random.Generator], np.ndarray] = lambda rng: np.full(WINDOWS, REFERENCE_SIZE)
    seed: int = 0


def scenarios() -> list[AdoptionScenario]:
    """The adoption scenario set, each deterministic from its seed."""
    distrust = Behaviour(override_when_right=0.30, override_when_wrong=0.35)
    ignores = Behaviour(within_sla=0.30, never=0.10, override_when_right=0.45, override_when_wrong=0.45)
    return [
        AdoptionScenario(
            "trust_erosion_after_shift",
            "an input shifts in window 13 and from then on people override a model that is still right "
            "(follow rate 85% -> 70%)",
            lambda t, team: distrust if t >= 12 else HEALTHY, problem_from=12, input_shift_from=12, seed=21),
        AdoptionScenario(
            "team_never_adopts", "team south never acts on the scores (late, ignores them), baseline included",
            lambda t, team: ignores if team == "south" else HEALTHY, problem_from=0, seed=22),
        AdoptionScenario(
            "healthy_adoption_with_noise",
            "nothing happens; 1,200-2,000 predictions a window (300-500 a team), the teams' habits wobble",
            lambda t, team: Behaviour(within_sla=0.95 + 0.02 * np.sin(t + len(team)),
                                      override_when_right=0.08 + 0.02 * np.cos(t * len(team))),
            sizes=lambda rng: rng.integers(1200, 2000, WINDOWS), seed=23),
        AdoptionScenario(
            "broken_decisions_feed", "healthy people; the decisions feed loads nothing in windows 15-16",
            lambda t, team: HEALTHY, broken_feed=(14, 15), seed=24),
    ]


# ---------------------------------------------------------------- the world


def _tables(s: AdoptionScenario, rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    """Predictions, outcomes and decisions of the reference and every window (vectorised)."""
    sizes = np.r_[np.full(BASELINE_WINDOWS, REFERENCE_SIZE), s.sizes(rng)]
    window = np.repeat(np.arange(-BASELINE_WINDOWS, WINDOWS), sizes)
    n = window.size
    scored = (pd.Timestamp(START).tz_convert(None) + pd.to_timedelta(window * 7, "D")
              + pd.to_timedelta(rng.integers(0, 7 * 86400, n), "s"))
    team = rng.choice(TEAMS, n)
    predicted = (rng.random(n) < 0.2).astype(int)
    right = rng.random(n) < ACCURACY
    label = np.where(right, predicted, 1 - predicted)
    behaviour = _behaviour_arrays(s, window, team)
    shift = np.where(window >= (WINDOWS if s.input_shift_from is None else s.input_shift_from), 1.5, 0.0)
    override = rng.random(n) < np.where(right, behaviour["override_when_right"], behaviour["override_when_wrong"])
    human = np.where(override, 1 - predicted, predicted)
    hours = np.where(rng.random(n) < behaviour["within_sla"], rng.uniform(0.1, 20.0, n), rng.uniform(48, 144, n))
    decided = scored + pd.to_timedelta(hours * 3600, "s")
    kept = (rng.random(n) >= behaviour["never"]) & ~_in_broken(s, decided)
    ids = pd.Series(np.arange(n)).astype(str).str.zfill(7).to_numpy()
    value = np.where(human == 1, -40.0, np.where(label == 1, -1200.0, 180.0))
    return {
        "predictions": pd.DataFrame({"id": ids, "scored_at": scored, "predicted_label": predicted,
                                     "score": np.where(predicted == 1, 0.7, 0.2), "x1": rng.normal(0, 1, n) + shift,
                                     "team": team}),
        "outcomes": pd.DataFrame({"id": ids, "label": label, "arrived_at": scored + pd.Timedelta(days=7)}),
        "decisions": pd.DataFrame({"id": ids, "decided_at": decided, "action": np.where(human == 1, "refer", "approve"),
                                   "team": team, "value": value})[kept],
    }


def _behaviour_arrays(s: AdoptionScenario, window: np.ndarray, team: np.ndarray) -> dict[str, np.ndarray]:
    """Each row's behaviour parameters, from the scenario's (window, team) table."""
    keys = pd.MultiIndex.from_arrays([window, team])
    table = pd.DataFrame(
        [{"w": w, "team": t, **s.behaviour(w, t).__dict__}
         for w in range(-BASELINE_WINDOWS, WINDOWS) for t in TEAMS]  # 28 x 4 cells, not rows
    ).set_index(["w", "team"])
    looked_up = table.reindex(keys)
    return {c: looked_up[c].to_numpy(dtype=float) for c in table.columns}


def _in_broken(s: AdoptionScenario, decided: pd.DatetimeIndex) -> np.ndarray:
    start = pd.Timestamp(START).tz_convert(None)
    index = ((decided - start) // pd.Timedelta(WEEK)).to_numpy()
    return np.isin(index, list(s.broken_feed))


def _write(path: Path, tables: dict[str, pd.DataFrame]) -> None:
    """The scenario's source: through sqlite3 directly (SQLAlchemy's per-row parameter handling
    would dominate the board's run time), with the indexes a production database would have."""
    import sqlite3

    with sqlite3.connect(path) as conn:
        for name, frame in tables.items():
            frame.to_sql(name, conn, index=False)
        for table, column in INDEXES:
            conn.execute(f"CREATE INDEX ix_{table}_{column} ON {table} ({column})")
    conn.close()


def scenario_spec(s: AdoptionScenario) -> MonitorSpec:
    """The scenario's monitor: a binary classifier whose decisions four teams take within a day."""
    person = {"name": "Scenario Owner", "email": "owner@example.com"}
    return MonitorSpec.model_validate({
        "name": f"adoption_{s.name}", "version": "1", "task": "binary_classification",
        "owners": {"business_owner": person, "technical_owner": person, "data_steward": person},
        "schedule": "0 0 * * 1", "start_date": "2026-01-05",
        "source": {"url_env": "GAPWATCH_ADOPTION_SCENARIO_URL"},
        "predictions": {"table": "predictions", "id": "id", "timestamp": "scored_at",
                        "prediction": "predicted_label", "score": "score", "features": ["x1"]},
        "ground_truth": {"table": "outcomes", "id": "id", "label": "label", "arrived_at": "arrived_at",
                         "delay": "7d"},
        "readiness": {"suite": "none"},
        "metrics": [{"name": "roc_auc"}],
        "baseline": {"start": START - BASELINE_WINDOWS * WEEK, "end": START},
        "adoption": {
            "table": "decisions", "id": "id", "decided_at": "decided_at", "action": "action",
            "followed": {1: "refer", 0: "approve"}, "team": "team", "assigned_team": "team", "value": "value",
            "decision_sla": "1d",
            "checks": {"coverage": {"floor": 0.8, "max_drop": 0.10}, "follow_rate": {"floor": 0.65, "max_drop": 0.10}},
        },
        "runbook_url": "https://runbooks.example.com/scenarios", "fallback": "none",
    })


# ---------------------------------------------------------------- running and scoring


@dataclass
class AdoptionRun:
    t: int
    problem: bool  # truth: an adoption problem in this window
    feed_broken: bool  # truth: the window's decisions never reached the table
    adoption_alarm: bool  # an adoption or outcome finding breached
    feed_alarm: bool  # a decisions-feed (data) finding breached
    checks: dict[str, str]  # check -> status


def run_scenario(s: AdoptionScenario, folder: Path | None = None) -> list[AdoptionRun]:
    """Every window of a scenario through ``judge_window`` and ``adoption_findings``."""
    from gapwatch.adoption import compute_baseline, judge_window
    from gapwatch.policy import adoption_findings
    from gapwatch.spec_adoption import ADOPTION_KINDS

    spec = scenario_spec(s)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        path = Path(tmp) / "source.db"
        _write(path, _tables(s, np.random.default_rng(s.seed)))
        engine = sa.create_engine(f"sqlite:///{path}")
        try:
            runs: list[AdoptionRun] = []
            broken: list[datetime] = []
            with engine.connect() as conn:
                base = compute_baseline(spec, conn)
                for t in range(WINDOWS):
                    window = Window(START + t * WEEK, START + (t + 1) * WEEK)
                    summary = judge_window(spec, conn, window, base, broken)
                    findings = adoption_findings(spec, summary)
                    feed_alarm = any(f["kind"] == "data" and f["status"] == "breach" for f in findings)
                    if feed_alarm:
                        broken.append(window.start)
                    runs.append(AdoptionRun(
                        t=t, problem=s.problem_from is not None and t >= s.problem_from,
                        feed_broken=t in s.broken_feed,
                        adoption_alarm=any(f["kind"] in ADOPTION_KINDS and f["status"] == "breach" for f in findings),
                        feed_alarm=feed_alarm,
                        checks={f["check"]: f["status"] for f in findings},
                    ))
        finally:
            engine.dispose()
    return runs


@dataclass
class AdoptionScore:
    name: str
    story: str
    onset: int | None
    delay: int | None  # windows from onset to the first adoption alarm (None: never)
    healthy_runs: int  # windows without an adoption problem
    false_alarms: int  # adoption alarms on those
    feed_breaks: int
    feed_delay: int | None  # windows from the first broken feed window to its data incident
    feed_false_alarms: int  # feed alarms on windows whose feed was fine

    @property
    def missed(self) -> int:
        """1 when the scenario's adoption problem was not flagged within ``DETECT_WITHIN`` windows."""
        return int(self.onset is not None and (self.delay is None or self.delay > DETECT_WITHIN))


def score(s: AdoptionScenario, runs: list[AdoptionRun]) -> AdoptionScore:
    """Detection delay, false alarms and the feed's data incidents of one scenario against its truth."""
    onset = s.problem_from
    hit = None if onset is None else next((r.t for r in runs if r.t >= onset and r.adoption_alarm), None)
    first_break = min(s.broken_feed) if s.broken_feed else None
    feed_hit = None if first_break is None else next(
        (r.t for r in runs if r.t >= first_break and r.feed_alarm), None)
    return AdoptionScore(
        name=s.name, story=s.story, onset=onset,
        delay=None if hit is None or onset is None else hit - onset,
        healthy_runs=sum(not r.problem for r in runs),
        false_alarms=sum(r.adoption_alarm and not r.problem for r in runs),
        feed_breaks=len(s.broken_feed),
        feed_delay=None if feed_hit is None or first_break is None else feed_hit - first_break,
        feed_false_alarms=sum(r.feed_alarm and not r.feed_broken for r in runs),
    )


def run_all() -> list[AdoptionScore]:
    """Every adoption scenario, run and scored."""
    return [score(s, run_scenario(s)) for s in scenarios()]


def table(scores: list[AdoptionScore]) -> str:
    """The adoption rows of the scoreboard as a Markdown table, with a totals row."""
    lines = [
        "| adoption scenario | problem onset: detection delay (windows) | missed | false adoption alarms / "
        "windows without a problem | broken decisions feed: data incident delay (windows) | feed false alarms |",
        "|---|---|---|---|---|---|",
    ]
    for sc in scores:
        onset = "none" if sc.onset is None else f"w{sc.onset + 1}: " + ("missed" if sc.delay is None else str(sc.delay))
        feed = "-" if not sc.feed_breaks else ("missed" if sc.feed_delay is None else str(sc.feed_delay))
        lines.append(f"| {sc.name} | {onset} | {sc.missed} | {sc.false_alarms}/{sc.healthy_runs} | {feed} "
                     f"| {sc.feed_false_alarms} |")
    lines.append(
        f"| **all** | {sum(s.onset is not None for s in scores)} adoption problems | {sum(s.missed for s in scores)} "
        f"| {sum(s.false_alarms for s in scores)}/{sum(s.healthy_runs for s in scores)} "
        f"| {sum(s.feed_breaks > 0 for s in scores)} broken feed(s) | {sum(s.feed_false_alarms for s in scores)} |"
    )
    return "\n".join(lines)


def document(scores: list[AdoptionScore]) -> str:
    """The scoreboard's adoption section (appended to docs/scoreboard.md by ``make scenarios``)."""
    stories = "\n".join(f"- **{s.name}**: {s.story}" for s in scores)
    return f"""
## Adoption: is the model used?

Every window runs through `gapwatch.adoption.judge_window` (SQL aggregates in a SQLite source,
judged against the reference) and `adoption_findings`, the code the monitor DAG's
`evaluate_adoption` and `decide` run. Four teams, {BASELINE_WINDOWS} reference weeks and {WINDOWS}
weekly windows; decision SLA 1 day; the model is right {ACCURACY:.0%} of the time throughout. An
alarm is an `adoption` or `outcome` finding in breach; it must come within {DETECT_WITHIN} window of
the problem's onset. A broken decisions feed must raise a data incident and no adoption alarm.

{table(scores)}

Scenarios:

{stories}
"""


def summary_row(scores: list[AdoptionScore]) -> dict[str, Any]:
    """Totals, for tests and the command line."""
    return {
        "problems": sum(s.onset is not None for s in scores),
        "missed": sum(s.missed for s in scores),
        "false_alarms": sum(s.false_alarms for s in scores),
        "healthy_runs": sum(s.healthy_runs for s in scores),
        "feed_false_alarms": sum(s.feed_false_alarms for s in scores),
    }
