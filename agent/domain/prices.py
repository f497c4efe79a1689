"""Price findings (价格): a winning product bought above its winning price (中选价, which still
applies beyond the agreed volume, 001), an off-platform purchase above the platform's listed price
(高于挂网价线下供应, a clue type), and a sale price above the purchase price where the HIS gives
it (零差率 / 零加成, 000, 002). Prices are compared per HIS unit; a line whose unit cannot be
converted is left out, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from agent.domain.findings import Finding, Severity

RULE_PRICE = "price_above_winning"
RULE_MARKUP = "sale_markup"
PRICE_RULES = (RULE_PRICE, RULE_MARKUP)
TOLERANCE = 0.005  # half a percent: rounding of pack prices to the fen


@dataclass(frozen=True, slots=True)
class PricedReceipt:
    """An accepted warehouse receipt line with its price and the prices it is held to (per HIS unit)."""

    line_id: str
    item_code: str
    item: str  # the name staff know
    supplier: str
    on_platform: bool
    unit_price: float  # what the hospital paid
    winning_price: float | None = None  # the winning (= listed) price, when the item is a winning product
    sale_price: float | None = None  # the HIS sale price, when the HIS gives it
    listed_price: float | None = None  # the platform's listed price (挂网价) of another product, from its orders

    @property
    def ceiling(self) -> float | None:
        """The price this line is held to: the winning price, else (off the platform) the listed price."""
        return self.winning_price or (self.listed_price if not self.on_platform else None)


def _yuan(x: float) -> str:
    """A price as staff read it: thousands separated, to 4 decimals at most (1,047.6; 0.0735; 52)."""
    return f"{x:,.4f}".rstrip("0").rstrip(".")


def price_findings(lines: list[PricedReceipt], now: datetime) -> list[Finding]:
    """One finding per (item, supplier) bought above the winning price, and per item sold above its
    purchase price; each names the supplier and the lines."""
    over: dict[tuple[str, str], list[PricedReceipt]] = {}
    markup: dict[str, list[PricedReceipt]] = {}
    for ln in lines:
        if ln.ceiling and ln.unit_price > ln.ceiling * (1 + TOLERANCE):
            over.setdefault((ln.item_code, ln.supplier), []).append(ln)
        if ln.sale_price is not None and ln.sale_price > ln.unit_price * (1 + TOLERANCE):
            markup.setdefault(ln.item_code, []).append(ln)
    out = []
    for (code, supplier), found in sorted(over.items()):
        first = found[0]
        off = any(not ln.on_platform for ln in found)
        what = "线下供应高于挂网价" if off else "采购价高于中选价格"
        top = max(ln.unit_price for ln in found)
        held = f"中选价 {_yuan(first.winning_price)}" if first.winning_price else f"挂网价 {_yuan(first.listed_price or 0)}"
        out.append(Finding(
            rule=RULE_PRICE, subject=f"{code}:{supplier}", severity=Severity.CRITICAL, observed_at=now,
            title=f"{first.item}（{supplier}）{what}：{_yuan(top)} 元，{held} 元，{len(found)} 条入库",
            values={"unit_price": top, "winning_price": first.winning_price, "listed_price": first.listed_price,
                    "lines": len(found), "off_platform": off},
            evidence={"lines": [ln.line_id for ln in found], "supplier": supplier,
                      "clue_type": "高于挂网价线下供应" if off else "不按中选价格供应"},
            labels={"kind": "price", "supplier": supplier},
        ))
    for code, found in sorted(markup.items()):
        first = found[0]
        out.append(Finding(
            rule=RULE_MARKUP, subject=code, severity=Severity.WARNING, observed_at=now,
            title=f"{first.item} 销售价 {_yuan(first.sale_price or 0)} 元高于采购价 {_yuan(first.unit_price)} 元（零差率）",
            values={"sale_price": first.sale_price, "unit_price": first.unit_price, "lines": len(found)},
            evidence={"lines": [ln.line_id for ln in found], "suppliers": sorted({ln.supplier for ln in found})},
            labels={"kind": "price"},
        ))
    return out
