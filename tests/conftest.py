"""Shared fixtures: real PostgreSQL and MariaDB, each test in its own schema, dropped after."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PG_HOST = os.environ.get("VBP_TEST_PG_HOST", "127.0.0.1")
PG_USER = os.environ.get("VBP_TEST_PG_USER", "postgres")
MY_HOST = os.environ.get("VBP_TEST_MY_HOST", "127.0.0.1")


def _ensure_services() -> None:
    subprocess.run(["bash", str(ROOT / "scripts" / "ensure-services.sh")], check=False, capture_output=True, timeout=120)


@pytest.fixture(scope="session")
def services() -> None:
    _ensure_services()


@pytest.fixture
def pg_schema(services: None) -> Iterator[str]:
    """A fresh PostgreSQL schema in database ``test``; dropped after the test."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(host=PG_HOST, user=PG_USER, dbname="test", autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(host=PG_HOST, user=PG_USER, dbname="test", autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


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
