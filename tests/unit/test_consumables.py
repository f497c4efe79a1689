"""Consumables (医用耗材): the 27-character code's parts, 高值/低值, and 对码 by code, 注册证号 and 规格型号."""

from __future__ import annotations

from decimal import Decimal

import pytest

from agent.domain.catalogue import Kind, WinningProduct
from agent.domain.consumables import HIGH, LOW, UNKNOWN, ConsumableCode, classify_value
from agent.domain.matching import AUTO, NONE, REVIEW, Matcher
from agent.domain.model import LocalItem

STENT = "C0201010010100104744000012A"  # 血管介入治疗类: class 02 01 01, 通用名 001, feature 01001, maker 04744, model 000012A
LEPU = "乐普(北京)医疗器械股份有限公司"
MICROPORT = "上海微创医疗器械(集团)有限公司"


def test_a_27_character_code_is_cut_into_class_generic_product_maker_and_model() -> None:
    c = ConsumableCode.parse(" c0201010010100104744000012a ")
    assert c is not None and c.code == STENT
    assert (c.class1, c.classes, c.generic, c.product, c.maker, c.model) == (
        "02", "020101", "C020101001", "C0201010010100104744", "04744", "000012A")


@pytest.mark.parametrize("text", ["", None, "C020101001010010474400001", "X0201010010100104744000012A",
                                  "C0201010010100104744000012*", "C0201010010100104744"])
def test_anything_but_c_and_26_letters_or_digits_is_no_consumable_code(text: str | None) -> None:
    assert ConsumableCode.parse(text) is None


@pytest.mark.parametrize(("code", "price", "value", "source", "says"), [
    (STENT, Decimal("469"), HIGH, "class", "一级分类C02血管介入治疗类材料属高值耗材"),  # under the price line, still high
    ("C1104010000000000000000002A", Decimal("1.05"), LOW, "price", "单价1.05元低于高值线500.00元"),
    ("C1104010000000000000000002A", Decimal("500"), HIGH, "price", "单价500.00元不低于高值线500.00元"),
    (None, Decimal("1200"), HIGH, "price", "单价1200.00元"),
    ("C1104010000000000000000002A", None, UNKNOWN, "none", "一级分类C11未列为高值且无单价"),
    (None, None, UNKNOWN, "none", "无有效27位耗材代码"),
])
def test_high_or_low_value_comes_from_the_class_else_the_price(code, price, value, source, says) -> None:
    got = classify_value(code, price, Decimal(500))
    assert (got.value, got.source) == (value, source) and says in got.reason


def test_a_pharmacists_decision_overrides_class_and_price() -> None:
    got = classify_value(STENT, Decimal(469), Decimal(500), override=LOW, override_by="药学部张三")
    assert (got.value, got.source, got.reason) == (LOW, "review", "人工确认为低值（药学部张三）")


def test_the_hospitals_own_class_table_replaces_the_built_in_one() -> None:
    assert classify_value(STENT, Decimal(10), Decimal(500), high_classes={"08": "眼科材料"}).value == LOW
    assert classify_value("C0801010010000000000000001A", Decimal(10), Decimal(500),
                          high_classes={"08": "眼科材料"}).value == HIGH


# -- 对码 -------------------------------------------------------------------------------------

WINNERS = [
    WinningProduct("药物洗脱冠脉支架系统", None, "3.0×18mm", LEPU, kind=Kind.CONSUMABLE, national_code=STENT,
                   registration_no="国械注准20153130541", smallest_unit="个"),
    WinningProduct("药物洗脱冠脉支架系统", None, "3.5×24mm", LEPU, kind=Kind.CONSUMABLE,
                   national_code="C0201010010100104744000013B", registration_no="国械注准20153130541", smallest_unit="个"),
    WinningProduct("钴基合金雷帕霉素洗脱支架系统", None, None, MICROPORT, kind=Kind.CONSUMABLE,
                   registration_no="国械注准20163130120", smallest_unit="个"),
]


def _item(code: str | None = None, reg: str | None = None, spec: str | None = None, name: str = "冠脉支架") -> LocalItem:
    return LocalItem(code="M1", name=name, spec=spec, manufacturer=LEPU, kind="consumable", his_unit="个",
                     national_code=code, registration_no=reg)


def test_the_whole_27_character_code_maps_to_its_winning_product() -> None:
    p = Matcher(WINNERS).propose(_item(code=STENT))
    assert (p.status, p.product_key, p.reason, p.factor) == (AUTO, STENT, "医保耗材代码（27位）一致", Decimal(1))


def test_the_registration_and_the_spec_model_map_an_item_without_a_code() -> None:
    p = Matcher(WINNERS).propose(_item(reg="国械注准 20153130541", spec="3.5×24mm"))
    assert (p.status, p.product_key) == (AUTO, WINNERS[1].product_key)


def test_a_registration_with_several_spec_models_and_none_that_fits_goes_to_review() -> None:
    p = Matcher(WINNERS).propose(_item(reg="国械注准20153130541", spec="4.0×38mm"))
    assert (p.status, p.product_key, p.group_key) == (REVIEW, None, WINNERS[0].group_key)
    assert "规格型号" in p.reason


def test_a_winning_product_listed_without_spec_models_takes_every_item_of_its_registration() -> None:
    p = Matcher(WINNERS).propose(_item(reg="国械注准20163130120", spec="2.75×15mm"))
    assert (p.status, p.product_key) == (AUTO, WINNERS[2].product_key)


def test_the_same_first_20_characters_with_another_model_code_go_to_review() -> None:
    p = Matcher(WINNERS).propose(_item(code="C0201010010100104744000099Z"))
    assert (p.status, p.product_key, p.group_key) == (REVIEW, None, WINNERS[0].group_key)


def test_another_makers_code_of_the_same_class_and_generic_is_a_rival_in_the_group() -> None:
    p = Matcher(WINNERS).propose(_item(code="C0201010010100100001000001A"))
    assert (p.status, p.product_key, p.group_key) == (AUTO, None, "C|C020101001")


def test_a_code_of_another_class_is_no_vbp_consumable_when_every_winning_consumable_has_its_code() -> None:
    p = Matcher(WINNERS[:2]).propose(_item(code="C1104010000000000000000002A", name="医用脱脂纱布"))
    assert p.status == NONE and p.product_key is None


def test_the_80_percent_line_takes_high_value_and_undecided_consumables_and_leaves_low_value_out() -> None:
    from agent.domain.consumables import ValueRule, online_kind

    rule = ValueRule(Decimal(1000))
    assert online_kind(rule.classify(STENT, Decimal(469))) == "high_value_consumable"  # its class
    assert online_kind(rule.classify(None, None)) == "high_value_consumable"  # undecided: watched, not missed
    assert online_kind(rule.classify("C1104010000000000000000002A", Decimal(999))) is None  # under this hospital's line
    assert online_kind(rule.classify("C1104010000000000000000002A", Decimal(999), override=HIGH)) == "high_value_consumable"
