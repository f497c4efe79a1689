"""Reconciliation (对账): compare per-day row counts and quantity sums over a long window with what
the store read, and re-read only the days that differ (a correction older than the lookback, a
day read while the HIS was half-written)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from agent.clock import Clock
from agent.jobs.ingest_usage import ingest_window
from agent.logging import get_logger
from agent.ports import UsageSource
from agent.store import Store, usage

log = get_logger("agent.ingest")
TOLERANCE = Decimal("0.001")


def differing_days(store: Store, source: UsageSource, day_from: date, day_to: date) -> list[date]:
    """Days whose source totals differ from the totals recorded when the day was last read."""
    theirs = {d: (n, q) for d, n, q in source.day_totals(day_from, day_to)}
    with store.read() as conn:
        ours = usage.day_totals(conn, store.hospital_code, source.name, day_from, day_to)
    out = []
    for i in range((day_to - day_from).days + 1):
        day = day_from + timedelta(days=i)
        n_src, q_src = theirs.get(day, (0, Decimal(0)))
        if day not in ours:
            if n_src:
                out.append(day)
            continue
        n_our, q_our = ours[day]
        if n_src != n_our or abs(q_src - q_our) > TOLERANCE:
            out.append(day)
    return out


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
