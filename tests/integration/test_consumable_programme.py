"""A consumable programme end to end (#21 point 4): the bureau's sheets as they come (title rows,
27-character codes, 注册证号, 规格型号, volumes in 个), the material dictionary and charges of the HIS
(``mssql_materials``) and the warehouse's receipts, read through the SQLite ODBC driver; 对码 by code,
registration and spec/model; the 带量执行报表's counts and the 80% 网采率 line on hand-computed figures.

The programme (one agreement year, 2025; as of 31 March the 序时进度 is 90/365):
  P1 乐普 3.0×18mm, coded         agreed 100, used 30 (M1)  -> normal (30%)
  P2 乐普 3.5×24mm, coded         agreed  40, used  5 (M2, matched by 注册证号 + 规格型号) -> behind (12.5%)
  P3 微创, no code, no spec/model  agreed 200, used 210 (M3, by 注册证号 alone)            -> over
  P4 another maker, coded         agreed  50, nothing mapped                              -> zero
  M4 雅培: same class and 通用名码, another maker: the rival, 12 used (less than the group's 35,
     at 8000 元 far more in amount: 非中选超额 but not 超量)
  M6 乐普 with the first 20 characters of P1 but another model code: review, counted nowhere
  M5 输液器, low-value (1.05 元): bought off the platform, outside the 80% line
"""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from adapters.his import mssql_materials
from adapters.preset import render_ddl
from adapters.warehouse import std
from agent.bootstrap import build, build_monitoring_inputs
from agent.cli import main
from agent.clock import DEFAULT_TZ, FakeClock
from agent.config import load_config
from agent.jobs.reporting import monthly_report
from agent.store import mappings
from tests.unit.test_monitor_reports import rows_of

PROGRAMME = "国家组织冠脉支架集采协议期满接续"
LEPU, MP, ABBOTT = "乐普(北京)医疗器械股份有限公司", "上海微创医疗器械(集团)有限公司", "雅培贸易(上海)有限公司"
C1, C2, C4 = "C0201010010100104744000012A", "C0201010010100104744000013B", "C0201010010100105555000001A"
REG_LEPU, REG_MP = "国械注准20153130541", "国械注准20163130120"
CLOCK = FakeClock(datetime(2025, 4, 1, 9, 0, tzinfo=DEFAULT_TZ), DEFAULT_TZ)


def _winners(path: Path) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "中选结果"
    ws.append([f"{PROGRAMME}拟中选结果"])
    ws.append([])
    ws.append(["序号", "产品名称", "医保医用耗材代码（27位）", "注册证编号", "规格型号", "生产企业名称", "中选价（元/个）"])
    ws.append([1, "药物洗脱冠脉支架系统", C1, REG_LEPU, "3.0×18mm", LEPU, "469"])
    ws.append([2, "药物洗脱冠脉支架系统", C2, REG_LEPU, "3.5×24mm", LEPU, 469])
    ws.append([3, "钴基合金雷帕霉素洗脱支架系统", None, REG_MP, None, MP, "590.00元"])
    ws.append([4, "铂铬合金依维莫司洗脱支架系统", C4, "国械注进20183131234", "2.5×16mm", "波士顿科学国际有限公司", 798])
    ws.append([])
    ws.append(["注：中选价为每个支架系统的价格，含伴随服务。"])
    wb.save(path)
    return path


def _volumes(path: Path) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.append(["医疗机构约定采购量（协议期第1年）"])
    ws.append(["医疗机构名称", "医保耗材代码", "产品名称", "注册证号", "规格型号", "约定采购量（个）"])
    ws.append(["测试医院", C1, "药物洗脱冠脉支架系统", REG_LEPU, "3.0×18mm", 100])
    ws.append(["测试医院", C2, "药物洗脱冠脉支架系统", REG_LEPU, "3.5×24mm", "40个"])
    ws.append(["测试医院", None, "钴基合金雷帕霉素洗脱支架系统", REG_MP, None, 200])
    ws.append(["测试医院", C4, "铂铬合金依维莫司洗脱支架系统", None, "2.5×16mm", 50])
    wb.save(path)
    return path


# code, name, class, spec/model, maker, unit, national code, price, 注册证号
ITEMS = [
    ("M1", "药物洗脱冠脉支架系统", "血管介入", "3.0×18mm", LEPU, "个", C1, 469, REG_LEPU),
    ("M2", "冠脉药物支架(乐普)", "血管介入", "3.5×24mm", LEPU, "个", None, 469, "国械注准 20153130541"),
    ("M3", "雷帕霉素支架", "血管介入", "2.75×18mm", MP, "个", None, 590, REG_MP),
    ("M4", "依维莫司洗脱支架(雅培)", "血管介入", "3.0×23mm", ABBOTT, "个", "C0201010010100100001000001A", 8000,
     "国械注进20173130001"),
    ("M5", "一次性使用输液器", "注射穿刺", "带针0.7mm", "山东威高集团医用高分子制品股份有限公司", "套",
     "C1104010000000000000000002A", 1.05, "鲁械注准20172660123"),
    ("M6", "药物洗脱冠脉支架系统", "血管介入", "4.0×38mm", LEPU, "个", "C0201010010100104744000099Z", 469, REG_LEPU),
]
# item -> charges (day, quantity); a refund (退费) is negative on its own day
CHARGES = {
    "M1": [(date(2025, 1, 10), 12), (date(2025, 2, 14), 10), (date(2025, 3, 3), 9), (date(2025, 3, 4), -1)],
    "M2": [(date(2025, 2, 20), 5)],
    "M3": [(date(2025, 1, 6), 100), (date(2025, 2, 6), 60), (date(2025, 3, 6), 50)],
    "M4": [(date(2025, 3, 12), 12)],
    "M5": [(date(2025, 3, 12), 300)],
    "M6": [(date(2025, 3, 20), 3)],
}
# March receipts: item, quantity, unit price, on the platform
RECEIPTS = [("M1", 30, 469, True), ("M3", 100, 590, True), ("M4", 10, 8000, True), ("M4", 2, 8000, False),
            ("M5", 10000, 1.05, False)]
HIGH_ON, HIGH_ALL = 30 * 469 + 100 * 590 + 10 * 8000, 30 * 469 + 100 * 590 + 12 * 8000  # 153070 of 169070


def _hospital_db(path: Path) -> None:
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        for stmt in (*mssql_materials.DDL, *std.DDL):
            db.execute(render_ddl(stmt, "sqlite"))
        db.executemany("INSERT INTO mat_dict (mat_code, mat_name, generic_name, mat_class, spec_model, manufacturer, unit,"
                       " pack_qty, yb_code, price, reg_no, stop_flag) VALUES (?, ?, NULL, ?, ?, ?, ?, 1, ?, ?, ?, '0')",
                       [(c, n, k, s, m, u, code, str(p), r) for c, n, k, s, m, u, code, p, r in ITEMS])
        price = {i[0]: i[7] for i in ITEMS}
        fees = [(n, day.isoformat(), f"{day.isoformat()} 10:00:00", code, "0301", "0301", "I", f"PID{n:05d}", "患者",
                 str(q), "个", str(price[code]), str(q * price[code]))
                for n, (code, day, q) in enumerate(((c, d, q) for c, rows in CHARGES.items() for d, q in rows), 1)]
        db.executemany("INSERT INTO fee_mat_detail (fee_id, fee_date, fee_time, mat_code, order_dept_code, exec_dept_code,"
                       " visit_type, patient_id, patient_name, qty, unit, price, amount) VALUES"
                       " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", fees)
        for n, (code, qty, unit_price, online) in enumerate(RECEIPTS, 1):
            at = f"2025-03-{10 + n:02d} 10:00:00"
            db.execute("INSERT INTO in_bill (bill_id, bill_no, supplier_name, accept_time, is_platform, status, modify_time)"
                       " VALUES (?, ?, '国药控股', ?, ?, '2', ?)", (n, f"RK{n:04d}", at, "1" if online else "0", at))
            db.execute("INSERT INTO in_bill_detail (detail_id, bill_id, item_code, qty, unit, unit_price, amount, del_flag,"
                       " modify_time) VALUES (?, ?, ?, ?, '个', ?, ?, '0', ?)",
                       (n, n, code, str(qty), str(unit_price), str(qty * unit_price), at))


def _config(tmp_path: Path, db: Path) -> Path:
    cfg = tmp_path / "agent.toml"
    conn = f"Driver={{SQLite3}};Database={db};"
    cfg.write_text(f"""
[hospital]
code = "H001"
name = "测试医院"
[state]
directory = "{tmp_path}"
[[sources]]
name = "materials"
kind = "his"
preset = "mssql_materials"
connection = "{conn}"
[[sources]]
name = "warehouse"
kind = "warehouse"
preset = "warehouse_std"
connection = "{conn}"
[sources.options]
settle_lag_s = 0
""", encoding="utf-8")
    return cfg


def _cli(cfg: Path, *argv: str) -> str:
    import io
    from contextlib import redirect_stderr, redirect_stdout

    out = io.StringIO()
    with redirect_stdout(out), redirect_stderr(out):
        code = main(["-c", str(cfg), *argv], clock=CLOCK)
    assert code == 0, out.getvalue()
    return out.getvalue()


@pytest.fixture
def hospital(tmp_path: Path) -> Path:
    pytest.importorskip("pyodbc")
    db = tmp_path / "his.sqlite"
    _hospital_db(db)
    cfg = _config(tmp_path, db)
    _cli(cfg, "import", "winners", str(_winners(tmp_path / "中选结果.xlsx")), "--programme", PROGRAMME, "--kind",
         "consumable", "--level", "national", "--cycle-start", "2025-01-01", "--cycle-end", "2025-12-31", "--yes")
    _cli(cfg, "import", "volumes", str(_volumes(tmp_path / "约定量.xlsx")), "--programme", PROGRAMME, "--year", "1", "--yes")
    _cli(cfg, "backfill", "--from", "2025-01-01", "--to", "2025-03-31")
    _cli(cfg, "poll", "--source", "warehouse")
    runtime = build(load_config(cfg), CLOCK)
    try:
        from agent.bootstrap import build_sources
        from agent.jobs.ingest import refresh_items_and_map

        source = build_sources(runtime.config.sources, CLOCK)["materials"]
        refresh_items_and_map(runtime.store, source, runtime.config.sources[0], CLOCK, runtime.config.catalogue)
        source.close()
    finally:
        runtime.close()
    return cfg


def test_the_consumable_sheet_imports_with_codes_registrations_and_pieces(hospital: Path) -> None:
    runtime = build(load_config(hospital), CLOCK)
    try:
        from agent.store import catalogue as repo

        with runtime.store.read() as conn:
            products = repo.existing_products(conn, "H001", PROGRAMME)
            volumes = {(p["national_code"] or p["registration_no"]): repo.agreed_volume(conn, "H001", PROGRAMME, 1, key)
                       for key, p in products.items()}
        by_code = {p["national_code"] or p["registration_no"]: p for p in products.values()}
        assert set(by_code) == {C1, C2, REG_MP, C4}
        assert [by_code[C1]["registration_no"], by_code[C1]["spec"], by_code[C1]["smallest_unit"]] == [REG_LEPU, "3.0×18mm", "个"]
        assert float(by_code[REG_MP]["price"]) == 590 and float(by_code[C1]["pack"]) == 1
        assert {k: float(v["quantity"]) for k, v in volumes.items() if v} == {C1: 100, C2: 40, REG_MP: 200, C4: 50}
    finally:
        runtime.close()


def test_mapping_goes_by_code_registration_and_spec_model_and_sends_the_unsure_to_review(hospital: Path) -> None:
    runtime = build(load_config(hospital), CLOCK)
    try:
        with runtime.store.read() as conn:
            rows = mappings.item_mappings(conn, "H001")
    finally:
        runtime.close()
    got = {code: (r["status"], r["product_key"], r["group_key"]) for code, r in rows.items()}
    assert got["M1"] == ("auto", C1, "C|C020101001")
    assert got["M2"] == ("auto", C2, "C|C020101001")  # no code: 注册证号 and 规格型号
    assert got["M3"][0] == "auto" and "雷帕霉素" in (got["M3"][1] or "")  # 注册证号 alone: the product has no spec/model
    assert got["M4"] == ("auto", None, "C|C020101001")  # the rival: same class and 通用名码, another maker
    assert got["M5"][0] == "none"
    assert got["M6"][0] == "review" and "规格型号" in rows["M6"]["reason"]


def test_the_monthly_report_counts_the_consumable_programme_on_hand_computed_figures(hospital: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.xlsx"
    _cli(hospital, "report", "monthly", "--month", "2025-03", "--out", str(out))
    summary = {r["批次名称"]: r for r in rows_of(load_workbook(out)["带量执行报表"], header_row=3)}[PROGRAMME]
    assert [summary[k] for k in ("签约产品总数", "零采购产品数", "低于序时进度产品数", "超量采购产品数", "正常采购产品数")] == [4, 1, 1, 1, 1]
    assert [summary[k] for k in ("对应非中选产品总数", "采购非中选产品数", "非中选超量产品数", "非中选超额产品数",
                                 "低于序时进度且非中选超量的产品数")] == [1, 1, 0, 1, 0]


def test_the_80_percent_line_counts_high_value_consumables_and_a_pharmacist_can_move_one(hospital: Path) -> None:
    def high_value_month() -> tuple[float, float]:
        runtime = build(load_config(hospital), CLOCK)
        try:
            rep = monthly_report(build_monitoring_inputs(runtime), runtime.calendar, "2025-03", "H001", "测试医院",
                                 runtime.config.monitoring)
        finally:
            runtime.close()
        rate = next(r for r in rep.online_rates if r.period.kind == "month" and r.kind == "high_value_consumable")
        assert not [r for r in rep.online_rates if r.kind == "drug"]  # nothing here is a drug
        return rate.on_platform_amount, rate.total_amount

    assert high_value_month() == pytest.approx((HIGH_ON, HIGH_ALL))  # 90.5%: the 输液器 bought off it is low-value
    listed = _cli(hospital, "consumables", "list")
    lines = {line.split("\t")[0]: line for line in listed.splitlines()}
    assert "高值\t一级分类C02血管介入治疗类材料属高值耗材" in lines["M1"]
    assert "低值\t单价1.05元低于高值线500.00元" in lines["M5"]
    _cli(hospital, "consumables", "set", "M5", "--value", "high", "--by", "设备科王五")
    assert "高值\t人工确认为高值（设备科王五）" in _cli(hospital, "consumables", "list", "--value", "high")
    assert high_value_month() == pytest.approx((HIGH_ON, HIGH_ALL + 10000 * 1.05))  # now 85.2%
    _cli(hospital, "consumables", "set", "M5", "--value", "auto", "--by", "设备科王五")
    assert high_value_month() == pytest.approx((HIGH_ON, HIGH_ALL))


def test_a_consumable_not_in_the_dictionaries_cannot_be_decided(hospital: Path, capsys) -> None:
    code = main(["-c", str(hospital), "consumables", "set", "NOPE", "--value", "low", "--by", "王五"], clock=CLOCK)
    assert code != 0
    assert "no consumable" in capsys.readouterr().err


def test_a_volume_row_naming_a_registration_of_two_products_without_its_spec_model_is_refused(hospital: Path,
                                                                                              tmp_path: Path) -> None:
    from agent.catalogue.volumes import plan_volumes

    wb = Workbook()
    wb.active.append(["注册证号", "产品名称", "规格型号", "约定采购量（个）"])
    wb.active.append([REG_LEPU, "药物洗脱冠脉支架系统", None, 10])  # two 乐普 products hold this registration
    wb.active.append([REG_LEPU, "药物洗脱冠脉支架系统", "3.5×24mm", "12套"])  # the spec/model settles it
    wb.save(tmp_path / "v.xlsx")
    runtime = build(load_config(hospital), CLOCK)
    try:
        plan = plan_volumes(runtime.store, tmp_path / "v.xlsx", PROGRAMME, 1)
    finally:
        runtime.close()
    assert [(e.row, e.reason) for e in plan.errors] == [(2, "同一注册证号对应多个中选产品，请补充规格型号或医保耗材代码")]
    assert [(r.payload["product_key"], r.payload["quantity"]) for r in plan.rows] == [(C2, 12)]


def test_an_items_sheet_gives_consumables_their_registration(tmp_path: Path) -> None:
    from agent.catalogue.items_file import read_items

    wb = Workbook()
    wb.active.append(["物资编码", "物资名称", "规格型号", "生产企业", "单位", "医保耗材代码", "注册证号"])
    wb.active.append(["HC01", "冠脉支架", "3.0×18mm", LEPU, "个", C1, REG_LEPU])
    wb.active.append(["HC02", "冠脉支架", "3.5×24mm", LEPU, "个", None, REG_LEPU])
    wb.active.append(["Y01", "阿托伐他汀钙片", "20mg*7片", "齐鲁制药", "盒", "XC10AAA052A001010100001", None])
    wb.save(tmp_path / "items.xlsx")
    got = [(i.code, i.kind, i.registration_no) for i in read_items(tmp_path / "items.xlsx")]
    assert got == [("HC01", "consumable", REG_LEPU), ("HC02", "consumable", REG_LEPU), ("Y01", "drug", None)]


def test_an_older_store_regroups_a_coded_consumable_by_its_class_and_generic_code(store_url: str) -> None:
    """Until catalogue v4 a consumable listed without a class was grouped by its name; v4 groups it by
    its code's first 10 characters and moves the items mapped to it along."""
    from sqlalchemy import insert, select

    from agent.store import migrate, open_store
    from agent.store.schema.catalogue import item_mappings, winning_products

    latest = {c.name: c.version for c in migrate.components()}
    old = open_store(store_url, "H1", target={**latest, "catalogue": 3})
    now = datetime(2025, 1, 1, tzinfo=DEFAULT_TZ)
    with old.begin() as conn:
        conn.execute(insert(winning_products).values(
            hospital_code="H1", programme=PROGRAMME, product_key=C1, kind="consumable", generic_name="药物洗脱冠脉支架系统",
            spec="3.0×18mm", manufacturer=LEPU, national_code=C1, group_key="C|药物洗脱冠脉支架系统", updated_at=now))
        conn.execute(insert(item_mappings).values(
            hospital_code="H1", item_code="M1", item_name="支架", item={}, status="auto", product_key=C1,
            group_key="C|药物洗脱冠脉支架系统", confidence=1.0, reason="", candidates=[], updated_at=now))
    old.close()
    store = open_store(store_url, "H1")
    try:
        with store.read() as conn:
            assert conn.execute(select(winning_products.c.group_key)).scalars().all() == ["C|C020101001"]
            assert conn.execute(select(item_mappings.c.group_key)).scalars().all() == ["C|C020101001"]
    finally:
        store.close()


def test_the_console_lists_the_consumable_groups_by_name_never_by_their_key(hospital: Path) -> None:
    from agent.console import views
    from agent.console.views import Console
    from agent.jobs.evaluate import evaluate

    runtime = build(load_config(hospital), CLOCK)
    try:
        inputs = build_monitoring_inputs(runtime)
        evaluate(runtime.store, inputs, runtime.calendar, CLOCK, runtime.config.monitoring)  # the daemon's job: progress stored
        console = Console(runtime, inputs)
        page = views.products(console)
        coded = views.products(console, group="C|C020101001")  # the filter still goes by the key
        one = views.product(console, coded["rows"][0]["key"])
    finally:
        runtime.close()
    labels = {key: label for label, key in page["groups"]}
    # three coded stents grouped by their code's class and 通用名码, one without a code by its name
    assert set(labels) == {"C|C020101001", "C|钴基合金雷帕霉素洗脱支架系统"}, labels
    assert labels["C|C020101001"].endswith("（C020101001）") and not labels["C|C020101001"].startswith("C|"), labels
    assert labels["C|钴基合金雷帕霉素洗脱支架系统"] == "钴基合金雷帕霉素洗脱支架系统"
    assert not [r for r in page["rows"] if r["group_label"].startswith("C|")]
    assert page["total"] == 4, page
    assert coded["total"] == 3 and {r["group"] for r in coded["rows"]} == {"C|C020101001"}
    assert one["group_label"] == coded["rows"][0]["group_label"]  # the product's own page says it alike
