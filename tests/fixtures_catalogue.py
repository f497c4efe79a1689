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


def noisy_catalogue(seed: int = 20261125) -> tuple[list[WinningProduct], list[LocalItem], dict[str, tuple[str | None, str | None]]]:
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
    truth: dict[str, tuple[str | None, str | None]] = {}

    def add(item: LocalItem, product: str | None, group: str | None) -> None:
        items.append(item)
        truth[item.code] = (product, group)

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
                if maker and rng.random() < 0.05:
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
                          manufacturer=_noisy_maker(rng, mi), his_unit=unit, national_code=code), None, group)
        if rng.random() < 0.2:  # a winning maker's other strength: non-winning too
            p, si, mi, spec = chosen[0]
            other = _times_three(spec)
            n += 1
            add(LocalItem(code=f"Y{n:05d}", name=_noisy_name(rng, generic, form), spec=other,
                          manufacturer=_noisy_maker(rng, mi), his_unit=unit), None, group)
    for generic, form, spec in DECOYS:
        n += 1
        add(LocalItem(code=f"Y{n:05d}", name=_noisy_name(rng, generic, form), spec=spec,
                      manufacturer=_noisy_maker(rng, rng.randrange(len(MAKERS))), his_unit="盒"), None, None)
    return products, items, truth


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
