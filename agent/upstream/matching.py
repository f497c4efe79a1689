"""Matching a warehouse receipt (入库验收) to a platform delivery line (配送单明细). Pure functions.

By the platform's delivery id when the warehouse recorded it (confidence 1). Otherwise by
product, lot, quantity and date, each adding to a score in [0, 1]; the best line wins when it
reaches the threshold and no other line comes close. A different lot can never reach the
threshold; a quantity above the shipped one rules the line out. Anything else stays unmatched for staff.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from agent.domain.model import Receipt

W_PRODUCT = 0.30
W_LOT_SAME, W_LOT_UNKNOWN = 0.35, 0.10
W_QTY_SAME, W_QTY_SHORT = 0.25, 0.15
W_DATE_NEAR, W_DATE_WEEK = 0.10, 0.05
AMBIGUITY_GAP = 0.05


@dataclass(frozen=True)
class DeliveryLine:
    delivery_id: str
    product_code: str
    quantity: Decimal
    lot: str | None = None
    shipped_at: datetime | None = None


@dataclass(frozen=True)
class Match:
    delivery_id: str | None
    method: str | None  # delivery_id | fuzzy | None
    confidence: float
    reason: str
    candidates: list[tuple[str, float]] = field(default_factory=list)

    @property
    def matched(self) -> bool:
        return self.delivery_id is not None


def products_of(item_code: str, item_map: Mapping[str, str]) -> set[str]:
    """The platform product codes a local item may appear under."""
    return {item_code, item_map[item_code]} if item_code in item_map else {item_code}


def score(receipt: Receipt, line: DeliveryLine, products: set[str]) -> float:
    if line.product_code not in products or receipt.quantity > line.quantity:
        return 0.0  # another product, or more accepted than shipped: the platform would refuse it
    total = W_PRODUCT
    if receipt.lot and line.lot:
        total += W_LOT_SAME if receipt.lot.strip() == line.lot.strip() else 0.0
    else:
        total += W_LOT_UNKNOWN
    if receipt.quantity == line.quantity:
        total += W_QTY_SAME
    elif receipt.quantity < line.quantity:
        total += W_QTY_SHORT  # a short delivery (部分到货) confirms what was accepted
    if line.shipped_at is not None and receipt.accepted_at is not None:
        lag = receipt.accepted_at - line.shipped_at
        if timedelta(0) <= lag <= timedelta(days=3):
            total += W_DATE_NEAR
        elif timedelta(0) <= lag <= timedelta(days=7):
            total += W_DATE_WEEK
    return round(total, 4)


def match_receipt(receipt: Receipt, open_lines: Iterable[DeliveryLine], item_map: Mapping[str, str],
                  min_confidence: float, known: Mapping[str, DeliveryLine] | None = None) -> Match:
    """The delivery line for ``receipt`` among ``open_lines`` (lines not matched yet).

    ``known`` holds every synced line by id, for the delivery-id path.
    """
    if receipt.delivery_id:
        line = (known or {}).get(receipt.delivery_id)
        if line is None:
            return Match(None, None, 0.0, "delivery id not synced from the platform yet")
        if receipt.quantity > line.quantity:
            return Match(None, "delivery_id", 0.0, "accepted quantity above the shipped quantity",
                         [(line.delivery_id, 0.0)])
        return Match(line.delivery_id, "delivery_id", 1.0, "delivery id recorded by the warehouse")
    products = products_of(receipt.item_code, item_map)
    ranked = sorted(
        ((score(receipt, line, products), line.delivery_id) for line in open_lines if line.product_code in products),
        key=lambda p: (-p[0], p[1]),
    )
    candidates = [(d, s) for s, d in ranked[:5]]
    if not ranked:
        return Match(None, None, 0.0, "no open delivery line for this product")
    best, best_id = ranked[0]
    if best < min_confidence:
        return Match(None, None, best, "no delivery line close enough", candidates)
    if len(ranked) > 1 and best - ranked[1][0] < AMBIGUITY_GAP:
        return Match(None, None, best, "several delivery lines fit equally well", candidates)
    return Match(best_id, "fuzzy", best, "product, lot, quantity and date", candidates)
