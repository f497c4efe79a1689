"""map check: the groups that look wrong, each for its own reason."""

from __future__ import annotations

from agent.domain.catalogue import WinningProduct
from agent.domain.group_checks import Member, check_groups

ATORVA = WinningProduct("阿托伐他汀钙", "片", "10mg", "北京嘉林药业股份有限公司", national_code="XC10AAA000A001100101001")
ATORVA_20 = WinningProduct("阿托伐他汀钙", "片", "20mg", "浙江京新药业股份有限公司", national_code="XC10AAA000A001200101002")
AMLO_CODE = "XC08CAA012A001050101009"
G = ATORVA.group_key
WINNING = {G: [ATORVA, ATORVA_20]}


def member(code: str, spec: str | None = "10mg", national_code: str | None = None, product: str | None = None,
           group: str = G) -> Member:
    return Member(code, "阿托伐他汀钙片", group, product, national_code, spec)


def test_a_clean_group_has_no_finding() -> None:
    members = [member("Y1", product=ATORVA.product_key, national_code=ATORVA.national_code),
               member("Y2", "20mg*7片", national_code="XC10AAA000A001200101777"), member("Y3", None)]
    assert check_groups(WINNING, members) == []


def test_a_group_with_two_molecules_by_national_code_is_flagged() -> None:
    [f] = check_groups(WINNING, [member("Y1"), member("Y9", national_code=AMLO_CODE)])
    assert (f.kind, f.group_key, f.item_codes) == ("two_molecules", G, ("Y9",))
    assert "两种药物" in f.message and "XC08CAA012" in f.message


def test_a_non_winning_strength_no_winner_has_is_flagged_but_a_winners_strength_is_not() -> None:
    findings = check_groups(WINNING, [member("Y1", "40mg*7片"), member("Y2", "0.02g*7片"),
                                      member("Y3", "40mg", product=ATORVA.product_key)])
    assert [(f.kind, f.item_codes) for f in findings] == [("strength_not_won", ("Y1",))]
    assert "规格40mg" in findings[0].message and "10mg、20mg" in findings[0].message


def test_one_national_code_in_two_groups_is_flagged() -> None:
    code = "XC10AAA000A001100101555"
    findings = check_groups({G: [ATORVA], "阿托伐他汀|胶囊": []},
                            [member("Y1", national_code=code), member("Y2", national_code=code, group="阿托伐他汀|胶囊")])
    assert [(f.kind, f.item_codes) for f in findings] == [("code_in_two_groups", ("Y1", "Y2"))]
