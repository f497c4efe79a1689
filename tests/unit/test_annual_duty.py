"""The annual report's clock: drafted on January's first working day, reminded from 1 January,
again 3 working days before 15 January, until a person marks it sent."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import select

from agent.calendar import WorkCalendar
from agent.cli import main
from agent.clock import DEFAULT_TZ, FakeClock
from agent.domain.annual_duty import RULE_ANNUAL, annual_duty
from agent.jobs.annual import annual_report_duty, mark_sent
from agent.monitoring_config import MonitoringConfig
from agent.store import open_store
from agent.store.schema.core import findings
from tests.unit import monitor_fixture as fx


def test_the_first_working_day_of_january_2026_is_the_adjusted_sunday_4_january() -> None:
    duty = annual_duty(2025, WorkCalendar())  # 元旦 1-3 January 2026 off, Sunday 4 January worked (调休)
    assert duty.due == date(2026, 1, 15)
    assert duty.draft_on == date(2026, 1, 4)
    assert duty.final_reminder_on == date(2026, 1, 12)  # Mon 12, Tue 13, Wed 14 before Thursday 15


def test_a_holiday_among_the_three_days_moves_the_second_reminder_earlier() -> None:
    cal = WorkCalendar(extra_holidays=[date(2027, 1, 1), date(2027, 1, 13)], assume_weekends_for=[2027])
    duty = annual_duty(2026, cal)
    assert duty.draft_on == date(2027, 1, 4)  # Friday 1 January off, then the weekend
    assert duty.final_reminder_on == date(2027, 1, 11)  # Thu 14, Tue 12, Mon 11 (Wed 13 off)


def _active(store) -> dict[str, str]:
    with store.read() as conn:
        rows = conn.execute(select(findings.c.subject, findings.c.severity).where(
            findings.c.rule == RULE_ANNUAL, findings.c.active == 1)).all()
    return dict(rows)


def _run_days(store, clock: FakeClock, first: date, last: date, reports: Path) -> dict[date, dict[str, str]]:
    seen = {}
    day = first
    while day <= last:
        clock.set(datetime.combine(day, time(8, 5), DEFAULT_TZ))
        annual_report_duty(store, fx.inputs(), WorkCalendar(), clock, "测试医院", MonitoringConfig(), reports)
        seen[day] = _active(store)
        day += timedelta(days=1)
    return seen


def test_the_daemon_drafts_then_reminds_twice_then_calls_it_overdue_until_sent(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 's.db'}", "H001")
    clock = FakeClock(datetime(2025, 12, 31, 8, tzinfo=DEFAULT_TZ))
    reports = tmp_path / "reports"
    seen = _run_days(store, clock, date(2025, 12, 31), date(2026, 1, 3), reports)
    assert seen[date(2025, 12, 31)] == {}
    assert seen[date(2026, 1, 1)] == {"2025": "warning"}  # reminded from 1 January, a holiday
    assert not reports.exists()  # nothing drafted before the first working day
    seen = _run_days(store, clock, date(2026, 1, 4), date(2026, 1, 16), reports)
    draft = reports / "年度报告_H001_2025.xlsx"
    assert draft.exists()
    assert seen[date(2026, 1, 11)] == {"2025": "warning"}
    assert seen[date(2026, 1, 12)] == {"2025:final": "critical"}  # the first reminder resolved, a new one sent
    assert seen[date(2026, 1, 15)] == {"2025:final": "critical"}
    assert seen[date(2026, 1, 16)] == {"2025:overdue": "critical"}
    drafted = draft.stat().st_mtime_ns
    mark_sent(store, clock, 2025, "张药师")
    seen = _run_days(store, clock, date(2026, 1, 17), date(2026, 2, 2), reports)
    assert all(v == {} for v in seen.values())
    assert draft.stat().st_mtime_ns == drafted  # drafted once
    store.close()


def test_a_report_marked_sent_before_january_is_neither_drafted_nor_reminded(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 's.db'}", "H001")
    clock = FakeClock(datetime(2026, 1, 1, 8, tzinfo=DEFAULT_TZ))
    mark_sent(store, clock, 2025, "张药师")
    seen = _run_days(store, clock, date(2026, 1, 1), date(2026, 1, 20), tmp_path / "reports")
    assert all(v == {} for v in seen.values())
    assert not (tmp_path / "reports").exists()
    store.close()


def test_report_annual_mark_sent_needs_who_and_stops_the_reminders(tmp_path: Path, capsys) -> None:
    from tests.unit.test_monitor_cli import _config

    cfg = _config(tmp_path)
    clock = FakeClock(datetime(2028, 1, 13, 9, tzinfo=DEFAULT_TZ))
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}", "H001")
    annual_report_duty(store, fx.inputs(), WorkCalendar(assume_weekends_for=[2028]), clock, "测试医院", MonitoringConfig(),
                       tmp_path / "reports")
    assert _active(store) == {"2027:final": "critical"}
    assert main(["-c", str(cfg), "report", "annual", "--year", "2027", "--mark-sent"], clock=clock) == 2
    assert main(["-c", str(cfg), "report", "annual", "--year", "2027", "--mark-sent", "--by", "张药师"], clock=clock) == 0
    assert "2027年度报告由 张药师 于 2028-01-13 报送" in capsys.readouterr().out
    assert _active(store) == {}
    store.close()
