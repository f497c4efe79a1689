"""对码 on the noisy fixture: the done-when figures, and the decisions behind them."""

from __future__ import annotations

from decimal import Decimal

from agent.domain.catalogue import WinningProduct
from agent.domain.matching import AUTO, NONE, REVIEW, Matcher
from agent.domain.model import LocalItem
from tests.fixtures_catalogue import consumables, noisy_catalogue

ATORVA = WinningProduct("阿托伐他汀钙", "片", "10mg", "北京嘉林药业股份有限公司", pack=Decimal(28), smallest_unit="片")
ATORVA_20 = WinningProduct("阿托伐他汀钙", "片", "20mg", "浙江京新药业股份有限公司", smallest_unit="片",
                           national_code="XC10AAA0001010200001001")


def test_noisy_catalogue_meets_precision_recall_and_top3_targets() -> None:
    products, items, truth = noisy_catalogue()
    assert 110 <= len(products) <= 140 and 280 <= len(items) <= 320
    matcher = Matcher(products)
    props = {item.code: matcher.propose(item) for item in items}
    auto = [c for c, p in props.items() if p.status == AUTO]
    right = [c for c in auto if (props[c].product_key, props[c].group_key) == truth[c]]
    winning = [c for c, (product, _) in truth.items() if product]
    found = [c for c in winning if props[c].status == AUTO and props[c].product_key == truth[c][0]]
    rest = [c for c in winning if c not in found]
    in_top3 = [c for c in rest if truth[c][0] in [x.product_key for x in props[c].candidates[:3]]]
    rivals = [c for c, (product, group) in truth.items() if product is None and group]
    rivals_grouped = [c for c in rivals if props[c].status == AUTO and props[c].group_key == truth[c][1]]
    precision, recall = len(right) / len(auto), len(found) / len(winning)
    top3 = len(in_top3) / len(rest) if rest else 1.0
    print(f"\n对码 noisy fixture: {len(products)} winning products, {len(items)} local items")
    print(f"  auto-accepted {len(auto)}: precision {precision:.3f} ({len(right)}/{len(auto)})")
    print(f"  winning-product items {len(winning)}: recall {recall:.3f} ({len(found)}/{len(winning)})")
    print(f"  rest {len(rest)}: right candidate in top 3 {top3:.3f} ({len(in_top3)}/{len(rest)})")
    print(f"  non-winning rivals {len(rivals)}: grouped automatically {len(rivals_grouped)}")
    assert precision >= 0.99
    assert recall >= 0.85
    assert top3 >= 0.95


def test_a_valid_national_code_in_the_his_matches_exactly() -> None:
    item = LocalItem("1", "立普妥", national_code="xc10aaa0001010200001001")
    p = Matcher([ATORVA, ATORVA_20]).propose(item)
    assert (p.status, p.product_key, p.confidence) == (AUTO, ATORVA_20.product_key, 1.0)
    assert "国家医保代码一致" in p.reason


def test_a_national_code_of_another_maker_puts_the_item_in_the_group_as_non_winning() -> None:
    item = LocalItem("1", "阿托伐他汀钙片", national_code="XC10AAA0001010200001777")
    p = Matcher([ATORVA, ATORVA_20]).propose(item)
    assert (p.status, p.product_key, p.group_key) == (AUTO, None, "阿托伐他汀|片")


def test_a_broken_national_code_falls_back_to_names_and_says_why() -> None:
    item = LocalItem("1", "阿托伐他汀钙片", spec="10mg×28片", manufacturer="嘉林药业", his_unit="盒",
                     national_code="XC10AAA00010102")
    p = Matcher([ATORVA, ATORVA_20]).propose(item)
    assert p.product_key == ATORVA.product_key and p.status == AUTO
    assert "HIS国家代码无效" in p.reason and "23位" in p.reason


def test_name_spec_and_maker_variants_match_with_reasons_and_factor() -> None:
    item = LocalItem("1", "＊阿托伐他汀片剂（立普妥）", spec="0.01g*7片*4板", manufacturer="北京嘉林药业", his_unit="盒")
    p = Matcher([ATORVA, ATORVA_20]).propose(item)
    assert (p.status, p.product_key) == (AUTO, ATORVA.product_key)
    assert "规格一致（10mg）" in p.reason and "剂型一致（片）" in p.reason
    assert (p.factor, p.factor_source) == (Decimal(28), "spec")


def test_the_his_factor_wins_over_the_spec_and_no_factor_is_ever_guessed() -> None:
    m = Matcher([ATORVA])
    given = m.propose(LocalItem("1", "阿托伐他汀钙片", spec="10mg", manufacturer="嘉林", his_unit="盒", pack_factor=Decimal(14)))
    unknown = m.propose(LocalItem("2", "阿托伐他汀钙片", spec="10mg", manufacturer="嘉林", his_unit="盒"))
    assert (given.factor, given.factor_source) == (Decimal(14), "his")
    assert (unknown.factor, unknown.factor_source) == (None, None)


def test_another_maker_of_the_same_generic_is_a_non_winning_group_member() -> None:
    p = Matcher([ATORVA]).propose(LocalItem("1", "阿托伐他汀钙片", spec="10mg", manufacturer="辉瑞制药有限公司"))
    assert (p.status, p.product_key, p.group_key) == (AUTO, None, "阿托伐他汀|片")


def test_a_missing_maker_or_spec_goes_to_review_with_the_right_candidate_first() -> None:
    m = Matcher([ATORVA, ATORVA_20])
    for item in (LocalItem("1", "阿托伐他汀钙片", spec="10mg"), LocalItem("2", "阿托伐他汀钙片", manufacturer="嘉林药业")):
        p = m.propose(item)
        assert p.status == REVIEW
        assert p.candidates[0].product_key == ATORVA.product_key


def test_two_close_winners_of_one_group_are_never_auto_accepted_blindly() -> None:
    twin = WinningProduct("阿托伐他汀钙", "片", "10mg", "嘉林华康药业有限公司")
    p = Matcher([ATORVA, twin]).propose(LocalItem("1", "阿托伐他汀钙片", spec="10mg", manufacturer="嘉林"))
    assert p.status == REVIEW


def test_an_unrelated_drug_is_not_a_vbp_item() -> None:
    p = Matcher([ATORVA]).propose(LocalItem("1", "维生素C片", spec="0.1g", manufacturer="华中药业"))
    assert (p.status, p.product_key, p.group_key) == (NONE, None, None)


def test_a_different_dosage_form_is_no_group_of_the_generic_and_says_so() -> None:
    p = Matcher([ATORVA]).propose(LocalItem("1", "阿托伐他汀钙胶囊", spec="10mg", manufacturer="嘉林"))
    assert (p.status, p.group_key) == (NONE, None)
    assert "剂型为胶囊（中选剂型：片）" in p.reason


def test_consumables_match_by_their_27_character_code_and_not_against_drugs() -> None:
    products, items = consumables()
    m = Matcher([*products, ATORVA])
    assert m.propose(items[0]).product_key == products[0].product_key
    p = m.propose(items[1])
    assert all(c.product_key != ATORVA.product_key for c in p.candidates)
    assert p.candidates[0].product_key == products[1].product_key
