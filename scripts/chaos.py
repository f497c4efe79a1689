"""``make chaos``: the agent tried as a hostile tester would, ending in one JSON line.

Parts (each bounded in count and time; progress on stderr):
  sheets   every hostile workbook (a 300 MB shared-strings bomb, thousands of parts, a lying zip
           directory, a dangling shared-string index, broken XML, a truncated zip, a sheet declaring
           a million rows) and a workbook of absurd values, imported through the real CLI;
  backfill kill -9 at random points of ``vbp-agent backfill``, then a resume: totals against a run
           that was never killed;
  drain    kill -9 at random points of the platform drain, on every profile of
           agent.upstream.profiles.PROFILES: each delivery line confirmed once, repeats per crash;
  import   kill -9 at random points of ``vbp-agent import winners --yes``, then a rerun;
  store    the state store on a throwaway PostgreSQL cluster (pg_createcluster on a free port, never
           the shared server) restarted in the middle of backfills: one line or success, never a
           traceback, and the reruns reach the same totals;
  flood    300 idle connections on loopback against the running daemon's /healthz port: its thread
           count, and a scrape answered during the flood;
  bypass   the custom-SQL bypass table (tests/unit/test_sql_guard.py) through the guard, by way of
           ``tests/chaos_bypass.py``: ``run() -> {"attempts", "refused", "tracebacks"}``.

The JSON line: attempts, refused, tracebacks, lost, duplicated, repeats, crashes, max_threads, and
per-part details. Targets: every hostile input refused, 0 tracebacks, 0 lost, at most one repeat per
crash (duplicated counts repeats beyond that), threads bounded. CHAOS_PARTS=sheets,flood picks parts;
CHAOS_SEED fixes the random points.
"""

from __future__ import annotations

import importlib
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "integration")]
EXE = str(Path(sys.executable).with_name("vbp-agent"))
TASKS_MAX = 64  # the unit's TasksMax

from tests.hostile_sheets import BOMBS  # noqa: E402
from tests.ingest_support import HIS_PRESETS, START, SourceDb  # noqa: E402
from tests.sheets_catalogue import WINNER_ROWS, winners_xlsx  # noqa: E402


def say(*parts: object) -> None:
    print("chaos:", *parts, file=sys.stderr, flush=True)


class Tally:
    def __init__(self) -> None:
        self.totals = {"attempts": 0, "refused": 0, "tracebacks": 0, "lost": 0, "duplicated": 0, "repeats": 0,
                       "crashes": 0, "max_threads": 0}
        self.parts: dict[str, Any] = {}

    def add(self, part: str, **counts: Any) -> None:
        for k, v in counts.items():
            if k == "max_threads":
                self.totals[k] = max(self.totals[k], v)
            elif k in self.totals:
                self.totals[k] += v
        self.parts[part] = counts
        say(part, json.dumps(counts, ensure_ascii=False))


def tracebacks(text: str) -> int:
    return text.count("Traceback (most recent call last)")


def agent_config(path: Path, state: Path | None = None, *, url: str | None = None, his: Path | None = None,
                 pause: float = 0.0, port: int | None = None) -> Path:
    lines = ['[hospital]', 'code = "H1"', 'name = "测试医院"', 'timezone = "UTC"', '[state]']
    lines += [f'url = "{url}"'] if url else [f'directory = "{state}"']
    if port is not None:
        lines += ['[http]', f'port = {port}']
    if his is not None:
        lines += ['[[sources]]', 'name = "his"', 'kind = "his"', 'preset = "oracle_his"',
                  f'connection = "Driver={{SQLite3}};Database={his};"', 'backfill_window_days = 1',
                  f'backfill_pause_s = {pause}']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# -- sheets ---------------------------------------------------------------------------------------
def part_sheets(tmp: Path, tally: Tally, rng: random.Random) -> None:
    cfg = agent_config(tmp / "sheets.toml", tmp / "sheets-state")
    attempts = refused = tb = 0
    worst_s = 0.0
    rss_mb = 0
    timer = ["/usr/bin/time", "-f", "maxrss_kb=%M"] if Path("/usr/bin/time").exists() else []
    for name, make in BOMBS.items():
        path = make(tmp / f"{name}.xlsx")
        started = time.monotonic()
        run = subprocess.run([*timer, EXE, "-c", str(cfg), "import", "winners", str(path), "--programme", "第十批",
                              "--cycle-start", "2025-03-01", "--cycle-end", "2027-02-28", "--dry-run"],
                             capture_output=True, text=True, timeout=300)
        worst_s = max(worst_s, time.monotonic() - started)
        attempts += 1
        err = run.stderr
        if timer:
            err = "\n".join(x for x in err.splitlines() if not x.startswith(("maxrss_kb=", "Command exited")))
            rss_mb = max(rss_mb, int(run.stderr.rsplit("maxrss_kb=", 1)[1].split()[0]) // 1024)
        tb += tracebacks(err)
        one_line = err.strip().count("\n") == 0 and str(path.name) in err
        if run.returncode != 0 and one_line:
            refused += 1
        else:
            say("sheet NOT refused in one line:", name, run.returncode, run.stderr[-300:])
        path.unlink()
    rows = [list(r) for r in WINNER_ROWS]
    rows[0][4], rows[1][7], rows[2][4] = 10 ** 15, 1e300, "1e18"
    absurd = winners_xlsx(tmp / "absurd.xlsx", rows)
    run = subprocess.run([EXE, "-c", str(cfg), "import", "winners", str(absurd), "--programme", "第十批",
                          "--cycle-start", "2025-03-01", "--cycle-end", "2027-02-28", "--dry-run"],
                         capture_output=True, text=True, timeout=120)
    tb += tracebacks(run.stderr)
    rows_refused = run.stdout.count("超出合理上限")
    attempts += 3
    refused += min(rows_refused, 3)
    tally.add("sheets", attempts=attempts, refused=refused, tracebacks=tb, slowest_s=round(worst_s, 2),
              max_child_rss_mb=rss_mb, absurd_rows_refused=rows_refused)


# -- backfill -------------------------------------------------------------------------------------
def _usage_totals(state_db: Path) -> tuple[int, float, int]:
    with sqlite3.connect(state_db) as db:
        n, q, lines = db.execute("SELECT count(*), sum(quantity), sum(lines) FROM usage_daily").fetchone()
    return int(n), float(q or 0), int(lines or 0)


def _his(tmp: Path, days: int) -> Path:
    his = tmp / "his.sqlite"
    if not his.exists():
        SourceDb("sqlite", f"Driver={{SQLite3}};Database={his};").load_his(HIS_PRESETS["oracle_his"], days=days,
                                                                           rows_per_day=30)
    return his


def _backfill_args(days: int) -> list[str]:
    return ["backfill", "--from", START.isoformat(), "--to", (START + timedelta(days=days - 1)).isoformat()]


def part_backfill(tmp: Path, tally: Tally, rng: random.Random, kills: int = 8, days: int = 20) -> None:
    his = _his(tmp, days)
    args = _backfill_args(days)
    whole = subprocess.run([EXE, "-c", str(agent_config(tmp / "bf-whole.toml", tmp / "bf-whole", his=his)), *args],
                           capture_output=True, text=True, timeout=300)
    tb = tracebacks(whole.stderr)
    cfg = agent_config(tmp / "bf-killed.toml", tmp / "bf-killed", his=his, pause=0.1)
    for _ in range(kills):
        proc = subprocess.Popen([EXE, "-c", str(cfg), *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 2.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    resumed = subprocess.run([EXE, "-c", str(agent_config(tmp / "bf-resume.toml", tmp / "bf-killed", his=his)), *args],
                             capture_output=True, text=True, timeout=300)
    tb += tracebacks(resumed.stderr)
    want = _usage_totals(tmp / "bf-whole" / "state.db")
    got = _usage_totals(tmp / "bf-killed" / "state.db")
    lost = max(0, want[0] - got[0]) + (1 if got[1] < want[1] else 0)
    dup = max(0, got[0] - want[0]) + (1 if got[1] > want[1] else 0)
    tally.add("backfill", attempts=kills, crashes=kills, tracebacks=tb, lost=lost, duplicated=dup,
              rows_whole=want[0], rows_resumed=got[0], exit_codes=[whole.returncode, resumed.returncode])


# -- drain ----------------------------------------------------------------------------------------
def part_drain(tmp: Path, tally: Tally, rng: random.Random, kills: int = 15, n: int = 120) -> None:
    import test_platform_crash as crash  # tests/integration: the worker and the reference platform process
    from platform_support import HOSPITAL, make_client, receipt
    from platform_support import START as P_START

    from agent.clock import FakeClock
    from agent.store import open_store
    from agent.upstream.deliveries import sync_deliveries
    from agent.upstream.profiles import PROFILES

    for profile in sorted(PROFILES):
        proc, ref = _reference_platform(crash)
        try:
            receipts = [receipt(i, delivery_id=f"SHP{i:05d}") for i in range(1, n + 1)]
            lines = [{"shpId": r.delivery_id, "prodCode": r.item_code, "shpCnt": str(r.quantity), "manuLotnum": r.lot,
                      "shppTime": P_START.isoformat()} for r in receipts]
            ref.admin("/admin/deliveries", {"medinsCode": HOSPITAL, "lines": lines})
            url = f"sqlite:///{tmp / f'drain-{profile}.db'}"
            store = open_store(url, HOSPITAL)
            client = make_client(ref, profile)
            clock = FakeClock(P_START + timedelta(hours=1), tick=True)
            sync_deliveries(store, client, clock.now())
            client.close()
            store.close()
            crashes = 0
            for _ in range(kills):
                pid = os.fork()
                if pid == 0:
                    try:
                        crash._work(url, ref, receipts, clock, rate=50.0, profile=profile)
                    finally:
                        os._exit(0)
                time.sleep(rng.uniform(0.01, 0.15))
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                crashes += 1
            crash._work(url, ref, receipts, clock, chunk=50, profile=profile)
            state = ref.admin("/admin/state")
            confirmed = [c["shpId"] for c in state["confirmations"]]
            repeats = state["idempotent_replays"] + state["double_confirm_refused"]
            tally.add(f"drain:{profile}", attempts=crashes, crashes=crashes, repeats=repeats,
                      lost=len({r.delivery_id for r in receipts} - set(confirmed)),
                      duplicated=max(0, repeats - crashes) + (len(confirmed) - len(set(confirmed))))
        finally:
            proc.terminate()
            proc.wait(10)


def _reference_platform(crash: Any) -> tuple[subprocess.Popen[bytes], Any]:
    """The reference platform as its own process (as the crash test runs it), and its admin handle."""
    from platform_support import APP_KEY, SECRET

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "REFPLATFORM_SECRET": SECRET, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "refplatform", "--port", str(port), "--app-key", APP_KEY], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ref = crash.RemoteRef(f"http://127.0.0.1:{port}")
    for _ in range(200):
        try:
            ref.admin("/healthz")
            break
        except Exception:  # httpx.TransportError: not listening yet
            time.sleep(0.05)
    return proc, ref


# -- import ---------------------------------------------------------------------------------------
def part_import(tmp: Path, tally: Tally, rng: random.Random, kills: int = 8) -> None:
    rows = [[i, f"测试药品{i}片", "片剂", "10mg×28片", 28, f"测试制药{i % 7}有限公司", None, "1.5"] for i in range(1, 3001)]
    path = winners_xlsx(tmp / "big-winners.xlsx", rows, notes=False, blank_rows=False)
    cfg = agent_config(tmp / "imp.toml", tmp / "imp-state")
    args = [EXE, "-c", str(cfg), "import", "winners", str(path), "--programme", "第十批", "--cycle-start", "2025-03-01",
            "--cycle-end", "2027-02-28", "--yes"]
    tb = 0
    for _ in range(kills):
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(rng.uniform(0.5, 4.0))
        proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate(timeout=30)
        tb += tracebacks(err or "")
    final = subprocess.run(args, capture_output=True, text=True, timeout=300)
    tb += tracebacks(final.stderr)
    with sqlite3.connect(tmp / "imp-state" / "state.db") as db:
        held = db.execute("SELECT count(*), count(DISTINCT product_key) FROM winning_products").fetchone()
    tally.add("import", attempts=kills, crashes=kills, tracebacks=tb, lost=max(0, len(rows) - held[1]),
              duplicated=held[0] - held[1], products=held[0], exit_code=final.returncode)


# -- state store restarts -------------------------------------------------------------------------
def part_store(tmp: Path, tally: Tally, rng: random.Random, restarts: int = 4, days: int = 20) -> None:
    import shutil

    import psycopg

    from tests.conftest import OWN_CLUSTER_PREFIX, PgCluster, _drop_orphan_clusters

    if shutil.which("pg_createcluster") is None or not Path("/etc/postgresql").is_dir():
        tally.add("store", skipped="pg_createcluster is not installed")
        return
    _drop_orphan_clusters()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cluster = PgCluster(sorted(os.listdir("/etc/postgresql"))[-1], f"{OWN_CLUSTER_PREFIX}{os.getpid()}_chaos", port)
    subprocess.run(["pg_createcluster", "-p", str(port), cluster.version, cluster.name, "--", "--auth=trust"],
                   check=True, capture_output=True, timeout=120)
    try:
        cluster.ctl("start")
        his = _his(tmp, days)
        url = f"postgresql+psycopg://{cluster.user}@{cluster.host}:{port}/postgres"
        cfg = agent_config(tmp / "store.toml", url=url, his=his, pause=0.15)
        args = _backfill_args(days)
        tb = one_line = failed = 0
        said: list[str] = []
        for _ in range(restarts):
            proc = subprocess.Popen([EXE, "-c", str(cfg), *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                    text=True)
            time.sleep(rng.uniform(0.5, 2.0))
            cluster.ctl("restart", "-m", "fast")
            _, err = proc.communicate(timeout=300)
            tb += tracebacks(err)
            if proc.returncode != 0:
                failed += 1
                lines = [x for x in err.splitlines() if x.strip()]
                errors = [x for x in lines if x.startswith(("state store (", "error ("))]
                one_line += len(errors) == 1 and lines[-1] == errors[0]  # progress and "resuming from" aside
                said.append(lines[-1][:240] if lines else "")
        final = subprocess.run([EXE, "-c", str(agent_config(tmp / "store-final.toml", url=url, his=his)), *args],
                               capture_output=True, text=True, timeout=300)
        tb += tracebacks(final.stderr)
        with psycopg.connect(host=cluster.host, port=port, user=cluster.user, dbname="postgres") as conn:
            got = conn.execute("SELECT count(*), sum(quantity) FROM usage_daily").fetchone()
        want = _usage_totals(tmp / "bf-whole" / "state.db") if (tmp / "bf-whole" / "state.db").exists() else None
        lost = dup = 0
        if want is not None:
            lost, dup = max(0, want[0] - got[0]), max(0, got[0] - want[0])
        tally.add("store", attempts=restarts, tracebacks=tb, lost=lost, duplicated=dup,
                  failed_runs=failed, one_line_failures=one_line, final_exit=final.returncode, said=said)
    finally:
        subprocess.run(["pg_dropcluster", "--stop", cluster.version, cluster.name], capture_output=True, timeout=120)


# -- idle-connection flood ------------------------------------------------------------------------
def _threads(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return 0


def part_flood(tmp: Path, tally: Tally, rng: random.Random, connections: int = 300, rounds: int = 3) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = agent_config(tmp / "flood.toml", tmp / "flood-state", port=port)
    proc = subprocess.Popen([EXE, "-c", str(cfg), "run"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    max_threads = answered = 0
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).close()
                break
            except OSError:
                time.sleep(0.2)
        except_http = __import__("urllib.error").error.HTTPError
        for _ in range(rounds):
            idle = []
            for _ in range(connections):
                try:
                    idle.append(socket.create_connection(("127.0.0.1", port), timeout=5))
                except OSError:
                    break
            time.sleep(0.5)
            max_threads = max(max_threads, _threads(proc.pid))
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
                    answered += r.status == 200
            except except_http:
                answered += 1  # answered, if unhappy
            except OSError as exc:
                say("scrape during the flood failed:", exc)
            max_threads = max(max_threads, _threads(proc.pid))
            for c in idle:
                c.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            _, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    tally.add("flood", attempts=rounds, tracebacks=tracebacks(err or ""), max_threads=max_threads,
              scrapes_answered=answered, tasks_max=TASKS_MAX)


# -- the SQL guard's bypass table -------------------------------------------------------------------
def part_bypass(tmp: Path, tally: Tally, rng: random.Random) -> None:
    try:
        hook = importlib.import_module("tests.chaos_bypass")
    except ModuleNotFoundError:
        tally.add("bypass", skipped="tests/chaos_bypass.py is not there yet (the SQL guard's table)")
        return
    tally.add("bypass", **hook.run())


PARTS = {"sheets": part_sheets, "backfill": part_backfill, "drain": part_drain, "import": part_import,
         "store": part_store, "flood": part_flood, "bypass": part_bypass}


def main() -> int:
    chosen = [p for p in os.environ.get("CHAOS_PARTS", ",".join(PARTS)).split(",") if p]
    rng = random.Random(int(os.environ.get("CHAOS_SEED", "19")))
    tally = Tally()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="vbp-chaos-") as d:
        for name in chosen:
            say(f"{name} ...")
            try:
                PARTS[name](Path(d), tally, rng)
            except Exception as exc:  # a part that breaks is a finding, not the end of the run
                tally.totals["tracebacks"] += 1
                tally.add(name, error=f"{type(exc).__name__}: {exc}")
    ok = (tally.totals["tracebacks"] == 0 and tally.totals["lost"] == 0 and tally.totals["duplicated"] == 0
          and tally.totals["refused"] >= sum(v.get("attempts", 0) for k, v in tally.parts.items()
                                             if k in ("sheets", "bypass"))
          and tally.totals["max_threads"] < TASKS_MAX
          and tally.totals["repeats"] <= tally.totals["crashes"]
          and all(v.get("failed_runs", 0) == v.get("one_line_failures", 0) for v in tally.parts.values()))
    print(json.dumps({**tally.totals, "ok": ok, "seconds": round(time.monotonic() - started, 1), "parts": tally.parts},
                     ensure_ascii=False), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
