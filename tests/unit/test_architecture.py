"""The layers of docs/ARCHITECTURE.md are import-linter contracts (``[tool.importlinter]`` in
pyproject.toml): the tree keeps them, and a wrong arrow, even inside a function, breaks them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from clockproof import clock_calls, clock_proof, server_clock_calls, store_twin

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).with_name("lint-imports")
PACKAGES = ("agent", "adapters", "refplatform", "vbp_demo")


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT), "--config", str(root / "pyproject.toml"), "--no-cache"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the source tree a test may break without touching the checkout."""
    root = tmp_path_factory.mktemp("tree")
    for pkg in PACKAGES:
        shutil.copytree(ROOT / pkg, root / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", root)
    return root


def test_the_tree_keeps_every_contract() -> None:
    out = _lint(ROOT)
    assert out.returncode == 0 and "0 broken" in out.stdout, out.stdout + out.stderr


@pytest.mark.parametrize("where, code, contract", [
    ("agent/domain/_probe.py", "def f():\n    import sqlalchemy\n", "The domain is pure"),
    ("agent/jobs/_probe.py", "from sqlalchemy import select\n", "SQLAlchemy is the store's"),
    ("agent/store/_probe.py", "from agent.jobs import ingest\n", "Layers of the agent"),
    ("agent/service/_probe.py", "import adapters.registry\n", "Only the composition root reaches the adapters"),
    ("agent/cli/_probe.py", "def f():\n    import refplatform\n", "Only the demo loads the simulator"),
    ("adapters/his/_probe.py", "from agent.store import Store\n", "Adapters see only the domain"),
])
def test_a_wrong_arrow_breaks_its_contract(tree: Path, where: str, code: str, contract: str) -> None:
    probe = tree / where
    probe.write_text(code, encoding="utf-8")
    try:
        out = _lint(tree)
    finally:
        probe.unlink()
    assert out.returncode != 0
    broken = [line for line in out.stdout.splitlines() if line.rstrip().endswith("BROKEN")]
    assert any(contract in line for line in broken), out.stdout
    assert where.removesuffix(".py").replace("/", ".") in out.stdout


def test_the_domain_never_reads_the_clock() -> None:
    """Every date the domain sees is handed to it; the clock-shifted runs of ``make test`` rely on
    it to leave out the tests of the domain alone (``tests/clockproof.py``)."""
    found = [f"{path.relative_to(ROOT)}:{where}" for path in sorted((ROOT / "agent" / "domain").rglob("*.py"))
             for where in clock_calls(path.read_text(encoding="utf-8"))]
    assert found == []


@pytest.mark.parametrize("code", ["from datetime import date\nd = date.today()\n", "import time\nt = time.time()\n",
                                  "from datetime import datetime\nn = datetime.now(tz)\n", "from time import monotonic\n"])
def test_a_clock_read_is_seen(code: str) -> None:
    assert clock_calls(code)


def test_the_state_store_never_asks_its_server_for_the_time() -> None:
    """Every time the store writes or compares is our clock's; the clock-shifted runs of ``make
    test`` rely on it to run the state store's tests on SQLite only (``tests/clockproof.py``)."""
    found = [f"{path.relative_to(ROOT)}:{where}" for path in sorted((ROOT / "agent" / "store").rglob("*.py"))
             for where in server_clock_calls(path.read_text(encoding="utf-8"))]
    assert found == []


@pytest.mark.parametrize("code", ["q = select(func.now())\n", "conn.exec_driver_sql('SELECT now()')\n",
                                  "Column('at', server_default=text('CURRENT_TIMESTAMP'))\n",
                                  "text('WHERE day < current_date')\n", "'SELECT GETDATE()'\n", "'SELECT SYSDATE FROM dual'\n"])
def test_a_server_clock_read_is_seen(code: str) -> None:
    assert server_clock_calls(code)


def test_our_own_clock_is_not_taken_for_the_servers() -> None:
    assert server_clock_calls("now = datetime.now(UTC)\nat = clock.now()\nnow_local = 1\n") == []


def test_only_the_postgresql_run_of_a_state_store_test_is_its_twin() -> None:
    assert store_twin({"store_url": "postgresql"})
    assert not store_twin({"store_url": "sqlite"}) and not store_twin({"backend": "postgresql"}) and not store_twin({})


def test_only_tests_of_the_domain_alone_without_a_clock_are_clock_proof(tmp_path: Path) -> None:
    cases = {
        "test_pure.py": ("from agent.domain.stats import nbinom_sf\nfrom datetime import date\n", True),
        "test_store.py": ("from agent.domain.stats import nbinom_sf\nfrom agent.store import open_store\n", False),
        "test_today.py": ("from agent.domain.stats import nbinom_sf\nfrom datetime import date\nx = date.today()\n", False),
        "test_fake.py": ("from agent.domain.stats import nbinom_sf\n\ndef test_x(clock):\n    pass\n", False),
        "test_none.py": ("import math\n", False),
    }
    for name, (code, proof) in cases.items():
        (tmp_path / name).write_text(code, encoding="utf-8")
        assert clock_proof(tmp_path / name) is proof, name
