"""``vbp-agent demo`` is run once per test session and shared: the demo's own test reads what it printed
and wrote, the console's browser tests serve its store. It takes a minute and a half, more on a busy
machine, so it is started as soon as the tests are collected, in a process of its own, and the tests
that need it run last: it runs beside the rest of the suite instead of before it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.demo_support import DemoRun

EXE = str(Path(sys.executable).with_name("vbp-agent"))
HERE = Path(__file__).resolve().parent
TIMEOUT_S = 840
_demo: dict[str, Any] = {}  # the session's demo: its folder and process, once started


def _start_demo() -> None:
    """The demo, not on a terminal (stdin closed): it prints the console's address and a login, and exits.
    Its output goes to files (a pipe nobody reads while the suite runs would fill and stop it)."""
    if "proc" in _demo:
        return
    base = Path(tempfile.mkdtemp(prefix="vbp-e2e-demo-"))
    out, err = (base / "stdout.txt").open("w", encoding="utf-8"), (base / "stderr.txt").open("w", encoding="utf-8")
    _demo.update(base=base, where=base / "demo", out=out, err=err,
                 proc=subprocess.Popen([EXE, "demo", "--dir", str(base / "demo")], stdout=out, stderr=err,
                                       stdin=subprocess.DEVNULL, text=True))


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    needs = [i for i in items if "demo_run" in getattr(i, "fixturenames", ())]
    if not needs:
        return
    mine = [i for i in items if HERE in Path(str(i.path)).parents]
    items[:] = [i for i in items if HERE not in Path(str(i.path)).parents] + mine
    if not config.option.collectonly:
        _start_demo()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    proc = _demo.get("proc")
    if proc is None:
        return
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    _demo["out"].close()
    _demo["err"].close()
    shutil.rmtree(_demo["base"], ignore_errors=True)


@pytest.fixture(scope="session")
def demo_run() -> DemoRun:
    _start_demo()
    proc = _demo["proc"]
    try:
        code = proc.wait(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = proc.wait()
    _demo["out"].flush()
    _demo["err"].flush()
    where, base = _demo["where"], _demo["base"]
    reports = sorted(p.name for p in (where / "reports").glob("*.xlsx"))
    return DemoRun(where, (base / "stdout.txt").read_text(encoding="utf-8"), (base / "stderr.txt").read_text(encoding="utf-8"),
                   code, reports)
