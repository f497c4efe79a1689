"""Deterministic catalogue fixtures: a noisy HIS dictionary against a winning list, and ugly sheets.

``noisy_catalogue()`` builds ~120 winning products and ~300 local items with the noise a real HIS
dictionary has (salt dropped, 片剂 for 片, brand names in brackets, full-width characters, spec
written as packs or only in the name, brand names for names, manufacturer short names and typos, a
few national codes, some broken) plus non-winning
rivals and decoys. It returns the truth for each local item: (product_key or None, group or None).
"""

from __future__ import annotations

import random
from decimal import Decimal

from agent.domain.catalogue import Kind, WinningProduct
from agent.domain.model import LocalItem
from agent.domain.normalise import manufacturer_core
from agent.domain.spec import parse_spec, strength_similarity

# generic name as the bureau writes it, form, specs, smallest unit
GENERICS: list[tuple[str, str, list[str], str]] = [
    ("阿托伐他汀钙", "片", ["10mg", "20mg"], "片"), ("瑞舒伐他汀钙", "片", ["10mg", "5mg"], "片"),
    ("苯磺酸氨氯地平", "片", ["5mg"], "片"), ("硫酸氢氯吡格雷", "片", ["75mg", "25mg"], "片"),
    ("盐酸二甲双胍", "片", ["0.25g", "0.5g"], "片"), ("盐酸二甲双胍", "缓释片", ["0.5g"], "片"),
    ("厄贝沙坦", "片", ["75mg", "150mg"], "片"), ("氯沙坦钾", "片", ["50mg", "100mg"], "片"),
    ("缬沙坦", "胶囊", ["80mg"], "粒"), ("头孢呋辛酯", "片", ["0.25g"], "片"),
    ("头孢曲松钠", "注射用", ["1.0g", "0.5g"], "支"), ("盐酸左氧氟沙星", "注射液", ["100ml:0.5g"], "瓶"),
    ("奥美拉唑", "肠溶胶囊", ["20mg"], "粒"), ("奥美拉唑钠", "注射用", ["40mg"], "支"),
    ("恩替卡韦", "片", ["0.5mg"], "片"), ("富马酸替诺福韦二吡呋酯", "片", ["300mg"], "片"),
    ("孟鲁司特钠", "片", ["10mg"], "片"), ("孟鲁司特钠", "咀嚼片", ["4mg", "5mg"], "片"),
    ("蒙脱石", "散", ["3g"], "袋"), ("阿莫西林", "胶囊", ["0.25g"], "粒"), ("阿奇霉素", "片", ["0.25g"], "片"),
    ("阿奇霉素", "注射用", ["0.5g"], "支"), ("布洛芬", "缓释胶囊", ["0.3g"], "粒"), ("塞来昔布", "胶囊", ["0.2g"], "粒"),
    ("利伐沙班", "片", ["10mg"], "片"), ("替格瑞洛", "片", ["90mg"], "片"), ("甲钴胺", "片", ["0.5mg"], "片"),
    ("格列美脲", "片", ["2mg", "1mg"], "片"), ("阿卡波糖", "片", ["50mg"], "片"), ("坎地沙坦酯", "片", ["8mg"], "片"),
    ("硝苯地平", "控释片", ["30mg"], "片"), ("非洛地平", "缓释片", ["5mg"], "片"),
    ("琥珀酸美托洛尔", "缓释片", ["47.5mg"], "片"), ("富马酸比索洛尔", "片", ["5mg"], "片"),
    ("左乙拉西坦", "片", ["0.25g", "0.5g"], "片"), ("奥氮平", "片", ["10mg", "5mg"], "片"), ("阿立哌唑", "片", ["5mg"], "片"),
    ("草酸艾司西酞普兰", "片", ["10mg"], "片"), ("盐酸舍曲林", "片", ["50mg"], "片"), ("盐酸帕罗西汀", "片", ["20mg"], "片"),
    ("盐酸度洛西汀", "肠溶胶囊", ["30mg"], "粒"), ("加巴喷丁", "胶囊", ["0.1g"], "粒"), ("普瑞巴林", "胶囊", ["75mg"], "粒"),
    ("对乙酰氨基酚", "片", ["0.5g"], "片"), ("盐酸氨溴索", "注射液", ["2ml:15mg"], "支"), ("盐酸氨溴索", "片", ["30mg"], "片"),
    ("头孢克肟", "胶囊", ["0.1g"], "粒"), ("盐酸莫西沙星", "片", ["0.4g"], "片"), ("氟康唑", "胶囊", ["50mg"], "粒"),
    ("伏立康唑", "片", ["200mg"], "片"), ("兰索拉唑", "肠溶胶囊", ["30mg"], "粒"), ("泮托拉唑钠", "注射用", ["40mg"], "支"),
    ("雷贝拉唑钠", "肠溶片", ["10mg"], "片"), ("盐酸多奈哌齐", "片", ["5mg"], "片"), ("依折麦布", "片", ["10mg"], "片"),
    ("吲达帕胺", "片", ["2.5mg"], "片"), ("托拉塞米", "注射液", ["2ml:20mg"], "支"), ("维格列汀", "片", ["50mg"], "片"),
    ("磷酸西格列汀", "片", ["100mg"], "片"), ("达格列净", "片", ["10mg"], "片"), ("甲硝唑", "片", ["0.2g"], "片"),
    ("地氯雷他定", "片", ["5mg"], "片"), ("盐酸西替利嗪", "片", ["10mg"], "片"),
    ("硫酸沙丁胺醇", "吸入气雾剂", ["100μg×200揿"], "支"), ("头孢他啶", "注射用", ["1.0g"], "支"),
    ("美罗培南", "注射用", ["0.5g"], "支"), ("哌拉西林钠他唑巴坦钠", "注射用", ["4.5g"], "支"),
    ("卡培他滨", "片", ["0.5g"], "片"), ("来曲唑", "片", ["2.5mg"], "片"), ("甲磺酸伊马替尼", "片", ["0.1g"], "片"),
    ("磷酸奥司他韦", "胶囊", ["75mg"], "粒"), ("非布司他", "片", ["40mg"], "片"), ("骨化三醇", "软胶囊", ["0.25μg"], "粒"),
    ("左甲状腺素钠", "片", ["50μg"], "片"), ("丙戊酸钠", "缓释片", ["0.5g"], "片"), ("奥卡西平", "片", ["0.3g"], "片"),
    ("富马酸喹硫平", "片", ["0.1g"], "片"), ("盐酸坦索罗辛", "缓释胶囊", ["0.2mg"], "粒"), ("非那雄胺", "片", ["5mg"], "片"),
    ("氨甲环酸", "注射液", ["5ml:0.5g"], "支"), ("多索茶碱", "注射液", ["10ml:0.1g"], "支"),
    ("硫酸镁", "注射液", ["10ml:2.5g"], "支"), ("葡萄糖酸钙", "注射液", ["10ml:1g"], "支"),
    ("肝素钠", "注射液", ["2ml:12500单位"], "支"),
]
# full name, variants a HIS might hold
MAKERS: list[tuple[str, list[str]]] = [
    ("石药集团欧意药业有限公司", ["石药欧意", "石药集团欧意药业"]), ("齐鲁制药有限公司", ["齐鲁制药", "齐鲁"]),
    ("扬子江药业集团有限公司", ["扬子江药业", "扬子江"]), ("浙江华海药业股份有限公司", ["华海药业", "浙江华海"]),
    ("正大天晴药业集团股份有限公司", ["正大天晴", "正大天晴药业"]), ("江苏恒瑞医药股份有限公司", ["恒瑞医药", "江苏恒瑞"]),
    ("北京嘉林药业股份有限公司", ["嘉林药业", "北京嘉林"]), ("乐普药业股份有限公司", ["乐普药业", "乐普"]),
    ("深圳信立泰药业股份有限公司", ["信立泰", "信立泰药业"]), ("重庆药友制药有限责任公司", ["药友制药", "重庆药友"]),
    ("四川科伦药业股份有限公司", ["科伦药业", "科伦"]), ("山东新华制药股份有限公司", ["新华制药", "山东新华"]),
    ("上海信谊药厂有限公司", ["信谊药厂", "上海信谊"]), ("浙江京新药业股份有限公司", ["京新药业", "浙江京新"]),
    ("湖南千金湘江药业股份有限公司", ["千金湘江", "千金湘江药业"]), ("海南普利制药股份有限公司", ["普利制药", "海南普利"]),
    ("江苏豪森药业集团有限公司", ["豪森药业", "江苏豪森"]), ("成都倍特药业股份有限公司", ["倍特药业", "成都倍特"]),
    ("浙江海正药业股份有限公司", ["海正药业", "浙江海正"]), ("广州白云山医药集团股份有限公司", ["白云山", "广州白云山"]),
    ("辉瑞制药有限公司", ["辉瑞", "辉瑞制药"]), ("阿斯利康制药有限公司", ["阿斯利康", "阿斯利康制药"]),
    ("苏州东瑞制药有限公司", ["东瑞制药", "苏州东瑞"]), ("浙江医药股份有限公司新昌制药厂", ["浙江医药新昌", "新昌制药厂"]),
    ("华北制药股份有限公司", ["华北制药", "华北"]), ("山东罗欣药业集团股份有限公司", ["罗欣药业", "山东罗欣"]),
    ("江苏正大丰海制药有限公司", ["正大丰海", "丰海制药"]), ("北京四环制药有限公司", ["四环制药", "北京四环"]),
    ("湖北科益药业股份有限公司", ["科益药业", "湖北科益"]), ("福建海西新药创制有限公司", ["海西新药", "福建海西"]),
    ("安徽贝克生物制药有限公司", ["贝克生物", "安徽贝克"]), ("云南植物药业有限公司", ["植物药业", "云南植物"]),
]
BRANDS = ["立普妥", "可定", "络活喜", "波立维", "格华止", "安博维", "科素亚", "代文", "新络纳", "倍他乐克", "泰嘉", "京必舒"]
DECOYS: list[tuple[str, str, str]] = [
    ("氧氟沙星", "注射液", "100ml:0.2g"), ("阿莫西林克拉维酸钾", "片", "0.375g"), ("头孢呋辛钠", "注射用", "0.75g"),
    ("硝苯地平", "片", "10mg"), ("二甲双胍格列本脲", "片", "0.25g"), ("维生素C", "片", "0.1g"), ("复方甘草", "片", "24片"),
    ("葡萄糖", "注射液", "250ml:12.5g"), ("氯化钠", "注射液", "100ml:0.9g"), ("酒石酸美托洛尔", "片", "25mg"),
    ("布洛芬", "片", "0.2g"), ("奥美拉唑", "肠溶片", "20mg"), ("左氧氟沙星", "片", "0.5g"), ("阿奇霉素", "干混悬剂", "0.1g"),
    ("头孢克洛", "胶囊", "0.25g"), ("盐酸氨溴索", "口服溶液", "100ml:0.6g"), ("氯雷他定", "片", "10mg"),
    ("格列齐特", "缓释片", "30mg"), ("硝酸甘油", "片", "0.5mg"), ("卡托普利", "片", "25mg"), ("螺内酯", "片", "20mg"),
    ("呋塞米", "注射液", "2ml:20mg"), ("地塞米松磷酸钠", "注射液", "1ml:5mg"), ("利巴韦林", "注射液", "1ml:0.1g"),
    ("甲硝唑", "注射液", "100ml:0.5g"), ("阿司匹林", "肠溶片", "100mg"), ("辛伐他汀", "片", "20mg"),
    ("普伐他汀钠", "片", "20mg"), ("厄贝沙坦氢氯噻嗪", "片", "150mg:12.5mg"), ("缬沙坦氨氯地平", "片", "80mg:5mg"),
]
WIDE = {chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)}


def wide(text: str) -> str:
    return "".join(WIDE.get(ch, ch) for ch in text)


_FORM_CODES = {"片": "A001", "缓释片": "A005", "控释片": "A006", "肠溶片": "A003", "咀嚼片": "A009", "胶囊": "B001",
               "肠溶胶囊": "B003", "缓释胶囊": "B005", "软胶囊": "B002", "注射用": "C003", "注射液": "C001", "散": "E001",
               "吸入气雾剂": "F002"}


def national_code(g: int, s: int, m: int) -> str:
    """A 23-character code shaped as the national table's: 类别 X, 分类 (5), 通用名 (4), 剂型 (4),
    规格包装 (6), 企业 (3). Two forms of one generic share the generic-name part."""
    generic, form = GENERICS[g][0], GENERICS[g][1]
    molecule = next(i for i, row in enumerate(GENERICS) if row[0] == generic)
    return f"XC{molecule % 90 + 10:02d}AA" + f"A{molecule:03d}" + _FORM_CODES.get(form, "Z001") + f"{s:02d}0101" + f"{m:03d}"


def _form_name(generic: str, form: str) -> str:
    return f"注射用{generic}" if form == "注射用" else generic + form


def _noisy_name(rng: random.Random, generic: str, form: str) -> str:
    from agent.domain.normalise import split_salt

    base, salt = split_salt(generic)
    g = base if salt and rng.random() < 0.3 else generic
    f = form
    if form == "片" and rng.random() < 0.3:
        f = "片剂"
    elif form == "胶囊" and rng.random() < 0.2:
        f = "胶囊剂"
    elif form == "注射液" and rng.random() < 0.3:
        f = "注射剂"
    name = _form_name(g, f)
    if rng.random() < 0.3:
        name += rng.choice(["(", "（"]) + rng.choice(BRANDS) + rng.choice([")", "）"])
    if rng.random() < 0.1:
        name = "*" + name
    if rng.random() < 0.15:
        name = " " + name + "  "
    return name


def _noisy_spec(rng: random.Random, spec: str, unit: str) -> str:
    n = rng.choice([7, 10, 12, 14, 24, 28, 30, 48])
    variants = [spec, f"{spec}×{n}{unit}", f"{spec}*{n}{unit}/盒"]
    if spec.endswith("mg") and ":" not in spec and "×" not in spec:
        mg = Decimal(spec[:-2])
        variants += [f"{(mg / 1000).normalize():f}g×{n}{unit}", f"{spec}*{n // 2 or 1}{unit}*2板"]
    if spec.endswith("g") and not spec.endswith("mg") and ":" not in spec and "μ" not in spec:
        variants.append(f"{(Decimal(spec[:-1]) * 1000).normalize():f}mg*{n}{unit}")
    if ":" in spec:
        a, b = spec.split(":")
        variants.append(f"{b}:{a}")
    if "μg" in spec:
        variants.append(spec.replace("μg", "ug"))
    out = rng.choice(variants)
    return wide(out) if rng.random() < 0.12 else out


def _times_three(spec: str) -> str:
    import re

    m = re.search(r"\d+(?:\.\d+)?", spec)
    assert m is not None
    return spec[: m.start()] + format((Decimal(m.group(0)) * 3).normalize(), "f") + spec[m.end():]


def _noisy_maker(rng: random.Random, maker: int) -> str:
    full, variants = MAKERS[maker]
    r = rng.random()
    if r < 0.4:
        return full
    if r < 0.85:
        return rng.choice(variants)
    return full.replace("有限公司", "有限公司 ").replace("股份", "(股份)") if r < 0.93 else full.replace("有限公司", "")


Truth = dict[str, tuple[str | None, str | None]]


def noisy_catalogue(seed: int = 20261125) -> tuple[list[WinningProduct], list[LocalItem], Truth]:
    products, items, truth, _, _ = _base(seed)
    return products, items, truth


def _base(seed: int) -> tuple[list[WinningProduct], list[LocalItem], Truth, dict[str, str], random.Random]:
    rng = random.Random(seed)
    products: list[WinningProduct] = []
    winners_of: dict[int, list[tuple[WinningProduct, int, int, str]]] = {}
    for gi, (generic, form, specs, unit) in enumerate(GENERICS):
        makers = rng.sample(range(len(MAKERS)), 2)
        chosen = []
        for si, spec in enumerate(specs):
            for mi in makers[: 1 if len(specs) > 1 else rng.choice([1, 2])]:
                code = national_code(gi, si, mi) if rng.random() < 0.9 else None
                p = WinningProduct(
                    generic_name=_form_name(generic, form) if form == "注射用" else generic,
                    dosage_form="注射剂" if form == "注射用" else form, spec=spec, manufacturer=MAKERS[mi][0],
                    pack=Decimal(rng.choice([7, 10, 14, 28, 30])), smallest_unit=unit, national_code=code,
                    price=Decimal(rng.randint(5, 900)) / 10,
                )
                products.append(p)
                chosen.append((p, si, mi, spec))
        winners_of[gi] = chosen
    items: list[LocalItem] = []
    truth: Truth = {}
    classes: dict[str, str] = {}

    def add(item: LocalItem, product: str | None, group: str | None, cls: str = "名称规格噪声") -> None:
        items.append(item)
        truth[item.code] = (product, group)
        classes[item.code] = cls

    n = 0
    for gi, chosen in winners_of.items():
        generic, form, specs, unit = GENERICS[gi]
        for p, _si, mi, spec in chosen:
            for copy in range(2 if rng.random() < 0.25 else 1):
                n += 1
                code = None
                r = rng.random()
                if p.national_code and r < 0.25:
                    code = p.national_code if r < 0.21 else p.national_code[:-2]  # some HIS codes broken
                his_unit = unit if copy else rng.choice([unit, "盒"])
                given = rng.random() < 0.5
                name, item_spec = _noisy_name(rng, generic, form), _noisy_spec(rng, spec, unit)
                r = rng.random()
                if r < 0.04:
                    item_spec = None  # the HIS lost the spec
                elif r < 0.10:
                    name, item_spec = f"{name.strip()} {item_spec}", None  # the spec is in the name only
                elif given and r < 0.15:
                    name = rng.choice(BRANDS)  # the name is a brand; the generic name is in its own column
                maker = _noisy_maker(rng, mi) if rng.random() > 0.03 else None
                if maker and rng.random() < 0.05 and len(maker) > 2:
                    cut = rng.randrange(1, len(maker) - 1)
                    maker = maker[:cut] + maker[cut + 1:]  # a typo
                add(LocalItem(
                    code=f"Y{n:05d}", name=name,
                    generic_name=(_form_name(generic, form) if form == "注射用" else generic) if given else None,
                    dosage_form=(form if form != "注射用" else "注射剂") if given and rng.random() < 0.7 else None,
                    spec=item_spec, manufacturer=maker, his_unit=his_unit, national_code=code,
                ), p.product_key, p.group_key)
        taken = {mi for _, _, mi, _ in chosen}
        group = chosen[0][0].group_key
        for _ in range(rng.choice([0, 1, 1, 2])):  # non-winning rivals: another maker
            mi = rng.choice([m for m in range(len(MAKERS)) if m not in taken])
            si = rng.randrange(len(specs))
            n += 1
            code = national_code(gi, si, 900 + mi) if rng.random() < 0.2 else None
            add(LocalItem(code=f"Y{n:05d}", name=_noisy_name(rng, generic, form), spec=_noisy_spec(rng, specs[si], unit),
                          manufacturer=_noisy_maker(rng, mi), his_unit=unit, national_code=code), None, group, "非中选他厂")
        if rng.random() < 0.2:  # a winning maker's other strength: non-winning too
            p, si, mi, spec = chosen[0]
            other = _times_three(spec)
            n += 1
            add(LocalItem(code=f"Y{n:05d}", name=_noisy_name(rng, generic, form), spec=other,
                          manufacturer=_noisy_maker(rng, mi), his_unit=unit), None, group, "非中选他厂")
    for generic, form, spec in DECOYS:
        n += 1
        add(LocalItem(code=f"Y{n:05d}", name=_noisy_name(rng, generic, form), spec=spec,
                      manufacturer=_noisy_maker(rng, rng.randrange(len(MAKERS))), his_unit="盒"), None, None, "无关品种")
    return products, items, truth, classes, rng


def consumables() -> tuple[list[WinningProduct], list[LocalItem]]:
    """A few consumables (医用耗材): matched by their 27-character code or by class and maker."""
    products = [
        WinningProduct("冠脉药物洗脱支架", None, "3.0×18mm", "乐普(北京)医疗器械股份有限公司", kind=Kind.CONSUMABLE,
                       national_code="C0201010010000000000000001X", category="冠脉支架", smallest_unit="个"),
        WinningProduct("一次性使用输液器", None, "0.7mm", "山东威高集团医用高分子制品股份有限公司", kind=Kind.CONSUMABLE,
                       national_code="C1404010000000000000000002A", category="输液器", smallest_unit="支"),
    ]
    items = [
        LocalItem(code="H001", name="药物洗脱支架", spec="3.0×18mm", manufacturer="乐普医疗", kind="consumable",
                  national_code="C0201010010000000000000001X", his_unit="个"),
        LocalItem(code="H002", name="一次性输液器", spec="0.7mm", manufacturer="威高", kind="consumable", his_unit="支"),
    ]
    return products, items


# -- the HIS dictionary of a hospital nobody tuned for (issue 17) -------------------------------
# Winning products the old names below need: generic, form, spec, maker index.
OLD_NAME_WINNERS: list[tuple[str, str, str, int]] = [
    ("硝酸异山梨酯", "片", "5mg", 11), ("地西泮", "片", "2.5mg", 12), ("盐酸普萘洛尔", "片", "10mg", 14),
    ("双嘧达莫", "片", "25mg", 13), ("盐酸甲氧氯普胺", "片", "5mg", 24), ("诺氟沙星", "胶囊", "0.1g", 25),
]
# (name as the HIS holds it, its generic row for the truth, spec strength, form cell)
OLD_NAMES: list[tuple[str, str, str, str | None]] = [
    ("扑热息痛片", "对乙酰氨基酚", "0.5g", "片剂"), ("醋氨酚片", "对乙酰氨基酚", "0.5g", None),
    ("心痛定控释片", "硝苯地平", "30mg", None), ("消心痛片", "硝酸异山梨酯", "5mg", "片剂"),
    ("消心痛", "硝酸异山梨酯", "5mg", "片剂"), ("安定片", "地西泮", "2.5mg", "片剂"), ("安定", "地西泮", "2.5mg", "片"),
    ("心得安片", "盐酸普萘洛尔", "10mg", None), ("心得安", "盐酸普萘洛尔", "10mg", "片剂"),
    ("潘生丁片", "双嘧达莫", "25mg", "片剂"), ("胃复安片", "盐酸甲氧氯普胺", "5mg", None),
    ("胃复安", "盐酸甲氧氯普胺", "5mg", "片剂"), ("氟哌酸胶囊", "诺氟沙星", "0.1g", "胶囊剂"),
    ("氟哌酸", "诺氟沙星", "0.1g", "胶囊"), ("扑热息痛", "对乙酰氨基酚", "0.5g", "片剂"),
    ("乙酰水杨酸肠溶片", None, "100mg", "片剂(肠溶)"),  # 阿司匹林肠溶片: no winner, unrelated
    ("心痛定片", None, "10mg", "片剂"),  # 硝苯地平 plain tablets: not the 控释片 group
]
# trade names of originators that won nothing: (HIS name, generic row, strength, form cell, maker)
TRADE_NAMES: list[tuple[str, str, str, str | None, str]] = [
    ("拜新同", "硝苯地平", "30mg", "片剂", "拜耳医药保健有限公司"), ("拜新同", "硝苯地平", "30mg", None, "拜耳医药保健有限公司"),
    ("波立维", "硫酸氢氯吡格雷", "75mg", "片剂", "赛诺菲(杭州)制药有限公司"),
    ("波立维(硫酸氢氯吡格雷片)", "硫酸氢氯吡格雷", "75mg", None, "赛诺菲（杭州）制药有限公司"),
    ("格华止", "盐酸二甲双胍", "0.5g", "片剂", "中美上海施贵宝制药有限公司"),
    ("安博维", "厄贝沙坦", "150mg", "片剂", "赛诺菲(杭州)制药有限公司"), ("代文", "缬沙坦", "80mg", "胶囊剂", "北京诺华制药有限公司"),
    ("科素亚", "氯沙坦钾", "50mg", "片剂", "杭州默沙东制药有限公司"), ("顺尔宁", "孟鲁司特钠", "10mg", "片剂", "杭州默沙东制药有限公司"),
    ("拜唐苹", "阿卡波糖", "50mg", "片剂", "拜耳医药保健有限公司"), ("亚莫利", "格列美脲", "2mg", None, "赛诺菲（北京）制药有限公司"),
    ("思密达", "蒙脱石", "3g", "散剂", "博福-益普生(天津)制药有限公司"), ("拜瑞妥", "利伐沙班", "10mg", "片剂", "拜耳医药保健有限公司"),
    ("开浦兰", "左乙拉西坦", "0.5g", "片剂", "优时比（珠海）制药有限公司"), ("再普乐", "奥氮平", "10mg", "片剂", "礼来苏州制药有限公司"),
    ("来士普", "草酸艾司西酞普兰", "10mg", "片剂", "灵北(北京)医药有限公司"),
    ("欣百达", "盐酸度洛西汀", "30mg", "胶囊剂(肠溶)", "礼来苏州制药有限公司"),
    ("拜复乐", "盐酸莫西沙星", "0.4g", "片剂", "拜耳医药保健有限公司"),
    ("达克普隆", "兰索拉唑", "30mg", "胶囊剂（肠溶）", "天津武田药品有限公司"),
    ("波利特", "雷贝拉唑钠", "10mg", "片剂(肠溶)", "卫材(中国)药业有限公司"), ("安理申", "盐酸多奈哌齐", "5mg", "片剂", "卫材(中国)药业有限公司"),
    ("希罗达", "卡培他滨", "0.5g", "片剂", "上海罗氏制药有限公司"), ("格列卫", "甲磺酸伊马替尼", "0.1g", "片剂", "北京诺华制药有限公司"),
    ("德巴金", "丙戊酸钠", "0.5g", "缓释片剂", "赛诺菲(杭州)制药有限公司"), ("哈乐", "盐酸坦索罗辛", "0.2mg", "胶囊剂(缓释)", "安斯泰来制药(中国)有限公司"),
    ("罗氏芬", "头孢曲松钠", "1.0g", "注射剂(粉针)", "上海罗氏制药有限公司"), ("万托林", "硫酸沙丁胺醇", "100μg×200揿", None, "葛兰素史克"),
    ("复达欣", "头孢他啶", "1.0g", "注射用无菌粉末", "葛兰素史克制药有限公司"),
]
# trade names no table knows: with the HIS's national code the group is still found; without, review
UNKNOWN_TRADE_NAMES: list[tuple[str, str, str, bool]] = [
    ("压氏达", "苯磺酸氨氯地平", "5mg", True), ("络德", "苯磺酸氨氯地平", "5mg", False), ("信谊康", "阿托伐他汀钙", "20mg", True),
    ("优力平", "瑞舒伐他汀钙", "10mg", True), ("泰仪", "硫酸氢氯吡格雷", "75mg", False), ("贝康宁", "厄贝沙坦", "150mg", True),
]
# the form cell as HIS dictionaries and the national tables write it, by the group's form
WRITTEN_FORMS: dict[str, list[str]] = {
    "片": ["片剂", "片剂(薄膜衣)", "薄膜衣片", "普通片剂", "片"], "缓释片": ["片剂(缓释)", "缓释片剂", "片剂（缓释）"],
    "控释片": ["片剂(控释)", "控释片剂"], "肠溶片": ["片剂（肠溶）", "肠溶片剂", "片剂(肠溶)"],
    "咀嚼片": ["片剂(咀嚼)", "咀嚼片剂"], "胶囊": ["胶囊剂", "硬胶囊"], "缓释胶囊": ["胶囊剂(缓释)", "缓释胶囊剂"],
    "肠溶胶囊": ["胶囊剂(肠溶)", "肠溶胶囊剂", "胶囊剂（肠溶）"], "软胶囊": ["胶囊剂(软)", "软胶囊剂"],
    "注射用": ["注射剂(粉针)", "注射用无菌粉末", "冻干粉针", "粉针剂", "注射剂（冻干粉针）"],
    "注射液": ["注射剂", "注射液", "小容量注射剂"], "散": ["散剂"], "吸入气雾剂": ["气雾剂(吸入)", "吸入气雾剂"],
}
EXTRA_UNRELATED: list[tuple[str, str | None, str, str]] = [
    ("维生素B6片", "片剂", "10mg*100片/瓶", "瓶"), ("复方丹参滴丸", "滴丸剂", "27mg*180丸", "瓶"),
    ("甘草酸二铵肠溶胶囊", "胶囊剂(肠溶)", "50mg*24粒", "盒"), ("氯化钾缓释片", "片剂(缓释)", "0.5g*24片", "盒"),
    ("0.9%氯化钠注射液", "大容量注射剂", "250ml:2.25g", "袋"), ("5%葡萄糖注射液", None, "250ml:12.5g/袋", "袋"),
    ("黄连素片", None, "0.1g*100片", "瓶"), ("硝酸甘油片", "片剂", "0.5mg*100片", "瓶"), ("银杏叶片", "片剂(薄膜衣)", "9.6mg*24片", "盒"),
    ("注射用青霉素钠", "注射剂(粉针)", "80万单位/支", "支"), ("头孢拉定胶囊", "胶囊剂", "0.25g*24粒", "盒"),
    ("阿托伐他汀钙胶囊", "胶囊剂", "10mg*7粒", "盒"),  # a winning generic in a form no group has
    ("奥美拉唑肠溶片", "片剂(肠溶)", "20mg*14片", "盒"), ("布洛芬片", "片剂", "0.2g*100片", "瓶"),
]
OWN_BRANDS = {"阿托伐他汀钙": "立普妥", "瑞舒伐他汀钙": "可定", "苯磺酸氨氯地平": "络活喜", "硫酸氢氯吡格雷": "泰嘉",
              "盐酸二甲双胍": "格华止", "厄贝沙坦": "安博维", "氯沙坦钾": "科素亚", "缬沙坦": "代文", "恩替卡韦": "润众"}


def _own_brand(generic: str) -> str:
    """The brand a HIS writes in brackets after the generic name, when the generic has a known one."""
    return f"({OWN_BRANDS[generic]})" if generic in OWN_BRANDS else ""


ORIGINATORS = ["辉瑞制药有限公司", "拜耳医药保健有限公司", "杭州默沙东制药有限公司", "北京诺华制药有限公司"]


def his_dictionary(seed: int = 20261125) -> tuple[list[WinningProduct], list[LocalItem], Truth, dict[str, str]]:
    """The noisy catalogue grown to a real HIS dictionary (400+ items), with the item classes of
    issue 17: forms written HIS-style, blank forms, old names, trade names, HIS national codes.
    Returns the winning products, the items, the truth (product, group) and each item's class."""
    products, items, truth, classes, rng = _base(seed)
    for generic, form, spec, mi in OLD_NAME_WINNERS:
        products.append(WinningProduct(generic, form, spec, MAKERS[mi][0], pack=Decimal(100), smallest_unit="片" if form == "片" else "粒",
                                       national_code=f"XN{len(products) % 90 + 10:02d}AAB{len(products):03d}A0010001010{mi:02d}"[:23]))
    by_generic: dict[str, list[WinningProduct]] = {}
    for p in products:
        by_generic.setdefault(p.generic_name.removeprefix("注射用"), []).append(p)
    n = len(items)

    def add(item: LocalItem, product: str | None, group: str | None, cls: str) -> None:
        items.append(item)
        truth[item.code] = (product, group)
        classes[item.code] = cls

    def code() -> str:
        nonlocal n
        n += 1
        return f"H{n:05d}"

    def winner(generic: str, form: str | None, strength: str, maker: str | None) -> tuple[str | None, str | None]:
        """The truth for an item of this generic, form, strength and maker."""
        group = None
        for p in by_generic.get(generic, []):
            if form is None or p.group_key.endswith("|" + form):
                group = p.group_key
                if maker and manufacturer_core(maker) == manufacturer_core(p.manufacturer) and \
                        strength_similarity(parse_spec(strength), parse_spec(p.spec)) == 1.0:
                    return p.product_key, group
        return None, group

    # forms written HIS-style, in the 剂型 cell; the name with or without its form
    for gi, (generic, form, specs, unit) in enumerate(GENERICS):
        group_form = "注射剂" if form in ("注射用", "注射液") else {"散": "散剂"}.get(form, form)
        if form == "片" and gi % 3:
            continue  # plain tablets are most of the noisy fixture already
        for _copy in range(2 if form != "片" else 1):
            spec = rng.choice(specs)
            ours = rng.random() < 0.4
            maker_i = next(mi for mi in range(len(MAKERS)) if winner(generic, group_form, spec, MAKERS[mi][0])[0]) if ours else None
            maker = MAKERS[maker_i][0] if maker_i is not None else rng.choice(ORIGINATORS)
            base = generic.removeprefix("注射用")
            r = rng.random()
            if form == "注射用":
                name = f"注射用{base}" + rng.choice(["", "(粉针)", "（冻干）"])
            elif r < 0.5:
                name = _form_name(generic, form)
            else:
                name = generic + _own_brand(generic) if form in ("片", "胶囊") else _form_name(generic, form)
            n_pack = rng.choice([7, 10, 14, 24, 28])
            item_spec = f"{spec}*{n_pack}{unit}/盒" if unit in ("片", "粒") else f"{spec}/{unit}"
            add(LocalItem(code(), name, dosage_form=rng.choice(WRITTEN_FORMS[form]), spec=item_spec, manufacturer=maker,
                          his_unit=rng.choice([unit, "盒"]) if unit in ("片", "粒") else unit),
                *winner(generic, group_form, spec, maker), "剂型写法")
    # blank 剂型: the name without its form, the spec and unit say it
    blank = [(g, f, s, u) for g, f, s, u in GENERICS if f in ("片", "胶囊", "注射用", "注射液", "散", "吸入气雾剂", "肠溶胶囊")]
    for generic, form, specs, unit in rng.sample(blank, 30):
        group_form = "注射剂" if form in ("注射用", "注射液") else {"散": "散剂"}.get(form, form)
        spec = specs[0]
        mi = rng.randrange(len(MAKERS))
        base = generic.removeprefix("注射用")
        name = f"注射用{base}" if form == "注射用" else base + rng.choice(["", "", _own_brand(base)])
        n_pack = rng.choice([7, 10, 12, 14, 20, 28])
        item_spec = {"片": f"{spec}*{n_pack}片/盒", "粒": f"{spec}*{n_pack}粒/盒", "袋": f"{spec}*10袋/盒"}.get(unit, f"{spec}/{unit}")
        his_unit = "盒" if unit in ("片", "粒", "袋") else unit
        if form == "肠溶胶囊" and rng.random() < 0.5:
            his_unit = "片"  # the HIS unit contradicts the spec's 粒: review, never a guess
        add(LocalItem(code(), name, spec=item_spec, manufacturer=_noisy_maker(rng, mi), his_unit=his_unit),
            *winner(generic, group_form, spec, MAKERS[mi][0]), "剂型空白")
    # former and colloquial generic names
    for name, generic, strength, cell in OLD_NAMES:
        for ours in (False, True):
            if generic is None and ours:
                continue
            maker_i = None
            if ours and generic:
                maker_i = next((mi for mi in range(len(MAKERS)) if winner(generic, None, strength, MAKERS[mi][0])[0]), None)
            maker = MAKERS[maker_i][0] if maker_i is not None else rng.choice(["华中药业股份有限公司", "天津力生制药股份有限公司",
                                                                                "北京益民药业有限公司", "上海衡山药业有限公司"])
            unit = "粒" if "胶囊" in (cell or "") + name else "片"
            truth_of = winner(generic, None, strength, maker) if generic else (None, None)
            add(LocalItem(code(), name, dosage_form=cell, spec=f"{strength}*{rng.choice([20, 24, 100])}{unit}", manufacturer=maker,
                          his_unit=rng.choice(["盒", "瓶", unit])), *truth_of, "旧称俗称")
    # trade names of originators that won nothing
    for name, generic, strength, cell, maker in TRADE_NAMES:
        form = next(f for g, f, s, _ in GENERICS if g.removeprefix("注射用") == generic and strength in s)
        group_form = "注射剂" if form in ("注射用", "注射液") else {"散": "散剂"}.get(form, form)
        unit = next(u for g, f, s, u in GENERICS if g.removeprefix("注射用") == generic and f == form)
        spec = strength if "揿" in strength else (f"{strength}*{rng.choice([7, 14, 28])}{unit}" if unit in ("片", "粒") else f"{strength}/{unit}")
        add(LocalItem(code(), name, dosage_form=cell, spec=spec, manufacturer=maker, his_unit="盒" if unit in ("片", "粒") else unit),
            *winner(generic, group_form, strength, maker), "商品名")
    for name, generic, strength, with_code in UNKNOWN_TRADE_NAMES:
        gi = next(i for i, row in enumerate(GENERICS) if row[0] == generic and row[1] == "片")
        si = GENERICS[gi][2].index(strength)
        add(LocalItem(code(), name, spec=f"{strength}*{rng.choice([7, 14])}片", manufacturer=rng.choice(["北京赛科药业有限责任公司", "上海现代制药股份有限公司"]),
                      his_unit="盒", national_code=national_code(gi, si, 950) if with_code else None),
            *winner(generic, "片", strength, None), "商品名")
    # national codes in the HIS: another maker's or another strength's code, an old name with its code
    coded = [i for i, (g, f, _, _) in enumerate(GENERICS) if f in ("片", "胶囊", "缓释片", "注射用")]
    for gi in rng.sample(coded, 16):
        generic, form, specs, unit = GENERICS[gi]
        group_form = "注射剂" if form == "注射用" else form
        si = rng.randrange(len(specs))
        strength = specs[si] if rng.random() < 0.5 else _times_three(specs[si])
        add(LocalItem(code(), _noisy_name(rng, generic, form), spec=strength, manufacturer="湖南华纳大药厂股份有限公司",
                      his_unit=unit, national_code=national_code(gi, si + (0 if strength == specs[si] else 7), 960)),
            None, winner(generic, group_form, specs[si], None)[1], "HIS国家代码")
    # a code of the right molecule in a form no group has: 泰诺林 is 对乙酰氨基酚缓释片
    gi = next(i for i, row in enumerate(GENERICS) if row[0] == "对乙酰氨基酚")
    add(LocalItem(code(), "泰诺林", spec="0.65g*18片", manufacturer="上海强生制药有限公司", his_unit="盒",
                  national_code=national_code(gi, 0, 970)[:10] + "A005" + national_code(gi, 0, 970)[14:]), None, None, "HIS国家代码")
    # a HIS code of another molecule on a readable name: the name and the code disagree, review
    wrong = national_code(next(i for i, row in enumerate(GENERICS) if row[0] == "苯磺酸氨氯地平"), 0, 971)
    add(LocalItem(code(), "阿托伐他汀钙片", spec="20mg*7片", manufacturer="湖南华纳大药厂", his_unit="盒", national_code=wrong),
        None, winner("阿托伐他汀钙", "片", "20mg", None)[1], "HIS国家代码")
    for name, cell, spec, his_unit in EXTRA_UNRELATED:
        add(LocalItem(code(), name, dosage_form=cell, spec=spec, manufacturer=_noisy_maker(rng, rng.randrange(len(MAKERS))),
                      his_unit=his_unit), None, None, "无关品种")
    return products, items, truth, classes
