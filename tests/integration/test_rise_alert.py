"""From HIS rows to the pharmacy group's message: a non-winning product tripling in one quiet
outpatient department, inside a group another department uses heavily, is told by department,
product and figures; a prescriber far above the rest of the department is a finding of its own."""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from agent.clock import FakeClock
from agent.config import parse_config
from agent.domain.model import Setting, UsageRow
from agent.jobs.evaluate import evaluate
from agent.jobs.ingest_items import ingest_departments
from agent.jobs.ingest_usage import ingest_window
from agent.jobs.notify import drain_notifications, process_findings
from agent.notify import build_senders
from agent.notify.sink import WeComSink
from agent.store import open_store
from agent.store.monitoring_inputs import StoreInputs
from agent.store.schema.catalogue import (
    agreed_volumes,
    agreement_years,
    generic_groups,
    item_mappings,
    programmes,
    winning_products,
)
from agent.store.schema.ingest import local_items
from tests.unit import monitor_fixture as fx

KEY = "Wecom-Key-Rise-0042"
TODAY = date(2028, 3, 1)
NOW = datetime(2028, 3, 1, 9, 0, tzinfo=UTC)
PROGRAMME = "第九批国家集采"
# item, name, winning product
ITEMS = [("Y001", "阿托伐他汀钙片(中选)", "A1"), ("Y002", "阿托伐他汀钙片(立普妥)", None), ("Y003", "阿托伐他汀钙片(阿乐)", None)]
# department, item, 盒 (of 7 片) per working day, prescribers
USE = [("0101", "Y001", 30.0, ["C01", "C02", "C03"]), ("0101", "Y003", 9.0, ["C01", "C02", "C03"]),
       ("0101", "Y002", 3.0, ["C01", "C02", "C03"]), ("0105", "Y001", 10.0, ["G01", "G02"]),
       ("0105", "Y003", 3.0, ["G01", "G02"]), ("0201", "Y001", 8.0, ["N01"]), ("0201", "Y002", 2.0, ["N01"]),
       ("0301", "Y001", 6.0, ["E01", "E02", "E03"]), ("0301", "Y002", 2.0, ["E01", "E02", "E03"])]
for _k in range(2, 31):  # the hospital's other groups, quiet: each with its winning product and one rival
    ITEMS += [(f"W{_k:03d}", f"背景药品{_k}(中选)", f"A{_k}"), (f"N{_k:03d}", f"背景药品{_k}(非中选)", None)]
    USE += [("0101", f"W{_k:03d}", 2.0 + _k % 7, ["C01", "C02"]), ("0105", f"N{_k:03d}", 1.0 + _k % 4, ["G01", "G02"]),
            ("0201", f"N{_k:03d}", 1.0 + _k % 3, ["N01"])]
RISE = ("0301", "Y002")  # 急诊科's 立普妥: about 100 片 a week before, three times that over the last week


def _nbinom(rng: random.Random, mu: float, k: float = 6.0) -> int:
    lam, limit, n, p = rng.gammavariate(k, mu / k), 0.0, 0, rng.random()
    limit = math.exp(-lam)
    while p > limit:
        n += 1
        p *= rng.random()
    return n


def his_rows(last: date, days: int, rise_days: int) -> list[UsageRow]:
    rows = []
    for n, (dept, item, rate, docs) in enumerate(USE):
        rng = random.Random(1600 + n)  # each stream its own draws
        for i in range(days):
            day = last - timedelta(days=i)
            level = (0.35 if day.weekday() >= 5 else 1.0) * (1.0 + 0.15 * math.sin(i / 60))  # weekends, slow drift
            boost = 3.0 if (dept, item) == RISE and i < rise_days else 1.0
            for doc in docs:
                qty = _nbinom(rng, rate * level * boost / len(docs))
                if qty:
                    rows.append(UsageRow(day, item, dept, Setting.OUTPATIENT, Decimal(qty), Decimal(qty * 30), qty, doc))
    return rows


class RowsSource:
    name = "his"

    def __init__(self, rows: list[UsageRow]) -> None:
        self.rows = rows

    def read_usage(self, day_from: date, day_to: date) -> Iterator[UsageRow]:
        return iter([r for r in self.rows if day_from <= r.day <= day_to])


class Departments:
    name = "his"

    def read_departments(self) -> Iterator[tuple[str, str]]:
        yield from [("0101", "心血管内科"), ("0105", "老年病科"), ("0201", "内分泌科"), ("0301", "急诊科")]


def _group(code: str) -> str:
    return "G1" if code.startswith("Y") else f"G{int(code[1:])}"


def load_catalogue(store) -> None:  # type: ignore[no-untyped-def]
    with store.begin() as conn:
        conn.execute(programmes.insert().values(hospital_code="H1", name=PROGRAMME, kind="drug", level="national",
                                                cycle_start=date(2028, 1, 1), cycle_end=date(2029, 12, 31), extensions=[],
                                                updated_at=NOW))
        conn.execute(agreement_years.insert().values(hospital_code="H1", programme=PROGRAMME, number=1,
                                                     start_day=date(2028, 1, 1), end_day=date(2028, 12, 31)))
        for code, name, product in ITEMS:
            if product is None:
                continue
            generic = name.split("(")[0]
            conn.execute(winning_products.insert().values(
                hospital_code="H1", programme=PROGRAMME, product_key=product, kind="drug", generic_name=generic,
                spec="20mg", manufacturer="甲药业", price=Decimal("0.5"), pack=None, smallest_unit="片",
                group_key=_group(code), updated_at=NOW))
            conn.execute(agreed_volumes.insert().values(hospital_code="H1", programme=PROGRAMME, year=1,
                                                        product_key=product, quantity=Decimal(200000), updated_at=NOW))
            conn.execute(generic_groups.insert().values(hospital_code="H1", group_key=_group(code), kind="drug",
                                                        generic_name=generic, updated_at=NOW))
        for code, name, product in ITEMS:
            conn.execute(item_mappings.insert().values(
                hospital_code="H1", item_code=code, item_name=name, item={}, status="manual", product_key=product,
                group_key=_group(code), confidence=1.0, reason="test", candidates=[], factor=Decimal(7), updated_at=NOW))
            conn.execute(local_items.insert().values(hospital_code="H1", source="his", code=code, name=name, kind="drug",
                                                     his_unit="盒", spec="20mg*7片", price=Decimal(30), read_at=NOW))


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("T_WECOM_KEY", KEY)


def test_a_product_tripling_in_one_quiet_department_reaches_the_group_by_department_product_and_figures(
        tmp_path, store_url: str) -> None:
    store = open_store(store_url, "H1")
    load_catalogue(store)
    clock = FakeClock(NOW)
    ingest_departments(store, Departments(), clock)
    last = TODAY + timedelta(days=2)  # the HIS holds the next days too: the next mornings' evaluations read them
    rows = his_rows(last, 112, rise_days=10)
    ingest_window(store, RowsSource(rows), last - timedelta(days=111), last, NOW)
    inputs = StoreInputs(store, ["his"])

    for _morning in range(3):  # an alert needs 2 of the last 3 evaluations flagged, or one overwhelming
        found = evaluate(store, inputs, fx.Weekends(), clock, None)
        rises = [f for f in found if f.rule == "non_winning_rise"]
        if rises:
            break
        clock.advance(timedelta(days=1))
    (rise,) = rises  # and none in the 29 quiet groups
    assert rise.subject == "G1"
    top = rise.evidence["cells"][0]
    assert (top["dept"], top["product"]) == RISE

    with WeComSink(key=KEY) as sink:
        cfg = parse_config({
            "hospital": {"code": "H1", "name": "示例医院"},
            "receivers": {"pharmacy": {"type": "wecom", "key_env": "T_WECOM_KEY", "api_base": sink.url, "format": "markdown"}},
            "routes": [{"name": "pharmacy", "receivers": ["pharmacy"], "group_wait_s": 0}],
            "alerts": {"for_s": 0},
        })
        senders = build_senders(cfg.receivers, clock)
        process_findings(store, cfg, clock, [rise])
        drain_notifications(store, cfg, clock, senders)
        (message,) = [m["content"] for m in sink.messages]
    assert re.search(r"【集采预警】(严重|注意)：阿托伐他汀钙片：非中选产品使用量上升（近\d天），"
                     r"急诊科：阿托伐他汀钙片\(立普妥\) 平时约 [\d,]+ 片/周，近(?:7日 [\d,]+ 片|[3-6]日 [\d,]+ 片（平时同期约 [\d,]+ 片）)，约 [2-4]\.\d 倍；全组非中选 \+\d+%",
                     message), message
    assert re.search(r"情况：全组非中选 近\d日 [\d,]+，平时约 [\d,]+，约 \d\.\d 倍，主要科室 急诊科\(0301\)", message), message
    assert not re.search(r"基线|P值|统计窗口|\d\.\d\d\d", message), message
    assert not [f for f in found if f.rule == "prescriber_concentration"]  # the rise is the department's, not one doctor's
    store.close()


def test_the_daemons_kept_series_see_a_rise_the_his_records_between_its_evaluations(tmp_path, store_url: str) -> None:
    """The daemon keeps its usage series between evaluations (agent.store.series_cache): the HIS
    books the rise's dispensings late (the last ten days read again), and the next evaluation
    finds what one reading everything afresh finds."""
    from agent.domain.kept_tests import KeptTests
    from agent.jobs.evaluate import assess

    store = open_store(store_url, "H1")
    load_catalogue(store)
    clock = FakeClock(NOW)
    ingest_departments(store, Departments(), clock)
    last = TODAY + timedelta(days=2)
    ingest_window(store, RowsSource(his_rows(last, 112, rise_days=0)), last - timedelta(days=111), last, NOW)
    kept = StoreInputs(store, ["his"], keep_series=True)
    tests = KeptTests()  # and, as the daemon, the rise tests of groups whose figures did not change

    def titles(inputs: StoreInputs, kept_tests: KeptTests | None = None) -> list[tuple[str, str, str]]:
        return sorted((f.rule, f.subject, f.title)
                      for f in assess(store, inputs, fx.Weekends(), clock.now(), None, kept_tests).found)

    quiet = evaluate(store, kept, fx.Weekends(), clock, None, None, tests)
    assert not [f for f in quiet if f.rule == "non_winning_rise"]
    clock.advance(timedelta(hours=1))
    ingest_window(store, RowsSource(his_rows(last, 112, rise_days=10)), last - timedelta(days=9), last, clock.now())
    rises = []
    for _morning in range(3):
        assert titles(kept, tests) == titles(StoreInputs(store, ["his"]))
        rises = [f for f in evaluate(store, kept, fx.Weekends(), clock, None, None, tests) if f.rule == "non_winning_rise"]
        if rises:
            break
        clock.advance(timedelta(days=1))
    (rise,) = rises
    assert (rise.evidence["cells"][0]["dept"], rise.evidence["cells"][0]["product"]) == RISE
    assert kept.series_cache is not None and kept.series_cache.stats.kept >= 3  # served from what it kept
    store.close()
