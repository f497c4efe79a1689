"""What every ``MonitoringInputs`` must answer. Add the store-backed implementation to
``FACTORIES`` when the ingestion and catalogue tables land: the same cases must pass."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import pytest

from agent.domain.usage_series import series_of
from agent.jobs.memory_inputs import InMemoryInputs
from agent.ports import MonitoringInputs
from tests.unit import monitor_fixture as fx
from tests.unit.store_inputs_loader import store_inputs

FACTORIES: dict[str, Callable[[Path], MonitoringInputs]] = {
    "memory": lambda _tmp: InMemoryInputs(fx.products(), fx.groups(), fx.links(), fx.usage(), receipts=fx.receipts()),
    "store": store_inputs,
}


@pytest.fixture(params=[*sorted(FACTORIES), "store-postgresql"])
def inputs(request: pytest.FixtureRequest, tmp_path: Path) -> MonitoringInputs:
    if request.param == "store-postgresql":
        return store_inputs(tmp_path, request.getfixturevalue("pg_store_url"))
    return FACTORIES[request.param](tmp_path)


def test_the_purchase_mix_is_read_from_the_months_warehouse_receipts(tmp_path: Path, store_url: str) -> None:
    from datetime import UTC, datetime

    from agent.domain.monitoring_model import PurchaseMix

    inputs = store_inputs(tmp_path, store_url)
    assert list(inputs.deadline_inputs(datetime(2028, 2, 25, tzinfo=UTC)).purchase_mix) == [PurchaseMix("drug", 100.0, 150.0)]
    assert list(inputs.deadline_inputs(datetime(2028, 3, 5, tzinfo=UTC)).purchase_mix) == []


def test_the_purchase_mix_of_any_range_sums_the_accepted_amounts_on_and_off_the_platform(inputs: MonitoringInputs) -> None:
    from agent.domain.monitoring_model import PurchaseMix

    feb = [PurchaseMix("drug", 100.0, 150.0)]  # the deleted line counts nowhere
    assert list(inputs.purchase_mix(date(2028, 2, 1), date(2028, 2, 29))) == feb
    assert list(inputs.purchase_mix(date(2028, 1, 1), date(2028, 2, 29))) == feb  # January's lines carry no price
    assert list(inputs.purchase_mix(date(2028, 2, 11), date(2028, 3, 31))) == []


def test_negative_days_are_the_item_department_days_whose_returns_exceed_their_issues(inputs: MonitoringInputs) -> None:
    rows = list(inputs.negative_days(date(2028, 1, 1), date(2028, 2, 29), ["I1", "I2", "I5"]))
    assert [(r.day, r.item_code, r.dept, r.qty) for r in rows] == [(date(2028, 2, 3), "I2", "老年病科", -80)]
    assert list(inputs.negative_days(date(2028, 2, 4), date(2028, 2, 29), ["I2"])) == []


def test_product_years_are_those_overlapping_the_range(inputs: MonitoringInputs) -> None:
    on_day = {(p.product_id, p.year_start) for p in inputs.product_years(date(2027, 6, 30), date(2027, 6, 30))}
    assert on_day == {("B1", date(2026, 7, 1))}
    spanning = {(p.product_id, p.year_start) for p in inputs.product_years(date(2027, 6, 30), date(2027, 7, 1))}
    assert spanning == {("B1", date(2026, 7, 1)), ("B1", date(2027, 7, 1))}


def test_usage_totals_sum_net_of_returns_in_the_his_unit(inputs: MonitoringInputs) -> None:
    totals = {t.item_code: (t.qty, t.amount) for t in inputs.usage_totals(date(2028, 1, 1), date(2028, 2, 29))}
    assert totals["I1"] == (400, 4000)  # boxes: the factor is applied by monitoring, not here
    assert totals["I2"] == (1170, 117)
    assert "IB1" in totals and "I3" not in totals


def test_dept_usage_keeps_departments_apart(inputs: MonitoringInputs) -> None:
    rows = sorted((r.dept, r.qty, r.lines) for r in inputs.dept_usage(date(2028, 2, 3), date(2028, 2, 3), ["I2"]))
    assert rows == [("心内科", 50, 4), ("老年病科", -80, 2)]  # with the source lines behind them (dispensings)


def test_usage_series_are_the_dept_usage_and_the_daily_usage_as_lists_of_days(inputs: MonitoringInputs) -> None:
    first, last = date(2028, 2, 2), date(2028, 2, 4)
    by_dept = inputs.usage_series(first, last, ["I2"])
    assert by_dept == {("I2", "心内科", ""): ([0.0, 50.0, 0.0], [0.0, 4.0, 0.0]),
                       ("I2", "老年病科", ""): ([0.0, -80.0, 0.0], [0.0, 2.0, 0.0])}
    assert inputs.usage_series(first, last, ["I2"], departments=False) == {("I2", "", ""): ([0.0, -30.0, 0.0], [0.0, 6.0, 0.0])}
    # over a longer range, every item: what the rows give, day for day
    first, last = date(2028, 1, 1), date(2028, 2, 29)
    items = ["I1", "I2", "I5", "IB1"]
    assert inputs.usage_series(first, last, items) == series_of(inputs.dept_usage(first, last, items), first, last)
    assert inputs.usage_series(first, last, items, departments=False) == series_of(
        inputs.dept_usage(first, last, items), first, last, departments=False)


def test_accepted_totals_sum_receipt_lines_per_item_unit_and_platform_flag(inputs: MonitoringInputs) -> None:
    feb = inputs.accepted_totals(date(2028, 2, 1), date(2028, 2, 29))
    assert feb is not None
    assert {(t.item_code, t.unit, t.on_platform, t.qty, t.lines) for t in feb} == {
        ("I1", "盒", True, 10, 1),  # the deleted 99盒 is not there
        ("I1", "盒", False, 5, 1),
        ("I1", "片", True, 140, 1),
        ("I1", "瓶", True, 3, 1),
        ("I5", "盒", False, 7, 1),
        ("N1", "片", True, 100, 1),
    }


def test_accepted_totals_count_by_the_hospitals_own_day(inputs: MonitoringInputs) -> None:
    new_year = inputs.accepted_totals(date(2028, 1, 1), date(2028, 1, 1))  # 2027-12-31 17:00 UTC
    assert new_year is not None and [(t.item_code, t.qty) for t in new_year] == [("I1", 10)]
    assert inputs.accepted_totals(date(2027, 12, 31), date(2027, 12, 31)) == []
    march = inputs.accepted_totals(date(2028, 3, 1), date(2028, 3, 1))  # 2028-02-29 16:30 UTC
    assert march is not None and [(t.item_code, t.qty) for t in march] == [("I1", 50)]


def test_accepted_totals_are_none_without_any_warehouse_receipt(tmp_path: Path) -> None:
    from agent.store.schema.ingest import receipts

    assert InMemoryInputs(fx.products(), fx.groups(), fx.links(), fx.usage()).accepted_totals(date(2028, 1, 1), date(2028, 12, 31)) is None
    stored = store_inputs(tmp_path)
    with stored.store.begin() as conn:
        conn.execute(receipts.delete())
    assert stored.accepted_totals(date(2028, 1, 1), date(2028, 12, 31)) is None


def test_the_store_reads_the_his_unit_spec_and_smallest_unit_of_each_link(tmp_path: Path) -> None:
    links = {lk.item_code: lk for lk in store_inputs(tmp_path).item_links()}
    assert (links["I1"].his_unit, links["I1"].spec, links["I1"].smallest_unit) == ("盒", "20mg*7片", "片")
    assert links["N1"].his_unit is None and links["N1"].smallest_unit is None


def test_groups_and_links_describe_the_generic_groups(inputs: MonitoringInputs) -> None:
    assert {g.group_id for g in inputs.groups()} == {"G1", "G2", "G3", "G4", "G5"}
    links = {lk.item_code: lk for lk in inputs.item_links()}
    assert links["I1"].factor == 7 and links["I1"].winning
    assert not links["N1"].winning and links["N1"].group_id == "G1"


def test_the_monthly_report_from_the_store_equals_the_hand_computed_one(tmp_path: Path) -> None:
    import dataclasses

    from agent.jobs.reporting import monthly_report

    def rounded(report):  # prices are stored with 6 decimals
        products = [dataclasses.replace(p, product=dataclasses.replace(p.product, price=round(p.product.price, 4)))
                    for p in report.products]
        return dataclasses.replace(report, products=products)

    memory = monthly_report(fx.inputs(), fx.Weekends(), "2028-02", "H1", "测试医院")
    stored = monthly_report(store_inputs(tmp_path), fx.Weekends(), "2028-02", "H1", "测试医院")
    assert [p.used for p in stored.products] and rounded(stored) == rounded(memory)
    assert sorted(p.accepted for p in stored.products) == [0, 0, 0, 1120, 2380]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_completion_by_acceptance_from_the_store_equals_the_in_memory_one(backend: str, tmp_path: Path,
                                                                         request: pytest.FixtureRequest) -> None:
    from agent.domain.progress import ProgressRules
    from agent.jobs.figures import progress_of

    url = request.getfixturevalue("pg_store_url") if backend == "postgresql" else None
    day = date(2028, 2, 29)

    def figures(inputs: MonitoringInputs) -> list[tuple]:
        return [(p.product.key, p.accepted, p.accepted_completion, p.accepted_unconvertible)
                for p in progress_of(inputs, inputs.product_years(day, day), day, ProgressRules(), fx.Weekends())]

    stored = figures(store_inputs(tmp_path, url))
    assert stored == figures(fx.inputs())
    assert ("A1@2028-01-01", 2380, 2380 / 36600, 1) in stored


def test_the_digest_headline_sums_the_last_evaluation_per_programme(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from agent.jobs.notify import progress_headline
    from agent.store.schema.monitoring import progress_snapshots

    store = store_inputs(tmp_path).store
    assert progress_headline(store) is None
    now = datetime(2028, 3, 1, tzinfo=UTC)
    with store.begin() as conn:
        for pid, agreed, used, status in (("A1", 1000, 300, "低于序时进度"), ("A2", 1000, 1200, "超量")):
            conn.execute(progress_snapshots.insert().values(
                hospital_code="H1", product_id=pid, year_start=date(2028, 1, 1), as_of=date(2028, 2, 29), programme="第九批",
                agreed=agreed, used=used, completion=used / agreed, time_progress=0.164, status=status, evaluated_at=now))
    # the over-used product counts only up to its agreed volume: (300 + 1000) / 2000
    assert progress_headline(store) == "进度：第九批 2 个品种：按使用完成 65.0%，序时进度 16.4%，落后 1 个"


def test_the_digest_headline_gives_completion_by_acceptance_once_the_warehouse_does(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from agent.jobs.notify import progress_headline
    from agent.store.schema.monitoring import progress_snapshots

    store = store_inputs(tmp_path).store
    now = datetime(2028, 3, 1, tzinfo=UTC)
    with store.begin() as conn:
        for pid, used, accepted in (("A1", 300, 450.0), ("A2", 1200, 1100.0), ("A3", 0, None)):
            conn.execute(progress_snapshots.insert().values(
                hospital_code="H1", product_id=pid, year_start=date(2028, 1, 1), as_of=date(2028, 2, 29), programme="第九批",
                agreed=1000, used=used, completion=used / 1000, time_progress=0.164, status="正常", evaluated_at=now,
                accepted=accepted, accepted_completion=None if accepted is None else accepted / 1000))
    # by acceptance: (450 + 1000 + 0) / 3000, A2 counted up to its agreed volume, A3 (no receipts) as nothing
    assert progress_headline(store) == ("进度：第九批 3 个品种：按使用完成 43.3%，按验收完成 48.3%，序时进度 16.4%，"
                                        "落后 0 个")


def test_the_evaluation_snapshot_keeps_both_measures(tmp_path: Path) -> None:
    from sqlalchemy import select

    from agent.clock import FakeClock
    from agent.jobs.evaluate import evaluate
    from agent.store.schema.monitoring import progress_snapshots as ps

    inputs = store_inputs(tmp_path)
    evaluate(inputs.store, inputs, fx.Weekends(), FakeClock(datetime(2028, 2, 29, 10, 0)), None)
    with inputs.store.read() as conn:
        rows = {r.product_id: (r.accepted, r.accepted_completion) for r in conn.execute(select(ps))}
    assert rows["A1"] == (pytest.approx(2380), pytest.approx(2380 / 36600))
    assert rows["A3"] == (None, None)
