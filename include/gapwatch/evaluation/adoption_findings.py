"""Adoption findings, pure: a window's adoption summary (``gapwatch.adoption``) as the checks
``policy.decide`` turns into findings. No I/O."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from gapwatch.spec_adoption import CHECKS

if TYPE_CHECKING:
    from gapwatch.spec import MonitorSpec

FEED = "decisions"


def adoption_checks(spec: MonitorSpec, summary: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The checks of one window's adoption summary: the feed's readiness, then each judged check,
    as keyword arguments of ``policy.make_finding`` (kind, check, status, evidence, severity).

    Evidence of an ``adoption:<check>`` finding (stable names; messages render from them):
    ``check``, ``label``, ``unit`` (share | seconds | difference | value), ``value``, ``stderr``,
    ``interval``, ``baseline``, ``threshold``, ``n``, ``status``, ``higher_is_better``;
    ``drivers`` ([{team, value, baseline, n, share, status}], the teams with the biggest share of
    the problem first), ``breaching_teams``; ``override_quality`` ({verdict: humans_right |
    model_right | mixed, overrides, human_right_share, model_right_share}); ``cohort``,
    ``decision_sla`` (seconds), ``value_column``, ``reason``; ``raise_ticket`` (False when the
    people who override are right: the model needs work, not the users).
    """
    if not summary or spec.adoption is None or summary.get("status") == "not_applicable":
        return []
    findings = []
    for check in summary.get("feed", []):
        findings.append(dict(
            kind="data", check=f"readiness:{FEED}:{check['check']}",
            status="breach" if check["failing"] else "ok",
            evidence={"failing_expectations": check["failing"], "rows": check["rows"], "data_docs_url": None,
                      "blocks_evaluation": True, "feed": FEED},
        ))
    for check, verdict in summary["checks"].items():
        if not verdict["judged"]:
            continue  # shown in Model Health, never an alarm (no limits)
        findings.append(dict(
            kind=CHECKS[check].kind, check=f"adoption:{check}", status=verdict["status"],
            evidence=_evidence(spec, check, verdict, summary), severity=spec.adoption.severity(check),
        ))
    return findings


def _evidence(spec: MonitorSpec, check: str, verdict: Mapping[str, Any], summary: Mapping[str, Any]) -> dict[str, Any]:
    a = spec.adoption
    assert a is not None
    row = verdict.get("row") or {}
    quality = summary.get("override_quality") or {}
    label_checks = ("override_quality", "outcome_mean", "outcome_sum")
    evidence = {
        "check": check,
        "label": CHECKS[check].description,
        "unit": CHECKS[check].unit,
        **{k: row.get(k) for k in ("value", "stderr", "interval", "baseline", "threshold", "n", "detail")},
        "status": verdict["status"],
        "higher_is_better": a.higher_is_better(check),
        "drivers": verdict.get("drivers", []),
        "breaching_teams": verdict.get("breaching_teams", []),
        "cohort": summary.get("label_cohort" if check in label_checks else "cohort"),
        "decision_sla": summary.get("decision_sla"),
        "value_column": a.value,
        "reason": summary.get("reason"),
    }
    if check in ("follow_rate", "override_quality"):
        evidence["override_quality"] = {**quality, "cohort": summary.get("label_cohort")}
    if check == "follow_rate" and quality.get("verdict") == "humans_right":
        evidence["raise_ticket"] = False
    return evidence
