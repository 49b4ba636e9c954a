"""The data steward's CLI commands: ``gapwatch suite suggest`` and ``gapwatch readiness show``.

Kept apart from :mod:`gapwatch.cli.main` so the readiness commands grow without touching the
shared parser; :func:`add_parsers` registers them.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path

from gapwatch import config
from gapwatch.spec import load_specs


def _utc(value: str) -> datetime:
    from gapwatch import store

    return store.as_utc(datetime.fromisoformat(value))


def cmd_suite_suggest(args: argparse.Namespace) -> int:
    """Profile a baseline window and write a starter suite; never overwrite without --force."""
    from gapwatch.readiness.suggest import SuiteExistsError, write_suggested_suite

    spec = load_specs(args.directory).by_name(args.monitor)
    path = Path(args.output) if args.output else config.settings().expectations_dir / f"{spec.readiness.suite}.json"
    try:
        suite = write_suggested_suite(spec, _utc(args.start), _utc(args.end), path, force=args.force)
    except SuiteExistsError as exc:
        print(f"gapwatch: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {len(suite['expectations'])} expectations to {path}")
    return 0


def cmd_readiness_show(args: argparse.Namespace) -> int:
    """Print stored validations with every expectation's outcome and the Data Docs page."""
    from gapwatch.readiness.stage import format_validation, stored_validations

    spec = load_specs(args.directory).by_name(args.monitor)
    rows = stored_validations(spec.name, _utc(args.window) if args.window else None)
    if not args.window:
        rows = rows[: args.last]
    if args.json:
        print(json.dumps(rows, default=str, indent=2))
        return 0
    if not rows:
        print("(no validations stored)" if not args.window else f"(no validation for window {args.window})")
        return 1 if args.window else 0
    for row in rows:
        print("\n".join(format_validation(row)))
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
    p.add_argument("--directory", help="specs folder")
    p.set_defaults(func=cmd_suite_suggest)

    readiness = sub.add_parser("readiness", help="readiness results").add_subparsers(dest="action", required=True)
    p = readiness.add_parser("show", help="stored validations, per expectation")
    p.add_argument("monitor")
    p.add_argument("--window", help="the window's start, ISO date (default: the latest ones)")
    p.add_argument("--last", type=int, default=1, help="how many recent windows without --window")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--directory", help="specs folder")
    p.set_defaults(func=cmd_readiness_show)
