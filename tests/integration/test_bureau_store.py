"""The bureau tables' repository on SQLite and PostgreSQL: substitutes, allocations, the annual
report's state, the 医保 upload log and the days the warehouse accepted goods."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from agent.domain.model import Receipt
from agent.domain.uploads import InsuranceUpload
from agent.store import bureau as repo
from agent.store import open_store
from agent.store.receipts import store_lines

NOW = datetime(2028, 3, 8, 1, tzinfo=UTC)
CST = timezone(timedelta(hours=8))


def test_the_bureau_repository_round_trips_on_each_engine(store_url: str) -> None:
    store = open_store(store_url, "H1")
    with store.begin() as conn:
        repo.mark_substitute(conn, "H1", "N3", "G1", "张药师", NOW)
        repo.mark_substitute(conn, "H1", "N3", "G2", "张药师", NOW)  # marked again: moved
        repo.replace_allocations(conn, "H1", "A1", date(2028, 1, 1), "第九批", {"0101": 600, "0201": 400}, "proposed", NOW, None)
        repo.replace_allocations(conn, "H1", "A2", date(2028, 1, 1), "第九批", {"0101": 10}, "sheet", NOW, "李药师")
        repo.record_annual_draft(conn, "H1", 2027, "/r/年度报告.xlsx", NOW)
        calls = [InsuranceUpload(date(2028, 3, d), "3505", f"M{d}", datetime(2028, 3, d, 15, tzinfo=UTC), 5, d != 2, None)
                 for d in (1, 2, 3)]
        repo.replace_uploads(conn, "H1", date(2028, 3, 1), date(2028, 3, 3), calls, NOW)
        repo.replace_uploads(conn, "H1", date(2028, 3, 3), date(2028, 3, 3), calls[2:], NOW)  # re-read: no duplicate
        store_lines(conn, "H1", "wh", [Receipt("L1", NOW, "I1", 1, "盒", None, None, None, datetime(2028, 3, 4, 16, 30, tzinfo=UTC))],
                    NOW)
    with store.begin() as conn:
        assert repo.confirm_allocations(conn, "H1", "李药师", NOW, ["A1"]) == 2
        repo.mark_annual_sent(conn, "H1", 2027, "王主任", NOW)
    with store.read() as conn:
        assert repo.substitutes(conn, "H1") == {"N3": "G2"}
        assert [(a.product_key, a.dept_code, a.quantity, a.confirmed_by) for a in repo.allocations(conn, "H1", True)] == [
            ("A1", "0101", 600, "李药师"), ("A1", "0201", 400, "李药师"), ("A2", "0101", 10, "李药师")]
        state = repo.annual_state(conn, "H1", 2027)
        assert (state["path"], state["sent_by"]) == ("/r/年度报告.xlsx", "王主任")
        got = repo.uploads_between(conn, "H1", date(2028, 3, 1), date(2028, 3, 31))
        assert [(u.business_day.day, u.ok, u.uploaded_at) for u in got] == [
            (1, True, datetime(2028, 3, 1, 15, tzinfo=UTC)), (2, False, datetime(2028, 3, 2, 15, tzinfo=UTC)),
            (3, True, datetime(2028, 3, 3, 15, tzinfo=UTC))]
        assert repo.first_upload_day(conn, "H1") == date(2028, 3, 1)
        assert repo.receipt_days(conn, "H1", date(2028, 3, 1), date(2028, 3, 31), CST) == {date(2028, 3, 5)}
    store.close()
