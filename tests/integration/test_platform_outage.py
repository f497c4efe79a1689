"""A week-long platform outage on an accelerated clock: nothing lost, deadlines raised, backlog in order."""

from __future__ import annotations

from datetime import timedelta

from platform_support import APP_KEY, HOSPITAL, SECRET, START, make_client, outbox_rows, receipt, store_receipts

from agent.store.platform import active_findings
from agent.upstream.deadlines import check_deadlines
from agent.upstream.deliveries import sync_deliveries
from agent.upstream.drain import Drainer
from refplatform import ReferencePlatform

RATE = 100.0  # the platform's limit, requests per second


def test_a_seven_day_outage_loses_nothing_and_the_backlog_drains_in_order_within_the_rate_limit(store, clock) -> None:
    clock.set(START)
    every = timedelta(hours=2)
    receipts = [receipt(n, delivery_id=f"SHP{n:04d}", accepted_at=START + n * every) for n in range(1, 7 * 12 + 1)]
    with ReferencePlatform(apps={APP_KEY: SECRET}, rate_per_s=RATE, burst=5) as ref:
        ref.seed_for_receipts(HOSPITAL, receipts, listed_at=START - timedelta(hours=1))  # the week's notes, listed before
        client = make_client(ref, rate=RATE)
        sync_deliveries(store, client, clock.now())
        ref.arm("outage")
        drainer = Drainer(store, client, clock)
        pending = list(receipts)
        late_seen_at = None
        runs = 0
        while clock.now() < START + timedelta(days=7, hours=2):
            arrived = [r for r in pending if r.accepted_at <= clock.now()]
            pending = pending[len(arrived):]
            if arrived:
                store_receipts(store, arrived, clock.now())
            assert drainer.drain().sent == 0
            with store.begin() as conn:
                late = check_deadlines(conn, HOSPITAL, clock.now())
            if late and late_seen_at is None:
                late_seen_at = clock.now()
                first_late = late[0]
            clock.advance(timedelta(hours=1))
            runs += 1
        requests_during_outage = ref.stats()["faults_fired"]["outage"]
        ref.arm("outage", on=False)
        clock.advance(timedelta(hours=1))  # past the last hold (backoff is capped at an hour)
        result = drainer.drain()
        stats = ref.stats()
    assert pending == [] and result.sent == len(receipts) and result.held_until is None
    assert [c["shpId"] for c in stats["confirmations"]] == [f"SHP{n:04d}" for n in range(1, len(receipts) + 1)]
    assert stats["rate_refused"] == 0 and stats["double_confirm_refused"] == 0
    assert {r["status"] for r in outbox_rows(store)} == {"sent"}
    # the first acceptance was flagged critical 20 h after acceptance, before its 24 h deadline
    assert first_late.subject == "RK000001" and first_late.severity == "critical"
    assert timedelta(hours=20) <= late_seen_at - receipts[0].accepted_at < timedelta(hours=21)
    assert first_late.values["hours_left"] > 3
    # polite during the outage: at most one probe per drain run, never one per queued confirmation
    assert requests_during_outage <= runs
    with store.begin() as conn:
        assert check_deadlines(conn, HOSPITAL, clock.now()) == []
        assert [f for f in active_findings(conn, HOSPITAL) if f["rule"] == "platform.confirm_late"] == []


def test_during_an_outage_status_shows_the_link_down_since_when_and_what_is_held(store, clock) -> None:
    from agent.bootstrap import build_calendar
    from agent.cli.status import render_status
    from agent.config import AgentConfig
    from agent.runtime import Runtime

    clock.set(START + timedelta(hours=1))
    receipts = [receipt(n, delivery_id=f"SHP{n:04d}") for n in range(1, 4)]
    with ReferencePlatform(apps={APP_KEY: SECRET}) as ref:
        ref.seed_for_receipts(HOSPITAL, receipts)
        client = make_client(ref)
        sync_deliveries(store, client, clock.now())
        store_receipts(store, receipts, clock.now())
        ref.arm("outage")
        down_at = clock.now()
        for _ in range(3):
            Drainer(store, client, clock).drain()
            clock.advance(timedelta(hours=1))
        client.close()
    cfg = AgentConfig.model_validate({"hospital": {"code": HOSPITAL, "name": "测试医院"}})
    text = render_status(Runtime(cfg, clock, build_calendar(cfg), store))
    assert f"平台连接 platform link: 中断 DOWN 自 {down_at:%Y-%m-%d %H:%M}（3 小时前），连续失败 3 次" in text
    assert "积压 held: 到货确认 3 条，数据上报 0 条，最早一笔验收于 4 小时前" in text
    assert "最近错误 last error:" in text
