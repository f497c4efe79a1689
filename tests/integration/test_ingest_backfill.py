"""Backfill: resumable after kill -9, polite (off-peak hours, pauses), with a progress bar."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from agent.clock import FakeClock
from agent.config import HoursWindow
from agent.errors import SourceError
from agent.jobs.backfill import READ_AHEAD, backfill_usage
from agent.store import open_store
from agent.store.schema.ingest import usage_daily
from tests.ingest_support import HIS_PRESETS, START, SourceDb, backfill_config

EXE = str(Path(sys.executable).with_name("vbp-agent"))
DAYS = 24


def _config(tmp_path: Path, name: str, his: str, pause: float) -> Path:
    return backfill_config(tmp_path / f"{name}.toml", f'directory = "{tmp_path / name}"', his, pause)


def _totals(state: Path) -> tuple[int, Decimal, int]:
    store = open_store(f"sqlite:///{state}", "H1")
    with store.read() as conn:
        n, q, lines = conn.execute(select(func.count(), func.sum(usage_daily.c.quantity), func.sum(usage_daily.c.lines))).one()
    store.close()
    return n, Decimal(q), lines


def _next_day(state: Path) -> str | None:
    try:
        with sqlite3.connect(state, timeout=1) as db:
            row = db.execute("SELECT next_day FROM backfill_runs").fetchone()
    except sqlite3.Error:
        return None
    return row[0] if row else None


def test_kill_9_of_a_backfill_and_a_resume_give_the_same_totals(tmp_path: Path, sqlite_odbc: str) -> None:
    db = SourceDb("sqlite", sqlite_odbc)
    db.load_his(HIS_PRESETS["oracle_his"], days=DAYS, rows_per_day=30)
    his = sqlite_odbc.split("Database=")[1].rstrip(";")
    args = ["backfill", "--from", START.isoformat(), "--to", (START + timedelta(days=DAYS - 1)).isoformat()]

    whole = subprocess.run([EXE, "-c", str(_config(tmp_path, "whole", his, 0)), *args], capture_output=True, text=True,
                           timeout=120)
    assert whole.returncode == 0, whole.stderr
    assert "补录" in whole.stderr and f"{DAYS}/{DAYS}" in whole.stderr  # the progress bar, on stderr

    cfg = _config(tmp_path, "killed", his, 0.25)
    state = tmp_path / "killed" / "state.db"
    proc = subprocess.Popen([EXE, "-c", str(cfg), *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while (_next_day(state) or "") < (START + timedelta(days=5)).isoformat() and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    stopped_at = _next_day(state)
    assert stopped_at is not None and stopped_at < (START + timedelta(days=DAYS)).isoformat(), "killed too late"

    resumed = subprocess.run([EXE, "-c", str(_config(tmp_path, "killed", his, 0)), *args], capture_output=True, text=True,
                             timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming from {stopped_at}" in resumed.stderr
    assert _totals(state) == _totals(tmp_path / "whole" / "state.db")


def test_backfill_waits_for_the_off_peak_hours_and_skips_pause_windows(tmp_path: Path, sqlite_odbc: str) -> None:
    db = SourceDb("sqlite", sqlite_odbc)
    db.load_his(HIS_PRESETS["mssql_his"], days=4, rows_per_day=10)
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}", "H1")
    clock = FakeClock(datetime(2026, 11, 2, 10, 0, tzinfo=UTC), UTC)
    seen: list[datetime] = []
    backfill_usage(store, db.source(HIS_PRESETS["mssql_his"]), clock, START, START + timedelta(days=3), window_days=1,
                   pause_s=600, off_peak=HoursWindow.parse("20:00-06:00"), pause_hours=[HoursWindow.parse("20:00-20:20")],
                   on_progress=lambda p: seen.append(clock.now()))
    store.close()
    # nothing read before 20:20 (off-peak starts at 20:00, the pause window holds it until 20:20)
    assert all(t >= datetime(2026, 11, 2, 20, 20, tzinfo=UTC) for t in seen[1:])
    assert seen[-1] - seen[1] >= timedelta(seconds=3 * 600)  # the pause between windows


class _FailsOn:
    """The real source, except that reading the window that starts on ``day`` fails (once)."""

    def __init__(self, source, day):  # type: ignore[no-untyped-def]
        self.source, self.day, self.name, self.reads = source, day, source.name, []

    def read_usage(self, day_from, day_to):  # type: ignore[no-untyped-def]
        self.reads.append(day_from)
        if day_from == self.day:
            self.day = None
            raise SourceError("source his: HYT00 timeout expired", transient=True)
        return self.source.read_usage(day_from, day_to)


class _PrefetchFailsOn(_FailsOn):
    """The same through ``prefetch_usage``: the reader thread only fetches, the writer converts."""

    def prefetch_usage(self, day_from, day_to):  # type: ignore[no-untyped-def]
        self.reads.append(day_from)
        if day_from == self.day:
            self.day = None
            raise SourceError("source his: HYT00 timeout expired", transient=True)
        return self.source.prefetch_usage(day_from, day_to)


@pytest.mark.parametrize("failing_source", [_FailsOn, _PrefetchFailsOn])
def test_a_window_read_ahead_that_fails_leaves_the_windows_before_it_committed(tmp_path: Path, sqlite_odbc: str,
                                                                               failing_source: type) -> None:
    db = SourceDb("sqlite", sqlite_odbc)
    db.load_his(HIS_PRESETS["mssql_his"], days=8, rows_per_day=20)
    clock = FakeClock(datetime(2026, 11, 2, 22, 0, tzinfo=UTC), UTC)
    last = START + timedelta(days=7)
    whole = open_store(f"sqlite:///{tmp_path / 'whole.db'}", "H1")
    backfill_usage(whole, db.source(HIS_PRESETS["mssql_his"]), clock, START, last, window_days=2)
    whole.close()

    failing = failing_source(db.source(HIS_PRESETS["mssql_his"]), START + timedelta(days=4))
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}", "H1")
    with pytest.raises(SourceError):
        backfill_usage(store, failing, clock, START, last, window_days=2)
    store.close()
    # windows 1-2 and 3-4 were written; the failed read of 5-6 was read ahead while 3-4 was written
    assert _next_day(tmp_path / "state.db") == (START + timedelta(days=4)).isoformat()
    assert failing.reads == [START, START + timedelta(days=2), START + timedelta(days=4)]

    store = open_store(f"sqlite:///{tmp_path / 'state.db'}", "H1")
    backfill_usage(store, failing, clock, START, last, window_days=2)
    store.close()
    assert _totals(tmp_path / "state.db") == _totals(tmp_path / "whole.db")


class _CountsReads:
    """The real source, counting the windows read (through the typed-fetch path it offers)."""

    def __init__(self, source):  # type: ignore[no-untyped-def]
        self.source, self.name, self.reads = source, source.name, []

    def read_usage_batches(self, day_from, day_to):  # type: ignore[no-untyped-def]
        self.reads.append(day_from)
        return self.source.read_usage_batches(day_from, day_to)


class _CountsPrefetches(_CountsReads):
    """The same through ``prefetch_usage``: the reader thread only fetches, the writer converts."""

    def prefetch_usage(self, day_from, day_to):  # type: ignore[no-untyped-def]
        self.reads.append(day_from)
        return self.source.prefetch_usage(day_from, day_to)


@pytest.mark.parametrize("counting", [_CountsReads, _CountsPrefetches])
def test_a_failed_write_stops_the_reader_and_the_run_resumes_at_the_window_that_failed(tmp_path: Path, sqlite_odbc: str,
                                                                                       counting: type) -> None:
    db = SourceDb("sqlite", sqlite_odbc)
    db.load_his(HIS_PRESETS["mssql_his"], days=DAYS, rows_per_day=10)
    clock = FakeClock(datetime(2026, 11, 2, 22, 0, tzinfo=UTC), UTC)
    last = START + timedelta(days=DAYS - 1)
    whole = open_store(f"sqlite:///{tmp_path / 'whole.db'}", "H1")
    backfill_usage(whole, db.source(HIS_PRESETS["mssql_his"]), clock, START, last, window_days=2)
    whole.close()

    store = open_store(f"sqlite:///{tmp_path / 'state.db'}", "H1")
    failing_day = START + timedelta(days=6)  # the fourth window's first day: the state store refuses it
    with sqlite3.connect(tmp_path / "state.db") as conn:
        conn.execute(f"CREATE TRIGGER full_disk BEFORE INSERT ON usage_days WHEN NEW.day = '{failing_day.isoformat()}' "
                     "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END")
    source = counting(db.source(HIS_PRESETS["mssql_his"]))
    with pytest.raises(Exception, match="disk is full"):
        backfill_usage(store, source, clock, START, last, window_days=2)
    assert _next_day(tmp_path / "state.db") == failing_day.isoformat()  # the windows before it, committed
    assert len(source.reads) <= 4 + READ_AHEAD + 1  # the reader stopped: at most READ_AHEAD waiting and one in progress

    with sqlite3.connect(tmp_path / "state.db") as conn:
        conn.execute("DROP TRIGGER full_disk")
    backfill_usage(store, source, clock, START, last, window_days=2)
    store.close()
    assert _totals(tmp_path / "state.db") == _totals(tmp_path / "whole.db")


def test_a_backfill_stores_the_same_totals_in_either_state_store(tmp_path: Path, sqlite_odbc: str, store_url: str) -> None:
    db = SourceDb("sqlite", sqlite_odbc)
    db.load_his(HIS_PRESETS["mssql_his"], days=6, rows_per_day=20)
    clock = FakeClock(datetime(2026, 11, 2, 22, 0, tzinfo=UTC), UTC)
    last = START + timedelta(days=5)
    reference = open_store(f"sqlite:///{tmp_path / 'reference.db'}", "H1")
    backfill_usage(reference, db.source(HIS_PRESETS["mssql_his"]), clock, START, last, window_days=2, pause_s=1)
    reference.close()
    store = open_store(store_url, "H1")
    stats = backfill_usage(store, db.source(HIS_PRESETS["mssql_his"]), clock, START, last, window_days=2)
    with store.read() as conn:
        n, q, lines = conn.execute(select(func.count(), func.sum(usage_daily.c.quantity), func.sum(usage_daily.c.lines))).one()
    store.close()
    assert stats.rows == n > 0
    assert (n, Decimal(q), lines) == _totals(tmp_path / "reference.db")  # read ahead and written, or one by one
