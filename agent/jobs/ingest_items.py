"""The HIS dictionaries copied into the store: items (药品字典 / 物资字典) into ``local_items`` for
对码 (mapping), departments (科室字典) into ``local_departments`` so staff read names, not codes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from sqlalchemy import Table, and_, delete, select

from agent.clock import Clock
from agent.domain.model import BadRow
from agent.jobs import quarantine as quarantine_repo
from agent.ports import DepartmentSource, ItemSource
from agent.store import Store
from agent.store.schema.ingest import local_departments, local_items

T = TypeVar("T")


def ingest_items(store: Store, source: ItemSource, clock: Clock) -> tuple[int, int]:
    """Replace the source's dictionary in one transaction; returns (items stored, rows quarantined)."""
    good, bad = _split(source.read_items(), lambda i: i.code)
    return _replace(store, local_items, source.name, bad, clock, [
        dict(code=i.code, name=i.name, generic_name=i.generic_name, dosage_form=i.dosage_form, spec=i.spec,
             manufacturer=i.manufacturer, his_unit=i.his_unit, pack_factor=i.pack_factor, national_code=i.national_code,
             price=i.price, kind=i.kind) for i in good])


def ingest_departments(store: Store, source: DepartmentSource, clock: Clock) -> tuple[int, int]:
    """Replace the source's department dictionary in one transaction; returns (stored, quarantined)."""
    good, bad = _split(source.read_departments(), lambda row: row[0])
    return _replace(store, local_departments, source.name, bad, clock, [dict(code=c, name=n) for c, n in good])


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


def _replace(store: Store, table: Table, source: str, bad: list[BadRow], clock: Clock,
             rows: list[dict[str, Any]]) -> tuple[int, int]:
    """The source's rows of ``table`` replaced and its bad rows quarantined, in one transaction."""
    now, hc = clock.now(), store.hospital_code
    with store.begin() as conn:
        conn.execute(delete(table).where(and_(table.c.hospital_code == hc, table.c.source == source)))
        if rows:
            conn.execute(table.insert(), [dict(hospital_code=hc, source=source, read_at=now, **r) for r in rows])
        quarantine_repo.record(conn, hc, source, bad, now)
    return len(rows), len(bad)


def department_names(store: Store) -> dict[str, str]:
    """Department code -> name (科室名称) over every source's dictionary (the first source by name
    wins when two disagree)."""
    t = local_departments
    with store.read() as conn:
        rows = conn.execute(select(t.c.code, t.c.name).where(t.c.hospital_code == store.hospital_code)
                            .order_by(t.c.source.desc())).all()
    return dict(rows)
