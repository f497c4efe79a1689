"""Non-winning use stopped wholesale (非中选产品“一刀切”停用): notice 001 forbids stopping the
non-winning products of a group all at once; patients who need one lose it. The finding: a group
whose non-winning products were in steady use and have had no use at all, in any department, for
the last ``quiet_days`` closed days, while its winning products are used as before (so the HIS is
read and the group is prescribed).

A notice, not an alarm: the pharmacy may have meant it (a supplier's 断供, a drug committee's
decision), and acknowledges it in the console. One rival replaced by another, or moved to a new HIS
item code that 对码 has mapped, is not a stop: the group's non-winning use goes on (a new code still
waiting in 对码 review counts nowhere yet, and the notice's action says so). How sure: the dispensings the
weeks before predict for the quiet days' working and rest days (``min_expected``, 15: no use at all
is then a chance of 3e-7), so a quiet 春节 fortnight of a rarely used rival says nothing.
A stop is judged against the weeks before it began, however long ago, while the series holds them:
the evaluation reads 13 weeks, so the notice holds up to about 8 weeks after the stop.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from agent.domain.detect import GroupSeries
from agent.domain.findings import Finding, Severity
from agent.domain.monitoring_model import GenericGroup
from agent.domain.rise_baseline import REST
from agent.domain.rise_cells import PRODUCT, Cell, box_of

RULE_STOPPED = "non_winning_stopped"


@dataclass(frozen=True)
class StopRules:
    quiet_days: int = 14  # closed days with no non-winning use at all, up to the last closed day
    before_days: int = 35  # the span before the stop, in which the rivals were in use
    min_weeks: int = 4  # weeks of that span with use (of its 5): steady use, not one batch
    min_expected: float = 15.0  # dispensings the span before predicts for the quiet days
    winning_kept: float = 0.5  # the winning products' use in the quiet days, at least this share of what the span
    # before predicts (the HIS is read and the group still prescribed)


@dataclass(frozen=True)
class StoppedGroup:
    group_id: str
    since: date  # the first of the quiet days
    weekly_units: float  # non-winning units a week in the span before
    expected_dispensings: float  # what that span predicts for the quiet days
    products: tuple[str, ...]  # the rivals used in the span before, most used first


def stopped_groups(series: Mapping[str, GroupSeries], cells: Mapping[Cell, Sequence[float]],
                   lines: Mapping[Cell, Sequence[float]], classes: Sequence[int], end: date,
                   rules: StopRules = StopRules()) -> list[StoppedGroup]:
    """The groups whose non-winning use stopped, evaluated on the last closed day ``end``. ``series``
    and ``cells`` (each product's daily units; ``lines`` its dispensings where the source gives
    them) start on the same day; ``classes`` are its days' kinds (:func:`agent.domain.detect.day_classes`)."""
    out = []
    products: dict[str, list[tuple[str, Sequence[float]]]] = {}
    for cell, y in cells.items():
        if cell.kind == PRODUCT:
            products.setdefault(cell.group_id, []).append((cell.product, y))
    for gid, s in series.items():
        end_i = (end - s.start).days
        q0 = end_i - rules.quiet_days + 1
        if q0 < 0 or end_i >= len(s.non_winning) or any(s.non_winning[q0:end_i + 1]):
            continue
        if any(any(lines.get(Cell(gid, "", p), ())[q0:end_i + 1]) for p, _y in products.get(gid, ())):
            continue  # dispensings and their returns, netting to nothing: still used
        since = q0  # the stop's first day: the weeks before it are what it is judged against, however long ago
        while since > 0 and not s.non_winning[since - 1]:
            since -= 1
        b0 = since - rules.before_days
        if b0 < 0:
            continue  # no use read, or not the weeks before the stop: nothing to judge by
        nw = s.non_winning[b0:since]
        weeks = sum(any(nw[k:k + 7]) for k in range(0, rules.before_days, 7))
        if weeks < rules.min_weeks:
            continue
        used = sorted(((sum(y[b0:since]), p, y) for p, y in products.get(gid, ()) if any(y[b0:since])),
                      key=lambda t: (-t[0], t[1]))
        dispensings = 0.0
        for units, p, y in used:
            k = lines.get(Cell(gid, "", p))
            seg = k[b0:since] if k is not None else None
            dispensings += sum(seg) if seg is not None and any(seg) else units / box_of(y[b0:since])
        expected = dispensings * _days_ratio(classes, b0, since, end_i + 1, nw)
        winning_before = [t - n for t, n in zip(s.total[b0:since], nw, strict=True)]
        winning_now = sum(s.total[since:end_i + 1])  # no non-winning use there: all of it is the winning products'
        winning_expected = sum(winning_before) * _days_ratio(classes, b0, since, end_i + 1, winning_before)
        if expected < rules.min_expected or winning_expected <= 0 or winning_now < rules.winning_kept * winning_expected:
            continue
        out.append(StoppedGroup(gid, s.start + timedelta(days=since), sum(nw) * 7 / rules.before_days, expected,
                                tuple(p for _u, p, _y in used)))
    return out


def _days_ratio(classes: Sequence[int], b0: int, q0: int, q1: int, before: Sequence[float]) -> float:
    """What the quiet days [q0, q1) weigh against the span before [b0, q0), by kind of day (working, rest):
    each kind at the span's own rate for it (a rest day weighs what rest days weighed before)."""
    work_b = [c < REST for c in classes[b0:q0]]
    units_w = sum(v for v, w in zip(before, work_b, strict=True) if w)
    units_r = sum(before) - units_w
    n_w, n_r = sum(work_b), len(work_b) - sum(work_b)
    rate_w = units_w / n_w if n_w else 0.0
    rate_r = units_r / n_r if n_r else rate_w
    total = sum(before)
    if total <= 0:
        return 0.0
    quiet = classes[q0:q1]
    return sum(rate_w if c < REST else rate_r for c in quiet) / total


def stopped_finding(s: StoppedGroup, group: GenericGroup, observed_at: datetime, rules: StopRules = StopRules(),
                    products: Mapping[str, str] | None = None, unit: str = "单位") -> Finding:
    """The notice: ``阿托伐他汀钙片：非中选产品自 10月3日起全院零使用（此前约 120 片/周：立普妥）……``."""
    names = products or {}
    rivals = "、".join(names.get(p, p) for p in s.products[:3]) + ("等" if len(s.products) > 3 else "")
    return Finding(
        rule=RULE_STOPPED,
        subject=group.group_id,
        severity=Severity.WARNING,
        title=(f"{group.name}：非中选产品自{s.since.month}月{s.since.day}日起全院零使用（此前约 "
               f"{s.weekly_units:,.0f} {unit}/周：{rivals}），中选产品照常使用；非中选产品不得“一刀切”停用，请确认"),
        observed_at=observed_at,
        values={"since": s.since.isoformat(), "weekly_before": round(s.weekly_units, 2),
                "quiet_days": max((observed_at.date() - s.since).days, rules.quiet_days),
                "expected_dispensings": math.floor(s.expected_dispensings),
                "action": "请药学部确认停用原因（断供、药事会决定等）；若该品种换了新的药品编码，请先完成对码（新编码未对码时其用量不计入本组）；"
                          "如非有意停用，请恢复供应，保障确需使用的患者。"},
        evidence={"stopped_products": [names.get(p, p) for p in s.products]},
        labels={"programme": group.programme, "group": group.group_id, "kind": RULE_STOPPED},
    )
