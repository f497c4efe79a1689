"""The ``MonitoringInputs`` port (``agent.ports``) over the real tables: catalogue (programmes,
agreed volumes, 对码) and ingestion (usage per day x item x department, warehouse receipts).

Usage is counted from the configured usage sources of one kind only (the HIS by default, the
prescription system when there is no HIS source), so a hospital that configures both does not
count a dispensing twice. Acceptances (验收入库) are read from the warehouse receipt lines of every
warehouse source, by the day of acceptance in the hospital's time zone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal

from sqlalchemy import Connection, Float, String, and_, func, literal, select, type_coerce

from agent.clock import DEFAULT_TZ
from agent.domain.consumables import ValueRule, online_kind
from agent.domain.monitoring_model import (
    AcceptedTotal,
    DailyUsage,
    DeadlineInputs,
    GenericGroup,
    ItemLink,
    OffPlatformPurchase,
    Order,
    Payable,
    ProductYear,
    PurchaseMix,
    UsageTotal,
    VolumePlan,
)
from agent.domain.prices import PricedReceipt
from agent.domain.usage_series import UsageSeries, fill_series
from agent.store import Store, declarations, ledgers
from agent.store import catalogue as catalogue_repo
from agent.store.bureau import substitutes
from agent.store.catalogue import ACCEPTED, generic_groups
from agent.store.schema.catalogue import agreed_volumes as av
from agent.store.schema.catalogue import agreement_years as ay
from agent.store.schema.catalogue import item_mappings as im
from agent.store.schema.catalogue import winning_products as wp
from agent.store.schema.ingest import local_items as li
from agent.store.schema.ingest import receipts as rc
from agent.store.schema.ingest import usage_daily as ud
from agent.store.series_cache import SeriesCache
from agent.store.usage import day_stamps

ORDER_DAYS = timedelta(days=60)  # orders older than this are out of every clock
BILL_DAYS = timedelta(days=400)  # bills unpaid longer than this are the finance office's, not a clock
FILING_DAYS = timedelta(days=90)  # off-platform receipts watched for their filing (备案)
PRICE_DAYS = timedelta(days=30)  # receipt lines whose prices are checked


def _f(x: Decimal | float | None) -> float:
    return 0.0 if x is None else float(x)


def usage_source_names(sources: Sequence[object]) -> list[str]:
    """HIS sources when there are any, else prescription sources."""
    his = [s.name for s in sources if getattr(s, "kind", "") == "his"]  # type: ignore[attr-defined]
    return his or [s.name for s in sources if getattr(s, "kind", "") == "prescription"]  # type: ignore[attr-defined]


def as_order(o: ledgers.OrderRecord, tz: tzinfo) -> Order:
    """A stored order line as the clocks see it, its times in the hospital's zone (titles show them)."""
    def local(at: datetime | None) -> datetime | None:
        return at.astimezone(tz) if at is not None else None

    return Order(o.order_id, o.distributor_name or o.distributor_code or "（未知配送企业）", o.product_name or o.product_code or "",
                 o.ordered_at.astimezone(tz), local(o.responded_at), local(o.delivered_at),
                 quantity=None if o.quantity is None else float(o.quantity),
                 delivered_qty=None if o.delivered_quantity is None else float(o.delivered_quantity))


class StoreInputs:
    def __init__(self, store: Store, usage_sources: Sequence[str], tz: tzinfo = DEFAULT_TZ,
                 value_rule: ValueRule | None = None, keep_series: bool = False) -> None:
        """``keep_series``: keep usage series between reads (:class:`SeriesCache`): the daemon's,
        whose evaluations read the same days again every poll interval."""
        self.store = store
        self.series_cache = SeriesCache() if keep_series else None
        self.value_rule = value_rule or ValueRule()  # 高值/低值 of consumables, for the 80% 网采率 line
        self.hospital = store.hospital_code
        self.usage_sources = list(usage_sources)
        self.tz = tz  # the hospital's day, for acceptance dates

    # -- catalogue -----------------------------------------------------------------------
    def product_years(self, day_from: date, day_to: date) -> list[ProductYear]:
        q = (
            select(av.c.programme, av.c.product_key, av.c.quantity, ay.c.start_day, ay.c.end_day, wp.c.group_key,
                   wp.c.generic_name, wp.c.spec, wp.c.manufacturer, wp.c.kind, wp.c.price, wp.c.pack)
            .join(ay, and_(ay.c.hospital_code == av.c.hospital_code, ay.c.programme == av.c.programme, ay.c.number == av.c.year))
            .join(wp, and_(wp.c.hospital_code == av.c.hospital_code, wp.c.programme == av.c.programme,
                           wp.c.product_key == av.c.product_key))
            .where(av.c.hospital_code == self.hospital, ay.c.start_day <= day_to, ay.c.end_day >= day_from)
            .order_by(av.c.programme, av.c.product_key, ay.c.start_day)
        )
        with self.store.read() as conn:
            rows = conn.execute(q).all()
        out = []
        for r in rows:
            per_unit = _f(r.price) / _f(r.pack) if r.pack else _f(r.price)
            out.append(ProductYear(
                product_id=r.product_key, group_id=r.group_key, name=r.generic_name,
                programme=r.programme, year_start=r.start_day, year_end=r.end_day, agreed_qty=_f(r.quantity),
                price=per_unit, spec=r.spec or "", manufacturer=r.manufacturer, kind=r.kind,
            ))
        return out

    def groups(self) -> list[GenericGroup]:
        with self.store.read() as conn:
            found = generic_groups(conn, self.hospital)
        return [
            GenericGroup(
                group_id=g.key, name=f"{g.name}（{g.dosage_form}）" if g.dosage_form else g.name,
                programme=(g.winning[0]["programme"] if g.winning else ""),
                winning_products=tuple(dict.fromkeys(w["product_key"] for w in g.winning)),
            )
            for g in found
        ]

    def item_links(self) -> list[ItemLink]:
        """Accepted 对码 links; the HIS unit and spec from the item dictionary (unknown when two
        sources disagree), the smallest unit from the winning product. An item staff marked as
        substitutable (可替代) is linked to the group it was marked for, flagged, unless it is a
        winning product itself (a winning product is counted as winning only)."""
        q = (
            select(im.c.item_code, im.c.item_name, im.c.group_key, im.c.product_key, im.c.factor, func.max(li.c.price).label("price"),
                   func.min(li.c.his_unit).label("unit_lo"), func.max(li.c.his_unit).label("unit_hi"),
                   func.min(li.c.spec).label("spec_lo"), func.max(li.c.spec).label("spec_hi"))
            .join(li, and_(li.c.hospital_code == im.c.hospital_code, li.c.code == im.c.item_code), isouter=True)
            .where(im.c.hospital_code == self.hospital, im.c.status.in_(ACCEPTED), im.c.group_key.is_not(None))
            .group_by(im.c.item_code, im.c.item_name, im.c.group_key, im.c.product_key, im.c.factor)
            .order_by(im.c.item_code)
        )
        smallest = (select(wp.c.product_key, func.min(wp.c.smallest_unit), func.max(wp.c.smallest_unit))
                    .where(wp.c.hospital_code == self.hospital).group_by(wp.c.product_key))
        with self.store.read() as conn:
            rows = conn.execute(q).all()
            units = {key: lo for key, lo, hi in conn.execute(smallest) if lo == hi}
            subs = substitutes(conn, self.hospital)
            names = {code: name for code, name in conn.execute(select(li.c.code, func.max(li.c.name)).where(
                li.c.hospital_code == self.hospital, li.c.code.in_(list(subs))).group_by(li.c.code))} if subs else {}
        links = []
        for r in rows:
            factor = None if r.factor is None else float(r.factor)
            price = _f(r.price) / factor if factor else _f(r.price)
            links.append(ItemLink(r.item_code, r.group_key, r.item_name, r.product_key, factor, price,
                                  his_unit=r.unit_lo if r.unit_lo == r.unit_hi else None,
                                  spec=r.spec_lo if r.spec_lo == r.spec_hi else None,
                                  smallest_unit=units.get(r.product_key)))
        winning = {lk.item_code for lk in links if lk.winning}
        mapped = {lk.item_code: lk for lk in links}
        for code, group in sorted(subs.items()):
            if code in winning:
                continue
            base = mapped.get(code)
            links = [lk for lk in links if lk.item_code != code]
            links.append(ItemLink(code, group, base.name if base else names.get(code, code), None,
                                  base.factor if base else None, base.price if base else 0.0, substitutable=True))
        return links

    # -- usage ---------------------------------------------------------------------------
    def _usage_where(self, day_from: date, day_to: date, items: Iterable[str] | None):  # type: ignore[no-untyped-def]
        cond = and_(ud.c.hospital_code == self.hospital, ud.c.source.in_(self.usage_sources),
                    ud.c.day >= day_from, ud.c.day <= day_to)
        if items is not None:
            cond = and_(cond, ud.c.item_code.in_(list(items)))
        return cond

    def usage_totals(self, day_from: date, day_to: date) -> list[UsageTotal]:
        q = (select(ud.c.item_code, func.sum(ud.c.quantity), func.sum(ud.c.amount))
             .where(self._usage_where(day_from, day_to, None)).group_by(ud.c.item_code))
        with self.store.read() as conn:
            return [UsageTotal(code, _f(q_), _f(a)) for code, q_, a in conn.execute(q)]

    def dept_usage(self, day_from: date, day_to: date, items: Iterable[str]) -> list[DailyUsage]:
        q = (select(ud.c.day, ud.c.item_code, ud.c.dept_code, ud.c.prescriber_code, func.sum(ud.c.quantity), func.sum(ud.c.amount),
                    func.sum(ud.c.lines))
             .where(self._usage_where(day_from, day_to, items))
             .group_by(ud.c.day, ud.c.item_code, ud.c.dept_code, ud.c.prescriber_code)
             .order_by(ud.c.day, ud.c.item_code, ud.c.dept_code))
        with self.store.read() as conn:
            return [DailyUsage(d, code, _f(q_), _f(a), dept or "", pres or "", int(n or 0))
                    for d, code, dept, pres, q_, a, n in conn.execute(q)]

    def usage_series(self, day_from: date, day_to: date, items: Iterable[str], departments: bool = True) -> UsageSeries:
        """By department, the stored rows themselves: the table's key is (day, item, department,
        setting, prescriber) per source, so the rows are nearly the groups already, and
        :func:`fill_series` sums the rest (one department's 门诊 and 住院, two sources). Per item,
        the server sums the departments. Days and numbers come as the driver gives them (on
        SQLite, ISO text and plain numbers): converting each to ``date`` and ``Decimal`` first
        took twice as long as the query (``BENCH_STORE=1 make bench-evaluate``). With
        ``keep_series``, only the days ingestion rewrote since the last read of the same items are
        read again (:mod:`agent.store.series_cache`)."""
        items = list(items)

        def read(conn: Connection, first: date, last: date) -> UsageSeries:
            day, qty = type_coerce(ud.c.day, String), type_coerce(ud.c.quantity, Float)
            where = self._usage_where(first, last, items)
            if departments:
                q = select(day, ud.c.item_code, ud.c.dept_code, ud.c.prescriber_code, qty, ud.c.lines).where(where)
            else:
                q = (select(day, ud.c.item_code, literal(""), literal(""), func.sum(qty), func.sum(ud.c.lines))
                     .where(where).group_by(ud.c.day, ud.c.item_code))
            return fill_series(conn.execute(q), first, last)

        with self.store.read() as conn:
            if self.series_cache is None:
                return read(conn, day_from, day_to)
            return self.series_cache.series(conn, day_from, day_to, items, departments, self._day_stamps, read)

    def _day_stamps(self, conn: Connection, day_from: date, day_to: date) -> dict[date, tuple]:
        return day_stamps(conn, self.hospital, self.usage_sources, day_from, day_to)

    def negative_days(self, day_from: date, day_to: date, items: Iterable[str]) -> list[DailyUsage]:
        total = func.sum(ud.c.quantity)
        q = (select(ud.c.day, ud.c.item_code, ud.c.dept_code, total, func.sum(ud.c.amount))
             .where(self._usage_where(day_from, day_to, items))
             .group_by(ud.c.day, ud.c.item_code, ud.c.dept_code).having(total < 0)
             .order_by(ud.c.item_code, ud.c.dept_code, ud.c.day))
        with self.store.read() as conn:
            return [DailyUsage(d, code, _f(q_), _f(a), dept or "") for d, code, dept, q_, a in conn.execute(q)]

    # -- acceptances ---------------------------------------------------------------------
    def accepted_totals(self, day_from: date, day_to: date) -> list[AcceptedTotal] | None:
        start = datetime.combine(day_from, time.min, self.tz)
        end = datetime.combine(day_to + timedelta(days=1), time.min, self.tz)
        q = (select(rc.c.item_code, rc.c.unit, rc.c.on_platform, func.sum(rc.c.quantity), func.count(), rc.c.pack_factor)
             .where(rc.c.hospital_code == self.hospital, rc.c.deleted.is_(False), rc.c.accepted_at >= start,
                    rc.c.accepted_at < end)
             .group_by(rc.c.item_code, rc.c.unit, rc.c.on_platform, rc.c.pack_factor)
             .order_by(rc.c.item_code, rc.c.unit, rc.c.on_platform, rc.c.pack_factor))
        with self.store.read() as conn:
            rows = conn.execute(q).all()
            if not rows and conn.execute(select(rc.c.line_id).where(rc.c.hospital_code == self.hospital).limit(1)).first() is None:
                return None
        return [AcceptedTotal(code, unit, bool(online), _f(qty), int(n), None if factor is None else _f(factor))
                for code, unit, online, qty, n, factor in rows]

    # -- purchase mix and deadlines ------------------------------------------------------
    def purchase_mix(self, day_from: date, day_to: date) -> list[PurchaseMix]:
        """网采率's figures: receipt lines accepted on [day_from, day_to] (the hospital's days), by amount."""
        return self._mix(datetime.combine(day_from, time.min, self.tz),
                         datetime.combine(day_to + timedelta(days=1), time.min, self.tz))

    def deadline_inputs(self, as_of: datetime) -> DeadlineInputs:
        """What the clocks watch: the platform's orders (response, delivery) of the last
        ``ORDER_DAYS``, its bills not yet paid or checked, off-platform receipts of products on the
        platform (备案) of the last ``FILING_DAYS``, and the purchase mix (网采率) of the month so far
        from warehouse receipts, exempt items (麻醉/精神药品, 医疗机构制剂) left out.

        Arrival confirmation is watched by the platform link itself (``platform.confirm_late``)."""
        with self.store.read() as conn:
            orders = ledgers.orders_since(conn, self.hospital, as_of - ORDER_DAYS)
            bills = ledgers.open_bills(conn, self.hospital, as_of - BILL_DAYS)
            listed = {code for (code,) in conn.execute(
                select(im.c.item_code).where(im.c.hospital_code == self.hospital, im.c.status.in_(ACCEPTED),
                                             im.c.group_key.is_not(None)))}
            off = ledgers.off_platform_lines(conn, self.hospital, as_of - FILING_DAYS, listed)
            declared = declarations.declarations(conn, self.hospital)
            today = as_of.astimezone(self.tz).date()
            history: dict[str, Decimal] = {}
            if declared:  # purchases accepted over the last year, else usage (a product the warehouse never received)
                history = declarations.usage_history(conn, self.hospital, self.usage_sources, today - timedelta(days=365),
                                                     today - timedelta(days=1))
                history.update(declarations.purchase_history(conn, self.hospital, as_of - timedelta(days=365), as_of))
            recent = declarations.declared_since(conn, self.hospital, as_of - timedelta(days=365))
        return DeadlineInputs(
            orders=[as_order(o, self.tz) for o in orders],
            payables=[Payable(b.bill_id, b.distributor_name or b.distributor_code or "（未知配送企业）",
                              b.accepted_at.astimezone(self.tz),  # the month ends in the hospital's zone
                              float(b.amount), b.paid_at, b.issued_at, b.checked_at, checkable=True) for b in bills],
            off_platform=[OffPlatformPurchase(f.line_id, f.item_name or f.item_code, f.accepted_at.astimezone(self.tz).date(),
                                              f.filed_at.astimezone(self.tz).date() if f.filed_at else None,
                                              f.supplier or "", f.emergency) for f in off],
            purchase_mix=self._mix(as_of.replace(day=1, hour=0, minute=0, second=0, microsecond=0),
                                   as_of + timedelta(seconds=1)),
            priced=self._priced(as_of),
            volume_plans=[VolumePlan(d.product_key, d.name, float(d.quantity), float(d.last_agreed or 0),
                                     float(history.get(d.product_key, 0)), explained=bool(d.reason)) for d in declared],
            declared=recent,
        )

    def _priced(self, as_of: datetime) -> list[PricedReceipt]:
        """Receipt lines with a price accepted in the last ``PRICE_DAYS``, per HIS unit, with the
        winning price of a mapped winning product, the HIS sale price, and the platform's listed
        price (挂网价) from its latest order line of the item's code or national code (TO CONFIRM:
        that the platform's product code is one of those and its price is per the HIS unit). A line
        recorded in another unit than the HIS unit is left out (its conversion is unknown)."""
        q = (select(rc.c.line_id, rc.c.item_code, rc.c.unit, rc.c.unit_price, rc.c.distributor, rc.c.on_platform)
             .where(rc.c.hospital_code == self.hospital, rc.c.deleted.is_(False), rc.c.unit_price.is_not(None),
                    rc.c.accepted_at >= as_of - PRICE_DAYS, rc.c.accepted_at < as_of + timedelta(seconds=1))
             .order_by(rc.c.accepted_at, rc.c.line_id))
        with self.store.read() as conn:
            rows = conn.execute(q).all()
            if not rows:
                return []
            links = {r.item_code: r for r in conn.execute(
                select(im.c.item_code, im.c.item_name, im.c.product_key, im.c.factor)
                .where(im.c.hospital_code == self.hospital, im.c.status.in_(ACCEPTED)))}
            winning = {key: (price, pack) for key, price, pack in conn.execute(
                select(wp.c.product_key, func.min(wp.c.price), func.min(wp.c.pack))
                .where(wp.c.hospital_code == self.hospital).group_by(wp.c.product_key))}
            his = {code: (name, unit, price, national) for code, name, unit, price, national in conn.execute(
                select(li.c.code, func.max(li.c.name), func.max(li.c.his_unit), func.max(li.c.price),
                       func.max(li.c.national_code))
                .where(li.c.hospital_code == self.hospital).group_by(li.c.code))}
            listed = ledgers.listed_prices(conn, self.hospital, as_of - BILL_DAYS)
        out = []
        for r in rows:
            name, his_unit, sale, national = his.get(r.item_code, (None, None, None, None))
            if r.unit and his_unit and r.unit != his_unit:
                continue
            link = links.get(r.item_code)
            win = None
            if link is not None and link.product_key in winning and link.factor:
                price, pack = winning[link.product_key]
                per_smallest = _f(price) / _f(pack) if pack else _f(price)
                win = per_smallest * _f(link.factor)
            out.append(PricedReceipt(r.line_id, r.item_code, name or (link.item_name if link else r.item_code),
                                     r.distributor or "（未记录供应商）", bool(r.on_platform), _f(r.unit_price),
                                     win, None if sale is None else _f(sale),
                                     listed.get(r.item_code) or (listed.get(national) if national else None)))
        return out

    def _mix(self, start: datetime, end: datetime) -> list[PurchaseMix]:
        """On-platform and total amounts of the lines accepted in [start, end), per kind; exempt items
        (麻醉/精神药品, 医疗机构制剂: ``offplatform exempt``) left out, as the notices count 网采率. A
        consumable counts in the high-value line (80%) unless it is low-value (its code's class, its
        price, or a pharmacist's decision: ``consumables set``), which has no line."""
        amount = rc.c.quantity * func.coalesce(rc.c.unit_price, 0)
        with self.store.read() as conn:  # one read: the exempt items, the dictionary and the amounts agree
            exempt = sorted(ledgers.exempt_items(conn, self.hospital))
            rows = conn.execute(
                select(rc.c.item_code, rc.c.on_platform, func.sum(amount))
                .where(rc.c.hospital_code == self.hospital, rc.c.deleted.is_(False), rc.c.accepted_at >= start,
                       rc.c.accepted_at < end, rc.c.item_code.not_in(exempt))
                .group_by(rc.c.item_code, rc.c.on_platform)
            ).all()
            items = self._consumable_items(conn, {r[0] for r in rows})
            decided = catalogue_repo.consumable_overrides(conn, self.hospital) if items else {}
        line: dict[str, str | None] = {}
        for code, (national, price) in items.items():
            o = decided.get(code)
            line[code] = online_kind(self.value_rule.classify(national, price, o["value"] if o else None))
        mix: dict[str, list[float]] = {}
        for code, on_platform, total in rows:
            k = line[code] if code in line else "drug"  # an unknown item counts as a drug
            if k is None:
                continue
            acc = mix.setdefault(k, [0.0, 0.0])
            acc[1] += _f(total)
            if on_platform:
                acc[0] += _f(total)
        return [PurchaseMix(k, on, tot) for k, (on, tot) in sorted(mix.items()) if tot > 0]

    def _consumable_items(self, conn: Connection, codes: set[str]) -> dict[str, tuple[str | None, Decimal | None]]:
        """Item code -> (national code, price per HIS unit) of the consumables among ``codes``, one row
        per code however many sources' dictionaries hold it."""
        if not codes:
            return {}
        rows = conn.execute(
            select(li.c.code, func.max(li.c.national_code), func.max(li.c.price))
            .where(li.c.hospital_code == self.hospital, li.c.kind == "consumable", li.c.code.in_(sorted(codes)))
            .group_by(li.c.code)).all()
        return {code: (national, None if price is None else Decimal(price)) for code, national, price in rows}
