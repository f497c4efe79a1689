"""Deadline clocks: a warning at 80% of the time, a breach after it."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from agent.domain.deadlines import DeadlineRules, deadline_findings, distributor_records, end_of_next_month
from agent.domain.findings import Severity
from agent.domain.monitoring_model import (
    Acceptance,
    DeadlineInputs,
    OffPlatformPurchase,
    Order,
    Payable,
    PurchaseMix,
    VolumePlan,
)

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 9, 28, 10, 0, tzinfo=TZ)  # a Monday


class Cal:
    """Weekends off, 1-7 October off."""

    def is_workday(self, day: date) -> bool:
        return day.weekday() < 5 and not (day.month == 10 and day.day <= 7)


def at(inputs: DeadlineInputs, hours: float, rules: DeadlineRules = DeadlineRules()) -> dict[str, Severity]:
    return {f.rule: f.severity for f in deadline_findings(inputs, T0 + timedelta(hours=hours), Cal(), rules)}


def test_arrival_confirmation_warns_at_80_percent_and_breaches_after_24_hours() -> None:
    inp = DeadlineInputs(acceptances=[Acceptance("L1", "阿托伐他汀钙片", T0)])
    assert at(inp, 19) == {}
    assert at(inp, 19.5) == {"arrival_confirmation": Severity.WARNING}
    assert at(inp, 24.1) == {"arrival_confirmation": Severity.CRITICAL}
    done = DeadlineInputs(acceptances=[Acceptance("L1", "x", T0, confirmed_at=T0 + timedelta(hours=2))])
    assert at(done, 30) == {}


def test_a_breach_title_is_chinese_and_names_the_item() -> None:
    inp = DeadlineInputs(acceptances=[Acceptance("L1", "阿托伐他汀钙片", T0)])
    (f,) = deadline_findings(inp, T0 + timedelta(hours=25), Cal())
    assert f.title.startswith("阿托伐他汀钙片 到货确认已超时")
    assert f.subject == "L1" and f.values["breached"] is True


def test_delivery_allows_24_hours_in_the_main_urban_area_and_48_elsewhere() -> None:
    urban = Order("O1", "某配送", "x", T0, responded_at=T0)
    rural = Order("O2", "某配送", "x", T0, responded_at=T0, urban=False)
    assert at(DeadlineInputs(orders=[urban]), 30) == {"delivery": Severity.CRITICAL}
    assert at(DeadlineInputs(orders=[rural]), 30) == {}
    assert at(DeadlineInputs(orders=[rural]), 40) == {"delivery": Severity.WARNING}


def test_no_order_response_breaches_at_48_hours_and_escalates_24_hours_later() -> None:
    order = DeadlineInputs(orders=[Order("O1", "某配送", "x", T0)])

    def response(hours: float) -> dict[str, Severity]:
        return {r: s for r, s in at(order, hours).items() if r.startswith("order_response")}

    assert response(40) == {"order_response": Severity.WARNING}
    assert response(49) == {"order_response": Severity.CRITICAL}
    assert response(68) == {"order_response": Severity.CRITICAL, "order_response_escalation": Severity.WARNING}
    assert response(73)["order_response_escalation"] is Severity.CRITICAL


def test_a_delivery_answers_the_order_and_a_short_one_keeps_the_delivery_clock_open() -> None:
    delivered = Order("O1", "某配送", "x", T0, delivered_at=T0 + timedelta(hours=10), quantity=10, delivered_qty=10)
    short = Order("O2", "某配送", "x", T0, delivered_at=T0 + timedelta(hours=10), quantity=10, delivered_qty=6)
    assert at(DeadlineInputs(orders=[delivered]), 60) == {}
    assert at(DeadlineInputs(orders=[short]), 60) == {"delivery": Severity.CRITICAL}


def test_an_unanswered_order_past_48_hours_carries_the_draft_of_the_written_report() -> None:
    order = DeadlineInputs(orders=[Order("O7", "某配送公司", "阿托伐他汀钙片", T0, quantity=30)])
    [found] = [f for f in deadline_findings(order, T0 + timedelta(hours=50), Cal()) if f.rule == "order_response"]
    draft = found.evidence["written_report"]
    assert "某配送公司" in draft and "O7" in draft and f"{T0:%Y-%m-%d %H:%M}" in draft and "不响应采购订单" in draft


def test_a_remote_hospital_gets_48_hours_for_every_delivery() -> None:
    order = DeadlineInputs(orders=[Order("O1", "某配送", "x", T0, responded_at=T0)])
    assert at(order, 30) == {"delivery": Severity.CRITICAL}
    assert deadline_findings(order, T0 + timedelta(hours=30), Cal(), DeadlineRules(remote_area=True)) == []


def test_distributors_are_scored_on_unanswered_late_and_short_orders() -> None:
    orders = [Order("O1", "甲", "x", T0, responded_at=T0, delivered_at=T0 + timedelta(hours=30), quantity=5, delivered_qty=5),
              Order("O2", "甲", "x", T0, quantity=5),
              Order("O3", "乙", "x", T0, responded_at=T0, delivered_at=T0 + timedelta(hours=3), quantity=5, delivered_qty=2),
              Order("O4", "丙", "x", T0, responded_at=T0, delivered_at=T0 + timedelta(hours=3), quantity=5, delivered_qty=5)]
    got = {r.distributor: (r.orders, r.unanswered, r.late, r.short) for r in distributor_records(orders, T0 + timedelta(hours=60))}
    assert got == {"甲": (2, 1, 2, 0), "乙": (1, 0, 0, 1), "丙": (1, 0, 0, 0)}


def test_payment_is_due_at_the_end_of_the_month_after_acceptance_or_in_30_days() -> None:
    accepted = datetime(2026, 1, 31, 9, 0, tzinfo=TZ)
    assert end_of_next_month(accepted) == datetime(2026, 2, 28, 23, 59, 59, tzinfo=TZ)
    assert end_of_next_month(datetime(2026, 12, 5, tzinfo=TZ)) == datetime(2027, 1, 31, 23, 59, 59, tzinfo=TZ)
    bill = DeadlineInputs(payables=[Payable("B1", "甲公司", accepted, 1200.0)])
    now = datetime(2026, 3, 1, 8, 0, tzinfo=TZ)
    assert {f.rule for f in deadline_findings(bill, now, Cal())} == {"payment"}
    thirty = DeadlineRules(payment="30_days")  # due 2 March 09:00: not yet breached on 1 March
    (f,) = deadline_findings(bill, now, Cal(), thirty)
    assert f.severity is Severity.WARNING


def test_off_platform_purchases_are_filed_within_7_working_days() -> None:
    # bought Monday 28 Sep: working days 29, 30 Sep, 8, 9, 12, 13, 14 Oct -> due end of 14 Oct
    inp = DeadlineInputs(off_platform=[OffPlatformPurchase("X1", "急救耗材", date(2026, 9, 28))])
    due_day = datetime(2026, 10, 14, 23, 0, tzinfo=TZ)
    assert {f.rule: f.severity for f in deadline_findings(inp, due_day, Cal())} == {"off_platform_filing": Severity.WARNING}
    after = datetime(2026, 10, 15, 0, 30, tzinfo=TZ)
    assert deadline_findings(inp, after, Cal())[0].severity is Severity.CRITICAL
    filed = DeadlineInputs(off_platform=[OffPlatformPurchase("X1", "x", date(2026, 9, 28), filed_on=date(2026, 9, 30))])
    assert deadline_findings(filed, after, Cal()) == []


@pytest.mark.parametrize("kind,on,total,flagged", [
    ("drug", 89, 100, True), ("drug", 90, 100, False),
    ("high_value_consumable", 79, 100, True), ("high_value_consumable", 85, 100, False),
])
def test_online_rate_floors_are_90_percent_for_drugs_and_80_for_high_value_consumables(kind, on, total, flagged) -> None:
    found = deadline_findings(DeadlineInputs(purchase_mix=[PurchaseMix(kind, on, total)]), T0, Cal())
    assert bool(found) is flagged
    if flagged:
        assert "网采率" in found[0].title


def test_volume_plan_below_last_year_warns_and_below_80_percent_of_history_unexplained_is_critical() -> None:
    def one(plan: VolumePlan):
        return [(f.rule, f.severity) for f in deadline_findings(DeadlineInputs(volume_plans=[plan]), T0, Cal())]

    assert one(VolumePlan("P1", "x", 900, 1000, 1000)) == [("volume_plan", Severity.WARNING)]
    assert one(VolumePlan("P1", "x", 700, 600, 1000)) == [("volume_plan", Severity.CRITICAL)]
    assert one(VolumePlan("P1", "x", 700, 600, 1000, explained=True)) == []
    assert one(VolumePlan("P1", "x", 1000, 1000, 1100)) == []


def test_a_platform_bill_not_checked_in_time_is_a_finding_until_it_is_checked() -> None:
    issued = T0
    bill = Payable("B9", "甲公司", T0, 800.0, issued_at=issued, checkable=True)
    assert "bill_check" in at(DeadlineInputs(payables=[bill]), 24 * 5 + 1)
    checked = Payable("B9", "甲公司", T0, 800.0, issued_at=issued, checked_at=T0 + timedelta(days=1), checkable=True)
    assert "bill_check" not in at(DeadlineInputs(payables=[checked]), 24 * 5 + 1)


def test_a_winning_product_bought_above_its_winning_price_names_the_supplier_and_the_lines() -> None:
    from agent.domain.prices import PricedReceipt, price_findings

    lines = [PricedReceipt("RK1", "Y1", "阿托伐他汀钙片", "甲商行", False, 3.2, winning_price=2.9),
             PricedReceipt("RK2", "Y1", "阿托伐他汀钙片", "甲商行", True, 3.0, winning_price=2.9),
             PricedReceipt("RK3", "Y1", "阿托伐他汀钙片", "乙公司", True, 2.9, winning_price=2.9),
             PricedReceipt("RK4", "Y2", "非中选", "乙公司", True, 9.0, sale_price=9.0)]
    [found] = price_findings(lines, T0)
    assert found.subject == "Y1:甲商行" and found.evidence["lines"] == ["RK1", "RK2"]
    assert "线下供应高于挂网价" in found.title and found.evidence["clue_type"] == "高于挂网价线下供应"


def test_a_sale_price_above_the_purchase_price_breaks_zero_markup() -> None:
    from agent.domain.prices import PricedReceipt, price_findings

    [found] = price_findings([PricedReceipt("RK9", "Y3", "氨氯地平片", "丙", True, 10.0, sale_price=11.5)], T0)
    assert found.rule == "sale_markup" and "零差率" in found.title
