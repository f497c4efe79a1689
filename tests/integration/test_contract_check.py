"""``check`` holds a custom source's queries against the contract, column by column, on one day:
missing, extra, misplaced, wrong type, wrong unit (judged against the item dictionary), receipt
lines whose unit cannot be converted. A hospital's tables on SQLite through the real ODBC driver."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from adapters.contract_check import check_source
from adapters.registry import build_source
from agent.clock import FakeClock
from agent.config import SourceConfig

DAY = date(2026, 11, 3)
ITEMS = """SELECT ypbm AS code, ypmc AS name, tym AS generic_name, jx AS dosage_form, gg AS spec, cj AS manufacturer,
       dw AS his_unit, hsxs AS pack_factor, ybbm AS national_code, dj AS price FROM yp_zd"""
USAGE = """SELECT fyrq AS day, ypbm AS item_code, ksbm AS dept_code, lb AS setting, SUM(sl) AS quantity,
       SUM(je) AS amount, COUNT(*) AS lines FROM fy_mx WHERE fyrq >= :day_from AND fyrq < :day_to_next
       GROUP BY fyrq, ypbm, ksbm, lb"""
TOTALS = """SELECT fyrq AS day, COUNT(*) AS lines, SUM(sl) AS quantity FROM fy_mx
       WHERE fyrq >= :day_from AND fyrq < :day_to_next GROUP BY fyrq"""
RECEIPTS = """SELECT id AS line_id, xgsj AS changed_at, ypbm AS item_code, sl AS quantity, dw AS unit, ph AS lot,
       yxq AS expiry, gys AS distributor, yssj AS accepted_at, psmx AS delivery_id, dd AS order_id, fp AS invoice_no,
       dj AS unit_price, ptcg AS on_platform, zf AS deleted, psd AS delivery_note_no, rkd AS receipt_no, xs AS pack_factor
       FROM rk_mx WHERE (xgsj > :since_ts OR (xgsj = :since_ts AND id > :since_id)) AND xgsj <= :until
       ORDER BY xgsj, id LIMIT :limit"""


@pytest.fixture
def hospital(tmp_path: Path) -> Path:
    db = tmp_path / "his.sqlite"
    with sqlite3.connect(db) as conn:
        conn.executescript("""
        CREATE TABLE yp_zd (ypbm TEXT, ypmc TEXT, tym TEXT, jx TEXT, gg TEXT, cj TEXT, dw TEXT, hsxs DECIMAL, ybbm TEXT, dj DECIMAL);
        INSERT INTO yp_zd VALUES ('A01', '阿托伐他汀钙片', '阿托伐他汀钙', '片剂', '20mg*14片/盒', '甲厂', '片', 1, NULL, 2.8);
        INSERT INTO yp_zd VALUES ('B02', '头孢呋辛酯片', '头孢呋辛酯', '片剂', '0.25g*12片/盒', '乙厂', '盒', 1, NULL, 30);
        INSERT INTO yp_zd VALUES ('C03', '注射用头孢曲松钠', '头孢曲松钠', '注射剂', '1g', '丙厂', '支', 1, NULL, 5);
        CREATE TABLE fy_mx (fyrq DATE, ypbm TEXT, ksbm TEXT, lb TEXT, sl DECIMAL, je DECIMAL, dw TEXT);
        -- outpatient dispensed A01 by the box (盒 of 14): the amount is 14 x 2.8 per unit counted
        INSERT INTO fy_mx VALUES ('2026-11-03', 'A01', '0101', 'outpatient', 2, 78.4, '盒');
        INSERT INTO fy_mx VALUES ('2026-11-03', 'A01', '0101', 'inpatient', 10, 28, '片');
        INSERT INTO fy_mx VALUES ('2026-11-03', 'C03', '0201', '住院', 3, 15, '支');
        CREATE TABLE rk_mx (id INTEGER, xgsj TIMESTAMP, ypbm TEXT, sl DECIMAL, dw TEXT, ph TEXT, yxq DATE, gys TEXT,
                            yssj TIMESTAMP, psmx TEXT, dd TEXT, fp TEXT, dj DECIMAL, ptcg TEXT, zf TEXT, psd TEXT, rkd TEXT, xs DECIMAL);
        INSERT INTO rk_mx VALUES (1, '2026-11-03 09:00:00', 'A01', 10, '盒', 'L1', '2028-01-01', '国药', '2026-11-03 08:50:00',
                                  NULL, NULL, NULL, 39.2, '是', '否', NULL, 'RK1', NULL);
        INSERT INTO rk_mx VALUES (2, '2026-11-03 09:00:00', 'C03', 2, '盒', 'L2', '2028-01-01', '国药', '2026-11-03 08:50:00',
                                  NULL, NULL, NULL, 50, '是', '否', NULL, 'RK1', NULL);
        INSERT INTO rk_mx VALUES (3, '2026-11-03 09:00:00', 'C03', 2, '盒', 'L3', '2028-01-01', '国药', '2026-11-03 08:50:00',
                                  NULL, NULL, NULL, 50, '是', '否', NULL, 'RK1', 10);
        """)
    return db


def _source(db: Path, kind: str, queries: dict[str, str]):  # type: ignore[no-untyped-def]
    cfg = SourceConfig.model_validate({"name": kind, "kind": kind, "preset": "custom", "options": {"dialect": "sqlite"},
                                       "connection": f"Driver={{SQLite3}};Database={db};", "queries": queries})
    return build_source(cfg, FakeClock(datetime(2026, 11, 4, 9, tzinfo=UTC), UTC))


def _check(db: Path, kind: str, queries: dict[str, str], items=None):  # type: ignore[no-untyped-def]
    source = _source(db, kind, queries)
    try:
        return check_source(source, DAY, items)
    finally:
        source.close()


def test_columns_missing_extra_or_out_of_order_are_named(hospital: Path) -> None:
    usage = USAGE.replace("SUM(je) AS amount, COUNT(*) AS lines", "COUNT(*) AS lines, SUM(je) AS amount")
    totals = TOTALS.replace("SUM(sl) AS quantity", "SUM(sl) AS qty")
    items = ITEMS.replace("dj AS price", "dj AS price, ypmc AS py")
    problems, _ = _check(hospital, "his", {"usage": usage, "day_totals": totals, "items": items})
    said = {(p.query, p.column): p.message for p in problems}
    assert said[("usage", "lines")].startswith("列顺序不对：第6列应为 amount，查询返回的是 lines")
    assert said[("day_totals", "quantity")].startswith("缺少列 quantity（数字：")
    assert said[("day_totals", "qty")].startswith("多出列 qty")
    assert said[("items", "py")].startswith("多出列 py")


def test_wrong_types_and_words_are_named_with_the_row(hospital: Path) -> None:
    usage = USAGE.replace("COUNT(*) AS lines", "COUNT(*) * 0.5 AS lines")
    problems, _ = _check(hospital, "his", {"usage": usage, "day_totals": TOTALS, "items": ITEMS})
    said = {(p.query, p.column): p.message for p in problems}
    assert said[("usage", "setting")].startswith("取值不对：只能是 outpatient、emergency 或 inpatient")
    assert "“住院”" in said[("usage", "setting")]
    assert said[("usage", "lines")].startswith("类型不对：应为整数")
    receipts = RECEIPTS.replace("yssj AS accepted_at", "yxq AS accepted_at").replace("id AS line_id", "'RK' || id AS line_id")
    problems, _ = _check(hospital, "warehouse", {"receipts": receipts})
    assert [(p.column, p.message.split("（")[0]) for p in problems] == [
        ("line_id", "类型不对：不是整数；编号是文字时请设 options.line_id_is_int = false"),
        ("accepted_at", "类型不对：只有日期没有时间，应为日期时间")]
    by_time = USAGE.replace("SELECT fyrq AS day", "SELECT fyrq || ' 10:30:00' AS day").replace("GROUP BY fyrq", "GROUP BY 1")
    problems, _ = _check(hospital, "his", {"usage": by_time, "day_totals": TOTALS, "items": ITEMS})
    assert any(p.column == "day" and p.message.startswith("类型不对：是日期时间，应为日期") for p in problems), problems


def test_a_quantity_in_packs_where_the_his_unit_is_expected_is_named_by_item(hospital: Path) -> None:
    fixed = USAGE.replace("lb AS setting", "CASE lb WHEN '住院' THEN 'inpatient' ELSE lb END AS setting").replace(
        "GROUP BY fyrq, ypbm, ksbm, lb", "GROUP BY fyrq, ypbm, ksbm, 4")
    problems, items = _check(hospital, "his", {"usage": fixed, "day_totals": TOTALS, "items": ITEMS})
    said = {(p.query, p.column): p.message for p in problems}
    assert said[("usage", "quantity")].startswith("单位不对：数量似乎按包装计（每包装一个），应按 items.his_unit 计，共 1 个药品：A01")
    assert "字典单价 2.8 元/片，相差 14 倍" in said[("usage", "quantity")]
    # the spec says a 盒 of B02 holds 12 片; the HIS says 1
    assert "B02（头孢呋辛酯片 0.25g*12片/盒，单位 盒）应为 12，查询返回 1" in said[("items", "pack_factor")]
    # day_totals counts the same lines, so it agrees; converting the box rows makes the usage right
    assert ("day_totals", "lines") not in said
    right = fixed.replace("SUM(sl) AS quantity", "SUM(CASE WHEN dw = '盒' THEN sl * 14 ELSE sl END) AS quantity")
    problems, _ = _check(hospital, "his", {"usage": right, "day_totals": TOTALS, "items": ITEMS})
    said = {(p.query, p.column): p.message for p in problems}
    assert ("usage", "quantity") not in said
    assert said[("day_totals", "quantity")] == ("与 usage 不符：2026-11-03 数量合计 15，usage 的 quantity 之和为 41"
                                               "（应按同一 HIS 单位合计）")


def test_receipt_lines_whose_unit_cannot_be_converted_are_listed_as_a_warning(hospital: Path) -> None:
    _, items = _check(hospital, "his", {"usage": USAGE, "day_totals": TOTALS, "items": ITEMS})
    problems, _ = _check(hospital, "warehouse", {"receipts": RECEIPTS}, items)
    (p,) = problems
    assert p.warning and (p.query, p.column) == ("receipts", "unit")
    # A01 盒: its spec names the 盒 of 14; C03 line 3 has its own factor; C03 line 2 (盒 of a 1g vial) has none
    assert p.message.startswith("入库单位无法换算为最小单位 1 行，这些行不计入按验收完成进度：行 2 药品 C03（注射用头孢曲松钠 1g）单位“盒”")
    problems, _ = _check(hospital, "warehouse", {"receipts": RECEIPTS})
    assert [x.message.split("：")[0] for x in problems] == ["无法判断入库单位能否换算"]


def test_a_usage_query_over_a_table_summed_per_day_is_warned_that_its_lines_are_no_dispensings(tmp_path: Path) -> None:
    # rise detection weighs a dispensing by the lines: one line a group would read a day's use as one
    db = tmp_path / "summed.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE fy_hz (rq DATE, ypbm TEXT, ksbm TEXT, sl DECIMAL, je DECIMAL)")
        conn.execute("CREATE TABLE fy_mx (fyrq DATE, ypbm TEXT, ksbm TEXT, sl DECIMAL, je DECIMAL)")
        for dept in range(40):
            conn.execute("INSERT INTO fy_hz VALUES ('2026-11-03', 'A01', ?, 6, 16.8)", (f"{dept:04d}",))
            conn.executemany("INSERT INTO fy_mx VALUES ('2026-11-03', 'A01', ?, 3, 8.4)", [(f"{dept:04d}",)] * 2)
    where = "WHERE {d} >= :day_from AND {d} < :day_to_next"
    summed = ("SELECT rq AS day, ypbm AS item_code, ksbm AS dept_code, 'outpatient' AS setting, SUM(sl) AS quantity, "
              "SUM(je) AS amount, COUNT(*) AS lines FROM fy_hz " + where.format(d="rq") + " GROUP BY rq, ypbm, ksbm")
    items = ("SELECT ypbm AS code, ypbm AS name, NULL AS generic_name, NULL AS dosage_form, NULL AS spec, NULL AS manufacturer, "
             "NULL AS his_unit, NULL AS pack_factor, NULL AS national_code, NULL AS price FROM fy_hz")
    totals = "SELECT rq AS day, COUNT(*) AS lines, SUM(sl) AS quantity FROM fy_hz " + where.format(d="rq") + " GROUP BY rq"

    def check(usage: str) -> list:  # type: ignore[type-arg]
        queries = {"usage": usage, "day_totals": totals if "fy_hz" in usage else totals.replace("rq", "fyrq").replace("fy_hz", "fy_mx"),
                   "items": items}
        return _check(db, "his", queries)[0]

    problems = check(summed)
    (warned,) = [p for p in problems if (p.query, p.column) == ("usage", "lines")]
    assert warned.warning and warned.message.startswith("40 组用量的 lines 都是 1：lines 应为每组背后的处方明细行数")
    detail = summed.replace("rq", "fyrq").replace("fy_hz", "fy_mx")
    assert not [p for p in check(detail) if p.column == "lines"]
