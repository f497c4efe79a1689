"""The evaluation job writes monitoring's findings to the core table and keeps them current."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from datetime import date, datetime, timedelta

from sqlalchemy import select

from agent.clock import FakeClock
from agent.domain.monitoring_model import Acceptance, DailyUsage, DeadlineInputs, GenericGroup, ItemLink
from agent.jobs.evaluate import evaluate
from agent.jobs.ingest_items import ingest_departments
from agent.jobs.memory_inputs import InMemoryInputs
from agent.monitoring_config import DetectConfig, MonitoringConfig
from agent.store import open_store
from agent.store.schema.core import findings
from agent.store.schema.monitoring import progress_snapshots, rise_history
from tests.unit import monitor_fixture as fx

NOW = datetime(2028, 3, 1, 10, 0)


def _rows(store) -> dict[tuple[str, str], dict]:
    with store.read() as conn:
        return {(r.rule, r.subject): r._asdict() for r in conn.execute(select(findings))}


def _poisson(rng: random.Random, mu: float) -> int:
    limit, k, p = math.exp(-mu), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _rising_group(until: date) -> tuple[list[GenericGroup], list[ItemLink], list[DailyUsage]]:
    """Group R: its non-winning item RN triples in 老年病科 (0105) over the last 7 days up to ``until``."""
    rng = random.Random(9)
    rows = []
    for i in range(80):
        day = until - timedelta(days=i)
        rest = 0.3 if day.weekday() >= 5 else 1.0
        for dept, rate in (("0101", 10), ("0105", 10)):
            boost = 3.0 if dept == "0105" and i < 7 else 1.0
            rows.append(DailyUsage(day, "RN", _poisson(rng, rate * rest * boost), 0.0, dept))
            rows.append(DailyUsage(day, "RW", _poisson(rng, 3 * rate * rest), 0.0, dept))
    group = GenericGroup("R", "瑞舒伐他汀钙片", fx.NINTH, ("A9",))
    return [group], [ItemLink("RN", "R", "可定", price=4.0), ItemLink("RW", "R", "中选瑞舒伐他汀", "A9")], rows


def test_evaluate_upserts_findings_and_retires_the_ones_no_longer_seen(store_url: str) -> None:
    store = open_store(store_url, "H001")
    clock = FakeClock(NOW)
    deadlines = DeadlineInputs(acceptances=[Acceptance("L1", "阿托伐他汀钙片", clock.now() - timedelta(hours=30))])
    inputs = InMemoryInputs(fx.products(), fx.groups(), fx.links(), fx.usage(), deadlines)
    found = evaluate(store, inputs, fx.Weekends(), clock, None)
    keys = {(f.rule, f.subject) for f in found}
    assert {("progress_behind", "A1@2028-01-01"), ("progress_over", "A2@2028-01-01"),
            ("progress_zero", "A3@2028-01-01"), ("arrival_confirmation", "L1")} <= keys
    rows = _rows(store)
    assert all(rows[k]["active"] == 1 for k in keys)
    assert rows[("progress_behind", "A1@2028-01-01")]["values"]["gap"] > 0
    assert "零采购" in rows[("progress_zero", "A3@2028-01-01")]["title"]

    # metformin gets used, the acceptance gets confirmed: both findings go inactive, others stay
    clock.advance(timedelta(hours=1))
    usage = [*fx.usage(), DailyUsage(date(2028, 3, 1), "I3", 100, 5.0, "内分泌科")]
    inputs = InMemoryInputs(fx.products(), fx.groups(), fx.links(), usage, DeadlineInputs())
    evaluate(store, inputs, fx.Weekends(), clock, None)
    rows = _rows(store)
    assert rows[("progress_zero", "A3@2028-01-01")]["active"] == 0
    assert rows[("arrival_confirmation", "L1")]["active"] == 0
    assert rows[("progress_behind", "A1@2028-01-01")]["active"] == 1
    with store.read() as conn:
        snaps = conn.execute(select(progress_snapshots.c.product_id).where(progress_snapshots.c.as_of == date(2028, 3, 1))).all()
    assert sorted(r[0] for r in snaps) == ["A1", "A2", "A3", "A5", "B1"]
    store.close()


class Departments:
    """A DepartmentSource fake: the HIS department dictionary (科室字典) as given."""

    name = "his"

    def __init__(self, rows: list[tuple[str, str]]) -> None:
        self.rows = rows

    def read_departments(self) -> Iterator[tuple[str, str]]:
        yield from self.rows


def test_a_rise_becomes_a_finding_on_its_second_flagged_evaluation_with_its_departments(store_url: str) -> None:
    store = open_store(store_url, "H001")
    clock = FakeClock(NOW)
    first_end = NOW.date() - timedelta(days=1)
    groups, links, rows = _rising_group(first_end + timedelta(days=1))
    inputs = InMemoryInputs(fx.products(), [*fx.groups(), *groups], [*fx.links(), *links], [*fx.usage(), *rows])
    cfg = MonitoringConfig(detect=DetectConfig(persistence=2, overwhelming=0.0))  # persistence alone decides here
    first = evaluate(store, inputs, fx.Weekends(), clock, cfg)
    assert "non_winning_rise" not in {f.rule for f in first}
    with store.read() as conn:
        flagged = conn.execute(select(rise_history.c.flagged).where(rise_history.c.group_id == "R")).scalar_one()
    assert flagged == 1

    clock.advance(timedelta(days=1))
    ingest_departments(store, Departments([("0105", "老年病科"), ("0103", "消化内科")]), clock)
    second = evaluate(store, inputs, fx.Weekends(), clock, cfg)
    (rise,) = [f for f in second if f.rule == "non_winning_rise"]
    assert rise.subject == "R"
    assert rise.evidence["departments"][0] == {**rise.evidence["departments"][0], "code": "0105", "name": "老年病科"}
    assert "），老年病科：可定 平时约" in rise.title  # where: the department by its dictionary name, the product
    assert rise.values["departments"].startswith("老年病科(0105)")
    assert rise.values["observed"] > rise.values["expected"]
    assert _rows(store)[("non_winning_rise", "R")]["active"] == 1
    store.close()


def _persistent_rise(rise_from: date, rise_to: date, until: date) -> tuple[list[GenericGroup], list[ItemLink], list[DailyUsage]]:
    """Group P: its non-winning item PN doubles in both departments from ``rise_from`` to ``rise_to``."""
    rng = random.Random(12)
    rows = []
    day = rise_from - timedelta(days=100)
    while day <= until:
        rest = 0.3 if day.weekday() >= 5 else 1.0
        for dept in ("0101", "0105"):
            boost = 2.0 if rise_from <= day <= rise_to else 1.0
            rows.append(DailyUsage(day, "PN", _poisson(rng, 12 * rest * boost), 0.0, dept))
            rows.append(DailyUsage(day, "PW", _poisson(rng, 36 * rest), 0.0, dept))
        day += timedelta(days=1)
    group = GenericGroup("P", "苯磺酸氨氯地平片", fx.NINTH, ("A9",))
    return [group], [ItemLink("PN", "P", "络活喜", price=4.0), ItemLink("PW", "P", "中选氨氯地平", "A9")], rows


RISE_DAYS = 70


def _alerted_days(store_url: str, hospital: str, freeze_min_days: int) -> list[bool]:
    store = open_store(store_url, hospital)
    rise_from = NOW.date() - timedelta(days=RISE_DAYS + 20)
    groups, links, rows = _persistent_rise(rise_from, rise_from + timedelta(days=RISE_DAYS - 1), NOW.date())
    inputs = InMemoryInputs(fx.products(), groups, links, rows)
    cfg = MonitoringConfig(detect=DetectConfig(freeze_min_days=freeze_min_days))
    clock = FakeClock(datetime.combine(rise_from, NOW.time()) + timedelta(days=1))
    out = []
    while clock.now().date() <= NOW.date():
        out.append(any(f.rule == "non_winning_rise" and f.subject == "P" for f in evaluate(store, inputs, fx.Weekends(), clock, cfg)))
        clock.advance(timedelta(days=1))
    store.close()
    return out


def test_a_rise_that_goes_on_stays_alerted_instead_of_becoming_its_own_baseline(store_url: str) -> None:
    # one evaluation a day from the day after the rise began, through 70 days of it and 20 after
    kept = _alerted_days(store_url, "H001", 28)
    first, last = kept.index(True), len(kept) - 1 - kept[::-1].index(True)
    assert first <= 7
    assert all(kept[first:last + 1]), "the alert holds while the rise goes on"
    assert RISE_DAYS - 1 <= last <= RISE_DAYS + 7, "and ends within a week of the rise"
    # without the freeze, the rise seeps into the baseline and the alert ends while usage is still doubled
    absorbed = _alerted_days(store_url, "H002", 365)
    assert absorbed[first] and not any(absorbed[RISE_DAYS - 20:RISE_DAYS - 1])
