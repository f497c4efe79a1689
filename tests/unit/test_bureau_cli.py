"""The pharmacy's marks for the bureau's tables, through the CLI and the real store."""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook

from agent.cli import main
from tests.unit.store_inputs_loader import store_inputs
from tests.unit.test_monitor_cli import CLOCK, _config
from tests.unit.test_monitor_reports import rows_of


def _summary(tmp_path: Path, cfg: Path) -> dict:
    out = tmp_path / "m.xlsx"
    assert main(["-c", str(cfg), "report", "monthly", "--month", "2028-02", "--out", str(out)], clock=CLOCK) == 0
    return {r["批次名称"]: r for r in rows_of(load_workbook(out)["带量执行报表"], header_row=3)}["第九批国家集采"]


def test_an_item_marked_substitutable_is_counted_as_such_and_no_longer_as_a_rival(tmp_path: Path, capsys) -> None:
    """(The config names no usage source, so the report counts products, none of them bought.)"""
    store_inputs(tmp_path, f"sqlite:///{tmp_path / 'state.db'}", hospital="H001").store.close()
    cfg = _config(tmp_path)
    before = _summary(tmp_path, cfg)
    assert [before["对应非中选产品总数"], before["对应可替代产品总数"]] == [3, 0]
    # 络活喜 (N3, bought in February) marked as a substitute in the atorvastatin group
    assert main(["-c", str(cfg), "substitutes", "add", "N3", "--group", "G1", "--by", "张药师"]) == 0
    assert main(["-c", str(cfg), "substitutes", "list"]) == 0
    assert ["N3", "G1"] in [line.split() for line in capsys.readouterr().out.splitlines()]
    after = _summary(tmp_path, cfg)
    assert [after["对应非中选产品总数"], after["对应可替代产品总数"]] == [2, 1]
    assert main(["-c", str(cfg), "substitutes", "remove", "N3"]) == 0
    assert _summary(tmp_path, cfg)["对应可替代产品总数"] == 0


def test_a_mark_for_an_unknown_group_is_refused(tmp_path: Path, capsys) -> None:
    store_inputs(tmp_path, f"sqlite:///{tmp_path / 'state.db'}", hospital="H001").store.close()
    assert main(["-c", str(_config(tmp_path)), "substitutes", "add", "N3", "--group", "不存在的药", "--by", "张药师"]) == 1
    assert "不是已知的集采分组" in capsys.readouterr().err


def test_the_store_links_a_substitute_to_the_group_it_was_marked_for_with_its_usage(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from agent.jobs.reporting import monthly_report
    from agent.store.bureau import mark_substitute
    from tests.unit.monitor_fixture import Weekends

    inputs = store_inputs(tmp_path)
    with inputs.store.begin() as conn:
        mark_substitute(conn, inputs.hospital, "N3", "G1", "张药师", datetime(2028, 3, 1, tzinfo=UTC))
        mark_substitute(conn, inputs.hospital, "I2", "G1", "张药师", datetime(2028, 3, 1, tzinfo=UTC))  # a winning product
    links = {lk.item_code: lk for lk in inputs.item_links()}
    assert (links["N3"].group_id, links["N3"].substitutable) == ("G1", True)
    assert (links["I2"].product_id, links["I2"].substitutable) == ("A2", False)
    shares = {g.group.group_id: g for g in monthly_report(inputs, Weekends(), "2028-02", "H1", "h").year_shares}
    assert (shares["G1"].non_winning_items, shares["G1"].non_winning_used) == (2, 1)
    assert (shares["G1"].substitutable_items, shares["G1"].substitutable_used) == (1, 1)
    assert shares["G2"].non_winning_items == 0
    inputs.store.close()
