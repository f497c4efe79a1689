"""The simulated warehouse, when asked to, restocks what was used (the demo's two completion
measures stay close); by default its receipts stay random, as the ingestion tests expect."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from adapters.sim.hospital import Hospital, Plan

START, DAYS = date(2026, 4, 6), 70


def _used_and_received(h: Hospital, until: date) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    used: dict[str, Decimal] = defaultdict(Decimal)
    for (_day, code, _dept, _setting), (qty, _lines) in h.expected_usage(START, until).items():
        used[code] += qty
    received: dict[str, Decimal] = defaultdict(Decimal)
    for line in h.receipts:
        received[line[3]] += line[4]
    return used, received


def test_replenished_receipts_follow_what_was_used_a_few_days_behind() -> None:
    h = Hospital(5, START, DAYS, rows_per_day=150, replenish=True)
    used, received = _used_and_received(h, START + timedelta(days=DAYS - 1))
    for item in h.items:
        code = item.code  # all but the last ~10 days' use restocked, nothing more
        assert used[code] * Decimal("0.75") <= received[code] <= used[code], code
    assert {line[5] for line in h.receipts} == {i.his_unit for i in h.items if i.weight}  # each used item in its own (pack) unit


def test_replenished_drugs_are_mostly_bought_on_the_platform_and_consumables_always() -> None:
    h = Hospital(5, START, DAYS, rows_per_day=150, replenish=True)
    consumables = {i.code for i in h.items if i.consumable}
    off = [line for line in h.receipts if not line[16]]
    assert 0 < len(off) <= len(h.receipts) * 0.1
    assert not [line for line in off if line[3] in consumables]
    assert all(line[11] is None for line in off)  # no platform delivery behind an off-platform line
    amounts: dict[tuple[int, int, bool], Decimal] = defaultdict(Decimal)
    for line in h.receipts:  # 网采率 by amount, per month: never below the drugs' 90% floor
        amounts[(line[9].year, line[9].month, line[16])] += line[4] * line[8]
    for (year, month, online), total in amounts.items():
        if not online:
            assert total / (total + amounts[(year, month, True)]) <= Decimal("0.1")


def test_an_overstocked_item_is_received_well_ahead_of_its_use() -> None:
    h = Hospital(5, START, DAYS, rows_per_day=150, replenish=True, plan=Plan(overstock={"Y00013": 1.6}))
    used, received = _used_and_received(h, START + timedelta(days=DAYS - 1))
    assert received["Y00013"] > used["Y00013"] * Decimal("1.3")


def test_receipts_stay_random_by_default() -> None:
    a = Hospital(5, START, DAYS, rows_per_day=150)
    b = Hospital(5, START, DAYS, rows_per_day=150, replenish=False)
    assert a.receipts == b.receipts and a.dispenses == b.dispenses
    assert {line[4] for line in a.receipts} <= {Decimal(q) for q in (10, 20, 50, 100)}
    assert Hospital(5, START, DAYS, rows_per_day=150, replenish=True).dispenses == a.dispenses
