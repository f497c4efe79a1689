"""The HIS dictionaries as last read: items (药品字典 / 物资字典, ``local_items``) for 对码 (mapping) and
departments (科室字典, ``local_departments``) so staff read names, not codes.

A source's dictionary is replaced whole (delete, then insert) inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, and_, delete, select

from agent.domain.model import LocalItem
from agent.store.schema.ingest import local_departments
from agent.store.schema.ingest import local_items as _local_items


def replace_items(conn: Connection, hospital: str, source: str, items: Iterable[LocalItem], now: datetime) -> int:
    """The source's item dictionary replaced by ``items``; returns how many were stored."""
    return _replace(conn, _local_items, hospital, source, now, [
        dict(code=i.code, name=i.name, generic_name=i.generic_name, dosage_form=i.dosage_form, spec=i.spec,
             manufacturer=i.manufacturer, his_unit=i.his_unit, pack_factor=i.pack_factor, national_code=i.national_code,
             price=i.price, kind=i.kind, registration_no=i.registration_no) for i in items])


def replace_departments(conn: Connection, hospital: str, source: str, departments: Iterable[tuple[str, str]],
                        now: datetime) -> int:
    """The source's department dictionary replaced by ``(code, name)`` pairs; returns how many were stored."""
    return _replace(conn, local_departments, hospital, source, now, [dict(code=c, name=n) for c, n in departments])


def _replace(conn: Connection, table: Table, hospital: str, source: str, now: datetime, rows: list[dict[str, Any]]) -> int:
    conn.execute(delete(table).where(and_(table.c.hospital_code == hospital, table.c.source == source)))
    if rows:
        conn.execute(table.insert(), [dict(hospital_code=hospital, source=source, read_at=now, **r) for r in rows])
    return len(rows)


def department_names(conn: Connection, hospital: str) -> dict[str, str]:
    """Department code -> name (科室名称) over every source's dictionary (the first source by name
    wins when two disagree)."""
    t = local_departments
    rows = conn.execute(select(t.c.code, t.c.name).where(t.c.hospital_code == hospital).order_by(t.c.source.desc())).all()
    return dict(rows)


def local_items(conn: Connection, hospital: str) -> list[LocalItem]:
    """The HIS item dictionaries as last read, for mapping (对码): one item per code."""
    li = _local_items
    rows = conn.execute(select(li).where(li.c.hospital_code == hospital).order_by(li.c.code)).mappings().all()
    seen: dict[str, LocalItem] = {}
    for r in rows:
        seen.setdefault(r["code"], LocalItem(
            code=r["code"], name=r["name"], generic_name=r["generic_name"], dosage_form=r["dosage_form"], spec=r["spec"],
            manufacturer=r["manufacturer"], his_unit=r["his_unit"], pack_factor=r["pack_factor"],
            national_code=r["national_code"], price=r["price"], kind=r["kind"], registration_no=r["registration_no"],
        ))
    return list(seen.values())
