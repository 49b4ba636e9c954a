"""Senders run at once (every monitor's publish task, the operations DAG, the CLI): each message
must still leave exactly once, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa

from gapwatch import outbox, store

pytestmark = pytest.mark.integration


def _queue_messages(engine: sa.Engine, n: int) -> None:
    now = store.utcnow() - timedelta(seconds=1)
    with engine.begin() as conn:
        conn.execute(
            store.outbox.insert(),
            [
                {
                    "idempotency_key": f"key-{i:03d}", "monitor": "credit_default", "channel": "file",
                    "recipient_role": "technical_owner", "recipient": "Ravi <ravi@example.com>",
                    "subject": f"message {i}", "body": "text", "payload": {}, "status": "pending",
                    "attempts": 0, "next_attempt_at": now, "created_at": now,
                }
                for i in range(n)
            ],
        )


def test_two_senders_at_once_deliver_each_message_exactly_once(store_url: str) -> None:
    engine = store.engine(store_url)
    _queue_messages(engine, 40)
    delivered: list[str] = []
    lock = threading.Lock()

    def slow_channel(message: dict) -> None:
        # A far side that takes a while, so the two senders overlap for the whole batch.
        time.sleep(0.01)
        with lock:
            delivered.append(message["idempotency_key"])

    start = threading.Barrier(2)
    results: list[dict] = []

    def sender() -> None:
        start.wait()
        results.append(outbox.deliver_pending(engine, senders={"file": slow_channel}))

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert Counter(delivered) == Counter(f"key-{i:03d}" for i in range(40))  # all, none twice
    assert sum(r["sent"] for r in results) == 40
    with engine.connect() as conn:
        statuses = conn.execute(sa.select(store.outbox.c.status)).scalars().all()
    assert statuses == ["sent"] * 40


def test_a_sender_that_died_mid_send_leaves_the_message_to_the_next_after_its_lease(store_url: str) -> None:
    engine = store.engine(store_url)
    _queue_messages(engine, 1)
    now = store.utcnow()
    assert outbox._claim(engine, 1, now)  # a sender took it, then its process died
    got: list[str] = []
    assert outbox.deliver_pending(engine, senders={"file": lambda m: got.append(m["idempotency_key"])},
                                  now=now)["sent"] == 0  # still leased: nobody sends it twice
    later = now + outbox.SEND_LEASE + timedelta(seconds=1)
    assert outbox.deliver_pending(engine, senders={"file": lambda m: got.append(m["idempotency_key"])},
                                  now=later)["sent"] == 1
    assert got == ["key-000"]
