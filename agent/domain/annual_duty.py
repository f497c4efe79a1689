"""The yearly report's clock (年度报告, due 15 January; 001 附件2).

The agent drafts the report on the first working day of January and reminds from 1 January until
a person marks it sent: a warning at first, a second, critical reminder from the third working day
before 15 January, and an overdue notice after it, through the end of January (a report still
unmarked later is left to people: an agent installed in June does not chase last year's). Each stage is its own finding (subject
``YEAR``, ``YEAR:final``, ``YEAR:overdue``), so each is announced once; marking the report sent
resolves them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import PurePath

from agent.domain.findings import Finding, Severity
from agent.domain.workdays import WorkdayCalendar, count_workdays

RULE_ANNUAL = "annual_report_due"
DUE_DAY = 15  # of January
FINAL_REMINDER_WORKDAYS = 3


@dataclass(frozen=True)
class AnnualDuty:
    year: int  # the year reported on
    due: date  # 15 January of the next year
    draft_on: date  # the first working day of January (工作日)
    final_reminder_on: date  # the third working day before the due day

    def drafting_due(self, today: date, drafted: bool) -> bool:
        return not drafted and self.draft_on <= today and self.in_season(today)

    def in_season(self, today: date) -> bool:
        """January of the year the report is due in."""
        return today.year == self.year + 1 and today.month == 1


def first_workday(day: date, calendar: WorkdayCalendar) -> date:
    while not calendar.is_workday(day):
        day += timedelta(days=1)
    return day


def workdays_before(day: date, n: int, calendar: WorkdayCalendar) -> date:
    """The ``n``-th working day before ``day`` (``day`` itself not counted)."""
    while n > 0:
        day -= timedelta(days=1)
        n -= calendar.is_workday(day)
    return day


def annual_duty(year: int, calendar: WorkdayCalendar) -> AnnualDuty:
    due = date(year + 1, 1, DUE_DAY)
    return AnnualDuty(year, due, first_workday(date(year + 1, 1, 1), calendar),
                      workdays_before(due, FINAL_REMINDER_WORKDAYS, calendar))


def duty_for(today: date, calendar: WorkdayCalendar) -> AnnualDuty:
    """The report this year's calendar asks for: last year's."""
    return annual_duty(today.year - 1, calendar)


def annual_findings(duty: AnnualDuty, today: date, observed_at: datetime, *, sent: bool,
                    draft_path: str | None, calendar: WorkdayCalendar) -> list[Finding]:
    """The reminder due ``today`` (none once sent, or outside January of the year it is due in)."""
    if sent or not duty.in_season(today):
        return []
    left = count_workdays(calendar, today, duty.due)  # today and the due day included
    how = "报送后请在控制台“报表”页登记已报送，提醒即停止"
    draft = f"草稿已生成：{PurePath(draft_path).name}（控制台“报表”页可下载）" if draft_path else \
        f"草稿将于 {duty.draft_on.isoformat()}（1月首个工作日）生成"
    if today > duty.due:
        subject, severity = f"{duty.year}:overdue", Severity.CRITICAL
        title = f"{duty.year}年度集采工作报告已超过 {duty.due.isoformat()} 报送期限，尚未标记报送"
    elif today >= duty.final_reminder_on:
        subject, severity = f"{duty.year}:final", Severity.CRITICAL
        title = f"{duty.year}年度集采工作报告须于 {duty.due.isoformat()} 前报送，仅剩 {left} 个工作日（含当日）"
    else:
        subject, severity = str(duty.year), Severity.WARNING
        title = f"{duty.year}年度集采工作报告须于 {duty.due.isoformat()} 前报送，还剩 {left} 个工作日（含当日）"
    return [Finding(
        rule=RULE_ANNUAL, subject=subject, severity=severity, observed_at=observed_at,
        title=f"{title}。{draft}；{how}",
        values={"year": duty.year, "due": duty.due.isoformat(), "workdays_left": left, "draft": draft_path or ""},
        labels={"kind": "deadline"},
    )]

