"""Shared fixtures: real PostgreSQL and MariaDB, each test in its own schema, dropped after."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PG_HOST = os.environ.get("VBP_TEST_PG_HOST", "127.0.0.1")
PG_USER = os.environ.get("VBP_TEST_PG_USER", "postgres")
MY_HOST = os.environ.get("VBP_TEST_MY_HOST", "127.0.0.1")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--clock-shift-days", type=float, default=None, metavar="DAYS",
                     help="run with the process clock (and that of every Python process a test starts) moved by DAYS")


def pytest_configure(config: pytest.Config) -> None:
    days = config.getoption("--clock-shift-days")
    if days is None:
        return
    shim = str(ROOT / "tests" / "clockshift")
    os.environ["VBP_TEST_CLOCK_SHIFT_DAYS"] = str(days)
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (shim, os.environ.get("PYTHONPATH")) if p)
    spec = importlib.util.spec_from_file_location("vbp_clockshift", Path(shim) / "sitecustomize.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # the variable is set above: this moves our own clock too


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In a clock-shifted run, leave out what a moved clock cannot touch (``tests/clockproof.py``):
    the test modules of the domain alone, and the PostgreSQL twins of the state store's tests."""
    if config.getoption("--clock-shift-days") is None:
        return
    from clockproof import clock_proof, store_twin

    def untouched(item: pytest.Item) -> bool:
        callspec = getattr(item, "callspec", None)
        return clock_proof(Path(str(item.path))) or (callspec is not None and store_twin(callspec.params))

    left_out = [item for item in items if untouched(item)]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if not untouched(item)]


def pytest_report_header(config: pytest.Config) -> str | None:
    days = config.getoption("--clock-shift-days")
    return None if days is None else f"clock shifted by {days:+g} days: {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}"


def machine_now() -> datetime:
    """The machine's own clock, which database servers read, even while ``--clock-shift-days`` moves ours."""
    from time_machine import escape_hatch

    return escape_hatch.datetime.datetime.now(UTC) if escape_hatch.is_travelling() else datetime.now(UTC)


def _ensure_services() -> None:
    subprocess.run(["bash", str(ROOT / "scripts" / "ensure-services.sh")], check=False, capture_output=True, timeout=120)


@pytest.fixture(scope="session")
def services() -> None:
    _ensure_services()


@dataclass(frozen=True)
class PgCluster:
    """A PostgreSQL cluster of the test's own, for what must not touch the shared server (a restart)."""

    version: str
    name: str
    port: int
    host: str = "127.0.0.1"
    user: str = "postgres"

    def ctl(self, action: str, *args: str) -> None:
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name, action, *args],
                       check=True, capture_output=True, timeout=120)

    def odbc(self, database: str = "postgres") -> str:
        return f"Driver={{PostgreSQL Unicode}};Server={self.host};Port={self.port};Database={database};UID={self.user};"


OWN_CLUSTER_PREFIX = "vbp_test_"


def _drop_orphan_clusters() -> None:
    """Clusters a killed test run left behind (its pid is in the name and no longer alive)."""
    out = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True, check=False).stdout
    for line in out.splitlines():
        version, name = line.split()[:2]
        if not name.startswith(OWN_CLUSTER_PREFIX):
            continue
        pid = int(name.removeprefix(OWN_CLUSTER_PREFIX).split("_")[0])
        if not Path(f"/proc/{pid}").exists():
            subprocess.run(["pg_dropcluster", "--stop", version, name], capture_output=True, check=False, timeout=120)


@pytest.fixture
def pg_cluster() -> Iterator[PgCluster]:
    """A new cluster on a free port (pg_createcluster, trust on loopback), dropped after the test."""
    import psycopg

    if shutil.which("pg_createcluster") is None or not Path("/etc/postgresql").is_dir():
        pytest.skip("PostgreSQL's cluster tools (postgresql-common) are not installed")
    _drop_orphan_clusters()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cluster = PgCluster(sorted(os.listdir("/etc/postgresql"))[-1], f"{OWN_CLUSTER_PREFIX}{os.getpid()}_{uuid.uuid4().hex[:6]}",
                        port)
    subprocess.run(["pg_createcluster", "-p", str(port), cluster.version, cluster.name, "--", "--auth=trust"],
                   check=True, capture_output=True, timeout=120)
    try:
        cluster.ctl("start")
        with psycopg.connect(host=cluster.host, port=port, user=cluster.user, dbname="postgres", autocommit=True) as conn:
            conn.execute("SELECT 1")
        yield cluster
    finally:
        subprocess.run(["pg_dropcluster", "--stop", cluster.version, cluster.name], capture_output=True, check=False,
                       timeout=120)


def new_pg_schema(request: pytest.FixtureRequest, prefix: str = "t") -> str:
    """A fresh PostgreSQL schema in database ``test``, dropped when the test ends."""
    import psycopg

    request.getfixturevalue("services")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(host=PG_HOST, user=PG_USER, dbname="test", autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')

    def drop() -> None:
        with psycopg.connect(host=PG_HOST, user=PG_USER, dbname="test", autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')

    request.addfinalizer(drop)
    return name


@pytest.fixture
def pg_schema(request: pytest.FixtureRequest) -> str:
    """A fresh PostgreSQL schema in database ``test``; dropped after the test."""
    return new_pg_schema(request)


@pytest.fixture
def pg_store_url(pg_schema: str) -> str:
    """A SQLAlchemy URL to the state store in a fresh schema."""
    return f"postgresql+psycopg://{PG_USER}@{PG_HOST}:5432/test?options=-csearch_path%3D{pg_schema}"


@pytest.fixture
def pg_odbc(pg_schema: str) -> str:
    """An ODBC connection string (psqlODBC, streaming on) whose search_path is the test schema."""
    return (
        f"Driver={{PostgreSQL Unicode}};Server={PG_HOST};Port=5432;Database=test;UID={PG_USER};"
        f"UseDeclareFetch=1;Fetch=10000;ConnSettings=SET search_path TO {pg_schema};"
    )


@pytest.fixture
def mariadb_db(services: None) -> Iterator[str]:
    """A fresh MariaDB database; dropped after the test."""
    import pyodbc

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = f"Driver={{MariaDB Unicode}};Server={MY_HOST};Port=3306;UID=root;PWD=;"
    conn = pyodbc.connect(admin, autocommit=True, timeout=10)
    conn.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    conn.close()
    try:
        yield name
    finally:
        conn = pyodbc.connect(admin, autocommit=True, timeout=10)
        conn.execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()


@pytest.fixture
def mariadb_odbc(mariadb_db: str) -> str:
    return f"Driver={{MariaDB Unicode}};Server={MY_HOST};Port=3306;Database={mariadb_db};UID=root;PWD=;"


@pytest.fixture
def sqlite_odbc(tmp_path: Path) -> str:
    return f"Driver={{SQLite3}};Database={tmp_path / 'source.sqlite'};"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The state store on each backend it supports."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    return request.getfixturevalue("pg_store_url")
