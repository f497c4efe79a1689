"""One poll of one configured source, by kind: usage (HIS, prescription) or receipts (warehouse).

The scheduler calls :func:`poll_source` every ``poll_interval_s`` (a usage source's lookback
sweep at start and nightly); reconciliation and the HIS
dictionaries (items, departments) run less often (:func:`reconcile_source`, :func:`refresh_items`,
:func:`refresh_departments`).
Per-source tuning lives in ``[sources.options]``: ``settle_lag_s`` (120), ``receipt_lookback_h`` (24),
``page_size`` (1000), ``reconcile_days`` (90).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from agent.catalogue.config import CatalogueConfig
from agent.catalogue.mapping import map_items
from agent.clock import Clock
from agent.config import SourceConfig
from agent.jobs.ingest_items import ingest_departments, ingest_items
from agent.jobs.ingest_receipts import OnStored, ReceiptStats, ingest_receipts
from agent.jobs.ingest_usage import UsageStats, poll_usage
from agent.jobs.reconcile import reconcile_usage
from agent.store import Store, dictionaries


def poll_source(store: Store, source: Any, cfg: SourceConfig, clock: Clock,
                on_stored: OnStored | None = None, *, sweep: bool = False) -> UsageStats | ReceiptStats:
    """One poll; for a usage source with ``sweep``, every lookback day re-read (see :func:`poll_usage`)."""
    opts = cfg.options
    if cfg.kind == "warehouse":
        return ingest_receipts(
            store, source, clock, settle_lag=timedelta(seconds=opts.settle_lag_s),
            lookback=timedelta(hours=opts.receipt_lookback_h),
            page_size=opts.page_size, on_stored=on_stored)
    return poll_usage(store, source, clock, cfg.lookback_days, sweep=sweep)


def reconcile_source(store: Store, source: Any, cfg: SourceConfig, clock: Clock) -> list:
    if cfg.kind == "warehouse":
        return []
    return reconcile_usage(store, source, clock, cfg.options.reconcile_days)


def refresh_items(store: Store, source: Any, cfg: SourceConfig, clock: Clock) -> tuple[int, int]:
    if cfg.kind != "his" or not source.has("items"):
        return 0, 0
    return ingest_items(store, source, clock)


def refresh_departments(store: Store, source: Any, cfg: SourceConfig, clock: Clock) -> tuple[int, int]:
    """The department dictionary (科室字典), when the source's preset has the optional query."""
    if cfg.kind != "his" or not source.has("departments"):
        return 0, 0
    return ingest_departments(store, source, clock)


def refresh_items_and_map(store: Store, source: Any, cfg: SourceConfig, clock: Clock, catalogue: CatalogueConfig) -> None:
    """The daily dictionary job: the item dictionary, then 对码 of what it holds, then the departments
    (after 对码, so a broken custom department query cannot hold mapping up)."""
    refresh_items(store, source, cfg, clock)
    with store.read() as conn:
        local = dictionaries.local_items(conn, store.hospital_code)
    if local:
        map_items(store, local, clock.now(), auto_accept=catalogue.auto_accept, top=catalogue.candidates)
    refresh_departments(store, source, cfg, clock)
