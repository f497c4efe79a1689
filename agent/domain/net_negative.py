"""Net-negative usage (退药多于发药) as a data-quality finding: the figures stay exact (usage is
stored as read), and staff are shown the rows that do not add up.

A return (退药) lands on its own day, usually days after the issue it undoes, so a single day's
net below zero is routine (the day-level rule raised 467 findings in the demo's 91 days). What no
real return explains is a day whose returns exceed everything the department issued of the item
in the ``span_days`` (30) days up to and including that day: the net over that span is below
zero. That points at a return booked against the wrong department or item, a unit mismatch
(returns in 片, issues in 盒), or issues missing from the source. Pure functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from agent.domain.findings import Finding, Severity
from agent.domain.monitoring_model import DailyUsage

RULE_NET_NEGATIVE = "usage_net_negative"
SPAN_DAYS = 30  # the issues a return is checked against
RECENT_DAYS = 7  # days examined on each evaluation (the ingestion's lookback re-reads as many)


@dataclass(frozen=True)
class NetNegative:
    """One item in one department: the days whose returns exceed the span's issues."""

    item_code: str
    dept: str
    days: list[tuple[date, float]]  # (day, that day's net) for each offending day
    span_net: float  # the net over the span ending at the last offending day
    rows: list[tuple[date, float]]  # every day of that span with usage: the rows behind it

    @property
    def last_day(self) -> date:
        return self.days[-1][0]


def reading_span(end: date, recent_days: int = RECENT_DAYS, span_days: int = SPAN_DAYS) -> tuple[date, date]:
    """The days a check ending on ``end`` needs read."""
    return end - timedelta(days=recent_days + span_days - 2), end


def negative_days(rows: Iterable[DailyUsage]) -> list[DailyUsage]:
    """Item x department x day nets below zero (prescribers summed): the only days worth a month's look."""
    per: dict[tuple[str, str, date], list[float]] = {}
    for r in rows:
        acc = per.setdefault((r.item_code, r.dept, r.day), [0.0, 0.0])
        acc[0] += r.qty
        acc[1] += r.amount
    return [DailyUsage(day, item, q, a, dept) for (item, dept, day), (q, a) in sorted(per.items()) if q < 0]


def net_negative_usage(rows: Iterable[DailyUsage], end: date, recent_days: int = RECENT_DAYS,
                       span_days: int = SPAN_DAYS) -> list[NetNegative]:
    """Per item x department (prescribers summed), the days of the last ``recent_days`` up to
    ``end`` whose net over the ``span_days`` up to that day is below zero."""
    per: dict[tuple[str, str], dict[date, float]] = {}
    for r in rows:
        days = per.setdefault((r.item_code, r.dept), {})
        days[r.day] = days.get(r.day, 0.0) + r.qty
    first_recent = end - timedelta(days=recent_days - 1)
    out = []
    for (item, dept), days in sorted(per.items()):
        bad = []
        for day in sorted(d for d, q in days.items() if q < 0 and first_recent <= d <= end):
            start = day - timedelta(days=span_days - 1)
            net = sum(q for d, q in days.items() if start <= d <= day)
            if net < -1e-9:
                bad.append((day, days[day], net, start))
        if bad:
            last, _q, net, start = bad[-1]
            span = sorted((d, q) for d, q in days.items() if start <= d <= last)
            out.append(NetNegative(item, dept, [(d, q) for d, q, _n, _s in bad], net, span))
    return out


def _qty(x: float) -> str:
    """A quantity as staff read it: thousands separated, no trailing zeros (1,150 or 0.5)."""
    return f"{x:,.2f}".rstrip("0").rstrip(".")


def net_negative_finding(n: NetNegative, now: datetime, departments: Mapping[str, str],
                         items: Mapping[str, str]) -> Finding:
    """A warning naming the department, the item and the day, with every day's net behind it."""
    dept = departments.get(n.dept) or n.dept or "（未记录科室）"
    item = items.get(n.item_code) or n.item_code
    day, qty = n.days[-1]
    issued = sum(q for _d, q in n.rows if q > 0)
    return Finding(
        rule=RULE_NET_NEGATIVE, subject=f"{n.item_code}|{n.dept}", severity=Severity.WARNING, observed_at=now,
        title=(f"用量数据有误：{dept} {item} {day:%m月%d日}退药 {_qty(abs(qty))}，多于此前{SPAN_DAYS}天该科室的全部发药"
               f"（{SPAN_DAYS}天合计 {_qty(n.span_net)}），请核对 HIS 退药记录的科室、品种和单位"),
        values={"span_net": n.span_net, "issued": issued, "days": len(n.days)},
        evidence={"item_code": n.item_code, "dept_code": n.dept, "span_days": SPAN_DAYS,
                  "negative_days": [{"day": d.isoformat(), "net": q} for d, q in n.days],
                  "rows": [{"day": d.isoformat(), "net": q} for d, q in n.rows]},
        labels={"kind": "data_quality", "department": n.dept},
    )
