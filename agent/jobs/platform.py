"""The platform jobs the scheduler runs: delivery sync, order and bill sync, outbox drain, deadline
check, report upload.

Each takes the store, the platform link (``agent.upstream.link.build_platform``) and the clock, and
returns what it did; errors are raised from the ``errors`` tree for the scheduler wrapper to
classify (a link failure inside the drain is not an error: the queue is held and retried).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from agent.clock import Clock
from agent.domain.findings import Finding
from agent.store import Store
from agent.upstream.deadlines import check_deadlines
from agent.upstream.deliveries import SyncResult, sync_deliveries
from agent.upstream.drain import DrainResult
from agent.upstream.ledgers import LedgerSync, sync_ledgers
from agent.upstream.link import PlatformLink
from agent.upstream.reports import queue_monthly_report


def sync_platform(store: Store, link: PlatformLink, clock: Clock, read_from: datetime | None = None) -> SyncResult:
    """Pull new delivery notes (配送单) and queue confirmations for receipts that now match
    (``read_from``: read again the lines listed since then, for the first day's backlog)."""
    cfg = link.config
    return sync_deliveries(store, link.client, clock.now(), lookback_s=cfg.sync_lookback_s, page_size=cfg.sync_page_size,
                           item_map=cfg.item_map, min_confidence=cfg.match_min_confidence, max_age=cfg.auto_confirm_max_age,
                           read_from=read_from)


def sync_platform_ledgers(store: Store, link: PlatformLink, clock: Clock) -> LedgerSync:
    """Pull new and changed purchase orders (采购订单) and bills (结算单) for the distributor and
    payment clocks (a profile without them pulls nothing)."""
    cfg = link.config
    return sync_ledgers(store, link.client, clock.now(), lookback_s=cfg.sync_lookback_s, page_size=cfg.sync_page_size)


def drain_platform(store: Store, link: PlatformLink, clock: Clock, max_items: int | None = None) -> DrainResult:
    """Send due confirmations and reports, oldest first, until empty or the link fails."""
    return link.drainer(store, clock).drain(max_items)


def check_platform_deadlines(store: Store, link: PlatformLink | None, clock: Clock) -> list[Finding]:
    """Critical findings (``platform.confirm_late``) for acceptances 20 h old and not yet confirmed."""
    late_after_h = link.config.confirm_late_h if link is not None else 20.0
    with store.begin() as conn:
        return check_deadlines(conn, store.hospital_code, clock.now(), late_after_h)


def queue_platform_report(store: Store, link: PlatformLink, clock: Clock, month: str,
                          rows: Iterable[Mapping[str, Any]]) -> bool:
    """Queue the month's aggregates for upload (False when the profile has none, or already queued)."""
    if not link.config.upload_reports:
        return False
    with store.begin() as conn:
        return queue_monthly_report(conn, store.hospital_code, link.client.profile, month, rows, clock.now())
