"""The HIS dictionaries copied into the store: items (药品字典 / 物资字典) into ``local_items`` for
对码 (mapping), departments (科室字典) into ``local_departments`` so staff read names, not codes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TypeVar

from agent.clock import Clock
from agent.domain.model import BadRow
from agent.ports import DepartmentSource, ItemSource
from agent.store import Store, Tx, dictionaries, quarantine

T = TypeVar("T")


def ingest_items(store: Store, source: ItemSource, clock: Clock) -> tuple[int, int]:
    """Replace the source's dictionary in one transaction; returns (items stored, rows quarantined)."""
    good, bad = _split(source.read_items(), lambda i: i.code)
    return _replace(store, dictionaries.replace_items, source.name, good, bad, clock)


def ingest_departments(store: Store, source: DepartmentSource, clock: Clock) -> tuple[int, int]:
    """Replace the source's department dictionary in one transaction; returns (stored, quarantined)."""
    good, bad = _split(source.read_departments(), lambda row: row[0])
    return _replace(store, dictionaries.replace_departments, source.name, good, bad, clock)


def _split(rows: Iterable[T | BadRow], key: Callable[[T], str]) -> tuple[list[T], list[BadRow]]:
    """The good rows, the last of each key kept, and the rows to quarantine."""
    good: dict[str, T] = {}
    bad: list[BadRow] = []
    for row in rows:
        if isinstance(row, BadRow):
            bad.append(row)
        else:
            good[key(row)] = row
    return list(good.values()), bad


def _replace(store: Store, replace: Callable[[Tx, str, str, list[T], datetime], int], source: str, rows: list[T],
             bad: list[BadRow], clock: Clock) -> tuple[int, int]:
    """The source's dictionary replaced by ``rows`` and its bad rows quarantined, in one transaction."""
    now, hc = clock.now(), store.hospital_code
    with store.begin() as conn:
        stored = replace(conn, hc, source, rows, now)
        quarantine.record(conn, hc, source, bad, now)
    return stored, len(bad)


def department_names(store: Store) -> dict[str, str]:
    """Department code -> name (科室名称) over every source's dictionary (the first source by name
    wins when two disagree)."""
    with store.read() as conn:
        return dictionaries.department_names(conn, store.hospital_code)
