"""The demo's duty clocks (#20): one problem of each kind planted, each printed once at the end.

Planted on top of the simulated hospital and the reference platform:
- an order (采购订单) the distributor leaves unanswered for 78 hours (48 h limit, escalation 24 h
  later), and one answered but delivered 31 hours after it was placed (24 h limit);
- a bill (结算单) checked by the hospital and never paid (due at the end of the next month);
- an off-platform purchase (线下采购) nobody files (备案, 7 working days): the pharmacy filed every
  other off-platform purchase of the simulated warehouse the day after it arrived;
- a receipt of a winning product at 20% above its winning price (中选价格);
- a volume declaration (报量) at half of last year's agreed volume, without a written reason.
Everything else the platform lists (a dozen orders, two bills) is on time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from adapters.sim.sqlite_hospital import PlantedReceipt
from agent.clock import DEFAULT_TZ
from agent.domain.deadlines import CLOCK_NAMES

LATE_RESPONSE = "DDRESP0001"  # unanswered for 78 h
LATE_DELIVERY = "DDLATE0001"  # delivered after 31 h
UNPAID_BILL = "JS202608001"
PRICE_ITEM, PRICE_FACTOR = "Y00015", Decimal("1.2")  # 厄贝沙坦片 (winning), bought 20% above its winning price
OFF_ITEM = "Y00011"  # 恩替卡韦片 (winning), bought off the platform and never filed
DECLARED_ITEM, DECLARED_SHARE = "Y00003", Decimal("0.5")  # 苯磺酸氨氯地平片: declared at half of last year's
DISTRIBUTORS = (("PS01", "国药控股股份有限公司"), ("PS02", "华东医药配送有限公司"))


def _at(start: date, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(start + timedelta(days=day), time(hour, minute), DEFAULT_TZ)


def planted_receipts(start: date) -> list[PlantedReceipt]:
    """The over-priced receipt (on the platform) and the unfiled off-platform one."""
    from adapters.sim.catalogue import catalogue

    price = next(i.price for i in catalogue() if i.code == PRICE_ITEM)
    return [PlantedReceipt(PRICE_ITEM, Decimal(30), _at(start, 70, 10), delivery_id="SHPPRICE0001", order_id="DDPRICE0001",
                           distributor="某医药商贸有限公司", unit_price=(price * PRICE_FACTOR).quantize(Decimal("0.01"))),
            PlantedReceipt(OFF_ITEM, Decimal(20), _at(start, 72, 10), on_platform=False, distributor="某大药房")]


@dataclass
class PlatformEvents:
    """What happens on the platform over the demo's days, each seeded when the clock reaches it."""

    events: list[tuple[datetime, Callable[[], None]]] = field(default_factory=list)

    def run_until(self, until: datetime) -> None:
        due = [e for e in self.events if e[0] < until]
        self.events = [e for e in self.events if e[0] >= until]
        for _when, fn in sorted(due, key=lambda e: e[0]):
            fn()


def platform_events(platform: Any, hospital: str, start: date) -> PlatformEvents:
    ev = PlatformEvents()

    def order(oid: str, item: str, qty: int, at: datetime, dist: tuple[str, str], answer_h: float | None,
              deliver_h: float | None) -> None:
        common = dict(distributor=dist[0], distributor_name=dist[1], prodName=item)
        ev.events.append((at, lambda: platform.seed_order(hospital, oid, item, qty, at, **common)))
        if answer_h is not None:
            answered = at + timedelta(hours=answer_h)
            ev.events.append((answered, lambda: platform.seed_order(hospital, oid, item, qty, at, responded_at=answered,
                                                                    **common)))
        if deliver_h is not None:
            delivered = at + timedelta(hours=deliver_h)
            answered_by = at + timedelta(hours=answer_h if answer_h is not None else deliver_h)
            ev.events.append((delivered, lambda: platform.seed_order(
                hospital, oid, item, qty, at, responded_at=answered_by, delivered_quantity=qty, delivered_at=delivered,
                **common)))

    for n, day in enumerate(range(5, 90, 7)):  # a dozen orders answered in 2 h and delivered in 20 h
        order(f"DD2026{n:06d}", "阿托伐他汀钙片", 50, _at(start, day, 9), DISTRIBUTORS[n % 2], 2, 20)
    order(LATE_RESPONSE, "瑞舒伐他汀钙片", 40, _at(start, 76, 9), DISTRIBUTORS[1], None, 78)
    order(LATE_DELIVERY, "盐酸二甲双胍片", 60, _at(start, 78, 9), DISTRIBUTORS[0], 3, 31)

    def bill(bid: str, amount: str, accepted: datetime, checked: datetime, paid: datetime | None) -> None:
        ev.events.append((accepted, lambda: platform.seed_bill(hospital, bid, amount, accepted, distributor=DISTRIBUTORS[0][0],
                                                               distributor_name=DISTRIBUTORS[0][1])))
        ev.events.append((checked, lambda: platform.seed_bill(hospital, bid, amount, accepted, issued_at=accepted,
                                                              distributor=DISTRIBUTORS[0][0],
                                                              distributor_name=DISTRIBUTORS[0][1], checked_at=checked)))
        if paid is not None:
            ev.events.append((paid, lambda: platform.seed_bill(hospital, bid, amount, accepted, issued_at=accepted,
                                                               distributor=DISTRIBUTORS[0][0],
                                                               distributor_name=DISTRIBUTORS[0][1], checked_at=checked,
                                                               paid_at=paid)))

    bill(UNPAID_BILL, "18642.50", _at(start, 10, 16), _at(start, 12, 10), None)
    bill("JS202609001", "21377.80", _at(start, 35, 16), _at(start, 37, 10), _at(start, 60, 15))
    bill("JS202610001", "9930.00", _at(start, 66, 16), _at(start, 68, 10), _at(start, 85, 15))
    return ev


def file_off_platform(store: Any, hospital: Any, start: date, now: datetime) -> int:
    """The pharmacy files (备案) each off-platform purchase of the simulated warehouse the day after it
    arrives, except the planted one; recorded up front (a filing is kept by receipt line id)."""
    from agent.store import ledgers

    planted = _at(start, 72, 10)
    filed = 0
    with store.begin() as conn:
        for r in hospital.receipt_views(DEFAULT_TZ):
            if r.on_platform or (r.item_code == OFF_ITEM and r.accepted_at == planted):
                continue
            ledgers.record_filing(conn, store.hospital_code, r.line_id, reference=f"BA{r.line_id}", filed_by="药学部",
                                  filed_at=r.accepted_at + timedelta(days=1), emergency=False, now=now)
            filed += 1
    return filed


def declaration_sheet(path: Path, hospital: Any, volumes: Path) -> Path:
    """The 报量表 the pharmacy sends: one product, at half of its agreed volume (``volumes``, the
    bureau's sheet), no reason."""
    from openpyxl import load_workbook

    item = next(i for i in hospital.items if i.code == DECLARED_ITEM)
    rows = load_workbook(volumes, read_only=True).active.iter_rows(values_only=True)
    agreed = {DECLARED_ITEM: next(r[5] for r in rows if r[4] == item.national_code)}
    wb = Workbook()
    ws = wb.active
    ws.title = "报量表"
    ws.append(["医疗机构报量表"])
    ws.append(["序号", "通用名", "规格", "生产企业", "医保代码", "报量（最小制剂单位）", "低于说明"])
    ws.append([1, item.generic_name, item.spec, item.manufacturer, item.national_code,
               int(Decimal(agreed[DECLARED_ITEM]) * DECLARED_SHARE), None])
    wb.save(path)
    return path


def clock_lines(store: Any, tz: Any) -> list[str]:
    """Every clock finding of the run, once each (active or resolved), in the order of the clocks."""
    from agent.store.findings import findings_between

    with store.read() as conn:
        found = findings_between(conn, store.hospital_code, CLOCK_NAMES, datetime(2000, 1, 1, tzinfo=tz),
                                 datetime(2100, 1, 1, tzinfo=tz))
        active = {(r["rule"], r["subject"]) for r in _active(conn, store.hospital_code)}
    order = list(CLOCK_NAMES)
    lines = []
    for f in sorted(found, key=lambda f: (order.index(f.rule), f.subject)):
        state = "未解决" if (f.rule, f.subject) in active else "已解决"
        lines.append(f"  [{CLOCK_NAMES[f.rule]}] {f.title}  （{state}）")
    return lines


def _active(conn: Any, hospital: str) -> list[dict[str, Any]]:
    from agent.store.platform import active_findings

    return active_findings(conn, hospital, "")
