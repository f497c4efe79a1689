"""One ODBC source, two threads: a backfill's reader fetches the next window while its writer reads
a window plain (a packed window that did not unpack). A query holds the source from its execute
until its cursor closes, so the other thread waits instead of sharing the connection (unixODBC's
HY010, function sequence error, seen on a clock-shifted run of the packed read-ahead test)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from adapters.odbc import OdbcSource


def test_a_second_thread_waits_for_the_query_the_first_is_still_reading(tmp_path: Path) -> None:
    db = tmp_path / "source.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE t (n INTEGER)")
        conn.executemany("INSERT INTO t VALUES (?)", [(n,) for n in range(5)])
    src = OdbcSource("his", f"Driver={{SQLite3}};Database={db};", fetch_rows=1)
    first = src.batches("SELECT n FROM t ORDER BY n")
    got = [tuple(next(first)[0])]  # the first thread is inside its query
    counted: list[object] = []
    other = threading.Thread(target=lambda: counted.append(src.scalar("SELECT count(*) FROM t")))
    other.start()
    other.join(timeout=0.5)
    assert other.is_alive() and not counted  # waiting, not interleaving on the connection
    got += [tuple(row) for batch in first for row in batch]
    other.join(timeout=10)
    assert got == [(n,) for n in range(5)] and counted == [5]
    src.close()
