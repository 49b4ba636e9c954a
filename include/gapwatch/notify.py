"""The outbox sender: delivers queued messages through their channels, with retries.

Messages are queued by ``gapwatch.incidents`` in the same transaction as the change they announce.
Delivery is at-least-once from the outbox's side and made exactly-once by the channel honouring
the message's idempotency key (the file sink skips keys it already holds). A failing channel
delays its messages with exponential backoff; after ``MAX_ATTEMPTS`` a message is dead-lettered.
Messages of one incident to one recipient leave in order: a later one waits while an earlier one
is still pending.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from gapwatch import config, store

MAX_ATTEMPTS = 8
BASE_BACKOFF = timedelta(seconds=30)

Sender = Callable[[dict[str, Any]], None]
_file_lock = threading.Lock()


def file_sink(message: dict[str, Any], path: Path | None = None) -> None:
    """Append the message as one JSON line, unless its idempotency key is already there.

    Reading the file for keys is linear in its size; fine for the embedded default, which is
    what this sink is for (production uses real channels).
    """
    path = path or config.outbox_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    with _file_lock:
        if path.exists():
            with path.open() as fh:
                if any(json.loads(line)["idempotency_key"] == message["idempotency_key"] for line in fh):
                    return
        with path.open("a") as fh:
            fh.write(json.dumps(message, default=str) + "\n")


def email_sender(message: dict[str, Any]) -> None:
    from gapwatch.airflow_adapter import send_email

    send_email(message)


def default_senders() -> dict[str, Sender]:
    return {"file": file_sink, "email": email_sender}


def deliver_pending(
    engine: Engine,
    *,
    monitor: str | None = None,
    senders: dict[str, Sender] | None = None,
    now: datetime | None = None,
) -> dict[str, int]:
    """Try every due message once; returns counts of sent, retrying and dead messages."""
    senders = senders or default_senders()
    now = now or store.utcnow()
    ob = store.outbox
    query = sa.select(ob).where(ob.c.status == "pending").order_by(ob.c.id)
    if monitor:
        query = query.where(ob.c.monitor == monitor)
    with engine.connect() as conn:
        pending = store.rows(conn, query)
    counts = {"sent": 0, "retrying": 0, "dead": 0, "waiting": 0}
    blocked: set[tuple[Any, ...]] = set()
    for msg in pending:
        stream = (msg["incident_id"], msg["ticket_id"], msg["channel"], msg["recipient"])
        if stream in blocked or msg["next_attempt_at"] > now:
            blocked.add(stream)
            counts["waiting"] += 1
            continue
        message = {
            k: msg[k]
            for k in ("idempotency_key", "monitor", "channel", "recipient_role", "recipient",
                      "subject", "body", "payload", "incident_id", "ticket_id")
        }
        message["queued_at"] = msg["created_at"].isoformat()
        try:
            sender = senders[msg["channel"]]
            sender(message)
        except Exception as exc:  # any channel failure is retried, never lost
            attempts = msg["attempts"] + 1
            dead = attempts >= MAX_ATTEMPTS
            with engine.begin() as conn:
                conn.execute(
                    ob.update()
                    .where(ob.c.id == msg["id"], ob.c.status == "pending")
                    .values(
                        attempts=attempts,
                        status="dead" if dead else "pending",
                        next_attempt_at=now + BASE_BACKOFF * 2 ** (attempts - 1),
                        last_error=f"{type(exc).__name__}: {exc}"[:2000],
                    )
                )
            counts["dead" if dead else "retrying"] += 1
            blocked.add(stream)
            continue
        with engine.begin() as conn:
            conn.execute(
                ob.update()
                .where(ob.c.id == msg["id"])
                .values(status="sent", sent_at=store.utcnow(), attempts=msg["attempts"] + 1, last_error=None)
            )
        counts["sent"] += 1
    return counts
