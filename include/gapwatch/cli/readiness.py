"""The data steward's CLI commands: ``gapwatch suite suggest|test`` and ``gapwatch readiness show``.

Kept apart from :mod:`gapwatch.cli.main` so the readiness commands grow without touching the
shared parser; :func:`add_parsers` registers them.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from gapwatch import config
from gapwatch.cli.common import CheckFailed, print_json
from gapwatch.spec import MonitorSpec, load_specs
from gapwatch.window import Window, as_utc


def _utc(value: str) -> datetime:
    return as_utc(datetime.fromisoformat(value))


def _suite_path(spec: MonitorSpec, given: str | None) -> Path:
    return Path(given) if given else config.settings().expectations_dir / f"{spec.readiness.suite}.json"


def _diff_suggestion(spec: MonitorSpec, path: Path, start: datetime, end: datetime, *, as_json: bool) -> int:
    """Print what a suggestion would change in the suite file; write nothing."""
    from gapwatch.readiness.suggest import diff_suites, profile_window
    from gapwatch.readiness.suite import load_suite_json

    current = load_suite_json(path) if path.is_file() else {"expectations": []}
    lines = diff_suites(current, profile_window(spec, start, end, path.stem))
    if as_json:
        print_json({"suite_file": str(path), "exists": path.is_file(), "written": False, "changes": lines})
        return 0
    print(f"suggested vs {path}" + ("" if path.is_file() else " (no such file yet)"))
    print("\n".join(lines) if lines else "(no differences)")
    return 0


def cmd_suite_suggest(args: argparse.Namespace) -> int:
    """Profile a baseline window and write a starter suite; never overwrite without --force."""
    from gapwatch.readiness.suggest import SuiteExistsError, write_suggested_suite

    spec = load_specs(args.directory).by_name(args.monitor)
    path = _suite_path(spec, args.output)
    if args.diff:
        return _diff_suggestion(spec, path, _utc(args.start), _utc(args.end), as_json=args.json)
    try:
        suite = write_suggested_suite(spec, _utc(args.start), _utc(args.end), path, force=args.force)
    except SuiteExistsError as exc:
        raise CheckFailed(str(exc)) from exc  # exit 1, the reason on stderr (--json or not)
    if args.json:
        print_json({"suite_file": str(path), "written": True, "expectations": len(suite["expectations"]),
                    "suite": suite})
    else:
        print(f"wrote {len(suite['expectations'])} expectations to {path}")
    return 0


def window_at(spec: MonitorSpec, moment: datetime) -> Window:
    """The schedule's window containing ``moment`` (a window's start is in its own window)."""
    from datetime import timedelta

    from croniter import croniter

    cron = croniter(spec.schedule, moment + timedelta(microseconds=1))
    start = cron.get_prev(datetime)
    end = cron.get_next(datetime)
    end = cron.get_next(datetime) if end <= start else end
    # UTC has no folds; croniter can set fold=1 after stepping back, and window keys must compare equal.
    return Window(as_utc(start).replace(fold=0), as_utc(end).replace(fold=0))


def cmd_suite_test(args: argparse.Namespace) -> int:
    """Validate one window with a suite file and print the result; store, render and send nothing.

    Exit 1 when a critical expectation fails (the window would not be ready), so a steward can try
    an edited suite against a past window, or a CI job against a known-good one.
    """
    from gapwatch import sources
    from gapwatch.readiness.checks import compute_profile
    from gapwatch.readiness.stage import format_validation, validate_window

    spec = load_specs(args.directory).by_name(args.monitor)
    path = _suite_path(spec, args.suite)
    window = window_at(spec, _utc(args.window))
    source = sources.Source(spec)
    validation = validate_window(
        spec,
        window,
        lambda: sources.read_window(spec, window.start, window.end, source=source),
        source=source,
        suite_path=path,
        profile=compute_profile(spec, source),
    )
    result = validation.result
    row = {
        "window_start": window.start,
        "success": result.success,
        "suite": result.suite,
        "evaluated_rows": result.evaluated_rows,
        "critical_failures": len(result.critical_failures),
        "warnings": len(result.warnings),
        "result": {**result.to_dict(), "validate_in": spec.readiness.validate_in},
        "data_docs_path": None,
    }
    if args.json:
        shown = _failed_only(row) if args.failed else row
        print(json.dumps({**shown, "window_end": window.end, "suite_file": str(path)}, default=str, indent=2))
    else:
        print(f"trial of {path} on {window.start.isoformat()} .. {window.end.isoformat()} (nothing stored)")
        lines = format_validation(row, failed_only=args.failed)
        print("\n".join(line for line in lines if not line.startswith("  Data Docs:")))
    return 0 if result.success else 1


def _failed_only(row: dict[str, Any]) -> dict[str, Any]:
    """The stored validation with only the outcomes that did not hold (for ``--json --failed``)."""
    result = dict(row["result"])
    result["outcomes"] = [o for o in result.get("outcomes", []) if not o.get("success")]
    return {**row, "result": result}


def cmd_readiness_show(args: argparse.Namespace) -> int:
    """Print stored validations with every expectation's outcome and the Data Docs page."""
    from gapwatch.readiness.stage import format_validation, stored_validations

    spec = load_specs(args.directory).by_name(args.monitor)
    from gapwatch.readiness.docs import data_docs_link

    rows = stored_validations(spec.name, _utc(args.window) if args.window else None)
    if not args.window:
        rows = rows[: args.last]
    if args.failed:
        rows = [_failed_only(row) for row in rows]
    if args.json:
        rows = [{**r, "data_docs_url": data_docs_link(r["data_docs_path"], absolute=True)} for r in rows]
        print(json.dumps(rows, default=str, indent=2))
        return 0
    if not rows:
        print("(no validations stored)" if not args.window else f"(no validation for window {args.window})")
        return 1 if args.window else 0
    for row in rows:
        print("\n".join(format_validation(row, failed_only=args.failed)))
        print()
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Register ``suite`` and ``readiness`` on the top-level ``gapwatch`` parser."""
    suite = sub.add_parser("suite", help="GX expectation suites").add_subparsers(dest="action", required=True)
    p = suite.add_parser("suggest", help="profile a baseline window and write a starter suite")
    p.add_argument("monitor")
    p.add_argument("--start", required=True, help="baseline start, ISO date/time (UTC)")
    p.add_argument("--end", required=True, help="baseline end, ISO date/time (UTC)")
    p.add_argument("--force", action="store_true", help="overwrite an existing suite file")
    p.add_argument("--output", help="suite file (default: the monitor's readiness.suite in the expectations dir)")
    p.add_argument("--diff", action="store_true", help="print what would change in the current suite; write nothing")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--directory", help="specs folder")
    p.set_defaults(func=cmd_suite_suggest)

    p = suite.add_parser("test", help="validate one window with a suite, print the result, store nothing")
    p.add_argument("monitor")
    p.add_argument("--window", required=True, help="a moment in the window, ISO date/time (UTC)")
    p.add_argument("--suite", help="suite file (default: the monitor's readiness.suite)")
    p.add_argument("--failed", action="store_true", help="only the expectations that did not hold")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--directory", help="specs folder")
    p.set_defaults(func=cmd_suite_test)

    readiness = sub.add_parser("readiness", help="readiness results").add_subparsers(dest="action", required=True)
    p = readiness.add_parser("show", help="stored validations, per expectation")
    p.add_argument("monitor")
    p.add_argument("--window", help="the window's start, ISO date (default: the latest ones)")
    p.add_argument("--last", type=int, default=1, help="how many recent windows without --window")
    p.add_argument("--failed", action="store_true", help="only the expectations that did not hold")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--directory", help="specs folder")
    p.set_defaults(func=cmd_readiness_show)
