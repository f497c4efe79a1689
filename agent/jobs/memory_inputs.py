"""``MonitoringInputs`` held in memory: for tests, benchmarks, and ``report --fixture FILE.json``.

Usage is indexed per item with prefix sums, so a range sum costs what a SUM over an indexed
range costs in the store.
"""

from __future__ import annotations

import json
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from datetime import date, datetime, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any

from agent.clock import DEFAULT_TZ
from agent.domain.model import Receipt
from agent.domain.monitoring_model import (
    Acceptance,
    AcceptedTotal,
    DailyUsage,
    DeadlineInputs,
    GenericGroup,
    ItemLink,
    OffPlatformPurchase,
    Order,
    Payable,
    ProductYear,
    PurchaseMix,
    UsageTotal,
    VolumePlan,
)
from agent.domain.net_negative import negative_days
from agent.domain.usage_series import UsageSeries, series_of


class _ItemDays:
    __slots__ = ("days", "cum_qty", "cum_amount", "rows")

    def __init__(self) -> None:
        self.days: list[date] = []
        self.cum_qty: list[float] = [0.0]
        self.cum_amount: list[float] = [0.0]
        self.rows: list[DailyUsage] = []


class InMemoryInputs:
    def __init__(self, products: Iterable[ProductYear], groups: Iterable[GenericGroup], links: Iterable[ItemLink],
                 usage: Iterable[DailyUsage], deadlines: DeadlineInputs | None = None,
                 receipts: Iterable[Receipt] = (), tz: tzinfo = DEFAULT_TZ) -> None:
        self._products = list(products)
        self._receipts = list(receipts)
        self._tz = tz
        self._groups = list(groups)
        self._links = list(links)
        self._deadlines = deadlines or DeadlineInputs()
        per_day: dict[str, dict[date, list[float]]] = {}
        self._items: dict[str, _ItemDays] = {}
        for row in usage:
            acc = per_day.setdefault(row.item_code, {}).setdefault(row.day, [0.0, 0.0])
            acc[0] += row.qty
            acc[1] += row.amount
            self._items.setdefault(row.item_code, _ItemDays()).rows.append(row)
        for code, days in per_day.items():
            it = self._items[code]
            for day in sorted(days):
                q, a = days[day]
                it.days.append(day)
                it.cum_qty.append(it.cum_qty[-1] + q)
                it.cum_amount.append(it.cum_amount[-1] + a)

    def product_years(self, day_from: date, day_to: date) -> list[ProductYear]:
        return [p for p in self._products if p.year_start <= day_to and p.year_end >= day_from]

    def groups(self) -> list[GenericGroup]:
        return list(self._groups)

    def item_links(self) -> list[ItemLink]:
        return list(self._links)

    def usage_totals(self, day_from: date, day_to: date) -> list[UsageTotal]:
        out = []
        for code, it in self._items.items():
            i, j = bisect_left(it.days, day_from), bisect_right(it.days, day_to)
            if j > i:
                out.append(UsageTotal(code, it.cum_qty[j] - it.cum_qty[i], it.cum_amount[j] - it.cum_amount[i]))
        return out

    def dept_usage(self, day_from: date, day_to: date, items: Iterable[str]) -> list[DailyUsage]:
        out = []
        for code in items:
            it = self._items.get(code)
            if it is not None:
                out += [r for r in it.rows if day_from <= r.day <= day_to]
        return out

    def usage_series(self, day_from: date, day_to: date, items: Iterable[str], departments: bool = True) -> UsageSeries:
        return series_of(self.dept_usage(day_from, day_to, items), day_from, day_to, departments)

    def negative_days(self, day_from: date, day_to: date, items: Iterable[str]) -> list[DailyUsage]:
        return negative_days(self.dept_usage(day_from, day_to, items))

    def accepted_totals(self, day_from: date, day_to: date) -> list[AcceptedTotal] | None:
        if not self._receipts:
            return None
        sums: dict[tuple[str, str | None, bool, float | None], AcceptedTotal] = {}
        for r in self._receipts:
            if r.deleted or r.accepted_at is None or not day_from <= r.accepted_at.astimezone(self._tz).date() <= day_to:
                continue
            factor = None if r.pack_factor is None else float(r.pack_factor)
            key = (r.item_code, r.unit, r.on_platform, factor)
            acc = sums.setdefault(key, AcceptedTotal(r.item_code, r.unit, r.on_platform, 0.0, 0, factor))
            acc.qty += float(r.quantity)
            acc.lines += 1
        return [sums[k] for k in sorted(sums, key=lambda k: (k[0], k[1] or "", k[2], k[3] or 0.0))]

    def purchase_mix(self, day_from: date, day_to: date) -> list[PurchaseMix]:
        """From the receipts, by amount (quantity x unit price); every item counts as a drug here."""
        on = total = 0.0
        for r in self._receipts:
            if r.deleted or r.accepted_at is None or not day_from <= r.accepted_at.astimezone(self._tz).date() <= day_to:
                continue
            amount = float(r.quantity * (r.unit_price or 0))
            total += amount
            on += amount if r.on_platform else 0.0
        return [PurchaseMix("drug", on, total)] if total > 0 else []

    def deadline_inputs(self, as_of: datetime) -> DeadlineInputs:
        return self._deadlines

    @classmethod
    def from_json(cls, path: Path | str) -> InMemoryInputs:
        """Load a fixture: {"product_years": [...], "groups": [...], "links": [...], "usage": [...],
        "deadlines": {...}, "receipts": [...]} with ISO dates and datetimes; a receipt is
        {"line_id", "item_code", "quantity", "unit", "accepted_at", "on_platform", "deleted"}."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(
            [ProductYear(**_dates(p, "year_start", "year_end")) for p in data.get("product_years", [])],
            [GenericGroup(**{**g, "winning_products": tuple(g.get("winning_products", ()))}) for g in data.get("groups", [])],
            [ItemLink(**lk) for lk in data.get("links", [])],
            [DailyUsage(**_dates(u, "day")) for u in data.get("usage", [])],
            _deadlines(data.get("deadlines", {})),
            receipts=[_receipt(r) for r in data.get("receipts", [])],
        )


def _dates(d: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: (date.fromisoformat(v) if k in keys and v else v) for k, v in d.items()}


def _times(d: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: (datetime.fromisoformat(v) if k in keys and v else v) for k, v in d.items()}


def _receipt(d: dict[str, Any]) -> Receipt:
    at = datetime.fromisoformat(d["accepted_at"])
    return Receipt(d["line_id"], at, d["item_code"], Decimal(str(d["quantity"])), d.get("unit"), None, None, None, at,
                   on_platform=d.get("on_platform", True), deleted=d.get("deleted", False),
                   pack_factor=None if d.get("pack_factor") is None else Decimal(str(d["pack_factor"])))


def _deadlines(d: dict[str, Any]) -> DeadlineInputs:
    return DeadlineInputs(
        acceptances=[Acceptance(**_times(x, "accepted_at", "confirmed_at")) for x in d.get("acceptances", [])],
        orders=[Order(**_times(x, "ordered_at", "responded_at", "delivered_at")) for x in d.get("orders", [])],
        payables=[Payable(**_times(x, "accepted_at", "paid_at")) for x in d.get("payables", [])],
        off_platform=[OffPlatformPurchase(**_dates(x, "purchased_on", "filed_on")) for x in d.get("off_platform", [])],
        purchase_mix=[PurchaseMix(**x) for x in d.get("purchase_mix", [])],
        volume_plans=[VolumePlan(**x) for x in d.get("volume_plans", [])],
    )
