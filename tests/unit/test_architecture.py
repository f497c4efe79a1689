"""The layers of docs/ARCHITECTURE.md are import-linter contracts (``[tool.importlinter]`` in
pyproject.toml): the tree keeps them, and a wrong arrow, even inside a function, breaks them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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
