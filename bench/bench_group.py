"""Benchmark: a hospital group's agents on one PostgreSQL state store.

``BENCH_AGENTS`` agents (default 10), each in its own process with its own simulated hospital (HIS
and warehouse in its own SQLite file, read through the SQLite ODBC driver as a hospital's databases
are read), share one PostgreSQL state store (a schema of its own in db ``test``, dropped at the end).
Each one installs as an IT admin would (imports the bureau's sheets, backfills ``HISTORY`` days),
then runs the daemon's own jobs for ``BENCH_DAYS`` simulated days (default 7) on an accelerated clock,
all agents at once. Measured:
- ``polls`` and ``p95_poll_s``: every source poll of every agent, wall seconds each;
- ``lock_waits``: samples (every 50 ms) in which one of the agents' store sessions (by application_name)
  waited for a lock, of ``lock_samples``, and
  ``max_waiting``: the most waiting at once; ``deadlocks``: PostgreSQL's own count for db ``test``
  over the run, and job failures naming a deadlock;
- ``rows_equal``: each hospital's rows, table by table, equal those of the same hospital's agent run
  alone (on a SQLite store of its own, before the group run);
- ``rss_mb``: peak RSS per agent process (max and median);
- ``install_s``: the slowest agent's install (imports + backfill) while all install at once.
The last line is JSON. ``BENCH_AGENTS=20 make bench-group`` for the larger group.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg

PG = dict(host=os.environ.get("VBP_TEST_PG_HOST", "127.0.0.1"), user=os.environ.get("VBP_TEST_PG_USER", "postgres"),
          dbname="test")
START = date(2026, 8, 3)
HISTORY = 30
AGENTS = int(os.environ.get("BENCH_AGENTS", "10"))
DAYS = int(os.environ.get("BENCH_DAYS", "7"))
PARALLEL_BASELINES = 2
HIS_POLL_S, WAREHOUSE_POLL_S = 1800, 3600


def pg_url(schema: str) -> str:
    return (f"postgresql+psycopg://{PG['user']}@{PG['host']}:5432/{PG['dbname']}?options=-csearch_path%3D{schema}"
            f"&application_name={schema}")


def hospital_code(i: int) -> str:
    return f"H{i + 1:03d}"


# -- one agent (child process) ----------------------------------------------------------------------


def agent_main(index: int, workdir: str, state_url: str, out: str) -> None:
    """Install and run one agent for DAYS simulated days; write its measures as JSON to ``out``."""
    from adapters.sim.sqlite_hospital import build_sqlite_hospital
    from agent.bootstrap import build, build_jobs
    from agent.cli import main as cli
    from agent.clock import DEFAULT_TZ, FakeClock
    from agent.config import load_config
    from agent.logging import configure
    from agent.service.metrics import Metrics
    from agent.service.runner import JobRunner
    from agent.service.simulate import SimulatedScheduler
    from vbp_demo.run import PROGRAMME, Demo, write_bureau_sheets

    configure("error", json=True, stream=io.StringIO())
    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    first_day = START - timedelta(days=HISTORY)
    his_db = work / "hospital.sqlite"
    hospital = build_sqlite_hospital(his_db, 7000 + index, first_day, HISTORY + DAYS, rows_per_day=200,
                                     rest_day_factor=0.45, replenish=True)
    winners, volumes = write_bureau_sheets(Demo(work), hospital)
    conn = f"Driver={{SQLite3}};Database={his_db};"
    state = f'url = "{state_url}"\n' if state_url else ""
    cfg = work / "agent.toml"
    cfg.write_text(f"""
[hospital]
code = "{hospital_code(index)}"
name = "集团第{index + 1}医院"

[state]
directory = "{work}"
{state}
[logging]
level = "error"

[[sources]]
name = "his"
kind = "his"
preset = "mssql_his"
connection = "{conn}"
poll_interval_s = {HIS_POLL_S}
lookback_days = 7
backfill_window_days = 14
backfill_pause_s = 0

[[sources]]
name = "warehouse"
kind = "warehouse"
preset = "warehouse_std"
connection = "{conn}"
poll_interval_s = {WAREHOUSE_POLL_S}
""", encoding="utf-8")
    installed = time.monotonic()
    cycle_end = first_day + timedelta(days=2 * 365 - 1)
    for argv in (["import", "winners", str(winners), "--programme", PROGRAMME, "--cycle-start", first_day.isoformat(),
                  "--cycle-end", cycle_end.isoformat(), "--yes"],
                 ["import", "volumes", str(volumes), "--programme", PROGRAMME, "--year", "1", "--yes"],
                 ["backfill", "--from", first_day.isoformat(), "--to", (START - timedelta(days=1)).isoformat()]):
        buf = io.StringIO()
        start_clock = FakeClock(datetime.combine(START, datetime.min.time()).replace(tzinfo=DEFAULT_TZ))
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
            code = cli(["-c", str(cfg), *argv], clock=start_clock)
        if code != 0:
            raise SystemExit(f"agent {index}: vbp-agent {argv[0]} {argv[1]} failed:\n{buf.getvalue()}")
    install_s = time.monotonic() - installed

    clock = FakeClock(datetime.combine(START, datetime.min.time()).replace(tzinfo=DEFAULT_TZ))
    runtime = build(load_config(cfg), clock)
    specs = build_jobs(runtime, Metrics())
    polls: list[float] = []
    for spec in specs:
        if spec.name.startswith("poll:"):
            def timed(func=spec.func) -> None:  # type: ignore[no-untyped-def]
                began = time.monotonic()
                try:
                    func()
                finally:
                    polls.append(time.monotonic() - began)
            spec.func = timed
        elif spec.interval_s is not None:
            spec.interval_s = max(spec.interval_s, 3600)  # evaluation and the rest at most hourly, as in the demo
    runner = JobRunner(runtime.store, clock, Metrics())
    sim = SimulatedScheduler(specs, runner, clock)
    barrier = Path(out).with_suffix(".go")
    Path(out).with_suffix(".ready").write_text("1")
    while not barrier.exists():  # every agent starts its week at once
        time.sleep(0.05)
    began = time.monotonic()
    sim.run_until(clock.now() + timedelta(days=DAYS))
    failures = {n: s.last_error for n, s in runner.states.items() if not s.up}
    runtime.close()
    Path(out).write_text(json.dumps({
        "index": index, "polls": polls, "runs": sum(sim.runs.values()), "run_s": time.monotonic() - began,
        "install_s": install_s, "failures": failures,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


# -- the parent -----------------------------------------------------------------------------------


def start_agents(indexes: list[int], root: Path, state_url: str | None, tag: str) -> list[tuple[subprocess.Popen, Path]]:
    procs = []
    for i in indexes:
        out = root / f"{tag}-{i}.json"
        procs.append((subprocess.Popen([sys.executable, __file__, "--agent", str(i), str(root / f"{tag}-h{i}"),
                                        state_url or "", str(out)]), out))
    return procs


def release(procs: list[tuple[subprocess.Popen, Path]]) -> None:
    while not all(out.with_suffix(".ready").exists() or p.poll() is not None for p, out in procs):
        time.sleep(0.1)
    for p, out in procs:
        if p.poll() is not None:
            raise SystemExit(f"an agent stopped while installing (exit {p.returncode})")
        out.with_suffix(".go").write_text("1")


def collect(procs: list[tuple[subprocess.Popen, Path]]) -> list[dict]:
    results = []
    for p, out in procs:
        if p.wait() != 0:
            raise SystemExit(f"agent {out.name} failed (exit {p.returncode})")
        results.append(json.loads(out.read_text()))
    return results


def row_counts(url: str, hospital: str) -> dict[str, int]:
    """Rows per table of one hospital (tables with a hospital_code), through the agent's own engine."""
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(url)
    counts = {}
    with engine.connect() as conn:
        for table in sorted(inspect(conn).get_table_names()):
            if table in ("job_health", "programme_snapshots"):  # job bookkeeping: times differ run to run
                continue
            cols = {c["name"] for c in inspect(conn).get_columns(table)}
            if "hospital_code" in cols:
                counts[table] = conn.execute(text(f'SELECT count(*) FROM "{table}" WHERE hospital_code = :h'),
                                             {"h": hospital}).scalar()
    engine.dispose()
    return counts


def deadlocks_now() -> int:
    with psycopg.connect(**PG, autocommit=True) as c:
        return c.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = %s", (PG["dbname"],)).fetchone()[0]


def main() -> None:
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="bench-group-"))
    schema = f"bench_group_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(**PG, autocommit=True) as c:
        c.execute(f"CREATE SCHEMA {schema}")
    try:
        # 1. each hospital's agent alone, on its own SQLite store: the rows to compare with
        alone: dict[int, dict[str, int]] = {}
        indexes = list(range(AGENTS))
        for k in range(0, AGENTS, PARALLEL_BASELINES):
            batch = start_agents(indexes[k:k + PARALLEL_BASELINES], root, None, "alone")
            release(batch)
            collect(batch)
        for i in indexes:
            alone[i] = row_counts(f"sqlite:///{root / f'alone-h{i}' / 'state.db'}", hospital_code(i))
        print(f"bench-group: {AGENTS} single-agent runs done", file=sys.stderr, flush=True)

        # 2. every agent at once on the shared PostgreSQL store
        deadlocks_before = deadlocks_now()
        samples = {"waits": 0, "max": 0, "n": 0}
        stop = threading.Event()

        def watch() -> None:
            with psycopg.connect(**PG, autocommit=True) as c:
                while not stop.is_set():
                    waiting = c.execute(
                        "SELECT count(DISTINCT l.pid) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                        "WHERE NOT l.granted AND a.application_name = %s", (schema,)).fetchone()[0]
                    samples["n"] += 1
                    samples["waits"] += 1 if waiting else 0
                    samples["max"] = max(samples["max"], waiting)
                    time.sleep(0.05)

        group = start_agents(indexes, root, pg_url(schema), "group")
        installing = time.monotonic()
        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        release(group)
        installed_s = time.monotonic() - installing
        results = collect(group)
        stop.set()
        watcher.join(5)
        deadlocks = deadlocks_now() - deadlocks_before
        shared = {i: row_counts(pg_url(schema), hospital_code(i)) for i in indexes}
        unequal = {hospital_code(i): {t: (alone[i].get(t), shared[i].get(t)) for t in set(alone[i]) | set(shared[i])
                                      if alone[i].get(t) != shared[i].get(t)} for i in indexes}
        unequal = {h: d for h, d in unequal.items() if d}
        if unequal:
            print(f"bench-group: rows differ: {unequal}", file=sys.stderr)
        polls = sorted(p for r in results for p in r["polls"])
        failures = {hospital_code(r["index"]): r["failures"] for r in results if r["failures"]}
        if failures:
            print(f"bench-group: failing jobs at the end: {failures}", file=sys.stderr)
        rss = [r["rss_mb"] for r in results]
        print(json.dumps({
            "hospitals": AGENTS, "days": DAYS, "polls": len(polls),
            "p50_poll_s": round(statistics.median(polls), 3) if polls else None,
            "p95_poll_s": round(polls[max(0, int(len(polls) * 0.95) - 1)], 3) if polls else None,
            "max_poll_s": round(polls[-1], 3) if polls else None,
            "lock_waits": samples["waits"], "lock_samples": samples["n"], "max_waiting": samples["max"],
            "deadlocks": deadlocks + sum(1 for f in failures.values() for e in f.values() if "deadlock" in (e or "").lower()),
            "rows_equal": not unequal, "rss_mb_max": round(max(rss), 1), "rss_mb_median": round(statistics.median(rss), 1),
            "install_s": round(installed_s, 1), "week_s_max": round(max(r["run_s"] for r in results), 1),
            "job_runs": sum(r["runs"] for r in results), "cpus": os.cpu_count(),
        }), flush=True)
    finally:
        with psycopg.connect(**PG, autocommit=True) as c:
            c.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        import shutil

        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--agent":
        agent_main(int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5])
    else:
        main()
