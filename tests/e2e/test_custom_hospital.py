"""The README's "Configuring a real hospital" walkthrough, step by step through the CLI, on a hospital
no preset was written for (#18): a MariaDB HIS in GBK whose dispensing rows each carry their own unit
(门诊 by the 盒, 住院 by the 片), a PostgreSQL warehouse whose lines come in 盒, 片, 箱 (with the line's
own factor) and 瓶 (with none), and the bureau's sheets as they come. From ``queries template``,
through ``check`` (a first draft named wrong column by column, then right), the imports, ``poll``
and ``backfill``, to the monthly report, whose figures are computed here by hand."""

from __future__ import annotations

import tomllib
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pyodbc
import pytest
from openpyxl import load_workbook

from agent.cli import main
from agent.clock import FakeClock
from tests.conftest import PG_HOST, PG_USER
from tests.sheets_catalogue import bureau_xlsx

pytestmark = [pytest.mark.mariadb]
TZ = ZoneInfo("Asia/Shanghai")
CLOCK = FakeClock(datetime(2026, 11, 2, 9, 0, tzinfo=TZ), TZ)
OCTOBER = [date(2026, 10, d) for d in range(1, 32)]
CHECK_DAY = "2026-10-20"

# -- the hospital's own databases ----------------------------------------------------------------
HIS_DDL = [
    "CREATE TABLE yk_ypzd (ypdm VARCHAR(20) PRIMARY KEY, ypmc VARCHAR(100), tymc VARCHAR(100), jxmc VARCHAR(30),"
    " ypgg VARCHAR(60), sccj VARCHAR(100), jldw VARCHAR(10), bzdw VARCHAR(10), bzsl DECIMAL(10,2), ybdm VARCHAR(30),"
    " lsj DECIMAL(12,4))",
    "CREATE TABLE ks_zd (ksdm VARCHAR(10) PRIMARY KEY, ksmc VARCHAR(50))",
    "CREATE TABLE yf_fymx (fyid BIGINT PRIMARY KEY, fysj DATETIME NOT NULL, ypdm VARCHAR(20), ksdm VARCHAR(10),"
    " lx CHAR(1), sl DECIMAL(12,2), dw VARCHAR(10), je DECIMAL(14,2), brid VARCHAR(20), INDEX ix_fysj (fysj))",
]
ITEMS = [  # 计价单位 (jldw) is the HIS unit: 片 for A001, 盒 for A002
    ("A001", "阿托伐他汀钙片（阿乐）", "阿托伐他汀钙", "片剂", "20mg*14片/盒", "北京嘉林药业股份有限公司", "片", "盒", 14, None, "2.80"),
    ("A002", "苯磺酸氨氯地平片", "苯磺酸氨氯地平", "片剂", "5mg*28片/盒", "浙江京新药业股份有限公司", "盒", "盒", 28, None, "4.20"),
]
WH_DDL = [
    "CREATE TABLE rk_zb (rkdh VARCHAR(20) PRIMARY KEY, gysmc VARCHAR(100), yssj TIMESTAMP, sfpt CHAR(1), fph VARCHAR(30),"
    " psdh VARCHAR(30))",
    "CREATE TABLE rk_mxb (mxid BIGINT PRIMARY KEY, rkdh VARCHAR(20) NOT NULL, ypdm VARCHAR(20), rksl NUMERIC(12,2),"
    " rkdw VARCHAR(10), hsxs NUMERIC(10,2), ph VARCHAR(30), yxq DATE, dj NUMERIC(12,4), zfbz CHAR(1), xgsj TIMESTAMP NOT NULL,"
    " ptpsmx VARCHAR(40), ptddh VARCHAR(40))",
    "CREATE INDEX ix_rk_mxb_xgsj ON rk_mxb (xgsj, mxid)",
]
BILLS = [("RK1001", "国药控股吉林有限公司", "2026-10-08 10:00", "Y"), ("RK1002", "华润吉林医药有限公司", "2026-10-20 09:30", "Y"),
         ("RK1003", "本地药店", "2026-10-21 15:00", "N")]
LINES = [  # mxid, bill, item, quantity, unit, own factor, voided, changed
    (1, "RK1001", "A001", 50, "盒", None, "0", "2026-10-08 10:05"),  # the spec's 盒 of 14: 700 片
    (2, "RK1001", "A001", 100, "片", None, "0", "2026-10-08 10:05"),  # the HIS unit: 100 片
    (3, "RK1001", "A002", 10, "盒", None, "0", "2026-10-08 10:05"),  # the HIS unit, factor 28: 280 片
    (4, "RK1002", "A002", 2, "箱", 560, "0", "2026-10-20 09:40"),  # its own factor: 1,120 片
    (5, "RK1002", "A002", 3, "瓶", None, "0", "2026-10-20 09:40"),  # a 瓶 the spec does not name: not counted
    (6, "RK1002", "A001", 999, "盒", None, "1", "2026-10-20 09:45"),  # a voided duplicate
    (7, "RK1003", "A001", 20, "盒", None, "0", "2026-10-21 15:05"),  # bought off the platform
]

# -- what the hospital's IT writes: a first draft, then the corrected queries -------------------------
CONVERTED = "CASE WHEN f.dw = d.jldw THEN f.sl WHEN f.dw = d.bzdw THEN f.sl * d.bzsl ELSE f.sl / d.bzsl END"
USAGE = f"""
SELECT CAST(f.fysj AS DATE) AS day, f.ypdm AS item_code, f.ksdm AS dept_code,
       CASE f.lx WHEN '1' THEN 'outpatient' WHEN '2' THEN 'emergency' ELSE 'inpatient' END AS setting,
       SUM({CONVERTED}) AS quantity, SUM(f.je) AS amount, COUNT(*) AS `lines`
FROM yf_fymx f JOIN yk_ypzd d ON d.ypdm = f.ypdm
WHERE f.fysj >= :day_from AND f.fysj < :day_to_next
GROUP BY CAST(f.fysj AS DATE), f.ypdm, f.ksdm, f.lx
"""
DAY_TOTALS = f"""
SELECT CAST(f.fysj AS DATE) AS day, COUNT(*) AS `lines`, SUM({CONVERTED}) AS quantity
FROM yf_fymx f JOIN yk_ypzd d ON d.ypdm = f.ypdm
WHERE f.fysj >= :day_from AND f.fysj < :day_to_next
GROUP BY CAST(f.fysj AS DATE)
"""
ITEMS_SQL = """
SELECT d.ypdm AS code, d.ypmc AS name, d.tymc AS generic_name, d.jxmc AS dosage_form, d.ypgg AS spec,
       d.sccj AS manufacturer, d.jldw AS his_unit, CASE WHEN d.jldw = d.bzdw THEN d.bzsl ELSE 1 END AS pack_factor,
       d.ybdm AS national_code, d.lsj AS price
FROM yk_ypzd d
"""
DEPARTMENTS = "SELECT ksdm AS code, ksmc AS name FROM ks_zd"
RECEIPTS = """
SELECT m.mxid AS line_id, m.xgsj AS changed_at, m.ypdm AS item_code, m.rksl AS quantity, m.rkdw AS unit, m.ph AS lot,
       m.yxq AS expiry, z.gysmc AS distributor, z.yssj AS accepted_at, m.ptpsmx AS delivery_id, m.ptddh AS order_id,
       z.fph AS invoice_no, m.dj AS unit_price, z.sfpt AS on_platform, m.zfbz AS deleted, z.psdh AS delivery_note_no,
       z.rkdh AS receipt_no, m.hsxs AS pack_factor
FROM rk_mxb m JOIN rk_zb z ON z.rkdh = m.rkdh
WHERE (m.xgsj > :since_ts OR (m.xgsj = :since_ts AND m.mxid > :since_id)) AND m.xgsj <= :until
ORDER BY m.xgsj, m.mxid
LIMIT :limit
"""
DRAFT = {  # the mistakes a first try makes: raw quantities in the row's own unit, a column out of place ...
    "usage": USAGE.replace(f"SUM({CONVERTED}) AS quantity", "SUM(f.sl) AS quantity"),
    "day_totals": DAY_TOTALS.replace(f"COUNT(*) AS `lines`, SUM({CONVERTED}) AS quantity",
                                     f"SUM({CONVERTED}) AS quantity, COUNT(*) AS `lines`"),
    "items": ITEMS_SQL.replace("CASE WHEN d.jldw = d.bzdw THEN d.bzsl ELSE 1 END AS pack_factor", "d.bzsl AS pack_factor"),
    "receipts": RECEIPTS.replace("z.yssj AS accepted_at", "z.yssj AS accept_time"),
}

# -- the bureau's sheets ----------------------------------------------------------------------------
WINNERS = [[1, "阿托伐他汀钙片", "片剂", "20mg*14片/盒", 14, "北京嘉林药业股份有限公司", "¥39.20"],
           [2, "苯磺酸氨氯地平片", "片剂", "5mg*28片/盒", 28, "浙江京新药业股份有限公司", "0.15元/片"]]
VOLUMES = [[1, "H22010200077", "示例县人民医院", "阿托伐他汀钙片", "20mg*14片/盒", "北京嘉林药业股份有限公司", "1,000"],
           [2, "H22010200077", "示例县人民医院", "苯磺酸氨氯地平片", "5mg*28片/盒", "浙江京新药业股份有限公司", "500"]]


def _his(odbc: str, database: str) -> None:
    admin = pyodbc.connect("Driver={MariaDB Unicode};Server=127.0.0.1;Port=3306;UID=root;PWD=;", autocommit=True)
    admin.execute(f"ALTER DATABASE `{database}` CHARACTER SET gbk")
    admin.close()
    conn = pyodbc.connect(odbc, autocommit=True)
    conn.setdecoding(pyodbc.SQL_CHAR, encoding="utf-8")
    conn.setencoding(encoding="utf-8")
    cur = conn.cursor()
    for ddl in HIS_DDL:
        cur.execute(ddl)
    cur.executemany("INSERT INTO yk_ypzd VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", ITEMS)
    cur.executemany("INSERT INTO ks_zd VALUES (?, ?)", [("0101", "心血管内科"), ("0201", "呼吸内科病区")])
    rows, n = [], 0
    for day in OCTOBER:
        at = f"{day.isoformat()} 10:{day.day:02d}:00"
        for item, dept, lx, qty, unit, amount in (("A001", "0101", "1", 2, "盒", "78.40"), ("A001", "0201", "3", 10, "片", "28.00"),
                                                  ("A002", "0101", "1", 1, "盒", "4.20"), ("A002", "0201", "3", 14, "片", "2.10")):
            n += 1
            rows.append((n, at, item, dept, lx, qty, unit, amount, f"CANARY{n:05d}"))
    rows.append((n + 1, "2026-10-15 16:00:00", "A001", "0201", "3", -5, "片", "-14.00", "CANARY-RETURN"))  # 退药
    cur.executemany("INSERT INTO yf_fymx VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    conn.close()


def _warehouse(schema: str) -> None:
    with psycopg.connect(host=PG_HOST, user=PG_USER, dbname="test", autocommit=True,
                         options=f"-csearch_path={schema}") as conn:
        for ddl in WH_DDL:
            conn.execute(ddl)
        for bill, supplier, accepted, online in BILLS:
            conn.execute("INSERT INTO rk_zb VALUES (%s, %s, %s, %s, NULL, NULL)", (bill, supplier, accepted, online))
        for mxid, bill, item, qty, unit, factor, voided, changed in LINES:
            conn.execute("INSERT INTO rk_mxb VALUES (%s, %s, %s, %s, %s, %s, %s, '2028-06-30', NULL, %s, %s, NULL, NULL)",
                         (mxid, bill, item, qty, unit, factor, f"PH{mxid}", voided, changed))


def _config(path: Path, state: Path, his_odbc: str, wh_odbc: str, his_queries: dict[str, str],
            wh_queries: dict[str, str], capsys: Any) -> None:
    """The config the README has one write: the two template blocks, the connection and the queries."""
    blocks = []
    for kind, dialect, odbc, queries in (("his", "mysql", his_odbc, his_queries), ("warehouse", "postgres", wh_odbc, wh_queries)):
        assert main(["queries", "template", "--kind", kind, "--dialect", dialect]) == 0
        block = tomllib.loads(capsys.readouterr().out)["sources"][0]
        assert set(queries) <= set(block["queries"]) and block["options"] == {"dialect": dialect}
        user = "root" if kind == "his" else PG_USER  # the read-only login; its password would go in password_env
        odbc = odbc.replace("UID=root;PWD=;", "").replace(f"UID={PG_USER};", "")
        lines = ["[[sources]]", f'name = "{kind}"', f'kind = "{kind}"', 'preset = "custom"', f'connection = "{odbc}"',
                 f'user = "{user}"',
                 'off_peak_hours = "00:00-24:00"', "backfill_pause_s = 0"]
        if kind == "his":
            lines.append('encoding = "gbk"')
        lines += ["", "[sources.options]", f'dialect = "{dialect}"', "", "[sources.queries]"]
        lines += [f'{name} = """{sql}"""' for name, sql in queries.items()]
        blocks.append("\n".join(lines))
    path.write_text(f"""[hospital]
code = "H22010200077"
name = "示例县人民医院"
timezone = "Asia/Shanghai"

[state]
directory = "{state}"

[logging]
level = "warning"

""" + "\n\n".join(blocks) + "\n", encoding="utf-8")


def _run(config: Path, capsys: Any, *argv: str) -> tuple[int, str]:
    code = main(["-c", str(config), *argv], clock=CLOCK)
    out = capsys.readouterr()
    return code, out.out + out.err


def test_a_hospital_no_preset_fits_connects_by_the_readme_and_gets_its_monthly_report(
        request: pytest.FixtureRequest, tmp_path: Path, capsys: Any) -> None:
    his_odbc = request.getfixturevalue("mariadb_odbc")
    _his(his_odbc, request.getfixturevalue("mariadb_db"))
    wh_odbc = request.getfixturevalue("pg_odbc")
    _warehouse(request.getfixturevalue("pg_schema"))
    config, state = tmp_path / "agent.toml", tmp_path / "state"

    # 1-2. the template, filled with a first draft; the file is valid, `check` names every mistake
    his_draft = {k: DRAFT[k] for k in ("usage", "day_totals", "items")} | {"departments": DEPARTMENTS}
    _config(config, state, his_odbc, wh_odbc, his_draft, {"receipts": DRAFT["receipts"]}, capsys)
    code, out = _run(config, capsys, "config", "check", "-q")
    assert code == 0, out
    code, out = _run(config, capsys, "check", "--day", CHECK_DAY)
    assert code == 1, out
    said = out.splitlines()
    assert "  his: usage.quantity 单位不对：数量似乎按包装计（每包装一个），应按 items.his_unit 计，共 1 个药品：A001" \
           "（阿托伐他汀钙片（阿乐） 20mg*14片/盒）1 组 金额/数量 = 39.2 元，字典单价 2.8 元/片，相差 14 倍" in out
    assert any(line.startswith("  his: usage.quantity 单位不对：数量似乎按最小单位计") and "A002" in line for line in said)
    assert "  his: day_totals.quantity 列顺序不对：第2列应为 lines，查询返回的是 quantity（按契约的顺序排列 SELECT 的列）" in said
    assert "A001（阿托伐他汀钙片（阿乐） 20mg*14片/盒，单位 片）应为 1，查询返回 14" in out
    assert any(line.startswith("  warehouse: receipts.accepted_at 缺少列 accepted_at") for line in said)
    assert "  warehouse: receipts.accept_time 多出列 accept_time：契约中没有这一列，请删除或改用契约中的列名（AS 名）" in said

    # 3. the corrected queries: the contract holds; the one 瓶 line is shown, not guessed
    his = {"usage": USAGE, "day_totals": DAY_TOTALS, "items": ITEMS_SQL, "departments": DEPARTMENTS}
    _config(config, state, his_odbc, wh_odbc, his, {"receipts": RECEIPTS}, capsys)
    code, out = _run(config, capsys, "check", "--day", CHECK_DAY)
    assert code == 0, out
    assert "  his: 全部查询符合契约" in out and "  warehouse: 全部查询符合契约" in out
    assert ("  warehouse: receipts.unit 注意：入库单位无法换算为最小单位 1 行，这些行不计入按验收完成进度：行 5 药品 A002"
            "（苯磺酸氨氯地平片 5mg*28片/盒）单位“瓶”。") in out

    # 4. the bureau's sheets as they come: merged titles, the header on row 3, units in words, footnotes
    winners = bureau_xlsx(tmp_path / "附件4.xlsx", ["序号", "通用名", "剂型", "规格", "包装数量", "生产企业", "中选价格"], WINNERS)
    volumes = bureau_xlsx(tmp_path / "附件5.xlsx", ["序号", "医疗机构代码", "医疗机构名称", "通用名", "规格", "生产企业",
                                                   "约定采购量（最小包装）"], VOLUMES)
    code, out = _run(config, capsys, "import", "winners", str(winners), "--programme", "第十批", "--kind", "drug", "--level",
                     "national", "--cycle-start", "2026-10-01", "--cycle-end", "2028-09-30", "--yes")
    assert code == 0 and "拒绝0" in out.replace(" ", ""), out
    code, out = _run(config, capsys, "import", "volumes", str(volumes), "--programme", "第十批", "--year", "1", "--yes")
    assert code == 0 and "新增2" in out and "拒绝0" in out, out

    # 5. read once (dictionaries, 对码, receipts), then the month's usage
    code, out = _run(config, capsys, "poll")
    assert code == 0 and "warehouse: 入库明细 读取7行" in out and "隔离0" in out, out
    code, out = _run(config, capsys, "backfill", "--from", "2026-10-01", "--to", "2026-10-31")
    assert code == 0 and "his: 31 days" in out and "0 quarantined" in out, out
    code, out = _run(config, capsys, "map", "list", "--group", "阿托伐他汀钙片")
    assert "阿托伐他汀钙片（阿乐）" in out, out  # the GBK name, read right

    # 6. the monthly report, its figures computed by hand
    report = tmp_path / "带量执行报表-2026-10.xlsx"
    code, out = _run(config, capsys, "report", "monthly", "--month", "2026-10", "--out", str(report))
    assert code == 0, out
    sheet = load_workbook(report)["产品明细"]
    head = [c.value for c in sheet[1]]
    rows = {r[head.index("通用名")]: dict(zip(head, r, strict=True)) for r in sheet.iter_rows(min_row=2, values_only=True)}
    atorva, amlo = rows["阿托伐他汀钙片"], rows["苯磺酸氨氯地平片"]
    assert atorva["约定采购量"] == 1000 * 14 and amlo["约定采购量"] == 500 * 28  # 最小包装 = the 盒
    assert atorva["中选价格（元）"] == pytest.approx(39.20 / 14) and amlo["中选价格（元）"] == pytest.approx(0.15)
    # usage: A001 2盒 (28 片) + 10片 a day, less a 5片 return; A002 1盒 + 14片 (half a 盒) a day
    assert atorva["已采购量"] == pytest.approx(31 * 38 - 5) and amlo["已采购量"] == pytest.approx(31 * 42)
    # acceptance: 50盒 x 14 + 100片 (the void and the off-platform lines left out); 10盒 x 28 + 2箱 x 560, the 3瓶 shown
    assert atorva["已验收"] == pytest.approx(800) and not atorva["入库单位无法换算（行）"]
    assert amlo["已验收"] == pytest.approx(1400) and amlo["入库单位无法换算（行）"] == 1
    assert b"CANARY" not in (state / "state.db").read_bytes()
