"""Realistic drug and consumable dictionaries (药品字典) for the simulator.

Each generic name has a winning product (中选产品) and a non-winning rival (非中选产品), with
national codes (医保药品分类与代码) shaped like the real ones: 23 characters for drugs, the first
20 naming generic, form and spec, the last 3 the manufacturer; 27 characters starting with C for
consumables.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class SimItem:
    code: str
    name: str
    generic_name: str
    dosage_form: str
    spec: str
    manufacturer: str
    his_unit: str
    pack_factor: Decimal
    national_code: str
    price: Decimal
    winning: bool
    weight: float  # relative daily demand
    registration_no: str | None = None  # consumables: 注册证号

    @property
    def consumable(self) -> bool:
        return self.code.startswith("H")


# generic, form, spec, pack unit, pack factor, class+generic code (9), form+spec code (8),
# winning maker, winning price, rival brand, rival maker, rival price
_GROUPS = [
    ("阿托伐他汀钙片", "片剂", "20mg*7片", "盒", 7, "C10AAA052", "A0010101", "齐鲁制药有限公司", "3.05", "立普妥", "辉瑞制药有限公司", "47.60"),
    ("苯磺酸氨氯地平片", "片剂", "5mg*28片", "盒", 28, "C08CAA019", "A0010102", "扬子江药业集团有限公司", "4.32", "络活喜", "辉瑞制药有限公司", "61.88"),
    ("瑞舒伐他汀钙片", "片剂", "10mg*28片", "盒", 28, "C10AAR107", "A0010103", "鲁南贝特制药有限公司", "5.88", "可定", "阿斯利康制药有限公司", "96.40"),
    ("盐酸二甲双胍片", "片剂", "0.5g*20片", "盒", 20, "A10BAE054", "A0010104", "石药集团欧意药业有限公司", "1.52", "格华止", "中美上海施贵宝制药有限公司", "23.10"),
    ("硫酸氢氯吡格雷片", "片剂", "75mg*7片", "盒", 7, "B01ACL049", "A0010105", "深圳信立泰药业股份有限公司", "11.62", "波立维", "赛诺菲(杭州)制药有限公司", "118.65"),
    ("恩替卡韦片", "片剂", "0.5mg*7片", "盒", 7, "J05AFE110", "A0010106", "正大天晴药业集团股份有限公司", "1.98", "博路定", "中美上海施贵宝制药有限公司", "121.96"),
    ("奥美拉唑肠溶胶囊", "胶囊剂", "20mg*14粒", "盒", 14, "A02BCA013", "B0010107", "湖南华纳大药厂股份有限公司", "2.86", "洛赛克", "阿斯利康制药有限公司", "88.30"),
    ("厄贝沙坦片", "片剂", "0.15g*7片", "盒", 7, "C09CAE042", "A0010108", "浙江华海药业股份有限公司", "1.87", "安博维", "赛诺菲(杭州)制药有限公司", "29.68"),
    ("头孢呋辛酯片", "片剂", "0.25g*12片", "盒", 12, "J01DCT026", "A0010109", "国药集团致君(深圳)制药有限公司", "9.36", "西力欣", "葛兰素史克制药(苏州)有限公司", "43.20"),
    ("注射用头孢曲松钠", "注射剂", "1.0g", "支", 1, "J01DDT041", "C0010110", "上海罗氏制药有限公司", "2.37", "罗氏芬", "上海罗氏制药有限公司", "34.80"),
]
# What a real HIS dictionary also holds (issue 17), each with the group 对码 must give it (None: 非集采)
# and its class: forms as HIS dictionaries write them, a blank 剂型, former or colloquial names,
# trade names alone. Nobody dispenses them in the simulation (weight 0): the dispensing stays as it
# was, and the items still reach 对码 through the HIS dictionary, as unused items of a real one do.
# name, generic name (HIS column), 剂型 (HIS column), spec, maker, unit, factor, national code, price,
# expected group, class
DICTIONARY_NOISE: list[tuple[str, str, str, str, str, str, int, str, str, str | None, str]] = [
    ("阿托伐他汀钙片", "阿托伐他汀钙", "片剂（薄膜衣）", "20mg*14片", "北京嘉林药业股份有限公司", "盒", 14, "", "18.20",
     "阿托伐他汀|片", "剂型写法"),
    ("盐酸二甲双胍缓释片", "盐酸二甲双胍", "片剂(缓释)", "0.5g*30片", "中美上海施贵宝制药有限公司", "盒", 30, "", "32.50",
     None, "剂型写法"),  # no 缓释片 group: never the plain tablets' group
    ("二甲双胍缓释片（格华止）", "", "缓释片剂", "0.5g*30片", "默克制药(江苏)有限公司", "盒", 30, "", "35.00", None, "剂型写法"),
    ("奥美拉唑肠溶胶囊", "奥美拉唑", "胶囊剂(肠溶)", "20mg*14粒", "常州四药制药有限公司", "盒", 14, "", "9.80",
     "奥美拉唑|肠溶胶囊", "剂型写法"),
    ("注射用头孢曲松钠", "头孢曲松钠", "注射用无菌粉末", "1.0g", "深圳立健药业有限公司", "支", 1, "", "4.60",
     "头孢曲松|注射剂", "剂型写法"),
    ("注射用头孢曲松钠(冻干)", "", "冻干粉针", "1.0g/支", "哈药集团制药总厂", "支", 1, "", "4.10", "头孢曲松|注射剂", "剂型写法"),
    ("瑞舒伐他汀钙", "", "", "10mg*7片/盒", "浙江海正药业股份有限公司", "盒", 7, "", "12.60", "瑞舒伐他汀|片", "剂型空白"),
    ("注射用头孢曲松钠", "", "", "1g/支", "山东罗欣药业集团股份有限公司", "支", 1, "", "3.90", "头孢曲松|注射剂", "剂型空白"),
    ("恩替卡韦", "恩替卡韦", "", "0.5mg*28片", "江西青峰药业有限公司", "盒", 28, "", "46.00", "恩替卡韦|片", "剂型空白"),
    ("菌必治", "", "", "1.0g/支", "上海新先锋药业有限公司", "支", 1, "", "5.20", "头孢曲松|注射剂", "旧称俗称"),
    ("甲福明片", "", "片剂", "0.25g*48片", "天津力生制药股份有限公司", "瓶", 48, "", "6.80", "二甲双胍|片",
     "旧称俗称"),  # 0.25g: a strength no winning product has, which `map check` shows the pharmacist
    ("心痛定片", "", "片剂", "10mg*100片", "华中药业股份有限公司", "瓶", 100, "", "3.20", None, "旧称俗称"),
    ("扑热息痛片", "", "片剂", "0.5g*100片", "山东新华制药股份有限公司", "瓶", 100, "", "4.50", None, "旧称俗称"),
    ("可定", "", "片剂", "10mg*7片", "阿斯利康制药有限公司", "盒", 7, "", "52.30", "瑞舒伐他汀|片", "商品名"),
    ("波立维", "", "", "75mg*7片", "赛诺菲(杭州)制药有限公司", "盒", 7, "", "118.65", "氯吡格雷|片", "商品名"),
    ("博路定", "", "片剂", "0.5mg*7片", "中美上海施贵宝制药有限公司", "盒", 7, "", "121.96", "恩替卡韦|片", "商品名"),
    ("西力欣", "", "片剂", "0.25g*12片", "葛兰素史克制药(苏州)有限公司", "盒", 12, "", "43.20", "头孢呋辛酯|片", "商品名"),
    ("拜新同", "", "片剂", "30mg*7片", "拜耳医药保健有限公司", "盒", 7, "", "33.60", None, "商品名"),  # 硝苯地平控释片: no group
]
_CONSUMABLES = [
    ("一次性使用无菌注射器", "注射器", "5ml 带针", "支", 1, "C0301010010000000000000000", "0.27"),
    ("一次性使用输液器", "输液器", "带针 0.7mm", "套", 1, "C0302010020000000000000000", "1.05"),
]


def expected_groups() -> dict[str, tuple[str | None, str]]:
    """Item code -> (the group 对码 must give it, its class) for the items of ``DICTIONARY_NOISE``."""
    noise = [i for i in catalogue() if i.weight == 0.0]
    return {i.code: (row[9], row[10]) for i, row in zip(noise, DICTIONARY_NOISE, strict=True)}


def catalogue(n_items: int | None = None) -> list[SimItem]:
    """The dictionary; ``n_items`` pads it with more products of the same groups (benchmarks)."""
    items: list[SimItem] = []
    for i, (generic, form, spec, unit, factor, cls, formspec, maker, price, brand, rival, rprice) in enumerate(_GROUPS):
        base = f"X{cls}{formspec}"[:20].ljust(20, "0")
        items.append(SimItem(f"Y{i * 2 + 1:05d}", f"{generic} {spec}", generic, form, spec, maker, unit, Decimal(factor),
                             base + "001", Decimal(price), True, 6.0))
        items.append(SimItem(f"Y{i * 2 + 2:05d}", f"{generic}({brand}) {spec}", generic, form, spec, rival, unit,
                             Decimal(factor), base + "002", Decimal(rprice), False, 1.5))
    for j, (name, form, spec, unit, factor, code, price) in enumerate(_CONSUMABLES):
        items.append(SimItem(f"H{j + 1:05d}", f"{name} {spec}", name, form, spec, "山东威高集团医用高分子制品股份有限公司",
                             unit, Decimal(factor), code + "1", Decimal(price), True, 3.0, f"鲁械注准2017{j + 2:07d}"))
    for name, generic, form, spec, maker, unit, factor, code, price, _group, _cls in DICTIONARY_NOISE:
        items.append(SimItem(f"Y{len(items) + 1:05d}", name, generic, form, spec, maker, unit, Decimal(factor), code,
                             Decimal(price), False, 0.0))
    k = 0
    while n_items is not None and len(items) < n_items:
        src = items[k % (len(_GROUPS) * 2)]
        k += 1
        maker_no = 3 + k // (len(_GROUPS) * 2)
        items.append(SimItem(f"Y{len(items) + 1:05d}", f"{src.name}#{maker_no}", src.generic_name, src.dosage_form, src.spec,
                             f"仿制药厂{maker_no:03d}", src.his_unit, src.pack_factor,
                             src.national_code[:20] + f"{maker_no % 1000:03d}", src.price, False, 0.5))
    return items[:n_items] if n_items else items


DEPARTMENTS = [
    ("0101", "心血管内科"), ("0102", "内分泌科"), ("0103", "消化内科"), ("0104", "感染科"), ("0105", "老年病科"),
    ("0201", "普通外科"), ("0301", "急诊科"), ("0401", "神经内科"), ("0501", "呼吸内科"), ("0601", "肾内科"),
]


def departments(n: int | None = None) -> list[tuple[str, str]]:
    depts = list(DEPARTMENTS)
    while n is not None and len(depts) < n:
        depts.append((f"{len(depts) + 1:04d}", f"临床科室{len(depts) + 1:02d}"))
    return depts[:n] if n else depts
