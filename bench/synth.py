"""Synthetic hospital usage with weekly and holiday patterns, for the monitoring benchmarks.

Prescriptions per (group, department, item, day) are negative binomial (gamma-Poisson, k=4)
around a level that follows the weekday (Monday busiest), drops on weekends and more on
holidays, and is normal on adjusted working weekends (调休). A prescription is one pack of the
item (7, 14 or 28 smallest units, or 1 for injections).
"""

from __future__ import annotations

import math
import os
import random
from dataclasses import dataclass, field
from datetime import date, timedelta

WEEKDAY = [1.15, 1.05, 1.0, 1.0, 0.95]
ADJUSTED_WEEKEND, WEEKEND, HOLIDAY = 0.9, 0.35, 0.25
K = float(os.environ.get("SYNTH_K", "10"))  # day-to-day overdispersion of prescriptions


def day_level(calendar, day: date) -> float:  # type: ignore[no-untyped-def]
    if calendar.is_workday(day):
        return WEEKDAY[day.weekday()] if day.weekday() < 5 else ADJUSTED_WEEKEND
    return WEEKEND if day.weekday() >= 5 else HOLIDAY


def poisson(rng: random.Random, mu: float) -> int:
    if mu <= 0:
        return 0
    if mu > 40:
        return max(0, round(rng.gauss(mu, math.sqrt(mu))))
    limit, k, p = math.exp(-mu), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def nbinom(rng: random.Random, mu: float, k: float = K) -> int:
    return poisson(rng, rng.gammavariate(k, mu / k)) if mu > 0 else 0


@dataclass
class Cell:
    """One (group, department, item) stream: prescriptions per normal workday and pack size."""

    group: str
    dept: str
    item: str
    winning: bool
    rate: float
    pack: int


@dataclass
class Hospital:
    cells: list[Cell] = field(default_factory=list)
    depts_of_rivals: dict[str, list[str]] = field(default_factory=dict)


RIVAL_RATE = tuple(float(x) for x in os.environ.get("SYNTH_RIVAL_RATE", "8,80").split(","))


def make_hospital(rng: random.Random, groups: int, depts: int = 60, rival_rate: tuple[float, ...] = RIVAL_RATE) -> Hospital:
    h = Hospital()
    for g in range(groups):
        gid = f"G{g:04d}"
        total = math.exp(rng.uniform(math.log(rival_rate[0]), math.log(rival_rate[1])))
        chosen = rng.sample(range(depts), rng.randint(2, 6))
        weights = [rng.random() + 0.2 for _ in chosen]
        rivals = [f"{gid}-N{j}" for j in range(rng.randint(1, 3))]
        pack = rng.choice([7, 14, 28, 1])
        for d, w in zip(chosen, weights, strict=True):
            dept = f"D{d:02d}"
            for item in rivals:
                h.cells.append(Cell(gid, dept, item, False, total * w / sum(weights) / len(rivals), pack))
            h.cells.append(Cell(gid, dept, f"{gid}-W", True, 3 * total * w / sum(weights), pack))
        h.depts_of_rivals[gid] = [f"D{d:02d}" for d in chosen]
    return h


def simulate(rng: random.Random, h: Hospital, calendar, start: date, days: int,  # type: ignore[no-untyped-def]
             rises: dict[str, tuple[int, set[str], float]] | None = None) -> dict[tuple[str, str, str], list[int]]:
    """Units per (group, dept, item) per day. ``rises``: group -> (first day index, departments,
    relative rise of the group's non-winning usage), carried by those departments."""
    levels = [day_level(calendar, start + timedelta(days=i)) for i in range(days)]
    rises = rises or {}
    extra_share: dict[tuple[str, str], float] = {}
    for gid, (_first, depts, rise) in rises.items():
        rival_cells = [c for c in h.cells if c.group == gid and not c.winning]
        group_rate = sum(c.rate for c in rival_cells)
        dept_rate = sum(c.rate for c in rival_cells if c.dept in depts)
        for c in rival_cells:
            if c.dept in depts and dept_rate > 0:
                extra_share[(gid, c.item + c.dept)] = rise * group_rate / dept_rate
    out = {}
    for c in h.cells:
        series = [nbinom(rng, c.rate * lv) * c.pack for lv in levels]
        bump = extra_share.get((c.group, c.item + c.dept))
        if bump:
            first = rises[c.group][0]
            for i in range(first, days):
                series[i] += nbinom(rng, c.rate * levels[i] * bump) * c.pack
        out[(c.group, c.dept, c.item)] = series
    return out
