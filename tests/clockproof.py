"""Which test modules a moved clock cannot touch, so that the clock-shifted runs of ``make test``
leave them out: a module that reaches our code only through ``agent.domain`` and reads no clock
itself. The domain never reads the clock (``test_architecture`` holds it to that, with
:func:`clock_calls`): every date it sees is handed to it, so the same test gives the same answer
a year from now."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

CLOCK_ATTRS = frozenset({"now", "today", "utcnow", "fromtimestamp", "utcfromtimestamp"})
CLOCK_MODULES = frozenset({"time", "time_machine"})
OURS = ("agent", "adapters", "refplatform", "vbp_demo", "bench", "synth", "tests")
MENTIONS_A_CLOCK = re.compile(r"clock", re.IGNORECASE)  # a clock fixture, FakeClock, --clock-shift-days


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
