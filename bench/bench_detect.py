"""Non-winning rise detection on synthetic usage: detection of planted +50% rises, and false
alarms on the same hospital with no rise. Evaluated daily, as the job runs.

A planted rise adds 50% to a group's non-winning usage, carried by 1-2 randomly chosen
departments among those that use the rival products. The last line is one JSON object.
``BENCH_SEED`` picks the synthetic hospital (defaults were tuned on 20251: validate on another),
``DETECT_RULES`` (JSON) overrides ``DetectRules`` fields, ``SCAN_DEPTS=0`` turns the department
scan off.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from synth import make_hospital, simulate

from agent.calendar import WorkCalendar
from agent.domain.detect import DetectRules, GroupSeries, day_classes, detect_rises
from agent.domain.monitoring_model import DailyUsage, ItemLink
from agent.domain.rise_evidence import contributors

GROUPS = 200
SEED = int(os.environ.get("BENCH_SEED", "20251"))  # tuned on 20251; validate on another seed
START = date(2024, 9, 1)
EVAL_FROM, EVAL_TO = date(2025, 1, 6), date(2025, 12, 28)  # Spring Festival, Qingming, May Day, National Day inside
HORIZON = 28
SCAN_DEPTS = os.environ.get("SCAN_DEPTS", "1") == "1"


def series_of(units: dict, start: date, days: int) -> dict[str, GroupSeries]:
    out: dict[str, GroupSeries] = {}
    for (gid, _dept, item), values in units.items():
        s = out.setdefault(gid, GroupSeries(gid, start, [0.0] * days, [0.0] * days))
        rival = "-N" in item
        for i, v in enumerate(values):
            if v:
                s.total[i] += v
                if rival:
                    s.non_winning[i] += v
    return out


def dept_series_of(units: dict, days: int) -> dict[str, dict[str, list[float]]]:
    out: dict[str, dict[str, list[float]]] = {}
    for (gid, dept, item), values in units.items():
        if "-N" in item:
            y = out.setdefault(gid, {}).setdefault(dept, [0.0] * days)
            for i, v in enumerate(values):
                y[i] += v
    return out


def run(units: dict, calendar: WorkCalendar, rules: DetectRules, days: int):  # type: ignore[no-untyped-def]
    """Evaluate every day of [EVAL_FROM, EVAL_TO]; yield (day, tests)."""
    series = series_of(units, START, days)
    by_dept = (dept_series_of(units, days) if SCAN_DEPTS else None) or None
    classes = day_classes(calendar, START, days)
    history: dict[str, list[bool]] = {}
    day = EVAL_FROM
    while day <= EVAL_TO:
        tests = detect_rises(series, calendar, day, rules, history, classes, by_dept)
        for t in tests:
            history.setdefault(t.group_id, []).append(t.flagged_now)
            del history[t.group_id][:-2]
        yield day, tests
        day += timedelta(days=1)


def alarm_episodes(stream) -> tuple[dict[str, list[date]], float]:  # type: ignore[no-untyped-def]
    """Per group, the days an alert starts (it was not on the day before); and the seconds spent."""
    t0 = time.perf_counter()
    on: dict[str, bool] = {}
    starts: dict[str, list[date]] = {}
    for day, tests in stream:
        for t in tests:
            if t.alert and not on.get(t.group_id):
                starts.setdefault(t.group_id, []).append(day)
            on[t.group_id] = t.alert
    return starts, time.perf_counter() - t0


def main() -> None:
    calendar = WorkCalendar()
    rules = DetectRules(**json.loads(os.environ.get("DETECT_RULES", "{}")))
    rng = random.Random(SEED)
    days = (EVAL_TO - START).days + 1
    hospital = make_hospital(rng, GROUPS)
    weeks = ((EVAL_TO - EVAL_FROM).days + 1) / 7

    null_units = simulate(random.Random(SEED + 1), hospital, calendar, START, days)
    null_starts, t_null = alarm_episodes(run(null_units, calendar, rules, days))
    false_alarms = sum(len(v) for v in null_starts.values())

    planted = {}
    first_possible, last_possible = (EVAL_FROM - START).days + 7, (EVAL_TO - START).days - HORIZON
    for gid in rng.sample(sorted(hospital.depts_of_rivals), GROUPS // 2):
        depts = set(rng.sample(hospital.depts_of_rivals[gid], rng.randint(1, 2)))
        planted[gid] = (rng.randint(first_possible, last_possible), depts, 0.5)
    units = simulate(random.Random(SEED + 2), hospital, calendar, START, days, planted)
    starts, t_planted = alarm_episodes(run(units, calendar, rules, days))

    delays, attributed = [], 0
    tiers = {"<20": [0, 0], "20-40": [0, 0], ">=40": [0, 0]}  # rival prescriptions per workday: planted, detected
    links = {item: ItemLink(item, gid, item, None if "-N" in item else gid) for (gid, _d, item) in units}
    for gid, (first, depts, _rise) in planted.items():
        rate = sum(c.rate for c in hospital.cells if c.group == gid and not c.winning)
        tier = tiers["<20" if rate < 20 else "20-40" if rate < 40 else ">=40"]
        tier[0] += 1
        rise_day = START + timedelta(days=first)
        hits = [d for d in starts.get(gid, []) if rise_day <= d < rise_day + timedelta(days=HORIZON)]
        if not hits:
            continue
        delay = (hits[0] - rise_day).days + 1
        delays.append(delay)
        tier[1] += delay <= 7
        test = next(t for t in detect_rises(series_of({k: v for k, v in units.items() if k[0] == gid}, START, days),
                                            calendar, hits[0], rules) if t.group_id == gid)
        rows = [DailyUsage(START + timedelta(days=i), item, v, 0.0, dept)
                for (g, dept, item), values in units.items() if g == gid for i, v in enumerate(values) if v]
        baseline = (hits[0] - timedelta(days=rules.window_days + rules.baseline_days - 1),
                    hits[0] - timedelta(days=rules.window_days))
        ev = contributors(rows, links, gid, baseline, test)
        attributed += bool(ev["departments"]) and ev["departments"][0]["code"] in depts

    within = sum(1 for d in delays if d <= 7)
    result = {
        "groups": GROUPS,
        "weeks": round(weeks, 1),
        "planted": len(planted),
        "detected_share": round(within / len(planted), 3),
        "detected_within_28_days_share": round(len(delays) / len(planted), 3),
        "median_days_to_detect": statistics.median(delays) if delays else None,
        "top_department_correct_share": round(attributed / len(delays), 3) if delays else None,
        "detected_share_by_rival_prescriptions_per_workday": {k: round(d / n, 3) if n else None for k, (n, d) in tiers.items()},
        "false_alarms_per_100_group_weeks": round(100 * false_alarms / (GROUPS * weeks), 3),
        "false_alarms": false_alarms,
        "evaluations": int(weeks * 7) * 2,
        "seconds_per_evaluation_of_all_groups": round((t_null + t_planted) / (int(weeks * 7) * 2), 4),
    }
    print(f"null run: {false_alarms} alarm episodes over {GROUPS} groups x {weeks:.1f} weeks")
    print(f"planted: {len(delays)}/{len(planted)} detected within {HORIZON} days, {within} within 7; delays {sorted(delays)}")
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
