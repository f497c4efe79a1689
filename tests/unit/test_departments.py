"""科室分配: splits from a sheet or proposed from last year's usage, confirmed by the pharmacist;
each department's progress against its share; a department far behind routed to its receiver.

Store fixture (tests/unit/monitor_fixture): A1 atorvastatin, agreed 36600 tablets for 2028, used by
心内科 only (the HIS records that department by its name, as some do): 400 boxes of 7 = 2800 tablets by 29 February. As of 30 June 2028 序时进度 is
182/366 = 49.7%; a department is far behind below 29.7%.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from agent.alerts.config import RouteConfig
from agent.alerts.routing import route_matches
from agent.catalogue.allocations import read_allocations
from agent.cli import main
from agent.clock import DEFAULT_TZ, FakeClock
from agent.domain.alerting import Alert
from agent.domain.departments import propose_split
from agent.errors import DataError
from agent.jobs.departments import check_departments, import_allocations, propose_allocations
from agent.jobs.reporting import write_last_month
from agent.monitoring_config import MonitoringConfig
from agent.store.bureau import allocations, confirm_allocations
from agent.store.dictionaries import replace_departments
from tests.unit.monitor_fixture import Weekends
from tests.unit.store_inputs_loader import store_inputs
from tests.unit.test_monitor_cli import _config

JUNE_30 = FakeClock(datetime(2028, 6, 30, 9, tzinfo=DEFAULT_TZ))


def test_a_proposal_follows_last_years_shares_in_whole_units_that_add_up() -> None:
    assert propose_split(1000, {"0101": 1, "0102": 1, "0103": 1}) == {"0101": 334.0, "0102": 333.0, "0103": 333.0}
    assert propose_split(100, {"0101": 30, "0102": 70, "0103": -5, "": 10}) == {"0101": 30.0, "0102": 70.0}
    assert propose_split(100, {}) == {}


def _sheet(tmp_path: Path, rows: list[list]) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.append(["2028年度 阿托伐他汀 科室分配表"])  # a title above the header, as pharmacies write them
    ws.append(["产品编码", "科室编码", "科室名称", "分配量（片）", "分配比例"])
    for r in rows:
        ws.append(r)
    ws.append(["合计", None, None, 36600])
    path = tmp_path / "科室分配.xlsx"
    wb.save(path)
    return path


def test_the_sheet_gives_quantities_or_shares_and_a_bad_cell_names_row_and_column(tmp_path: Path) -> None:
    rows = read_allocations(_sheet(tmp_path, [["A1", "0101", "心内科", 3000, None], ["A1", "0203", "神经内科", None, "50%"],
                                              ["A1", 301, "老年病科", None, 0.1]]))
    assert [(r.row, r.dept, r.qty, r.share) for r in rows] == [
        (3, "0101", 3000, None), (4, "0203", None, 0.5), (5, "301", None, Decimal("0.1"))]
    with pytest.raises(DataError, match=r"row 3, column D \(分配量\): '三千' is not a number"):
        read_allocations(_sheet(tmp_path, [["A1", "0101", "心内科", "三千", None]]))


def _imported(tmp_path: Path):  # type: ignore[no-untyped-def]
    inputs = store_inputs(tmp_path)
    rows = read_allocations(_sheet(tmp_path, [["A1", "心内科", "心内科", 3000, None], ["A1", "0203", "神经内科", 20000, None]]))
    import_allocations(inputs.store, inputs, JUNE_30, rows, "李药师", "科室分配.xlsx")
    with inputs.store.begin() as conn:
        replace_departments(conn, inputs.hospital, "his", [("心内科", "心血管内科"), ("0203", "神经内科")], JUNE_30.now())
    return inputs


def test_a_department_far_behind_its_share_is_a_finding_its_route_carries(tmp_path: Path) -> None:
    inputs = _imported(tmp_path)
    found = check_departments(inputs.store, inputs, Weekends(), JUNE_30, MonitoringConfig())
    assert [f.subject for f in found] == ["A1@2028-01-01:0203"]  # 心内科 used 2800 of 3000: ahead
    f = found[0]
    assert f.labels["department"] == "0203"
    assert f.values["allocated"] == 20000 and f.values["used"] == 0
    assert f.values["gap"] == pytest.approx(20000 * 182 / 366, abs=0.01)
    assert "神经内科(0203)" in f.title
    alert = Alert(f.key, f.rule, f.subject, str(f.severity), f.title, labels=f.labels)
    assert route_matches(RouteConfig(rules=["dept_*"], departments=["0203"], receivers=["neuro"]), alert)
    assert not route_matches(RouteConfig(rules=["dept_*"], departments=["0101"], receivers=["cardio"]), alert)
    inputs.store.close()


def test_the_product_sheet_shows_each_department_against_its_share(tmp_path: Path) -> None:
    inputs = _imported(tmp_path)
    _, _, path = write_last_month(inputs, Weekends(), date(2028, 7, 1), "H1", "测试医院", MonitoringConfig(),
                                  tmp_path / "reports", inputs.store)
    ws = load_workbook(path)["科室分配进度"]
    rows = {r[4]: r for r in ws.iter_rows(min_row=2, values_only=True)}
    assert rows["心内科"][5:8] == ("心血管内科", 3000, 2800)
    assert rows["心内科"][8] == pytest.approx(2800 / 3000)
    assert rows["心内科"][-1] == "正常"
    assert rows["0203"][-1] == "远低于序时进度"
    assert rows["0203"][9] == pytest.approx(182 / 366)
    inputs.store.close()


def test_a_split_larger_than_the_agreed_volume_or_of_an_unknown_product_is_refused_whole(tmp_path: Path) -> None:
    inputs = store_inputs(tmp_path)
    too_much = read_allocations(_sheet(tmp_path, [["A2", "0101", "", 800, None], ["A2", "0102", "", 300, None]]))
    with pytest.raises(DataError, match="A2: the departments' allocations add up to 1,100, more than the agreed volume 1,000"):
        import_allocations(inputs.store, inputs, JUNE_30, too_much, "李药师", "f.xlsx")
    unknown = read_allocations(_sheet(tmp_path, [["A1", "0101", "", 10, None], ["Z9", "0101", "", 10, None]]))
    with pytest.raises(DataError, match="row 4: 产品编码 Z9 has no agreement year running"):
        import_allocations(inputs.store, inputs, JUNE_30, unknown, "李药师", "f.xlsx")
    with inputs.store.read() as conn:
        assert allocations(conn, inputs.hospital) == []
    inputs.store.close()


def test_a_proposal_from_last_years_usage_is_tracked_only_once_confirmed(tmp_path: Path) -> None:
    inputs = store_inputs(tmp_path)
    clock = FakeClock(datetime(2027, 8, 1, 9, tzinfo=DEFAULT_TZ))  # B1's renewed year started 1 July 2027
    proposed = propose_allocations(inputs.store, inputs, clock)
    assert [(p.product_id, p.year_start, split) for p, split in proposed] == [("B1", date(2027, 7, 1), {"呼吸科": 1200.0})]
    assert check_departments(inputs.store, inputs, Weekends(), clock) == []  # not confirmed: not tracked
    with inputs.store.begin() as conn:
        assert confirm_allocations(conn, inputs.hospital, "李药师", datetime(2027, 8, 1, tzinfo=UTC)) == 1
    with inputs.store.read() as conn:
        (a,) = allocations(conn, inputs.hospital, confirmed_only=True)
    assert (a.dept_code, a.quantity, a.source, a.confirmed_by) == ("呼吸科", 1200, "proposed", "李药师")
    assert propose_allocations(inputs.store, inputs, clock) == []  # a product with a split keeps it
    inputs.store.close()


def test_allocate_commands_import_list_and_confirm(tmp_path: Path, capsys) -> None:
    store_inputs(tmp_path, f"sqlite:///{tmp_path / 'state.db'}", hospital="H001").store.close()
    cfg = _config(tmp_path)
    sheet = _sheet(tmp_path, [["A1", "0101", "心内科", None, "60%"], ["A1", "0203", "神经内科", None, "40%"]])
    assert main(["-c", str(cfg), "allocate", "import", str(sheet), "--by", "李药师"], clock=JUNE_30) == 0
    out = capsys.readouterr().out
    assert "0101 21,960（60.0%）；0203 14,640（40.0%）" in out
    assert main(["-c", str(cfg), "allocate", "list"], clock=JUNE_30) == 0
    assert "已确认（李药师）" in capsys.readouterr().out
    assert main(["-c", str(cfg), "allocate", "confirm", "--by", "李药师"], clock=JUNE_30) == 0
    assert "已确认 0 条" in capsys.readouterr().out
