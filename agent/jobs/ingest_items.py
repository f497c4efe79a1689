"""The HIS dictionaries copied into the store: items (药品字典 / 物资字典) into ``local_items`` for
对码 (mapping), departments (科室字典) into ``local_departments`` so staff read names, not codes."""

from __future__ import annotations

from sqlalchemy import and_, delete, select

from agent.clock import Clock
from agent.domain.model import BadRow, LocalItem
from agent.jobs import quarantine as quarantine_repo
from agent.ports import DepartmentSource, ItemSource
from agent.store import Store
from agent.store.schema.ingest import local_departments, local_items


def ingest_items(store: Store, source: ItemSource, clock: Clock) -> tuple[int, int]:
    """Replace the source's dictionary in one transaction; returns (items stored, rows quarantined)."""
    good: dict[str, LocalItem] = {}
    bad: list[BadRow] = []
    for row in source.read_items():
        if isinstance(row, BadRow):
            bad.append(row)
        else:
            good[row.code] = row
    now, hc = clock.now(), store.hospital_code
    with store.begin() as conn:
        conn.execute(delete(local_items).where(and_(local_items.c.hospital_code == hc, local_items.c.source == source.name)))
        if good:
            conn.execute(local_items.insert(), [
                dict(hospital_code=hc, source=source.name, code=i.code, name=i.name, generic_name=i.generic_name,
                     dosage_form=i.dosage_form, spec=i.spec, manufacturer=i.manufacturer, his_unit=i.his_unit,
                     pack_factor=i.pack_factor, national_code=i.national_code, price=i.price, kind=i.kind, read_at=now)
                for i in good.values()])
        quarantine_repo.record(conn, hc, source.name, bad, now)
    return len(good), len(bad)


def ingest_departments(store: Store, source: DepartmentSource, clock: Clock) -> tuple[int, int]:
    """Replace the source's department dictionary in one transaction; returns (stored, quarantined)."""
    good: dict[str, str] = {}
    bad: list[BadRow] = []
    for row in source.read_departments():
        if isinstance(row, BadRow):
            bad.append(row)
        else:
            good[row[0]] = row[1]
    now, hc, t = clock.now(), store.hospital_code, local_departments
    with store.begin() as conn:
        conn.execute(delete(t).where(and_(t.c.hospital_code == hc, t.c.source == source.name)))
        if good:
            conn.execute(t.insert(), [dict(hospital_code=hc, source=source.name, code=code, name=name, read_at=now)
                                      for code, name in good.items()])
        quarantine_repo.record(conn, hc, source.name, bad, now)
    return len(good), len(bad)


def department_names(store: Store) -> dict[str, str]:
    """Department code -> name (科室名称) over every source's dictionary (the first source by name
    wins when two disagree)."""
    t = local_departments
    with store.read() as conn:
        rows = conn.execute(select(t.c.code, t.c.name).where(t.c.hospital_code == store.hospital_code)
                            .order_by(t.c.source.desc())).all()
    return dict(rows)
