"""A deterministic simulated hospital: dispensing (发药), returns (退药) and warehouse receipts (入库).

Receipts are random items and quantities by default, unrelated to usage; with ``replenish=True``
the warehouse restocks what was used instead (each item weekly, in its pack unit, a few days
behind, drugs mostly on the platform), so completion by acceptance follows completion by usage.

The same events can be written in the shape of each preset (``mssql_his``, ``oracle_his``,
``warehouse_std``) into PostgreSQL, MariaDB or SQLite, and the expected usage per day x item x
department x setting is computed from the events, so tests compare what a preset reads with the
truth. Patient columns are filled with canary values (``CANARY``) that must never reach the agent.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from zoneinfo import ZoneInfo

from adapters.sim.catalogue import SimItem, catalogue, departments

CANARY = "CANARY"
HOSPITAL_TZ = ZoneInfo("Asia/Shanghai")


def _local(t: datetime) -> datetime:
    """Source databases keep naive local time (an aware time is converted to Asia/Shanghai)."""
    return t.astimezone(HOSPITAL_TZ).replace(tzinfo=None) if t.tzinfo else t
EMERGENCY_DEPT = "0301"


@dataclass(frozen=True)
class PlantedReceipt:
    """A receipt line the demo wants to see, accepted at ``accepted_at`` (naive = hospital local time)."""

    item_code: str
    quantity: Decimal
    accepted_at: datetime
    delivery_id: str | None = None
    order_id: str | None = None
    on_platform: bool = True
    distributor: str = "国药控股股份有限公司"
    unit_price: Decimal | None = None  # None: the item's own price


@dataclass
class Plan:
    """What to plant: a rise of one (non-winning) item in one department from a day, an item no longer
    dispensed from a day, receipts, and
    (when the warehouse replenishes) items restocked at a multiple of their use (stock piling up)."""

    rise_item: str | None = None
    rise_dept: str | None = None
    rise_from: date | None = None
    rise_lines_per_day: int = 20
    stop_item: str | None = None  # an item nobody dispenses from ``stop_from`` on (its other draws unchanged)
    stop_from: date | None = None
    receipts: list[PlantedReceipt] = field(default_factory=list)
    overstock: dict[str, float] = field(default_factory=dict)  # item code -> restocked / used


# (id, day, time, item index, dept code, setting, qty, amount, patient no, doctor, return day or None)
Dispense = tuple[int, date, datetime, int, str, str, Decimal, Decimal, int, str, date | None]
# (detail id, bill id, bill no, item code, qty, unit, lot, expiry, price, accepted_at, modify_time,
#  delivery id, order id, supplier, delivery note, invoice, on platform, deleted)
ReceiptLine = tuple[int, int, str, str, Decimal, str, str, date, Decimal, datetime, datetime, str | None, str | None,
                    str, str, str, bool, bool]


@dataclass(frozen=True)
class ReceiptView:
    """A receipt line as the reference platform's seeding reads it."""

    line: ReceiptLine
    tz: tzinfo

    @property
    def line_id(self) -> str:
        return str(self.line[0])

    @property
    def item_code(self) -> str:
        return self.line[3]

    @property
    def quantity(self) -> Decimal:
        return self.line[4]

    @property
    def lot(self) -> str:
        return self.line[6]

    @property
    def accepted_at(self) -> datetime:
        return self.line[9].replace(tzinfo=self.tz)

    @property
    def delivery_id(self) -> str | None:
        return self.line[11]

    @property
    def on_platform(self) -> bool:
        return self.line[16]


def _workday(day: date) -> bool:
    """Working days of mainland China (调休 included); plain weekdays for a year the calendar lacks."""
    import chinese_calendar

    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


class Hospital:
    def __init__(self, seed: int, start: date, days: int, *, rows_per_day: int = 200, n_items: int | None = None,
                 n_depts: int | None = None, plan: Plan | None = None, receipt_bills_per_day: int = 2,
                 rest_day_factor: float = 1.0, replenish: bool = False) -> None:
        self.rng = random.Random(seed)
        self.start, self.days = start, days
        self.items: list[SimItem] = catalogue(n_items)
        self.depts = departments(n_depts)
        self.plan = plan or Plan()
        self.rest_day_factor = rest_day_factor  # clinics are quieter on weekends and holidays (休息日)
        self.dispenses: list[Dispense] = []
        self.receipts: list[ReceiptLine] = []
        self._generate(rows_per_day)
        if replenish:
            self._replenish_receipts()
        else:
            self._generate_receipts(receipt_bills_per_day)

    # -- events ----------------------------------------------------------------------------------
    def _generate(self, rows_per_day: int) -> None:
        rng, n = self.rng, 0
        weights = [i.weight for i in self.items]
        index = {i.code: k for k, i in enumerate(self.items)}
        dept_codes = [d for d, _ in self.depts]
        end = self.start + timedelta(days=self.days - 1)
        for d in range(self.days):
            day = self.start + timedelta(days=d)
            k = rows_per_day if _workday(day) else round(rows_per_day * self.rest_day_factor)
            picks = rng.choices(range(len(self.items)), weights, k=k)
            depts = rng.choices(dept_codes, k=k)
            extra = []
            p = self.plan
            if p.rise_item and p.rise_from and day >= p.rise_from and p.rise_item in index:
                extra = [(index[p.rise_item], p.rise_dept or dept_codes[0])] * p.rise_lines_per_day
            for item_ix, dept in [*zip(picks, depts, strict=True), *extra]:
                n += 1
                item = self.items[item_ix]
                setting = "emergency" if dept == EMERGENCY_DEPT else ("inpatient" if rng.random() < 0.3 else "outpatient")
                qty = Decimal(rng.choice((1, 1, 1, 2, 2, 3, 5)))
                at = datetime.combine(day, datetime.min.time()) + timedelta(seconds=rng.randint(7 * 3600, 21 * 3600))
                back = day + timedelta(days=rng.randint(0, 3)) if rng.random() < 0.03 else None
                if p.stop_item == item.code and p.stop_from and day >= p.stop_from:
                    continue  # drawn as ever, so every other dispensing stays what it was
                self.dispenses.append((n, day, at, item_ix, dept, setting, qty, qty * item.price, rng.randint(1, 99999),
                                       f"D{dept}{rng.randint(1, 6):02d}", back if back and back <= end else None))

    def _generate_receipts(self, bills_per_day: int) -> None:
        rng, line, bill = self.rng, 0, 0
        stocked = [i for i in self.items if i.weight > 0]  # what the pharmacy uses is what it buys
        for d in range(self.days):
            day = self.start + timedelta(days=d)
            for _ in range(bills_per_day):
                bill += 1
                accepted = datetime.combine(day, datetime.min.time()) + timedelta(seconds=rng.randint(9 * 3600, 17 * 3600))
                lines = [(rng.choice(stocked), Decimal(rng.choice((10, 20, 50, 100))), None, None, True)
                         for _ in range(rng.randint(1, 4))]
                for item, qty, dl, order, online in lines:
                    line += 1
                    self.receipts.append(self._receipt(line, bill, item.code, qty, item.his_unit, item.price, accepted,
                                                       dl or f"PS{bill:08d}{line % 100:02d}", order or f"DD{bill:08d}",
                                                       "国药控股股份有限公司", online))
        self._planted_receipts(line, bill)

    def _replenish_receipts(self, lag_days: int = 3, every_days: int = 7, off_platform: float = 0.05) -> None:
        """Each item is restocked every ``every_days`` (items staggered over the week) with what was
        used, net of returns, since its last restock up to ``lag_days`` before; in the item's HIS
        unit (盒 in the simulated dictionary), times its ``plan.overstock`` multiple; with probability
        ``off_platform`` a tenth of a drug's restock is bought off the platform (线下采购)."""
        rng, line, bill = self.rng, 0, 0
        net: dict[int, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * self.days)
        for _id, day, _at, ix, *_rest, qty, _amt, _p, _doc, back in self.dispenses:
            net[ix][(day - self.start).days] += qty
            if back:
                net[ix][(back - self.start).days] -= qty
        covered = [0] * len(self.items)  # per item, the first day of use not yet restocked
        for d in range(lag_days, self.days):
            day = self.start + timedelta(days=d)
            due = [ix for ix in range(len(self.items)) if (d + ix) % every_days == 0]
            lines = []
            for ix in due:
                item = self.items[ix]
                used = sum(net[ix][covered[ix]:d - lag_days + 1], Decimal(0))
                covered[ix] = d - lag_days + 1
                qty = (used * Decimal(str(self.plan.overstock.get(item.code, 1.0)))).to_integral_value(rounding=ROUND_CEILING)
                if qty <= 0:
                    continue
                # now and then a tenth of a drug's restock is bought off the platform (线下采购), so a
                # month's 网采率 stays above its 90% floor; consumables stay on the platform
                off = (qty / 10).to_integral_value(rounding=ROUND_FLOOR) if not item.consumable and rng.random() < off_platform else 0
                lines += [(item, qty - off, True)] + ([(item, off, False)] if off else [])
            if not lines:
                continue
            accepted = datetime.combine(day, datetime.min.time()) + timedelta(seconds=rng.randint(9 * 3600, 17 * 3600))
            for online in (True, False):  # the platform flag is the bill's (入库单): one bill each, off the platform after
                mine = [(item, qty) for item, qty, on in lines if on is online]
                if not mine:
                    continue
                bill += 1
                if not online:
                    accepted += timedelta(minutes=30)
                for item, qty in mine:
                    line += 1
                    self.receipts.append(self._receipt(line, bill, item.code, qty, item.his_unit, item.price, accepted,
                                                       f"PS{bill:08d}{line % 100:02d}" if online else None,
                                                       f"DD{bill:08d}" if online else None, "国药控股股份有限公司", online))
        self._planted_receipts(line, bill)

    def _planted_receipts(self, line: int, bill: int) -> None:
        for pr in self.plan.receipts:
            bill += 1
            line += 1
            item = next(i for i in self.items if i.code == pr.item_code)
            self.receipts.append(self._receipt(line, bill, pr.item_code, pr.quantity, item.his_unit,
                                               pr.unit_price if pr.unit_price is not None else item.price,
                                               _local(pr.accepted_at), pr.delivery_id, pr.order_id,
                                               pr.distributor, pr.on_platform))

    def _receipt(self, line: int, bill: int, code: str, qty: Decimal, unit: str, price: Decimal, accepted: datetime,
                 delivery: str | None, order: str | None, supplier: str, online: bool) -> ReceiptLine:
        lot = f"{accepted:%y%m}{self.rng.randint(100, 999)}"
        expiry = (accepted + timedelta(days=730)).date()
        modified = accepted + timedelta(minutes=5)
        return (line, bill, f"RK{accepted:%Y%m%d}{bill:05d}", code, qty, unit, lot, expiry, price, accepted, modified,
                delivery, order, supplier, f"PSD{bill:08d}", f"FP{bill:08d}", online, False)

    def receipt_views(self, tz: tzinfo) -> list[ReceiptView]:
        """The receipt lines with the fields the reference platform seeds deliveries from."""
        return [ReceiptView(line, tz) for line in self.receipts]

    # -- truth -----------------------------------------------------------------------------------
    def expected_usage(self, day_from: date, day_to: date) -> dict[tuple[date, str, str, str], tuple[Decimal, int]]:
        """Net quantity and source lines per (day, item, dept, setting): returns count on their own day."""
        out: dict[tuple[date, str, str, str], list] = defaultdict(lambda: [Decimal(0), 0])
        for _id, day, _at, ix, dept, setting, qty, _amt, _p, _doc, back in self.dispenses:
            code = self.items[ix].code
            if day_from <= day <= day_to:
                out[(day, code, dept, setting)][0] += qty
                out[(day, code, dept, setting)][1] += 1
            if back and day_from <= back <= day_to:
                out[(back, code, dept, setting)][0] -= qty
                out[(back, code, dept, setting)][1] += 1
        return {k: (v[0], v[1]) for k, v in out.items()}

    # -- rows per preset -------------------------------------------------------------------------
    def his_rows(self, preset: str) -> dict[str, tuple[tuple[str, ...], list[tuple]]]:
        items = [(i.code, i.name, i.generic_name, i.dosage_form, i.spec, i.manufacturer, i.his_unit, i.pack_factor,
                  i.national_code, i.price) for i in self.items]
        writer = HIS_ROW_WRITERS.get(preset)
        if writer is None:
            raise ValueError(f"the simulator cannot write HIS preset '{preset}': add it to HIS_ROW_WRITERS")
        return writer(self, items)

    def _mssql_rows(self, items: list[tuple]) -> dict[str, tuple[tuple[str, ...], list[tuple]]]:
        op, ip = [], []
        for n, day, at, ix, dept, setting, qty, amt, pat, doc, back in self.dispenses:
            unit = self.items[ix].his_unit
            code = self.items[ix].code
            for sign, when in ((1, at), (-1, None if back is None else at + timedelta(days=(back - day).days, minutes=30))):
                if when is None:
                    continue
                rid = n * 2 + (sign < 0)
                if setting == "inpatient":
                    ip.append((rid, when.date(), when, code, dept, f"ZY{CANARY}{pat:06d}", f"{CANARY}患者{pat % 97}",
                               f"{pat % 60:02d}", sign * qty, unit, sign * amt))
                else:
                    op.append((rid, when.date(), when, code, dept, doc, "E" if setting == "emergency" else "O",
                               f"{CANARY}-PID-{pat:06d}", f"{CANARY}患者{pat % 97}", sign * qty, unit, sign * amt))
        return {
            "drug_dict": (("drug_code", "drug_name", "generic_name", "dosage_form", "spec", "manufacturer", "his_unit",
                           "pack_qty", "nhsa_code", "retail_price"), items),
            "dept_dict": (("dept_code", "dept_name", "dept_type", "stop_flag"), [(c, n, "1", "0") for c, n in self.depts]),
            "op_dispense": (("disp_id", "disp_date", "disp_time", "drug_code", "dept_code", "doctor_code", "visit_type",
                             "patient_id", "patient_name", "qty", "unit", "amount"), op),
            "ip_dispense": (("disp_id", "disp_date", "disp_time", "drug_code", "dept_code", "inpatient_no", "patient_name",
                             "bed_no", "qty", "unit", "amount"), ip),
        }

    def _oracle_rows(self, items: list[tuple]) -> dict[str, tuple[tuple[str, ...], list[tuple]]]:
        master, detail, ret = [], [], []
        visit = {"outpatient": "1", "inpatient": "2", "emergency": "3"}
        for n, day, at, ix, dept, setting, qty, amt, pat, doc, back in self.dispenses:
            rx = f"RX{n:010d}"
            master.append((rx, day, at, dept, doc, visit[setting], f"{CANARY}-PID-{pat:06d}", f"{CANARY}患者{pat % 97}",
                           f"{CANARY}{pat:012d}"))
            detail.append((rx, 1, self.items[ix].code, qty, self.items[ix].his_unit, amt))
            if back:
                ret.append((f"TY{n:010d}", rx, 1, self.items[ix].code, back, at + timedelta(days=(back - day).days),
                            qty, amt, f"{CANARY}-PID-{pat:06d}"))
        return {
            "PHA_DRUG_DICT": (("DRUG_CODE", "DRUG_NAME", "GENERIC_NAME", "DOSE_FORM", "DRUG_SPEC", "FIRM_NAME", "PACK_UNIT",
                               "PACK_QTY", "MI_CODE", "RETAIL_PRICE"), items),
            "DEPT_INFO": (("DEPT_ID", "DEPT_NAME", "DEPT_TYPE", "VALID_FLAG"), [(c, n, "临床", "1") for c, n in self.depts]),
            "RX_MASTER": (("RX_NO", "RX_DATE", "RX_TIME", "DEPT_CODE", "DOCTOR_CODE", "VISIT_TYPE", "PATIENT_ID",
                           "PATIENT_NAME", "ID_CARD_NO"), master),
            "RX_DETAIL": (("RX_NO", "ITEM_NO", "DRUG_CODE", "QUANTITY", "UNIT", "COSTS"), detail),
            "RX_RETURN": (("RETURN_NO", "RX_NO", "ITEM_NO", "DRUG_CODE", "RETURN_DATE", "RETURN_TIME", "QUANTITY", "COSTS",
                           "PATIENT_ID"), ret),
        }

    def _dictionary(self) -> list[tuple]:
        """The item dictionary as a material dictionary holds it: the 10 item columns and the 注册证号."""
        return [(i.code, i.name, i.generic_name, i.dosage_form, i.spec, i.manufacturer, i.his_unit, i.pack_factor,
                 i.national_code, i.price, i.registration_no) for i in self.items]

    def _returns(self) -> Iterator[tuple[int, int, datetime, int, str, str, Decimal, Decimal, int, int]]:
        """Each dispensing line and, on its return day, its return: (row id, sign, when, item, dept,
        setting, quantity, amount, patient number, line number)."""
        for n, day, at, ix, dept, setting, qty, amt, pat, _doc, back in self.dispenses:
            yield n * 2, 1, at, ix, dept, setting, qty, amt, pat, n
            if back is not None:
                yield n * 2 + 1, -1, at + timedelta(days=(back - day).days, minutes=30), ix, dept, setting, qty, amt, pat, n

    def _materials_rows(self, items: list[tuple]) -> dict[str, tuple[tuple[str, ...], list[tuple]]]:
        """材料收费明细: one charged line per dispensing, a refund (退费) as a negative row on its own day."""
        visit = {"outpatient": "O", "emergency": "E", "inpatient": "I"}
        fees = [(rid, when.date(), when, self.items[ix].code, dept, dept, visit[setting], f"{CANARY}-PID-{pat:06d}",
                 f"{CANARY}患者{pat % 97}", sign * qty, self.items[ix].his_unit, self.items[ix].price, sign * amt,
                 f"UDI{n:010d}") for rid, sign, when, ix, dept, setting, qty, amt, pat, n in self._returns()]
        return {
            "mat_dict": (("mat_code", "mat_name", "generic_name", "mat_class", "spec_model", "manufacturer", "unit",
                          "pack_qty", "yb_code", "price", "reg_no"), self._dictionary()),
            "fee_mat_detail": (("fee_id", "fee_date", "fee_time", "mat_code", "order_dept_code", "exec_dept_code",
                                "visit_type", "patient_id", "patient_name", "qty", "unit", "price", "amount", "barcode"),
                               fees),
        }

    def _issue_rows(self, items: list[tuple]) -> dict[str, tuple[tuple[str, ...], list[tuple]]]:
        """出库明细: one issue bill (科室领用) per dispensing, a 科室退库 bill for each return; a draft bill
        and a voided line beside them that must never count."""
        ward = {"outpatient": "O", "emergency": "E", "inpatient": "I"}
        bills, lines = [], []
        for rid, sign, when, ix, dept, setting, qty, amt, pat, _n in self._returns():
            bills.append((rid, f"CK{rid:010d}", when.date(), when, "1" if sign > 0 else "2", dept, ward[setting], "2", "KG01"))
            lines.append((rid, rid, self.items[ix].code, qty, self.items[ix].his_unit, self.items[ix].price, amt,
                          f"L{rid % 1000:03d}", f"{CANARY}{pat:08d}", f"{CANARY}患者{pat % 97}", "0"))
        if self.dispenses:
            day, code = self.dispenses[0][1], self.items[self.dispenses[0][3]].code
            at = datetime.combine(day, datetime.min.time()) + timedelta(hours=8)
            top = 2 * len(self.dispenses) + 10
            bills.append((top, f"CK{top:010d}", day, at, "1", "0101", "I", "1", "KG01"))  # a draft (草稿): not issued
            lines.append((top, top, code, Decimal(99), "个", Decimal(1), Decimal(99), "L000", None, None, "0"))
            lines.append((top + 1, 2, code, Decimal(77), "个", Decimal(1), Decimal(77), "L000", None, None, "1"))  # voided
        return {
            "wz_dict": (("wz_code", "wz_name", "generic_name", "wz_class", "spec_model", "manufacturer", "unit", "pack_qty",
                         "yb_code", "price", "reg_no"), self._dictionary()),
            "wz_out_bill": (("bill_id", "bill_no", "out_date", "out_time", "out_type", "to_dept_code", "dept_type", "status",
                             "operator"), bills),
            "wz_out_detail": (("detail_id", "bill_id", "wz_code", "qty", "unit", "unit_price", "amount", "lot_no",
                               "patient_no", "patient_name", "del_flag"), lines),
        }

    def warehouse_rows(self) -> dict[str, tuple[tuple[str, ...], list[tuple]]]:
        bills: dict[int, tuple] = {}
        details = []
        for (line, bill, bill_no, code, qty, unit, lot, expiry, price, accepted, modified, dl, order, supplier, note,
             invoice, online, deleted) in self.receipts:
            bills.setdefault(bill, (bill, bill_no, "GYKG01", supplier, note, invoice, accepted, "KG01",
                                    "1" if online else "0", "2", accepted, modified))
            details.append((line, bill, code, qty, unit, lot, expiry, price, qty * price, dl, order, "1" if deleted else "0",
                            modified))
        return {
            "in_bill": (("bill_id", "bill_no", "supplier_code", "supplier_name", "delivery_note_no", "invoice_no",
                         "accept_time", "accept_user", "is_platform", "status", "create_time", "modify_time"),
                        list(bills.values())),
            "in_bill_detail": (("detail_id", "bill_id", "item_code", "qty", "unit", "lot_no", "expire_date", "unit_price",
                                "amount", "plat_delivery_id", "plat_order_id", "del_flag", "modify_time"), details),
        }


# HIS preset name -> how the simulator writes its tables (a new HIS preset adds a row here).
HIS_ROW_WRITERS = {"mssql_his": Hospital._mssql_rows, "oracle_his": Hospital._oracle_rows,
                   "mssql_materials": Hospital._materials_rows, "spd_issues": Hospital._issue_rows}
