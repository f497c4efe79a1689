"""The progress line at the top of the morning digest (晨报), per programme, from the last
evaluation's progress snapshot: completion by usage (按使用), by acceptance (按验收) once the
warehouse gives it, time progress (序时进度) and how many products are behind."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class ProgressSnapshot:
    """One product-year as the evaluation recorded it on ``as_of``."""

    product_id: str
    year_start: date
    as_of: date
    programme: str
    agreed: float
    used: float
    completion: float
    time_progress: float
    status: str  # a ``progress.Status`` value
    accepted: float | None = None  # None without receipts for the product's items
    accepted_completion: float | None = None


def progress_line(rows: Sequence[ProgressSnapshot]) -> str:
    """进度：<programme> N 个品种：按使用完成 x%，[按验收完成 y%，]序时进度 z%，落后 k 个；..."""
    parts = []
    for programme in sorted({r.programme for r in rows}):
        mine = [r for r in rows if r.programme == programme]
        agreed = sum(r.agreed for r in mine)
        done = sum(min(r.used, r.agreed) for r in mine) / agreed if agreed else 0.0
        behind = sum(r.status in ("低于序时进度", "零采购") for r in mine)
        # by acceptance (what the bureau sees) once the warehouse gives it for any product; a product
        # without receipts then counts as nothing accepted
        accepted = (f"按验收完成 {sum(min(r.accepted or 0.0, r.agreed) for r in mine) / agreed:.1%}，"
                    if agreed and any(r.accepted is not None for r in mine) else "")
        parts.append(f"{programme} {len(mine)} 个品种：按使用完成 {done:.1%}，{accepted}序时进度 {mine[0].time_progress:.1%}，"
                     f"落后 {behind} 个")
    return "进度：" + "；".join(parts)
