"""The demo's consumable programme (#21 point 4): coronary stents (冠脉支架) end to end.

What it adds to the simulated hospital, in the same SQLite file:
- the bureau's sheets as consumable sheets are written: 27-character 医保医用耗材代码, 注册证号,
  规格型号, 中选价（元/个）, 约定采购量（个）; one product (微创) listed without a code, by its 注册证号;
- the HIS's material dictionary and charges (材料收费明细, the ``mssql_materials`` preset, a second
  ``[[sources]]`` block): 乐普 3.0×18mm with its code (对码 by code), 乐普 3.5×24mm without one (by
  注册证号 and 规格型号), 微创 (by 注册证号 alone) and a rival, 雅培, whose code shares class and
  通用名码 (a non-winning product of the group); each on its usual pace against its 序时进度 (the demo's
  one product behind stays 硫酸氢氯吡格雷片);
- the warehouse's weekly restocks of the stents on the platform (with their delivery lines), and one
  off-platform purchase of two 乐普 stents above the winning price, filed (备案) the next day: the
  month's 高于挂网价线下供应 clue.
"""

from __future__ import annotations

import contextlib
import random
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from adapters.his import mssql_materials
from adapters.preset import render_ddl
from agent.clock import DEFAULT_TZ

PROGRAMME = "国家组织冠脉支架集采协议期满接续"
LEPU, MP, ABBOTT = "乐普(北京)医疗器械股份有限公司", "上海微创医疗器械(集团)有限公司", "雅培贸易(上海)有限公司"
REG_LEPU, REG_MP = "国械注准20153130541", "国械注准20163130120"
DEPT = "0101"  # 心血管内科
OFF_SUPPLIER, OFF_PRICE, OFF_DAY = "某医疗器械经营部", Decimal(560), 74  # 2 stents off the platform at 560 元 (469)
LINE_BASE = 900_000  # the stents' warehouse bill and line ids, above the simulated warehouse's


@dataclass(frozen=True)
class Stent:
    code: str  # the material dictionary's code (物资编码)
    name: str
    spec: str
    maker: str
    national_code: str | None  # in the HIS dictionary
    sheet_code: str | None  # in the bureau's sheet
    registration: str
    price: Decimal
    per_day: float  # mean used per day
    winning: bool = True
    agreed_share: Decimal = Decimal("0.7")  # agreed volume over a year's use


STENTS = [
    Stent("HC0001", "药物洗脱冠脉支架系统", "3.0×18mm", LEPU, "C0201010010100104744000012A", "C0201010010100104744000012A",
          REG_LEPU, Decimal(469), 0.8),
    Stent("HC0002", "冠脉药物支架（乐普）", "3.5×24mm", LEPU, None, "C0201010010100104744000013B", REG_LEPU, Decimal(469),
          0.3),
    Stent("HC0003", "钴基合金雷帕霉素洗脱支架系统", "2.75×18mm", MP, None, None, REG_MP, Decimal(590), 0.6),
    Stent("HC0004", "依维莫司洗脱支架（雅培）", "3.0×23mm", ABBOTT, "C0201010010100100001000001A", None,
          "国械注进20173130001", Decimal(3980), 0.15, winning=False),
]
SHEET_NAMES = {"HC0002": "药物洗脱冠脉支架系统"}  # the bureau's name for it, not the HIS's
SHEET_SPEC = {"HC0003": None}  # 微创: the bureau lists the registration, every spec/model of it


@dataclass(frozen=True)
class StentReceipt:
    """A stent receipt line, shaped as the reference platform seeds its delivery lines from."""

    line_id: str
    item_code: str
    quantity: Decimal
    lot: str
    accepted_at: datetime
    delivery_id: str | None


def _charges(seed: int, first_day: date, days: int) -> dict[str, list[tuple[date, int]]]:
    rng = random.Random(seed + 21)
    out: dict[str, list[tuple[date, int]]] = {s.code: [] for s in STENTS}
    for d in range(days):
        day = first_day + timedelta(days=d)
        for s in STENTS:
            n = sum(1 for _ in range(4) if rng.random() < s.per_day / 4)
            if n:
                out[s.code].append((day, n))
    return out


def write_sheets(workdir: Path, hospital_name: str, charges: dict[str, list[tuple[date, int]]], days: int) -> tuple[Path, Path]:
    """The bureau's 附件 for the stents: winning products and this hospital's agreed volumes in 个."""
    winners, volumes = workdir / "冠脉支架中选结果.xlsx", workdir / "冠脉支架约定采购量.xlsx"
    wb = Workbook()
    ws = wb.active
    ws.title = "中选结果"
    ws.append([f"{PROGRAMME}中选结果"])
    ws.append([])
    ws.append(["序号", "产品名称", "医保医用耗材代码（27位）", "注册证编号", "规格型号", "生产企业名称", "中选价（元/个）"])
    vb = Workbook()
    vs = vb.active
    vs.append([f"{PROGRAMME}医疗机构约定采购量（协议期第1年）"])
    vs.append(["医疗机构名称", "医保耗材代码", "产品名称", "注册证号", "规格型号", "约定采购量（个）"])
    for n, s in enumerate((s for s in STENTS if s.winning), 1):
        name, spec = SHEET_NAMES.get(s.code, s.name), SHEET_SPEC.get(s.code, s.spec)
        ws.append([n, name, s.sheet_code, s.registration, spec, s.maker, float(s.price)])
        used = sum(q for _, q in charges[s.code])
        vs.append([hospital_name, s.sheet_code, name, s.registration, spec,
                   int((Decimal(used) * 365 / days * s.agreed_share).quantize(Decimal(1)))])
    ws.append([])
    ws.append(["注：中选价为每个支架系统的价格，含伴随服务。"])
    wb.save(winners)
    vb.save(volumes)
    return winners, volumes


def write_hospital(his_db: Path, seed: int, first_day: date, days: int, start: date) -> tuple[dict[str, list[tuple[date, int]]],
                                                                                   list[StentReceipt], str]:
    """The material dictionary and charges, and the warehouse's stent receipts; returns the charges,
    the on-platform receipts (for the platform's delivery lines) and the off-platform line's id.
    ``start``: the day the agent is installed (the off-platform purchase is ``OFF_DAY`` after it)."""
    charges = _charges(seed, first_day, days)
    receipts: list[StentReceipt] = []
    bills: list[tuple] = []
    lines: list[tuple] = []

    def receipt(code: str, qty: int, price: Decimal, at: datetime, online: bool, supplier: str) -> str:
        n = LINE_BASE + len(lines) + 1
        lot = f"{at:%y%m}{n % 1000:03d}"
        bills.append((n, f"RK{at:%Y%m%d}{n}", "QX01", supplier, f"PSD{n}", f"FP{n}", _naive(at), "KG01",
                      "1" if online else "0", "2", _naive(at), _naive(at + timedelta(minutes=5))))
        delivery = f"SHPHC{n}" if online else None
        lines.append((n, n, code, qty, "个", lot, (at + timedelta(days=1095)).date().isoformat(), str(price), str(price * qty),
                      delivery, f"DDHC{n}" if online else None, "0", _naive(at + timedelta(minutes=5))))
        if online:
            receipts.append(StentReceipt(str(n), code, Decimal(qty), lot, at, delivery))
        return str(n)

    for d in range(3, days, 7):  # weekly: last week's use, accepted on the platform
        at = datetime.combine(first_day + timedelta(days=d), time(10, 30), DEFAULT_TZ)
        for s in STENTS:
            used = sum(q for day, q in charges[s.code] if first_day + timedelta(days=d - 9) < day <= first_day + timedelta(days=d - 2))
            if used:
                receipt(s.code, used, s.price, at, True, "国药控股股份有限公司")
    off_day = start + timedelta(days=OFF_DAY)
    off = receipt("HC0001", 2, OFF_PRICE, datetime.combine(off_day, time(15, 0), DEFAULT_TZ), False, OFF_SUPPLIER)
    fees = [(n, day.isoformat(), f"{day.isoformat()} 14:00:00", code, DEPT, DEPT, "I", f"CANARY-PID-{n:06d}",
             f"CANARY患者{n % 97}", q, "个", str(price[code]), str(price[code] * q))
            for n, (code, day, q) in enumerate(((c, day, q) for c, rows in charges.items() for day, q in rows), 1)
            for price in [{s.code: s.price for s in STENTS}]]
    with contextlib.closing(sqlite3.connect(his_db)) as db, db:
        for stmt in mssql_materials.DDL:
            db.execute(render_ddl(stmt, "sqlite"))
        db.executemany("INSERT INTO mat_dict (mat_code, mat_name, generic_name, mat_class, spec_model, manufacturer, unit,"
                       " pack_qty, yb_code, price, reg_no, stop_flag) VALUES (?, ?, NULL, '血管介入', ?, ?, '个', 1, ?, ?, ?, '0')",
                       [(s.code, s.name, s.spec, s.maker, s.national_code, str(s.price), s.registration) for s in STENTS])
        db.executemany("INSERT INTO fee_mat_detail (fee_id, fee_date, fee_time, mat_code, order_dept_code, exec_dept_code,"
                       " visit_type, patient_id, patient_name, qty, unit, price, amount) VALUES"
                       " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", fees)
        db.executemany("INSERT INTO in_bill (bill_id, bill_no, supplier_code, supplier_name, delivery_note_no, invoice_no,"
                       " accept_time, accept_user, is_platform, status, create_time, modify_time)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", bills)
        db.executemany("INSERT INTO in_bill_detail (detail_id, bill_id, item_code, qty, unit, lot_no, expire_date, unit_price,"
                       " amount, plat_delivery_id, plat_order_id, del_flag, modify_time)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", lines)
    return charges, receipts, off


def _naive(t: datetime) -> str:
    return t.astimezone(DEFAULT_TZ).replace(tzinfo=None).isoformat(sep=" ", timespec="seconds")


def file_off_platform(store: Any, line_id: str, at: datetime, now: datetime) -> None:
    """The equipment office (设备科) files the stents bought off the platform the next day."""
    from agent.store import ledgers

    with store.begin() as conn:
        ledgers.record_filing(conn, store.hospital_code, line_id, reference=f"BA{line_id}", filed_by="设备科",
                              filed_at=at + timedelta(days=1), emergency=False, now=now)


def show(runtime: Any, month: str) -> list[str]:
    """The programme's lines for the demo's section 11: each stent's 对码, progress and the month's
    high-value 网采率 (80% line)."""
    from agent.bootstrap import build_monitoring_inputs
    from agent.jobs.reporting import monthly_report
    from agent.store import mappings

    store = runtime.store
    with store.read() as conn:
        maps = mappings.item_mappings(conn, store.hospital_code)
    out = [f"  耗材批次 {PROGRAMME}（材料收费明细 mssql_materials，27位医保耗材代码）："]
    for s in STENTS:
        r = maps.get(s.code) or {}
        target = "中选产品" if r.get("product_key") else ("非中选（同组）" if r.get("group_key") else "非集采")
        out.append(f"    对码 {s.code} {s.name} {s.spec} → {target}：{r.get('reason', '未对码')}（{r.get('status', '-')}）")
    rep = monthly_report(build_monitoring_inputs(runtime), runtime.calendar, month, store.hospital_code,
                         runtime.config.hospital.name, runtime.config.monitoring)
    for p in rep.products:
        if p.product.programme == PROGRAMME:
            out.append(f"    {p.product.name} {p.product.spec or '（各型号）'}  约定 {p.product.agreed_qty:,.0f} 个  "
                       f"已使用 {p.used:,.0f} 个  "
                       f"完成进度 {p.completion:.1%}  序时进度 {p.time_progress:.1%}  {p.status}")
    summary = next((s for s in rep.programmes if s.programme == PROGRAMME), None)
    if summary is not None:
        out.append(f"    带量执行报表：签约产品{summary.signed}，零采购{summary.zero}，低于序时进度{summary.behind}，"
                   f"超量{summary.over}，正常{summary.normal}；对应非中选产品{summary.non_winning_total}，"
                   f"采购非中选{summary.non_winning_used}")
    for r in rep.online_rates:
        if r.kind == "high_value_consumable" and r.period.kind == "month":
            rate = "—" if r.rate is None else f"{r.rate:.1%}"
            out.append(f"    高值医用耗材网采率（{month}）：{rate}（平台 {r.on_platform_amount:,.2f} 元 / 验收入库 "
                       f"{r.total_amount:,.2f} 元，要求 ≥{r.floor:.0%}）")
    return out
