"""A hospital group's agents on one store: each records its programme figures; ``report group`` reads
them side by side."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from agent.calendar import WorkCalendar
from agent.cli import main
from agent.clock import FakeClock
from agent.jobs.group import snapshot
from agent.store.schema.ingest import usage_daily
from tests.unit import monitor_fixture as fx
from tests.unit.store_inputs_loader import store_inputs

DAY = datetime(2028, 2, 20, 9, 0, tzinfo=UTC)
CAL = WorkCalendar(assume_weekends_for=[2027, 2028])


def _config(tmp_path: Path, store_url: str) -> Path:
    cfg = tmp_path / "agent.toml"
    cfg.write_text(f'[hospital]\ncode = "H001"\nname = "第一医院"\n[state]\ndirectory = "{tmp_path}"\n'
                   f'url = "{store_url}"\n[calendar]\nassume_weekends_for = [2027, 2028]\n', encoding="utf-8")
    return cfg


def test_each_hospital_of_a_shared_store_is_shown_with_its_own_figures(store_url: str, tmp_path: Path, capsys) -> None:
    first = store_inputs(tmp_path, store_url, hospital="H001")
    second = store_inputs(tmp_path, store_url, hospital="H002")
    with second.store.begin() as tx:  # the second hospital has used nothing yet
        tx.execute(usage_daily.delete().where(usage_daily.c.hospital_code == "H002"))
    late = store_inputs(tmp_path, store_url, hospital="H003")
    assert snapshot(first.store, first, CAL, FakeClock(DAY), "第一医院") == 2
    assert snapshot(second.store, second, CAL, FakeClock(DAY), "第二医院") == 2
    snapshot(late.store, late, CAL, FakeClock(datetime(2028, 2, 3, 9, 0, tzinfo=UTC)), "第三医院")
    snapshot(late.store, late, CAL, FakeClock(datetime(2028, 1, 30, 9, 0, tzinfo=UTC)), "第三医院")  # January: not shown
    for s in (first, second, late):
        s.store.close()

    out = tmp_path / "group.xlsx"
    code = main(["-c", str(_config(tmp_path, store_url)), "report", "group", "--month", "2028-02", "--out", str(out)],
                clock=FakeClock(DAY))
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "3 家医院，6 行" in printed and "超过 2 天未更新：H003" in printed
    rows = [r for r in load_workbook(out)["集团汇总"].iter_rows(min_row=4, values_only=True)]
    by = {(r[0], r[2]): r for r in rows}
    assert set(by) == {(h, p) for h in ("H001", "H002", "H003") for p in (fx.NINTH, fx.ALLIANCE)}
    assert by[("H001", fx.NINTH)][6] == 4 and by[("H001", fx.ALLIANCE)][6] == 1  # 签约产品总数
    assert by[("H002", fx.NINTH)][7] == 4  # nothing used: every product at zero
    assert by[("H001", fx.NINTH)][7] < 4 and by[("H001", fx.NINTH)][5] > 0  # 零采购, 总体完成进度
    assert by[("H002", fx.NINTH)][5] == 0
    assert by[("H003", fx.NINTH)][3] == "2028-02-03"  # its latest day within the month
    assert by[("H001", fx.NINTH)][3] == "2028-02-20"


def test_a_month_nobody_recorded_says_why(store_url: str, tmp_path: Path, capsys) -> None:
    store_inputs(tmp_path, store_url, hospital="H001").store.close()
    code = main(["-c", str(_config(tmp_path, store_url)), "report", "group", "--month", "2028-02"], clock=FakeClock(DAY))
    assert code == 1
    assert "没有任何医院的记录" in capsys.readouterr().out


@pytest.mark.parametrize("month", ["2028-2", "02-2028"])
def test_a_malformed_month_is_refused(store_url: str, tmp_path: Path, month: str) -> None:
    assert main(["-c", str(_config(tmp_path, store_url)), "report", "group", "--month", month]) == 2
