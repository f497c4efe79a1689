"""Medical consumables (医用耗材): the 27-character national code and the high/low-value split.

The code (医保医用耗材分类与代码) reads, as the public release files lay it out ("27位码" beside
"20位码", the 20 being the first 20 of the 27): ``C`` (耗材标识码) + 分类码 6 (一级 学科/品类 2,
二级 用途/品目 2, 三级 部位/功能/品种 2) + 通用名码 3 + 产品特征码 5 (材质 2, 规格/特征 3) + 生产企业码 5
+ 单件产品（规格型号）码 7. So the first 10 name class and generic name (what competes with a winning
product), the first 20 one maker's product of one material and feature, the whole 27 one spec/model.

高值 / 低值 (001: high-value consumables' 网采率 >= 80%): no notice fixes a line, so the class decides
where the release's 一级分类 is known to be implant or interventional material, a configured price
(per unit) decides otherwise, and a pharmacist's decision overrides both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

_CODE = re.compile(r"^C[0-9A-Z]{26}$")

# 一级分类 of the release whose files we have seen named (C01, C02, C03, C09, C14). Each is material
# implanted or used in an intervention: high-value whatever the price. A class not listed here is
# decided by price. TO CONFIRM against the release's full list before adding more.
HIGH_VALUE_CLASSES: dict[str, str] = {
    "01": "非血管介入治疗类材料",
    "02": "血管介入治疗类材料",
    "03": "骨科材料",
    "09": "体外循环材料",
    "14": "心脏外科类材料",
}
HIGH, LOW, UNKNOWN = "high", "low", "unknown"
VALUE_NAMES = {HIGH: "高值", LOW: "低值", UNKNOWN: "未定"}


@dataclass(frozen=True, slots=True)
class ConsumableCode:
    """A 27-character 医保医用耗材代码, cut into its parts."""

    code: str

    @classmethod
    def parse(cls, text: str | None) -> ConsumableCode | None:
        s = re.sub(r"\s+", "", text or "").upper()
        return cls(s) if _CODE.match(s) else None

    @property
    def class1(self) -> str:  # 一级分类（学科、品类）
        return self.code[1:3]

    @property
    def classes(self) -> str:  # 一级+二级+三级分类
        return self.code[1:7]

    @property
    def generic(self) -> str:  # class and 通用名码: the first 10, what one winning group shares
        return self.code[:10]

    @property
    def product(self) -> str:  # the first 20: class, generic, material and feature, maker
        return self.code[:20]

    @property
    def maker(self) -> str:  # 生产企业码
        return self.code[15:20]

    @property
    def model(self) -> str:  # 单件产品（规格型号）码
        return self.code[20:]


@dataclass(frozen=True, slots=True)
class ValueClass:
    """高值 or 低值 for one consumable, and why (staff-facing)."""

    value: str  # high | low | unknown
    reason: str
    source: str  # class | price | review | none


def classify_value(code: str | None, unit_price: Decimal | None, threshold: Decimal,
                   high_classes: dict[str, str] | None = None, override: str | None = None,
                   override_by: str | None = None) -> ValueClass:
    """Decide 高值/低值: a reviewed decision first, then the code's 一级分类, then the unit price against
    ``threshold`` (yuan per unit); ``unknown`` when neither the class nor a price decides."""
    if override in (HIGH, LOW):
        return ValueClass(override, f"人工确认为{VALUE_NAMES[override]}" + (f"（{override_by}）" if override_by else ""), "review")
    classes = HIGH_VALUE_CLASSES if high_classes is None else high_classes
    parsed = ConsumableCode.parse(code)
    if parsed is not None and parsed.class1 in classes:
        return ValueClass(HIGH, f"一级分类C{parsed.class1}{classes[parsed.class1]}属高值耗材", "class")
    if unit_price is not None:
        if unit_price >= threshold:
            return ValueClass(HIGH, f"单价{_yuan(unit_price)}元不低于高值线{_yuan(threshold)}元", "price")
        return ValueClass(LOW, f"单价{_yuan(unit_price)}元低于高值线{_yuan(threshold)}元", "price")
    why = "无有效27位耗材代码" if parsed is None else f"一级分类C{parsed.class1}未列为高值"
    return ValueClass(UNKNOWN, f"{why}且无单价，请人工确认", "none")


@dataclass(frozen=True, slots=True)
class ValueRule:
    """The hospital's 高值 line (``[catalogue] high_value_price``, ``high_value_classes``)."""

    threshold: Decimal = Decimal(500)
    high_classes: dict[str, str] | None = None

    def classify(self, code: str | None, unit_price: Decimal | None, override: str | None = None,
                 override_by: str | None = None) -> ValueClass:
        return classify_value(code, unit_price, self.threshold, self.high_classes, override, override_by)


def online_kind(value: ValueClass) -> str | None:
    """The 网采率 line a consumable's purchases count in: high-value (高值医用耗材, 80%), and an
    undecided one with them until a pharmacist says otherwise (watched rather than missed); a
    low-value consumable has no line of its own (None)."""
    return None if value.value == LOW else "high_value_consumable"


def _yuan(v: Decimal) -> str:
    return format(v.quantize(Decimal("0.01")), "f")


def normal_registration(text: str | None) -> str:
    """A registration certificate number (注册证号 / 备案凭证号) compared as written, less spaces,
    brackets' width and the 国械注准/进 prefix's surrounding words: 国械注准20153130541."""
    s = re.sub(r"\s+", "", text or "").replace("（", "(").replace("）", ")").upper()
    return s.removeprefix("注册证号:").removeprefix("注册证号：")
