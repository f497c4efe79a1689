"""The 医保 进销存 upload clock: each business day's purchase (3503) and sale (3505) uploads against
the province's deadline (here the default: the next day, 23:59, Asia/Shanghai)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path

from openpyxl import load_workbook

from agent.clock import DEFAULT_TZ, FakeClock
from agent.domain.model import BadRow, Receipt
from agent.domain.uploads import InsuranceUpload, UploadRules, day_statuses, late_days, upload_findings
from agent.jobs.reporting import write_last_month
from agent.jobs.uploads import check_uploads, read_upload_log, watch_uploads
from agent.monitoring_config import MonitoringConfig, UploadConfig
from agent.store import open_store
from agent.store.receipts import store_lines
from tests.unit import monitor_fixture as fx

TZ = DEFAULT_TZ


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2028, 3, day, hour, minute, tzinfo=TZ)


def call(day: int, interface: str, sent: datetime, ok: bool = True, n: str = "1", message: str | None = None) -> InsuranceUpload:
    return InsuranceUpload(date(2028, 3, day), interface, f"{interface}-{day}-{n}", sent, 10, ok, message)


CALLS = [
    call(1, "3505", at(1, 23, 30)),  # on the day: ok
    call(2, "3505", at(3, 23, 59)),  # the last minute of the deadline: ok
    call(3, "3505", at(5, 8)),  # after the deadline (4 March 23:59): late
    call(4, "3505", at(4, 22), ok=False, message="库存数量不能为负"),  # failed, never fixed: error
    call(5, "3505", at(5, 22), ok=False, message="超时"), call(5, "3505", at(6, 1), n="2"),  # retried in time: ok
    call(1, "3503", at(2, 10)),
]


def test_each_business_day_gets_one_status_against_the_deadline() -> None:
    due = {"3505": [date(2028, 3, d) for d in range(1, 8)], "3503": [date(2028, 3, 1), date(2028, 3, 6)]}
    statuses = day_statuses(due, CALLS, UploadRules(), at(8, 9), TZ)
    got = {(s.interface, s.day.day): s.status for s in statuses}
    assert got == {("3503", 1): "ok", ("3503", 6): "missing", ("3505", 1): "ok", ("3505", 2): "ok", ("3505", 3): "late",
                   ("3505", 4): "error", ("3505", 5): "ok", ("3505", 6): "missing", ("3505", 7): "pending"}
    assert late_days(statuses) == {"3503": 1, "3505": 3}  # late, error, missing
    found = {f.subject: f for f in upload_findings(statuses, at(8, 9))}
    assert sorted(found) == ["3503:2028-03-06", "3505:2028-03-04", "3505:2028-03-06"]
    assert "上传失败：库存数量不能为负" in found["3505:2028-03-04"].title
    assert "未上传" in found["3505:2028-03-06"].title and "截止 2028-03-07 23:59" in found["3505:2028-03-06"].title


def test_a_province_with_a_same_day_deadline_makes_the_evening_upload_late() -> None:
    rules = UploadRules(deadline_days=0, deadline_time=time(18, 0))
    (s,) = day_statuses({"3505": [date(2028, 3, 1)]}, [call(1, "3505", at(1, 23, 30))], rules, at(2, 9), TZ)
    assert s.status == "late"


class FakeLog:
    """The HIS's 医保 interface log: calls, and one row the adapter could not read."""

    name = "his"

    def __init__(self, calls: list[InsuranceUpload]) -> None:
        self.calls = calls

    def read_insurance_uploads(self, day_from: date, day_to: date):  # type: ignore[no-untyped-def]
        yield from (c for c in self.calls if day_from <= c.business_day <= day_to)
        yield BadRow("insurance_upload", "2028-03-02|3505|", "cannot convert: no interface, call id or time", {})


def test_the_clock_reads_the_log_flags_open_days_and_the_monthly_report_counts_late_ones(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 's.db'}", "H1")
    clock = FakeClock(at(7, 12))
    # goods accepted on 1 and 6 March (local days; 5 March 16:30 UTC is 6 March 00:30 in the hospital)
    receipt = fx.receipts()[0]
    with store.begin() as conn:
        for i, t in enumerate([datetime(2028, 3, 1, 2, tzinfo=UTC), datetime(2028, 3, 5, 16, 30, tzinfo=UTC)]):
            store_lines(conn, "H1", "wh", [Receipt(f"L{i}", t, receipt.item_code, receipt.quantity, "盒", None, None,
                                                       None, t)], t)
    assert read_upload_log(store, FakeLog(CALLS), clock, 35) == (len(CALLS), 1)
    found = check_uploads(store, clock, UploadRules(), 35)
    # the clock starts on 1 March (the log's first day); 3503 is due on 1 and 6 March only; 6 March is not due yet
    assert sorted(f.subject for f in found) == ["3505:2028-03-04"]
    clock.set(at(9, 9))  # 6 March uploaded late; 4 March re-sent late; 7 March missed
    fixed = [*CALLS, call(6, "3505", at(8, 8)), call(4, "3505", at(8, 8), n="2"), call(6, "3503", at(8, 8))]
    found = watch_uploads(store, FakeLog(fixed), clock, UploadConfig())
    assert sorted(f.subject for f in found) == ["3505:2028-03-07"]
    clock.set(datetime(2028, 4, 1, 7, tzinfo=TZ))
    _, rep, path = write_last_month(fx.inputs(), fx.Weekends(), date(2028, 4, 1), "H1", "测试医院", MonitoringConfig(),
                                    tmp_path / "r", store, clock)
    # 3, 4, 6 late; 7..30 March never uploaded; 31 March is still due until 1 April 23:59 (not counted)
    assert late_days(rep.uploads) == {"3503": 1, "3505": 27}
    ws = load_workbook(path)["进销存上传"]
    counts = {r[0]: r[1:3] for r in ws.iter_rows(min_row=3, max_row=4, values_only=True)}
    assert counts == {"3503 商品采购": (2, 1), "3505 商品销售": (31, 27)}
    store.close()
    days = [r for r in load_workbook(path)["进销存上传"].iter_rows(min_row=7, values_only=True) if r[0]]
    assert days[0][1:6] == ("3503 商品采购", "迟报", "2028-03-07 23:59", "2028-03-08 08:00", 10)
