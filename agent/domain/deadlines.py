"""Deadline clocks (时限) as findings: a warning once 80% of the time is used, a breach after.

到货确认 24 h after acceptance; 配送 24 h (main urban area) / 48 h after the order; 订单响应
48 h, escalation (约谈、暂停结算) 24 h later; 回款 by the end of the month after acceptance
(or 30 days); 线下采购备案 within 7 working days; 网采率 at least 90% (drugs) / 80% (high-value
consumables); 报量 not below last year's actual, nor below 80% of history without explanation.
"""

from __future__ import annotations

import calendar as _cal
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from agent.domain.findings import Finding, Severity
from agent.domain.monitoring_model import DeadlineInputs, Order, PurchaseMix, VolumePlan
from agent.domain.prices import PRICE_RULES, price_findings
from agent.domain.workdays import WorkdayCalendar

DEADLINE_RULES = ("arrival_confirmation", "delivery", "order_response", "order_response_escalation", "payment",
                  "bill_check", "off_platform_filing", "online_rate", "volume_plan", "volume_plan_due", *PRICE_RULES)

# Each clock's name for staff (状态、年度报告「时限与合规」), the platform link's own clock included.
CLOCK_NAMES = {
    "arrival_confirmation": "到货确认超时", "platform.confirm_late": "到货确认（平台）即将或已经超时",
    "order_response": "订单未响应", "order_response_escalation": "订单未响应（升级）", "delivery": "配送超时或短送",
    "payment": "回款超时", "bill_check": "账单未核对上传", "off_platform_filing": "线下采购备案超时",
    "online_rate": "网采率不达标", "volume_plan": "报量偏低", "volume_plan_due": "报量未按时报送", "price_above_winning": "采购价高于中选价或挂网价",
    "sale_markup": "销售价高于采购价（零差率）",
}


@dataclass(frozen=True)
class DeadlineRules:
    warn_at: float = 0.8
    confirm_hours: float = 24
    delivery_hours_urban: float = 24
    delivery_hours_other: float = 48
    response_hours: float = 48
    escalation_hours: float = 24
    payment: str = "month_end"  # month_end (end of the month after acceptance) | 30_days
    filing_workdays: int = 7
    online_rate_drug: float = 0.90
    online_rate_hv_consumable: float = 0.80
    plan_history_floor: float = 0.80
    remote_area: bool = False  # the hospital is outside the main urban area: 48 h delivery for every order
    bill_check_days: float = 5  # a bill not checked and uploaded (对账上传) this long after it was issued
    declaration_due: date | None = None  # the bureau's deadline for the volume declaration (报量)
    declaration_notice_days: int = 30  # the 报量 clock runs from this many days before it


def _clock(rule: str, subject: str, start: datetime, due: datetime, now: datetime, rules: DeadlineRules,
           title: str, labels: dict[str, str], severity_breach: Severity = Severity.CRITICAL) -> Finding | None:
    span = (due - start).total_seconds()
    used = (now - start).total_seconds() / span if span > 0 else 1.0
    if used < rules.warn_at:
        return None
    breached = now > due
    state = "已超时" if breached else "即将超时"
    return Finding(
        rule=rule, subject=subject, severity=severity_breach if breached else Severity.WARNING,
        title=f"{title}{state}（时限 {due:%m-%d %H:%M}）", observed_at=now,
        values={"start": start.isoformat(), "due": due.isoformat(), "time_used": round(used, 3),
                "breached": breached},
        labels={**labels, "clock": "breach" if breached else "warn"},
    )


def _qty(x: float | None) -> str:
    """A quantity as staff read it: thousands separated, no trailing zeros (137,740 or 0.5)."""
    return "-" if x is None else f"{float(x):,.2f}".rstrip("0").rstrip(".")


def end_of_next_month(moment: datetime) -> datetime:
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    last = _cal.monthrange(year, month)[1]
    return datetime.combine(date(year, month, last), time(23, 59, 59), moment.tzinfo)


def add_workdays(calendar: WorkdayCalendar, start: date, n: int) -> date:
    day, left = start, n
    while left > 0:
        day += timedelta(days=1)
        left -= calendar.is_workday(day)
    return day


def deadline_findings(inp: DeadlineInputs, now: datetime, calendar: WorkdayCalendar,
                      rules: DeadlineRules = DeadlineRules()) -> list[Finding]:
    out: list[Finding | None] = []
    h = timedelta(hours=1)
    for a in inp.acceptances:
        if a.confirmed_at is None:
            out.append(_clock("arrival_confirmation", a.line_id, a.accepted_at, a.accepted_at + rules.confirm_hours * h,
                              now, rules, f"{a.item} 到货确认", {"kind": "deadline"}))
    for o in inp.orders:
        labels = {"kind": "deadline", "distributor": o.distributor}
        if o.delivered_at is None or o.short:
            due = delivery_due(o, rules)
            what = f"{o.distributor} 配送 {o.item}" + (f"（短送：到货 {_qty(o.delivered_qty)}/{_qty(o.quantity)}）" if o.short else "")
            out.append(_clock("delivery", o.order_id, o.ordered_at, due, now, rules, what, labels))
        if o.responded_at is None and o.delivered_at is None:  # a delivery answers the order too
            due = o.ordered_at + rules.response_hours * h
            found = _clock("order_response", o.order_id, o.ordered_at, due, now, rules,
                           f"{o.distributor} 订单 {o.order_id} 响应（不响应采购订单，需书面报告）", labels)
            if found is not None and now > due:
                found = replace(found, evidence={"written_report": written_report(o, due, now)})
            out.append(found)
            if now > due:
                out.append(_clock("order_response_escalation", o.order_id, due, due + rules.escalation_hours * h,
                                  now, rules, f"{o.distributor} 订单 {o.order_id} 仍未响应（升级：约谈、暂停结算）", labels))
    for p in inp.payables:
        if p.paid_at is None:
            due = (end_of_next_month(p.accepted_at) if rules.payment == "month_end"
                   else p.accepted_at + timedelta(days=30))
            out.append(_clock("payment", p.bill_id, p.accepted_at, due, now, rules,
                              f"{p.supplier} 货款 {p.amount:,.2f} 元回款（账单 {p.bill_id}）", {"kind": "deadline"}))
        if p.checkable and p.checked_at is None:
            issued = p.issued_at or p.accepted_at
            out.append(_clock("bill_check", p.bill_id, issued, issued + timedelta(days=rules.bill_check_days), now, rules,
                              f"{p.supplier} 账单 {p.bill_id}（{p.amount:,.2f} 元）核对上传", {"kind": "deadline"}))
    for f in inp.off_platform:
        if f.filed_on is None:
            start = datetime.combine(f.purchased_on, time(0), now.tzinfo)
            due = datetime.combine(add_workdays(calendar, f.purchased_on, rules.filing_workdays), time(23, 59, 59), now.tzinfo)
            what = f"{f.item} 线下采购" + ("（紧急采购）" if f.emergency else "") + (f"（{f.supplier}）" if f.supplier else "")
            out.append(_clock("off_platform_filing", f.line_id, start, due, now, rules, f"{what}备案", {"kind": "deadline"}))
    out += price_findings(list(inp.priced), now)
    out += [_online_rate(m, now, rules) for m in inp.purchase_mix]
    out += [_volume_plan(v, now, rules) for v in inp.volume_plans]
    if rules.declaration_due is not None and not inp.declared:
        due = datetime.combine(rules.declaration_due, time(23, 59, 59), now.tzinfo)
        start = due - timedelta(days=rules.declaration_notice_days)
        out.append(_clock("volume_plan_due", rules.declaration_due.isoformat(), start, due, now, rules,
                          "报量表报送", {"kind": "deadline"}))
    return [f for f in out if f is not None]


def delivery_due(o: Order, rules: DeadlineRules) -> datetime:
    """24 h to the main urban area, 48 h elsewhere (a remote hospital: every order)."""
    hours = rules.delivery_hours_urban if o.urban and not rules.remote_area else rules.delivery_hours_other
    return o.ordered_at + timedelta(hours=hours)


def written_report(o: Order, due: datetime, now: datetime) -> str:
    """The draft of the written report to the bureau (书面报备) on an order not answered in 48 h."""
    return (f"关于配送企业不响应采购订单的书面报告（草稿）\n配送企业：{o.distributor}\n订单明细：{o.order_id}"
            f"（{o.item}{'，' + format(o.quantity, 'g') if o.quantity is not None else ''}）\n"
            f"下单时间：{o.ordered_at:%Y-%m-%d %H:%M}；响应时限：{due:%Y-%m-%d %H:%M}；"
            f"截至 {now:%Y-%m-%d %H:%M} 仍未响应。\n线索类型：不响应采购订单。请医保部门依规处理。")


@dataclass(frozen=True)
class DistributorRecord:
    """What one distributor did with the hospital's orders (供应商履约): for the scorecard."""

    distributor: str
    orders: int = 0
    unanswered: int = 0  # no response within the response time (不响应采购订单)
    late: int = 0  # delivered after the delivery time, or not at all by then (迟送)
    short: int = 0  # delivered less than ordered (短送)


def distributor_records(orders: list[Order], now: datetime, rules: DeadlineRules = DeadlineRules()) -> list[DistributorRecord]:
    """Orders, unanswered, late and short deliveries counted per distributor, worst first."""
    counts: dict[str, list[int]] = {}
    for o in orders:
        c = counts.setdefault(o.distributor, [0, 0, 0, 0])
        c[0] += 1
        answered = o.responded_at or o.delivered_at
        due = o.ordered_at + timedelta(hours=rules.response_hours)
        c[1] += (answered is None and now > due) or (answered is not None and answered > due)
        delivered_by = delivery_due(o, rules)
        c[2] += (o.delivered_at is None and now > delivered_by) or (o.delivered_at is not None and o.delivered_at > delivered_by)
        c[3] += o.short
    out = [DistributorRecord(d, *c) for d, c in counts.items()]
    return sorted(out, key=lambda r: (-(r.unanswered + r.late + r.short), r.distributor))


def _online_rate(mix: PurchaseMix, now: datetime, rules: DeadlineRules) -> Finding | None:
    if mix.total_amount <= 0:
        return None
    floor = rules.online_rate_drug if mix.kind == "drug" else rules.online_rate_hv_consumable
    rate = mix.on_platform_amount / mix.total_amount
    if rate >= floor:
        return None
    what = "药品" if mix.kind == "drug" else "高值医用耗材"
    return Finding(
        rule="online_rate", subject=mix.kind, severity=Severity.CRITICAL,
        title=f"{what}网采率 {rate:.1%} 低于 {floor:.0%}", observed_at=now,
        values={"rate": round(rate, 4), "floor": floor, "on_platform_amount": mix.on_platform_amount,
                "total_amount": mix.total_amount},
        labels={"kind": "online_rate"},
    )


def _volume_plan(v: VolumePlan, now: datetime, rules: DeadlineRules) -> Finding | None:
    below_last = v.planned_qty < v.last_year_qty
    below_history = v.planned_qty < rules.plan_history_floor * v.history_qty and not v.explained
    if not (below_last or below_history):
        return None
    reasons = []
    if below_last:
        reasons.append(f"低于上一年度约定采购量 {_qty(v.last_year_qty)}")
    if below_history:
        reasons.append(f"低于历史采购量的{rules.plan_history_floor:.0%}且未作说明")
    return Finding(
        rule="volume_plan", subject=v.product_id,
        severity=Severity.CRITICAL if below_history else Severity.WARNING,
        title=f"{v.name} 报量 {_qty(v.planned_qty)}：" + "；".join(reasons), observed_at=now,
        values={"planned": v.planned_qty, "last_year": v.last_year_qty, "history": v.history_qty,
                "explained": v.explained},
        labels={"kind": "volume_plan"},
    )
