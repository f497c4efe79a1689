"""Load the hand-computed monitoring fixture into real catalogue and ingestion tables."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from agent.store import open_store
from agent.store.monitoring_inputs import StoreInputs
from agent.store.schema.catalogue import (
    agreed_volumes,
    agreement_years,
    generic_groups,
    item_mappings,
    programmes,
    winning_products,
)
from agent.store.schema.ingest import local_items, receipts, usage_daily
from tests.unit import monitor_fixture as fx

NOW = datetime(2028, 3, 1, tzinfo=UTC)


def store_inputs(tmp_path: Path, url: str | None = None, hospital: str = "H1") -> StoreInputs:
    store = open_store(url or f"sqlite:///{tmp_path / 'inputs.db'}", hospital)
    products, groups, links = fx.products(), fx.groups(), fx.links()
    with store.begin() as conn:
        years: dict[str, list[tuple]] = {}
        for p in products:
            years.setdefault(p.programme, [])
            if (p.year_start, p.year_end) not in years[p.programme]:
                years[p.programme].append((p.year_start, p.year_end))
        for prog, spans in years.items():
            spans.sort()
            conn.execute(programmes.insert().values(hospital_code=hospital, name=prog, kind="drug", level="national",
                                                    cycle_start=spans[0][0], cycle_end=spans[-1][1], extensions=[], updated_at=NOW))
            for n, (a, b) in enumerate(spans, 1):
                conn.execute(agreement_years.insert().values(hospital_code=hospital, programme=prog, number=n, start_day=a, end_day=b))
        group_of = {g.group_id: g for g in groups}
        smallest = {lk.product_id: lk.smallest_unit for lk in links if lk.product_id}
        seen = set()
        for p in products:
            if (p.programme, p.product_id) not in seen:
                seen.add((p.programme, p.product_id))
                conn.execute(winning_products.insert().values(
                    hospital_code=hospital, programme=p.programme, product_key=p.product_id, kind="drug", generic_name=p.name,
                    spec=p.spec, manufacturer=p.manufacturer, price=Decimal(str(p.price)), pack=None,
                    smallest_unit=smallest.get(p.product_id), group_key=p.group_id, updated_at=NOW))
            number = years[p.programme].index((p.year_start, p.year_end)) + 1
            conn.execute(agreed_volumes.insert().values(hospital_code=hospital, programme=p.programme, year=number,
                                                        product_key=p.product_id, quantity=Decimal(str(p.agreed_qty)), updated_at=NOW))
        for g in groups:
            conn.execute(generic_groups.insert().values(hospital_code=hospital, group_key=g.group_id, kind="drug",
                                                        generic_name=group_of[g.group_id].name, updated_at=NOW))
        for lk in links:
            conn.execute(item_mappings.insert().values(
                hospital_code=hospital, item_code=lk.item_code, item_name=lk.name, item={}, status="manual",
                product_key=lk.product_id, group_key=lk.group_id, confidence=1.0, reason="fixture", candidates=[],
                factor=None if lk.factor is None else Decimal(str(lk.factor)), updated_at=NOW))
            conn.execute(local_items.insert().values(
                hospital_code=hospital, source="his", code=lk.item_code, name=lk.name, kind="drug",
                his_unit=lk.his_unit, spec=lk.spec, price=Decimal(str(lk.price * (lk.factor or 1))), read_at=NOW))
        for u in fx.usage():
            conn.execute(usage_daily.insert().values(
                hospital_code=hospital, source="his", day=u.day, item_code=u.item_code, dept_code=u.dept, setting="outpatient",
                prescriber_code="", quantity=Decimal(str(u.qty)), amount=Decimal(str(u.amount)), lines=u.lines or 1,
                read_at=NOW))
            # a second source of another kind must not be counted
            conn.execute(usage_daily.insert().values(
                hospital_code=hospital, source="rx", day=u.day, item_code=u.item_code, dept_code=u.dept, setting="outpatient",
                prescriber_code="D1", quantity=Decimal(str(u.qty)), amount=Decimal(str(u.amount)), lines=1, read_at=NOW))
        for r in fx.receipts():
            conn.execute(receipts.insert().values(
                hospital_code=hospital, source="wh", line_id=r.line_id, changed_at=r.changed_at, item_code=r.item_code,
                quantity=r.quantity, unit=r.unit, unit_price=r.unit_price, accepted_at=r.accepted_at,
                on_platform=r.on_platform, deleted=r.deleted, content_hash=r.line_id, first_seen_at=r.changed_at,
                updated_at=r.changed_at))
    return StoreInputs(store, ["his"])
