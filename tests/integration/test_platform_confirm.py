"""Receipts to confirmations: matching, idempotent queueing, short deliveries, unmatched receipts."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from platform_support import HOSPITAL, START, drainer, make_client, outbox_rows, receipt, store_receipts
from sqlalchemy import select

from agent.store import open_store
from agent.store.platform import active_findings
from agent.store.schema.platform import platform_confirmations, platform_receipts
from agent.upstream.confirm import enqueue_confirmations
from agent.upstream.deliveries import sync_deliveries
from agent.upstream.profiles import PROFILES


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_accepted_receipt_is_confirmed_once_on_the_platform(ref, store, clock, profile) -> None:
    receipts = [receipt(n) for n in range(1, 6)]
    ids = ref.seed_for_receipts(HOSPITAL, receipts, with_ids=False)
    client = make_client(ref, profile)
    sync_deliveries(store, client, clock.now())
    assert store_receipts(store, receipts, clock.now()) == 5
    result = drainer(store, client, clock).drain()
    assert result.sent == 5
    assert ref.confirmed() == {i: "10" for i in ids}
    rows = outbox_rows(store)
    assert [r["status"] for r in rows] == ["sent"] * 5
    # queued unsigned: the signature and timestamp are made at send time, never stored
    assert {tuple(sorted(r["payload"])) for r in rows} == {("accepted_at", "delivery_id", "distributor_code", "lot", "order_code", "product_code", "quantity",
                                                            "receipt_line_id", "shipped_quantity")}


def test_reading_the_same_receipts_again_queues_nothing_new(ref, store, clock) -> None:
    receipts = [receipt(n, delivery_id=f"SHP{n}") for n in range(1, 4)]
    ref.seed_for_receipts(HOSPITAL, receipts)
    sync_deliveries(store, make_client(ref), clock.now())
    assert store_receipts(store, receipts, clock.now()) == 3
    assert store_receipts(store, receipts, clock.now()) == 0
    assert len(outbox_rows(store)) == 3


def test_a_short_delivery_confirms_the_accepted_quantity(ref, store, clock) -> None:
    ref.seed_delivery(HOSPITAL, "SHP-SHORT", "Y0001", 100, lot="LOT0001", shipped_at=START - timedelta(hours=5))
    client = make_client(ref)
    sync_deliveries(store, client, clock.now())
    store_receipts(store, [receipt(1, qty="60")], clock.now())
    drainer(store, client, clock).drain()
    assert ref.confirmed() == {"SHP-SHORT": "60"}
    with store.read() as conn:
        row = conn.execute(select(platform_confirmations)).one()
    assert (row.quantity, row.shipped_quantity, row.state) == ("60", "100", "confirmed")


def test_a_receipt_without_a_delivery_line_becomes_a_finding_then_matches_after_sync(ref, store, clock) -> None:
    r = receipt(7, lot="L77")
    assert store_receipts(store, [r], clock.now()) == 0
    with store.read() as conn:
        [finding] = active_findings(conn, HOSPITAL)
    assert finding["rule"] == "platform.receipt_unmatched" and finding["subject"] == r.line_id
    assert "未匹配到平台配送单" in finding["title"]
    ref.seed_delivery(HOSPITAL, "SHP-LATE", "Y0001", 10, lot="L77", shipped_at=START - timedelta(hours=3))
    client = make_client(ref)
    assert sync_deliveries(store, client, clock.now()).queued == 1
    with store.read() as conn:
        assert active_findings(conn, HOSPITAL) == []
        assert conn.execute(select(platform_receipts.c.status, platform_receipts.c.method)).one() == ("matched", "fuzzy")
    drainer(store, client, clock).drain()
    assert ref.confirmed() == {"SHP-LATE": "10"}


def test_two_equally_good_lines_leave_the_receipt_for_staff(ref, store, clock) -> None:
    for shp in ("SHP-A", "SHP-B"):
        ref.seed_delivery(HOSPITAL, shp, "Y0001", 10, lot=None, shipped_at=START - timedelta(hours=2))
    sync_deliveries(store, make_client(ref), clock.now())
    assert store_receipts(store, [receipt(1, lot="")], clock.now()) == 0
    with store.read() as conn:
        row = conn.execute(select(platform_receipts)).one()
    assert row.status == "unmatched"
    assert {c[0] for c in row.detail["candidates"]} == {"SHP-A", "SHP-B"}


def test_a_second_receipt_on_a_confirmed_delivery_id_is_a_conflict_not_a_second_confirmation(ref, store, clock) -> None:
    ref.seed_delivery(HOSPITAL, "SHP-1", "Y0001", 10)
    sync_deliveries(store, make_client(ref), clock.now())
    assert store_receipts(store, [receipt(1, delivery_id="SHP-1")], clock.now()) == 1
    assert store_receipts(store, [receipt(2, delivery_id="SHP-1")], clock.now()) == 0
    with store.read() as conn:
        statuses = dict(conn.execute(select(platform_receipts.c.receipt_line_id, platform_receipts.c.status)).all())
    assert statuses == {"RK000001": "matched", "RK000002": "conflict"}
    assert len(outbox_rows(store)) == 1


def test_receipts_not_accepted_deleted_or_off_platform_are_not_confirmed(store, clock) -> None:
    base = receipt(1, delivery_id="SHP-1")
    from dataclasses import replace

    skipped = [replace(base, accepted_at=None), replace(base, line_id="X2", deleted=True),
               replace(base, line_id="X3", on_platform=False), replace(base, line_id="X4", quantity=Decimal(0))]
    assert store_receipts(store, skipped, clock.now()) == 0
    assert outbox_rows(store) == []


def test_the_whole_path_works_the_same_on_postgresql(pg_store_url, ref, clock) -> None:
    pg = open_store(pg_store_url, HOSPITAL)
    try:
        receipts = [receipt(1), receipt(2, delivery_id="SHP-PG2", qty="3")]
        ref.seed_delivery(HOSPITAL, "SHP-PG1", "Y0001", 10, lot="LOT0001", shipped_at=START - timedelta(hours=1))
        ref.seed_delivery(HOSPITAL, "SHP-PG2", "Y0002", 5)
        client = make_client(ref, "rest_json")
        sync_deliveries(pg, client, clock.now())
        with pg.begin() as conn:
            assert enqueue_confirmations(conn, HOSPITAL, receipts, clock.now()) == 2
        with pg.begin() as conn:
            assert enqueue_confirmations(conn, HOSPITAL, receipts, clock.now()) == 0
        assert drainer(pg, client, clock).drain().sent == 2
        assert ref.confirmed() == {"SHP-PG1": "10", "SHP-PG2": "3"}
        assert [(r["idem_key"], r["status"]) for r in outbox_rows(pg)] == [
            ("confirm:SHP-PG1", "sent"), ("confirm:SHP-PG2", "sent")]
    finally:
        pg.close()


def test_a_backfill_of_old_receipts_queues_nothing_and_flags_nothing(store, clock) -> None:
    old = [receipt(n, accepted_at=clock.now() - timedelta(days=30)) for n in range(1, 4)]
    assert store_receipts(store, old, clock.now()) == 0
    assert outbox_rows(store) == []
    with store.read() as conn:
        assert active_findings(conn, HOSPITAL) == []


def test_a_quantity_corrected_before_sending_is_the_quantity_confirmed(ref, store, clock) -> None:
    from dataclasses import replace

    ref.seed_delivery(HOSPITAL, "SHP-1", "Y0001", 10)
    client = make_client(ref)
    sync_deliveries(store, client, clock.now())
    first = receipt(1, delivery_id="SHP-1", qty="10")
    store_receipts(store, [first], clock.now())
    store_receipts(store, [replace(first, quantity=Decimal(8))], clock.now())
    drainer(store, client, clock).drain()
    assert ref.confirmed() == {"SHP-1": "8"}
    assert len(outbox_rows(store)) == 1


def test_a_receipt_deleted_before_sending_is_not_confirmed_and_one_deleted_after_is_flagged(ref, store, clock) -> None:
    from dataclasses import replace

    for shp in ("SHP-1", "SHP-2"):
        ref.seed_delivery(HOSPITAL, shp, "Y0001", 10)
    client = make_client(ref)
    sync_deliveries(store, client, clock.now())
    a, b = receipt(1, delivery_id="SHP-1"), receipt(2, delivery_id="SHP-2")
    store_receipts(store, [a, b], clock.now())
    drainer(store, client, clock).drain(max_items=1)  # SHP-1 confirmed, SHP-2 still queued
    store_receipts(store, [replace(a, deleted=True), replace(b, deleted=True)], clock.now())
    assert drainer(store, client, clock).drain().sent == 0
    assert ref.confirmed() == {"SHP-1": "10"}
    with store.read() as conn:
        titles = {f["subject"]: f["title"] for f in active_findings(conn, HOSPITAL)}
    assert "请在平台核对" in titles["RK000001"] and "到货确认未发送" in titles["RK000002"]
    assert {r["idem_key"]: r["status"] for r in outbox_rows(store)} == {"confirm:SHP-1": "sent",
                                                                       "confirm:SHP-2": "quarantined"}


def test_a_withdrawn_receipt_raises_no_deadline_alarm_but_a_quarantined_one_does(ref, store, clock) -> None:
    from dataclasses import replace

    from agent.upstream.deadlines import check_deadlines

    for shp in ("SHP-1", "SHP-2"):
        ref.seed_delivery(HOSPITAL, shp, "Y0001", 10)
    client = make_client(ref)
    sync_deliveries(store, client, clock.now())
    a, b = receipt(1, delivery_id="SHP-1"), receipt(2, delivery_id="SHP-2")
    store_receipts(store, [a, b], clock.now())
    store_receipts(store, [replace(a, deleted=True)], clock.now())
    ref.state.deliveries[(HOSPITAL, "SHP-2")]["shpCnt"] = "1"
    drainer(store, client, clock).drain()
    with store.begin() as conn:
        late = check_deadlines(conn, HOSPITAL, START + timedelta(hours=20))
    assert [f.subject for f in late] == ["RK000002"]


def test_an_unmatched_receipt_deleted_by_the_warehouse_stops_being_a_finding(store, clock) -> None:
    from dataclasses import replace

    from agent.upstream.deadlines import check_deadlines

    r = receipt(9)
    store_receipts(store, [r], clock.now())
    store_receipts(store, [replace(r, deleted=True)], clock.now())
    with store.begin() as conn:
        assert active_findings(conn, HOSPITAL) == []
        assert check_deadlines(conn, HOSPITAL, clock.now() + timedelta(days=2)) == []


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_the_platform_hears_only_delivery_pulls_and_confirmations_under_their_own_codes(ref, store, clock, profile) -> None:
    receipts = [receipt(n) for n in range(1, 4)]
    ref.seed_for_receipts(HOSPITAL, receipts, with_ids=False)
    client = make_client(ref, profile)
    sync_deliveries(store, client, clock.now())
    store_receipts(store, receipts, clock.now())
    assert drainer(store, client, clock).drain().sent == 3
    heard = {code for _, code in ref.stats()["received"]} | set(ref.stats()["soap_messages"])
    expected = {"zj_infno": {"ZJ9671", "ZJ9658"}, "sh_soap": {"YY003", "YY018"}, "rest_json": set()}[profile]
    assert heard == expected  # never ZJ9659 (a return) nor YY017 (a payment)


def test_a_duplicate_receipt_voided_after_its_late_alarm_resolves_the_alarm_and_raises_none_again(ref, store, clock) -> None:
    from dataclasses import replace

    from agent.upstream.deadlines import check_deadlines

    ref.seed_delivery(HOSPITAL, "SHP-1", "Y0001", 10)
    client = make_client(ref)
    sync_deliveries(store, client, clock.now())
    first, duplicate = receipt(1, delivery_id="SHP-1"), receipt(2, delivery_id="SHP-1")  # one delivery, two 入库单
    store_receipts(store, [first, duplicate], clock.now())
    drainer(store, client, clock).drain()
    with store.begin() as conn:
        assert [f.subject for f in check_deadlines(conn, HOSPITAL, START + timedelta(hours=21))] == ["RK000002"]
    store_receipts(store, [replace(duplicate, deleted=True)], START + timedelta(hours=22))  # the warehouse voids it
    with store.read() as conn:
        assert active_findings(conn, HOSPITAL) == []
        assert conn.execute(select(platform_receipts.c.status).where(
            platform_receipts.c.receipt_line_id == "RK000002")).scalar() == "withdrawn"
    for hours in (23, 24, 48):  # the hourly check stays quiet
        with store.begin() as conn:
            assert check_deadlines(conn, HOSPITAL, START + timedelta(hours=hours)) == []


def test_a_receipt_voided_after_the_platform_refused_its_confirmation_stops_the_late_alarm(ref, store, clock) -> None:
    from dataclasses import replace

    from agent.upstream.deadlines import check_deadlines

    ref.seed_delivery(HOSPITAL, "SHP-2", "Y0001", 10)
    client = make_client(ref)
    sync_deliveries(store, client, clock.now())
    r = receipt(2, delivery_id="SHP-2")
    store_receipts(store, [r], clock.now())
    ref.state.deliveries[(HOSPITAL, "SHP-2")]["shpCnt"] = "1"  # the platform now refuses 10 against 1 shipped
    assert drainer(store, client, clock).drain().quarantined == 1
    with store.begin() as conn:
        assert [f.subject for f in check_deadlines(conn, HOSPITAL, START + timedelta(hours=21))] == ["RK000002"]
    store_receipts(store, [replace(r, deleted=True)], START + timedelta(hours=22))
    with store.read() as conn:
        assert [f["rule"] for f in active_findings(conn, HOSPITAL)] == []
        assert conn.execute(select(platform_confirmations.c.state)).scalar() == "withdrawn"
    with store.begin() as conn:
        assert check_deadlines(conn, HOSPITAL, START + timedelta(hours=23)) == []
