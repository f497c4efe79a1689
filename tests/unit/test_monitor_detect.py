"""Non-winning rise detection: calibrated tails, weekday and holiday aware baselines,
Benjamini-Hochberg, persistence, and the departments behind a rise."""

from __future__ import annotations

import math
import random
from dataclasses import replace
from datetime import date, timedelta

import pytest

from agent.domain.detect import (
    Cell,
    CellTest,
    DetectRules,
    GroupSeries,
    RiseTest,
    day_classes,
    detect_rises,
    family_weights,
    pooled_dispersion,
    weekday_profile,
)
from agent.domain.monitoring_model import DailyUsage, GenericGroup, ItemLink
from agent.domain.rise_baseline import tail_p, window_test
from agent.domain.rise_evidence import contributors, rise_finding
from agent.domain.stats import (
    benjamini_hochberg,
    betainc,
    binom_sf,
    nbinom_sf,
    poisson_sf,
    simes,
    weighted_benjamini_hochberg,
    weighted_simes,
)

START = date(2026, 1, 5)  # a Monday
DAYS = 70
END = START + timedelta(days=DAYS - 1)
HOLIDAYS = {START + timedelta(days=d) for d in range(63, 66)}  # Mon-Wed of the last week


class Cal:
    def is_workday(self, day: date) -> bool:
        return day.weekday() < 5 and day not in HOLIDAYS


def poisson(rng: random.Random, mu: float) -> int:
    limit, k, p = math.exp(-mu), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def level(day: date) -> float:
    if not Cal().is_workday(day):
        return 0.3
    return [1.2, 1.0, 1.0, 1.0, 0.9][day.weekday()]


def series(gid: str, rate: float, rng: random.Random, rise_from: int | None = None, rise: float = 0.0) -> GroupSeries:
    nw, tot = [], []
    for i in range(DAYS):
        day = START + timedelta(days=i)
        mu = rate * level(day) * (1 + rise if rise_from is not None and i >= rise_from else 1)
        y = poisson(rng, mu)
        nw.append(float(y))
        tot.append(float(y + poisson(rng, 3 * rate * level(day))))
    return GroupSeries(gid, START, nw, tot)


def test_tails_match_exact_sums() -> None:
    r, p = 3.5, 0.2
    mean, var = r * (1 - p) / p, r * (1 - p) / p**2

    def pmf(k: int) -> float:
        return math.exp(math.lgamma(k + r) - math.lgamma(k + 1) - math.lgamma(r) + r * math.log(p) + k * math.log(1 - p))

    for k in (1, 14, 30, 60):
        assert nbinom_sf(k, mean, var) == pytest.approx(1 - sum(pmf(j) for j in range(k)), rel=1e-9)
    assert poisson_sf(30, 20) == pytest.approx(0.0218182175, rel=1e-6)
    assert binom_sf(40, 100, 0.3) == pytest.approx(sum(math.comb(100, j) * 0.3**j * 0.7 ** (100 - j) for j in range(40, 101)))
    assert betainc(2, 3, 0.4) == pytest.approx(0.5248)


def test_benjamini_hochberg_adjusts_in_input_order() -> None:
    assert benjamini_hochberg([0.01, 0.04, 0.03, 0.5]) == pytest.approx([0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.5])


def test_simes_rewards_agreeing_windows_and_never_exceeds_bonferroni() -> None:
    assert simes([0.01, 0.012, 0.011]) == pytest.approx(0.012)
    assert simes([0.01, 0.5, 0.9]) == pytest.approx(0.03)
    assert simes([]) == 1.0


def test_weighted_simes_with_equal_weights_is_simes_and_a_heavier_test_pays_for_fewer_tests() -> None:
    ps = [0.001, 0.2, 0.5, 0.9]
    assert weighted_simes(ps, [1, 1, 1, 1]) == pytest.approx(simes(ps))
    assert weighted_simes(ps, [5, 1, 1, 1]) == pytest.approx(0.001 * 4 / 2.5)  # weight 2.5 of a mean 1: pays for 4 / 2.5 tests
    assert weighted_benjamini_hochberg(ps, [1, 1, 1, 1]) == pytest.approx(benjamini_hochberg(ps))
    assert weighted_simes(ps, [0, 1, 1, 1]) == pytest.approx(simes(ps[1:]))  # a test of weight 0 counts for nothing
    assert weighted_simes([], []) == 1.0


def test_each_family_of_cells_shares_the_groups_weight_so_the_group_total_does_not_pay_for_every_prescriber() -> None:
    kinds = ["group", "dept", "dept"] + ["product_prescriber"] * 40
    w = family_weights(kinds, (1.0, 1.0, 1.0, 1.0, 1.0))
    assert sum(w) == pytest.approx(1.0)
    assert w[0] == pytest.approx(1 / 3) and w[1] == pytest.approx(1 / 6) and w[3] == pytest.approx(1 / 120)
    ps = [0.002] + [0.5] * 42
    assert weighted_simes(ps, w) == pytest.approx(0.006)  # 3 families, not 43 cells
    assert simes(ps) == pytest.approx(0.086)


def test_departments_sharing_packs_and_overdispersion_get_both_terms_of_their_variance() -> None:
    # prescriptions are gamma-Poisson (k = 5) and each is a pack of 14: var = 14 mu + mu^2 / 5
    rng = random.Random(8)
    depts = []
    for rate in (1.0, 3.0, 8.0, 20.0):
        depts.append([14.0 * poisson(rng, rng.gammavariate(5, rate * level(START + timedelta(days=i)) / 5))
                      for i in range(DAYS)])
    classes = day_classes(Cal(), START, DAYS)
    profile = weekday_profile([GroupSeries("G", START, y, y) for y in depts], classes, 0, DAYS - 7)
    a, b = pooled_dispersion(depts, classes, profile, DAYS - 1, DetectRules())
    assert 6 < a < 24  # a fit without the pack term would say a = 1
    assert 0.05 < b < 0.4


def _many(seed: int, rise: dict[str, float]) -> dict[str, GroupSeries]:
    rng = random.Random(seed)
    return {f"G{i}": series(f"G{i}", 20, rng, DAYS - 7 if f"G{i}" in rise else None, rise.get(f"G{i}", 0.0))
            for i in range(30)}


def test_a_doubling_in_one_group_is_flagged_and_the_others_are_not() -> None:
    tests = {t.group_id: t for t in detect_rises(_many(1, {"G3": 1.0}), Cal(), END)}
    assert tests["G3"].flagged_now and tests["G3"].effect > 0.5
    assert [g for g, t in tests.items() if t.flagged_now] == ["G3"]


def test_holidays_and_adjusted_working_weekends_inside_the_window_are_expected() -> None:
    # noise-free usage: the last week holds three holidays and a worked Saturday (调休)
    worked = END - timedelta(days=1)  # Saturday

    class Adjusted(Cal):
        def is_workday(self, day: date) -> bool:
            return day == worked or super().is_workday(day)

    def lvl(day: date) -> float:
        return 1.0 if day == worked else level(day)

    y = [20 * lvl(START + timedelta(days=i)) for i in range(DAYS)]
    data = {"G": GroupSeries("G", START, y, [4 * v for v in y])}
    (t,) = detect_rises(data, Adjusted(), END, DetectRules(short_windows=()))
    assert t.effect == pytest.approx(0.0, abs=0.02)
    assert not t.flagged_now


def test_no_rise_raises_no_alert_over_many_groups_and_days() -> None:
    data = _many(6, {})
    history: dict[str, list[bool]] = {}
    alerts = 0
    for back in range(7, -1, -1):
        for t in detect_rises(data, Cal(), END - timedelta(days=back), history=history):
            alerts += t.alert
            history.setdefault(t.group_id, []).append(t.flagged_now)
    assert alerts == 0


def test_an_alert_needs_two_of_the_last_three_evaluations() -> None:
    data = _many(2, {"G7": 1.0})
    rules = DetectRules(persistence=2, overwhelming=0.0)
    (first,) = [t for t in detect_rises(data, Cal(), END, rules, history={}) if t.group_id == "G7"]
    assert first.flagged_now and not first.alert
    (second,) = [t for t in detect_rises(data, Cal(), END, rules, history={"G7": [False, True]}) if t.group_id == "G7"]
    assert second.alert


def test_overwhelming_evidence_alerts_on_its_first_evaluation_and_weak_evidence_waits() -> None:
    data = _many(6, {"G7": 0.7})
    rules = DetectRules(fdr_per_group=0.0005, level_drift=0.0)  # the persistence bar, not the drift allowance
    (g7,) = [t for t in detect_rises(data, Cal(), END, rules, history={}) if t.group_id == "G7"]
    level = min(rules.fdr, rules.fdr_per_group * len(data))
    assert g7.flagged_now and 0 < g7.q_value <= level
    bar = g7.q_value / level  # the same evidence, with the bar for "overwhelming" just under or over it
    (waits,) = [t for t in detect_rises(data, Cal(), END, replace(rules, persistence=2, overwhelming=bar * 0.9),
                                        history={}) if t.group_id == "G7"]
    (now,) = [t for t in detect_rises(data, Cal(), END, replace(rules, persistence=2, overwhelming=bar * 1.1),
                                      history={}) if t.group_id == "G7"]
    assert waits.flagged_now and not waits.alert
    assert now.alert


def test_with_few_groups_the_level_per_group_stays_as_strict_as_with_many() -> None:
    data = _many(4, {"G3": 0.45})
    loose = {t.group_id: t for t in detect_rises(data, Cal(), END, DetectRules(fdr_per_group=0.0))}["G3"]
    capped = {t.group_id: t for t in detect_rises(data, Cal(), END)}["G3"]
    assert loose.q_value == capped.q_value
    assert 0.0015 * 30 < loose.q_value <= DetectRules().fdr
    assert loose.flagged_now and not capped.flagged_now


def test_small_groups_are_not_tested_below_the_minimum_volume() -> None:
    rng = random.Random(3)
    tiny = {"T": series("T", 0.5, rng, DAYS - 7, 3.0)}
    (t,) = detect_rises(tiny, Cal(), END, DetectRules(min_volume=30))
    assert not t.eligible and not t.flagged_now


def test_a_department_scan_finds_a_rise_the_group_total_hides() -> None:
    rng = random.Random(4)
    rules = DetectRules(fdr=0.01)
    groups: dict[str, GroupSeries] = {}
    depts: dict[Cell, list[float]] = {}
    for i in range(30):
        parts = {d: series(f"G{i}", 6, rng, DAYS - 7 if (i == 0 and d == "D1") else None, 2.0).non_winning for d in ("D1", "D2", "D3", "D4", "D5")}
        total = [sum(v[k] for v in parts.values()) for k in range(DAYS)]
        groups[f"G{i}"] = GroupSeries(f"G{i}", START, total, [3 * x for x in total])
        depts.update({Cell(f"G{i}", d): y for d, y in parts.items()})
    plain = {t.group_id: t for t in detect_rises(groups, Cal(), END, rules)}
    scanned = {t.group_id: t for t in detect_rises(groups, Cal(), END, rules, cells=depts)}
    assert scanned["G0"].p_value < plain["G0"].p_value
    assert scanned["G0"].flagged_now
    assert [g for g, t in scanned.items() if t.flagged_now] == ["G0"]


def test_evidence_names_the_department_and_prescriber_behind_the_rise() -> None:
    rng = random.Random(5)
    links = {"N": ItemLink("N", "G1", "络活喜", price=2.0), "W": ItemLink("W", "G1", "中选", "P1")}
    rows = []
    for i in range(DAYS):
        day = START + timedelta(days=i)
        for dept, doc, rate in (("心内科", "D01", 8), ("老年病科", "D02", 8)):
            boost = 3.0 if dept == "老年病科" and i >= DAYS - 7 else 1.0
            rows.append(DailyUsage(day, "N", poisson(rng, rate * level(day) * boost), 0.0, dept, doc))
    s = GroupSeries("G1", START, [0.0] * DAYS, [0.0] * DAYS)
    for r in rows:
        s.non_winning[(r.day - START).days] += r.qty
        s.total[(r.day - START).days] += r.qty
    (test,) = detect_rises({"G1": s}, Cal(), END)
    ev = contributors(rows, links, "G1", (START, END - timedelta(days=7)), test)
    assert ev["departments"][0]["code"] == "老年病科"
    assert ev["prescribers"][0]["code"] == "D02"
    finding = rise_finding(test, GenericGroup("G1", "苯磺酸氨氯地平片", "第九批"), ev, START)
    assert finding.rule == "non_winning_rise" and finding.subject == "G1"
    assert finding.title.startswith("苯磺酸氨氯地平片：非中选产品使用量上升（近")
    assert finding.values["departments"].startswith("老年病科")
    assert finding.values["p_value"] == test.p_value and finding.values["expected"] > 0


def test_the_rise_title_says_where_by_the_department_dictionary_name_with_the_cells_figures() -> None:
    cell = CellTest(Cell("G1", "0101", "Y2"), 310.0, 100.0, 7, 1e-8, 100.0, 1e-6, True)
    group = CellTest(Cell("G1"), 900.0, 700.0, 7, 0.02, 700.0)
    test = RiseTest("G1", END, 900.0, 700.0, 900 / 700 - 1, 1e-7, 1e-6, 0.1, 0.12, True, True, True, 7, (cell,), group)
    ev = {"departments": [{"code": "0101", "excess": 210.0}, {"code": "0999", "excess": 10.0}], "prescribers": [], "items": []}
    finding = rise_finding(test, GenericGroup("G1", "阿托伐他汀钙片", "第九批"), ev, START, {"0101": "心血管内科"},
                           {"Y2": "阿托伐他汀钙片(立普妥)"}, "片")
    assert finding.title == ("阿托伐他汀钙片：非中选产品使用量上升（近7天），心血管内科：阿托伐他汀钙片(立普妥) 平时约 100 片/周，"
                             "近7日 310 片，约 3.1 倍；全组非中选 +29%")
    assert finding.values["observed"] == 900.0 and finding.values["expected"] == 700.0  # the group's figures beside
    assert finding.values["departments"] == "心血管内科(0101)、0999"
    assert [d.get("name") for d in finding.evidence["departments"]] == ["心血管内科", None]
    assert "name" not in ev["departments"][0]  # the caller's evidence is left as it was
    (where,) = finding.evidence["cells"]
    assert (where["kind"], where["dept"], where["product"], where["observed"]) == ("product_dept", "0101", "Y2", 310.0)
    unnamed = rise_finding(test, GenericGroup("G1", "阿托伐他汀钙片", "第九批"), ev, START)
    assert "，0101：Y2 平时约 100 单位/周，近7日 310 单位，" in unnamed.title


def test_a_prescribers_rise_is_told_by_the_his_code_alone() -> None:
    cell = CellTest(Cell("G1", "", "Y2", "D0101-07"), 84.0, 28.0, 5, 1e-6, 36.0, 1e-4, True)
    test = RiseTest("G1", END, 300.0, 250.0, 0.2, 1e-5, 1e-4, 0.1, 0.12, True, True, True, 7, (cell,), None)
    finding = rise_finding(test, GenericGroup("G1", "阿托伐他汀钙片", "第九批"), {}, START, {}, {"Y2": "立普妥"}, "片")
    assert "，医生D0101-07：立普妥 平时约 36 片/周，近5日 84 片（平时同期约 28 片），约 3.0 倍；" in finding.title


def test_a_quiet_holiday_of_few_packs_is_not_read_as_a_rise() -> None:
    # 2-6 prescriptions a working day, a 28-tablet pack x 1-5 each, a third of that on rest days:
    # over a window made only of holidays, the one series' own variance must carry the pack term
    # (a Poisson-in-tablets variance made one in ten null groups "significant" at 1%)
    rng = random.Random(11)
    classes = day_classes(Cal(), START, DAYS)
    ys = [[28.0 * sum(rng.choice((1, 1, 1, 2, 2, 3, 5)) for _ in range(poisson(rng, rate * level(START + timedelta(days=i)))))
           for i in range(DAYS)] for rate in (rng.uniform(2, 6) for _ in range(1500))]
    profile = weekday_profile([GroupSeries("G", START, y, y) for y in ys], classes, 0, 59)
    holiday_end = 65
    assert classes[holiday_end - 2:holiday_end + 1] == [6, 6, 6]
    rules = DetectRules(min_volume=0)
    share = sum(tail_p(*window_test(y, classes, profile, holiday_end, rules, 3), 0) < 0.01 for y in ys) / len(ys)
    assert share < 0.03


def test_one_mistyped_day_in_one_group_does_not_reshape_every_groups_week() -> None:
    rng = random.Random(5)
    groups = [series(f"G{i}", 20, rng) for i in range(12)]
    classes = day_classes(Cal(), START, DAYS)
    clean = weekday_profile(groups, classes, 0, DAYS - 7)
    wednesday = next(i for i in range(DAYS) if (START + timedelta(days=i)).weekday() == 2 and classes[i] == 2)
    groups[3].total[wednesday] += 20 * 200  # one row of 4,000 units where a day holds about 80
    spiked = weekday_profile(groups, classes, 0, DAYS - 7)
    assert all(abs(a - b) < 0.03 for a, b in zip(clean, spiked, strict=True)), (clean, spiked)
