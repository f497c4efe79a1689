"""The console on a real formulary: 2,000 winning products in five programmes, 5,000 local items,
60 departments, two years of daily usage, a year of daily progress snapshots, alerts, a review
queue and an audit log, in a SQLite store written through the repositories. Each page is fetched
over HTTP from the console (uvicorn on loopback, logged in), and, as the baseline measured in the
same run, the page's data is read alone (its view over the repositories, no template, no HTTP).
The last line is one JSON object: per page p50/p95 of both, and the worst page's p50_ms / p95_ms.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from agent.bootstrap import build, build_monitoring_inputs
from agent.clock import DEFAULT_TZ, FakeClock
from agent.config import parse_config
from agent.console import views
from agent.console.auth import add_user
from agent.console.serve import serve_in_thread
from agent.domain.alerting import Alert
from agent.domain.catalogue import Kind, Level, Programme, WinningProduct
from agent.domain.monitoring_model import ProductYear
from agent.domain.progress import ProductProgress, Status
from agent.store import alerts, catalogue, console, dictionaries, mappings, monitoring, usage

SCALE = int(os.environ.get("BENCH_CONSOLE_DIVIDE", "1"))  # 10: a tenth of the data, to try the bench quickly
PRODUCTS, ITEMS, DEPTS = 2000 // SCALE, 5000 // SCALE, 60
TODAY = date(2026, 10, 31)
FIRST = TODAY - timedelta(days=729)
SNAPSHOT_DAYS = 365
STARTS = [date(2025, 11, 1), date(2026, 1, 1), date(2026, 3, 1), date(2026, 5, 1), date(2026, 7, 1)]
RUNS, WARMUP = 20, 2
NOW = datetime.combine(TODAY, datetime.min.time()).replace(hour=9, tzinfo=DEFAULT_TZ)
H = "H0001"


def _progress(py: ProductYear, as_of: date, rng: random.Random) -> ProductProgress:
    elapsed = max(0.0, min(1.0, ((as_of - py.year_start).days + 1) / ((py.year_end - py.year_start).days + 1)))
    completion = elapsed * rng.uniform(0.3, 1.4)
    status = Status.ZERO if completion == 0 else (Status.BEHIND if completion < elapsed * 0.8 else Status.NORMAL)
    used = completion * py.agreed_qty
    return ProductProgress(py, as_of, used, used * 0.5, completion, elapsed, 0.0, 0.0, 0, 0.0, 0.0, 0.0, completion, status,
                           accepted=used * 1.02, accepted_completion=completion * 1.02)


def populate(rt) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    rng = random.Random(22)
    years: list[ProductYear] = []
    with rt.store.begin() as conn:
        dictionaries.replace_departments(conn, H, "his", [(f"D{d:02d}", f"科室{d:02d}") for d in range(DEPTS)], NOW)
        for n, start in enumerate(STARTS):
            name = f"第{n + 5}批国家组织药品集采"
            prog = Programme(name, Kind.DRUG, Level.NATIONAL, start, start + timedelta(days=2 * 365 - 1))
            catalogue.save_programme(conn, H, prog, NOW)
            for i in range(PRODUCTS // len(STARTS)):
                k = n * (PRODUCTS // len(STARTS)) + i
                p = WinningProduct(f"通用名{k // 3:04d}", "片", f"{10 + k % 3 * 10}mg*28片", f"企业{k:04d}", pack=Decimal(28),
                                   smallest_unit="片", national_code=f"XA{k:021d}", price=Decimal("12.5"))
                catalogue.upsert_product(conn, H, name, p, f"附件!{i + 3}", 1, NOW, None)
                agreed = rng.randint(2_000, 200_000)
                for y in prog.agreement_years():
                    catalogue.upsert_volume(conn, H, name, y.number, p.product_key, {
                        "quantity": Decimal(agreed), "source_quantity": None, "source_unit": None, "factor": None}, NOW)
                    years.append(ProductYear(p.product_key, p.group_key, p.generic_name, name, y.start, y.end, agreed,
                                             spec=p.spec or "", manufacturer=p.manufacturer))
        products = catalogue.winning_products(conn, H)
        for j in range(ITEMS):
            w = products[j % PRODUCTS]
            winning = j < PRODUCTS
            status = "auto" if winning or j % 10 else "review"
            mappings.insert_mapping(conn, H, f"Y{j:05d}", {
                "item_name": f"{w.product.generic_name}片({'中选' if winning else f'厂家{j}'})",
                "item": {"spec": w.product.spec, "manufacturer": w.product.manufacturer if winning else f"厂家{j}", "his_unit": "盒"},
                "status": status, "product_key": w.product_key if winning else None, "group_key": w.group_key,
                "confidence": 0.95 if status == "auto" else 0.6, "reason": "通用名、剂型、规格一致",
                "candidates": [{"product_key": w.product_key, "group_key": w.group_key, "reasons": ["通用名一致"], "score": 0.6}],
                "factor": Decimal(28), "factor_source": "spec", "updated_at": NOW})
    for first in range(0, 730, 30):
        a, b = FIRST + timedelta(days=first), min(TODAY, FIRST + timedelta(days=first + 29))
        merged = {}
        d = a
        while d <= b:
            for j in range(ITEMS):
                if rng.random() < 0.25:
                    merged[(d, f"Y{j:05d}", f"D{rng.randrange(DEPTS):02d}", "outpatient", "")] = [
                        Decimal(rng.randint(1, 40)), Decimal(rng.randint(10, 400)), rng.randint(1, 9)]
            d += timedelta(days=1)
        days = [a + timedelta(days=i) for i in range((b - a).days + 1)]
        with rt.store.begin() as conn:
            usage.replace_days(conn, H, "his", a, b, merged, [usage.DayTotal(x, 100, Decimal(100), 10) for x in days], NOW)
    for k in range(SNAPSHOT_DAYS):
        as_of = TODAY - timedelta(days=SNAPSHOT_DAYS - 1 - k)
        current = [py for py in years if py.year_start <= as_of <= py.year_end]
        with rt.store.begin() as conn:
            monitoring.write_progress(conn, H, [_progress(py, as_of, rng) for py in current], NOW)
    with rt.store.begin() as conn:
        for i in range(80):
            a = Alert(key=f"behind_schedule:{products[i].product_key}", rule="behind_schedule", subject=products[i].product_key,
                      severity=("critical", "warning", "info")[i % 3], title=f"{products[i].product.generic_name} 完成进度低于序时进度",
                      labels={"programme": products[i].programme}, values={"completion": 0.2, "time_progress": 0.5},
                      evidence={"departments": ["科室01", "科室02"]}, status="firing" if i < 60 else "inactive",
                      fired_at=NOW - timedelta(days=i), resolved_at=None if i < 60 else NOW - timedelta(days=1))
            alerts.save_alert(conn, H, a, NOW)
        for i in range(2000):
            console.record(conn, H, NOW - timedelta(minutes=i), "li", "ack", f"k{i}", {"by": "李药师"}, "127.0.0.1")
    return products[0].product_key, f"behind_schedule:{products[0].product_key}"


def percentiles(samples: list[float]) -> tuple[float, float]:
    s = sorted(samples)
    return round(statistics.median(s), 1), round(s[min(len(s) - 1, int(round(0.95 * (len(s) - 1))))], 1)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = parse_config({"hospital": {"code": H, "name": "基准医院"}, "state": {"directory": tmp},
                            "sources": [{"name": "his", "kind": "his", "preset": "mssql_his", "connection": "Driver={SQLite3};Database=x;"}]},
                           "bench.toml")
        rt = build(cfg, FakeClock(NOW))
        t0 = time.perf_counter()
        product_key, alert_key = populate(rt)
        print(f"store written in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        add_user(rt.store, "bench", "admin", "bench-password", NOW)
        con = views.Console(rt, build_monitoring_inputs(rt))
        served = serve_in_thread(con, port=0)
        pages = {
            "/": (views.overview, {}),
            "/products": (views.products, {}),
            "/products?status=低于序时进度&sort=gap": (views.products, {"status": "低于序时进度", "sort": "gap"}),
            "/products?dept=D07": (views.products, {"dept": "D07"}),
            f"/product?key={quote(product_key)}": (views.product, {"key": product_key}),
            "/alerts": (views.alerts, {}),
            f"/alert?key={quote(alert_key)}": (views.alert, {"key": alert_key}),
            "/receipts": (views.receipts, {}),
            "/mapping": (views.mapping, {}),
            "/reports": (views.reports, {}),
            "/sources": (views.sources, {}),
            "/audit": (views.audit, {}),
        }
        out = {}
        with httpx.Client(base_url=served.url, timeout=30) as client:
            page = client.get("/login")
            csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
            r = client.post("/login", data={"username": "bench", "password": "bench-password", "csrf": csrf, "next": "/"})
            assert r.status_code == 303, (r.status_code, r.text[-2000:])
            for path, (view, params) in pages.items():
                http, data = [], []
                for i in range(WARMUP + RUNS):
                    t = time.perf_counter()
                    r = client.get(path)
                    assert r.status_code == 200, (path, r.status_code)
                    if i >= WARMUP:
                        http.append((time.perf_counter() - t) * 1000)
                for i in range(WARMUP + RUNS):
                    t = time.perf_counter()
                    view(con, **params)
                    if i >= WARMUP:
                        data.append((time.perf_counter() - t) * 1000)
                (p50, p95), (d50, d95) = percentiles(http), percentiles(data)
                out[path] = {"p50_ms": p50, "p95_ms": p95, "queries_p50_ms": d50, "queries_p95_ms": d95, "kb": len(r.content) // 1024}
                print(f"{path:45} page p50 {p50:7.1f} p95 {p95:7.1f} ms   queries alone p50 {d50:7.1f} p95 {d95:7.1f} ms", file=sys.stderr)
        served.stop()
        rt.close()
    print(json.dumps({"products": PRODUCTS, "items": ITEMS, "usage_days": 730, "pages": out,
                      "p50_ms": max(v["p50_ms"] for v in out.values()), "p95_ms": max(v["p95_ms"] for v in out.values()),
                      "queries_p95_ms": max(v["queries_p95_ms"] for v in out.values()),
                      "under_300ms": all(v["p95_ms"] < 300 for v in out.values())}, ensure_ascii=False))


if __name__ == "__main__":
    main()
