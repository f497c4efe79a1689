"""No token, secret or signature ever reaches a log line, through success, refresh and failure."""

from __future__ import annotations

import structlog
from platform_support import HOSPITAL, SECRET, drainer, make_client, receipt, store_receipts

from agent.upstream.deliveries import sync_deliveries


def test_no_token_secret_or_signature_appears_in_any_log_event(ref, store, clock) -> None:
    receipts = [receipt(n, delivery_id=f"SHP{n}") for n in range(1, 5)]
    ref.seed_for_receipts(HOSPITAL, receipts)
    client = make_client(ref, "rest_json")
    signatures: list[str] = []
    original = client._sign  # record every signature the client computes
    client._sign = lambda key, msg: signatures.append(original(key, msg)) or signatures[-1]  # type: ignore[method-assign]
    with structlog.testing.capture_logs() as events:
        sync_deliveries(store, client, clock.now())
        store_receipts(store, receipts, clock.now())
        ref.arm("5xx")
        held = drainer(store, client, clock).drain()  # link down: logged
        clock.set(held.held_until)
        ref.arm("expired_token")
        drainer(store, client, clock).drain(max_items=2)  # link back, token refreshed: logged
        ref.state.deliveries[(HOSPITAL, "SHP4")]["shpCnt"] = "1"
        drainer(store, client, clock).drain()  # a rejection: logged
    text = repr(events)
    tokens = list(ref.state.tokens)
    assert {e["event"] for e in events} >= {"platform link down", "platform link back", "platform token refreshed",
                                            "platform refused a message"}
    assert len(tokens) == 2 and signatures
    for secret in [SECRET, *tokens, *signatures]:
        assert secret not in text
