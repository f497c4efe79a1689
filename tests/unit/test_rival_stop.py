"""Non-winning use stopped wholesale (非中选产品“一刀切”停用, notice 001), on hand-made series."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from agent.domain.detect import GroupSeries
from agent.domain.monitoring_model import GenericGroup
from agent.domain.rise_baseline import REST
from agent.domain.rise_cells import Cell
from agent.domain.rival_stop import RULE_STOPPED, StopRules, stopped_finding, stopped_groups

START = date(2026, 8, 1)
DAYS = 90
END = START + timedelta(days=DAYS - 1)
STOP = END - timedelta(days=15)  # the last day with non-winning use: 15 days of none since
WORK = [0, 1, 2, 3, 4, REST, REST]


def classes(holiday: tuple[int, int] | None = None) -> list[int]:
    out = [WORK[(START + timedelta(days=i)).weekday()] for i in range(DAYS)]
    if holiday:
        out[holiday[0]:holiday[1]] = [REST] * (holiday[1] - holiday[0])
    return out


def hospital(rivals: dict[str, tuple[float, int | None]], seed: int = 3, box: int = 14,
             winning_until: int = DAYS) -> tuple[dict[str, GroupSeries], dict[Cell, list[float]], dict[Cell, list[float]]]:
    """One group: a winning product (20 dispensings a working day, until ``winning_until``) and
    ``rivals``: code -> (dispensings a working day, the last day index it is used, None: to the end);
    a third of that on rest days, a box of ``box`` units each."""
    rng = random.Random(seed)
    cls = classes()
    s = GroupSeries("G1", START, [0.0] * DAYS, [0.0] * DAYS)
    units: dict[Cell, list[float]] = {}
    lines: dict[Cell, list[float]] = {}
    for i in range(DAYS):
        level = 1.0 if cls[i] < REST else 0.33
        if i < winning_until:
            s.total[i] += box * sum(rng.random() < 20 * level / 40 for _ in range(40))
    for code, (rate, last) in rivals.items():
        cell = Cell("G1", "", code)
        y, k = [0.0] * DAYS, [0.0] * DAYS
        for i in range(DAYS if last is None else last + 1):
            level = 1.0 if cls[i] < REST else 0.33
            n = sum(rng.random() < rate * level / 20 for _ in range(20))
            y[i], k[i] = n * box, n
            s.non_winning[i] += n * box
            s.total[i] += n * box
        units[cell], lines[cell] = y, k
    return {"G1": s}, units, lines


def test_rivals_in_steady_use_that_stop_everywhere_while_the_winning_product_goes_on_are_a_notice() -> None:
    series, units, lines = hospital({"N1": (3.0, (STOP - START).days), "N2": (1.0, (STOP - START).days)})
    (got,) = stopped_groups(series, units, lines, classes(), END)
    assert got.group_id == "G1" and got.products == ("N1", "N2")  # most used first
    assert got.since == STOP + timedelta(days=1)  # the first day without any
    assert 15 * 14 < got.weekly_units < 30 * 14  # about 4 dispensings a working day (a third on rest days), boxes of 14
    assert got.expected_dispensings > 40
    finding = stopped_finding(got, GenericGroup("G1", "阿托伐他汀钙片", "第九批"), datetime(2026, 10, 30, 8),
                              products={"N1": "立普妥", "N2": "阿乐"}, unit="片")
    assert finding.rule == RULE_STOPPED and finding.subject == "G1"
    assert finding.title.startswith(f"阿托伐他汀钙片：非中选产品自{got.since.month}月{got.since.day}日起全院零使用（此前约 ")
    assert "片/周：立普妥、阿乐），中选产品照常使用；非中选产品不得“一刀切”停用" in finding.title


def test_one_rival_giving_way_to_another_is_no_stop() -> None:
    # N1 ends, N2 (another rival, or N1 under a new HIS code) carries on: the group's non-winning use goes on
    series, units, lines = hospital({"N1": (3.0, (STOP - START).days), "N2": (3.0, None)})
    assert stopped_groups(series, units, lines, classes(), END) == []


def test_a_silent_his_is_no_stop() -> None:
    # nothing at all read for the last 15 days, the winning product's use included: the source, not the pharmacy
    series, units, lines = hospital({"N1": (3.0, (STOP - START).days)}, winning_until=(STOP - START).days + 1)
    assert stopped_groups(series, units, lines, classes(), END) == []


def test_a_rarely_used_rival_or_one_stopped_a_week_ago_says_nothing_yet() -> None:
    series, units, lines = hospital({"N1": (0.3, (STOP - START).days)})  # about 2 dispensings a week
    assert stopped_groups(series, units, lines, classes(), END) == []
    series, units, lines = hospital({"N1": (3.0, (END - START).days - 8)})  # 8 quiet days, not 14
    assert stopped_groups(series, units, lines, classes(), END) == []


def test_a_holiday_fortnight_asks_for_what_its_rest_days_predict() -> None:
    # a rival used on working days only, quiet through a long holiday (春节): its rest days predicted none
    quiet = (DAYS - 14, DAYS)
    cls = classes(quiet)
    series, units, lines = hospital({"N1": (2.5, (STOP - START).days)})
    for y, k in zip(units.values(), lines.values(), strict=True):
        for i in range(DAYS):
            if cls[i] >= REST:
                series["G1"].non_winning[i] -= y[i]
                series["G1"].total[i] -= y[i]
                y[i] = k[i] = 0.0
    assert stopped_groups(series, units, lines, classes(), END) != []  # an ordinary fortnight: stopped
    assert stopped_groups(series, units, lines, cls, END) == []  # a holiday one: nothing expected, nothing said


def test_dispensings_netting_to_nothing_are_still_use() -> None:
    series, units, lines = hospital({"N1": (3.0, (STOP - START).days)})
    lines[Cell("G1", "", "N1")][DAYS - 3] = 2  # a dispensing and its return (退药): two lines, no units
    assert stopped_groups(series, units, lines, classes(), END) == []
    assert stopped_groups(series, units, {}, classes(), END) != []  # without lines, from its units: its box of 14


def test_the_rules_can_ask_for_a_longer_quiet() -> None:
    series, units, lines = hospital({"N1": (3.0, (STOP - START).days)})
    assert stopped_groups(series, units, lines, classes(), END, StopRules(quiet_days=21)) == []


def test_the_evaluation_job_raises_the_notice_from_his_rows_and_ends_it_when_the_rival_is_used_again(tmp_path) -> None:
    """HIS rows (by day, item, department, with their dispensing lines) through ``evaluate``: a rival of
    瑞舒伐他汀 used in two departments stops everywhere; the notice names it; a day of use ends it."""
    from zoneinfo import ZoneInfo

    from agent.clock import FakeClock
    from agent.domain.monitoring_model import DailyUsage, DeadlineInputs, ItemLink
    from agent.jobs.evaluate import evaluate
    from agent.jobs.memory_inputs import InMemoryInputs
    from agent.monitoring_config import MonitoringConfig
    from agent.store import open_store
    from tests.unit import monitor_fixture as fx

    now = datetime(2028, 3, 1, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    last_use = now.date() - timedelta(days=16)

    def rows(back_on: date | None = None) -> list[DailyUsage]:
        out = []
        for i in range(1, 100):
            day = now.date() - timedelta(days=i)
            level = 1.0 if day.weekday() < 5 else 0.3
            for dept in ("0101", "0105"):
                out.append(DailyUsage(day, "RW", 280 * level, 0.0, dept, "", round(20 * level)))
                if day <= last_use or day == back_on:
                    out.append(DailyUsage(day, "RN", 42 * level, 0.0, dept, "", max(1, round(3 * level))))
        return out

    def found(usage: list[DailyUsage]) -> list:
        store = open_store(f"sqlite:///{tmp_path / 'state.db'}", "H001")
        inputs = InMemoryInputs(fx.products(), [*fx.groups(), GenericGroup("R", "瑞舒伐他汀钙片", fx.NINTH, ("A9",))],
                                [*fx.links(), ItemLink("RN", "R", "可定", price=4.0), ItemLink("RW", "R", "中选瑞舒伐他汀", "A9")],
                                [*fx.usage(), *usage], DeadlineInputs())
        try:
            return [f for f in evaluate(store, inputs, fx.Weekends(), FakeClock(now), MonitoringConfig()) if f.rule == RULE_STOPPED]
        finally:
            store.close()

    (notice,) = found(rows())
    assert notice.subject == "R"
    since = last_use + timedelta(days=1)
    assert notice.title.startswith(f"瑞舒伐他汀钙片：非中选产品自{since.month}月{since.day}日起全院零使用（此前约 ")
    assert "：可定），中选产品照常使用" in notice.title and notice.values["quiet_days"] == (now.date() - since).days
    assert found(rows(back_on=now.date() - timedelta(days=2))) == []  # used again two days ago: no stop


def test_the_use_before_is_the_use_before_the_stop_however_long_it_has_lasted() -> None:
    series, units, lines = hospital({"N1": (3.0, (STOP - START).days - 7)})  # 22 quiet days by END
    (first,) = stopped_groups(series, units, lines, classes(), END - timedelta(days=7))
    (later,) = stopped_groups(series, units, lines, classes(), END)  # seven more quiet days
    assert later.since == first.since and later.weekly_units == first.weekly_units > 0


def test_a_stop_weeks_old_is_still_a_stop_until_the_weeks_before_it_are_no_longer_read() -> None:
    # six weeks without any: judged against the five weeks before the stop, not the zeros since (a notice that
    # ended on its own would read as 已恢复 while nothing was dispensed)
    series, units, lines = hospital({"N1": (3.0, DAYS - 43)})
    (got,) = stopped_groups(series, units, lines, classes(), END)
    assert got.since == START + timedelta(days=DAYS - 42) and got.expected_dispensings > 60  # 42 quiet days
    # stopped on the series' 21st day: the weeks before the stop were never read, so nothing is said
    series, units, lines = hospital({"N1": (3.0, 20)})
    assert stopped_groups(series, units, lines, classes(), END) == []
