"""对码: propose, for a local HIS item, its winning product and generic group, with reasons.

Exact when the HIS holds a valid national code; otherwise each winning product is scored on
generic name (salt and form normalised), dosage form, strength and manufacturer. A proposal is
accepted automatically only when it is unambiguous; everything else goes to review ranked.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal

from agent.domain.catalogue import Kind, WinningProduct, code_form, code_molecule, national_code_problem, normal_code
from agent.domain.consumables import ConsumableCode, normal_registration
from agent.domain.forms import form_class, infer_form, qualifiers_in_brackets
from agent.domain.model import LocalItem
from agent.domain.normalise import (
    GenericName,
    clean,
    compact,
    core_similarity,
    could_be_slip,
    manufacturer_core,
    parse_generic,
    pick_form,
    ratio,
    split_name_spec,
    strip_brackets,
)
from agent.domain.spec import Spec, factor_to_smallest, parse_spec, strength_similarity
from agent.domain.synonyms import synonym_table

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


@dataclass(frozen=True, slots=True)
class Identity:
    """What a local item is, read from its cells: the generic name (synonyms and the national code
    applied), the form (written, or inferred with its reason), the spec and the maker's core."""

    generic: GenericName
    spec: Spec
    maker: str
    notes: tuple[str, ...]  # how the name and the form were read, for the reason shown in review
    doubt: str | None  # evidence that disagrees: the item must be reviewed, never guessed
    named: bool  # the item carries a readable generic name (not only a trade name)


class Matcher:
    """Holds the winning products, indexed; ``propose`` is pure. ``synonyms``: a hospital's own
    former/trade names on top of the built-in table (``[catalogue] synonyms``)."""

    def __init__(self, products: Iterable[WinningProduct], auto_accept: float = 0.9, top: int = 3,
                 synonyms: Mapping[str, str] | None = None) -> None:
        self.products = {p.product_key: p for p in products}
        self.auto_accept = auto_accept
        self.top = top
        self.synonyms = synonym_table(synonyms)
        self._by_code = {normal_code(p.national_code): p for p in self.products.values() if p.national_code}
        self._by_code20: dict[str, list[WinningProduct]] = defaultdict(list)
        self._by_code_form: dict[str, set[str]] = defaultdict(set)  # molecule+form part -> group keys
        self._by_molecule: dict[str, set[str]] = defaultdict(set)  # molecule part -> generic bases
        self._parsed = {}
        self._by_gram: dict[str, set[str]] = defaultdict(set)
        self._forms: dict[str, set[str]] = defaultdict(set)  # generic base -> forms of its winning groups
        self._brands: dict[str, list[str]] = defaultdict(list)  # generic base -> its known trade names
        for brand, generic in self.synonyms.items():
            if len(brand) <= 4:
                self._brands[parse_generic(generic).base].append(brand)
        for key, p in self.products.items():
            code = normal_code(p.national_code)
            self._parsed[key] = (parse_generic(p.generic_name, p.dosage_form), parse_spec(p.spec),
                                 manufacturer_core(p.manufacturer))
            g = self._parsed[key][0]
            if code and len(code) == 23 and p.kind == Kind.DRUG:
                self._by_code20[code[:20]].append(p)
                self._by_code_form[code_form(code)].add(p.group_key)
                self._by_molecule[code_molecule(code)].add(g.base)
            if p.kind == Kind.DRUG and g.form:
                self._forms[g.base].add(g.form)
            for gram in _grams(g.base):
                self._by_gram[gram].add(key)

    def propose(self, item: LocalItem) -> Proposal:
        if item.kind == Kind.CONSUMABLE:
            found = self._consumable(item)
            if found is not None:
                return found
        code = normal_code(item.national_code)
        problem = national_code_problem(code, item.kind) if code else None
        coded_base: str | None = None
        if code and not problem and item.kind == Kind.DRUG and len(code) == 23:
            bases = self._by_molecule.get(code_molecule(code), set())
            coded_base = next(iter(bases)) if len(bases) == 1 else None
            named = self.identify(item)
            if coded_base and named.named and named.generic.base in self._forms and named.generic.base != coded_base:
                return self._review_doubt(item, "", replace(named, doubt=(
                    f"名称的通用名（{named.generic.base}）与HIS国家代码的通用名部分（{coded_base}）不一致")))
        if code and not problem:
            exact = self._by_code.get(code)
            if exact is not None:
                return self._finish(item, AUTO, exact, exact.group_key, 1.0, "国家医保代码一致", ())
            same20 = self._by_code20.get(code[:20]) if len(code) == 23 else None
            groups = self._by_code_form.get(code_form(code), set()) if len(code) == 23 else set()
            by_code = same20[0].group_key if same20 else next(iter(groups)) if len(groups) == 1 else None
            written = self.identify(item).generic.form if by_code else None
            if by_code and written and written != by_code.split("|")[-1]:
                # the code's form part is read by its published layout; a name or 剂型 cell that says
                # otherwise (缓释片 under a plain tablet's code) is reviewed, never grouped by the code
                return self._review_doubt(item, "", replace(self.identify(item), doubt=(
                    f"名称或剂型列的剂型（{written}）与HIS国家代码所属分组{by_code}的剂型不一致")))
            if same20:
                return self._finish(item, AUTO, None, same20[0].group_key, 0.98,
                                    "国家代码前20位（通用名、剂型、规格）一致，生产企业不同：非中选产品", ())
            if by_code:
                return self._finish(item, AUTO, None, by_code, 0.97,
                                    "国家代码的通用名、剂型部分与中选产品一致，规格或企业不同：非中选产品", ())
        note = f"HIS国家代码无效（{problem}），按名称对码；" if problem else ""
        who = self.identify(item, coded_base)
        if who.doubt:
            return self._review_doubt(item, note, who)
        cands = self.rank(item, who)
        g = who.generic
        if g.base in self._forms and g.form and g.form not in self._forms[g.base]:
            forms = "、".join(sorted(self._forms[g.base]))
            return self._finish(item, NONE, None, None, 0.95, note + "；".join(
                (*who.notes, f"通用名与中选产品一致，但剂型为{g.form}（中选剂型：{forms}），不属于集采分组")), cands)
        if not cands or cands[0].parts[0] < 0.6:
            if not who.named:
                guesses = self.by_strength(item, who)
                hint = f"；按规格（{who.spec.strength_text}）和剂型列出可能的分组" if guesses else ""
                return self._finish(item, REVIEW, None, None, 0.0, note + "名称不是可识别的通用名（可能是商品名），"
                                    "请确认通用名和剂型" + hint, guesses or cands)
            return self._finish(item, NONE, None, None, 0.0, note + "无相近的中选产品", tuple(cands))
        if who.named and g.form and g.base not in self._forms:
            near = {self._parsed[c.product_key][0].base for c in cands if c.parts[0] >= 0.6}
            if all(other_molecule(g.base, b) for b in near):
                return self._finish(item, NONE, None, None, 0.9, note + "".join(n + "；" for n in who.notes) + (
                    f"通用名“{g.full}”与相近的中选通用名（{'、'.join(sorted(near))}）是不同药物（复方、异构体或另一化合物），"
                    "非集采品种"), cands)
        return self._decide(item, cands, note, who)

    def _consumable(self, item: LocalItem) -> Proposal | None:
        """A consumable by its 27-character code (医保医用耗材代码), its 注册证号 and its 规格型号; None
        when none of them says anything (the item then goes through the name ranking, and review).
        Sure only when the whole code agrees, or the registration and the spec/model do; a code that
        shares only class and 通用名码 with the winning ones is a rival in their group."""
        code = ConsumableCode.parse(item.national_code)
        reg = normal_registration(item.registration_no)
        spec = compact(item.spec)
        mine = [p for p in self.products.values() if p.kind == Kind.CONSUMABLE]
        if code is not None and (exact := self._by_code.get(code.code)) is not None:
            return self._finish(item, AUTO, exact, exact.group_key, 1.0, "医保耗材代码（27位）一致", ())
        if reg:
            same = [p for p in mine if p.registration_no and normal_registration(p.registration_no) == reg]
            fits = [p for p in same if spec and compact(p.spec) == spec]
            if len(fits) == 1:
                return self._finish(item, AUTO, fits[0], fits[0].group_key, 0.98, "注册证号、规格型号一致", ())
            if len(same) == 1 and not compact(same[0].spec):
                return self._finish(item, AUTO, same[0], same[0].group_key, 0.95, "注册证号一致（中选产品不分规格型号）", ())
            if same:
                groups = {p.group_key for p in same}
                return self._finish(item, REVIEW, same[0] if len(same) == 1 else None,
                                    next(iter(groups)) if len(groups) == 1 else None, 0.8,
                                    "注册证号一致，但规格型号不同或对应多个中选产品，请核对规格型号", ())
        if code is None:
            return None
        coded = [(p, ConsumableCode.parse(p.national_code)) for p in mine]
        product = [p for p, c in coded if c is not None and c.product == code.product]
        if product:
            groups = {p.group_key for p in product}
            return self._finish(item, REVIEW, product[0] if len(product) == 1 else None,
                                next(iter(groups)) if len(groups) == 1 else None, 0.8,
                                "医保耗材代码前20位（分类、通用名、材质特征、企业）与中选产品一致，规格型号码不同，请核对规格型号", ())
        groups = {p.group_key for p, c in coded if c is not None and c.generic == code.generic}
        if len(groups) == 1:
            return self._finish(item, AUTO, None, next(iter(groups)), 0.95,
                                "医保耗材代码的分类与通用名码与中选产品一致，企业或产品不同：非中选产品", ())
        if groups:
            return self._finish(item, REVIEW, None, None, 0.6, "医保耗材代码的分类与通用名码对应多个分组，请确认", ())
        uncoded = [p for p, c in coded if c is None]
        if coded and max((ratio(compact(item.name), compact(p.generic_name)) for p in uncoded), default=0.0) < 0.6:
            # the code decides against every coded winning consumable, and the name is near none of the others
            return self._finish(item, NONE, None, None, 0.95, "医保耗材代码的分类与通用名码与本院中选耗材均不同：非集采", ())
        return None

    def _review_doubt(self, item: LocalItem, note: str, who: Identity) -> Proposal:
        """Evidence disagrees: review, with the likely group when the name and form are sure."""
        cands = self.rank(item, who)
        likely = cands[0].group_key if cands and cands[0].parts[0] >= 0.97 and cands[0].parts[1] == 1.0 else None
        return self._finish(item, REVIEW, None, likely, round(cands[0].score, 3) if cands else 0.0,
                            note + "；".join((*who.notes, who.doubt or "")), cands)

    def identify(self, item: LocalItem, coded_base: str | None = None) -> Identity:
        """Read the item's generic name, form, spec and maker; note what was inferred and any doubt."""
        name, spec_in_name = split_name_spec(item.name)
        spec = parse_spec(item.spec or spec_in_name)
        notes: list[str] = []
        doubt: str | None = None
        from_name = parse_generic(name)
        from_col = parse_generic(item.generic_name) if item.generic_name else None
        g = from_col or from_name
        named = bool(from_col) or bool(from_name.form)
        resolved = self._synonym(g) if g.base not in self._forms else None
        if resolved is not None:
            old, g = g, resolved
            notes.append(f"“{old.full}”是“{g.full}”的旧称或商品名")
            named = True
        elif not named and g.base not in self._forms:
            inner = self._bracketed_generic(item.name)
            if inner is not None:
                notes.append(f"名称括号内的通用名“{inner.full}”")
                g, named = inner, True
        if coded_base and coded_base != g.base:
            if g.base in self._forms or named and ratio(g.base, coded_base) >= 0.6:
                doubt = f"名称的通用名（{g.base}）与HIS国家代码的通用名部分（{coded_base}）不一致"
            else:
                notes.append(f"按HIS国家代码的通用名部分识别为{coded_base}")
                g, named = replace(g, full=coded_base, base=coded_base, salt=""), True
        if item.kind == Kind.CONSUMABLE:  # a consumable's 剂型 column holds its kind (注射器), not a dosage form
            return Identity(g, spec, manufacturer_core(item.manufacturer), tuple(notes), doubt, named)
        cell = form_class(item.dosage_form)
        named_form = (from_col.form if from_col and from_col.form else None) or from_name.form or g.form
        form = pick_form(cell, named_form)
        if cell and named_form and cell != named_form and form == cell:
            doubt = doubt or f"剂型列“{clean(item.dosage_form)}”与名称的剂型“{named_form}”不一致"
        if form is None:
            form, why, conflict = self._infer(item, name, spec, g.base)
            notes.append(why)
            if conflict:
                doubt = doubt or why
        return Identity(replace(g, form=form), spec, manufacturer_core(item.manufacturer), tuple(notes), doubt, named)

    def _synonym(self, g: GenericName) -> GenericName | None:
        for key in (g.full, g.base):
            value = self.synonyms.get(compact(key)) if key else None
            if value:
                found = parse_generic(value)
                return found if found.form or not g.form else replace(found, form=g.form)
        return None

    def _bracketed_generic(self, name: str) -> GenericName | None:
        """``络活喜(苯磺酸氨氯地平片)``: a trade name with the generic name in brackets."""
        for inner in _BRACKETED.findall(clean(name).replace("（", "(").replace("）", ")")):
            g = parse_generic(inner)
            if g.base in self._forms or self._synonym(g):
                return self._synonym(g) or g
        return None

    def _infer(self, item: LocalItem, name: str, spec: Spec, base: str) -> tuple[str | None, str, bool]:
        """A blank 剂型: the one winning form of this generic the name, spec and unit allow, or why not."""
        ev = infer_form(compact(qualifiers_in_brackets(item.name)[0]), spec.dose_unit, clean(item.his_unit) or None,
                        any(d == "volume" for d, _ in spec.strength))
        if ev.conflict or ev.allowed is None:
            return None, ev.reason, ev.conflict
        fits = sorted(ev.allowed & self._forms.get(base, set()))
        if len(fits) == 1:
            return fits[0], f"{ev.reason}为{fits[0]}", False
        if not fits:
            return None, f"{ev.reason}，但该通用名没有这类剂型的中选产品", False
        return None, f"{ev.reason}，可能是{'、'.join(fits)}，需人工确认", True

    def rank(self, item: LocalItem, who: Identity | None = None) -> list[Candidate]:
        who = who or self.identify(item)
        g, spec, maker = who.generic, who.spec, who.maker
        out = []
        keys = set().union(*(self._by_gram.get(gram, ()) for gram in _grams(g.base)))
        for key in sorted(keys):
            p = self.products[key]
            if (p.kind == Kind.CONSUMABLE) != (item.kind == Kind.CONSUMABLE):
                continue
            pg, ps, pm = self._parsed[key]
            out.append(_score(key, p, (pg, ps, pm), (g, spec, maker)))
        out.sort(key=lambda c: (c.parts[0] < 0.97, -c.score, c.product_key))  # the same generic name first
        return out[: max(self.top, 5)]

    def by_strength(self, item: LocalItem, who: Identity) -> list[Candidate]:
        """Suggestions for a name nobody can read (an unknown trade name): the winning groups with a
        product of the item's strength in a form the 剂型, spec and unit allow, one per group; first
        those whose known trade names share a character with the name (络德 / 络活喜), then by maker."""
        if not who.spec.strength:
            return []
        if who.generic.form:
            allowed: frozenset[str] | None = frozenset({who.generic.form})
        else:
            allowed = infer_form(compact(qualifiers_in_brackets(item.name)[0]), who.spec.dose_unit,
                                 clean(item.his_unit) or None, any(d == "volume" for d, _ in who.spec.strength)).allowed
        if not allowed:
            return []
        name = set(compact(strip_brackets(item.name))) - set("片胶囊注射液剂")
        best: dict[str, Candidate] = {}
        for key, p in sorted(self.products.items()):
            pg, ps, pm = self._parsed[key]
            if p.kind != Kind.DRUG or pg.form not in allowed or strength_similarity(who.spec, ps) != 1.0:
                continue
            brand, alike = max(((b, len(name & set(b)) / max(1, len(set(b)))) for b in self._brands.get(pg.base, ())),
                               key=lambda x: x[1], default=("", 0.0))
            maker = core_similarity(who.maker, pm)
            reasons = (f"名称与{pg.base}的已知商品名或旧称“{brand}”用字相近" if alike else "名称无法比较",
                       f"剂型可能为{pg.form}", f"规格一致（{ps.strength_text}）",
                       "生产企业一致" if maker == 1.0 else f"生产企业相似{maker:.2f}")
            c = Candidate(key, p.group_key, round(0.4 * alike + 0.15 + 0.2 + 0.25 * maker, 4), reasons,
                          (round(alike, 4), 1.0, 1.0, maker))
            if p.group_key not in best or c.score > best[p.group_key].score:
                best[p.group_key] = c
        return sorted(best.values(), key=lambda c: (-c.score, c.group_key))

    def _decide(self, item: LocalItem, cands: list[Candidate], note: str, who: Identity) -> Proposal:
        read = "".join(n + "；" for n in who.notes)
        best = cands[0]
        name, form, spec, maker = best.parts
        same_group = [c for c in cands if c.group_key == best.group_key and c.parts[0] >= 0.97 and c.parts[1] == 1.0]
        rivals = [c for c in same_group[1:] if c.parts[2] >= 0.8 and c.parts[3] >= 0.8]
        why = note + read + "；".join(best.reasons)
        if name >= 0.97 and form == 1.0 and spec == 1.0 and maker >= 0.9 and not rivals and best.score >= self.auto_accept:
            return self._finish(item, AUTO, self.products[best.product_key], best.group_key, best.score, why, cands)
        if same_group and not note and manufacturer_core(item.manufacturer):
            clearly_other = all((c.parts[3] < 0.6 and not could_be_slip(item.manufacturer, self.products[c.product_key].manufacturer))
                                or (c.parts[2] == 0.0 and c.parts[3] >= 0.9) for c in same_group)
            if clearly_other:
                return self._finish(item, AUTO, None, best.group_key, 0.95,
                                    read + "通用名、剂型一致，生产企业或规格与中选产品不同：非中选产品", cands)
        group = best.group_key if name >= 0.97 and form == 1.0 else None
        proposed = self.products[best.product_key] if best.score >= 0.5 else None
        return self._finish(item, REVIEW, proposed, group, round(best.score, 3), why, cands)

    def _finish(self, item: LocalItem, status: str, product: WinningProduct | None, group: str | None,
                confidence: float, reason: str, cands: tuple[Candidate, ...] | list[Candidate]) -> Proposal:
        factor, source = item_factor(item, product)
        return Proposal(item.code, status, product.product_key if product else None, group, round(confidence, 3),
                        reason, tuple(cands[: self.top]), factor, source)


# a prefix that makes another molecule: 左氧氟沙星 is not 氧氟沙星, 地氯雷他定 not 氯雷他定
ISOMER_PREFIXES = ("左旋", "右旋", "消旋", "艾司", "左", "右", "地")


def other_molecule(mine: str, theirs: str) -> bool:
    """Whether two generic bases that look alike name different drugs: one holds the other with an
    isomer prefix, or with two or more characters more at either end (a combination: 缬沙坦氨氯地平,
    or another compound: 葡萄糖 / 葡萄糖酸钙). A one-character slip inside a name is a typo, not this."""
    if mine == theirs:
        return False
    short, long = sorted((mine, theirs), key=len)
    if not short or short not in long:
        return False
    head, tail = long[: long.index(short)], long[long.index(short) + len(short):]
    if head and tail:
        return False
    extra = head or tail
    return len(extra) >= 2 or (bool(head) and head in ISOMER_PREFIXES)


_BRACKETED = re.compile(r"\(([^()]*)\)")


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
