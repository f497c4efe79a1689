"""The reference platform's own surface, and the agent's delivery sync and report upload against it."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import httpx
import pytest
from platform_support import APP_KEY, HOSPITAL, SECRET, START, TZ, drainer, make_client, outbox_rows
from sqlalchemy import select

from agent.errors import DataError
from agent.store.schema.platform import platform_delivery_lines
from agent.upstream.client import PlatformClient
from agent.upstream.deliveries import sync_deliveries
from agent.upstream.profiles import PROFILES, InfnoProfile
from agent.upstream.reports import queue_monthly_report
from agent.upstream.signers import hmac_sm3


def test_the_openapi_description_is_served_and_names_every_door(ref) -> None:
    doc = httpx.get(f"{ref.url}/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    assert {"/gateway", "/accessToken", "/api/v1/confirmations", "/api/v1/deliveries/query", "/services/dispatcher",
            "/admin/faults"} <= set(doc["paths"])


def test_delivery_sync_pages_by_keyset_and_a_second_sync_reads_only_what_changed(ref, store, clock) -> None:
    base = datetime(2026, 11, 20, 8, 0, tzinfo=TZ)
    for n in range(1, 8):  # two lines share each timestamp: the keyset must not lose one at a page edge
        ref.seed_delivery(HOSPITAL, f"S{n:02d}", "Y0001", n, updated_at=base + timedelta(minutes=n // 2))
    client = make_client(ref, "rest_json")
    first = sync_deliveries(store, client, clock.now(), page_size=3, lookback_s=0)
    assert (first.lines, first.pages) == (7, 3)
    ref.seed_delivery(HOSPITAL, "S08", "Y0002", 8, updated_at=base + timedelta(hours=2))
    ref.seed_delivery(HOSPITAL, "S01", "Y0001", 5, updated_at=base + timedelta(hours=2))  # a correction
    second = sync_deliveries(store, client, clock.now(), page_size=3, lookback_s=0)
    assert second.lines == 2
    with store.read() as conn:
        rows = dict(conn.execute(select(platform_delivery_lines.c.delivery_id, platform_delivery_lines.c.quantity)).all())
    assert sorted(rows) == [f"S{n:02d}" for n in range(1, 9)] and rows["S01"] == "5"


@pytest.mark.parametrize("profile", sorted(p for p in PROFILES if PROFILES[p].supports_reports))
def test_the_monthly_aggregates_are_uploaded_once(ref, store, clock, profile) -> None:
    rows = [{"product_code": "XA10BAE054A001010100001", "quantity": "1200", "amount": "3600.00", "completion": 0.62}]
    with store.begin() as conn:
        assert queue_monthly_report(conn, HOSPITAL, PROFILES[profile], "2026-10", rows, clock.now()) is True
        assert queue_monthly_report(conn, HOSPITAL, PROFILES[profile], "2026-10", rows, clock.now()) is False
    assert drainer(store, make_client(ref, profile), clock).drain().sent == 1
    assert ref.state.reports[(HOSPITAL, "2026-10")]["items"] == rows


def test_zhejiang_deliveries_are_read_page_by_page_over_an_update_window_and_again_from_the_last_sync(ref, store, clock) -> None:
    now = clock.now()
    for n in range(1, 8):
        ref.seed_delivery(HOSPITAL, f"Z{n:02d}", "Y0001", n, updated_at=now - timedelta(hours=3, minutes=n))
    ref.seed_delivery(HOSPITAL, "Z-OLD", "Y0001", 1, updated_at=now - timedelta(days=30))  # before the first window
    client = make_client(ref, "zj_infno")
    first = sync_deliveries(store, client, now, page_size=3, lookback_s=3600)
    assert (first.lines, first.pages) == (7, 3)
    later = now + timedelta(hours=2)
    ref.seed_delivery(HOSPITAL, "Z01", "Y0001", 5, updated_at=later - timedelta(minutes=30))  # a correction
    second = sync_deliveries(store, client, later, page_size=3, lookback_s=3600)
    assert second.lines == 1
    with store.read() as conn:
        rows = dict(conn.execute(select(platform_delivery_lines.c.delivery_id, platform_delivery_lines.c.quantity)).all())
    assert "Z-OLD" not in rows and rows["Z01"] == "5" and len(rows) == 7


def test_a_report_row_with_a_patient_field_never_leaves_the_hospital(store, clock) -> None:
    rows = [{"product_code": "X", "quantity": "1", "psn_no": "P001"}]
    with store.begin() as conn, pytest.raises(DataError, match="psn_no"):
        queue_monthly_report(conn, HOSPITAL, PROFILES["rest_json"], "2026-10", rows, clock.now())
    assert outbox_rows(store) == []


def test_the_platform_refuses_patient_fields_even_if_they_were_sent(ref) -> None:
    code, message, _ = ref.state.upload_report(HOSPITAL, {"month": "2026-10", "items": [{"psn_no": "1"}]})
    assert code == "2004" and "患者" in message


def test_orders_and_bills_are_listed_for_the_hospital_only(ref) -> None:
    ref.seed_order(HOSPITAL, "OD1", "Y0001", 5, START, distributor="D1")
    ref.seed_order("H-OTHER", "OD2", "Y0001", 5, START)
    ref.seed_bill(HOSPITAL, "JS1", "99.5", START, distributor="D1")
    client = make_client(ref, "rest_json")
    orders, more = client.listing("orders", None, None, 50)
    assert [(o["order_id"], o["distributor_code"], o["quantity"]) for o in orders] == [("OD1", "D1", "5")] and not more
    bills, _ = client.listing("bills", None, None, 50)
    assert [(b["bill_id"], b["amount"], b["paid_at"]) for b in bills] == [("JS1", "99.5", None)]


def test_a_fault_can_be_armed_over_http(ref) -> None:
    assert httpx.post(f"{ref.url}/admin/faults", json={"mode": "html"}).json() == {"armed": "html"}
    assert httpx.post(f"{ref.url}/admin/faults", json={"mode": "meteor"}).status_code == 400
    with pytest.raises(Exception, match="not JSON"):
        make_client(ref).fetch_token()


def test_a_confirmation_filed_as_a_return_application_is_refused_and_confirms_nothing(ref) -> None:
    class OldGuess(InfnoProfile):  # what the profile used to send: ZJ9659 (退货申请) for a confirmation
        transactions = {**InfnoProfile.transactions, "confirm": "ZJ9659"}

    ref.seed_delivery(HOSPITAL, "SHP-R", "Y0001", 10)
    client = PlatformClient(OldGuess(), ref.url, APP_KEY, SECRET, HOSPITAL)
    answer = client.confirm("SHP-R", "10", "2026-11-23T09:00:00+08:00", "confirm:SHP-R")
    assert answer.code == "9997" and "退货申请" in answer.message
    assert ref.confirmed() == {} and ("gateway", "ZJ9659") in ref.stats()["received"]


def test_the_zhejiang_door_refuses_milliseconds_an_uppercase_signature_and_a_code_outside_data(ref) -> None:
    client = make_client(ref, "zj_infno")
    token = client.fetch_token()
    good = b'{"infno":"ZJ9671","input":{"data":{"medinsCode":"%s","current":1,"size":10}}}' % HOSPITAL.encode()
    outside = b'{"infno":"ZJ9671","medinsCode":"%s","input":{"data":{"current":1,"size":10}}}' % HOSPITAL.encode()

    def post(body: bytes, ts: str, upper: bool = False) -> str:
        sig = hmac_sm3(SECRET.encode(), ts.encode() + b"\n" + body)
        headers = {"x-ca-key": APP_KEY, "x-ca-signature": f"{ts}:{sig.upper() if upper else sig}", "Access-Token": token}
        return str(httpx.post(f"{ref.url}/gateway", content=body, headers=headers).json()["infcode"])

    seconds = str(int(time.time()))
    assert post(good, seconds) == "0"
    assert post(good, seconds + "000") == "1001"  # milliseconds: not this platform's timestamp
    assert post(good, seconds, upper=True) == "1001"
    assert post(outside, seconds) == "9998"  # the hospital code belongs inside data
