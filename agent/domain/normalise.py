"""Text normalisation for 对码: full/half width, generic names, salts, dosage forms, manufacturers.

Pure functions. A generic name (通用名) is split into its base, its salt (盐型) and its dosage form
(剂型); a manufacturer (生产企业) is reduced to its distinctive core so that
"浙江华海药业股份有限公司" and "华海药业" compare equal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

from agent.domain.forms import combine_class, family_of, form_word_at_end, qualifiers_in_brackets
from agent.domain.forms import form_class as form_class

_BRACKETS = re.compile(r"[(\[【〔<《][^()\[\]【】〔〕<>《》]*[)\]】〕>》]")
_SPACES = re.compile(r"\s+")
_MARKS = re.compile(r"[*★☆△▲#＃※\"'“”‘’]")

# Salt forms, longest first. Prefix salts: 盐酸二甲双胍; suffix salts: 阿托伐他汀钙.
PREFIX_SALTS = tuple(sorted((
    "盐酸", "硫酸氢", "硫酸", "氢溴酸", "马来酸", "富马酸", "甲磺酸", "苯磺酸", "磷酸", "枸橼酸", "酒石酸",
    "琥珀酸", "醋酸", "乳酸", "门冬氨酸", "甲苯磺酸", "对甲苯磺酸", "苯甲酸", "二盐酸", "氢氯酸", "草酸",
), key=len, reverse=True))
SUFFIX_SALTS = ("二钠", "钠盐", "钾盐", "钙盐", "钠", "钾", "钙", "镁", "锌", "二水合物", "一水合物", "水合物")
_METALS = {"钠", "钾", "钙", "镁", "锌", "铁", "铝", "锂"}

_INJECTION_PREFIX = "注射用"


def half_width(text: str) -> str:
    """Full-width ASCII (ＡＢＣ１２３（）) and the ideographic space to half width."""
    out = []
    for ch in text:
        code = ord(ch)
        if code == 0x3000:
            out.append(" ")
        elif 0xFF01 <= code <= 0xFF5E:
            out.append(chr(code - 0xFEE0))
        else:
            out.append(ch)
    return "".join(out)


def clean(text: object) -> str:
    """A cell's text: half width, non-breaking spaces gone, runs of spaces collapsed, trimmed."""
    if text is None:
        return ""
    s = half_width(str(text)).replace("\u00a0", " ").replace("\u200b", "")
    return _SPACES.sub(" ", s).strip()


def compact(text: object) -> str:
    """``clean`` without any space or mark, lower case: for keys and comparisons."""
    s = clean(text).lower()
    s = _MARKS.sub("", s)
    return s.replace(" ", "")


_NAME_SPEC = re.compile(r"\s*(\d+(?:\.\d+)?\s*(?:mg|g|ml|μg|ug|mcg|iu|u|万单位|单位|毫克|克|毫升|微克)[^\u4e00-\u9fff]*"
                        r"(?:[片粒支袋瓶丸贴盒板][^\u4e00-\u9fff]*)*)$", re.I)


def split_name_spec(name: str | None) -> tuple[str, str | None]:
    """A spec written at the end of an item name: ``阿托伐他汀钙片 10mg*7片`` -> (name, '10mg*7片')."""
    s = clean(name)
    m = _NAME_SPEC.search(s)
    if not m or m.start() == 0:
        return s, None
    return s[: m.start()].strip(), m.group(1)


def strip_brackets(text: str) -> str:
    prev = None
    while prev != text:
        prev, text = text, _BRACKETS.sub("", text)
    return text


@dataclass(frozen=True, slots=True)
class GenericName:
    """A parsed generic name: ``盐酸二甲双胍缓释片`` -> base 二甲双胍, salt 盐酸, form 缓释片."""

    full: str  # normalised generic name without the form
    base: str  # without its salt
    salt: str
    form: str | None  # the form class, or None when the name carries none


def parse_generic(name: str, form: str | None = None) -> GenericName:
    """Split a name into base, salt and form; ``form`` (a 剂型 cell) wins over the name's suffix.

    Form qualifiers in the name's brackets count (``硝苯地平片(缓释)`` is a 缓释片); other brackets
    (a brand, a note) are dropped.
    """
    rest, quals = qualifiers_in_brackets(clean(name))
    s = compact(strip_brackets(rest))
    found: str | None = None
    if s.startswith(_INJECTION_PREFIX) and len(s) > 3:
        s, found = s[3:], "注射剂"
        hit = form_word_at_end(s)
        if hit and hit[1] == "注射剂" and len(hit[0]) >= 2:
            s = hit[0]
    else:
        hit = form_word_at_end(s)
        if hit and hit[0]:
            s, found = hit[0], combine_class(hit[1], quals)
    base, salt = split_salt(s)
    return GenericName(full=s, base=base, salt=salt, form=pick_form(form_class(form), found))


def pick_form(cell: str | None, named: str | None) -> str | None:
    """The 剂型 cell's class, unless it is the plain head of the name's family: a HIS that files every
    tablet under 片剂 still names 缓释片 in 硝苯地平缓释片, and the name's form is the group's."""
    if cell and named and cell != named and cell in ("片", "胶囊") and family_of(cell) == family_of(named):
        return named
    return cell or named


def split_salt(name: str) -> tuple[str, str]:
    """(base, salt): 硫酸氢氯吡格雷 -> (氯吡格雷, 硫酸氢); 氯化钠 stays whole."""
    for salt in PREFIX_SALTS:
        rest = name[len(salt):]
        if name.startswith(salt) and len(rest) >= 2 and rest not in _METALS:
            return rest, salt
    for salt in SUFFIX_SALTS:
        rest = name[: -len(salt)]
        if name.endswith(salt) and len(rest) >= 3 and not rest.endswith(("酸", "化")):
            return rest, salt
    return name, ""


_COMPANY_WORDS = tuple(sorted((
    "股份有限公司", "有限责任公司", "集团有限公司", "有限公司", "总公司", "分公司", "公司", "股份", "集团",
    "制药厂", "制药", "药业", "药厂", "医药", "生物技术", "生物", "科技", "实业", "工业", "控股", "厂",
    "co.,ltd", "co.ltd", "ltd", "inc", "gmbh",
), key=len, reverse=True))
_REGIONS = tuple(sorted((
    "北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江", "安徽", "福建",
    "江西", "山东", "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州", "云南", "陕西", "甘肃", "青海",
    "内蒙古", "广西", "西藏", "宁夏", "新疆", "香港", "澳门", "台湾", "中国",
), key=len, reverse=True))


def manufacturer_core(name: str | None) -> str:
    """The distinctive part of a company name: region prefix and legal suffixes removed."""
    s = compact(strip_brackets(clean(name))) if name else ""
    full = s
    for region in _REGIONS:
        if s.startswith(region):
            s = s[len(region):].lstrip("省市")
            break
    for word in _COMPANY_WORDS:
        s = s.replace(word, "")
    return s if len(s) >= 2 else full


def could_be_slip(mine: str | None, theirs: str | None) -> bool:
    """Whether a short or mistyped maker name could still be ``theirs``: its distinctive characters
    appear, in order, in the other's full name (豪药业 in 江苏豪森药业集团有限公司)."""
    a, b = _distinct(mine), compact(strip_brackets(clean(theirs))) if theirs else ""
    if not a or not b:
        return False
    it = iter(b)
    return all(ch in it for ch in a)


def _distinct(name: str | None) -> str:
    s = compact(strip_brackets(clean(name))) if name else ""
    for word in _COMPANY_WORDS:
        s = s.replace(word, "")
    return s


def ratio(a: str, b: str) -> float:
    """Similarity in [0, 1] (difflib's ratio; 1.0 for equal strings, 0.0 when either is empty)."""
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


def manufacturer_similarity(a: str | None, b: str | None) -> float:
    """1.0 for the same core; 0.9 when one core holds the other; else the fuzzy ratio."""
    return core_similarity(manufacturer_core(a), manufacturer_core(b))


def core_similarity(ca: str, cb: str) -> float:
    """``manufacturer_similarity`` on cores already computed."""
    if not ca or not cb:
        return 0.0
    if ca == cb:
        return 1.0
    if len(min(ca, cb, key=len)) >= 2 and (ca in cb or cb in ca):
        return 0.9
    return ratio(ca, cb)
