"""Secrets a channel has touched, remembered so that no error text or log line repeats them.

Kept apart from the channel senders (in ``gapwatch.airflow``) because the outbox, which records a
failed attempt's error, must scrub it without importing Airflow.
"""

from __future__ import annotations

import threading
from typing import Any

_secrets: set[str] = set()
_secrets_lock = threading.Lock()


def remember(*values: Any) -> list[str]:
    """Register secret values; returns the ones kept (shorter than 4 characters are ignored)."""
    found = [str(v) for v in values if v and len(str(v)) >= 4]
    if found:
        with _secrets_lock:
            _secrets.update(found)
    return found


def redact(text: str) -> str:
    """``text`` with every remembered secret replaced by ``***``."""
    with _secrets_lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, "***")
    return text
