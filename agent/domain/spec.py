"""Specifications (规格): strength with unit conversion, counts per pack, the HIS-unit factor.

``10mg×28片`` -> strength {mass 10 mg}, counts [(28, 片)]; ``0.1g:10ml`` and ``10ml:0.1g`` ->
{mass 100 mg, volume 10 ml}; ``20μg`` = ``20ug`` = ``0.02mg``. The factor from the HIS unit to the
smallest unit (盒 of 28 片 -> 28) is derived only when the spec says it; otherwise it is ``None``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from agent.domain.normalise import clean

# unit -> (dimension, multiplier to the base unit of that dimension)
_UNITS: dict[str, tuple[str, Decimal]] = {
    "kg": ("mass", Decimal(1000000)), "g": ("mass", Decimal(1000)), "mg": ("mass", Decimal(1)),
    "μg": ("mass", Decimal("0.001")), "µg": ("mass", Decimal("0.001")), "ug": ("mass", Decimal("0.001")),
    "mcg": ("mass", Decimal("0.001")), "ng": ("mass", Decimal("0.000001")),
    "l": ("volume", Decimal(1000)), "ml": ("volume", Decimal(1)), "μl": ("volume", Decimal("0.001")),
    "ul": ("volume", Decimal("0.001")),
    "万iu": ("units", Decimal(10000)), "万u": ("units", Decimal(10000)), "万单位": ("units", Decimal(10000)),
    "iu": ("units", Decimal(1)), "u": ("units", Decimal(1)), "单位": ("units", Decimal(1)),
    "%": ("percent", Decimal(1)),
    "克": ("mass", Decimal(1000)), "毫克": ("mass", Decimal(1)), "微克": ("mass", Decimal("0.001")),
    "毫升": ("volume", Decimal(1)), "升": ("volume", Decimal(1000)),
}
DOSE_UNITS = ("片", "粒", "支", "袋", "瓶", "丸", "贴", "枚", "揿", "喷", "粒", "包", "条", "张", "只", "个", "套", "根", "块")
PACK_UNITS = ("盒", "板", "箱", "包", "瓶", "袋", "桶", "罐", "小盒", "大盒", "排")
_COUNT_UNITS = sorted(set(DOSE_UNITS + PACK_UNITS + ("s", "t", "pcs")), key=len, reverse=True)

_NUM = r"(\d+(?:\.\d+)?)"
_QTY = re.compile(_NUM + r"\s*(" + "|".join(re.escape(u) for u in sorted(_UNITS, key=len, reverse=True)) + r")(?![a-z])")
_COUNT = re.compile(r"(?:^|[×x*/\s])" + _NUM + r"\s*(" + "|".join(re.escape(u) for u in _COUNT_UNITS) + r")?(?=$|[×x*/\s(])")
_PER = re.compile(r"/\s*(" + "|".join(re.escape(u) for u in _COUNT_UNITS) + r")\s*$")


@dataclass(frozen=True, slots=True)
class Spec:
    """A parsed specification. ``strength`` is a sorted tuple of (dimension, value in base unit)."""

    text: str
    strength: tuple[tuple[str, Decimal], ...]
    counts: tuple[tuple[Decimal, str | None], ...]  # innermost first: 7片 then 4板
    container: str | None  # the unit after a trailing '/', as in 28片/盒

    @property
    def dose_unit(self) -> str | None:
        """The smallest unit (最小制剂单位) the spec names, e.g. 片."""
        for _, unit in self.counts:
            if unit in DOSE_UNITS:
                return unit
        return None

    @property
    def per_pack(self) -> Decimal | None:
        """Smallest units in the whole pack (7片×4板 -> 28), None when the spec gives no count."""
        if not self.counts:
            return None
        total = Decimal(1)
        for n, _ in self.counts:
            total *= n
        return total

    @property
    def strength_text(self) -> str:
        unit = {"mass": "mg", "volume": "ml", "units": "U", "percent": "%"}
        return ":".join(f"{_plain(v)}{unit[d]}" for d, v in self.strength) or self.text


def _plain(v: Decimal) -> str:
    s = format(v.normalize(), "f")
    return s


def parse_spec(text: str | None) -> Spec:
    """Parse a spec cell; never raises (an unreadable spec has an empty strength)."""
    raw = clean(text).lower().replace("＊", "*").replace("·", "")
    s = raw.replace("×", "*").replace("x", "*").replace("：", ":").replace("∶", ":")
    strength: dict[str, Decimal] = {}
    rest = s
    for m in _QTY.finditer(s):
        dim, mult = _UNITS[m.group(2)]
        try:
            value = (Decimal(m.group(1)) * mult).normalize()
        except InvalidOperation:
            continue
        strength.setdefault(dim, value)
        rest = rest.replace(m.group(0), " ", 1)
    container = None
    per = _PER.search(rest)
    if per:
        container = per.group(1)
        rest = rest[: per.start()]
    counts: list[tuple[Decimal, str | None]] = []
    for m in _COUNT.finditer(rest.replace("*", " * ").replace("/", " / ")):
        unit = m.group(2)
        if unit in ("s", "t", "pcs"):
            unit = None
        counts.append((Decimal(m.group(1)), unit))
    return Spec(text=clean(text), strength=tuple(sorted(strength.items())), counts=tuple(counts), container=container)


def strength_similarity(a: Spec, b: Spec) -> float:
    """1.0 same strength; 0.8 one names a subset (0.5g vs 0.5g:5ml); 0.5 unknown; 0.0 different."""
    if not a.strength or not b.strength:
        if a.text and b.text and a.text.replace(" ", "") == b.text.replace(" ", ""):
            return 1.0
        return 0.5
    da, db = dict(a.strength), dict(b.strength)
    shared = set(da) & set(db)
    if not shared:
        return 0.5
    if any(da[k] != db[k] for k in shared):
        return 0.0
    return 1.0 if set(da) == set(db) else 0.8


def factor_to_smallest(his_unit: str | None, spec: Spec, smallest_unit: str | None = None) -> Decimal | None:
    """Smallest units per HIS unit: 1 when the HIS counts in 片; 28 for a 盒 of 7片×4板; else None."""
    unit = clean(his_unit)
    if not unit:
        return None
    smallest = smallest_unit or spec.dose_unit
    if unit == smallest:
        return Decimal(1)
    units = [u for _, u in spec.counts]
    if unit in units:
        idx = units.index(unit)
        if idx == 0:
            return Decimal(1) if unit in DOSE_UNITS and len(units) == 1 else None
        total = Decimal(1)
        for n, _ in spec.counts[:idx]:
            total *= n
        return total
    if unit in PACK_UNITS and spec.per_pack is not None and (smallest is None or unit != smallest):
        if spec.container in (None, unit) or spec.container not in PACK_UNITS:
            return spec.per_pack
    return None
