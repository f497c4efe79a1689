"""``make demo``: a small simulated hospital on embedded SQLite, read the way a real one is.

This first version builds a tiny HIS in SQLite, reads a day-by-item usage aggregate through the
SQLite ODBC driver, and opens the state store. The service issue grows it into the full demo.
"""

from __future__ import annotations

import random
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pyodbc

from agent.store import open_store

ITEMS = [
    ("Y0001", "阿托伐他汀钙片 20mg*7片", 1),
    ("Y0002", "阿托伐他汀钙片(立普妥) 20mg*7片", 0),
    ("Y0003", "苯磺酸氨氯地平片 5mg*28片", 1),
    ("Y0004", "络活喜 苯磺酸氨氯地平片 5mg*7片", 0),
]
DEPTS = ["心内科", "内分泌科", "老年病科"]


def build_his(path: Path, days: int = 14, seed: int = 7) -> None:
    rng = random.Random(seed)
    path.unlink(missing_ok=True)
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE drug_dict (code TEXT PRIMARY KEY, name TEXT, winning INTEGER)")
    db.execute(
        "CREATE TABLE op_dispense (id INTEGER PRIMARY KEY, disp_date TEXT, drug_code TEXT, dept TEXT,"
        " patient_id TEXT, qty REAL, amount REAL)"
    )
    db.execute("CREATE INDEX ix_op_dispense_date ON op_dispense (disp_date)")
    db.executemany("INSERT INTO drug_dict VALUES (?,?,?)", ITEMS)
    start = date(2026, 10, 1)
    rows = []
    for d in range(days):
        day = (start + timedelta(days=d)).isoformat()
        for code, _name, winning in ITEMS:
            for dept in DEPTS:
                for _ in range(rng.randint(0, 6 if winning else 2)):
                    qty = rng.choice([1, 1, 2, 3])
                    rows.append((day, code, dept, f"P{rng.randint(1, 999):04d}", qty, qty * (5.2 if winning else 31.0)))
    db.executemany("INSERT INTO op_dispense (disp_date, drug_code, dept, patient_id, qty, amount) VALUES (?,?,?,?,?,?)", rows)
    db.commit()
    db.close()


def run_demo(workdir: str) -> None:
    out = Path(workdir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    his = out / "his.sqlite"
    build_his(his)
    print(f"simulated HIS: {his}")
    conn = pyodbc.connect(f"Driver={{SQLite3}};Database={his}", timeout=5, readonly=True)
    conn.timeout = 30
    cur = conn.cursor()
    cur.execute(
        "SELECT d.code, d.name, d.winning, SUM(o.qty), SUM(o.amount) FROM op_dispense o"
        " JOIN drug_dict d ON d.code = o.drug_code WHERE o.disp_date BETWEEN ? AND ?"
        " GROUP BY d.code, d.name, d.winning ORDER BY d.code",
        "2026-10-01", "2026-10-14",
    )
    print("usage 2026-10-01..2026-10-14, aggregated inside the HIS database (no patient field leaves it):")
    print(f"  {'code':6} {'winning':7} {'qty':>6} {'amount':>9}  name")
    while batch := cur.fetchmany(100):
        for code, name, winning, qty, amount in batch:
            print(f"  {code:6} {'中选' if winning else '非中选':7} {qty:6.0f} {amount:9.2f}  {name}")
    conn.close()
    store = open_store(f"sqlite:///{out / 'state.db'}", "DEMO0001")
    print("state store:", out / "state.db", store.versions())
    store.close()
