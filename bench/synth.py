"""Synthetic hospital usage with weekly and holiday patterns, for the monitoring benchmarks.

Prescriptions per (group, department, item, day) are negative binomial (gamma-Poisson, k=``K``)
around a level that follows the weekday (Monday busiest), drops on weekends and more on
holidays, and is normal on adjusted working weekends (调休). A prescription is one pack of the
item (7, 14 or 28 smallest units, or 1 for injections): one box for the group, or with
``SYNTH_PACKS=product`` each rival its own (the same hospital and dispensings either way); with
``SYNTH_SPLIT`` a share of dispensings is split from the box (拆零).
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
    """One (group, department, item, prescriber) stream: prescriptions per normal workday and
    pack size; ``prescriber`` empty for winning items (only non-winning use is split)."""

    group: str
    dept: str
    item: str
    winning: bool
    rate: float
    pack: int
    prescriber: str = ""

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.group, self.dept, self.item, self.prescriber)


@dataclass
class Hospital:
    cells: list[Cell] = field(default_factory=list)
    depts_of_rivals: dict[str, list[str]] = field(default_factory=dict)
    season: dict[str, tuple[float, float]] = field(default_factory=dict)  # group -> (amplitude, phase in days)


RIVAL_RATE = tuple(float(x) for x in os.environ.get("SYNTH_RIVAL_RATE", "8,80").split(","))
LARGE_RATE = (120.0, 360.0)  # non-winning dispensings per normal workday of a large group
PACKS = os.environ.get("SYNTH_PACKS", "group")  # "product": each rival product its own box (7, 14, 28 or by the unit)
SEASON = float(os.environ.get("SYNTH_SEASON", "0.25"))  # amplitude of each group's yearly drift
SPLIT = float(os.environ.get("SYNTH_SPLIT", "0"))  # share of dispensings split from their box (拆零: 1 to box - 1 units)


def units_of(split: random.Random, dispensings: int, pack: int) -> int:
    """The units of ``dispensings`` of a ``pack``: each, with probability ``SPLIT``, a split one
    (drawn from ``split``, apart from the dispensings' own stream, so the counts stay the same)."""
    if not SPLIT or pack == 1:
        return dispensings * pack
    return sum(split.randint(1, pack - 1) if split.random() < SPLIT else pack for _ in range(dispensings))


def make_hospital(rng: random.Random, groups: int, depts: int = 60, rival_rate: tuple[float, ...] = RIVAL_RATE,
                  prescribers: bool = False, large: int = 0) -> Hospital:
    """Groups used by 2-8 departments with uneven weights, 1-4 rival products of uneven use;
    with ``prescribers`` each department's rival use is split among 2-5 prescribers (HIS codes);
    each group drifts over the year by up to ``SEASON`` (a sine of random phase). Then ``large``
    groups more (a big hospital's commonest generics: ``LARGE_RATE`` non-winning dispensings a
    working day, 6-10 departments, 3-4 rival products, 2-4 prescribers each), numbered after the
    others, so the first ``groups`` are the same with or without them."""
    h = Hospital()
    for g in range(groups + large):
        gid = f"G{g:04d}"
        big = g >= groups
        low, high = LARGE_RATE if big else rival_rate
        total = math.exp(rng.uniform(math.log(low), math.log(high)))
        chosen = rng.sample(range(depts), rng.randint(6, 10) if big else rng.randint(2, 8))
        weights = [rng.random() + (0.5 if big else 0.2) for _ in chosen]
        rivals = [f"{gid}-N{j}" for j in range(rng.randint(3, 4) if big else rng.randint(1, 4))]
        product_w = [rng.random() + (0.5 if big else 0.3) for _ in rivals]
        pack = rng.choice([7, 14, 28, 1])
        own = random.Random(f"{gid}:{total!r}")  # drawn apart from rng: the same hospital as with one box per group
        packs = [pack if PACKS == "group" else own.choice([7, 14, 28, 1]) for _ in rivals]
        for d, w in zip(chosen, weights, strict=True):
            dept = f"D{d:02d}"
            docs = [f"{dept}{k:02d}" for k in range(rng.randint(2, 4) if big else rng.randint(2, 5))] if prescribers else [""]
            doc_w = [rng.random() + (0.5 if big else 0.2) for _ in docs]
            for item, pw, item_pack in zip(rivals, product_w, packs, strict=True):
                rate = total * w / sum(weights) * pw / sum(product_w)
                for doc, dw in zip(docs, doc_w, strict=True):
                    h.cells.append(Cell(gid, dept, item, False, rate * dw / sum(doc_w), item_pack, doc))
            h.cells.append(Cell(gid, dept, f"{gid}-W", True, 3 * total * w / sum(weights), pack))
        h.depts_of_rivals[gid] = [f"D{d:02d}" for d in chosen]
        h.season[gid] = (SEASON * rng.random(), rng.uniform(0, 365))
    return h


def simulate(rng: random.Random, h: Hospital, calendar, start: date, days: int,  # type: ignore[no-untyped-def]
             rises: dict[str, tuple[int, set[str], float]] | None = None,
             cell_rises: dict[tuple[str, str, str, str], tuple[int, float]] | None = None,
             lines: dict[tuple[str, str, str, str], list[int]] | None = None,
             ) -> dict[tuple[str, str, str, str], list[int]]:
    """Units per (group, dept, item, prescriber) per day; into ``lines``, when given, the
    dispensings behind them (the source lines a HIS query counts). ``rises``: group -> (first day index,
    departments, relative rise of the group's non-winning usage), carried by those departments.
    ``cell_rises``: (group, dept, item, prescriber or "" for every prescriber) -> (first day
    index, factor): that product in that department (or of that prescriber) multiplied by factor."""
    levels = [day_level(calendar, start + timedelta(days=i)) for i in range(days)]
    rises = rises or {}
    cell_rises = cell_rises or {}
    extra_share: dict[tuple[str, str, str, str], tuple[int, float]] = {}
    for gid, (first, depts, rise) in rises.items():
        rival_cells = [c for c in h.cells if c.group == gid and not c.winning]
        group_rate = sum(c.rate for c in rival_cells)
        dept_rate = sum(c.rate for c in rival_cells if c.dept in depts)
        for c in rival_cells:
            if c.dept in depts and dept_rate > 0:
                extra_share[c.key] = (first, rise * group_rate / dept_rate)
    for (gid, dept, item, doc), (first, factor) in cell_rises.items():
        for c in h.cells:
            if (c.group, c.dept, c.item) == (gid, dept, item) and doc in ("", c.prescriber):
                extra_share[c.key] = (first, factor - 1.0)
    out = {}
    for c in h.cells:
        amp, phase = h.season.get(c.group, (0.0, 0.0))
        drift = [1.0 + amp * math.sin(2 * math.pi * (i + phase) / 365.0) for i in range(days)]
        split = random.Random(repr(c.key))
        counts = [nbinom(rng, c.rate * lv * dr) for lv, dr in zip(levels, drift, strict=True)]
        series = [units_of(split, k, c.pack) for k in counts]
        bump = extra_share.get(c.key)
        if bump:
            first, more = bump
            for i in range(first, days):
                k = nbinom(rng, c.rate * levels[i] * drift[i] * more)
                counts[i] += k
                series[i] += units_of(split, k, c.pack)
        out[c.key] = series
        if lines is not None:
            lines[c.key] = counts
    return out
