"""Progress against the agreed volume (约定采购量完成进度) and time progress (序时进度).

Per winning product per agreement year: used quantity in smallest units net of returns, the
completion share (按使用; ``accepted`` and ``accepted_completion`` give it by acceptance, 按验收, as
the platform counts it), the elapsed share of the agreement year, the gap, the rate needed to finish,
the projection from the recent rate, and a status as the bureau counts it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from agent.domain.monitoring_model import ItemLink, ProductYear, UsageTotal
from agent.domain.workdays import WorkdayCalendar, count_workdays


class Status(StrEnum):
    ZERO = "零采购"
    BEHIND = "低于序时进度"
    NORMAL = "正常"
    OVER = "超量"


@dataclass(frozen=True)
class ProgressRules:
    behind_margin: float = 0.0  # behind when completion < time progress - margin
    time_basis: str = "calendar"  # calendar (as the bureaus compute it) | workdays
    recent_days: int = 28  # window of the recent rate used for the projection


@dataclass(frozen=True)
class ProductProgress:
    product: ProductYear
    as_of: date
    used: float  # smallest units, net of returns
    used_amount: float
    completion: float  # 完成进度 = used / agreed
    time_progress: float  # 序时进度
    gap: float  # units behind time progress (negative: ahead)
    remaining: float  # units left to the agreed volume (0 when reached)
    days_left: int
    daily_needed: float
    weekly_needed: float
    recent_daily_rate: float
    projected_completion: float  # at year end, from the recent rate
    status: Status
    accepted: float = 0.0  # 已验收: on-platform acceptances (到货验收/入库), smallest units
    accepted_completion: float | None = None  # 按验收完成进度; None: no warehouse receipts for its items
    accepted_unconvertible: int = 0  # receipt lines left out: unit not known for the item


def time_progress(start: date, end: date, as_of: date, basis: str = "calendar",
                  calendar: WorkdayCalendar | None = None) -> float:
    """序时进度: elapsed share of [start, end] with ``as_of`` counted as elapsed."""
    if as_of < start:
        return 0.0
    if as_of >= end:
        return 1.0
    if basis == "workdays":
        if calendar is None:
            raise ValueError("working-day time progress needs a calendar")
        total = count_workdays(calendar, start, end)
        return count_workdays(calendar, start, as_of) / total if total else 0.0
    return ((as_of - start).days + 1) / ((end - start).days + 1)


def smallest_units(totals: Iterable[UsageTotal], links: Mapping[str, ItemLink]) -> dict[str, tuple[float, float]]:
    """Per product: (quantity in smallest units, amount). Unlinked or factorless items are skipped."""
    out: dict[str, tuple[float, float]] = {}
    for t in totals:
        link = links.get(t.item_code)
        if link is None or link.product_id is None or link.factor is None:
            continue
        qty, amount = out.get(link.product_id, (0.0, 0.0))
        out[link.product_id] = (qty + t.qty * link.factor, amount + t.amount)
    return out


def status_of(used: float, agreed: float, completion: float, progress: float, margin: float) -> Status:
    if used <= 0:
        return Status.ZERO
    if agreed > 0 and used > agreed:
        return Status.OVER
    if completion < progress - margin:
        return Status.BEHIND
    return Status.NORMAL


def product_progress(product: ProductYear, as_of: date, used: float, used_amount: float, recent_used: float,
                     rules: ProgressRules = ProgressRules(), calendar: WorkdayCalendar | None = None) -> ProductProgress:
    """Progress of one product-year on ``as_of`` (usage through ``as_of`` inclusive)."""
    agreed = product.agreed_qty
    progress = time_progress(product.year_start, product.year_end, as_of, rules.time_basis, calendar)
    completion = used / agreed if agreed > 0 else 0.0
    days_left = max((product.year_end - as_of).days, 0)
    remaining = max(agreed - used, 0.0)
    daily_needed = remaining / days_left if days_left else remaining
    elapsed = max(min((as_of - product.year_start).days + 1, rules.recent_days), 1)
    recent_rate = max(recent_used / elapsed, 0.0)  # returns outweighing issues project no usage
    projected = (used + recent_rate * days_left) / agreed if agreed > 0 else 0.0
    return ProductProgress(
        product=product, as_of=as_of, used=used, used_amount=used_amount, completion=completion,
        time_progress=progress, gap=agreed * progress - used, remaining=remaining, days_left=days_left,
        daily_needed=daily_needed, weekly_needed=daily_needed * 7, recent_daily_rate=recent_rate,
        projected_completion=projected,
        status=status_of(used, agreed, completion, progress, rules.behind_margin),
    )


def recent_window(product: ProductYear, as_of: date, days: int) -> tuple[date, date]:
    """The days the recent rate is measured over: the last ``days`` inside the agreement year."""
    return max(product.year_start, as_of - timedelta(days=days - 1)), as_of
