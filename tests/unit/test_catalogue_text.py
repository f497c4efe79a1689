"""Normalisation, spec parsing, national codes and agreement years (pure domain)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from agent.domain.catalogue import Kind, Level, Programme, WinningProduct, national_code_problem
from agent.domain.normalise import clean, form_class, manufacturer_core, manufacturer_similarity, parse_generic
from agent.domain.spec import factor_to_smallest, parse_spec, strength_similarity


def test_full_width_digits_letters_and_brackets_become_half_width() -> None:
    assert clean("　１０ｍｇ（立普妥）  ×２８片 ") == "10mg(立普妥) ×28片"


@pytest.mark.parametrize(("name", "base", "salt", "form"), [
    ("盐酸二甲双胍缓释片", "二甲双胍", "盐酸", "缓释片"),
    ("硫酸氢氯吡格雷片", "氯吡格雷", "硫酸氢", "片"),
    ("阿托伐他汀钙片(立普妥)", "阿托伐他汀", "钙", "片"),
    ("注射用头孢曲松钠", "头孢曲松", "钠", "注射剂"),
    ("左氧氟沙星注射液", "左氧氟沙星", "", "注射剂"),
    ("阿奇霉素片", "阿奇霉素", "", "片"),
    ("氯化钠注射液", "氯化钠", "", "注射剂"),
    ("硫酸镁注射液", "硫酸镁", "", "注射剂"),
    ("葡萄糖酸钙注射液", "葡萄糖酸钙", "", "注射剂"),
])
def test_generic_names_split_into_base_salt_and_form(name: str, base: str, salt: str, form: str) -> None:
    g = parse_generic(name)
    assert (g.base, g.salt, g.form) == (base, salt, form)


def test_dosage_form_synonyms_share_one_class() -> None:
    assert form_class("片剂") == form_class("片") == form_class("薄膜衣片") == "片"
    assert form_class("注射液") == form_class("注射剂") == form_class("注射用无菌粉末") == "注射剂"
    assert form_class("缓释片") != form_class("片")


def test_manufacturer_suffixes_and_regions_are_normalised() -> None:
    assert manufacturer_core("浙江华海药业股份有限公司") == manufacturer_core("华海药业") == "华海"
    assert manufacturer_core("石药集团欧意药业有限公司") == manufacturer_core("石药欧意")
    assert manufacturer_similarity("扬子江药业集团有限公司", "扬子江") == 1.0
    assert manufacturer_similarity("浙江华海药业股份有限公司", "华北制药股份有限公司") < 0.6


@pytest.mark.parametrize(("a", "b"), [
    ("10mg×28片", "0.01g*7片*4板"), ("0.1g:10ml", "10ml:0.1g"), ("20μg", "20ug"), ("20ug", "0.02mg"),
    ("１０ｍｇ", "10毫克"), ("5ml:0.5g", "500mg:5ml"),
])
def test_specs_with_different_units_and_order_have_the_same_strength(a: str, b: str) -> None:
    assert strength_similarity(parse_spec(a), parse_spec(b)) == 1.0


def test_different_strengths_do_not_match() -> None:
    assert strength_similarity(parse_spec("10mg"), parse_spec("20mg")) == 0.0
    assert strength_similarity(parse_spec("0.5g"), parse_spec("5ml:0.5g")) == 0.8


@pytest.mark.parametrize(("unit", "spec", "smallest", "factor"), [
    ("盒", "10mg×28片", None, Decimal(28)), ("盒", "10mg*7片*4板", None, Decimal(28)), ("板", "10mg*7片*4板", None, Decimal(7)),
    ("片", "10mg×28片", None, Decimal(1)), ("支", "0.1g:10ml", "支", Decimal(1)), ("瓶", "0.25g*100片/瓶", None, Decimal(100)),
    ("盒", "0.1g:10ml", "支", None), ("盒", "0.25g*100片/瓶", None, None), (None, "10mg×28片", None, None),
])
def test_factor_from_his_unit_is_derived_only_when_the_spec_says_it(unit, spec, smallest, factor) -> None:  # type: ignore[no-untyped-def]
    assert factor_to_smallest(unit, parse_spec(spec), smallest) == factor


@pytest.mark.parametrize(("code", "kind", "ok"), [
    ("XC10AAA0001010100001001", Kind.DRUG, True), ("XC10AAA000101010000100", Kind.DRUG, False),
    ("ZA01AAA0001010100001", Kind.DRUG, True), ("ZA01AAA000101010000", Kind.DRUG, False),
    ("C0201010010000000000000001X", Kind.CONSUMABLE, True), ("C020101001000000000000001X", Kind.CONSUMABLE, False),
    ("XC10AAA00010101000010-1", Kind.DRUG, False),
])
def test_national_codes_are_validated_by_length_and_alphabet(code: str, kind: Kind, ok: bool) -> None:
    assert (national_code_problem(code, kind) is None) is ok


def test_agreement_years_run_from_the_cycle_start_not_from_january() -> None:
    p = Programme("第七批", Kind.DRUG, Level.NATIONAL, date(2022, 11, 1), date(2025, 10, 31))
    years = p.agreement_years()
    assert [(y.number, y.start, y.end) for y in years] == [
        (1, date(2022, 11, 1), date(2023, 10, 31)), (2, date(2023, 11, 1), date(2024, 10, 31)),
        (3, date(2024, 11, 1), date(2025, 10, 31))]
    assert p.year_covering(date(2024, 1, 15)).number == 2  # type: ignore[union-attr]
    assert p.year_covering(date(2025, 11, 1)) is None


def test_an_extension_adds_a_shorter_last_year() -> None:
    p = Programme("联盟", Kind.DRUG, Level.ALLIANCE, date(2023, 4, 1), date(2024, 3, 31), extensions=(date(2024, 12, 31),))
    assert [(y.number, y.start, y.end) for y in p.agreement_years()] == [
        (1, date(2023, 4, 1), date(2024, 3, 31)), (2, date(2024, 4, 1), date(2024, 12, 31))]


def test_product_key_is_the_national_code_or_the_four_same_fields() -> None:
    a = WinningProduct("阿托伐他汀钙", "片", "10mg", "北京嘉林药业股份有限公司")
    b = WinningProduct("阿托伐他汀钙片", "片剂", "0.01g", "嘉林药业")
    assert a.product_key == b.product_key and a.group_key == b.group_key == "阿托伐他汀|片"
    assert WinningProduct("x", "片", "1mg", "y", national_code="XC10AAA0001010100001001").product_key == "XC10AAA0001010100001001"


def test_a_group_reads_as_staff_say_it_never_as_its_key() -> None:
    from agent.domain.catalogue import group_label

    assert group_label("阿托伐他汀|片", "阿托伐他汀钙片") == "阿托伐他汀（片）"
    assert group_label("头孢曲松|注射剂", "注射用头孢曲松钠") == "头孢曲松（注射剂）"
    assert group_label("某药|", "某药") == "某药"  # no dosage form in the key
    assert group_label("C|C020101001", "药物洗脱冠脉支架系统") == "药物洗脱冠脉支架系统（C020101001）"  # by its code's class
    assert group_label("C|钴基合金雷帕霉素洗脱支架系统", "钴基合金雷帕霉素洗脱支架系统") == "钴基合金雷帕霉素洗脱支架系统"
