"""``gapwatch validate``: every monitor spec, its readiness suite file, and the limits it will use.

Beyond what loading a spec checks (fields, limits in range, a cron that fires, an http(s)
runbook), validate checks what depends on this environment: the suite file exists and parses,
the ``url_env`` variable is set, and no field holds a non-http(s) link.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from gapwatch import config
from gapwatch.incidents.adoption_text import duration
from gapwatch.spec import MonitorSpec, load_specs, monitors_dir
from gapwatch.spec_adoption import measured_checks


def suite_problem(spec: MonitorSpec) -> str | None:
    """Why the spec's readiness suite cannot be used (missing or malformed file), or None.

    Checked here so a missing file is a validation error naming it, not a FileNotFoundError in the
    first run's readiness task.
    """
    from gapwatch.readiness.suite import load_suite_json

    path = config.settings().expectations_dir / f"{spec.readiness.suite}.json"
    if not path.is_file():
        return (
            f"readiness.suite: the expectation suite file {path} does not exist (write it, or "
            f"start from `gapwatch suite suggest {spec.name} --start YYYY-MM-DD --end YYYY-MM-DD`)"
        )
    try:
        load_suite_json(path)
    except ValueError as exc:
        return f"readiness.suite: {exc}"
    from gapwatch.readiness.suite_check import check_suite

    errors = check_suite(spec, path).errors
    return "readiness.suite: " + "\n         ".join(errors) if errors else None


# A link the UI or a message could render: only http(s) may be followed. Schemes that run code
# are refused even without "//" (javascript:alert(1)).
_URL_RE = re.compile(r"(?i)(?<![\w.+-])(javascript|vbscript|data|file):|(?<![\w.+-])([a-z][a-z0-9+.-]*)://")


def environment_problem(spec: MonitorSpec) -> str | None:
    """Why the spec cannot reach its source from this environment (an unset ``url_env``), or None."""
    from gapwatch.sources import source_url

    name = spec.source.url_env
    if not name:
        return None
    try:
        source_url(spec)  # the one place a spec's variable is read
    except RuntimeError:
        return (
            f"source.url_env: the environment variable {name} is not set, so every run would fail "
            "to connect (set it where the tasks run, or use source.conn_id)"
        )
    return None


def url_problems(spec: MonitorSpec) -> list[str]:
    """Every non-http(s) URL anywhere in the spec, by field (runbook_url is checked on load)."""
    problems = []
    for field, text in _strings(spec.model_dump(mode="json", by_alias=True)):
        for match in _URL_RE.finditer(text):
            scheme = (match.group(1) or match.group(2)).lower()
            if scheme not in {"http", "https"}:
                problems.append(f"{field}: only http(s) links are allowed, found a {scheme}: URL")
    return problems


def _strings(value: Any, field: str = "") -> list[tuple[str, str]]:
    if isinstance(value, str):
        return [(field or "(top level)", value)]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _strings(v, f"{field}.{k}" if field else str(k))]
    if isinstance(value, list):
        return [s for i, v in enumerate(value) for s in _strings(v, f"{field}.{i}")]
    return []


def describe(spec: MonitorSpec) -> list[str]:
    """What the monitor will judge, in words: each metric's limits, the label delay, drift."""
    sub_windows = spec.baseline.sub_windows
    lines = [f"metric {m.describe_limits(sub_windows)}" for m in spec.metrics]
    lines.append(f"labels judged {spec.ground_truth.delay.describe()} late")
    lines.append(f"drift: {spec.drift.describe()}")
    lines += _describe_adoption(spec)
    return lines


def _describe_adoption(spec: MonitorSpec) -> list[str]:
    """The adoption checks and their limits (business owner's), when the spec has the section."""
    a = spec.adoption
    if a is None:
        return []
    checks = []
    for check in measured_checks(spec):
        limits = ", ".join(f"{k} {v:g}" for k, v in a.limits(check).limits().items())
        checks.append(f"{check} ({limits}; {a.severity(check)})" if limits else f"{check} (shown, not judged)")
    return [f"adoption (business owner): decisions in {a.table} within {duration(a.decision_sla.total_seconds())}, "
            f"at least {a.min_decisions} a window: " + "; ".join(checks)]


def _spec_file(folder: Path, name: str) -> Path:
    return next((p for p in (folder / f"{name}.yml", folder / f"{name}.yaml") if p.exists()),
                folder / f"{name}.yml")


def cmd_validate(args: argparse.Namespace) -> int:
    """Exit 1 when any spec, its suite file, its environment or a link cannot be used (or none is valid)."""
    specs = load_specs(args.directory)
    folder = monitors_dir(args.directory)
    invalid = [str(error) for error in specs.errors]
    valid: list[dict[str, object]] = []
    for spec in specs.specs:
        problems = [p for p in (suite_problem(spec), environment_problem(spec)) if p] + url_problems(spec)
        if problems:
            invalid.append(f"{_spec_file(folder, spec.name)}: " + "; ".join(problems))
            continue
        valid.append({"monitor": spec.name, "dag_id": spec.dag_id, "checks": describe(spec)})
    code = 1 if invalid or not valid else 0
    if getattr(args, "json", False):
        print(json.dumps({"ok": code == 0, "valid": valid, "errors": invalid}, indent=2))
        return code
    for ok in valid:
        print(f"ok     {ok['monitor']} (dag {ok['dag_id']})")
        for line in ok["checks"]:  # type: ignore[attr-defined]
            print(f"         {line}")
    for error in invalid:
        print(f"error  {error}", file=sys.stderr)
    print(f"{len(valid)} valid, {len(invalid)} invalid")
    return code
