"""Pulling delivery notes (配送单) incrementally, then matching waiting receipts to them.

A keyset cursor ``(updated_at, delivery_id)`` in the core ``cursors`` table; each sync starts
``lookback`` before it so a line the platform commits late is still seen, and upserts lines by
delivery id, so reading a line twice changes nothing. Each page is stored with the cursor in one
transaction; receipts still unmatched are tried again at the end.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

from agent.errors import DataError
from agent.store import Store, Tx
from agent.store import platform as repo
from agent.upstream.client import PlatformClient
from agent.upstream.confirm import rematch_unmatched


@dataclass(frozen=True)
class SyncResult:
    lines: int
    pages: int
    queued: int


def parse_time(text: Any, tz: tzinfo) -> datetime | None:
    if not text:
        return None
    value = datetime.fromisoformat(str(text))
    return value if value.tzinfo else value.replace(tzinfo=tz)


def _store_line(conn: Tx, hospital: str, line: dict[str, Any], tz: tzinfo, now: datetime) -> None:
    try:
        quantity = Decimal(str(line["quantity"]))
    except (InvalidOperation, KeyError, TypeError):
        raise DataError(f"delivery line {line.get('delivery_id')}: quantity {line.get('quantity')!r} is not a number") from None
    repo.save_delivery_line(conn, hospital, repo.DeliveryRecord(
        order_id=line.get("order_id"), order_code=line.get("order_code"), product_code=str(line["product_code"]),
        product_name=line.get("product_name"), lot=line.get("lot"), expiry=line.get("expiry"), quantity=str(quantity),
        shipped_at=parse_time(line.get("shipped_at"), tz), distributor_code=line.get("distributor_code"),
        platform_updated_at=line.get("updated_at"), synced_at=now, delivery_id=str(line["delivery_id"]),
    ))


def sync_deliveries(store: Store, client: PlatformClient, now: datetime, *, lookback_s: int = 3600,
                    page_size: int = 200, max_pages: int = 1000, item_map: Mapping[str, str] | None = None,
                    min_confidence: float = 0.7) -> SyncResult:
    """Pull every delivery line changed since the cursor (minus lookback); returns what was done."""
    hospital, tz = store.hospital_code, now.tzinfo
    assert tz is not None
    with store.read() as conn:
        cursor = repo.delivery_cursor(conn, hospital)
    since_dt = parse_time(cursor.get("updated"), tz)
    mark = (since_dt, str(cursor.get("id") or "")) if since_dt else None
    since = (since_dt - timedelta(seconds=lookback_s)).isoformat() if since_dt else None
    after: str | None = cursor.get("id") if lookback_s == 0 else None  # no lookback: resume right after the cursor
    total = pages = 0
    more = True
    while more and pages < max_pages:
        lines, more = client.deliveries(since, after, page_size)
        pages += 1
        if not lines:
            break
        with store.begin() as conn:
            for line in lines:
                _store_line(conn, hospital, line, tz, now)
            last = lines[-1]  # the platform pages in (updated_at, delivery_id) order: the last line is the newest
            last_at = parse_time(last.get("updated_at"), tz)
            if last_at is not None and (mark is None or (last_at, str(last["delivery_id"])) > mark):
                mark = (last_at, str(last["delivery_id"]))
                repo.save_delivery_cursor(conn, hospital, {"updated": last_at.isoformat(), "id": mark[1]}, now)
        total += len(lines)
        since, after = last.get("updated_at") or since, str(last["delivery_id"])
    with store.begin() as conn:
        queued = rematch_unmatched(conn, hospital, now, item_map=item_map, min_confidence=min_confidence)
    return SyncResult(total, pages, queued)
