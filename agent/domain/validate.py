"""Row validation for ingestion: a reason to quarantine (隔离) a row, or None when it is usable.

Pure functions; the jobs call them on every row a source port yields.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import date, datetime, timedelta

from agent.domain.model import Receipt, UsageRow

# Smallest units and pack units a Chinese HIS or warehouse writes (最小单位 / 包装单位).
KNOWN_UNITS = frozenset(
    "片 粒 丸 袋 支 瓶 盒 板 贴 枚 包 袋装 管 喷 揿 吸 滴 ml mL 毫升 g 克 mg 个 套 只 根 条 张 副 卷 块 把 台 件 次 剂 听 桶 罐 人份 筒 箱".split()
)
EARLIEST = date(2000, 1, 1)


_UNDECODABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffd]")


def _bad_text(value: str | None) -> bool:
    """U+FFFD (a driver's replacement character) or control characters: the bytes were not decodable."""
    return value is not None and _UNDECODABLE.search(value) is not None


def usage_problem(row: UsageRow, day_from: date, day_to: date) -> str | None:
    """Why a usage aggregate cannot be stored, or None."""
    if not row.item_code or not row.item_code.strip():
        return "no item code"
    if not (day_from <= row.day <= day_to):
        return f"impossible date {row.day.isoformat()} outside the window read"
    if _bad_text(row.item_code) or _bad_text(row.dept_code):
        return "undecodable text"
    return None


def receipt_problem(r: Receipt, now: datetime, known_units: Collection[str] = KNOWN_UNITS) -> str | None:
    """Why a receipt line cannot be stored, or None. A deleted line is always accepted."""
    if r.deleted:
        return None
    if not r.item_code or not r.item_code.strip():
        return "no item code"
    if r.quantity < 0:
        return "negative receipt quantity"
    if r.unit is not None and r.unit.strip() and r.unit.strip() not in known_units and r.pack_factor is None:
        return f"unknown unit '{r.unit}'"  # with its own pack factor, a line's unit needs no name we know
    if r.pack_factor is not None and r.pack_factor <= 0:
        return f"impossible pack factor {r.pack_factor}"
    for label, value in (("changed_at", r.changed_at), ("accepted_at", r.accepted_at)):
        if value is not None and (value.date() < EARLIEST or value > now + timedelta(days=1)):
            return f"impossible date in {label}: {value.isoformat()}"
    if r.expiry is not None and r.expiry < EARLIEST:
        return f"impossible expiry date {r.expiry.isoformat()}"
    if any(_bad_text(v) for v in (r.item_code, r.lot, r.distributor, r.unit, r.invoice_no)):
        return "undecodable text"
    return None
