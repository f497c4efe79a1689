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
from agent.jobs.evaluate import evaluate
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
    evaluate(first.store, first, CAL, FakeClock(DAY), None, "第一医院")  # the daemon records them as it evaluates
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


def test_the_console_group_page_shows_each_hospital_side_by_side(store_url: str, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import re
    import warnings

    from agent.bootstrap import build, build_monitoring_inputs
    from agent.config import load_config
    from agent.console.app import create_app
    from agent.console.views import Console

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    first = store_inputs(tmp_path, store_url, hospital="H001")
    second = store_inputs(tmp_path, store_url, hospital="H002")
    with second.store.begin() as tx:
        tx.execute(usage_daily.delete().where(usage_daily.c.hospital_code == "H002"))
    late = store_inputs(tmp_path, store_url, hospital="H003")
    snapshot(first.store, first, CAL, FakeClock(DAY), "第一医院")
    snapshot(second.store, second, CAL, FakeClock(DAY), "第二医院")
    snapshot(late.store, late, CAL, FakeClock(datetime(2028, 2, 3, 9, 0, tzinfo=UTC)), "第三医院")
    for s in (first, second, late):
        s.store.close()
    cfg = _config(tmp_path, store_url)
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert main(["-c", str(cfg), "users", "add", "wang", "--role", "viewer"], clock=FakeClock(DAY)) == 0
    rt = build(load_config(cfg), FakeClock(DAY))
    try:
        client = TestClient(create_app(Console(rt, build_monitoring_inputs(rt))))
        csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
        client.post("/login", data={"username": "wang", "password": "a long enough password", "csrf": csrf, "next": "/"})
        page = client.get("/group", params={"month": "2028-02"})
        assert page.status_code == 200
        text = re.sub(r"<[^>]+>", " ", page.text)
        for name in ("第一医院", "第二医院", "第三医院"):
            assert name in text
        assert "超过 2 天未更新：H003" in text
        assert text.count(fx.NINTH) >= 3 and "本院" in text
        rows = re.findall(r"<tr[^>]*>(.*?)</tr>", page.text, re.S)
        second_rows = [r for r in rows if "第二医院" in r]
        assert second_rows and "0.0%" in second_rows[0]  # nothing used: its completion is zero
        # a month nobody recorded says why; a month in the future falls back to this month
        assert "没有任何医院的记录" in client.get("/group", params={"month": "2027-06"}).text
        assert "集团汇总 2028-02" in client.get("/group", params={"month": "2031-01"}).text
    finally:
        rt.close()
