"""The 医保 进销存 upload duty (3501-3507): a business day's purchases (3503 商品采购) and sales
(3505 商品销售) must reach the medical-insurance platform by the province's deadline; hospitals
that upload late or not at all are named.

What the hospital's 医保 interface log says of each call: the business day it carries, the
interface (交易编号), when it was sent, how many lines, and whether the platform accepted it
(``infcode`` 0). Per business day and watched interface the status is:
  ok       accepted by the deadline (earlier failed attempts do not matter);
  late     accepted, but after the deadline (counted in the monthly report);
  error    sent, never accepted (上传失败): flagged at once, the deadline or not;
  missing  nothing sent and the deadline has passed (未上传): flagged;
  pending  nothing sent yet, the deadline still ahead.
Assumed (no national rule found): the deadline is a number of days after the business day at a
time of day (default: the next day, 23:59), set per province in config; a sale (3505) is due
every day (a hospital dispenses daily), a purchase (3503) only on days the warehouse accepted goods.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from agent.domain.findings import Finding, Severity

RULE_UPLOAD = "insurance_upload"
INTERFACES = {"3501": "商品盘存", "3502": "商品库存变更", "3503": "商品采购", "3504": "商品采购退货",
              "3505": "商品销售", "3506": "商品销售退货", "3507": "商品信息删除"}
PROBLEMS = ("late", "error", "missing")
_ZH = {"ok": "按时", "late": "迟报", "error": "上传失败", "missing": "未上传", "pending": "待上传"}


@dataclass(frozen=True, slots=True)
class InsuranceUpload:
    """One call in the hospital's 医保 interface log (no payload: a 3505 sale line names the patient)."""

    business_day: date
    interface: str  # 3501..3507
    attempt: str  # the call's own id (msgid)
    uploaded_at: datetime
    lines: int
    ok: bool
    message: str | None = None


@dataclass(frozen=True)
class UploadRules:
    deadline_days: int = 1  # days after the business day
    deadline_time: time = time(23, 59)
    interfaces: tuple[str, ...] = ("3503", "3505")

    def deadline(self, day: date, tz: tzinfo) -> datetime:
        return datetime.combine(day + timedelta(days=self.deadline_days), self.deadline_time, tz)


@dataclass(frozen=True)
class DayUpload:
    day: date
    interface: str
    status: str  # ok | late | error | missing | pending
    deadline: datetime
    uploaded_at: datetime | None = None  # the first accepted call
    lines: int = 0
    message: str | None = None  # the last failure's text

    @property
    def status_zh(self) -> str:
        return _ZH[self.status]


def day_statuses(days: Mapping[str, Iterable[date]], calls: Iterable[InsuranceUpload], rules: UploadRules,
                 now: datetime, tz: tzinfo) -> list[DayUpload]:
    """The status of each (business day, interface) expected: ``days`` names the days each watched
    interface is due for."""
    by_key: dict[tuple[date, str], list[InsuranceUpload]] = {}
    for c in calls:
        by_key.setdefault((c.business_day, c.interface), []).append(c)
    out = []
    for interface in rules.interfaces:
        for day in sorted(set(days.get(interface, ()))):
            out.append(_status(day, interface, sorted(by_key.get((day, interface), []), key=lambda c: c.uploaded_at),
                               rules.deadline(day, tz), now))
    return out


def _status(day: date, interface: str, calls: Sequence[InsuranceUpload], deadline: datetime, now: datetime) -> DayUpload:
    accepted = [c for c in calls if c.ok]
    failed = [c for c in calls if not c.ok]
    if accepted:
        first = accepted[0]
        status = "ok" if first.uploaded_at <= deadline else "late"
        return DayUpload(day, interface, status, deadline, first.uploaded_at, sum(c.lines for c in accepted))
    if failed:
        return DayUpload(day, interface, "error", deadline, None, 0, failed[-1].message)
    return DayUpload(day, interface, "missing" if now > deadline else "pending", deadline)


def upload_findings(statuses: Iterable[DayUpload], observed_at: datetime) -> list[Finding]:
    """An open problem (error, missing) per business day and interface; fixed by a later accepted upload."""
    out = []
    for s in statuses:
        if s.status not in ("error", "missing"):
            continue
        name = f"{s.interface} {INTERFACES.get(s.interface, '')}".strip()
        why = f"上传失败：{s.message}" if s.status == "error" and s.message else s.status_zh
        out.append(Finding(
            rule=RULE_UPLOAD, subject=f"{s.interface}:{s.day.isoformat()}",
            severity=Severity.CRITICAL if s.status == "missing" else Severity.WARNING, observed_at=observed_at,
            title=f"医保进销存 {name}：业务日 {s.day.isoformat()} 的数据{why}（截止 {s.deadline:%Y-%m-%d %H:%M}）",
            values={"business_day": s.day.isoformat(), "interface": name, "status": s.status_zh,
                    "deadline": f"{s.deadline:%Y-%m-%d %H:%M}"},
            labels={"kind": "insurance_upload"},
        ))
    return out


def late_days(statuses: Iterable[DayUpload]) -> dict[str, int]:
    """Per watched interface, the business days not uploaded by the deadline (late, failed or missing)."""
    out: dict[str, int] = {}
    for s in statuses:
        out.setdefault(s.interface, 0)
        out[s.interface] += s.status in PROBLEMS
    return out
