"""Every column of the bureau's 带量执行报表, against counts computed by hand.

Programme 测试批次, agreement year 2028-01-01..2028-12-31, report for 2028-03 (as of 31 March:
序时进度 91/366 = 24.9%). Per group (winning product / its rivals / substitutes):
  G1 W1 agreed 1000, nothing used (零采购); rival R1 50 units, 100 yuan: over quantity and amount
  G2 W2 agreed 1000, 100 used, 100 yuan (低于序时进度); rival R2 150 units at 0.5: 75 yuan:
     over quantity, not over amount
  G3 W3 agreed 1000, 200 used, 200 yuan (低于序时进度); rival R3 50 units at 10: 500 yuan:
     over amount, not over quantity
  G4 W4 agreed 100, 150 used (超量); rivals R4a, R4b never bought; substitute S4 bought (10, 30 yuan)
  G5 W5 agreed 1000, 400 used, 400 yuan (正常); rival R5 500 units, 1000 yuan: over both;
     substitute S5 never bought; a rival R5x bought only in the agreement year before (2027)
By hand: 签约 5; 零采购 1, 低于序时进度 2, 超量 1, 正常 1; 对应非中选 7 (R1 R2 R3 R4a R4b R5 R5x),
采购非中选 4 (R1 R2 R3 R5); 非中选超量 3 (R1 R2 R5);
非中选超额 3 (R1 R3 R5); 可替代 2, 采购可替代 1; 低于序时进度且非中选超量 2 (W1 and W2: W3's
rival is over amount only, W5 is on time).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from agent.domain.monitoring_model import DailyUsage, GenericGroup, ItemLink, ProductYear
from agent.domain.reporting import SUMMARY_NOTES
from agent.jobs.memory_inputs import InMemoryInputs
from agent.jobs.reporting import monthly_report
from agent.reports.monthly import write_monthly
from tests.unit.monitor_fixture import Weekends
from tests.unit.test_monitor_reports import rows_of

P = "测试批次"
Y = (date(2028, 1, 1), date(2028, 12, 31))


def bureau_inputs() -> InMemoryInputs:
    agreed = {"W1": 1000, "W2": 1000, "W3": 1000, "W4": 100, "W5": 1000}
    products = [ProductYear(w, f"G{w[1]}", f"产品{w}", P, *Y, qty, 1.0) for w, qty in agreed.items()]
    groups = [GenericGroup(f"G{i}", f"通用名{i}", P, (f"W{i}",)) for i in range(1, 6)]
    links = [ItemLink(f"I{w}", f"G{w[1]}", f"产品{w}", w) for w in agreed]
    links += [ItemLink(r, g, f"非中选{r}") for r, g in
              [("R1", "G1"), ("R2", "G2"), ("R3", "G3"), ("R4a", "G4"), ("R4b", "G4"), ("R5", "G5"), ("R5x", "G5")]]
    links += [ItemLink("S4", "G4", "可替代S4", factor=None, substitutable=True),
              ItemLink("S5", "G5", "可替代S5", substitutable=True)]
    d = date(2028, 2, 10)
    usage = [DailyUsage(d, item, qty, amount, "内科") for item, qty, amount in [
        ("IW2", 100, 100), ("IW3", 200, 200), ("IW4", 150, 150), ("IW5", 400, 400),
        ("R1", 50, 100), ("R2", 150, 75), ("R3", 50, 500), ("R5", 500, 1000), ("S4", 10, 30)]]
    usage.append(DailyUsage(date(2027, 12, 20), "R5x", 900, 900, "内科"))  # before the agreement year
    return InMemoryInputs(products, groups, links, usage)


@pytest.fixture(scope="module")
def summary(tmp_path_factory) -> dict:
    report = monthly_report(bureau_inputs(), Weekends(), "2028-03", "H001", "测试医院")
    wb = load_workbook(write_monthly(report, tmp_path_factory.mktemp("b") / "m.xlsx"))
    (row,) = [r for r in rows_of(wb["带量执行报表"], header_row=3) if r["批次名称"] == P]
    return row


def test_product_status_columns_partition_the_signed_products(summary) -> None:
    assert summary["序时进度"] == pytest.approx(91 / 366)
    counts = [summary[k] for k in ("签约产品总数", "零采购产品数", "低于序时进度产品数", "超量采购产品数", "正常采购产品数")]
    assert counts == [5, 1, 2, 1, 1]
    assert summary["低于序时进度产品占比"] == pytest.approx(2 / 5)


def test_non_winning_products_of_the_groups_and_those_bought_this_agreement_year(summary) -> None:
    assert summary["对应非中选产品总数"] == 7
    assert summary["采购非中选产品数"] == 4  # R5x was bought only before the agreement year
    assert summary["采购非中选产品占比"] == pytest.approx(4 / 7)


def test_a_rival_over_quantity_is_counted_apart_from_a_rival_over_amount(summary) -> None:
    assert summary["非中选超量产品数"] == 3  # R1 (its winning product unused), R2, R5
    assert summary["非中选超量产品占比"] == pytest.approx(3 / 7)
    assert summary["非中选超额产品数"] == 3  # R1, R3 (expensive, few units), R5
    assert summary["非中选超额产品占比"] == pytest.approx(3 / 7)


def test_substitutable_products_are_counted_apart_and_never_as_rivals(summary) -> None:
    assert (summary["对应可替代产品总数"], summary["采购可替代产品数"]) == (2, 1)
    assert summary["采购可替代产品占比"] == pytest.approx(0.5)
    assert summary["非中选采购量"] == pytest.approx(50 + 150 + 50 + 500)  # S4's 10 are not a rival's


def test_behind_while_a_rival_is_over_quantity_counts_zero_and_behind_products_only(summary) -> None:
    # W1 (zero, R1 over) and W2 (behind, R2 over); W3 is behind but R3 is over amount only; W5 is on time
    assert summary["低于序时进度且非中选超量的产品数"] == 2
    assert summary["低于序时进度且非中选超量的产品占比"] == pytest.approx(2 / 5)
    assert "低于序时进度且采购非中选产品数" not in summary


def test_the_sheet_prints_each_columns_definition_under_the_table(tmp_path: Path) -> None:
    report = monthly_report(bureau_inputs(), Weekends(), "2028-03", "H001", "测试医院")
    ws = load_workbook(write_monthly(report, tmp_path / "m.xlsx"))["带量执行报表"]
    text = "\n".join(str(c.value) for c in ws["A"] if c.value)
    for line in SUMMARY_NOTES:
        assert line in text
    for term in ("非中选超量产品数", "非中选超额产品数", "对应可替代产品总数", "低于序时进度且非中选超量的产品数"):
        assert any(term in line for line in SUMMARY_NOTES[1:])
