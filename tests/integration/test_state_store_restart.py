"""The state store (PostgreSQL, a cluster of the test's own) restarted or stopped while a command works:
one line saying transient or permanent and what to do, never a traceback; a rerun finishes the job."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from agent.cli import main
from tests.conftest import PgCluster
from tests.ingest_support import HIS_PRESETS, START, SourceDb, backfill_config

pytestmark = pytest.mark.clock_free  # processes killed, servers restarted: no date decides anything

EXE = str(Path(sys.executable).with_name("vbp-agent"))
DAYS = 12


def _config(tmp_path: Path, cluster: PgCluster, his: str, pause: float) -> Path:
    url = f"postgresql+psycopg://{cluster.user}@{cluster.host}:{cluster.port}/postgres"
    return backfill_config(tmp_path / f"agent-{pause}.toml", f'url = "{url}"', his, pause)


def _one_line_or_success(run: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in run.stderr, run.stderr
    if run.returncode != 0:
        assert run.returncode == 3, run.stderr
        last = run.stderr.strip().splitlines()[-1]
        assert run.stderr.strip().count("\n") == 0 or "补录" in run.stderr  # the progress bar aside, one line
        assert last.startswith("state store (transient): "), run.stderr  # opening it or in the middle of the work
        assert "run the command again" in last


def _backfilled_days(cluster: PgCluster) -> int:
    with psycopg.connect(host=cluster.host, port=cluster.port, user=cluster.user, dbname="postgres") as conn:
        return conn.execute("SELECT count(DISTINCT day) FROM usage_daily").fetchone()[0]


def test_a_state_store_restarted_mid_backfill_is_one_line_and_a_rerun_completes(tmp_path: Path, sqlite_odbc: str,
                                                                                pg_cluster: PgCluster) -> None:
    db = SourceDb("sqlite", sqlite_odbc)
    db.load_his(HIS_PRESETS["oracle_his"], days=DAYS, rows_per_day=20)
    his = sqlite_odbc.split("Database=")[1].rstrip(";")
    args = ["backfill", "--from", START.isoformat(), "--to", (START + timedelta(days=DAYS - 1)).isoformat()]
    proc = subprocess.Popen([EXE, "-c", str(_config(tmp_path, pg_cluster, his, 0.3)), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(2.0)
    pg_cluster.ctl("stop", "-m", "fast")
    out, err = proc.communicate(timeout=120)
    pg_cluster.ctl("start")
    _one_line_or_success(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    assert proc.returncode == 3  # the store was down for the rest of the run
    rerun = subprocess.run([EXE, "-c", str(_config(tmp_path, pg_cluster, his, 0)), *args], capture_output=True,
                           text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert _backfilled_days(pg_cluster) == DAYS


def test_status_against_a_stopped_state_store_is_one_transient_line(tmp_path: Path, pg_cluster: PgCluster,
                                                                    capsys) -> None:
    cfg = _config(tmp_path, pg_cluster, str(tmp_path / "none.sqlite"), 0)
    pg_cluster.ctl("stop", "-m", "fast")
    try:
        assert main(["-c", str(cfg), "status"]) == 3
    finally:
        pg_cluster.ctl("start")
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("state store (transient): the state store stopped answering")
