"""Words for adoption and outcome findings: titles, what broke, who drives it, whether the people
who override the model were right, and the business owner's digest lines. Pure functions of the
evidence ``gapwatch.evaluation.adoption_findings`` writes (field names documented there).
"""

from __future__ import annotations

from typing import Any

from gapwatch.catalog import BREACH_Z

SHORT = {
    "coverage": "decision coverage",
    "follow_rate": "follow rate",
    "time_to_action_p50": "median time to action",
    "time_to_action_p90": "time to action (p90)",
    "override_quality": "override quality",
    "outcome_mean": "outcome per decision",
    "outcome_sum": "outcome in total",
}
NOUN = {
    "coverage": "predictions", "follow_rate": "decisions", "time_to_action_p50": "decisions",
    "time_to_action_p90": "decisions", "override_quality": "overridden decisions with matured labels",
    "outcome_mean": "decisions with a value", "outcome_sum": "decisions with a value",
}
SHARE_OF = {"coverage": "the misses", "follow_rate": "the overrides", "time_to_action_p50": "the late decisions",
            "time_to_action_p90": "the late decisions", "override_quality": "the overrides the model had right",
            "outcome_mean": "the shortfall", "outcome_sum": "the shortfall"}


def duration(seconds: float | None) -> str:
    """``12 min``, ``5.0 h``, ``3.2 days``."""
    if seconds is None:
        return "n/a"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def amount(unit: str, value: float | None) -> str:
    """A value in its unit: a share as a percentage, seconds as a duration, points, or money."""
    if value is None:
        return "n/a"
    if unit == "share":
        return f"{100 * value:.1f}%"
    if unit == "seconds":
        return duration(value)
    if unit == "difference":
        return f"{100 * value:+.0f} points"
    return f"{value:,.1f}"


def _gap(ev: dict[str, Any]) -> str:
    value, threshold = ev["value"], ev["threshold"]
    gap = (threshold - value) if ev.get("higher_is_better", True) else (value - threshold)
    if ev["unit"] == "share" or ev["unit"] == "difference":
        return f"{100 * gap:.1f} points"
    return amount(ev["unit"], gap)


def _top_team(ev: dict[str, Any]) -> dict[str, Any] | None:
    """The team to name in a title: one that breaches, else one with most of the problem."""
    drivers = ev.get("drivers") or []
    if not drivers:
        return None
    top = drivers[0]
    return top if top.get("status") == "breach" or top.get("share", 0) >= 0.5 else None


def title(monitor: str, ev: dict[str, Any]) -> str:
    """One line naming the check, its value against the baseline and the team that drives it."""
    check, unit = ev["check"], ev["unit"]
    value, base = ev.get("value"), ev.get("baseline")
    if value is None:
        return f"{monitor}: {SHORT[check]} could not be judged"
    if check == "follow_rate":
        text = f"override rate {amount(unit, 1 - value)} vs baseline {amount(unit, None if base is None else 1 - base)}"
    elif check == "override_quality":
        quality = ev.get("override_quality") or {}
        text = (f"people overrode a model that was right {100 * quality.get('model_right_share', 0):.0f}% of "
                f"the time ({quality.get('overrides', 0)} overrides): a trust problem")
    else:
        label = f"{ev['value_column']} per decision" if check == "outcome_mean" else (
            f"{ev['value_column']} in total" if check == "outcome_sum" else SHORT[check])
        sla = f" within {duration(ev.get('decision_sla'))}" if check == "coverage" else ""
        text = f"{label} {amount(unit, value)}{sla} (baseline {amount(unit, base)})"
    top = _top_team(ev)
    if top is not None and check != "override_quality":
        text += f"; {100 * top['share']:.0f}% of {SHARE_OF[check].removeprefix('the ')} from team {top['team']}"
    return f"{monitor}: {text}"


def what_broke(ev: dict[str, Any]) -> list[str]:
    """The value against its limit with its one-sided 95% bounds, and on how much it rests."""
    check, unit = ev["check"], ev["unit"]
    value, threshold = ev.get("value"), ev.get("threshold")
    cohort = ev.get("cohort") or ["", ""]
    span = f"predictions made {str(cohort[0])[:10]} to {str(cohort[1])[:10]}"
    label = ev.get("label", check) + (f" ({duration(ev.get('decision_sla'))})" if check == "coverage" else "")
    if value is None or threshold is None:
        return [f"What broke: {label} could not be judged ({ev.get('reason') or 'no limit or no value'})."]
    half = BREACH_Z * (ev.get("stderr") or 0.0)
    side = "below" if ev.get("higher_is_better", True) else "above"
    past = (value < threshold) if ev.get("higher_is_better", True) else (value > threshold)
    lines = [
        f"What broke: {label} is {amount(unit, value)} (95% bounds {amount(unit, value - half)} to "
        f"{amount(unit, value + half)})" + (f", {side} its threshold {amount(unit, threshold)}" if past
                                           else f" overall (threshold {amount(unit, threshold)})")
        + f" (baseline {amount(unit, ev.get('baseline'))}).",
    ]
    teams = ev.get("breaching_teams") or []
    how = f"{_gap(ev)} past the threshold" if past else f"team(s) {', '.join(teams)} past their own limit"
    lines.append(f"How badly: {how}; judged on {ev.get('n')} {NOUN[check]} ({span}).")
    return lines


def affected(ev: dict[str, Any]) -> str:
    """What the finding rests on, for the message's "Predictions affected" line."""
    cohort = ev.get("cohort") or ["", ""]
    made = f" (predictions made {str(cohort[0])[:10]} to {str(cohort[1])[:10]})" if cohort[0] else ""
    return f"{ev.get('n')} {NOUN.get(ev.get('check', ''), 'decisions')}{made}" if ev.get("n") is not None else "n/a"


def overrides_in_words(quality: dict[str, Any]) -> str:
    """Whether the people who overrode the model were right: healthy scepticism or a trust problem."""
    verdict, n = quality.get("verdict"), quality.get("overrides", 0)
    if verdict is None:
        return "Were the overrides right? Not known yet: no overridden prediction has a matured label."
    people, model = 100 * quality["human_right_share"], 100 * quality["model_right_share"]
    cohort = quality.get("cohort") or ["", ""]
    made = f" made {str(cohort[0])[:10]} to {str(cohort[1])[:10]}" if cohort[0] else ""
    head = f"Were the overrides right? On {n} overridden predictions{made} whose outcomes are known, "
    if verdict == "humans_right":
        return (head + f"the people were right {people:.0f}% of the time and the model {model:.0f}%: healthy "
                "scepticism. People override where the model is wrong; the model needs attention (see the "
                "technical owner's incidents), not the users.")
    if verdict == "model_right":
        return (head + f"the model was right {model:.0f}% of the time and the people {people:.0f}%: a trust "
                "problem. People distrust a model that is right; training and workflow integration help, "
                "retraining would not.")
    return head + f"neither was clearly more often right (people {people:.0f}%, model {model:.0f}%)."


def likely_cause(ev: dict[str, Any]) -> list[str]:
    """The teams that drive it (share of the problem, value against their own baseline) and, for
    overrides, whether the people were right."""
    lines = []
    drivers = [d for d in ev.get("drivers") or [] if d.get("share", 0) > 0 or d.get("status") == "breach"]
    if drivers:
        lines.append("  - who: " + "; ".join(
            f"team {d['team']} {amount(ev['unit'], d.get('value'))} (baseline {amount(ev['unit'], d.get('baseline'))}, "
            f"n={d.get('n')}{', breach' if d.get('status') == 'breach' else ''}): "
            f"{100 * d['share']:.0f}% of {SHARE_OF[ev['check']]}"
            for d in drivers[:3]))
    if ev.get("override_quality") is not None:
        lines.append("  - " + overrides_in_words(ev["override_quality"]))
    return ["Likely cause:", *lines] if lines else []


def facts(ev: dict[str, Any]) -> dict[str, Any]:
    """The structured facts a channel shows (Slack fields, PagerDuty details, webhook JSON)."""
    keys = ("check", "value", "stderr", "threshold", "baseline", "n", "breaching_teams")
    out = {k: ev.get(k) for k in keys if ev.get(k) not in (None, [])}
    if (ev.get("override_quality") or {}).get("verdict"):
        out["overrides_verdict"] = ev["override_quality"]["verdict"]
    return out


def digest_lines(latest: dict[str, dict[str, Any]], value_column: str | None, sla_seconds: float) -> list[str]:
    """The business owner's lead lines for one model: adoption and outcome of its newest window.

    Args:
        latest: the newest window's overall values by check (``health.adoption.latest_overall``).
        value_column: the outcome column's name (None: no outcome).
        sla_seconds: the decision SLA.
    """
    if not latest:
        return ["  Adoption: not measured yet (no decisions judged)."]

    def part(check: str, text: str) -> str | None:
        row = latest.get(check)
        if row is None or row.get("value") is None:
            return None
        base = f" (baseline {amount(row['unit'], row['baseline'])})" if row.get("baseline") is not None else ""
        flag = " - below its limit" if row.get("status") == "breach" else ""
        return text.format(amount(row["unit"], row["value"])) + base + flag

    adoption = [p for p in (
        part("coverage", "{} of predictions acted on within " + duration(sla_seconds)),
        part("follow_rate", "{} of decisions followed the model"),
        part("time_to_action_p50", "median time to action {}"),
    ) if p]
    week = next((str(r["window"])[:10] for r in latest.values() if r.get("window")), "?")
    lines = [f"  Adoption (week of {week}): " + "; ".join(adoption) + "."]
    quality = latest.get("override_quality") or {}
    if quality.get("verdict"):
        lines.append("  " + overrides_in_words(quality))
    outcome = [p for p in (part("outcome_sum", "{} in total"), part("outcome_mean", "{} per decision")) if p]
    if value_column and outcome:
        lines.append(f"  Business outcome ({value_column}): " + "; ".join(outcome) + ".")
    return lines
