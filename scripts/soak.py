"""``make soak``: the daemon's real jobs at their real intervals for SOAK_HOURS simulated hours
(default 24) against PostgreSQL, SOAK_SPEED (default 100) simulated seconds per wall second.

The HIS (``mssql_his``) and warehouse (``warehouse_std``) live in one fresh PostgreSQL schema read
through psqlODBC; the state store is another schema. The simulated hospital writes its rows as the
clock passes them (a hospital does not know tomorrow's prescriptions). The reference platform and
the WeCom-like sink run on loopback. RSS and open descriptors are measured after a warm-up and at
the end. ``lost``: receipts accepted in the run (before a settle margin) that the platform holds no
confirmation (到货确认) for, plus closed days whose stored usage differs from the simulation's truth;
``duplicated``: confirmations the platform refused as repeats or holds for lines never accepted;
``failing``: jobs whose last run failed when the run ends.
The last line printed is that JSON.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg
import pyodbc
from sqlalchemy import select

from adapters.his import mssql_his
from adapters.sim.hospital import Hospital, _local
from adapters.sim.load import Target
from adapters.warehouse import std
from agent.bootstrap import build, build_jobs
from agent.clock import DEFAULT_TZ, FakeClock
from agent.config import load_config
from agent.logging import configure
from agent.service.metrics import Metrics
from agent.service.runner import JobRunner
from agent.service.simulate import SimulatedScheduler
from agent.store.schema.ingest import usage_daily
from vbp_demo.run import Demo, run_cli, write_bureau_sheets, write_config

PG = {"host": os.environ.get("VBP_TEST_PG_HOST", "127.0.0.1"), "user": os.environ.get("VBP_TEST_PG_USER", "postgres"),
      "dbname": "test"}
START = date(2026, 11, 16)  # a Monday, in the past of the database's own clock (the receipt cursor's bound)
START_HOUR = 9  # the agent starts as the warehouse opens, so even a short run sees receipts (入库验收)
HISTORY = 30  # days of HIS rows already there when the agent starts
LOOKBACK = 7
SETTLE = timedelta(minutes=15)  # a receipt committed this close to the end may still be on its way
PROGRAMME = "第十批国家组织药品集采"


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _retrying(what, attempts: int = 30):  # type: ignore[no-untyped-def]
    """PostgreSQL on this machine is shared (a test elsewhere may restart it): wait for it, up to a minute."""
    for n in range(attempts):
        try:
            return what()
        except (psycopg.OperationalError, pyodbc.Error):
            if n == attempts - 1:
                raise
            print("soak: PostgreSQL unreachable, retrying", file=sys.stderr, flush=True)
            time.sleep(2)


def _schema(action: str, name: str) -> None:
    def run() -> None:
        with psycopg.connect(**PG, autocommit=True) as conn:
            conn.execute(f'{action} SCHEMA {"IF EXISTS " if action == "DROP" else ""}"{name}"'
                         + (" CASCADE" if action == "DROP" else ""))

    _retrying(run)


class World:
    """The simulated hospital writing its HIS and warehouse rows as simulated time passes."""

    def __init__(self, odbc: str, hospital: Hospital, start: datetime) -> None:
        self.odbc = odbc
        self.target = Target.odbc(odbc)
        his, wh = hospital.his_rows("mssql_his"), hospital.warehouse_rows()
        self.target.create(mssql_his.PRESET)
        self.target.create(std.PRESET)
        self.target.insert("drug_dict", *his["drug_dict"])
        self.target.insert("dept_dict", *his["dept_dict"])
        bills = {b[0]: b for b in wh["in_bill"][1]}
        self.pending: list[tuple[datetime, str, tuple, list]] = []  # (local time, table, columns, row(s))
        for table in ("op_dispense", "ip_dispense"):
            cols, rows = his[table]
            self.pending += [(r[2], table, cols, [r]) for r in rows]
        by_bill: dict[int, list] = defaultdict(list)
        for d in wh["in_bill_detail"][1]:
            by_bill[d[1]].append(d)
        for bill, details in by_bill.items():  # a bill and its lines commit together, at the lines' modify time
            self.pending.append((details[0][12], "bill", wh["in_bill"][0], [bills[bill], details]))
        self.detail_cols = wh["in_bill_detail"][0]
        self.pending.sort(key=lambda p: p[0])
        self.at = 0
        self.write_until(start)

    def write_until(self, until: datetime) -> None:
        local = _local(until)
        batch: dict[str, tuple[tuple, list]] = {}
        while self.at < len(self.pending) and self.pending[self.at][0] < local:
            _t, table, cols, rows = self.pending[self.at]
            self.at += 1
            if table == "bill":
                batch.setdefault("in_bill", (cols, []))[1].append(rows[0])
                batch.setdefault("in_bill_detail", (self.detail_cols, []))[1].extend(rows[1])
            else:
                batch.setdefault(table, (cols, []))[1].extend(rows)
        for table in ("op_dispense", "ip_dispense", "in_bill", "in_bill_detail"):
            if table in batch:
                _retrying(lambda table=table: self._insert(table, *batch[table]))

    def _insert(self, table: str, cols: tuple, rows: list) -> None:
        """One table's rows in one transaction; after a lost connection, a new one and the same rows again."""
        try:
            self.target.insert(table, cols, rows)
        except pyodbc.Error:
            try:
                self.target.close()
            except pyodbc.Error:
                pass
            self.target = Target.odbc(self.odbc)
            raise

    def close(self) -> None:
        self.target.close()


def stored_usage(store, days: list[date]) -> dict[tuple[date, str, str, str], Decimal]:  # type: ignore[no-untyped-def]
    out: dict[tuple[date, str, str, str], Decimal] = defaultdict(Decimal)
    u = usage_daily.c
    with store.read() as conn:
        for r in conn.execute(select(u.day, u.item_code, u.dept_code, u.setting, u.quantity).where(
                u.hospital_code == store.hospital_code, u.day >= min(days), u.day <= max(days))):
            out[(r.day, r.item_code, r.dept_code, r.setting)] += Decimal(r.quantity)
    return out


def usage_days_lost(store, hospital: Hospital, days: list[date]) -> int:  # type: ignore[no-untyped-def]
    """Closed days whose stored usage differs from the simulation's truth (any day x item x dept x setting)."""
    truth = {k: q for k, (q, _n) in hospital.expected_usage(min(days), max(days)).items() if q != 0}
    got = {k: q for k, q in stored_usage(store, days).items() if q != 0}
    return sum(1 for d in days
               if {k: v for k, v in truth.items() if k[0] == d} != {k: v for k, v in got.items() if k[0] == d})


def agent_config(workdir: Path, seed: int, odbc: str, store_url: str,
                 platform, sink) -> Path:  # type: ignore[no-untyped-def]
    """The demo's config, pointed at PostgreSQL, with every interval at its default (none coarsened),
    less the demo's materials source (材料收费明细): the soak's hospital has no consumables, and a
    source whose tables are missing would fail its jobs all day."""
    cfg = write_config(Demo(workdir, seed), Path("/nonexistent"), platform, sink)
    text = cfg.read_text(encoding="utf-8")
    text, dropped = re.subn(r'(?ms)^\[\[sources\]\]\nname = "materials"\n.*?\n\n', "", text)
    if dropped != 1:
        raise SystemExit(f"soak: the demo's config changed shape (no materials source to leave out); adapt scripts/soak.py:\n{text}")
    text = text.replace('connection = "Driver={SQLite3};Database=/nonexistent;"', f'connection = "{odbc}"')
    text = re.sub(r"(?m)^poll_interval_s = \d+\n", "", text)
    text = text.replace(f'directory = "{workdir}"', f'directory = "{workdir}"\nurl = "{store_url}"')
    if "SQLite3" in text or "poll_interval_s" in text or store_url not in text:
        raise SystemExit(f"soak: the demo's config changed shape; adapt scripts/soak.py:\n{text}")
    cfg.write_text(text, encoding="utf-8")
    return cfg


def soak(hours: float, speed: float, seed: int = 20261125) -> dict[str, float | int]:
    from agent.notify.sink import WeComSink
    from refplatform import start_reference_platform

    run_id = uuid.uuid4().hex[:10]
    src_schema, store_schema = f"soak_src_{run_id}", f"soak_state_{run_id}"
    workdir = Path(tempfile.mkdtemp(prefix="vbp-soak-"))
    log = (workdir / "agent.log").open("w", encoding="utf-8")
    configure("warning", json=True, stream=log)
    start = datetime.combine(START, datetime.min.time()).replace(hour=START_HOUR, tzinfo=DEFAULT_TZ)
    end = start + timedelta(hours=hours)
    for s in (src_schema, store_schema):
        _schema("CREATE", s)
    platform = sink = runtime = world = None
    try:
        first_day = START - timedelta(days=HISTORY)
        hospital = Hospital(seed, first_day, HISTORY + int(hours // 24) + 2, rows_per_day=300,
                            receipt_bills_per_day=24, rest_day_factor=0.45)
        hospital.receipts = [r for r in hospital.receipts if start <= r[9].replace(tzinfo=DEFAULT_TZ) < end]
        odbc = (f"Driver={{PostgreSQL Unicode}};Server={PG['host']};Port=5432;Database=test;UID={PG['user']};"
                f"UseDeclareFetch=1;Fetch=10000;ConnSettings=SET search_path TO {src_schema};")
        world = World(odbc, hospital, start)
        platform = start_reference_platform(apps={"soak-app": "soak-platform-secret"})
        platform.seed_for_receipts("H22010200001", hospital.receipt_views(DEFAULT_TZ))
        sink = WeComSink(port=0).start()
        store_url = f"postgresql+psycopg://{PG['user']}@{PG['host']}:5432/test?options=-csearch_path%3D{store_schema}"
        cfg = agent_config(workdir, seed, odbc, store_url, platform, sink)
        winners, volumes = write_bureau_sheets(Demo(workdir, seed), hospital)
        run_cli(cfg, ["import", "winners", str(winners), "--programme", PROGRAMME, "--cycle-start",
                      first_day.isoformat(), "--cycle-end", (first_day + timedelta(days=729)).isoformat(), "--yes"],
                ["import", "volumes", str(volumes), "--programme", PROGRAMME, "--year", "1", "--yes"])

        clock = FakeClock(start)
        runtime = build(load_config(cfg), clock)
        runner = JobRunner(runtime.store, clock, Metrics())
        sim = SimulatedScheduler(build_jobs(runtime, runner.metrics), runner, clock)
        probe = run_paced(sim, world, start, end, speed)

        due = {r[11] for r in hospital.receipts if r[10] <= _local(end - SETTLE)}
        accepted = {r[11] for r in hospital.receipts}
        confirmed = set(platform.confirmed())
        closed = [START - timedelta(days=LOOKBACK - i) for i in range((end.date() - START).days + LOOKBACK)]
        lost_usage = usage_days_lost(runtime.store, hospital, closed)
        failing = {n: s.last_error for n, s in runner.states.items() if not s.up}
        print(f"soak: {sum(sim.runs.values())} job runs in {probe['wall']:.0f} s wall (worst lag behind the paced "
              f"clock {probe['lag']:.1f} s); receipts due {len(due)}, confirmed {len(confirmed)}; usage days checked "
              f"{len(closed)}, differing {lost_usage}; robot messages {len(sink.messages)}; failing now: "
              f"{failing or 'none'}", file=sys.stderr, flush=True)
        return {"hours": hours, "rss_start_mb": round(probe["rss"], 1), "rss_end_mb": round(rss_mb(), 1),
                "fds_start": int(probe["fds"]), "fds_end": fds(), "lost": len(due - confirmed) + lost_usage,
                "duplicated": int(platform.stats()["double_confirm_refused"]) + len(confirmed - accepted),
                "failing": len(failing)}
    finally:
        for part in (runtime, world):
            if part is not None:
                part.close()
        for part in (sink, platform):
            if part is not None:
                part.stop()
        for s in (src_schema, store_schema):
            _schema("DROP", s)
        configure("warning", json=True, stream=io.StringIO())
        log.close()
        if os.environ.get("SOAK_KEEP"):
            print(f"soak: kept {workdir} (agent.log, config, spreadsheets)", file=sys.stderr, flush=True)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def run_paced(sim: SimulatedScheduler, world: World, start: datetime, end: datetime, speed: float) -> dict[str, float]:
    """Run the jobs to ``end``, sleeping whenever the simulated clock is ahead of ``speed`` x wall time.
    Returns RSS and descriptors after the warm-up (an hour, or a quarter of a shorter run), worst lag, wall time."""
    warm = start + min(timedelta(hours=1), (end - start) / 4)
    probe: dict[str, float] = {"lag": 0.0}
    wall0, last_hour = time.monotonic(), [-1]

    def step(a: datetime, b: datetime) -> None:
        if a < warm <= b and "rss" not in probe:
            probe.update(rss=rss_mb(), fds=fds())
        ahead = wall0 + (b - start).total_seconds() / speed - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
        world.write_until(b)

    def progress(when: datetime) -> None:
        h = int((when - start).total_seconds() // 3600)
        if h != last_hour[0]:
            last_hour[0] = h
            lag = time.monotonic() - wall0 - (when - start).total_seconds() / speed
            probe["lag"] = max(probe["lag"], lag)
            print(f"soak: hour {h:3d}  runs {sum(sim.runs.values()):6d}  rss {rss_mb():6.1f} MB  fds {fds():3d}"
                  f"  lag {max(lag, 0):5.1f} s", file=sys.stderr, flush=True)

    sim.run_until(end, before_step=step, on_progress=progress)
    if "rss" not in probe:
        probe.update(rss=rss_mb(), fds=fds())
    probe["wall"] = time.monotonic() - wall0
    return probe


def main() -> int:
    hours = float(os.environ.get("SOAK_HOURS", "24"))
    speed = float(os.environ.get("SOAK_SPEED", "100"))
    print(json.dumps(soak(hours, speed)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
