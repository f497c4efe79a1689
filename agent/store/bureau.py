"""The bureau tables' queries: substitutable items (可替代产品), department allocations (科室分配),
the annual report's state, and the 医保 进销存 upload log (schema in ``agent.store.schema.bureau``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, select, update

from agent.domain.uploads import InsuranceUpload
from agent.store.schema.bureau import annual_reports as ar
from agent.store.schema.bureau import dept_allocations as da
from agent.store.schema.bureau import insurance_uploads as iu
from agent.store.schema.bureau import substitutes as sb
from agent.store.schema.core import findings as fd
from agent.store.schema.ingest import receipts as rc

# -- substitutable items (可替代产品) ------------------------------------------------------------


def mark_substitute(conn: Connection, hospital: str, item_code: str, group_key: str, by: str, now: datetime) -> None:
    conn.execute(delete(sb).where(sb.c.hospital_code == hospital, sb.c.item_code == item_code))
    conn.execute(insert(sb).values(hospital_code=hospital, item_code=item_code, group_key=group_key,
                                   marked_by=by, marked_at=now))


def unmark_substitute(conn: Connection, hospital: str, item_code: str) -> bool:
    return conn.execute(delete(sb).where(sb.c.hospital_code == hospital, sb.c.item_code == item_code)).rowcount > 0


def substitutes(conn: Connection, hospital: str) -> dict[str, str]:
    """item code -> the group it is a substitute in."""
    rows = conn.execute(select(sb.c.item_code, sb.c.group_key).where(sb.c.hospital_code == hospital))
    return {code: group for code, group in rows}


# -- department allocations (科室分配) -----------------------------------------------------------


@dataclass(frozen=True)
class Allocation:
    product_key: str
    year_start: date
    dept_code: str
    programme: str
    quantity: float
    source: str  # sheet | proposed
    confirmed_by: str | None


def replace_allocations(conn: Connection, hospital: str, product_key: str, year_start: date, programme: str,
                        quantities: dict[str, float], source: str, now: datetime, confirmed_by: str | None) -> None:
    """The product-year's split, replaced whole (a re-import or a new proposal)."""
    key = and_(da.c.hospital_code == hospital, da.c.product_key == product_key, da.c.year_start == year_start)
    conn.execute(delete(da).where(key))
    if quantities:
        conn.execute(insert(da), [{"hospital_code": hospital, "product_key": product_key, "year_start": year_start,
                                   "dept_code": dept, "programme": programme, "quantity": qty, "source": source,
                                   "confirmed_by": confirmed_by, "confirmed_at": now if confirmed_by else None,
                                   "updated_at": now} for dept, qty in sorted(quantities.items())])


def confirm_allocations(conn: Connection, hospital: str, by: str, now: datetime,
                        product_keys: Iterable[str] | None = None) -> int:
    """The pharmacist confirms proposals (all, or those of some products); returns how many rows."""
    cond = and_(da.c.hospital_code == hospital, da.c.confirmed_by.is_(None))
    if product_keys is not None:
        cond = and_(cond, da.c.product_key.in_(list(product_keys)))
    return conn.execute(update(da).where(cond).values(confirmed_by=by, confirmed_at=now, updated_at=now)).rowcount


def allocations(conn: Connection, hospital: str, confirmed_only: bool = False) -> list[Allocation]:
    q = select(da).where(da.c.hospital_code == hospital)
    if confirmed_only:
        q = q.where(da.c.confirmed_by.is_not(None))
    rows = conn.execute(q.order_by(da.c.programme, da.c.product_key, da.c.year_start, da.c.dept_code)).mappings()
    return [Allocation(r["product_key"], r["year_start"], r["dept_code"], r["programme"], float(r["quantity"]),
                       r["source"], r["confirmed_by"]) for r in rows]


# -- the annual report (due 15 January) -----------------------------------------------------------


def annual_state(conn: Connection, hospital: str, year: int) -> dict[str, Any] | None:
    row = conn.execute(select(ar).where(ar.c.hospital_code == hospital, ar.c.year == year)).mappings().first()
    return dict(row) if row else None


def record_annual_draft(conn: Connection, hospital: str, year: int, path: str, now: datetime) -> None:
    if annual_state(conn, hospital, year) is None:
        conn.execute(insert(ar).values(hospital_code=hospital, year=year, drafted_at=now, path=path))
    else:
        conn.execute(update(ar).where(ar.c.hospital_code == hospital, ar.c.year == year).values(drafted_at=now, path=path))


def mark_annual_sent(conn: Connection, hospital: str, year: int, by: str, now: datetime) -> None:
    if annual_state(conn, hospital, year) is None:
        conn.execute(insert(ar).values(hospital_code=hospital, year=year, sent_at=now, sent_by=by))
    else:
        conn.execute(update(ar).where(ar.c.hospital_code == hospital, ar.c.year == year).values(sent_at=now, sent_by=by))


# -- the 医保 进销存 upload log (3501-3507) --------------------------------------------------------


def replace_uploads(conn: Connection, hospital: str, first: date, last: date, records: Sequence[InsuranceUpload],
                    now: datetime) -> int:
    """The log's calls for business days [first, last], replacing what was read before (re-reading is idempotent)."""
    conn.execute(delete(iu).where(iu.c.hospital_code == hospital, iu.c.business_day >= first, iu.c.business_day <= last))
    unique = {(r.business_day, r.interface, r.attempt): r for r in records if first <= r.business_day <= last}
    if unique:
        conn.execute(insert(iu), [{"hospital_code": hospital, "business_day": r.business_day, "interface": r.interface,
                                   "attempt": r.attempt, "uploaded_at": r.uploaded_at, "lines": r.lines, "ok": int(r.ok),
                                   "message": r.message, "read_at": now} for r in unique.values()])
    return len(unique)


def uploads_between(conn: Connection, hospital: str, first: date, last: date) -> list[InsuranceUpload]:
    q = (select(iu).where(iu.c.hospital_code == hospital, iu.c.business_day >= first, iu.c.business_day <= last)
         .order_by(iu.c.business_day, iu.c.interface, iu.c.uploaded_at))
    return [InsuranceUpload(r["business_day"], r["interface"], r["attempt"], r["uploaded_at"], int(r["lines"]), bool(r["ok"]),
                         r["message"]) for r in conn.execute(q).mappings()]


def first_upload_day(conn: Connection, hospital: str) -> date | None:
    """The earliest business day the log was read for: the clock starts there, not before the agent came."""
    return conn.execute(select(func.min(iu.c.business_day)).where(iu.c.hospital_code == hospital)).scalar()


def receipt_days(conn: Connection, hospital: str, first: date, last: date, tz: tzinfo) -> set[date]:
    """The hospital's days (in ``tz``) on which the warehouse accepted goods: a purchase (3503) is due for them."""
    start = datetime.combine(first, time.min, tz)
    end = datetime.combine(last + timedelta(days=1), time.min, tz)
    q = (select(rc.c.accepted_at).where(rc.c.hospital_code == hospital, rc.c.deleted.is_(False),
                                        rc.c.accepted_at >= start, rc.c.accepted_at < end).distinct())
    return {t.astimezone(tz).date() for (t,) in conn.execute(q) if t is not None}


def open_findings(conn: Connection, hospital: str, rules: Iterable[str]) -> list[tuple[str, str, str]]:
    """(rule, subject, title) of the active findings of ``rules``, for summaries."""
    q = (select(fd.c.rule, fd.c.subject, fd.c.title)
         .where(fd.c.hospital_code == hospital, fd.c.rule.in_(list(rules)), fd.c.active == 1)
         .order_by(fd.c.rule, fd.c.subject))
    return [(r, s, t) for r, s, t in conn.execute(q)]
