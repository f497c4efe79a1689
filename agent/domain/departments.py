"""Department allocation (科室分配): each agreed volume split across departments, and each
department's progress against its share.

A split comes from the pharmacy's sheet, or is proposed from the departments' shares of last
year's usage and confirmed by the pharmacist; only a confirmed split is tracked. A department is
far behind when its completion of its share runs ``points`` (20 percentage points by default)
below time progress (序时进度): a finding labelled with the department, so the route for that
department (``departments = [...]``) carries it to its receiver.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from agent.domain.findings import Finding, Severity
from agent.domain.progress import ProductProgress

RULE_DEPT_BEHIND = "dept_behind"
DEPT_BEHIND_POINTS = 0.2


@dataclass(frozen=True)
class DeptProgress:
    progress: ProductProgress  # the product-year it is a share of
    dept: str  # department code, as usage records it
    allocated: float  # smallest units
    used: float  # smallest units, net of returns, from the agreement year's start to as-of

    @property
    def completion(self) -> float:
        return self.used / self.allocated if self.allocated > 0 else 0.0

    @property
    def gap(self) -> float:
        """Units behind time progress (negative: ahead)."""
        return self.allocated * self.progress.time_progress - self.used

    def far_behind(self, points: float = DEPT_BEHIND_POINTS) -> bool:
        return self.allocated > 0 and self.completion < self.progress.time_progress - points


def propose_split(agreed: float, usage_by_dept: Mapping[str, float]) -> dict[str, float]:
    """The agreed volume split by each department's share of last year's usage, in whole units
    summing to the agreed volume (largest remainders first). Departments with no net usage get nothing;
    with no usage at all there is nothing to propose."""
    used = {d: q for d, q in usage_by_dept.items() if q > 0 and d}
    total = sum(used.values())
    if total <= 0 or agreed <= 0:
        return {}
    exact = {d: agreed * q / total for d, q in used.items()}
    out = {d: float(math.floor(x)) for d, x in exact.items()}
    left = int(round(agreed - sum(out.values())))
    for d in sorted(exact, key=lambda d: (-(exact[d] - out[d]), d))[:max(left, 0)]:
        out[d] += 1
    return {d: q for d, q in out.items() if q > 0}


def dept_progress(progress: Iterable[ProductProgress], splits: Mapping[tuple[str, date], Mapping[str, float]],
                  used: Mapping[tuple[str, date], Mapping[str, float]]) -> list[DeptProgress]:
    """One row per department of each split product-year (keyed by product id and year start);
    ``used`` is each department's usage of the product in smallest units over the same days."""
    out = []
    for p in progress:
        key = (p.product.product_id, p.product.year_start)
        for dept, qty in sorted(splits.get(key, {}).items()):
            out.append(DeptProgress(p, dept, qty, used.get(key, {}).get(dept, 0.0)))
    return out


def dept_findings(rows: Iterable[DeptProgress], observed_at: datetime, names: Mapping[str, str] | None = None,
                  points: float = DEPT_BEHIND_POINTS) -> list[Finding]:
    out = []
    for r in rows:
        if not r.far_behind(points):
            continue
        prod, name = r.progress.product, (names or {}).get(r.dept)
        label = f"{name}({r.dept})" if name else r.dept
        out.append(Finding(
            rule=RULE_DEPT_BEHIND, subject=f"{prod.key}:{r.dept}", severity=Severity.WARNING, observed_at=observed_at,
            title=(f"{label}：{prod.name}（{prod.programme}）科室分配量 {r.allocated:,.0f}，已使用 {r.used:,.0f}"
                   f"（{r.completion:.1%}），低于序时进度 {r.progress.time_progress:.1%}，尚差 {r.gap:,.0f}"),
            values={"allocated": r.allocated, "used": round(r.used, 2), "completion": round(r.completion, 4),
                    "time_progress": round(r.progress.time_progress, 4), "gap": round(r.gap, 2),
                    "as_of": r.progress.as_of.isoformat()},
            labels={"programme": prod.programme, "group": prod.group_id, "department": r.dept, "kind": "progress"},
        ))
    return out
