"""Retention: how long gapwatch keeps what it writes, enforced by the ``enforce_retention`` task
of the operations DAG (and ``gapwatch operations run``).

================================  ========  ===========================================================
setting                           default   what is deleted once older
================================  ========  ===========================================================
``GAPWATCH_RUNS_RETENTION``       14 days   run extracts under ``GAPWATCH_RUNS_DIR`` (one folder per monitor
                                            and window: the window's rows and the labelled cohort, PII
                                            included); judged by the newest file in the folder
``GAPWATCH_DATA_DOCS_RETENTION``  90 days   Data Docs validation pages and the GX validation results
                                            stored behind them (the site index drops them at its next
                                            rebuild; until then their links answer 404)
``GAPWATCH_OUTBOX_RETENTION``     90 days   delivered outbox rows (``sent``); pending and dead ones stay
================================  ========  ===========================================================

Values are days (decimals allowed); ``0`` keeps that kind forever. Files are aged by their
modification time, so the extract of a window being evaluated right now (even a window from last
year, caught up or re-run) is never deleted under its run. The store's runs, findings, incidents
and audit trail are the system of record and are kept.

A delivered message's idempotency key goes with its row: a re-run of a window older than the
outbox retention could queue the same announcement again; the far sides' own idempotency
(PagerDuty dedup key, Jira label search, email Message-ID) still absorbs it.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path

from gapwatch import config, store

RUNS_RETENTION_ENV = "GAPWATCH_RUNS_RETENTION"
DATA_DOCS_RETENTION_ENV = "GAPWATCH_DATA_DOCS_RETENTION"
OUTBOX_RETENTION_ENV = "GAPWATCH_OUTBOX_RETENTION"
_FIELDS = {RUNS_RETENTION_ENV: "runs_retention", DATA_DOCS_RETENTION_ENV: "data_docs_retention",
           OUTBOX_RETENTION_ENV: "outbox_retention"}


def retention(setting: str) -> timedelta | None:
    """How long to keep one kind of data (``None``: forever), from its setting in days."""
    days = getattr(config.settings(), _FIELDS[setting])
    return timedelta(days=days) if days else None


def enforce_retention(now: datetime | None = None) -> dict[str, int]:
    """Delete what is past its retention; returns how many of each kind went.

    Args:
        now: the clock (tests move it forward instead of waiting for weeks).
    """
    now = now or store.utcnow()
    removed = {"run_extracts": 0, "data_docs_pages": 0, "validation_results": 0, "outbox_rows": 0}
    if keep := retention(RUNS_RETENTION_ENV):
        removed["run_extracts"] = _prune_run_folders(config.settings().runs_dir, now - keep)
    if keep := retention(DATA_DOCS_RETENTION_ENV):
        from gapwatch.readiness.docs import validation_folders

        pages, results = validation_folders()
        removed["data_docs_pages"] = _prune_files(pages, "*.html", now - keep)
        removed["validation_results"] = _prune_files(results, "*.json", now - keep)
    if keep := retention(OUTBOX_RETENTION_ENV):
        ob = store.outbox
        with store.engine().begin() as conn:
            removed["outbox_rows"] = conn.execute(
                ob.delete().where(ob.c.status == "sent", ob.c.sent_at < now - keep)
            ).rowcount
    return removed


def _older(path: Path, cutoff: datetime) -> bool:
    return path.stat().st_mtime < cutoff.timestamp()


def _prune_run_folders(root: Path, cutoff: datetime) -> int:
    """Delete ``<monitor>/<window>`` folders whose newest file is older than ``cutoff``."""
    removed = 0
    if not root.is_dir():
        return 0
    for monitor in sorted(p for p in root.iterdir() if p.is_dir()):
        for window in sorted(p for p in monitor.iterdir() if p.is_dir()):
            files = [f for f in window.rglob("*") if f.is_file()]
            if all(_older(f, cutoff) for f in files) and _older(window, cutoff):
                shutil.rmtree(window, ignore_errors=True)
                removed += 1
        _remove_if_empty(monitor)
    return removed


def _prune_files(root: Path, pattern: str, cutoff: datetime) -> int:
    """Delete files matching ``pattern`` under ``root`` older than ``cutoff``, then empty folders."""
    if not root.is_dir():
        return 0
    removed = 0
    for path in sorted(root.rglob(pattern)):
        if path.is_file() and _older(path, cutoff):
            path.unlink(missing_ok=True)
            removed += 1
    for folder in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        _remove_if_empty(folder)
    return removed


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()  # only succeeds when empty
    except OSError:
        pass
