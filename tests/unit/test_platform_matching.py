"""Matching receipts to delivery lines: by id, by product + lot + quantity + date, or not at all."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from agent.domain.model import Receipt
from agent.upstream.matching import DeliveryLine, match_receipt, score

AT = datetime(2026, 11, 24, 10, 0).astimezone()


def rc(qty: str = "10", lot: str | None = "L1", item: str = "Y1", delivery_id: str | None = None) -> Receipt:
    return Receipt("R1", AT, item, Decimal(qty), None, lot, None, None, AT, delivery_id=delivery_id)


def ln(did: str, qty: str = "10", lot: str | None = "L1", product: str = "Y1", days_before: float = 0.5) -> DeliveryLine:
    return DeliveryLine(did, product, Decimal(qty), lot, AT - timedelta(days=days_before))


def test_a_recorded_delivery_id_matches_with_full_confidence() -> None:
    m = match_receipt(rc(delivery_id="S9"), [], {}, 0.7, {"S9": ln("S9")})
    assert (m.delivery_id, m.method, m.confidence) == ("S9", "delivery_id", 1.0)


def test_a_recorded_delivery_id_not_synced_yet_waits_instead_of_guessing() -> None:
    m = match_receipt(rc(delivery_id="S9"), [ln("S1")], {}, 0.7, {})
    assert not m.matched and "not synced" in m.reason


def test_same_product_lot_quantity_and_date_match_with_top_confidence() -> None:
    m = match_receipt(rc(), [ln("S1"), ln("S2", lot="L2")], {}, 0.7)
    assert (m.delivery_id, m.method, m.confidence) == ("S1", "fuzzy", 1.0)


def test_a_short_delivery_still_matches_its_line() -> None:
    m = match_receipt(rc(qty="6"), [ln("S1", qty="10")], {}, 0.7)
    assert m.delivery_id == "S1" and 0.7 <= m.confidence < 1.0


def test_a_different_lot_or_a_larger_quantity_never_reaches_the_threshold() -> None:
    assert score(rc(), ln("S1", lot="OTHER"), {"Y1"}) < 0.7
    assert score(rc(qty="12"), ln("S1", qty="10"), {"Y1"}) < 0.7


def test_two_lines_that_fit_equally_well_are_left_to_staff_with_both_candidates() -> None:
    m = match_receipt(rc(lot=None), [ln("S1", lot=None), ln("S2", lot=None)], {}, 0.7)
    assert not m.matched and {c[0] for c in m.candidates} == {"S1", "S2"}


def test_the_item_map_links_a_local_code_to_the_platform_product() -> None:
    assert match_receipt(rc(item="LOCAL-7"), [ln("S1", product="XA10BAE054A001")], {}, 0.7).delivery_id is None
    m = match_receipt(rc(item="LOCAL-7"), [ln("S1", product="XA10BAE054A001")], {"LOCAL-7": "XA10BAE054A001"}, 0.7)
    assert m.delivery_id == "S1"


def test_a_line_shipped_after_the_acceptance_loses_the_date_points() -> None:
    assert score(rc(), ln("S1", days_before=-1), {"Y1"}) < score(rc(), ln("S1"), {"Y1"})
