"""``gapwatch backfill``: replay a monitor's history through its real Airflow DAG."""

from __future__ import annotations

import argparse
import time
from datetime import datetime
from typing import Any

from gapwatch.spec import load_specs
from gapwatch.window import as_utc


def _moment(text: str) -> datetime:
    """``YYYY-MM-DD`` (midnight UTC) or an ISO date-time; a time zone is converted to UTC."""
    try:
        return as_utc(datetime.fromisoformat(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD) or ISO date-time") from exc


def cmd_backfill(args: argparse.Namespace) -> int:
    from gapwatch.airflow.backfill import BackfillError, backfill

    spec = load_specs(args.directory).by_name(args.monitor)
    if args.end <= args.start:
        raise ValueError(f"--end {args.end.date()} must be after --start {args.start.date()}")
    began = time.monotonic()
    try:
        done = backfill(spec, args.start, args.end, progress=lambda line: print(line, flush=True))
    except BackfillError as exc:
        print(f"gapwatch backfill: {exc}")
        return 1
    print(f"backfilled {len(done)} windows of {spec.name} in {time.monotonic() - began:.0f}s "
          "(see: gapwatch runs list --monitor " + spec.name + ")")
    return 0


def add_parser(sub: Any) -> None:
    """Register ``gapwatch backfill`` on the top-level subparsers."""
    p = sub.add_parser(
        "backfill",
        help="run every window of a monitor's schedule in [start, end) through its DAG, in order",
    )
    p.add_argument("monitor")
    p.add_argument("--start", required=True, type=_moment, help="YYYY-MM-DD (UTC) or ISO date-time")
    p.add_argument("--end", required=True, type=_moment, help="YYYY-MM-DD (UTC), exclusive")
    p.add_argument("--directory", help="specs folder")
    p.set_defaults(func=cmd_backfill)
