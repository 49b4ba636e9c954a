"""``gapwatch validate``: every monitor spec, its readiness suite file, and the limits it will use."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gapwatch import config
from gapwatch.spec import MonitorSpec, load_specs, monitors_dir


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


def describe(spec: MonitorSpec) -> list[str]:
    """What the monitor will judge, in words: each metric's limits, the label delay, drift."""
    sub_windows = spec.baseline.sub_windows
    lines = [f"metric {m.describe_limits(sub_windows)}" for m in spec.metrics]
    lines.append(f"labels judged {spec.ground_truth.delay.describe()} late")
    lines.append(f"drift: {spec.drift.describe()}")
    return lines


def _spec_file(folder: Path, name: str) -> Path:
    return next((p for p in (folder / f"{name}.yml", folder / f"{name}.yaml") if p.exists()),
                folder / f"{name}.yml")


def cmd_validate(args: argparse.Namespace) -> int:
    """Exit 1 when any spec, or the suite file a spec names, cannot be used (or there is none)."""
    specs = load_specs(args.directory)
    folder = monitors_dir(args.directory)
    invalid = [str(error) for error in specs.errors]
    valid = 0
    for spec in specs.specs:
        problem = suite_problem(spec)
        if problem:
            invalid.append(f"{_spec_file(folder, spec.name)}: {problem}")
            continue
        valid += 1
        print(f"ok     {spec.name} (dag {spec.dag_id})")
        for line in describe(spec):
            print(f"         {line}")
    for error in invalid:
        print(f"error  {error}", file=sys.stderr)
    print(f"{valid} valid, {len(invalid)} invalid")
    return 1 if invalid or not valid else 0
