"""``gapwatch``: the command line for on-call engineers, data stewards and the demo."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from gapwatch import config, store
from gapwatch.catalog import OPEN_STATES, IncidentState, MessageStatus, RunStatus, TicketState
from gapwatch.cli.common import (
    DATE_HELP,
    EXIT_FAILED,
    EXIT_USAGE,
    CheckFailed,
    UsageError,
    age,
    parse_when,
    print_json,
    require_choice,
)
from gapwatch.cli.validate import cmd_validate
from gapwatch.spec import load_specs

# ---------------------------------------------------------------- listings


def _print_table(records: list[dict[str, Any]], columns: list[str], as_json: bool) -> None:
    if as_json:
        print(json.dumps(records, default=str, indent=2))
        return
    if not records:
        print("(none)")
        return
    cells = [[_cell(r.get(c)) for c in columns] for r in records]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d") if value.hour == value.minute == 0 else value.isoformat()
    return str(value)


def _known_monitors(conn: sa.Connection, directory: str | None = None) -> list[str]:
    """Every monitor name a listing can be filtered by: the loaded specs and what the store holds."""
    stored = [*conn.execute(sa.select(store.runs.c.monitor).distinct()).scalars(),
              *conn.execute(sa.select(store.incidents.c.monitor).distinct()).scalars()]
    return sorted({*(s.name for s in load_specs(directory).specs), *stored})


def _query(
    table: sa.Table, args: argparse.Namespace, order: Any, statuses: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """The rows of ``table`` for the listing's --monitor and --status (or ``statuses``)."""
    query = sa.select(table).order_by(*order)
    with store.engine().connect() as conn:
        if getattr(args, "monitor", None):
            require_choice("--monitor", args.monitor, _known_monitors(conn))
            query = query.where(table.c.monitor == args.monitor)
        if getattr(args, "status", None):
            query = query.where(table.c.status == args.status)
        elif statuses:
            query = query.where(table.c.status.in_(list(statuses)))
        return store.rows(conn, query)


def cmd_runs(args: argparse.Namespace) -> int:
    records = _query(store.runs, args, [store.runs.c.monitor, store.runs.c.window_start])
    if not args.json:
        for r in records:
            r.pop("summary")
    cols = ["monitor", "window_start", "status", "readiness", "performance", "drift",
            "main_metric", "main_value", "labeled", "pending", "rows"]
    _print_table(records, cols, args.json)
    return 0


def cmd_incidents(args: argparse.Namespace) -> int:
    """Unresolved incidents by default (what needs someone), with who owns each and for how long."""
    records = _query(store.incidents, args, [store.incidents.c.id], None if args.all else OPEN_STATES)
    for r in records:
        r["age"] = age(r.get("opened_at"))
    cols = ["id", "monitor", "kind", "severity", "status", "acknowledged_by", "snoozed_until", "age",
            "owner_role", "opened_window", "last_breach_window", "resolved_window", "title"]
    _print_table(records, cols, args.json)
    return 0


def cmd_tickets(args: argparse.Namespace) -> int:
    records = _query(store.tickets, args, [store.tickets.c.id])
    _print_table(records, ["id", "monitor", "kind", "status", "incident_id", "opened_window", "title"], args.json)
    return 0


def cmd_messages(args: argparse.Namespace) -> int:
    records = _query(store.outbox, args, [store.outbox.c.id])
    cols = ["id", "monitor", "channel", "recipient_role", "recipient", "status", "attempts", "subject"]
    _print_table(records, cols, args.json)
    return 0


# ---------------------------------------------------------------- run / demo


def cmd_run(args: argparse.Namespace) -> int:
    """Run every stage for one window in this process (no Airflow), e.g. to reproduce a run."""
    from gapwatch.pipeline import run_window
    from gapwatch.window import Window

    spec = load_specs(args.directory).by_name(args.monitor)
    window = Window.parse(args.start, args.end)
    from gapwatch.airflow.channels import default_senders

    result = run_window(spec, window, senders=default_senders())
    print(json.dumps(result, default=str, indent=2))
    return 0


def cmd_demo_seed(args: argparse.Namespace) -> int:
    from gapwatch.demo.seed import seed_demo

    url = args.url or config.settings().demo_source_url
    if url.startswith("sqlite:///"):
        os.makedirs(os.path.dirname(url.removeprefix("sqlite:///")) or ".", exist_ok=True)
    summary = seed_demo(url, seed=args.seed)
    print(f"seeded demo production database at {url}")
    print(json.dumps(summary, default=str, indent=2))
    return 0


def cmd_demo_run(args: argparse.Namespace) -> int:
    from gapwatch.demo.runner import run_demo

    return run_demo(windows=args.windows, directory=args.directory)


def cmd_demo_summary(args: argparse.Namespace) -> int:
    from gapwatch.demo.runner import print_summary

    print_summary()
    return 0


# ---------------------------------------------------------------- incident lifecycle


def _lifecycle(args: argparse.Namespace) -> int:
    """ack / resolve / snooze one incident: one transaction with its audit event and messages."""
    from gapwatch import outbox
    from gapwatch.incidents import lifecycle as incidents

    until = parse_when(args.until, option="--until") if args.action == "snooze" else None
    if until is not None and until <= store.utcnow():
        raise UsageError(f"--until {until.isoformat()} is not in the future")
    engine = store.engine()
    with engine.begin() as conn:
        current = incidents._incident(conn, args.id)
        if args.action == "ack" and current["status"] == IncidentState.ACKNOWLEDGED:
            # Two people acking the same page is not an error: say who got there first.
            return _lifecycle_result(args, current, f"incident #{args.id} is already acknowledged by "
                                     f"{current['acknowledged_by']}", {"sent": 0, "retrying": 0})
        spec = load_specs(getattr(args, "directory", None)).by_name(current["monitor"])
        try:
            if args.action == "ack":
                incident = incidents.acknowledge(conn, spec, args.id, by=args.by, why=args.why)
            elif args.action == "resolve":
                incident = incidents.resolve(conn, spec, args.id, by=args.by, why=args.why)
            else:
                assert until is not None
                incident = incidents.snooze(conn, spec, args.id, until=until, by=args.by, why=args.why)
        except ValueError as exc:  # the incident's state does not allow it: not a usage error
            raise CheckFailed(str(exc)) from exc
    from gapwatch.airflow.channels import default_senders

    delivery = outbox.deliver_pending(engine, default_senders(), monitor=current["monitor"])
    text = (f"incident #{incident['id']} is now {incident['status']}"
            + (f", snoozed until {incident['snoozed_until'].isoformat()}" if args.action == "snooze" else ""))
    return _lifecycle_result(args, incident, text, delivery)


def _lifecycle_result(args: argparse.Namespace, incident: dict[str, Any], text: str,
                      delivery: dict[str, Any]) -> int:
    if args.json:
        print_json({"incident": incident, "message": text,
                    "messages": {"sent": delivery["sent"], "retrying": delivery["retrying"]}})
    else:
        print(f"{text} (messages: {delivery['sent']} sent, {delivery['retrying']} to retry)")
    return 0


def cmd_incident_show(args: argparse.Namespace) -> int:
    from gapwatch.incidents import lifecycle as incidents

    with store.engine().connect() as conn:
        incident = incidents._incident(conn, args.id)
        trail = incidents.audit_trail(conn, args.id)
    if args.json:
        print(json.dumps({"incident": incident, "events": trail}, default=str, indent=2))
        return 0
    print(f"#{incident['id']} [{incident['status']}] {incident['severity']} {incident['title']}")
    for key in ("fingerprint", "owner_role", "acknowledged_by", "snoozed_until", "escalation_level",
                "reopened_count"):
        print(f"  {key}: {_cell(incident[key])}")
    print("Audit trail (when, who, what, why):")
    for e in trail:
        why = e["detail"].get("why") or ""
        print(f"  {e['at'].isoformat(timespec='seconds')}  {e['actor']:<16} {e['action']:<18} {why}")
    return 0


def cmd_message_retry(args: argparse.Namespace) -> int:
    from gapwatch import outbox

    if not outbox.retry_dead(store.engine(), args.id):
        raise CheckFailed(f"message #{args.id} does not exist or is not dead-lettered")
    text = f"message #{args.id} is queued again; the next delivery run sends it"
    if args.json:
        print_json({"message": args.id, "status": MessageStatus.PENDING, "text": text})
    else:
        print(text)
    return 0


def cmd_operations_run(args: argparse.Namespace) -> int:
    from gapwatch.airflow.channels import default_senders
    from gapwatch.operations import housekeeping

    print(json.dumps(housekeeping(default_senders(), directory=args.directory), default=str, indent=2))
    return 0


def add_lifecycle_commands(incidents: Any, messages: Any, sub: Any) -> None:
    for action, help_text in [("ack", "acknowledge: you own it now; stops escalation"),
                              ("resolve", "resolve by hand (also resolves the page)"),
                              ("snooze", "no escalation until --until")]:
        p = incidents.add_parser(action, help=help_text)
        p.add_argument("id", type=int)
        p.add_argument("--by", required=True, help="who (name or email), kept in the audit trail")
        p.add_argument("--why", default="", help="why, kept in the audit trail")
        if action == "snooze":
            p.add_argument("--until", required=True, help=DATE_HELP)
        p.add_argument("--directory", help="specs folder")
        p.add_argument("--json", action="store_true", help="machine-readable output")
        p.set_defaults(func=_lifecycle)
    p = incidents.add_parser("show", help="one incident with its audit trail")
    p.add_argument("id", type=int)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_incident_show)
    p = messages.add_parser("retry", help="requeue a dead-lettered message")
    p.add_argument("id", type=int)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_message_retry)
    ops = sub.add_parser("operations", help="housekeeping").add_subparsers(dest="action", required=True)
    p = ops.add_parser("run", help="escalate overdue incidents, queue due digests, deliver the outbox")
    p.add_argument("--directory", help="specs folder")
    p.set_defaults(func=cmd_operations_run)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gapwatch", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate", help="check every monitor spec; exit 1 if any is invalid")
    p.add_argument("directory", nargs="?", help="specs folder (default: include/monitors)")
    p.add_argument("--json", action="store_true", help="machine-readable output (exit code unchanged)")
    p.set_defaults(func=cmd_validate)

    groups = {}
    for name, func, help_text, states in [
        ("runs", cmd_runs, "monitor runs per window", RunStatus),
        ("incidents", cmd_incidents, "incidents and their lifecycle state", IncidentState),
        ("tickets", cmd_tickets, "maintenance tickets", TicketState),
        ("messages", cmd_messages, "notification outbox", MessageStatus),
    ]:
        group = sub.add_parser(name, help=help_text)
        actions = group.add_subparsers(dest="action", required=True)
        groups[name] = actions
        listing = actions.add_parser("list", help=f"list {name}")
        listing.add_argument("--monitor", help="only this monitor (an unknown name is refused)")
        # choices: a misspelled status exits 2 listing the allowed ones, instead of "(none)".
        listing.add_argument("--status", choices=[str(s) for s in states], help="only this status")
        if name == "incidents":
            listing.add_argument("--all", action="store_true",
                                 help="resolved ones too (default: unresolved only)")
        listing.add_argument("--json", action="store_true", help="machine-readable output")
        listing.set_defaults(func=func)
    add_lifecycle_commands(groups["incidents"], groups["messages"], sub)

    p = sub.add_parser("run", help="run one window of a monitor in-process (no Airflow)")
    p.add_argument("monitor")
    p.add_argument("--start", required=True, help="window start, ISO date/time (UTC)")
    p.add_argument("--end", required=True, help="window end, ISO date/time (UTC)")
    p.add_argument("--directory", help="specs folder")
    p.set_defaults(func=cmd_run)

    demo = sub.add_parser("demo", help="the embedded demo").add_subparsers(dest="action", required=True)
    p = demo.add_parser("seed", help="create the demo production database")
    p.add_argument("--url", help=f"SQLAlchemy URL (default: ${config.variable('demo_source_url')} or .gapwatch/demo_production.db)")
    p.add_argument("--seed", type=int, default=7)
    p.set_defaults(func=cmd_demo_seed)
    p = demo.add_parser("run", help="run the monitor DAGs through Airflow for every demo window")
    p.add_argument("--windows", type=int, default=None, help="only the first N windows")
    p.add_argument("--directory", help="specs folder")
    p.set_defaults(func=cmd_demo_run)
    p = demo.add_parser("summary", help="print what the demo found")
    p.set_defaults(func=cmd_demo_summary)
    from gapwatch.cli.backfill import add_parser as add_backfill_parser
    from gapwatch.cli.readiness import add_parsers as add_readiness_parsers

    add_readiness_parsers(sub)
    add_backfill_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; exit 0 ok, 1 check failed or not found, 2 usage (see ``cli.common``)."""
    from gapwatch.airflow import connections

    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2), returned not raised
        return int(exc.code or 0)
    connections.install()  # source.conn_id resolves through Airflow's connections
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler, not at interpreter exit
        return code
    except BrokenPipeError:
        # `gapwatch incidents list | head`: the reader left; say nothing more, like other tools.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILED
    except (KeyError, CheckFailed) as exc:
        print(f"gapwatch: error: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return EXIT_FAILED
    except (RuntimeError, ValueError) as exc:
        print(f"gapwatch: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except sa.exc.OperationalError as exc:  # unreachable, refused, or past a timeout
        print(f"gapwatch: error: database: {str(exc.orig or exc).strip()} (the waits are bounded by "
              "GAPWATCH_DB_CONNECT_TIMEOUT and GAPWATCH_STATEMENT_TIMEOUT)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
