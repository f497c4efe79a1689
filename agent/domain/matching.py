"""对码: propose, for a local HIS item, its winning product and generic group, with reasons.

Exact when the HIS holds a valid national code; otherwise each winning product is scored on
generic name (salt and form normalised), dosage form, strength and manufacturer. A proposal is
accepted automatically only when it is unambiguous; everything else goes to review ranked.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from agent.domain.catalogue import Kind, WinningProduct, national_code_problem, normal_code
from agent.domain.model import LocalItem
from agent.domain.normalise import core_similarity, manufacturer_core, parse_generic, ratio, split_name_spec
from agent.domain.spec import factor_to_smallest, parse_spec, strength_similarity

AUTO, REVIEW, NONE = "auto", "review", "none"
WEIGHTS = {"name": 0.4, "form": 0.15, "spec": 0.2, "maker": 0.25}


@dataclass(frozen=True, slots=True)
class Candidate:
    product_key: str
    group_key: str
    score: float
    reasons: tuple[str, ...]
    parts: tuple[float, float, float, float]  # name, form, spec, maker


@dataclass(frozen=True, slots=True)
class Proposal:
    """The matcher's answer for one local item. ``product_key`` None with a group: non-winning."""

    item_code: str
    status: str  # auto | review | none
    product_key: str | None
    group_key: str | None
    confidence: float
    reason: str
    candidates: tuple[Candidate, ...]
    factor: Decimal | None
    factor_source: str | None  # his | spec | None


class Matcher:
    """Holds the winning products, indexed; ``propose`` is pure."""

    def __init__(self, products: Iterable[WinningProduct], auto_accept: float = 0.9, top: int = 3) -> None:
        self.products = {p.product_key: p for p in products}
        self.auto_accept = auto_accept
        self.top = top
        self._by_code = {normal_code(p.national_code): p for p in self.products.values() if p.national_code}
        self._by_code20: dict[str, list[WinningProduct]] = defaultdict(list)
        self._parsed = {}
        self._by_gram: dict[str, set[str]] = defaultdict(set)
        for key, p in self.products.items():
            code = normal_code(p.national_code)
            if code and len(code) == 23:
                self._by_code20[code[:20]].append(p)
            self._parsed[key] = (parse_generic(p.generic_name, p.dosage_form), parse_spec(p.spec),
                                 manufacturer_core(p.manufacturer))
            for gram in _grams(self._parsed[key][0].base):
                self._by_gram[gram].add(key)

    def propose(self, item: LocalItem) -> Proposal:
        code = normal_code(item.national_code)
        problem = national_code_problem(code, item.kind) if code else None
        if code and not problem:
            exact = self._by_code.get(code)
            if exact is not None:
                return self._finish(item, AUTO, exact, exact.group_key, 1.0, "国家医保代码一致", ())
            same20 = self._by_code20.get(code[:20]) if len(code) == 23 else None
            if same20:
                return self._finish(item, AUTO, None, same20[0].group_key, 0.98,
                                    "国家代码前20位（通用名、剂型、规格）一致，生产企业不同：非中选产品", ())
        note = f"HIS国家代码无效（{problem}），按名称对码；" if problem else ""
        cands = self.rank(item)
        if not cands or cands[0].parts[0] < 0.6:
            return self._finish(item, NONE, None, None, 0.0, note + "无相近的中选产品", tuple(cands))
        return self._decide(item, cands, note)

    def rank(self, item: LocalItem) -> list[Candidate]:
        name, spec_in_name = split_name_spec(item.name)
        g = parse_generic(item.generic_name or name, item.dosage_form)
        if not g.form and item.generic_name:
            g = parse_generic(item.generic_name, parse_generic(name).form)
        spec = parse_spec(item.spec or spec_in_name)
        maker = manufacturer_core(item.manufacturer)
        out = []
        keys = set().union(*(self._by_gram.get(gram, ()) for gram in _grams(g.base)))
        for key in sorted(keys):
            p = self.products[key]
            if (p.kind == Kind.CONSUMABLE) != (item.kind == Kind.CONSUMABLE):
                continue
            pg, ps, pm = self._parsed[key]
            out.append(_score(key, p, (pg, ps, pm), (g, spec, maker)))
        out.sort(key=lambda c: (-c.score, c.product_key))
        return out[: max(self.top, 5)]

    def _decide(self, item: LocalItem, cands: list[Candidate], note: str) -> Proposal:
        best = cands[0]
        name, form, spec, maker = best.parts
        same_group = [c for c in cands if c.group_key == best.group_key and c.parts[0] >= 0.97 and c.parts[1] == 1.0]
        rivals = [c for c in same_group[1:] if c.parts[2] >= 0.8 and c.parts[3] >= 0.8]
        why = note + "；".join(best.reasons)
        if name >= 0.97 and form == 1.0 and spec == 1.0 and maker >= 0.9 and not rivals and best.score >= self.auto_accept:
            return self._finish(item, AUTO, self.products[best.product_key], best.group_key, best.score, why, cands)
        if same_group and not note and manufacturer_core(item.manufacturer):
            clearly_other = all(c.parts[3] < 0.6 or (c.parts[2] == 0.0 and c.parts[3] >= 0.9) for c in same_group)
            if clearly_other:
                return self._finish(item, AUTO, None, best.group_key, 0.95,
                                    "通用名、剂型一致，生产企业或规格与中选产品不同：非中选产品", cands)
        group = best.group_key if name >= 0.97 and form == 1.0 else None
        proposed = self.products[best.product_key] if best.score >= 0.5 else None
        return self._finish(item, REVIEW, proposed, group, round(best.score, 3), why, cands)

    def _finish(self, item: LocalItem, status: str, product: WinningProduct | None, group: str | None,
                confidence: float, reason: str, cands: tuple[Candidate, ...] | list[Candidate]) -> Proposal:
        factor, source = item_factor(item, product)
        return Proposal(item.code, status, product.product_key if product else None, group, round(confidence, 3),
                        reason, tuple(cands[: self.top]), factor, source)


def _grams(text: str) -> set[str]:
    """Character bigrams (the whole text when shorter): the index that keeps ranking cheap."""
    return {text[i:i + 2] for i in range(len(text) - 1)} or ({text} if text else set())


def item_factor(item: LocalItem, product: WinningProduct | None) -> tuple[Decimal | None, str | None]:
    """Smallest units per HIS unit: the HIS's own factor, else derived from the spec, else None."""
    if item.pack_factor is not None and item.pack_factor > 0:
        return Decimal(item.pack_factor), "his"
    spec = parse_spec(item.spec or split_name_spec(item.name)[1])
    smallest = product.smallest_unit if product else None
    factor = factor_to_smallest(item.his_unit, spec, smallest)
    return (factor, "spec") if factor is not None else (None, None)


def _score(key: str, p: WinningProduct, theirs: tuple, ours: tuple) -> Candidate:
    """Score one winning product against one local item (each parsed: generic, spec, maker core)."""
    (pg, ps, pm), (g, spec, mine) = theirs, ours
    reasons = []
    if g.full == pg.full:
        name = 1.0
        reasons.append("通用名一致")
    elif g.base == pg.base:
        name = 0.97
        reasons.append(f"去盐型后通用名一致（{g.salt or '无'}/{pg.salt or '无'}）")
    else:
        name = ratio(g.base, pg.base)
        reasons.append(f"通用名相似{name:.2f}")
    if g.form and pg.form:
        form = 1.0 if g.form == pg.form else 0.0
        reasons.append(f"剂型一致（{pg.form}）" if form else f"剂型不同（{g.form}/{pg.form}）")
    else:
        form = 0.6
        reasons.append("剂型未知")
    strength = strength_similarity(spec, ps)
    reasons.append({1.0: f"规格一致（{ps.strength_text}）", 0.8: "规格部分一致", 0.5: "规格无法比较",
                    0.0: f"规格不同（{spec.strength_text}/{ps.strength_text}）"}[strength])
    maker = core_similarity(mine, pm)
    reasons.append("生产企业一致" if maker == 1.0 else f"生产企业相似{maker:.2f}")
    score = WEIGHTS["name"] * name + WEIGHTS["form"] * form + WEIGHTS["spec"] * strength + WEIGHTS["maker"] * maker
    return Candidate(key, p.group_key, round(score, 4), tuple(reasons), (name, form, strength, maker))
