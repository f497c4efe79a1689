"""The catalogue model: programmes (批次), agreement years, winning products (中选产品),
agreed volumes (约定采购量), generic groups, national codes (医保代码).

Pure: dates come in as arguments. An agreement year (协议年度) need not start on 1 January: year
n of a programme runs from the cycle start's anniversary to the day before the next, the last one
ending at the cycle end (or at the end of the latest extension, 延期).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from agent.domain.normalise import compact, manufacturer_core, parse_generic
from agent.domain.spec import parse_spec


class Kind(StrEnum):
    DRUG = "drug"  # 药品
    CONSUMABLE = "consumable"  # 医用耗材


class Level(StrEnum):
    NATIONAL = "national"  # 国家集采
    PROVINCIAL = "provincial"  # 省级集采
    ALLIANCE = "alliance"  # 省际联盟


@dataclass(frozen=True, slots=True)
class AgreementYear:
    """协议年度: the n-th year of a programme's cycle, [start, end] inclusive."""

    programme: str
    number: int
    start: date
    end: date

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.end

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass(frozen=True, slots=True)
class Programme:
    """A procurement programme (批次 / 联盟) with its cycle (采购周期) and extensions."""

    name: str
    kind: Kind
    level: Level
    cycle_start: date
    cycle_end: date
    extensions: tuple[date, ...] = ()  # each a new cycle end (续约 / 延期), latest last

    @property
    def effective_end(self) -> date:
        return max((self.cycle_end, *self.extensions))

    def agreement_years(self) -> list[AgreementYear]:
        """Year 1 from the cycle start, each renewed on the anniversary, until the effective end."""
        if self.cycle_end < self.cycle_start:
            raise ValueError(f"{self.name}: cycle ends {self.cycle_end} before it starts {self.cycle_start}")
        years: list[AgreementYear] = []
        start, n = self.cycle_start, 1
        end_all = self.effective_end
        while start <= end_all:
            nxt = _anniversary(self.cycle_start, n)
            end = min(nxt - timedelta(days=1), end_all)
            years.append(AgreementYear(self.name, n, start, end))
            start, n = nxt, n + 1
        return years

    def year_covering(self, day: date) -> AgreementYear | None:
        return next((y for y in self.agreement_years() if y.covers(day)), None)


def _anniversary(start: date, years: int) -> date:
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 February
        return start.replace(year=start.year + years, day=28) + timedelta(days=1)


@dataclass(frozen=True, slots=True)
class WinningProduct:
    """中选产品. ``pack`` is the count of smallest units per pack (盒 of 28 片 -> 28)."""

    generic_name: str
    dosage_form: str | None
    spec: str | None
    manufacturer: str
    kind: Kind = Kind.DRUG
    pack: Decimal | None = None
    smallest_unit: str | None = None
    national_code: str | None = None
    price: Decimal | None = None
    category: str | None = None  # consumables: the class (耗材分类)
    registration_no: str | None = None  # consumables: 注册证号 / 备案凭证号

    @property
    def group_key(self) -> str:
        if self.kind == Kind.CONSUMABLE and not self.category and self.national_code:
            code = compact(self.national_code).upper()
            if _CONSUMABLE_CODE.match(code):  # class and 通用名码: what competes with it (agent.domain.consumables)
                return "C|" + code[:10]
        return group_key(self.kind, self.generic_name, self.dosage_form, self.category)

    @property
    def product_key(self) -> str:
        """Identity across programmes: the national code, else generic|form|spec|maker (四同)."""
        if self.national_code:
            return self.national_code
        spec = parse_spec(self.spec)
        return "|".join(
            (self.group_key, spec.strength_text if spec.strength else compact(self.spec), manufacturer_core(self.manufacturer))
        )


def group_label(key: str, generic_name: str) -> str:
    """A group as staff read it, from its key and a product's 通用名: 阿托伐他汀（片）; a consumable by
    the name, and by its code's class and 通用名码 where it is grouped by them
    (药物洗脱冠脉支架系统（C020101001）): never ``C|...``."""
    if key.startswith("C|"):
        code = key[2:]
        return generic_name if code == compact(generic_name) else f"{generic_name}（{code}）"
    base, _, form = key.partition("|")
    return f"{base}（{form}）" if form else base


def group_key(kind: str, generic_name: str, dosage_form: str | None, category: str | None = None) -> str:
    """通用名 + 剂型 for drugs (salt-free base); the class for consumables."""
    if kind == Kind.CONSUMABLE:
        return "C|" + compact(category or generic_name)
    g = parse_generic(generic_name, dosage_form)
    return f"{g.base}|{g.form or ''}"


@dataclass(frozen=True, slots=True)
class AgreedVolume:
    """约定采购量 of one product in one agreement year, in smallest units."""

    programme: str
    year: int
    product_key: str
    quantity: Decimal
    source_quantity: Decimal | None = None
    source_unit: str | None = None
    factor: Decimal | None = None


@dataclass(frozen=True)
class GenericGroup:
    """A generic group: its winning products and the mapped local items that compete with them."""

    key: str
    name: str
    dosage_form: str | None
    kind: str
    winning: list[dict] = field(default_factory=list)
    local_items: list[dict] = field(default_factory=list)


_DRUG_CODE = re.compile(r"^[XZ][A-Z0-9]{19}([A-Z0-9]{3})?$")
_CONSUMABLE_CODE = re.compile(r"^C[A-Z0-9]{26}$")


def national_code_problem(code: str | None, kind: str = Kind.DRUG) -> str | None:
    """Why a national code is invalid (Chinese, staff-facing), or None when it is valid.

    Drugs 23 characters starting X (western); Chinese patent drugs 20 starting Z (or 23);
    consumables 27 starting C.
    """
    s = compact(code).upper()
    if not s:
        return "国家医保代码为空"
    if kind == Kind.CONSUMABLE or s.startswith("C"):
        return None if _CONSUMABLE_CODE.match(s) else f"耗材代码应为C开头的27位字母数字，实为{len(s)}位"
    if s.startswith("X") and len(s) != 23:
        return f"西药代码应为23位，实为{len(s)}位"
    if s.startswith("Z") and len(s) not in (20, 23):
        return f"中成药代码应为20位，实为{len(s)}位"
    return None if _DRUG_CODE.match(s) else "药品代码应以X或Z开头，只含字母和数字"


def code_molecule(code: str) -> str:
    """The generic-name part of a 23-character drug code: type (1), class (5), generic name (4).

    The code (医保药品分类与代码, e.g. XA01ABD075A002010100567) reads 识别码 X + 分类 (5, ATC-like: A01AB)
    + 通用名 (4: the name's pinyin initial and a number, D075) + 剂型 (4, A002) + 规格包装 (6) + 企业 (3).
    Checked against a public insurer rule table that keys drugs by the first 10 characters plus two of
    the form: XJ01DHM046 美罗培南, XJ01DET084 头孢匹罗 (name code = pinyin initial + number), and one
    generic in two forms shares its first 10 (XJ02ACB206X0 泊沙康唑口服混悬 / ...B0 注射液, XJ01DIF005A0 /
    ...E0 法罗培南). So: same first 10 characters = same molecule (confirmed); same first 14 = same
    molecule and form (the 4-character form part: assumed from the layout above, its first two
    characters confirmed); the split of the last 9 into 规格包装 6 + 企业 3 (``code[:20]``) is the
    published layout as we know it, not confirmed from a sample: a wrong split only sends an item to
    the group by the first 14 characters instead."""
    return code[:10]


def code_form(code: str) -> str:
    """The generic-name and form part of a 23-character drug code (its first 14 characters)."""
    return code[:14]


def normal_code(code: str | None) -> str | None:
    s = compact(code).upper()
    return s or None
