"""Deadline safety: 20 hours after acceptance an unconfirmed arrival is critical, 4 hours before the deadline."""

from __future__ import annotations

from datetime import timedelta

from platform_support import HOSPITAL, START, drainer, make_client, receipt, store_receipts

from agent.store.platform import active_findings
from agent.upstream.deadlines import check_deadlines
from agent.upstream.deliveries import sync_deliveries


def test_an_unconfirmed_arrival_turns_critical_at_twenty_hours_and_clears_once_confirmed(ref, store, clock) -> None:
    ref.seed_delivery(HOSPITAL, "SHP-1", "Y0001", 10)
    client = make_client(ref)
    sync_deliveries(store, client, clock.now())
    store_receipts(store, [receipt(1, delivery_id="SHP-1")], clock.now())
    with store.begin() as conn:
        assert check_deadlines(conn, HOSPITAL, START + timedelta(hours=19, minutes=59)) == []
        [late] = check_deadlines(conn, HOSPITAL, START + timedelta(hours=20))
    assert (late.rule, late.severity, late.values["hours_left"]) == ("platform.confirm_late", "critical", 4.0)
    assert "SHP-1" in late.title and "24小时时限剩余 4.0 小时" in late.title
    clock.set(START + timedelta(hours=20, minutes=5))
    drainer(store, client, clock).drain()
    with store.begin() as conn:
        assert check_deadlines(conn, HOSPITAL, clock.now()) == []
        assert active_findings(conn, HOSPITAL) == []


def test_an_unmatched_receipt_also_turns_critical_since_nobody_can_confirm_it_automatically(store, clock) -> None:
    store_receipts(store, [receipt(5)], clock.now())
    with store.begin() as conn:
        [late] = check_deadlines(conn, HOSPITAL, START + timedelta(hours=25))
    assert late.subject == "RK000005" and "未匹配配送单" in late.title and "已超时 1.0 小时" in late.title
