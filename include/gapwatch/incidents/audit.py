"""The audit trail and the trend of a check, as stored: the lowest layer of the incidents.

``lifecycle`` and ``tickets`` both write audit events and read a check's recent verdicts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gapwatch import store
from gapwatch.catalog import TREND_IN_MESSAGES, IncidentEvent
from gapwatch.spec import MonitorSpec


def record_event(
    conn: Connection, incident_id: int, window_start: Any, action: IncidentEvent, detail: dict[str, Any],
    actor: str = "gapwatch", at: datetime | None = None,
) -> None:
    """Append one change of an incident to its audit trail (``detail["why"]`` says why)."""
    conn.execute(
        store.incident_events.insert().values(
            incident_id=incident_id,
            at=at or store.utcnow(),
            window_start=window_start,
            actor=actor,
            action=action,
            detail=detail,
        )
    )


def findings_trend(
    conn: Connection, spec: MonitorSpec, fp: str, until: Any, n: int = TREND_IN_MESSAGES
) -> list[dict[str, Any]]:
    """The check's last ``n`` verdicts up to ``until`` (oldest first), for messages and tickets."""
    f = store.findings
    found = store.rows(
        conn,
        sa.select(f.c.window_start, f.c.status, f.c.evidence)
        .where(f.c.monitor == spec.name, f.c.fingerprint == fp, f.c.window_start <= until)
        .order_by(f.c.window_start.desc())
        .limit(n),
    )
    return [
        {"window": r["window_start"].date().isoformat(), "status": r["status"], "value": r["evidence"].get("value")}
        for r in reversed(found)
    ]
