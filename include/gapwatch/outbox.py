"""The outbox: messages queued with the change they announce, and the sender that delivers them.

Messages are queued (:func:`queue`) in the same transaction as the incident or ticket change
they announce, so nothing is announced that did not happen and nothing that happened goes
unannounced. :func:`deliver_pending` sends them through their channels (``gapwatch.airflow.channels``):
delivery is at-least-once from the outbox's side and made exactly-once by the far side honouring
the idempotency key (file sink: skips keys it holds; Jira: label search before create; PagerDuty:
dedup_key; email: Message-ID; webhook: ``Idempotency-Key`` header). A failing channel delays its
messages with exponential backoff, or for as long as the far side asks (:class:`RetryAfter`, from
an HTTP 429 ``Retry-After``); after ``MAX_ATTEMPTS`` a message is dead-lettered and that queues
its own alert to the platform route.

Order: the messages of one incident (or ticket) to one destination form a *stream* and leave in
the order they were queued. A later message waits while an earlier one of its stream is pending,
and also while an earlier one is **dead**: an OPEN that could not be delivered is never overtaken
by its RESOLVED. Retrying the dead message by hand (``gapwatch messages retry ID``) releases the
stream; the platform alert says so. Messages tied to no incident or ticket (digests, platform
alerts) are only held behind pending ones, so one dead digest never silences later ones.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from gapwatch import config, redaction, store
from gapwatch.catalog import MessageStatus, Role
from gapwatch.incidents.messages import Message, dead_letter_message
from gapwatch.incidents.routing import Destination, platform_destination

MAX_ATTEMPTS = 8
BASE_BACKOFF = timedelta(seconds=30)
SEND_LEASE = timedelta(minutes=5)  # how long a claimed message is left to its sender
UNSENT = (MessageStatus.PENDING, MessageStatus.SENDING)  # a lapsed lease makes ``sending`` due again
# A far side asking for more than a day is capped, so a bogus header cannot park a message forever.
MAX_RETRY_AFTER = timedelta(days=1)

# A channel: deliver one message, return an external reference (or None); raise on failure.
# The senders themselves live in ``gapwatch.airflow.channels`` and are passed in by the caller.
Sender = Callable[[dict[str, Any]], "str | None"]


class RetryAfter(Exception):
    """Raised by a channel when the far side asks to be left alone for a while (HTTP 429).

    The failed attempt counts like any other, but the next one is not scheduled before
    ``seconds`` (capped at ``MAX_RETRY_AFTER``), even when the backoff would come sooner.

    Attributes:
        seconds: How long the far side asked us to wait (its ``Retry-After``).
    """

    def __init__(self, message: str, seconds: float) -> None:
        super().__init__(message)
        self.seconds = seconds


def base_backoff() -> timedelta:
    """The first retry's delay; each further attempt doubles it (30 s, 1 min, 2 min ... ~1 h)."""
    return timedelta(seconds=config.settings().retry_backoff_seconds)

log = logging.getLogger(__name__)


def idempotency_key(monitor: str, event_key: str, destination: Destination) -> str:
    return hashlib.sha256(f"{monitor}|{event_key}|{destination.key}".encode()).hexdigest()


def queue(
    conn: Connection,
    *,
    monitor: str,
    event_key: str,
    destination: Destination,
    message: Message,
    incident_id: int | None = None,
    ticket_id: int | None = None,
) -> bool:
    """Queue one message for one destination; True if new (an equal key is never queued twice)."""
    now = store.utcnow()
    return store.insert_ignore(
        conn,
        store.outbox,
        {
            "idempotency_key": idempotency_key(monitor, event_key, destination),
            "monitor": monitor,
            "channel": destination.channel,
            "recipient_role": destination.role,
            "recipient": destination.recipient[:300],
            "subject": message.subject[:500],
            "body": message.body,
            "payload": json.loads(json.dumps(message.payload, default=str)),
            "route": destination.route or None,
            "incident_id": incident_id,
            "ticket_id": ticket_id,
            "status": MessageStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        },
        ["idempotency_key"],
    )


def deliver_pending(
    engine: Engine,
    senders: Mapping[str, Sender],
    *,
    monitor: str | None = None,
    now: datetime | None = None,
) -> dict[str, int]:
    """Try every due message once; returns counts of sent, retrying, dead, waiting (not due, or
    behind a pending one of its stream) and held (behind a dead one of its stream) messages.

    Args:
        engine: the store.
        monitor: only this monitor's messages (a monitor run sends its own; housekeeping all).
        senders: channel name -> send function (``gapwatch.airflow.channels.default_senders()``
            in production; tests pass their own).
        now: the clock (tests move it forward instead of sleeping through backoff).
    """
    now = now or store.utcnow()
    ob = store.outbox
    query = sa.select(ob).where(ob.c.status.in_(UNSENT)).order_by(ob.c.id)
    if monitor:
        query = query.where(ob.c.monitor == monitor)
    with engine.connect() as conn:
        pending = store.rows(conn, query)
        dead_streams = _dead_streams(conn, monitor)
    counts = {"sent": 0, "retrying": 0, "dead": 0, "waiting": 0, "held": 0}
    blocked: set[tuple[Any, ...]] = set()
    for msg in pending:
        stream = _stream(msg)
        if stream in dead_streams and dead_streams[stream] < msg["id"]:
            counts["held"] += 1  # an earlier message of its stream is dead: never overtake it
            continue
        if stream in blocked or msg["next_attempt_at"] > now:
            blocked.add(stream)
            counts["waiting"] += 1
            continue
        if not _claim(engine, msg["id"], now):
            blocked.add(stream)  # another sender has it in flight
            counts["waiting"] += 1
            continue
        message = {
            k: msg[k]
            for k in ("idempotency_key", "monitor", "channel", "recipient_role", "recipient",
                      "subject", "body", "payload", "incident_id", "ticket_id", "route")
        }
        message["queued_at"] = msg["created_at"].isoformat()
        try:
            sender = senders[msg["channel"]]
            external_ref = sender(message)
        except Exception as exc:  # any channel failure is retried, never lost
            dead = _record_failure(engine, msg, exc, now)
            counts["dead" if dead else "retrying"] += 1
            blocked.add(stream)
            continue
        _mark_sent(engine, msg, external_ref)
        counts["sent"] += 1
    return counts


def _mark_sent(engine: Engine, msg: dict[str, Any], external_ref: str | None) -> None:
    """Record a delivery; a tracker's issue key goes on the ticket it was raised for."""
    ob = store.outbox
    with engine.begin() as conn:
        conn.execute(
            ob.update()
            .where(ob.c.id == msg["id"], ob.c.status == MessageStatus.SENDING)
            .values(status=MessageStatus.SENT, sent_at=store.utcnow(), attempts=msg["attempts"] + 1,
                    last_error=None, external_ref=external_ref)
        )
        if external_ref and msg["ticket_id"] and msg["recipient_role"] == Role.TRACKER:
            conn.execute(
                store.tickets.update().where(store.tickets.c.id == msg["ticket_id"]).values(tracker_key=external_ref)
            )


def _stream(msg: Mapping[str, Any]) -> tuple[Any, ...]:
    """The messages that must leave in order: one incident or ticket, one destination."""
    return (msg["incident_id"], msg["ticket_id"], msg["channel"], msg["recipient"])


def _dead_streams(conn: Connection, monitor: str | None) -> dict[tuple[Any, ...], int]:
    """Streams of an incident or ticket with a dead message -> the id of their first dead one."""
    ob = store.outbox
    query = (
        sa.select(ob.c.incident_id, ob.c.ticket_id, ob.c.channel, ob.c.recipient, sa.func.min(ob.c.id))
        .where(ob.c.status == MessageStatus.DEAD, sa.or_(ob.c.incident_id.is_not(None), ob.c.ticket_id.is_not(None)))
        .group_by(ob.c.incident_id, ob.c.ticket_id, ob.c.channel, ob.c.recipient)
    )
    if monitor:
        query = query.where(ob.c.monitor == monitor)
    return {tuple(row[:4]): row[4] for row in conn.execute(query)}


def _claim(engine: Engine, message_id: int, now: datetime) -> bool:
    """Take a due message for this sender only, for ``SEND_LEASE``.

    Senders run concurrently (every monitor's publish task, the operations DAG, the CLI); the
    conditional update lets exactly one of them send a message. A sender that dies mid-send leaves
    the message ``sending``; when the lease runs out another sender takes it again (at-least-once;
    the channels' idempotency keys absorb that rare repeat).
    """
    ob = store.outbox
    with engine.begin() as conn:
        return bool(
            conn.execute(
                ob.update()
                .where(ob.c.id == message_id, ob.c.status.in_(UNSENT), ob.c.next_attempt_at <= now)
                .values(status=MessageStatus.SENDING, next_attempt_at=now + SEND_LEASE)
            ).rowcount
        )


def _record_failure(engine: Engine, msg: dict[str, Any], exc: Exception, now: datetime) -> bool:
    """Count a failed attempt; dead-letter after MAX_ATTEMPTS and alert the platform. True if dead."""
    attempts = msg["attempts"] + 1
    dead = attempts >= MAX_ATTEMPTS
    error = redaction.redact(f"{type(exc).__name__}: {exc}")[:2000]
    delay = base_backoff() * 2 ** (attempts - 1)
    if isinstance(exc, RetryAfter):  # the far side said when; never sooner than that
        delay = max(delay, min(timedelta(seconds=max(exc.seconds, 0)), MAX_RETRY_AFTER))
    log.warning(
        "gapwatch outbox: message #%s (%s -> %s) failed, attempt %d/%d%s: %s",
        msg["id"], msg["channel"], msg["recipient_role"], attempts, MAX_ATTEMPTS,
        " - dead-lettered" if dead else "", error,
    )
    ob = store.outbox
    with engine.begin() as conn:
        updated = conn.execute(
            ob.update()
            .where(ob.c.id == msg["id"], ob.c.status == MessageStatus.SENDING)
            .values(
                attempts=attempts,
                status=MessageStatus.DEAD if dead else MessageStatus.PENDING,
                next_attempt_at=now + delay,
                last_error=error,
            )
        ).rowcount
        # An alert about an undeliverable platform alert would loop; that one only gets logged.
        if dead and updated and msg["recipient_role"] != Role.PLATFORM:
            alert = dead_letter_message({**msg, "attempts": attempts, "last_error": error})
            if msg["incident_id"] or msg["ticket_id"]:
                alert = Message(alert.subject, alert.body + _HELD_NOTE.format(id=msg["id"]), alert.payload)
            try:
                destination = platform_destination()
            except ValueError as bad_setting:  # a typo in the setting must not lose the alert
                log.error("gapwatch outbox: %s; the platform alert goes to the file sink", bad_setting)
                destination = Destination("file", Role.PLATFORM, "platform team")
            queue(
                # Keyed on the moment it died: a message retried by hand that dies again alerts again.
                conn, monitor=msg["monitor"],
                event_key=f"dead_letter:{msg['idempotency_key']}:{now.isoformat()}",
                destination=destination, message=alert,
            )
    return dead


_HELD_NOTE = (
    "\nUntil then, later messages of the same incident or ticket to this destination are held, so "
    "they never arrive out of order (a RESOLVED before its OPEN); retrying #{id} releases them."
)


def retry_dead(engine: Engine, message_id: int) -> bool:
    """Put a dead-lettered message back in the queue (after the channel is fixed); the messages
    held behind it in its stream follow it, in order."""
    ob = store.outbox
    with engine.begin() as conn:
        return bool(
            conn.execute(
                ob.update()
                .where(ob.c.id == message_id, ob.c.status == MessageStatus.DEAD)
                .values(status=MessageStatus.PENDING, attempts=0, next_attempt_at=store.utcnow())
            ).rowcount
        )
