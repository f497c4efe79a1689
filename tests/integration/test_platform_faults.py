"""Each fault the reference platform injects, and what the agent does about it."""

from __future__ import annotations

import time

import httpx
import pytest
from platform_support import APP_KEY, HOSPITAL, SECRET, drainer, make_client, outbox_rows, receipt, store_receipts
from sqlalchemy import select

from agent.store.platform import active_findings, link_state
from agent.store.schema.platform import platform_confirmations, platform_link
from agent.upstream.client import PlatformCallError
from agent.upstream.deliveries import sync_deliveries
from agent.upstream.profiles import PROFILES


def _queue(ref, store, clock, n: int = 3, profile: str = "zj_infno", **kw):  # type: ignore[no-untyped-def]
    receipts = [receipt(i, delivery_id=f"SHP{i}") for i in range(1, n + 1)]
    ref.seed_for_receipts(HOSPITAL, receipts)
    client = make_client(ref, profile, **kw)
    sync_deliveries(store, client, clock.now())
    store_receipts(store, receipts, clock.now())
    return client


def _link(store):  # type: ignore[no-untyped-def]
    with store.read() as conn:
        return conn.execute(select(platform_link)).first()


@pytest.mark.parametrize("profile", sorted(PROFILES))
@pytest.mark.parametrize("mode", ["5xx", "html", "timeout", "truncated"])
def test_a_failed_answer_holds_the_queue_and_the_retry_confirms_each_line_once(ref, store, clock, mode, profile) -> None:
    client = _queue(ref, store, clock, profile=profile, read_timeout=0.3)
    ref.arm(mode, delay_s=0.6)
    first = drainer(store, client, clock).drain()
    assert first.sent == 0 and first.held_until is not None
    assert _link(store).state == "down"
    assert drainer(store, client, clock).drain().held_until == first.held_until  # still held: nothing sent
    clock.set(first.held_until)
    time.sleep(0.7 if mode == "timeout" else 0)  # let the slow answer finish on the server
    second = drainer(store, client, clock).drain()
    assert second.sent == 3 and _link(store).state == "up"
    assert sorted(ref.confirmed()) == ["SHP1", "SHP2", "SHP3"]
    applied = mode in ("timeout", "truncated")  # the platform had applied the first send
    if not PROFILES[profile].idempotency_header:  # as the real platforms: the re-send is answered "already confirmed" (done)
        assert ref.stats()["double_confirm_refused"] == int(applied)
    else:
        assert ref.stats()["double_confirm_refused"] == 0
        assert ref.stats()["idempotent_replays"] == int(applied)  # the retry got the first answer


def test_a_slow_answer_within_the_timeout_is_simply_accepted(ref, store, clock) -> None:
    client = _queue(ref, store, clock, read_timeout=2.0)
    ref.arm("slow", count=2, delay_s=0.2)
    assert drainer(store, client, clock).drain().sent == 3


def test_an_expired_token_is_refreshed_and_the_message_sent(ref, store, clock) -> None:
    client = _queue(ref, store, clock)
    assert drainer(store, client, clock).drain(max_items=1).sent == 1
    tokens_before = len(ref.state.tokens)
    ref.arm("expired_token")
    assert drainer(store, client, clock).drain().sent == 2
    assert len(ref.state.tokens) == tokens_before + 1


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_a_short_retry_after_is_waited_out_in_place(ref, store, clock, profile) -> None:
    client = _queue(ref, store, clock, profile=profile)
    ref.arm("rate_limit", retry_after_s=1)
    slept: list[float] = []
    result = drainer(store, client, clock, sleep=slept.append).drain()
    assert result.sent == 3 and slept == [1.0]


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_a_long_retry_after_holds_the_queue_for_that_long_up_to_the_cap(ref, store, clock, profile) -> None:
    client = _queue(ref, store, clock, profile=profile)
    ref.arm("rate_limit", retry_after_s=7200)
    result = drainer(store, client, clock, retry_after_cap_s=1800).drain()
    assert result.sent == 0
    assert (result.held_until - clock.now()).total_seconds() == 1800


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_a_long_outage_holds_with_growing_backoff_and_drains_when_it_ends(ref, store, clock, profile) -> None:
    client = _queue(ref, store, clock, profile=profile)
    ref.arm("outage")
    holds = []
    for _ in range(6):
        result = drainer(store, client, clock).drain()
        holds.append((result.held_until - clock.now()).total_seconds())
        clock.set(result.held_until)
    assert holds[-1] > holds[0]
    with store.read() as conn:  # an outage reads as one, not as a request to slow down
        assert "unavailable" in (link_state(conn, HOSPITAL).last_error or "")
    ref.arm("outage", on=False)
    assert drainer(store, client, clock).drain().sent == 3
    assert [r["idem_key"] for r in outbox_rows(store)] == ["confirm:SHP1", "confirm:SHP2", "confirm:SHP3"]


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_a_permanent_rejection_is_quarantined_with_the_platforms_own_words(ref, store, clock, profile) -> None:
    client = _queue(ref, store, clock, n=2, profile=profile)
    ref.state.deliveries[(HOSPITAL, "SHP1")]["shpCnt"] = "4"  # the platform now says only 4 were shipped
    result = drainer(store, client, clock).drain()
    assert (result.sent, result.quarantined) == (1, 1)
    rows = {r["idem_key"]: r for r in outbox_rows(store)}
    assert rows["confirm:SHP1"]["status"] == "quarantined"
    assert "大于配送数量" in rows["confirm:SHP1"]["last_error"]
    with store.read() as conn:
        state = dict(conn.execute(select(platform_confirmations.c.delivery_id, platform_confirmations.c.state)).all())
        [finding] = [f for f in active_findings(conn, HOSPITAL) if f["rule"] == "platform.confirm_rejected"]
    assert state == {"SHP1": "quarantined", "SHP2": "confirmed"}
    assert finding["severity"] == "critical" and "大于配送数量" in finding["title"]


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_an_already_confirmed_line_counts_as_confirmed_not_as_a_failure(ref, store, clock, profile) -> None:
    client = _queue(ref, store, clock, n=1, profile=profile)
    ref.state.confirm(HOSPITAL, [{"shpId": "SHP1", "shppCnt": "10"}], "confirmed-by-hand")
    assert drainer(store, client, clock).drain().sent == 1
    assert ref.stats()["double_confirm_refused"] == 1
    assert len(ref.confirmed()) == 1


def _raw_post(ref, body: bytes, headers: dict[str, str]) -> httpx.Response:  # type: ignore[no-untyped-def]
    return httpx.post(f"{ref.url}/api/v1/token", content=body, headers=headers)


def test_the_platform_refuses_a_replayed_request_and_a_stale_timestamp(ref) -> None:
    from agent.upstream.signers import hmac_sha256

    body = b'{"appKey":"app-test-1","medinsCode":"H"}'
    ts = str(int(time.time() * 1000))
    sig = hmac_sha256(SECRET.encode(), ts.encode() + b"\nn1\n" + body)
    headers = {"X-App-Key": APP_KEY, "X-Timestamp": ts, "X-Nonce": "n1", "X-Signature": sig}
    assert _raw_post(ref, body, headers).json()["code"] == "0"
    assert _raw_post(ref, body, headers).json()["code"] == "1003"
    stale = str(int((time.time() - 301) * 1000))
    headers = {**headers, "X-Timestamp": stale,
               "X-Signature": hmac_sha256(SECRET.encode(), stale.encode() + b"\nn1\n" + body)}
    assert _raw_post(ref, body, headers).json()["code"] == "1002"


def test_a_clock_six_minutes_off_or_a_wrong_secret_is_a_permanent_error_for_a_person(ref) -> None:
    with pytest.raises(PlatformCallError) as skew:
        make_client(ref, wall=lambda: time.time() + 360).fetch_token()
    with pytest.raises(PlatformCallError) as wrong:
        make_client(ref, secret="not-the-secret").fetch_token()
    assert skew.value.permanent and "1002" in str(skew.value)
    assert wrong.value.permanent and "1001" in str(wrong.value)


def test_refused_credentials_hold_the_queue_and_raise_one_critical_finding_until_fixed(ref, store, clock) -> None:
    client = _queue(ref, store, clock, n=2)
    ref.state.apps[APP_KEY] = "rotated-on-the-platform"
    client._token = None  # the platform also dropped our session
    held = drainer(store, client, clock).drain()
    assert held.sent == 0 and held.held_until is not None
    with store.read() as conn:
        [finding] = active_findings(conn, HOSPITAL)
    assert (finding["rule"], finding["severity"]) == ("platform.link_refused", "critical")
    assert "签名验证失败" in finding["title"]
    ref.state.apps[APP_KEY] = SECRET
    clock.set(held.held_until)
    assert drainer(store, client, clock).drain().sent == 2
    with store.read() as conn:
        assert active_findings(conn, HOSPITAL) == []


def test_a_token_refused_even_after_a_refresh_holds_the_queue_instead_of_quarantining(ref, store, clock) -> None:
    client = _queue(ref, store, clock, n=1)
    ref.state.token_ttl_s = 0  # every new token is born expired
    ref.arm("expired_token")  # and the one the client holds expires now
    result = drainer(store, client, clock).drain()
    assert (result.sent, result.quarantined) == (0, 0) and result.held_until is not None
    assert [r["status"] for r in outbox_rows(store)] == ["pending"]
