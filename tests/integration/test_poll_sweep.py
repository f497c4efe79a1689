"""The daemon's usage poll: the whole lookback at start and at each day's first poll (the sweep),
otherwise the open day and the lookback days whose totals moved."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from adapters.sim.sqlite_hospital import build_sqlite_hospital
from agent.bootstrap import build, build_jobs
from agent.clock import FakeClock
from agent.config import load_config
from agent.service.metrics import Metrics
from agent.store.schema.ingest import usage_days

START = date(2026, 3, 2)


def test_the_first_poll_of_each_day_rereads_the_whole_lookback_and_the_others_the_open_day(tmp_path: Path) -> None:
    his = tmp_path / "his.sqlite"
    build_sqlite_hospital(his, seed=5, start=START, days=12, rows_per_day=30)
    cfg_path = tmp_path / "agent.toml"
    cfg_path.write_text(f"""
[hospital]
code = "H1"
name = "测试医院"
[state]
directory = "{tmp_path}"
[[sources]]
name = "his"
kind = "his"
preset = "mssql_his"
connection = "Driver={{SQLite3}};Database={his};"
lookback_days = 3
""", encoding="utf-8")
    cfg = load_config(cfg_path)
    clock = FakeClock(datetime.combine(START + timedelta(days=10), datetime.min.time()) + timedelta(hours=9), cfg.hospital.tz)
    runtime = build(cfg, clock)
    poll = next(j for j in build_jobs(runtime, Metrics()) if j.name == "poll:his")

    def read_at() -> dict[date, datetime]:
        with runtime.store.read() as conn:
            return {r.day: r.read_at for r in conn.execute(select(usage_days.c.day, usage_days.c.read_at))}

    try:
        poll.func()  # at start: the sweep
        first = read_at()
        assert sorted(first) == [START + timedelta(days=d) for d in range(7, 11)]
        clock.advance(timedelta(minutes=5))
        poll.func()  # nothing moved: the open day alone
        second = read_at()
        assert sorted(d for d in second if second[d] != first[d]) == [START + timedelta(days=10)]
        clock.advance(timedelta(hours=15))  # the next day's first poll: the sweep again
        poll.func()
        third = read_at()
        lookback = [START + timedelta(days=d) for d in range(8, 12)]
        assert sorted(d for d in third if third[d] != second.get(d)) == lookback
    finally:
        runtime.close()
