"""Who is behind a non-winning rise: departments (科室) and prescribers (医生), and the finding.

A department's expected usage in the window is its baseline usage scaled by the group's
expected/baseline ratio, so weekday and holiday effects cancel; its excess is what it used
above that. The finding lists those with the largest excess first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from agent.domain.detect import RiseTest
from agent.domain.findings import Finding, Severity
from agent.domain.monitoring_model import DailyUsage, GenericGroup, ItemLink
from agent.domain.rise_cells import CellTest

RULE_RISE = "non_winning_rise"


def contributors(rows: Iterable[DailyUsage], links: Mapping[str, ItemLink], group_id: str,
                 baseline: tuple[date, date], test: RiseTest, top: int = 3) -> dict[str, list[dict]]:
    """Top departments, prescribers and items by excess non-winning units in the test's window;
    ``baseline`` is the (first, last) day of the baseline the test used."""
    window_from = test.end - timedelta(days=test.window_days - 1)
    per: dict[str, dict[str, list[float]]] = {"departments": {}, "prescribers": {}, "items": {}}
    base_total = 0.0
    for row in rows:
        link = links.get(row.item_code)
        if link is None or link.group_id != group_id or link.winning or link.factor is None:
            continue
        current = window_from <= row.day <= test.end
        if not current and not baseline[0] <= row.day <= baseline[1]:
            continue
        qty = row.qty * link.factor
        if not current:
            base_total += qty
        for kind, key in (("departments", row.dept), ("prescribers", row.prescriber), ("items", row.item_code)):
            if key:
                acc = per[kind].setdefault(key, [0.0, 0.0])
                acc[current] += qty
    scale = test.expected / base_total if base_total > 0 else 0.0
    out: dict[str, list[dict[str, Any]]] = {}
    for kind, table in per.items():
        ranked: list[dict[str, Any]] = []
        for key, (base, cur) in table.items():
            excess = cur - base * scale
            if excess > 0:
                ranked.append({"code": key, "current": round(cur, 2), "expected": round(base * scale, 2),
                               "excess": round(excess, 2)})
        ranked.sort(key=lambda r: (-r["excess"], r["code"]))
        total = sum(r["excess"] for r in ranked)
        for r in ranked:
            r["share_of_rise"] = round(r["excess"] / total, 3) if total else 0.0
        out[kind] = ranked[:top]
    return out


def dept_label(code: str, names: Mapping[str, str]) -> str:
    """What staff read for a department: ``心血管内科(0101)``, or the bare code when the
    department dictionary (科室字典) does not know it."""
    name = names.get(code)
    return f"{name}({code})" if name else code


def where_label(test: CellTest, names: Mapping[str, str]) -> str:
    """Where a cell is, as staff read it: the department's dictionary name (its code when the
    dictionary does not know it), the prescriber's HIS code, or 全院."""
    cell = test.cell
    if cell.prescriber:
        return f"医生{cell.prescriber}"
    if cell.dept:
        return names.get(cell.dept) or cell.dept
    return "全院"


def cell_line(test: CellTest, names: Mapping[str, str], products: Mapping[str, str], unit: str) -> str:
    """``急诊科：某非中选产品 平时约 100 片/周，近7日 310 片，约 3.1 倍``. A window other than a week
    also says what those days usually see (``近3日 280 片（平时同期约 14 片），约 20.7 倍``): the
    factor is against them, and a 3-day count over a weekly rate reads as a different factor."""
    product = products.get(test.cell.product, test.cell.product) if test.cell.product else "非中选产品合计"
    if test.expected <= 0:
        return f"{where_label(test, names)}：{product} 平时几乎不用，近{test.window_days}日 {test.observed:,.0f} {unit}，新出现"
    same_days = "" if test.window_days == 7 else f"（平时同期约 {test.expected:,.0f} {unit}）"
    return (f"{where_label(test, names)}：{product} 平时约 {test.week_expected:,.0f} {unit}/周，"
            f"近{test.window_days}日 {test.observed:,.0f} {unit}{same_days}，约 {test.factor:.1f} 倍")


def _distinct(cells: Sequence[CellTest]) -> tuple[CellTest, ...]:
    """The carrying cells, one per figure: a department that uses one product of the group only is
    that product there, and its total says the same again (the narrower cell, first, is kept)."""
    seen: set[tuple[float, float, int]] = set()
    out = []
    for c in cells:
        key = (round(c.observed, 2), round(c.expected, 2), c.window_days)
        if key not in seen:
            seen.add(key)
            out.append(c)
    return tuple(out)


def rise_finding(test: RiseTest, group: GenericGroup, evidence: dict[str, list[dict]], observed_at: datetime,
                 dept_names: Mapping[str, str] | None = None, products: Mapping[str, str] | None = None,
                 unit: str = "单位") -> Finding:
    """The finding for a rise, one per group: its title names the cell that carries the rise
    (:func:`cell_line`), its values hold the group's own figures and that cell's; every carrying
    cell is in the evidence (``cells``). ``dept_names`` (code -> 科室名称) and ``products`` (item
    code -> name) name departments and products; ``unit`` is the smallest unit (片/粒/支)."""
    names = dept_names or {}
    products = products or {}
    effect = "新出现" if test.effect == float("inf") else f"{test.effect:+.0%}"
    for kind, known in (("departments", names), ("items", products)):
        if known and evidence.get(kind):
            evidence = {**evidence, kind: [{**d, "name": known[d["code"]]} if d["code"] in known else d
                                           for d in evidence[kind]]}
    carrying = _distinct(test.cells or ((test.group_cell,) if test.group_cell else ()))
    evidence = {**evidence, "cells": [
        {"kind": c.cell.kind, "dept": c.cell.dept, "dept_name": names.get(c.cell.dept, ""), "product": c.cell.product,
         "prescriber": c.cell.prescriber, "observed": round(c.observed, 2), "expected": round(c.expected, 2),
         "week_expected": round(c.week_expected, 2), "window_days": c.window_days, "p_value": c.p_value,
         "q_value": c.q_value, "text": cell_line(c, names, products, unit)} for c in carrying]}
    top = carrying[0] if carrying else None
    where = cell_line(top, names, products, unit) if top else "—"
    depts = "、".join(dept_label(d["code"], names) for d in evidence.get("departments", [])) or "—"
    worst = max((c.factor for c in carrying), default=1.0 + test.effect)
    values: dict[str, Any] = {
        "observed": round(test.observed, 2),
        "expected": round(test.expected, 2),
        "effect": None if test.effect == float("inf") else round(test.effect, 4),
        "departments": depts,
        "p_value": test.p_value,
        "q_value": test.q_value,
        "baseline_share": test.baseline_share,
        "current_share": test.current_share,
        "window_end": test.end.isoformat(),
        "window_days": test.window_days,
        "cell": where,
    }
    return Finding(
        rule=RULE_RISE,
        subject=group.group_id,
        severity=Severity.WARNING if worst < 2.0 else Severity.CRITICAL,
        title=f"{group.name}：非中选产品使用量上升（近{top.window_days if top else test.window_days}天），{where}；"
              f"全组非中选 {effect}",
        observed_at=observed_at,
        values=values,
        evidence=evidence,
        labels={"programme": group.programme, "group": group.group_id, "kind": "non_winning_rise"},
    )
