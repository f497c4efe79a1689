"""Reconciliation (对账): compare per-day row counts and quantity sums over a long window with what
the store read, and re-read only the days that differ (a correction older than the lookback, a
day read while the HIS was half-written)."""

from __future__ import annotations

from datetime import date, timedelta

from agent.clock import Clock
from agent.jobs.ingest_usage import differing_days, ingest_window
from agent.logging import get_logger
from agent.ports import UsageSource
from agent.store import Store

log = get_logger("agent.ingest")


def reconcile_usage(store: Store, source: UsageSource, clock: Clock, days: int = 90) -> list[date]:
    """Re-read the closed days of the last ``days`` whose totals differ; returns them."""
    day_to = clock.today() - timedelta(days=1)
    day_from = day_to - timedelta(days=days - 1)
    todo = differing_days(store, source, day_from, day_to)
    for day in todo:
        ingest_window(store, source, day, day, clock.now())
    if todo:
        log.info("reconciliation re-read days", source=source.name, days=[d.isoformat() for d in todo])
    return todo
