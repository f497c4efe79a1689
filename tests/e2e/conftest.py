"""``vbp-agent demo`` is run once per test session and shared: the demo's own test reads what it printed
and wrote, the console's browser tests serve its store (it takes a minute and a half, more on a busy
machine, so running it twice would be most of the e2e time)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.demo_support import DemoRun

EXE = str(Path(sys.executable).with_name("vbp-agent"))


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """The demo once, not on a terminal (stdin closed): it prints the console's address and a login, and exits."""
    where = tmp_path_factory.mktemp("demo") / "demo"
    out = subprocess.run([EXE, "demo", "--dir", str(where)], capture_output=True, text=True, timeout=840,
                         stdin=subprocess.DEVNULL)
    reports = sorted(p.name for p in (where / "reports").glob("*.xlsx"))
    return DemoRun(where, out.stdout, out.stderr, out.returncode, reports)
