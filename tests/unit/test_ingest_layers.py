"""Ingestion and the service speak to the store through its repositories (issue 15): none of their
modules imports SQLAlchemy or the store's tables, not even inside a function."""

from __future__ import annotations

from pathlib import Path

from tests.unit.test_structure import ROOT, imports_of

SLICE = [
    "agent/jobs/ingest.py", "agent/jobs/ingest_items.py", "agent/jobs/ingest_usage.py", "agent/jobs/ingest_receipts.py",
    "agent/jobs/backfill.py", "agent/jobs/reconcile.py", "agent/service/daemon.py", "agent/service/runner.py",
    "agent/service/status.py", "agent/cli/ingest.py",
]


def _sql_imports(path: Path, root: Path = ROOT) -> list[str]:
    return [f"{path.relative_to(root)}:{line} imports {name}" for line, name in imports_of(path, root)
            if name.split(".")[0] == "sqlalchemy" or name.startswith("agent.store.schema")]


def test_ingestion_and_the_service_import_no_sqlalchemy_and_no_tables() -> None:
    assert [bad for rel in SLICE for bad in _sql_imports(ROOT / rel)] == []


def test_the_check_sees_a_function_local_import(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("from agent.store import Tx\n\ndef f():\n    from sqlalchemy import select\n"
                     "    from agent.store.schema.ingest import receipts\n")
    assert _sql_imports(probe, tmp_path) == ["probe.py:4 imports sqlalchemy", "probe.py:5 imports agent.store.schema.ingest"]
