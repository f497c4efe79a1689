"""What a moved clock cannot touch, so that the clock-shifted runs of ``make test`` leave it out:

- a test module that reaches our code only through ``agent.domain`` and reads no clock itself. The
  domain never reads the clock (``test_architecture`` holds it to that, with :func:`clock_calls`):
  every date it sees is handed to it, so the same test gives the same answer a year from now;
- the PostgreSQL run of a test parametrized over the state store's backend (``store_url``): its
  SQLite run stays. The store never asks its server for the time (:func:`server_clock_calls`, held
  by ``test_architecture``): every time it writes or compares comes from our clock, the same on
  both backends. Tests of a source database (a HIS on PostgreSQL, whose server keeps the machine's
  time while ours moves) keep every run."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

CLOCK_ATTRS = frozenset({"now", "today", "utcnow", "fromtimestamp", "utcfromtimestamp"})
CLOCK_MODULES = frozenset({"time", "time_machine"})
OURS = ("agent", "adapters", "refplatform", "vbp_demo", "bench", "synth", "tests")
MENTIONS_A_CLOCK = re.compile(r"clock", re.IGNORECASE)  # a clock fixture, FakeClock, --clock-shift-days
SERVER_CLOCK = re.compile(  # SQL that asks the database server for the time
    r"\b(current_timestamp|current_date|current_time|localtimestamp|localtime|clock_timestamp|statement_timestamp|"
    r"transaction_timestamp|sysdate|systimestamp|sysdatetime|getdate|getutcdate|utc_timestamp)\b|\bfunc\.now\b|(?<![.\w])now\(\)",
    re.IGNORECASE)


def clock_calls(source: str) -> list[str]:
    """Where ``source`` reads the clock: ``.now()``, ``.today()`` and the like, or the ``time``
    module imported (``time.time()``, ``localtime`` ...); ``file:line what`` without the file."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in CLOCK_ATTRS:
            found.append(f"{node.lineno} .{node.func.attr}()")
        elif isinstance(node, ast.Import):
            found += [f"{node.lineno} import {a.name}" for a in node.names if a.name in CLOCK_MODULES]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module in CLOCK_MODULES:
            found.append(f"{node.lineno} from {node.module} import ...")
    return found


def server_clock_calls(source: str) -> list[str]:
    """Where ``source`` asks a database server for the time (``now()``, ``CURRENT_TIMESTAMP``,
    ``func.now`` ...): ``line what``."""
    return [f"{n} {m.group(0)}" for n, line in enumerate(source.splitlines(), 1) for m in SERVER_CLOCK.finditer(line)]


def store_twin(params: dict[str, object]) -> bool:
    """A test's parameters make it the PostgreSQL run of a test over both state store backends."""
    return params.get("store_url") == "postgresql"


@cache
def clock_proof(path: Path) -> bool:
    """True when the test module at ``path`` reaches our code only through ``agent.domain`` and
    reads and names no clock itself."""
    source = path.read_text(encoding="utf-8")
    ours: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            ours |= {a.name for a in node.names if a.name.split(".")[0] in OURS}
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level or module.split(".")[0] in OURS:
                ours.add("." * node.level + module)
    domain_only = bool(ours) and all(m == "agent.domain" or m.startswith("agent.domain.") for m in ours)
    return domain_only and not clock_calls(source) and not MENTIONS_A_CLOCK.search(source)
