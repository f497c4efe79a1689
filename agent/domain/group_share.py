"""Winning share per generic group (同通用名): the 一院一档 figures the bureau ranks hospitals by.

Winning share by quantity and by amount (中选产品采购数量占比 / 金额占比), non-winning quantity
and amount (非中选产品采购情况), and the non-winning items used most, expensive ones first.

The bureau's 带量执行报表 also counts, per group, the non-winning products bought over the
winning ones (非中选超量: more quantity than the group's winning products over the same period;
非中选超额: more amount), and apart from them the substitutable products (可替代产品: items staff
marked as substitutes for the winning product, counted neither as winning nor as the group's
corresponding non-winning products).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from agent.domain.monitoring_model import GenericGroup, ItemLink, UsageTotal


@dataclass(frozen=True)
class NonWinningUse:
    item_code: str
    name: str
    qty: float  # smallest units
    amount: float
    unit_price: float  # per smallest unit


@dataclass(frozen=True)
class GroupShare:
    group: GenericGroup
    winning_qty: float
    winning_amount: float
    non_winning_qty: float
    non_winning_amount: float
    non_winning_items: int  # 对应非中选产品总数 (linked to the group)
    non_winning_used: int  # 采购非中选产品数 (with usage > 0)
    top_non_winning: list[NonWinningUse] = field(default_factory=list)
    non_winning_over_qty: int = 0  # 非中选超量产品数: a rival's quantity above the winning products' quantity
    non_winning_over_amount: int = 0  # 非中选超额产品数: a rival's amount above the winning products' amount
    substitutable_items: int = 0  # 对应可替代产品总数
    substitutable_used: int = 0  # 采购可替代产品数 (with usage > 0)
    substitutable_amount: float = 0.0

    @property
    def total_qty(self) -> float:
        return self.winning_qty + self.non_winning_qty

    @property
    def total_amount(self) -> float:
        return self.winning_amount + self.non_winning_amount

    @property
    def winning_share_qty(self) -> float | None:
        """中选产品数量占比 (also: winning usage over all usage of the generic name).

        None when undefined: nothing used, or returns outweighing issues in the period."""
        return _ratio(self.winning_qty, self.total_qty)

    @property
    def winning_share_amount(self) -> float | None:
        return _ratio(self.winning_amount, self.total_amount)


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole > 0 and part >= 0 and whole - part >= 0 else None


def group_shares(groups: Iterable[GenericGroup], links: Iterable[ItemLink], totals: Iterable[UsageTotal],
                 top: int = 5) -> list[GroupShare]:
    """One ``GroupShare`` per group over whatever period ``totals`` were summed for."""
    by_group: dict[str, list[ItemLink]] = {}
    for link in links:
        by_group.setdefault(link.group_id, []).append(link)
    usage: Mapping[str, UsageTotal] = {t.item_code: t for t in totals}
    out = []
    for group in groups:
        out.append(_share(group, by_group.get(group.group_id, []), usage, top))
    return out


def _share(group: GenericGroup, links: list[ItemLink], usage: Mapping[str, UsageTotal], top: int) -> GroupShare:
    wq = wa = nq = na = sa = 0.0
    rivals: list[NonWinningUse] = []
    n_rivals = n_subs = subs_used = 0
    for link in links:
        t = usage.get(link.item_code)
        if link.substitutable and not link.winning:
            # counted by whether it was bought: its units are another product's, never added to the group's
            n_subs += 1
            subs_used += bool(t and t.qty > 0)
            sa += t.amount if t else 0.0
            continue
        if link.factor is None:
            continue
        qty = t.qty * link.factor if t else 0.0
        amount = t.amount if t else 0.0
        if link.winning:
            wq, wa = wq + qty, wa + amount
            continue
        n_rivals += 1
        nq, na = nq + qty, na + amount
        if qty > 0:
            price = link.price or (amount / qty)
            rivals.append(NonWinningUse(link.item_code, link.name, qty, amount, price))
    over_qty = sum(1 for r in rivals if r.qty > wq)
    over_amount = sum(1 for r in rivals if r.amount > 0 and r.amount > wa)
    rivals.sort(key=lambda r: (-r.unit_price, -r.amount, r.item_code))
    return GroupShare(group, wq, wa, nq, na, n_rivals, len(rivals), rivals[:top], over_qty, over_amount,
                      n_subs, subs_used, sa)
