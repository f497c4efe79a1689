"""What the regulator's tables hold, computed from progress and group shares.

The 带量执行报表 counts products per programme (批次): 签约产品总数, 零采购 / 低于序时进度 /
超量采购 / 正常采购 products, 对应非中选产品总数, 采购非中选产品数, 非中选超量 / 非中选超额
产品数, 对应可替代产品总数, 采购可替代产品数 and 低于序时进度且非中选超量的产品数, each with its
share (``SUMMARY_NOTES`` holds the definitions printed under the table), and the non-winning
quantity and amount. Progress findings (零采购, 低于序时进度, 超量) come from the same figures, and so does the
drift between completion by acceptance (按验收, what the bureau sees) and by usage (按使用).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from agent.domain.departments import DeptProgress
from agent.domain.findings import Finding, Severity
from agent.domain.group_share import GroupShare
from agent.domain.online_rate import OnlineRate
from agent.domain.progress import ProductProgress, ProgressRules, Status, time_progress
from agent.domain.uploads import DayUpload
from agent.domain.workdays import WorkdayCalendar


@dataclass(frozen=True)
class ProgrammeSummary:
    programme: str
    start: date
    end: date
    time_progress: float  # 序时进度 of the programme's agreement year
    signed: int  # 签约产品总数
    zero: int
    behind: int
    over: int
    normal: int
    agreed_qty: float
    used_qty: float
    non_winning_total: int  # 对应非中选产品总数
    non_winning_used: int  # 采购非中选产品数
    non_winning_qty: float
    non_winning_amount: float
    winning_qty: float
    winning_amount: float
    non_winning_over_qty: int = 0  # 非中选超量产品数
    non_winning_over_amount: int = 0  # 非中选超额产品数
    substitutable_total: int = 0  # 对应可替代产品总数
    substitutable_used: int = 0  # 采购可替代产品数
    behind_with_rival_over: int = 0  # 低于序时进度且非中选超量的产品数

    def share(self, count: int) -> float:
        """A count of signed (winning) products over 签约产品总数."""
        return count / self.signed if self.signed else 0.0

    def rival_share(self, count: int) -> float:
        """A count of non-winning products over 对应非中选产品总数."""
        return count / self.non_winning_total if self.non_winning_total else 0.0

    def substitutable_share(self, count: int) -> float:
        return count / self.substitutable_total if self.substitutable_total else 0.0

    @property
    def completion(self) -> float:
        """Overall completion: used over agreed, summed over the programme's products."""
        return self.used_qty / self.agreed_qty if self.agreed_qty else 0.0


@dataclass(frozen=True)
class MonthlyReport:
    hospital_code: str
    hospital_name: str
    month: str  # YYYY-MM
    as_of: date
    programmes: list[ProgrammeSummary]
    products: list[ProductProgress]
    month_shares: list[GroupShare]  # 一院一档: the month's usage per generic group
    year_shares: list[GroupShare] = field(default_factory=list)  # agreement year to date
    online_rates: list[OnlineRate] = field(default_factory=list)  # 网采率: the month, agreement years, calendar year
    departments: list[DeptProgress] = field(default_factory=list)  # 科室分配: confirmed splits' progress
    department_names: dict[str, str] = field(default_factory=dict)  # 科室编码 -> 科室名称
    uploads: list[DayUpload] = field(default_factory=list)  # 医保进销存上传: the month's watched days


@dataclass(frozen=True)
class AnnualReport:
    hospital_code: str
    hospital_name: str
    year: int
    programmes: list[ProgrammeSummary]
    products: list[ProductProgress]
    year_shares: list[GroupShare]
    findings: list[Finding] = field(default_factory=list)  # clocks and rules seen in the year
    as_of: date | None = None  # 统计截至: 31 December, or an earlier day the report was asked as of


def summarise(label: str, products: Sequence[ProductProgress], groups: Iterable[GroupShare],
              time_progress: float) -> ProgrammeSummary:
    """One programme (or one agreement year of it): ``products`` and ``groups`` are its own."""
    counts = {s: sum(1 for p in products if p.status is s) for s in Status}
    groups = list(groups)
    return ProgrammeSummary(
        programme=label,
        start=min(p.product.year_start for p in products),
        end=max(p.product.year_end for p in products),
        time_progress=time_progress,
        signed=len(products), zero=counts[Status.ZERO], behind=counts[Status.BEHIND], over=counts[Status.OVER],
        normal=counts[Status.NORMAL],
        agreed_qty=sum(p.product.agreed_qty for p in products), used_qty=sum(p.used for p in products),
        non_winning_total=sum(g.non_winning_items for g in groups),
        non_winning_used=sum(g.non_winning_used for g in groups),
        non_winning_qty=sum(g.non_winning_qty for g in groups),
        non_winning_amount=sum(g.non_winning_amount for g in groups),
        winning_qty=sum(g.winning_qty for g in groups),
        winning_amount=sum(g.winning_amount for g in groups),
        non_winning_over_qty=sum(g.non_winning_over_qty for g in groups),
        non_winning_over_amount=sum(g.non_winning_over_amount for g in groups),
        substitutable_total=sum(g.substitutable_items for g in groups),
        substitutable_used=sum(g.substitutable_used for g in groups),
        behind_with_rival_over=sum(1 for p in products if p.status in (Status.BEHIND, Status.ZERO)
                                   and p.product.group_id in {g.group.group_id for g in groups if g.non_winning_over_qty}),
    )


SUMMARY_NOTES = (
    "说明：",
    "1. 签约产品总数：本批次本协议年度有约定采购量的中选产品数；零采购、低于序时进度、超量采购、正常采购产品数之和等于签约产品总数，"
    "各项占比 = 产品数 ÷ 签约产品总数。完成进度按使用量计，自协议年度开始至统计截止日。",
    "2. 对应非中选产品总数：与中选产品同通用名（同剂型）、已对码的非中选产品数（不含可替代产品）；采购非中选产品数：其中协议年度内"
    "采购量大于零的产品数。",
    "3. 非中选超量产品数：协议年度内采购量（最小包装单位）超过同组中选产品采购量的非中选产品数；非中选超额产品数：采购金额超过"
    "同组中选产品采购金额的非中选产品数。以上三项占比 = 产品数 ÷ 对应非中选产品总数。",
    "4. 对应可替代产品总数：经药学部标记为可替代的产品数（既非中选产品，也不计入对应非中选产品）；采购可替代产品数：其中协议年度内"
    "采购量大于零的产品数；占比 = 产品数 ÷ 对应可替代产品总数。",
    "5. 低于序时进度且非中选超量的产品数：完成进度低于序时进度（含零采购）、且同组有非中选超量产品的中选产品数；占比 = 产品数 ÷ 签约产品总数。",
    "6. 非中选产品的各项数字属于批次，续约批次只在最新协议年度一行列出。口径为本院按平台报表名称的理解，如与省平台口径不同，以省平台为准。",
)



def programme_summaries(progress: list[ProductProgress], shares: list[GroupShare], rules: ProgressRules,
                        calendar: WorkdayCalendar | None) -> list[ProgrammeSummary]:
    """One summary per programme and agreement year; a programme with two agreement years in
    ``progress`` (a renewal) gets one row per year, labelled with its start."""
    years: dict[str, set[date]] = {}
    for p in progress:
        years.setdefault(p.product.programme, set()).add(p.product.year_start)
    out = []
    for programme in sorted(years):
        groups = [g for g in shares if g.group.programme == programme]
        for start in sorted(years[programme]):
            mine = [p for p in progress if p.product.programme == programme and p.product.year_start == start]
            end = max(p.product.year_end for p in mine)
            tp = time_progress(start, end, max(p.as_of for p in mine), rules.time_basis, calendar)
            label = programme if len(years[programme]) == 1 else f"{programme}（{start.isoformat()}起）"
            # non-winning figures belong to the programme, shown once, on its latest year
            out.append(summarise(label, mine, groups if start == max(years[programme]) else [], tp))
    return out


def programme_spans(progress: Iterable[ProductProgress]) -> dict[str, tuple[date, date]]:
    """Each programme's agreement year to date: from its earliest year start to its latest as-of day."""
    starts: dict[str, tuple[date, date]] = {}
    for p in progress:
        s = starts.get(p.product.programme)
        starts[p.product.programme] = (min(s[0], p.product.year_start) if s else p.product.year_start,
                                       max(s[1], p.as_of) if s else p.as_of)
    return starts


MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")  # YYYY-MM, as every month option and field is written


def month_bounds(month: str) -> tuple[date, date]:
    """The first and last day of ``month`` (YYYY-MM)."""
    first = date.fromisoformat(f"{month}-01")
    nxt = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return first, nxt - timedelta(days=1)

_RULES = {Status.ZERO: "progress_zero", Status.BEHIND: "progress_behind", Status.OVER: "progress_over"}
RULE_YEAR_END = "progress_year_end"
RULE_DRIFT = "measures_drift"
PROGRESS_RULES = (*_RULES.values(), RULE_YEAR_END, RULE_DRIFT)
DRIFT_POINTS = 0.2  # 20 percentage points of the agreed volume
YEAR_END_DAYS = 61  # pharmacy practice: the end of an agreement year is flagged from 61 days out


def year_end_findings(progress: Iterable[ProductProgress], observed_at: datetime,
                      days: int = YEAR_END_DAYS) -> list[Finding]:
    """协议年度即将结束: an unfinished agreed volume within ``days`` of the year's end."""
    out = []
    for p in progress:
        if not (0 < p.days_left <= days and p.remaining > 0):
            continue
        prod = p.product
        out.append(Finding(
            rule=RULE_YEAR_END, subject=prod.key, severity=Severity.WARNING, observed_at=observed_at,
            title=(f"{prod.name}（{prod.programme}）协议年度 {prod.year_end.isoformat()} 结束，剩 {p.days_left} 天，"
                   f"尚差约定量 {p.remaining:,.0f}（需日均 {p.daily_needed:,.1f}）"),
            values={"days_left": p.days_left, "remaining": round(p.remaining, 2), "completion": round(p.completion, 4),
                    "daily_needed": round(p.daily_needed, 2), "year_end": prod.year_end.isoformat()},
            labels={"programme": prod.programme, "group": prod.group_id, "kind": "progress"},
        ))
    return out


def progress_findings(progress: Iterable[ProductProgress], observed_at: datetime) -> list[Finding]:
    out = []
    for p in progress:
        rule = _RULES.get(p.status)
        if rule is None:
            continue
        prod = p.product
        if p.status is Status.OVER:
            title = f"{prod.name}（{prod.programme}）已超约定采购量：完成 {p.completion:.1%}，请继续优先使用中选产品"
            severity = Severity.INFO
        elif p.status is Status.ZERO:
            title = f"{prod.name}（{prod.programme}）零采购：序时进度 {p.time_progress:.1%}"
            # the bureau names zero purchases; in the first month of a year it is only a warning
            severity = Severity.CRITICAL if p.time_progress >= 1 / 12 else Severity.WARNING
        else:
            title = (f"{prod.name}（{prod.programme}）完成进度 {p.completion:.1%} 低于序时进度 "
                     f"{p.time_progress:.1%}，尚差 {p.gap:,.0f}，需日均 {p.daily_needed:,.1f}")
            severity = Severity.WARNING
        out.append(Finding(
            rule=rule, subject=prod.key, severity=severity, title=title, observed_at=observed_at,
            values={"used": p.used, "agreed": prod.agreed_qty, "completion": round(p.completion, 4),
                    "time_progress": round(p.time_progress, 4), "gap": round(p.gap, 2),
                    "daily_needed": round(p.daily_needed, 2), "weekly_needed": round(p.weekly_needed, 2),
                    "projected_completion": round(p.projected_completion, 4), "as_of": p.as_of.isoformat(),
                    "year_end": prod.year_end.isoformat()},
            labels={"programme": prod.programme, "group": prod.group_id, "kind": "progress"},
        ))
    return out


def drift_findings(progress: Iterable[ProductProgress], observed_at: datetime,
                   points: float = DRIFT_POINTS) -> list[Finding]:
    """按验收与按使用完成进度相差过大: stock piling up (accepted ahead of use), or usage from stock
    bought off the platform (use ahead of acceptance). Only where both measures exist."""
    out = []
    for p in progress:
        if p.accepted_completion is None or p.product.agreed_qty <= 0:
            continue
        drift = p.accepted_completion - p.completion
        if abs(drift) < points - 1e-9:
            continue
        prod = p.product
        why = "验收多于使用：库存积压？" if drift > 0 else "使用多于验收：是否使用了线下采购的库存？"
        left_out = f"，另有 {p.accepted_unconvertible} 行入库单位无法换算未计入" if p.accepted_unconvertible else ""
        out.append(Finding(
            rule=RULE_DRIFT, subject=prod.key, severity=Severity.WARNING, observed_at=observed_at,
            title=(f"{prod.name}：按验收完成进度 {p.accepted_completion:.1%}，按使用完成进度 {p.completion:.1%}，"
                   f"相差 {abs(drift) * 100:.1f} 个百分点（{why}）{left_out}"),
            values={"accepted_completion": round(p.accepted_completion, 4), "completion": round(p.completion, 4),
                    "accepted": round(p.accepted, 2), "used": round(p.used, 2), "drift": round(drift, 4),
                    "agreed": prod.agreed_qty, "unconvertible_lines": p.accepted_unconvertible,
                    "as_of": p.as_of.isoformat()},
            labels={"programme": prod.programme, "group": prod.group_id, "kind": "progress"},
        ))
    return out
