"""Dosage forms (剂型) as HIS dictionaries and the national code tables write them, and the form a
blank 剂型 cell most likely means.

``FORMS`` is the table (surface word -> form class used for the generic group 通用名+剂型); each row
has its own test. ``form_class`` reads a 剂型 cell the way HIS dictionaries write it: qualifiers in
brackets (``片剂(缓释)``, ``片剂（肠溶）``, ``注射剂(粉针)``), reordered with the 剂 suffix
(``缓释片剂``, ``胶囊剂(缓释)``), powders for injection (粉针 / 冻干粉针 / 注射用无菌粉末).
``infer_form`` answers, for a blank cell, which forms the name, spec and HIS unit allow, and why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# surface word -> form class. Classes are the group's form: 缓释片 is not 片, 粉针 is 注射剂.
FORMS: dict[str, str] = {
    "片": "片", "片剂": "片", "薄膜衣片": "片", "糖衣片": "片", "普通片": "片",
    "肠溶片": "肠溶片", "肠溶衣片": "肠溶片", "缓释片": "缓释片", "控释片": "控释片", "分散片": "分散片",
    "咀嚼片": "咀嚼片", "口腔崩解片": "口崩片", "口崩片": "口崩片", "泡腾片": "泡腾片", "含片": "含片",
    "胶囊": "胶囊", "胶囊剂": "胶囊", "硬胶囊": "胶囊", "软胶囊": "软胶囊", "胶丸": "软胶囊", "肠溶胶囊": "肠溶胶囊",
    "缓释胶囊": "缓释胶囊", "控释胶囊": "控释胶囊",
    "注射液": "注射剂", "注射剂": "注射剂", "针剂": "注射剂", "针": "注射剂", "粉针剂": "注射剂",
    "粉针": "注射剂", "注射用无菌粉末": "注射剂", "无菌粉末": "注射剂", "冻干粉针": "注射剂", "冻干粉针剂": "注射剂",
    "冻干粉": "注射剂", "注射用冻干粉末": "注射剂", "注射乳": "注射剂", "注射用浓溶液": "注射剂", "小容量注射剂": "注射剂",
    "大容量注射剂": "注射剂", "大输液": "注射剂", "输液": "注射剂",
    "颗粒": "颗粒", "颗粒剂": "颗粒", "干混悬剂": "干混悬剂", "口服溶液": "口服溶液", "口服液": "口服溶液",
    "口服溶液剂": "口服溶液", "糖浆": "糖浆", "糖浆剂": "糖浆", "混悬液": "混悬液", "口服混悬液": "混悬液",
    "滴眼液": "滴眼剂", "滴眼剂": "滴眼剂", "气雾剂": "气雾剂", "吸入气雾剂": "吸入气雾剂", "吸入粉雾剂": "吸入粉雾剂",
    "吸入溶液": "吸入溶液", "吸入用溶液": "吸入溶液", "乳膏": "乳膏", "乳膏剂": "乳膏", "软膏": "软膏", "软膏剂": "软膏",
    "凝胶": "凝胶", "凝胶剂": "凝胶", "贴剂": "贴剂", "贴片": "贴剂", "栓": "栓剂", "栓剂": "栓剂", "滴丸": "滴丸",
    "滴丸剂": "滴丸", "丸": "丸剂", "丸剂": "丸剂", "散": "散剂", "散剂": "散剂", "喷雾剂": "喷雾剂",
    "鼻喷雾剂": "鼻喷雾剂",
}
# a qualifier written in brackets or before the base word, joined to the base: 片剂(缓释) -> 缓释片
QUALIFIERS = ("口腔崩解", "注射用无菌粉末", "无菌粉末", "冻干粉针", "薄膜衣", "肠溶衣", "缓释", "控释", "肠溶", "分散",
              "咀嚼", "口崩", "泡腾", "粉针", "冻干", "糖衣", "普通", "硬", "软", "吸入", "鼻", "口服")
# a qualifier that makes any base an injection: 注射剂(粉针), 注射用(冻干粉针)
_INJECTION_QUALIFIERS = ("粉针", "冻干粉针", "冻干", "注射用无菌粉末", "无菌粉末")

FAMILIES: dict[str, frozenset[str]] = {
    "tablet": frozenset({"片", "肠溶片", "缓释片", "控释片", "分散片", "咀嚼片", "口崩片", "泡腾片", "含片"}),
    "capsule": frozenset({"胶囊", "软胶囊", "肠溶胶囊", "缓释胶囊", "控释胶囊", "滴丸", "丸剂"}),
    "injection": frozenset({"注射剂"}),
    "sachet": frozenset({"颗粒", "散剂", "干混悬剂", "口服溶液", "混悬液"}),
    "vial_or_tube": frozenset({"注射剂", "吸入气雾剂", "气雾剂", "吸入粉雾剂", "乳膏", "软膏", "凝胶", "滴眼剂",
                               "喷雾剂", "鼻喷雾剂", "口服溶液", "吸入溶液"}),
    "puff": frozenset({"吸入气雾剂", "气雾剂", "吸入粉雾剂", "喷雾剂", "鼻喷雾剂"}),
    "patch": frozenset({"贴剂"}),
    "suppository": frozenset({"栓剂"}),
}
# the smallest unit a spec or HIS unit names -> the family it points to
UNIT_FAMILIES: dict[str, str] = {"片": "tablet", "粒": "capsule", "丸": "capsule", "揿": "puff", "喷": "puff",
                                 "贴": "patch", "枚": "suppository", "袋": "sachet", "包": "sachet", "支": "vial_or_tube"}
_ZH = {"tablet": "片剂类", "capsule": "胶囊类", "injection": "注射剂", "sachet": "袋装口服类", "vial_or_tube": "支装",
       "puff": "喷雾吸入类", "patch": "贴剂", "suppository": "栓剂"}

_BRACKET = re.compile(r"[(\[【〔（]([^()\[\]【】〔〕（）]*)[)\]】〕）]")
_WORDS = sorted(FORMS, key=len, reverse=True)


def _half(text: str) -> str:
    return "".join(chr(ord(c) - 0xFEE0) if 0xFF01 <= ord(c) <= 0xFF5E else c for c in text)


def qualifiers_in_brackets(text: str) -> tuple[str, list[str]]:
    """(the text without brackets, the form qualifiers the brackets held); other brackets (a brand) dropped."""
    found: list[str] = []
    s = _half(text)
    for inner in _BRACKET.findall(s):
        q = inner.strip().replace(" ", "")
        if q in QUALIFIERS or q in FORMS:
            found.append(q)
    prev = None
    while prev != s:
        prev, s = s, _BRACKET.sub("", s)
    return s, found


def combine(base_word: str, qualifiers: list[str]) -> str | None:
    """The form class of a base word with its qualifiers (片 + 缓释 -> 缓释片); None if unknown."""
    base_class = FORMS.get(base_word) or FORMS.get(base_word.removesuffix("剂"))
    if base_class is None:
        return None
    for q in qualifiers:
        if q in _INJECTION_QUALIFIERS:
            return "注射剂"
        if q in FORMS:
            return FORMS[q]
        stem = base_word.removesuffix("剂")
        for joined in (q + stem, q + base_word, q + base_class):
            if joined in FORMS:
                return FORMS[joined]
    return base_class


def form_word_at_end(s: str) -> tuple[str, str] | None:
    """(what comes before the form word ``s`` ends with, its class); ``缓释片剂`` reads as 缓释片."""
    best: tuple[int, str, str] | None = None
    for cut, extra in ((s, 0), (s[:-1], 1) if s.endswith("剂") else ("", 0)):
        word = next((w for w in _WORDS if cut.endswith(w) and len(cut) >= len(w)), None) if cut else None
        if word and (best is None or len(word) + extra > best[0]):
            best = (len(word) + extra, cut[: len(cut) - len(word)], FORMS[word])
    return None if best is None else (best[1], best[2])


def form_class(text: str | None) -> str | None:
    """The dosage form class of a 剂型 cell (片剂 -> 片, 片剂(缓释) -> 缓释片, 注射用无菌粉末 -> 注射剂)."""
    if not text:
        return None
    rest, quals = qualifiers_in_brackets(str(text))
    s = re.sub(r"[\s*★#]", "", rest).lower()
    if not s:
        return FORMS.get(quals[0]) if quals else None
    if s in FORMS or s.removesuffix("剂") in FORMS:
        return combine(s, quals)
    for q in sorted(QUALIFIERS, key=len, reverse=True):  # 缓释片剂, 冻干粉针剂
        if s.startswith(q) and (s[len(q):] in FORMS or s[len(q):].removesuffix("剂") in FORMS):
            return combine(s[len(q):], [q, *quals])
    hit = form_word_at_end(s)
    if hit:
        return combine_class(hit[1], quals)
    return s


def combine_class(cls: str, qualifiers: list[str]) -> str:
    """A class already found, refined by bracketed qualifiers: 片 + (缓释) -> 缓释片."""
    return combine(cls, qualifiers) or cls if qualifiers else cls


def family_of(form: str) -> str | None:
    return next((f for f, members in FAMILIES.items() if form in members and f != "vial_or_tube"), None)


@dataclass(frozen=True, slots=True)
class FormEvidence:
    """What the name, spec and HIS unit say about a blank 剂型: the forms they allow, and why."""

    allowed: frozenset[str] | None  # None: no evidence at all
    reason: str
    conflict: bool  # two pieces of evidence point to forms that exclude each other


def infer_form(name: str, dose_unit: str | None, his_unit: str | None, has_volume: bool) -> FormEvidence:
    """The forms a blank 剂型 allows: 注射用/针 in the name, the spec's smallest unit, the HIS unit."""
    clues: list[tuple[str, str]] = []
    if "注射" in name or name.endswith("针"):
        clues.append(("injection", "名称含“注射/针”"))
    if dose_unit and dose_unit in UNIT_FAMILIES:
        clues.append((UNIT_FAMILIES[dose_unit], f"规格单位“{dose_unit}”"))
    if his_unit and his_unit in UNIT_FAMILIES and his_unit != dose_unit:
        clues.append((UNIT_FAMILIES[his_unit], f"HIS单位“{his_unit}”"))
    if has_volume and not clues:
        clues.append(("vial_or_tube", "规格为液体容量"))
    if not clues:
        return FormEvidence(None, "剂型空白，名称、规格、单位均无法判断剂型", False)
    allowed = FAMILIES[clues[0][0]]
    for fam, _ in clues[1:]:
        allowed = allowed & FAMILIES[fam]
    why = "、".join(w for _, w in clues)
    if not allowed:
        return FormEvidence(frozenset(), f"剂型空白，{why}指向不同剂型（{'/'.join(_ZH[f] for f, _ in clues)}）", True)
    return FormEvidence(allowed, f"剂型空白，据{why}推断", False)
