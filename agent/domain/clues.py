"""Shortage and misconduct clues (短缺 / 违约线索): per supplier and month, each clue with its type
from the bureau's list and its evidence (orders, delivery lines, dates, quantities, prices).

The duty clocks give three types: an order not answered in time (``order_response``, and its
escalation) is 不响应采购订单; a late or short delivery (``delivery``) is 未按合同及时供应; an
off-platform purchase above the listed price (``price_above_winning`` off the platform) is
高于挂网价线下供应. Only a breach counts, never a warning. The other types are recorded by staff.
Prescriber concentration findings are internal evidence and never a clue sent upstream.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from agent.domain.findings import Finding

NO_RESPONSE = "不响应采购订单"
ABOVE_LISTED = "高于挂网价线下供应"
NO_CONTRACT = "未签带量合同"
LATE_SUPPLY = "未按合同及时供应"
OFF_LIST = "不按中选清单供应"
NO_SERVICE = "未提供伴随服务"
QUALITY = "中选产品质量问题"
CLUE_TYPES = (NO_RESPONSE, ABOVE_LISTED, NO_CONTRACT, LATE_SUPPLY, OFF_LIST, NO_SERVICE, QUALITY)
ROLES = ("配送企业", "生产企业")

CLOCK_CLUES = {"order_response": NO_RESPONSE, "order_response_escalation": NO_RESPONSE, "delivery": LATE_SUPPLY}


def check_clue_type(text: str) -> str:
    """The clue type as the bureau's list spells it; a ValueError in Chinese otherwise."""
    value = text.strip()
    if value not in CLUE_TYPES:
        raise ValueError(f"线索类型“{text}”不在医保部门的清单内，应为以下之一：{'、'.join(CLUE_TYPES)}")
    return value


def check_role(text: str) -> str:
    value = text.strip()
    if value not in ROLES:
        raise ValueError(f"企业类型“{text}”应为 配送企业 或 生产企业")
    return value


@dataclass(frozen=True)
class OrderLine:
    """An order line (采购订单明细) as the evidence of a clue."""

    order_id: str
    ordered_at: datetime
    product: str
    distributor: str
    quantity: str | None = None
    price: str | None = None
    responded_at: datetime | None = None
    delivered_quantity: str | None = None
    delivered_at: datetime | None = None


@dataclass(frozen=True)
class ReceiptLine:
    """An off-platform receipt line (线下采购入库) as the evidence of a price clue."""

    line_id: str
    item: str
    supplier: str
    quantity: str
    unit_price: str | None
    accepted_at: datetime


@dataclass(frozen=True)
class Clue:
    supplier: str
    role: str  # 配送企业 | 生产企业
    clue_type: str
    product: str
    evidence: str  # the lines, dates, quantities and prices, in one Chinese sentence
    occurred_at: datetime | None  # when it happened (the order, the receipt); None: as staff recorded it
    source: str  # 时限监测 | 人工登记
    refs: tuple[str, ...] = field(default_factory=tuple)  # order or receipt line ids
    recorded_by: str = ""


def _t(moment: datetime | None) -> str:
    return "无" if moment is None else f"{moment:%Y-%m-%d %H:%M}"


def _n(text: str | None) -> str:
    """A decimal as staff write it: 5.0000 -> 5, 52.5000 -> 52.5; text that is no number as it is."""
    if text is None:
        return "?"
    try:
        value = Decimal(text)
    except InvalidOperation:
        return text
    return format(value.normalize(), "f") if value.is_finite() else text


def _order_evidence(o: OrderLine, rule_titles: list[str]) -> str:
    parts = [f"订单 {o.order_id}，下单 {_t(o.ordered_at)}，{o.product} 订购 {_n(o.quantity)}"]
    if o.price:
        parts.append(f"单价 {_n(o.price)} 元")
    parts.append(f"响应 {_t(o.responded_at)}")
    parts.append(f"到货 {_n(o.delivered_quantity or '0')}（{_t(o.delivered_at)}）")
    return "，".join(parts) + "；" + "；".join(rule_titles)


def clock_clues(findings: Iterable[Finding], orders: Mapping[str, OrderLine], receipts: Mapping[str, ReceiptLine],
                start: datetime, end: datetime) -> list[Clue]:
    """The clues the clocks give for orders placed (receipts accepted) in [start, end): one per
    order and type (a response breach and its escalation are one clue), one per supplier's
    off-platform lines of an item above the listed price."""
    by_order: dict[tuple[str, str], list[Finding]] = {}
    out: list[Clue] = []
    for f in findings:
        if f.rule in CLOCK_CLUES:
            if f.labels.get("clock") == "breach":
                by_order.setdefault((f.subject, CLOCK_CLUES[f.rule]), []).append(f)
        elif f.rule == "price_above_winning" and f.evidence.get("clue_type") == ABOVE_LISTED:
            lines = [receipts[i] for i in f.evidence.get("lines", []) if i in receipts]
            lines = [ln for ln in lines if start <= ln.accepted_at < end]
            if not lines:
                continue
            listed = f.values.get("listed_price")
            held = f"挂网价 {listed:,.4f}".rstrip("0").rstrip(".") + " 元" if isinstance(listed, int | float) else "挂网价"
            detail = "；".join(f"入库 {ln.line_id}，{_t(ln.accepted_at)}，数量 {_n(ln.quantity)}，单价 {_n(ln.unit_price)} 元"
                              for ln in lines)
            out.append(Clue(f.evidence.get("supplier") or lines[0].supplier, ROLES[0], ABOVE_LISTED, lines[0].item,
                            f"{detail}；高于{held}，未经平台采购", lines[0].accepted_at, "时限监测",
                            tuple(ln.line_id for ln in lines)))
    for (order_id, kind), found in by_order.items():
        order = orders.get(order_id)
        if order is None or not start <= order.ordered_at < end:
            continue
        titles = [f.title for f in sorted(found, key=lambda f: f.rule)]
        out.append(Clue(order.distributor, ROLES[0], kind, order.product, _order_evidence(order, titles),
                        order.ordered_at, "时限监测", (order_id,)))
    return out


def sort_clues(clues: Iterable[Clue]) -> list[Clue]:
    """By supplier, then the list's order of types, then when it happened."""
    return sorted(clues, key=lambda c: (c.supplier, CLUE_TYPES.index(c.clue_type),
                                        c.occurred_at.timestamp() if c.occurred_at else 0.0, c.refs))


@dataclass(frozen=True)
class ClueReport:
    hospital_code: str
    hospital_name: str
    month: str
    clues: list[Clue]
    internal: list[Finding]  # prescriber concentration: 内部, never upstream

    def by_supplier(self) -> dict[str, list[Clue]]:
        out: dict[str, list[Clue]] = {}
        for c in self.clues:
            out.setdefault(c.supplier, []).append(c)
        return out


def clue_text(report: ClueReport) -> str:
    """The plain-text draft a clerk pastes into the bureau's form or a letter."""
    lines = [f"{report.hospital_name}（{report.hospital_code}）{report.month} 短缺及违约线索报告（草稿）", ""]
    if not report.clues:
        lines.append("本月未发现配送企业或生产企业的短缺、违约线索。")
    for n, (supplier, clues) in enumerate(report.by_supplier().items(), 1):
        lines.append(f"{n}. {clues[0].role}：{supplier}（{len(clues)} 条线索）")
        for k, c in enumerate(clues, 1):
            when = f"{c.occurred_at:%Y-%m-%d}，" if c.occurred_at else ""
            who = f"（{c.recorded_by} 登记）" if c.recorded_by else ""
            lines.append(f"  ({k}) 线索类型：{c.clue_type}；产品：{c.product or '—'}；{when}{c.evidence}{who}")
        lines.append("")
    lines.append("以上线索请医保部门依规核实处理。")
    return "\n".join(lines) + "\n"
