"""The distributor and payment clocks on real data: order lines and bills as the reference platform
answers them, pulled into the store, evaluated into findings, and resolved when the platform shows
the distributor (or the hospital) acted."""

from __future__ import annotations

from datetime import timedelta

import pytest
from platform_support import HOSPITAL, START, TZ, make_client

from agent.calendar import WorkCalendar
from agent.clock import FakeClock
from agent.jobs.evaluate import evaluate
from agent.store import Store
from agent.store.monitoring_inputs import StoreInputs
from agent.upstream.ledgers import sync_ledgers
from agent.upstream.profiles import PROFILES

CAL = WorkCalendar(assume_weekends_for=[2026, 2027])
WITH_ORDERS = [name for name, p in PROFILES.items() if p.supports("orders")]
WITH_BILLS = [name for name, p in PROFILES.items() if p.supports("bills")]


def active(store: Store) -> dict[tuple[str, str], dict]:
    from sqlalchemy import select

    from agent.store.schema.core import findings

    with store.read() as conn:
        rows = conn.execute(select(findings).where(findings.c.active == 1)).mappings().all()
    return {(r["rule"], r["subject"]): dict(r) for r in rows}


def step(store: Store, client, clock: FakeClock) -> dict[tuple[str, str], dict]:  # type: ignore[no-untyped-def]
    sync_ledgers(store, client, clock.now(), lookback_s=0)
    evaluate(store, StoreInputs(store, [], TZ), CAL, clock)
    return active(store)


@pytest.mark.parametrize("profile", WITH_ORDERS)
def test_an_unanswered_order_breaches_escalates_and_resolves_when_the_distributor_delivers(ref, store, profile) -> None:
    clock = FakeClock(START + timedelta(hours=1), TZ)
    ref.seed_order(HOSPITAL, "OD100", "Y0001", 20, START, distributor="D01", distributor_name="甲医药配送公司",
                   prodName="阿托伐他汀钙片")
    client = make_client(ref, profile)
    assert step(store, client, clock) == {}

    clock.set(START + timedelta(hours=50))
    found = step(store, client, clock)
    assert set(found) == {("delivery", "OD100"), ("order_response", "OD100")}
    response = found[("order_response", "OD100")]
    assert response["severity"] == "critical" and "甲医药配送公司" in response["title"]
    assert "甲医药配送公司" in response["evidence"]["written_report"] and "OD100" in response["evidence"]["written_report"]
    clock.set(START + timedelta(hours=70))  # 24 h after the breach: escalation (约谈、暂停结算) nears
    assert ("order_response_escalation", "OD100") in step(store, client, clock)

    delivered_at = START + timedelta(hours=71)
    ref.seed_order(HOSPITAL, "OD100", "Y0001", 20, START, distributor="D01", distributor_name="甲医药配送公司",
                   responded_at=delivered_at, delivered_quantity=20, delivered_at=delivered_at)
    clock.set(START + timedelta(hours=72))
    assert step(store, client, clock) == {}


@pytest.mark.parametrize("profile", WITH_ORDERS)
def test_a_late_delivery_warns_then_breaches_and_a_short_one_stays_open(ref, store, profile) -> None:
    clock = FakeClock(START + timedelta(hours=20), TZ)
    ref.seed_order(HOSPITAL, "OD200", "Y0002", 10, START, responded_at=START + timedelta(hours=2))
    client = make_client(ref, profile)
    assert found_rules(step(store, client, clock)) == {("delivery", "warning")}
    clock.set(START + timedelta(hours=25))
    assert found_rules(step(store, client, clock)) == {("delivery", "critical")}
    ref.seed_order(HOSPITAL, "OD200", "Y0002", 10, START, responded_at=START + timedelta(hours=2), delivered_quantity=6,
                   delivered_at=START + timedelta(hours=26))
    clock.set(START + timedelta(hours=27))
    found = step(store, client, clock)
    assert "短送" in found[("delivery", "OD200")]["title"]
    ref.seed_order(HOSPITAL, "OD200", "Y0002", 10, START, responded_at=START + timedelta(hours=2), delivered_quantity=10,
                   delivered_at=START + timedelta(hours=28))
    clock.set(START + timedelta(hours=29))
    assert step(store, client, clock) == {}


@pytest.mark.parametrize("profile", WITH_BILLS)
def test_an_unpaid_bill_breaches_at_the_end_of_the_next_month_and_resolves_when_paid(ref, store, profile) -> None:
    accepted = START  # 23 November: due 31 December
    clock = FakeClock(START + timedelta(days=1), TZ)
    ref.seed_bill(HOSPITAL, "JS001", "15230.40", accepted, distributor_name="乙医药公司",
                  checked_at=START + timedelta(hours=5))
    client = make_client(ref, profile)
    assert step(store, client, clock) == {}
    clock.set(START + timedelta(days=31))  # 80% of the 38 days
    assert found_rules(step(store, client, clock)) == {("payment", "warning")}
    clock.set(START + timedelta(days=39))
    found = step(store, client, clock)
    assert found[("payment", "JS001")]["severity"] == "critical" and "15,230.40 元" in found[("payment", "JS001")]["title"]
    ref.seed_bill(HOSPITAL, "JS001", "15230.40", accepted, distributor_name="乙医药公司",
                  checked_at=START + timedelta(hours=5), paid_at=START + timedelta(days=39, hours=1))
    clock.set(START + timedelta(days=39, hours=2))
    assert step(store, client, clock) == {}


@pytest.mark.parametrize("profile", WITH_BILLS)
def test_a_bill_not_checked_and_uploaded_is_a_finding_until_the_hospital_checks_it(ref, store, profile) -> None:
    clock = FakeClock(START + timedelta(days=6), TZ)
    ref.seed_bill(HOSPITAL, "JS002", "800", START, issued_at=START)
    client = make_client(ref, profile)
    assert ("bill_check", "critical") in found_rules(step(store, client, clock))
    ref.seed_bill(HOSPITAL, "JS002", "800", START, issued_at=START, checked_at=START + timedelta(days=6, hours=1))
    clock.set(START + timedelta(days=6, hours=2))
    assert not any(rule == "bill_check" for rule, _ in found_rules(step(store, client, clock)))


def test_a_profile_without_bills_pulls_none_and_asks_for_none(ref, store) -> None:
    ref.seed_bill(HOSPITAL, "JS003", "1", START)
    without = [name for name in PROFILES if name not in WITH_BILLS]
    assert without == ["zj_infno"]
    result = sync_ledgers(store, make_client(ref, "zj_infno"), START + timedelta(hours=1))
    assert result.bills == 0
    assert all(code != "ZJ9666" for _door, code in ref.stats()["received"])


def found_rules(found: dict[tuple[str, str], dict]) -> set[tuple[str, str]]:
    return {(rule, f["severity"]) for (rule, _subject), f in found.items()}


def test_orders_and_bills_take_the_same_path_on_postgresql(pg_store_url, ref) -> None:
    from agent.store import open_store

    pg = open_store(pg_store_url, HOSPITAL)
    try:
        clock = FakeClock(START + timedelta(hours=50), TZ)
        ref.seed_order(HOSPITAL, "OD-PG", "Y0001", 20, START, distributor_name="甲医药配送公司")
        ref.seed_bill(HOSPITAL, "JS-PG", "100.00", START - timedelta(days=60), checked_at=START - timedelta(days=59))
        client = make_client(ref, "rest_json")
        assert set(step(pg, client, clock)) == {("delivery", "OD-PG"), ("order_response", "OD-PG"), ("payment", "JS-PG")}
        ref.seed_order(HOSPITAL, "OD-PG", "Y0001", 20, START, delivered_quantity=20, delivered_at=START + timedelta(hours=50))
        ref.seed_bill(HOSPITAL, "JS-PG", "100.00", START - timedelta(days=60), checked_at=START - timedelta(days=59),
                      paid_at=START + timedelta(hours=50))
        clock.set(START + timedelta(hours=51))
        assert step(pg, client, clock) == {}
    finally:
        pg.close()


def test_distributors_lists_each_distributor_s_record_and_the_written_report_draft(ref, tmp_path, capsys) -> None:
    from agent.cli import main
    from agent.store import open_store

    cfg = tmp_path / "agent.toml"
    cfg.write_text(f'[hospital]\ncode = "{HOSPITAL}"\nname = "测试医院"\n[state]\ndirectory = "{tmp_path}"\n', encoding="utf-8")
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}", HOSPITAL)
    ref.seed_order(HOSPITAL, "OD1", "Y0001", 10, START, distributor_name="甲公司")
    ref.seed_order(HOSPITAL, "OD2", "Y0001", 10, START, distributor_name="乙公司", responded_at=START + timedelta(hours=1),
                   delivered_quantity=6, delivered_at=START + timedelta(hours=30))
    sync_ledgers(store, make_client(ref, "rest_json"), START + timedelta(hours=60))
    store.close()
    assert main(["-c", str(cfg), "platform", "distributors"], clock=FakeClock(START + timedelta(hours=60), TZ)) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[1:3]}
    assert rows == {"甲公司": ["1", "1", "1", "0"], "乙公司": ["1", "0", "1", "1"]}
    assert "关于配送企业不响应采购订单的书面报告（草稿）" in out and "OD1" in out and "甲公司" in out


@pytest.mark.parametrize("profile", WITH_ORDERS)
@pytest.mark.parametrize("mode", ["5xx", "truncated", "html"])
def test_a_fault_in_the_middle_of_a_pull_loses_no_order_and_stores_none_twice(ref, store, profile, mode) -> None:
    from agent.errors import PlatformError
    from agent.store.ledgers import orders_since

    for n in range(5):
        ref.seed_order(HOSPITAL, f"OD{n}", "Y0001", 10, START + timedelta(minutes=n))
    client = make_client(ref, profile)
    now = START + timedelta(hours=1)
    sync_ledgers(store, client, now, lookback_s=0, page_size=2, max_pages=1)  # the first page only
    ref.arm(mode)  # the next request: the rest of the list
    with pytest.raises(PlatformError):
        sync_ledgers(store, client, now, lookback_s=0, page_size=2)
    sync_ledgers(store, client, now, lookback_s=0, page_size=2)
    sync_ledgers(store, client, now + timedelta(minutes=5), lookback_s=0, page_size=2)
    with store.read() as conn:
        assert [o.order_id for o in orders_since(conn, HOSPITAL, START - timedelta(days=1))] == [f"OD{n}" for n in range(5)]
