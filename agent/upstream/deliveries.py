"""Pulling delivery notes (配送单) incrementally, then matching waiting receipts to them.

A keyset cursor ``(updated_at, delivery_id)`` in the core ``cursors`` table; each sync starts
``lookback`` before it so a line the platform commits late is still seen, and upserts lines by
delivery id, so reading a line twice changes nothing. Each page is stored with the cursor in one
transaction; receipts still unmatched are tried again at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

from agent.errors import DataError
from agent.store import Store, Tx
from agent.store import platform as repo
from agent.upstream.client import PlatformClient
from agent.upstream.confirm import MAX_AGE, rematch_unmatched
from agent.upstream.profile_base import LIST_KEYS

FIRST_WINDOW = timedelta(days=7)  # a window-paged platform's first sync reads this far back


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


def pull_list(store: Store, client: PlatformClient, op: str, now: datetime,
              save: Callable[[Tx, dict[str, Any]], None], *, lookback_s: int = 3600, page_size: int = 200,
              max_pages: int = 1000, read_from: datetime | None = None) -> tuple[int, int]:
    """Pull every line of ``op`` (deliveries, orders, bills) changed since its cursor (minus
    lookback), each page stored with ``save`` and the cursor in one transaction; (lines, pages).

    How depends on the profile's ``paging``: ``keyset`` (updated since / after this id), ``pages``
    (an update-time window up to now, read page by page; the cursor becomes the window's end), or
    ``cursor`` (the platform hands out lines after the last id read, until it says it is done). A
    cursor-paged list of orders or bills is read from its start every time: their status changes
    after they are created, and the platform's cursor follows creation (TO CONFIRM per province).
    ``read_from`` reads again from that instant (a time-paged platform only), for the backlog of
    lines listed before the agent was switched on; the first sync otherwise reads 7 days back."""
    hospital, tz = store.hospital_code, now.tzinfo
    assert tz is not None
    paging = client.profile.paging
    id_key = LIST_KEYS[op]
    rereads = paging == "cursor" and op != "deliveries"
    with store.read() as conn:
        cursor = {} if rereads else repo.delivery_cursor(conn, hospital, op)
    since_dt = parse_time(cursor.get("updated"), tz)
    mark = (since_dt, str(cursor.get("id") or "")) if since_dt else None
    since = (since_dt - timedelta(seconds=lookback_s)).isoformat() if since_dt else None
    if paging == "pages" and since is None:
        since = (now - FIRST_WINDOW).isoformat()
    if read_from is not None and paging != "cursor":  # `platform sync --since`: lines listed long ago (the first day)
        since = read_from.isoformat()  # the cursor (mark) never moves back
    # The window ends at our now; the next one starts at that now minus the lookback, so a line the
    # platform stamps a little later (its clock ahead of ours, a late commit) is still read.
    until = now.isoformat() if paging == "pages" else None
    after: str | None = cursor.get("id") if (lookback_s == 0 or paging == "cursor") and read_from is None else None
    total = pages = 0
    more = True
    while more and pages < max_pages:
        lines, more = client.listing(op, since, after, page_size, until=until, page=pages + 1)
        pages += 1
        if not lines:
            break
        with store.begin() as conn:
            for line in lines:
                save(conn, line)
            last = lines[-1]  # the platform pages in (updated_at, id) order: the last line is the newest
            if paging == "cursor" and not rereads:
                repo.save_delivery_cursor(conn, hospital, {"id": str(last[id_key])}, now, op)
            elif paging == "keyset":
                last_at = parse_time(last.get("updated_at"), tz)
                if last_at is not None and (mark is None or (last_at, str(last[id_key])) > mark):
                    mark = (last_at, str(last[id_key]))
                    repo.save_delivery_cursor(conn, hospital, {"updated": last_at.isoformat(), "id": mark[1]}, now, op)
        total += len(lines)
        if paging == "keyset":
            since, after = last.get("updated_at") or since, str(last[id_key])
        elif paging == "cursor":
            after = str(last[id_key])
    if paging == "pages" and not more:  # the whole window was read: the next sync starts at its end
        with store.begin() as conn:
            repo.save_delivery_cursor(conn, hospital, {"updated": until}, now, op)
    return total, pages


def sync_deliveries(store: Store, client: PlatformClient, now: datetime, *, lookback_s: int = 3600,
                    page_size: int = 200, max_pages: int = 1000, item_map: Mapping[str, str] | None = None,
                    min_confidence: float = 0.7, max_age: timedelta = MAX_AGE,
                    read_from: datetime | None = None) -> SyncResult:
    """Pull every delivery line changed since the cursor (minus lookback), then match waiting
    receipts younger than ``max_age``; returns what was done (paging and ``read_from`` as ``pull_list``)."""
    hospital, tz = store.hospital_code, now.tzinfo
    assert tz is not None
    total, pages = pull_list(store, client, "deliveries", now, lambda conn, line: _store_line(conn, hospital, line, tz, now),
                             lookback_s=lookback_s, page_size=page_size, max_pages=max_pages, read_from=read_from)
    with store.begin() as conn:
        queued = rematch_unmatched(conn, hospital, now, item_map=item_map, min_confidence=min_confidence, max_age=max_age)
    return SyncResult(total, pages, queued)
