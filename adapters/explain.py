"""Whether a preset query is served by an index: the engine's own plan, read for full scans.

PostgreSQL ``EXPLAIN`` shows ``Seq Scan on t``; MariaDB ``EXPLAIN`` shows ``type = ALL``; SQLite
``EXPLAIN QUERY PLAN`` shows ``SCAN t`` without an index. Only the preset's big tables count
(a full scan of a small dictionary is fine).
"""

from __future__ import annotations

import re
from typing import Any

from adapters.source import SqlSource


def full_scans(source: SqlSource, query: str, values: dict[str, Any]) -> list[str] | None:
    """The preset's big tables the plan scans in full; None when the engine cannot tell us."""
    big = {t.lower() for t in source.preset.index_tables}
    sql, params = source.sql(query, values)
    engine = source.odbc.engine
    if engine == "postgresql":
        lines = [str(r[0]) for r in source.odbc.stream("EXPLAIN " + sql, params)]
        found = [m.group(1).lower() for line in lines for m in [re.search(r"Seq Scan on (\w+)", line)] if m]
    elif engine == "mariadb":
        rows = list(source.odbc.stream("EXPLAIN " + sql, params))
        # columns: id, select_type, table, type, possible_keys, key, ...
        found = [str(r[2]).lower() for r in rows if str(r[3]).upper() == "ALL"]
    elif engine == "sqlite":
        rows = list(source.odbc.stream("EXPLAIN QUERY PLAN " + sql, params))
        found = []
        for r in rows:
            m = re.match(r"SCAN (?:TABLE )?(\w+)", str(r[-1]))
            if m and "INDEX" not in str(r[-1]).upper():
                found.append(m.group(1).lower())
    else:
        return None
    return sorted({t for t in found if t in big})
