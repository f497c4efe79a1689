"""A small hospital whose report figures were computed by hand (see the comments).

Programme 第九批国家集采, agreement year 2028-01-01..2028-12-31 (a leap year, 366 days):
  A1 atorvastatin, HIS unit a box of 7 tablets (factor 7), agreed 36600 tablets:
     2028-01-10 300 boxes (3000 yuan), 2028-02-29 100 boxes (1000 yuan) -> 2800 tablets, behind
  A2 amlodipine, agreed 1000: 2028-01-05 1200; 2028-02-03 issues 50, returns 80 -> 1170, over
  A3 metformin, agreed 500, no usage -> zero
  A5 entecavir, agreed 3660: 2028-02-15 700 -> normal (600 due by time progress)
  Non-winning: N1 (atorvastatin rival, 5 yuan a tablet): Jan 30, Feb 70; N2 unused;
               N3 (amlodipine rival, 2 yuan): Feb 10.
Programme 省际联盟, agreement years 2026-07-01..2027-06-30 (agreed 1000) and, renewed,
2027-07-01..2028-06-30 (agreed 1200, 366 days):
  B1: 2027-06-30 500 (first year), 2027-07-01 400 and 2028-02-01 410 (renewed year) -> 810
Warehouse receipts (入库明细, times in UTC, the hospital is in Asia/Shanghai), completion by acceptance
as of 2028-02-29:
  A1 (I1, HIS unit 盒 of 7, smallest 片): 2028-01-01 01:00 local 10盒 (70), 2028-01-15 300盒 (2100),
     2028-02-10 10盒 (70; 5盒 the same day off the platform and 99盒 deleted do not count),
     2028-02-20 140片 (140), 2028-02-21 3瓶 (a unit the item does not know: left out, 1 line),
     2028-03-01 00:30 local 50盒 (after the month) -> 2380 of 36600
  A2 (I2, HIS unit 片, spec 5mg*28片/盒): 2028-01-03 40盒 -> 1120 of 1000
  A5 (I5): 2028-02-01 7盒 off the platform only -> 0 of 3660 (received, nothing accepted on it)
  A3, B1: no receipts -> no completion by acceptance; N1's 100片 are not a winning product's
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from agent.domain.model import Receipt
from agent.domain.monitoring_model import DailyUsage, GenericGroup, ItemLink, ProductYear
from agent.jobs.memory_inputs import InMemoryInputs

NINTH, ALLIANCE = "第九批国家集采", "省际联盟"
Y2028 = (date(2028, 1, 1), date(2028, 12, 31))


class Weekends:
    """A calendar with Saturdays and Sundays off and nothing else."""

    def is_workday(self, day: date) -> bool:
        return day.weekday() < 5


def products() -> list[ProductYear]:
    return [
        ProductYear("A1", "G1", "阿托伐他汀钙片", NINTH, *Y2028, 36600, 10 / 7, "20mg", "甲药业"),
        ProductYear("A2", "G2", "苯磺酸氨氯地平片", NINTH, *Y2028, 1000, 0.1, "5mg", "乙药业"),
        ProductYear("A3", "G3", "二甲双胍片", NINTH, *Y2028, 500, 0.05, "0.5g", "丙药业"),
        ProductYear("A5", "G4", "恩替卡韦分散片", NINTH, *Y2028, 3660, 0.2, "0.5mg", "丁药业"),
        ProductYear("B1", "G5", "头孢呋辛酯片", ALLIANCE, date(2026, 7, 1), date(2027, 6, 30), 1000, 0.3),
        ProductYear("B1", "G5", "头孢呋辛酯片", ALLIANCE, date(2027, 7, 1), date(2028, 6, 30), 1200, 0.3),
    ]


def groups() -> list[GenericGroup]:
    return [
        GenericGroup("G1", "阿托伐他汀钙片", NINTH, ("A1",)),
        GenericGroup("G2", "苯磺酸氨氯地平片", NINTH, ("A2",)),
        GenericGroup("G3", "二甲双胍片", NINTH, ("A3",)),
        GenericGroup("G4", "恩替卡韦分散片", NINTH, ("A5",)),
        GenericGroup("G5", "头孢呋辛酯片", ALLIANCE, ("B1",)),
    ]


def links() -> list[ItemLink]:
    return [
        ItemLink("I1", "G1", "阿托伐他汀钙片 20mg*7片/盒", "A1", factor=7, his_unit="盒", spec="20mg*7片", smallest_unit="片"),
        ItemLink("I2", "G2", "苯磺酸氨氯地平片 5mg", "A2", his_unit="片", spec="5mg*28片/盒", smallest_unit="片"),
        ItemLink("I3", "G3", "二甲双胍片 0.5g", "A3"),
        ItemLink("I5", "G4", "恩替卡韦分散片", "A5", his_unit="片"),
        ItemLink("IB1", "G5", "头孢呋辛酯片", "B1"),
        ItemLink("N1", "G1", "立普妥 阿托伐他汀钙片", price=5.0),
        ItemLink("N2", "G1", "阿乐 阿托伐他汀钙片", price=3.0),
        ItemLink("N3", "G2", "络活喜 苯磺酸氨氯地平片", price=2.0),
    ]


def usage() -> list[DailyUsage]:
    d = date
    return [
        DailyUsage(d(2028, 1, 10), "I1", 300, 3000, "心内科"),
        DailyUsage(d(2028, 2, 29), "I1", 100, 1000, "心内科"),
        DailyUsage(d(2028, 1, 5), "I2", 1200, 120, "心内科"),
        DailyUsage(d(2028, 2, 3), "I2", 50, 5, "心内科", lines=4),
        DailyUsage(d(2028, 2, 3), "I2", -80, -8, "老年病科", lines=2),
        DailyUsage(d(2028, 2, 15), "I5", 700, 140, "感染科"),
        DailyUsage(d(2027, 6, 30), "IB1", 500, 150, "呼吸科"),
        DailyUsage(d(2027, 7, 1), "IB1", 400, 120, "呼吸科"),
        DailyUsage(d(2028, 2, 1), "IB1", 410, 123, "呼吸科"),
        DailyUsage(d(2028, 1, 20), "N1", 30, 150, "心内科"),
        DailyUsage(d(2028, 2, 20), "N1", 70, 350, "心内科"),
        DailyUsage(d(2028, 2, 21), "N3", 10, 20, "心内科"),
    ]


def receipts() -> list[Receipt]:
    def line(line_id: str, at: datetime, item: str, qty: int, unit: str | None, *, price: int | None = None,
             online: bool = True, deleted: bool = False) -> Receipt:
        return Receipt(line_id, at, item, Decimal(qty), unit, None, None, "国药控股", at,
                       unit_price=None if price is None else Decimal(price), on_platform=online, deleted=deleted)

    feb10 = datetime(2028, 2, 10, 2, tzinfo=UTC)
    return [
        # February: 100 yuan on the platform, 50 off it, one deleted line (the purchase mix, 网采率)
        line("R1", feb10, "I1", 10, "盒", price=10),
        line("R2", feb10, "I1", 5, "盒", price=10, online=False),
        line("R3", feb10, "I1", 99, "盒", price=10, deleted=True),
        line("R4", datetime(2028, 1, 15, 2, tzinfo=UTC), "I1", 300, "盒"),
        line("R5", datetime(2028, 2, 20, 2, tzinfo=UTC), "I1", 140, "片"),
        line("R6", datetime(2028, 2, 21, 2, tzinfo=UTC), "I1", 3, "瓶"),
        line("R7", datetime(2027, 12, 31, 17, tzinfo=UTC), "I1", 10, "盒"),  # 2028-01-01 01:00 in the hospital
        line("R8", datetime(2028, 2, 29, 16, 30, tzinfo=UTC), "I1", 50, "盒"),  # 2028-03-01 00:30 in the hospital
        line("R9", datetime(2028, 1, 3, 2, tzinfo=UTC), "I2", 40, "盒"),
        line("R10", datetime(2028, 2, 1, 2, tzinfo=UTC), "I5", 7, "盒", online=False),
        line("R11", datetime(2028, 2, 1, 2, tzinfo=UTC), "N1", 100, "片"),
    ]


def inputs() -> InMemoryInputs:
    return InMemoryInputs(products(), groups(), links(), usage(), receipts=receipts())
