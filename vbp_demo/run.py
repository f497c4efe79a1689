"""``make demo``: a simulated hospital, the real daemon's jobs, 91 days on an accelerated clock.

What it builds (deterministic for a seed), all on this machine:
- a HIS (``mssql_his`` preset) and a warehouse (``warehouse_std``) in one SQLite file, read through
  the SQLite ODBC driver exactly as a real hospital's databases are read;
- the bureau's spreadsheets (winning products, agreed volumes), imported with ``vbp-agent import``;
- the reference provincial platform on loopback, holding a delivery line for every receipt;
- a WeCom-like robot sink on loopback that prints what the pharmacy group would read.

Five problems are planted: a concentrated non-winning rise, one rival product (立普妥) in one
department (心血管内科) from day 60, the cell the alert names (nothing else rises: the quiet 国庆
holidays raise no alert), a group's non-winning use stopped everywhere (西力欣, 头孢呋辛酯片's one
rival, dispensed nowhere from day 70: 一刀切停用, a notice 14 days later),
an arrival confirmation that would be late (the platform is down for 22 hours after one
acceptance), a winning product (硫酸氢氯吡格雷片) far behind its time progress (序时进度), and a
winning product (奥美拉唑肠溶胶囊) restocked at 1.6 times its use, whose completion by acceptance
(按验收, what the bureau sees) runs far ahead of its completion by usage (按使用). The warehouse
otherwise restocks what was used, a few days behind, so the two measures stay close.

The HIS dictionary also holds items written as real dictionaries write them (``DICTIONARY_NOISE``
in ``adapters.sim.catalogue``: 剂型 as 片剂(缓释) / 注射用无菌粉末 / blank, former names like 菌必治,
trade names alone like 可定); step 9 shows each in the group 对码 gave it, and the map check.

For the bureau's other tables (#21): atorvastatin's agreed volume is split across departments by
their use, except 普通外科, given three times its share (a department far behind), and the HIS's 医保
interface log holds every day's 3503/3505 uploads, one sale day uploaded two days late and one
purchase day whose upload failed.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from adapters.sim.catalogue import expected_groups
from adapters.sim.sqlite_hospital import Plan, PlantedReceipt, build_sqlite_hospital
from agent.bootstrap import build, build_jobs, build_monitoring_inputs
from agent.catalogue.checks import group_findings
from agent.cli import main as cli
from agent.cli.table import table
from agent.clock import DEFAULT_TZ, FakeClock
from agent.config import load_config
from agent.logging import configure
from agent.notify.sink import WeComSink
from agent.service.metrics import Metrics
from agent.service.runner import JobRunner
from agent.service.simulate import SimulatedScheduler
from agent.store import mappings
from agent.store.bureau import open_findings
from agent.store.monitoring import last_progress_day, progress_on
from vbp_demo import clocks
from vbp_demo import consumables as stents
from vbp_demo.console import show_console

START = date(2026, 8, 3)  # the agent is installed and starts running
DAYS = 91
HISTORY = 120  # days of HIS history before START, read by `vbp-agent backfill` (the agreement year starts there)
PROGRAMME = "第十批国家组织药品集采"
HOSPITAL = ("H22010200001", "示例市第一人民医院")
RISE_ITEM, RISE_DEPT, RISE_DAY = "Y00002", "0101", 60  # 阿托伐他汀钙片(立普妥), 心血管内科
STOP_ITEM, STOP_DAY = "Y00018", 70  # 头孢呋辛酯片(西力欣), the group's one rival: dispensed nowhere from day 70 (一刀切)
BEHIND_ITEM = "Y00009"  # 硫酸氢氯吡格雷片 (winning): agreed volume set far above its pace
PILE_ITEM, PILE_FACTOR = "Y00013", 1.6  # 奥美拉唑肠溶胶囊 (winning): restocked at 1.6x its use, stock piles up
ALLOC_ITEM, ALLOC_BEHIND = "Y00001", "0201"  # 阿托伐他汀钙片 split by use, but 普通外科 given 3 times its share
UPLOAD_LATE_DAY, UPLOAD_FAILED_DAY = 20, 50  # 医保进销存: a 3505 day uploaded two days late, a 3503 day failed
LATE_DAY, LATE_HOUR, OUTAGE_H = 40, 10, 26  # the acceptance whose confirmation the outage delays
DEMO_INTERVAL_S = 3600  # on the accelerated clock, a job runs at most hourly
CLUE_MONTH = "2026-10"  # the month of the planted clues: an order unanswered, a late delivery, stents off the platform


@dataclass
class Demo:
    workdir: Path
    seed: int = 20261125

    def path(self, name: str) -> Path:
        return self.workdir / name


def _say(text: str) -> None:
    print(text, flush=True)


def _late_receipt() -> PlantedReceipt:
    at = datetime.combine(START + timedelta(days=LATE_DAY), datetime.min.time()).replace(hour=LATE_HOUR, tzinfo=DEFAULT_TZ)
    return PlantedReceipt("Y00005", Decimal(40), at, delivery_id="SHPLATE0001", order_id="ORDLATE0001")


def write_bureau_sheets(demo: Demo, hospital: Any) -> tuple[Path, Path]:
    """The bureau's 附件: winning products and this hospital's agreed volumes (smallest units)."""
    winners, volumes = demo.path("中选产品清单.xlsx"), demo.path("约定采购量.xlsx")
    expected = hospital.expected_usage(START - timedelta(days=HISTORY), START + timedelta(days=DAYS - 1))
    used: dict[str, Decimal] = {}
    for (_day, code, _dept, _setting), (qty, _lines) in expected.items():
        used[code] = used.get(code, Decimal(0)) + qty
    wb = Workbook()
    ws = wb.active
    ws.title = "附件4"
    ws.append([f"{PROGRAMME}中选结果"])
    ws.append(["序号", "通用名", "剂型", "规格", "包装数量", "最小制剂单位", "生产企业", "医保代码", "中选价格"])
    vb = Workbook()
    vs = vb.active
    vs.title = "附件5"
    vs.append([f"{PROGRAMME}医疗机构约定采购量"])
    vs.append(["医疗机构名称", "通用名", "规格", "生产企业", "医保代码", "约定采购量（最小制剂单位）"])
    n = 0
    for item in hospital.items:
        if not item.winning or not item.national_code.startswith("X"):
            continue
        n += 1
        unit = "粒" if "胶囊" in item.dosage_form else ("支" if "注射" in item.dosage_form else "片")
        ws.append([n, item.generic_name, item.dosage_form, item.spec, int(item.pack_factor), unit, item.manufacturer,
                   item.national_code, float(item.price)])
        yearly = used.get(item.code, Decimal(0)) * item.pack_factor * Decimal(365) / Decimal(DAYS + HISTORY)
        share = Decimal("2.5") if item.code == BEHIND_ITEM else Decimal("0.7")  # 60-80% of 报量, usual pace: ahead
        vs.append([HOSPITAL[1], item.generic_name, item.spec, item.manufacturer, item.national_code,
                   int((yearly * share).quantize(Decimal(1)))])
    ws.append(["注：价格单位为元/盒。"])
    wb.save(winners)
    vb.save(volumes)
    return winners, volumes


def write_bureau_extras(demo: Demo, hospital: Any, his_db: Path) -> Path:
    """科室分配表 for one product, and the HIS's 医保 interface log of the 进销存 uploads (mssql_his shape)."""
    import sqlite3

    code = next(i.national_code for i in hospital.items if i.code == ALLOC_ITEM)
    used: dict[str, Decimal] = {}
    for (_day, item, dept, _setting), (qty, _lines) in hospital.expected_usage(START - timedelta(days=HISTORY),
                                                                               START + timedelta(days=DAYS - 1)).items():
        if item == ALLOC_ITEM:
            used[dept] = used.get(dept, Decimal(0)) + qty
    total = sum(used.values())
    behind = 3 * used.get(ALLOC_BEHIND, Decimal(0)) / total
    rest = (1 - behind) / (1 - behind / 3)  # the others share what is left, in proportion to their use
    wb = Workbook()
    wb.active.append(["产品编码", "科室编码", "分配比例"])
    for dept, qty in sorted(used.items()):
        wb.active.append([code, dept, float(behind if dept == ALLOC_BEHIND else qty / total * rest)])
    sheet = demo.path("科室分配.xlsx")
    wb.save(sheet)
    rows, n = [], 0
    for d in range(-35, DAYS):
        day = START + timedelta(days=d)
        for infno in ("3503", "3505"):
            n += 1
            late = infno == "3505" and d == UPLOAD_LATE_DAY
            failed = infno == "3503" and d == UPLOAD_FAILED_DAY
            sent = datetime.combine(day + timedelta(days=2 if late else 0), datetime.min.time()).replace(hour=23, minute=30)
            rows.append((n, infno, f"{HOSPITAL[0][:12]}{sent:%Y%m%d%H%M%S}{n % 10000:04d}", day.isoformat(),
                         sent.isoformat(sep=" "), 40, "-1" if failed else "0", "药品追溯码不能为空" if failed else None, None))
    with contextlib.closing(sqlite3.connect(his_db)) as db, db:
        db.executemany("INSERT INTO yb_upload_log (log_id, infno, msgid, biz_date, inf_time, row_count, infcode, err_msg,"
                       " in_param) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return sheet


def write_config(demo: Demo, his_db: Path, platform: Any, sink: Any) -> Path:
    cfg = demo.path("agent.toml")
    # rest_json: the profile that pulls both orders and bills (Zhejiang's has no bill list), for the clocks
    plat = platform.platform_section("rest_json", "VBP_DEMO_PLATFORM_SECRET")
    os.environ["VBP_DEMO_PLATFORM_SECRET"] = platform.secret_of(plat["app_key"])
    os.environ["VBP_DEMO_ROBOT_KEY"] = "demo-robot-key-0001"
    conn = f"Driver={{SQLite3}};Database={his_db};"
    cfg.write_text(f"""
[hospital]
code = "{HOSPITAL[0]}"
name = "{HOSPITAL[1]}"

[state]
directory = "{demo.workdir}"

[logging]
level = "warning"

[console]
external_url = "http://127.0.0.1:8470"  # chat messages end with their alert's page in the demo's console

[[sources]]
name = "his"
kind = "his"
preset = "mssql_his"
connection = "{conn}"
poll_interval_s = 21600
lookback_days = 7
backfill_window_days = 14
backfill_pause_s = 0

[[sources]]
name = "materials"
kind = "his"
preset = "mssql_materials"
connection = "{conn}"
poll_interval_s = 21600
lookback_days = 7
backfill_window_days = 30
backfill_pause_s = 0

[[sources]]
name = "warehouse"
kind = "warehouse"
preset = "warehouse_std"
connection = "{conn}"
poll_interval_s = 3600

[platform]
profile = "{plat['profile']}"
base_url = "{plat['base_url']}"
app_key = "{plat['app_key']}"
secret_env = "VBP_DEMO_PLATFORM_SECRET"
max_rate_per_s = 50.0
sync_lookback_s = 0

[receivers.pharmacy]
type = "wecom"
key_env = "VBP_DEMO_ROBOT_KEY"
api_base = "{sink.url}"

[[routes]]
receivers = ["pharmacy"]
group_wait_s = 0
repeat_interval_s = 604800

[alerts]
digest_receivers = ["pharmacy"]
""", encoding="utf-8")
    return cfg


@contextlib.contextmanager
def _quiet() -> Iterator[io.StringIO]:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
        yield buf


def run_cli(cfg: Path, *argvs: list[str]) -> None:
    """Run ``vbp-agent`` commands as an admin would, showing their last line."""
    for argv in argvs:
        with _quiet() as out:
            code = cli(["-c", str(cfg), *argv])
        lines = [line for line in out.getvalue().splitlines() if line.strip() and "\r" not in line]
        if code != 0:
            raise SystemExit(f"demo: `vbp-agent {' '.join(argv[:2])}` failed:\n{out.getvalue()}")
        _say(f"  vbp-agent {' '.join(argv[:2])}: {lines[-1] if lines else 'ok'}")


def run_demo(workdir: str, seed: int = 20261125) -> None:
    from refplatform import start_reference_platform

    wall = time.monotonic()
    demo = Demo(Path(workdir).resolve(), seed)
    shutil.rmtree(demo.workdir, ignore_errors=True)
    demo.workdir.mkdir(parents=True)
    configure("warning", json=True, stream=io.StringIO())

    first_day = START - timedelta(days=HISTORY)
    _say(f"1. 模拟医院 simulated hospital ({HISTORY + DAYS} days from {first_day}, seed {seed})")
    late = _late_receipt()
    plan = Plan(rise_item=RISE_ITEM, rise_dept=RISE_DEPT, rise_from=START + timedelta(days=RISE_DAY),
                rise_lines_per_day=14, stop_item=STOP_ITEM, stop_from=START + timedelta(days=STOP_DAY),
                receipts=[late, *clocks.planted_receipts(START)], overstock={PILE_ITEM: PILE_FACTOR})
    his_db = demo.path("hospital.sqlite")
    hospital = build_sqlite_hospital(his_db, seed, first_day, HISTORY + DAYS, plan=plan, rows_per_day=300,
                                     rest_day_factor=0.45, replenish=True)
    _say(f"  HIS + warehouse in {his_db}: {len(hospital.dispenses)} dispensing lines, {len(hospital.receipts)} receipt lines")

    charges, stent_receipts, stent_off = stents.write_hospital(his_db, seed, first_day, HISTORY + DAYS, START)
    _say(f"  材料收费明细 (mssql_materials) in the same file: {sum(len(v) for v in charges.values())} stent charge days, "
         f"{len(stent_receipts) + 1} stent receipt lines")

    platform = start_reference_platform(apps={"demo-app": "demo-platform-secret"})
    receipts = [r for r in hospital.receipt_views(DEFAULT_TZ) if r.on_platform]  # 线下采购 has no delivery line
    platform.seed_for_receipts(HOSPITAL[0], [*receipts, *stent_receipts])
    sink = WeComSink(port=0).start()
    _say(f"  reference platform at {platform.url}, {len(receipts)} delivery lines; robot sink at {sink.url}")

    cfg_path = write_config(demo, his_db, platform, sink)
    _say("2. 安装 what the IT admin runs: import the bureau's spreadsheets, read the HIS history")
    winners, volumes = write_bureau_sheets(demo, hospital)
    stent_winners, stent_volumes = stents.write_sheets(demo.workdir, HOSPITAL[1], charges, HISTORY + DAYS)
    events = clocks.platform_events(platform, HOSPITAL[0], START)
    split = write_bureau_extras(demo, hospital, his_db)
    cycle_end = first_day + timedelta(days=2 * 365 - 1)
    run_cli(
        cfg_path,
        ["import", "winners", str(winners), "--programme", PROGRAMME, "--cycle-start", first_day.isoformat(),
         "--cycle-end", cycle_end.isoformat(), "--yes"],
        ["import", "volumes", str(volumes), "--programme", PROGRAMME, "--year", "1", "--yes"],
        ["import", "winners", str(stent_winners), "--programme", stents.PROGRAMME, "--kind", "consumable",
         "--cycle-start", first_day.isoformat(), "--cycle-end", cycle_end.isoformat(), "--yes"],
        ["import", "volumes", str(stent_volumes), "--programme", stents.PROGRAMME, "--year", "1", "--yes"],
        ["backfill", "--from", first_day.isoformat(), "--to", (START - timedelta(days=1)).isoformat()],
        ["import", "declared", str(clocks.declaration_sheet(demo.path("报量表.xlsx"), hospital, volumes)),
         "--programme", PROGRAMME, "--yes"],
        ["allocate", "import", str(split), "--by", "药学部"],
    )

    _say(f"3. 运行 the daemon's jobs on an accelerated clock, {START} → {START + timedelta(days=DAYS)}")
    clock = FakeClock(datetime.combine(START, datetime.min.time()).replace(tzinfo=DEFAULT_TZ))
    runtime = build(load_config(cfg_path), clock)
    metrics = Metrics()
    specs = build_jobs(runtime, metrics)
    for spec in specs:
        if spec.interval_s is not None:
            spec.interval_s = max(spec.interval_s, DEMO_INTERVAL_S)
    clocks.file_off_platform(runtime.store, hospital, START, clock.now())
    stents.file_off_platform(runtime.store, stent_off, datetime.combine(START + timedelta(days=stents.OFF_DAY),
                                                                        datetime.min.time(), DEFAULT_TZ), clock.now())
    runner = JobRunner(runtime.store, clock, metrics)
    sim = SimulatedScheduler(specs, runner, clock)
    outage = (late.accepted_at, late.accepted_at + timedelta(hours=OUTAGE_H))

    def world(a: datetime, b: datetime) -> None:
        if a <= outage[0] < b or (a < outage[0] <= b):
            platform.arm("outage", on=True)
        if a <= outage[1] < b:
            platform.arm("outage", on=False)
        events.run_until(b)

    last_week = [-1]

    def progress(when: datetime) -> None:
        day = (when.date() - START).days
        if day // 7 != last_week[0]:
            last_week[0] = day // 7
            print(f"\r  day {day:3d}/{DAYS}  jobs run {sum(sim.runs.values()):6d}  robot messages {len(sink.messages):3d}",
                  end="", file=sys.stderr, flush=True)

    sim.run_until(clock.now() + timedelta(days=DAYS), before_step=world, on_progress=progress)
    print(file=sys.stderr)
    failing = {n: s.last_error for n, s in runner.states.items() if not s.up}
    _say(f"  {sum(sim.runs.values())} job runs in {time.monotonic() - wall:.0f} s of wall time"
         + (f"; failing now: {failing}" if failing else "; every job healthy"))

    show_results(runtime, sink, platform)
    sink.stop()
    platform.stop()
    _say(f"\n全部文件 everything is in {demo.workdir} (state store, config, spreadsheets, reports).")
    show_console(runtime, cfg_path)
    runtime.close()


def show_results(runtime: Any, sink: Any, platform: Any) -> None:
    store = runtime.store
    with store.read() as conn:
        as_of = last_progress_day(conn, store.hospital_code)
        rows = progress_on(conn, store.hospital_code, as_of, by_completion=True) if as_of else []
    inputs = build_monitoring_inputs(runtime)
    names = {p.product_id: p.name for p in inputs.product_years(as_of, as_of)} if as_of else {}
    _say(f"\n4. 执行进度 progress of each winning product, as of {as_of}: 按使用 (usage, the early warning) "
         "beside 按验收 (acceptance, what the bureau sees)")
    for line in table(("中选产品", "约定采购量", "已使用", "完成进度", "已验收", "验收完成进度", "序时进度", "状态"),
                      [(names.get(r.product_id, r.product_id), f"{r.agreed:,.0f}", f"{r.used:,.0f}", f"{r.completion:.1%}",
                        f"{r.accepted:,.0f}" if r.accepted_completion is not None else "-",
                        f"{r.accepted_completion:.1%}" if r.accepted_completion is not None else "-", f"{r.time_progress:.1%}",
                        r.status) for r in rows], right={1, 2, 3, 4, 5, 6}, indent="  "):
        _say(line)

    _say("\n5. 触发的预警 alerts that fired, as the pharmacy group first read them")
    first_seen: dict[str, str] = {}
    for m in sink.messages:
        lines = m["content"].splitlines()
        for i, line in enumerate(lines):
            if line.startswith("**【集采预警】"):
                title = line.strip("*").removeprefix("【集采预警】")
                start = next((x for x in lines[i + 1:i + 4] if x.startswith("开始：")), "")
                key = title.split("，24小时时限")[0].split("（近")[0].split("即将超时")[0].split("已超时")[0]
                first_seen.setdefault(key, f"{title}  {start}")
    for text in first_seen.values():
        _say(f"  {text}")
    messages = [m["content"] for m in sink.messages]
    alerts = [m for m in messages if "集采晨报" not in m]
    digests = [m for m in messages if "集采晨报" in m]
    _say(f"\n6. 药学部群机器人收到 {len(messages)} 条消息 ({len(alerts)} 条预警/恢复, {len(digests)} 份晨报)。最近的几条预警：")
    for text in alerts[-3:]:
        _say("  " + text.replace("\n", "\n  ") + "\n")
    if digests:
        _say("  最后一份晨报：\n  " + digests[-1].replace("\n", "\n  "))
    reports = sorted((Path(runtime.config.state.directory) / "reports").glob("*.xlsx"))
    _say("\n7. 月度带量执行报表 monthly reports: " + (", ".join(str(p) for p in reports) or "none"))
    confirmed = platform.confirmed()
    _say(f"8. 平台到货确认 arrival confirmations held by the platform: {len(confirmed)}")
    show_mapping(store)
    _say("\n10. 时限与合规 every duty clock that fired, once each (planted: a late order response, a late delivery, an "
         "overdue payment, an unfiled off-platform purchase, an over-priced receipt, a low 报量):")
    for line in clocks.clock_lines(store, DEFAULT_TZ):
        _say(line)
    show_bureau(runtime)


def show_bureau(runtime: Any) -> None:
    """The bureau's other tables (#21): departments far behind their split, 进销存 uploads still open,
    the consumable programme, and the month's shortage and misconduct clues (短缺/违约线索)."""
    from agent.jobs.clues import clue_report
    from agent.reports.clues import write_clues

    store = runtime.store
    with store.read() as conn:
        open_ = [title for _, _, title in open_findings(conn, store.hospital_code, ("dept_behind", "insurance_upload"))]
    _say("\n11. 医保部门的其他报表 the bureau's other tables (#21)")
    _say("  科室分配与医保进销存上传 departments behind their share, 进销存 uploads still open:\n  "
         + ("\n  ".join(open_) or "none") + "\n  （月报的“科室分配进度”“进销存上传”表另计迟报天数）")
    for line in stents.show(runtime, CLUE_MONTH):
        _say(line)
    rep = clue_report(store, runtime.clock, CLUE_MONTH, HOSPITAL[1])
    xlsx, text = write_clues(rep, Path(runtime.config.state.directory) / f"短缺违约线索-{CLUE_MONTH}.xlsx")
    _say(f"  短缺违约线索 clue report for {CLUE_MONTH} ({xlsx.name}, the draft to paste: {text.name}):")
    _say("  " + text.read_text(encoding="utf-8").rstrip().replace("\n", "\n  "))


def show_mapping(store: Any) -> None:
    """对码 of the HIS dictionary as the items job left it: the items written as real dictionaries
    write them (forms HIS-style, a blank 剂型, former names, trade names alone), each in its group."""
    with store.read() as conn:
        rows = mappings.item_mappings(conn, store.hospital_code)
    counts = Counter(r["status"] for r in rows.values())
    _say(f"\n9. 对码 the HIS dictionary, {len(rows)} items: 自动对码{counts['auto']}，非集采{counts['none']}，"
         f"待审核{counts['review']}")
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    lines = []
    for code, (group, cls) in expected_groups().items():
        r = rows.get(code)
        got = None if r is None else r["group_key"]
        right = r is not None and r["status"] in ("auto", "none") and got == group
        per[cls][0] += right
        per[cls][1] += 1
        item = (r or {}).get("name") or code
        lines.append(f"    {'✓' if right else '✗'} {code} {item} → {got or '非集采'}" + ("" if right else f"（应为{group or '非集采'}）"))
    _say("  " + "，".join(f"{cls} {ok}/{n} 分组正确" for cls, (ok, n) in per.items()))
    for line in lines:
        _say(line)
    findings = group_findings(store)
    _say("  分组检查 map check：" + ("未发现可疑分组" if not findings else "；".join(f.message for f in findings)))
