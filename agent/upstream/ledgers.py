"""Pulling purchase orders (采购订单) and distributor bills (结算单) from the platform, like
delivery notes: a keyset cursor per list, each page stored with its cursor in one transaction,
lines upserted by their platform id (``deliveries.pull_list``). A profile that has no such list
(``Profile.supports``) pulls nothing; the clocks then stay empty for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

from agent.errors import DataError
from agent.store import Store, Tx
from agent.store import ledgers as repo
from agent.upstream.client import PlatformClient
from agent.upstream.deliveries import parse_time, pull_list


@dataclass(frozen=True)
class LedgerSync:
    orders: int
    bills: int


def _number(line: dict[str, Any], key: str, what: str, required: bool = False) -> str | None:
    value = line.get(key)
    if value in (None, ""):
        if required:
            raise DataError(f"{what}: {key} is missing")
        return None
    try:
        return str(Decimal(str(value)))
    except InvalidOperation:
        raise DataError(f"{what}: {key} {value!r} is not a number") from None


def _when(line: dict[str, Any], key: str, tz: tzinfo, what: str, required: bool = False) -> datetime | None:
    try:
        at = parse_time(line.get(key), tz)
    except ValueError:
        raise DataError(f"{what}: {key} {line.get(key)!r} is not a time") from None
    if at is None and required:
        raise DataError(f"{what}: {key} is missing")
    return at


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def store_order(conn: Tx, hospital: str, line: dict[str, Any], tz: tzinfo, now: datetime) -> None:
    what = f"order line {line.get('order_id')}"
    ordered_at = _when(line, "ordered_at", tz, what, required=True)
    assert ordered_at is not None
    repo.save_order(conn, hospital, repo.OrderRecord(
        order_id=str(line["order_id"]), ordered_at=ordered_at, synced_at=now, order_code=_text(line.get("order_code")),
        product_code=_text(line.get("product_code")), product_name=_text(line.get("product_name")),
        distributor_code=_text(line.get("distributor_code")), distributor_name=_text(line.get("distributor_name")),
        quantity=_number(line, "quantity", what), price=_number(line, "price", what),
        listed_price=_number(line, "listed_price", what), responded_at=_when(line, "responded_at", tz, what),
        delivered_quantity=_number(line, "delivered_quantity", what), delivered_at=_when(line, "delivered_at", tz, what),
        platform_updated_at=_text(line.get("updated_at")),
    ))


def store_bill(conn: Tx, hospital: str, line: dict[str, Any], tz: tzinfo, now: datetime) -> None:
    what = f"bill {line.get('bill_id')}"
    accepted_at = _when(line, "accepted_at", tz, what, required=True)
    assert accepted_at is not None
    repo.save_bill(conn, hospital, repo.BillRecord(
        bill_id=str(line["bill_id"]), amount=str(_number(line, "amount", what, required=True)), accepted_at=accepted_at,
        synced_at=now, distributor_code=_text(line.get("distributor_code")),
        distributor_name=_text(line.get("distributor_name")), issued_at=_when(line, "issued_at", tz, what),
        checked_at=_when(line, "checked_at", tz, what), paid_at=_when(line, "paid_at", tz, what),
        platform_updated_at=_text(line.get("updated_at")),
    ))


def sync_ledgers(store: Store, client: PlatformClient, now: datetime, *, lookback_s: int = 3600,
                 page_size: int = 200, max_pages: int = 1000) -> LedgerSync:
    """Pull the order lines and bills changed since their cursors; returns how many lines were read."""
    hospital, tz = store.hospital_code, now.tzinfo
    assert tz is not None
    counts = {"orders": 0, "bills": 0}
    savers = {"orders": store_order, "bills": store_bill}
    for op, save in savers.items():
        if client.profile.supports(op):
            counts[op], _pages = pull_list(store, client, op, now,
                                           lambda conn, line, save=save: save(conn, hospital, line, tz, now),  # type: ignore[misc]
                                           lookback_s=lookback_s, page_size=page_size, max_pages=max_pages)
    return LedgerSync(counts["orders"], counts["bills"])
