"""Price findings from warehouse receipt lines: a winning product bought above its winning price
(per HIS unit, through the item's 对码 factor) names the supplier and the lines, and is resolved
when the warehouse corrects the price; a HIS sale price above the purchase price breaks 零差率."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from platform_support import HOSPITAL, TZ
from sqlalchemy import select

from agent.calendar import WorkCalendar
from agent.clock import FakeClock
from agent.domain.model import Receipt
from agent.jobs.evaluate import evaluate
from agent.store import open_store
from agent.store.mappings import insert_mapping
from agent.store.monitoring_inputs import StoreInputs
from agent.store.receipts import store_lines
from agent.store.schema.catalogue import winning_products
from agent.store.schema.core import findings
from agent.store.schema.ingest import local_items

CAL = WorkCalendar(assume_weekends_for=[2026])
AT = datetime(2026, 11, 2, 10, 30, tzinfo=TZ)


def test_a_receipt_above_the_winning_price_is_a_finding_until_the_price_is_corrected(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}", HOSPITAL)
    # 阿托伐他汀钙片 20mg x 7片/盒, winning price 12.46 元/盒; the HIS sells and the warehouse buys by the box
    over = Receipt(line_id="RK-0915", changed_at=AT, item_code="YP0301", quantity=Decimal(40), unit="盒", lot="L1",
                   expiry=None, distributor="某医药商行", accepted_at=AT, unit_price=Decimal("13.80"), on_platform=False)
    fair = replace(over, line_id="RK-0916", distributor="国药控股", unit_price=Decimal("12.46"), on_platform=True)
    with store.begin() as conn:
        conn.execute(winning_products.insert().values(
            hospital_code=HOSPITAL, programme="第十批", product_key="P-ATV", kind="drug", generic_name="阿托伐他汀钙片",
            pack=Decimal(7), manufacturer="某药业", price=Decimal("12.46"), group_key="G-ATV", updated_at=AT))
        insert_mapping(conn, HOSPITAL, "YP0301", {"item_name": "阿托伐他汀钙片(20mg*7)", "item": {}, "status": "manual",
                                                  "group_key": "G-ATV", "product_key": "P-ATV", "factor": Decimal(7),
                                                  "confidence": 1.0, "reason": "test", "candidates": [], "updated_at": AT})
        conn.execute(local_items.insert().values(hospital_code=HOSPITAL, source="his", code="YP0301", name="阿托伐他汀钙片",
                                                 his_unit="盒", price=Decimal("12.46"), kind="drug", read_at=AT))
        store_lines(conn, HOSPITAL, "warehouse", [over, fair], AT)
    clock = FakeClock(AT + timedelta(hours=2), TZ)
    evaluate(store, StoreInputs(store, [], TZ), CAL, clock)
    with store.read() as conn:
        rows = conn.execute(select(findings).where(findings.c.active == 1, findings.c.rule.like("%price%"))).mappings().all()
    [found] = rows
    assert found["subject"] == "YP0301:某医药商行" and found["evidence"]["lines"] == ["RK-0915"]
    assert "线下供应高于挂网价" in found["title"] and "13.8" in found["title"] and "12.46" in found["title"]

    with store.begin() as conn:  # the warehouse corrects the line's price
        store_lines(conn, HOSPITAL, "warehouse", [replace(over, unit_price=Decimal("12.46"), changed_at=AT + timedelta(hours=3))],
                    AT + timedelta(hours=3))
    clock.set(AT + timedelta(hours=4))
    evaluate(store, StoreInputs(store, [], TZ), CAL, clock)
    with store.read() as conn:
        assert conn.execute(select(findings.c.subject).where(findings.c.active == 1,
                                                             findings.c.rule == "price_above_winning")).all() == []
    store.close()


def test_an_off_platform_receipt_above_the_platform_s_listed_price_names_the_supplier(tmp_path: Path, ref) -> None:
    from platform_support import make_client

    from agent.upstream.ledgers import sync_ledgers

    store = open_store(f"sqlite:///{tmp_path / 'state.db'}", HOSPITAL)
    # 立普妥 (non-winning) is listed on the platform at 47.60 元/盒; a 商行 sells it off the platform at 52.00
    ref.seed_order(HOSPITAL, "OD-LPT", "XC10AAA052A001010100002", 10, AT - timedelta(days=20), listed_price="47.60",
                   responded_at=AT - timedelta(days=20))
    sync_ledgers(store, make_client(ref, "rest_json"), AT, lookback_s=0)
    line = Receipt(line_id="RK-1201", changed_at=AT, item_code="YP0302", quantity=Decimal(5), unit="盒", lot="L2", expiry=None,
                   distributor="某医药商行", accepted_at=AT, unit_price=Decimal("52.00"), on_platform=False)
    with store.begin() as conn:
        conn.execute(local_items.insert().values(hospital_code=HOSPITAL, source="his", code="YP0302", name="阿托伐他汀钙片(立普妥)",
                                                 his_unit="盒", national_code="XC10AAA052A001010100002", kind="drug", read_at=AT))
        store_lines(conn, HOSPITAL, "warehouse", [line, replace(line, line_id="RK-1202", unit_price=Decimal("47.60"))], AT)
    evaluate(store, StoreInputs(store, [], TZ), CAL, FakeClock(AT + timedelta(hours=1), TZ))
    with store.read() as conn:
        [found] = conn.execute(select(findings).where(findings.c.active == 1, findings.c.rule == "price_above_winning")).mappings().all()
    assert found["subject"] == "YP0302:某医药商行" and found["evidence"]["lines"] == ["RK-1201"]
    assert "线下供应高于挂网价：52 元，挂网价 47.6 元" in found["title"]
    assert found["evidence"]["clue_type"] == "高于挂网价线下供应"
    store.close()
