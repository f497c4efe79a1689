"""The regulator's xlsx tables hold the figures computed by hand in monitor_fixture."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from agent.jobs.reporting import annual_report, monthly_report
from agent.reports.annual import write_annual
from agent.reports.monthly import write_monthly
from tests.unit import monitor_fixture as fx


def rows_of(ws, header_row: int = 1) -> list[dict]:
    header = [c.value for c in ws[header_row]]
    out = []
    for row in ws.iter_rows(min_row=header_row + 1, values_only=True):
        if any(v is not None for v in row):
            out.append(dict(zip(header, row, strict=False)))
    return out


def day(v) -> date:
    return v.date() if isinstance(v, datetime) else v


@pytest.fixture(scope="module")
def monthly(tmp_path_factory) -> object:
    report = monthly_report(fx.inputs(), fx.Weekends(), "2028-02", "H001", "测试医院")
    path = write_monthly(report, tmp_path_factory.mktemp("r") / "monthly.xlsx")
    return load_workbook(path)


def test_monthly_summary_counts_products_per_programme_as_the_platform_does(monthly) -> None:
    rows = {r["批次名称"]: r for r in rows_of(monthly["带量执行报表"], header_row=3)}
    ninth = rows[fx.NINTH]
    assert (day(ninth["开始时间"]), day(ninth["结束时间"])) == (date(2028, 1, 1), date(2028, 12, 31))
    assert monthly["带量执行报表"]["B4"].number_format == "yyyy-mm-dd"
    assert ninth["序时进度"] == pytest.approx(60 / 366)  # leap year: 29 February is day 60 of 366
    assert [ninth[k] for k in ("签约产品总数", "零采购产品数", "低于序时进度产品数", "超量采购产品数", "正常采购产品数")] == [4, 1, 1, 1, 1]
    assert ninth["零采购产品占比"] == pytest.approx(0.25)
    assert ninth["总体完成进度"] == pytest.approx(4670 / 41760)
    assert [ninth["对应非中选产品总数"], ninth["采购非中选产品数"]] == [3, 2]
    assert ninth["非中选采购量"] == pytest.approx(110)
    assert ninth["非中选采购金额（元）"] == pytest.approx(520)
    # atorvastatin is behind while its rival 立普妥 is bought, but 100 tablets are not over its 2800
    assert ninth["低于序时进度且非中选超量的产品数"] == 0


def test_an_agreement_year_starting_in_july_counts_only_its_renewed_year(monthly) -> None:
    rows = {r["批次名称"]: r for r in rows_of(monthly["带量执行报表"], header_row=3)}
    alliance = rows[fx.ALLIANCE]
    assert day(alliance["开始时间"]) == date(2027, 7, 1)
    assert alliance["序时进度"] == pytest.approx(244 / 366)
    assert [alliance["签约产品总数"], alliance["正常采购产品数"]] == [1, 1]
    detail = [r for r in rows_of(monthly["产品明细"]) if r["产品编码"] == "B1"]
    assert len(detail) == 1
    assert detail[0]["约定采购量"] == 1200
    assert detail[0]["已采购量"] == pytest.approx(810)  # the 500 of the first year stay there


def test_product_rows_convert_packs_and_net_returns(monthly) -> None:
    detail = {r["产品编码"]: r for r in rows_of(monthly["产品明细"])}
    a1 = detail["A1"]
    assert a1["已采购量"] == pytest.approx(2800)  # 400 boxes of 7 tablets
    assert a1["已采购金额（元）"] == pytest.approx(4000)
    assert a1["完成进度"] == pytest.approx(2800 / 36600)
    assert a1["低于序时进度数量"] == pytest.approx(3200)
    assert a1["剩余约定量"] == pytest.approx(33800)
    assert a1["日均需采购量"] == pytest.approx(33800 / 306)
    assert a1["周均需采购量"] == pytest.approx(33800 / 306 * 7)
    assert a1["预计年末完成率"] == pytest.approx((2800 + 700 / 28 * 306) / 36600)
    assert a1["执行状态"] == "低于序时进度"
    assert detail["A2"]["已采购量"] == pytest.approx(1170)  # a day with more returns than issues
    assert detail["A2"]["执行状态"] == "超量"
    assert detail["A2"]["预计年末完成率"] == pytest.approx(1.17)  # a net return in the recent window projects nothing more
    assert detail["A3"]["执行状态"] == "零采购"
    assert detail["A5"]["执行状态"] == "正常"


def test_product_rows_show_completion_by_acceptance_beside_completion_by_usage(monthly) -> None:
    header = [c.value for c in monthly["产品明细"][1]]
    at = header.index("完成进度")
    assert header[at - 2:at + 3] == ["已采购量", "已采购金额（元）", "完成进度", "已验收", "验收完成进度"]
    detail = {r["产品编码"]: r for r in rows_of(monthly["产品明细"])}
    assert detail["A1"]["已验收"] == pytest.approx(2380)
    assert detail["A1"]["验收完成进度"] == pytest.approx(2380 / 36600)
    assert detail["A1"]["入库单位无法换算（行）"] == 1
    assert detail["A2"]["验收完成进度"] == pytest.approx(1.12)
    assert detail["A5"]["验收完成进度"] == 0
    assert detail["A3"]["已验收"] is None and detail["A3"]["验收完成进度"] is None  # no receipts: left empty
    ws = monthly["产品明细"]
    a1_row = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, header.index("产品编码") + 1).value == "A1")
    assert ws.cell(a1_row, at + 3).number_format == "0.00%"  # 验收完成进度, a percentage like 完成进度


def test_yiyuan_yidang_sheet_holds_the_months_winning_shares(monthly) -> None:
    rows = {r["通用名"]: r for r in rows_of(monthly["一院一档"], header_row=2)}
    g1 = rows["阿托伐他汀钙片"]
    assert g1["中选产品采购量"] == pytest.approx(700)
    assert g1["非中选产品采购量"] == pytest.approx(70)
    assert g1["中选产品数量占比"] == pytest.approx(700 / 770)
    assert g1["中选产品金额占比"] == pytest.approx(1000 / 1350)
    assert g1["采购非中选产品数"] == 1
    assert g1["高价非中选产品"].startswith("立普妥")
    assert g1["完成进度"] == pytest.approx(2800 / 36600)
    assert g1["中选药品使用量占同通用名药品使用量之比（协议年度累计）"] == pytest.approx(2800 / 2900)
    # amlodipine: returns outweigh issues this month, so the share is left empty, not negative
    assert rows["苯磺酸氨氯地平片"]["中选产品数量占比"] is None


def test_monthly_workbook_charts_completion_against_time_progress(monthly) -> None:
    ws = monthly["图表"]
    assert len(ws._charts) == 1
    data = {r["批次名称"]: r for r in rows_of(ws)}
    assert data[fx.NINTH]["序时进度"] == pytest.approx(60 / 366)


def test_annual_report_shows_both_agreement_years_of_a_renewal(tmp_path: Path) -> None:
    report = annual_report(fx.inputs(), fx.Weekends(), 2027, "H001", "测试医院")
    wb = load_workbook(write_annual(report, tmp_path / "annual.xlsx"))
    rows = {r["批次名称"]: r for r in rows_of(wb["执行情况汇总"])}
    first, renewed = rows["省际联盟（2026-07-01起）"], rows["省际联盟（2027-07-01起）"]
    assert first["序时进度"] == pytest.approx(1.0)
    assert first["总体完成进度"] == pytest.approx(0.5)
    assert renewed["序时进度"] == pytest.approx(184 / 366)
    assert renewed["总体完成进度"] == pytest.approx(400 / 1200)
    assert first["低于序时进度产品数"] == renewed["低于序时进度产品数"] == 1
    text = [c.value for c in wb["年度报告"]["A"] if c.value]
    assert text[0] == "加强集采监管工作落实情况报告（2027年度）"
    for heading in ("一、总体进展", "二、具体工作落实情况", "三、存在的问题", "四、下一步打算"):
        assert heading in text
    assert any("2028年1月15日前" in t for t in text)
    assert any("签约产品（协议年度）2 个" in t for t in text)
    (g5,) = rows_of(wb["一院一档（年度）"])  # only the programme running in 2027
    assert g5["中选产品采购量"] == pytest.approx(900)  # calendar year 2027: 500 + 400


def test_annual_report_names_the_drift_between_both_measures_among_the_years_findings(tmp_path: Path) -> None:
    from agent.domain.reporting import drift_findings

    inputs = fx.inputs()
    report = annual_report(inputs, fx.Weekends(), 2028, "H001", "测试医院")
    drift = drift_findings(report.products, datetime(2028, 12, 31, 12, 0), points=0.05)
    assert drift, "the fixture's year ends with both measures apart"
    report = annual_report(inputs, fx.Weekends(), 2028, "H001", "测试医院", findings=drift)
    wb = load_workbook(write_annual(report, tmp_path / "annual.xlsx"))
    text = [c.value for c in wb["年度报告"]["A"] if c.value]
    assert any(f"按验收与按使用完成进度相差过大 {len(drift)} 次" in t for t in text)
    detail = {r["产品编码"]: r for r in rows_of(wb["产品明细"])}
    assert detail["A1"]["已验收"] == pytest.approx(2380 + 350)  # the 50盒 of 1 March (local) count in the year
