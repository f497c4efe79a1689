"""Completion by acceptance (按验收) beside completion by usage (按使用): the figures computed by
hand in monitor_fixture, the units a receipt line may come in, and the drift finding."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from agent.alerts.render import facts
from agent.clock import FakeClock
from agent.domain.acceptance import receipt_factor
from agent.domain.alerting import Alert
from agent.domain.findings import Severity
from agent.domain.monitoring_model import ItemLink
from agent.domain.progress import ProgressRules, product_progress
from agent.domain.reporting import RULE_DRIFT, drift_findings
from agent.domain.validate import receipt_problem
from agent.jobs.evaluate import RULES, evaluate
from agent.jobs.figures import progress_of
from agent.jobs.memory_inputs import InMemoryInputs
from agent.monitoring_config import MonitoringConfig
from agent.store import open_store
from agent.store.schema.core import findings
from tests.unit import monitor_fixture as fx

FEB29 = date(2028, 2, 29)
NOW = datetime(2028, 2, 29, 10, 0)


def _progress(inputs=None) -> dict[str, object]:  # type: ignore[no-untyped-def]
    inputs = inputs or fx.inputs()
    return {p.product.product_id: p for p in progress_of(inputs, inputs.product_years(FEB29, FEB29), FEB29,
                                                         ProgressRules(), fx.Weekends())}


def test_accepted_quantities_are_converted_to_smallest_units_as_computed_by_hand() -> None:
    progress = _progress()
    a1 = progress["A1"]
    # 10盒 on New Year's night, 300盒, 10盒 (not the off-platform 5 nor the deleted 99), 140片
    assert a1.accepted == pytest.approx(70 + 2100 + 70 + 140)
    assert a1.accepted_completion == pytest.approx(2380 / 36600)
    assert a1.accepted_unconvertible == 1  # the 3瓶: left out, never guessed
    assert a1.completion == pytest.approx(2800 / 36600)  # usage is unchanged beside it
    a2 = progress["A2"]
    assert a2.accepted == pytest.approx(40 * 28)  # 盒 of a HIS item counted in 片: its spec names the 28片/盒
    assert a2.accepted_completion == pytest.approx(1.12)


def test_a_product_received_only_off_the_platform_has_accepted_nothing() -> None:
    a5 = _progress()["A5"]
    assert a5.accepted == 0 and a5.accepted_completion == 0.0


def test_no_completion_by_acceptance_without_receipts_for_the_products_items() -> None:
    progress = _progress()
    assert progress["A3"].accepted_completion is None and progress["B1"].accepted_completion is None
    no_warehouse = _progress(InMemoryInputs(fx.products(), fx.groups(), fx.links(), fx.usage()))
    assert all(p.accepted_completion is None and p.accepted == 0 for p in no_warehouse.values())


def test_a_product_whose_every_line_is_in_an_unknown_unit_gets_no_figure() -> None:
    only_bottles = [r for r in fx.receipts() if r.line_id == "R6"]
    inputs = InMemoryInputs(fx.products(), fx.groups(), fx.links(), fx.usage(), receipts=only_bottles)
    a1 = _progress(inputs)["A1"]
    assert a1.accepted_completion is None and a1.accepted_unconvertible == 1


@pytest.mark.parametrize(("unit", "factor"), [
    ("盒", 7.0),  # the HIS unit: the 对码 factor
    ("片", 1.0),  # the product's smallest unit
    ("瓶", None),  # a pack the item's spec does not name
    (None, None),  # no unit recorded
    ("", None),
])
def test_a_receipt_unit_converts_only_when_known_for_the_item(unit: str | None, factor: float | None) -> None:
    link = ItemLink("I1", "G1", "阿托伐他汀钙片", "A1", factor=7, his_unit="盒", spec="20mg*7片", smallest_unit="片")
    assert receipt_factor(unit, link) == factor


def test_a_pack_named_by_the_spec_converts_when_the_his_counts_tablets() -> None:
    link = ItemLink("I2", "G2", "氨氯地平片", "A2", factor=1, his_unit="片", spec="5mg×7片×4板/盒", smallest_unit="片")
    assert receipt_factor("盒", link) == 28 and receipt_factor("板", link) == 7
    unknown = dataclasses.replace(link, factor=None)
    assert receipt_factor("片", unknown) == 1.0  # the smallest unit needs no factor


def test_a_line_in_its_own_unit_converts_by_its_own_factor_first() -> None:
    """A warehouse recording each line in its own unit: the line's factor, else the item's (盒 = 7
    片), else the pack its spec names; a 瓶 without a factor stays out, never guessed."""
    base = [r for r in fx.receipts() if r.line_id in ("R1", "R6")]  # 10盒 and 3瓶 of I1
    own = [dataclasses.replace(base[0], line_id="L1", unit="瓶", pack_factor=Decimal(30)),  # 2瓶 of 30 片 each
           dataclasses.replace(base[0], line_id="L2", unit="盒", pack_factor=Decimal(14)),  # this 盒 says 14, not 7
           dataclasses.replace(base[0], line_id="L3", unit=None, pack_factor=Decimal(7))]
    own = [dataclasses.replace(own[0], quantity=Decimal(2)), *own[1:]]
    inputs = InMemoryInputs(fx.products(), fx.groups(), fx.links(), fx.usage(), receipts=base + own)
    a1 = _progress(inputs)["A1"]
    assert a1.accepted == pytest.approx(10 * 7 + 2 * 30 + 10 * 14 + 10 * 7)
    assert a1.accepted_unconvertible == 1  # R6's 3瓶


def test_a_line_factor_that_is_not_positive_is_quarantined() -> None:
    r = dataclasses.replace(fx.receipts()[0], pack_factor=Decimal(0))
    assert receipt_problem(r, NOW.replace(tzinfo=UTC)) == "impossible pack factor 0"


def _at(completion: float, accepted_completion: float | None, agreed: float = 1000):  # type: ignore[no-untyped-def]
    prod = dataclasses.replace(fx.products()[0], agreed_qty=agreed)
    p = product_progress(prod, FEB29, completion * agreed, 0, 0)
    if accepted_completion is None:
        return p
    return dataclasses.replace(p, accepted=accepted_completion * agreed, accepted_completion=accepted_completion)


def test_drift_is_flagged_when_acceptance_runs_ahead_of_usage() -> None:
    (f,) = drift_findings([_at(0.52, 0.85)], NOW)
    assert f.rule == RULE_DRIFT and f.severity is Severity.WARNING and f.subject == "A1@2028-01-01"
    assert f.title == "阿托伐他汀钙片：按验收完成进度 85.0%，按使用完成进度 52.0%，相差 33.0 个百分点（验收多于使用：库存积压？）"
    assert f.values["drift"] == pytest.approx(0.33)


def test_drift_is_flagged_when_usage_runs_ahead_of_acceptance() -> None:
    (f,) = drift_findings([_at(0.60, 0.35)], NOW)
    assert f.title.endswith("相差 25.0 个百分点（使用多于验收：是否使用了线下采购的库存？）")
    assert f.values["drift"] == pytest.approx(-0.25)


def test_no_drift_below_the_threshold_or_without_both_measures() -> None:
    assert drift_findings([_at(0.52, 0.71), _at(0.5, 0.31), _at(0.9, None)], NOW) == []
    assert len(drift_findings([_at(0.52, 0.71)], NOW, points=0.15)) == 1
    assert len(drift_findings([_at(0.5, 0.7)], NOW)) == 1  # exactly 20 points: flagged


def test_unconvertible_lines_are_named_in_the_drift_finding() -> None:
    p = dataclasses.replace(_at(0.6, 0.3), accepted_unconvertible=2)
    (f,) = drift_findings([p], NOW)
    assert f.title.endswith("另有 2 行入库单位无法换算未计入") and f.values["unconvertible_lines"] == 2


def test_drift_values_render_as_staff_read_them() -> None:
    (f,) = drift_findings([_at(0.52, 0.85)], NOW)
    alert = Alert(key=f.key, rule=f.rule, subject=f.subject, severity=f.severity.value, title=f.title, values=f.values)
    assert facts(alert) == "按验收完成进度 85.0%，完成进度 52.0%，已验收量 850，已用量 520"


def test_the_drift_finding_fires_in_the_evaluation_and_resolves_when_no_longer_seen(store_url: str) -> None:
    assert RULE_DRIFT in RULES
    store = open_store(store_url, "H001")
    clock = FakeClock(NOW)
    cfg = MonitoringConfig(drift_points=0.15)  # entecavir: 19.1% by usage, nothing accepted on the platform
    evaluate(store, fx.inputs(), fx.Weekends(), clock, cfg)
    key = (RULE_DRIFT, "A5@2028-01-01")
    with store.read() as conn:
        rows = {(r.rule, r.subject): r for r in conn.execute(select(findings).where(findings.c.rule == RULE_DRIFT))}
    assert set(rows) == {key} and rows[key].active == 1
    assert "使用多于验收" in rows[key].title

    # the platform purchase arrives: 700片 accepted, both measures agree again
    clock.advance(timedelta(hours=1))
    arrived = dataclasses.replace(fx.receipts()[9], line_id="R12", unit="片", quantity=700, on_platform=True)
    inputs = InMemoryInputs(fx.products(), fx.groups(), fx.links(), fx.usage(), receipts=[*fx.receipts(), arrived])
    evaluate(store, inputs, fx.Weekends(), clock, cfg)
    with store.read() as conn:
        active = conn.execute(select(findings.c.active).where(findings.c.rule == RULE_DRIFT,
                                                              findings.c.subject == key[1])).scalar()
    assert active == 0
    store.close()
