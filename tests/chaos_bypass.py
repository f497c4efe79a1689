"""The custom-SQL bypass table (tests/unit/test_sql_guard.py) for ``make chaos``: every attempt
through the guard, counted as refused (a one-line ConfigError) or not, and any other exception as
a traceback."""

from __future__ import annotations

from typing import Any

from adapters.sqlguard import guard_select
from agent.errors import ConfigError
from tests.unit.test_sql_guard import BYPASS_ATTEMPTS


def run() -> dict[str, Any]:
    refused = tracebacks = 0
    passed: list[str] = []
    for dialect, sql, _ in BYPASS_ATTEMPTS:
        try:
            guard_select(sql, dialect, "sources.his.sql.usage")
        except ConfigError as exc:
            refused += all("\n" not in p for p in exc.problems)
        except Exception:  # the guard itself broke on hostile text
            tracebacks += 1
        else:
            passed.append(f"{dialect}: {sql[:80]}")
    return {"attempts": len(BYPASS_ATTEMPTS), "refused": refused, "tracebacks": tracebacks, "passed": passed}
