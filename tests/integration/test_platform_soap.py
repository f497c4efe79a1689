"""The Shanghai SOAP profile (sh_soap) against the reference platform's SOAP doors.

The shared behaviour (confirm once, faults, outages, rejections, kill -9) runs over this profile in
the parametrised platform tests; here is what only this shape has: no token, the account in the
body, the UPPERCASE SHA-1 of the message, YY003 / YY018 for drugs and YY155 / YY131 for consumables
at a separate endpoint, and the answer codes 00000 / 1xxxx / 2xxxx / 3xxxx / 10000.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import structlog
from platform_support import APP_KEY, HOSPITAL, SECRET, START, TZ, drainer, make_client, outbox_rows, receipt, store_receipts
from sqlalchemy import select

from agent.store.platform import active_findings
from agent.store.schema.platform import platform_delivery_lines as pdl
from agent.store.types import metadata
from agent.upstream.client import PlatformCallError, PlatformClient
from agent.upstream.deliveries import sync_deliveries
from agent.upstream.profiles import PROFILES

CONSUMABLE = "C02010100100000000000000012"  # 27 characters starting with C: a 医用耗材 code
PROFILE = PROFILES["sh_soap"]


def _soap(ref, **kw) -> PlatformClient:  # type: ignore[no-untyped-def]
    return make_client(ref, "sh_soap", **kw)


def _consumables(ref) -> PlatformClient:  # type: ignore[no-untyped-def]
    profile = PROFILES["sh_soap"].configured({"soap_service": "consumables"})
    return PlatformClient(profile, ref.url_for("sh_soap", "consumables"), APP_KEY, SECRET, HOSPITAL)


def _seed(ref, n: int = 3) -> list:  # type: ignore[no-untyped-def]
    receipts = [receipt(i, delivery_id=f"SHP{i}") for i in range(1, n + 1)]
    ref.seed_for_receipts(HOSPITAL, receipts)
    return receipts


def test_delivery_lines_are_pulled_page_by_page_with_chinese_names_intact(ref, store, clock, monkeypatch) -> None:
    monkeypatch.setattr("refplatform.soap.PAGE", 2)
    names = {"S1": "阿托伐他汀钙片（立普妥）", "S2": "注射用头孢曲松钠", "S4": "盐酸二甲双胍缓释片"}
    shipped = datetime(2026, 11, 20, 8, 5, 9, tzinfo=TZ)
    for n, (shp, name) in enumerate(names.items(), 1):
        ref.seed_delivery(HOSPITAL, shp, f"Y000{n}", 10 * n, lot=f"批号{n}", prodName=name, shipped_at=shipped)
    ref.seed_delivery(HOSPITAL, "S3", CONSUMABLE, 5, prodName="一次性使用无菌注射器 5ml")  # the other service's line
    result = sync_deliveries(store, _soap(ref), clock.now(), page_size=2, lookback_s=0)
    assert (result.lines, result.pages) == (3, 2)  # SFWJ 0 after the first page, 1 after the second
    with store.read() as conn:
        rows = {r.delivery_id: r for r in conn.execute(select(pdl))}
    assert {shp: rows[shp].product_name for shp in rows} == names
    assert (rows["S1"].lot, rows["S1"].quantity, rows["S1"].product_code) == ("批号1", "10", "Y0001")
    assert rows["S1"].shipped_at == shipped  # 20261120/080509/ (Beijing time) read back
    assert ref.stats()["soap_messages"] == {"YY003": 2}
    assert sync_deliveries(store, _soap(ref), clock.now()).lines == 0  # the PSMXBH cursor: nothing new after S4


def test_no_token_is_ever_fetched_and_asking_for_one_says_why(ref, store, clock) -> None:
    receipts = _seed(ref)
    client = _soap(ref)
    sync_deliveries(store, client, clock.now())
    store_receipts(store, receipts, clock.now())
    assert drainer(store, client, clock).drain().sent == 3
    assert ref.state.tokens == {}
    assert ref.stats()["requests"] == 4  # one pull, three confirmations: no token round trip
    with pytest.raises(PlatformCallError, match="no access token") as err:
        client.fetch_token()
    assert err.value.permanent
    assert client.check().startswith("account accepted") and ref.state.tokens == {}
    with pytest.raises(PlatformCallError, match="credentials"):
        _soap(ref, secret="not-the-password").check()


def test_a_drug_is_confirmed_with_yy018_and_a_consumable_with_yy131_at_its_own_endpoint(ref, store, clock, tmp_path) -> None:
    from agent.store import open_store

    ref.seed_delivery(HOSPITAL, "SHP-D", "Y0001", 10, lot="L1")
    ref.seed_delivery(HOSPITAL, "SHP-C", CONSUMABLE, 20, lot="L2")
    drugs = _soap(ref)
    sync_deliveries(store, drugs, clock.now())
    store_receipts(store, [receipt(1, delivery_id="SHP-D", lot="L1")], clock.now())
    assert drainer(store, drugs, clock).drain().sent == 1
    hc_store = open_store(f"sqlite:///{tmp_path / 'hc.db'}", HOSPITAL)  # the consumables account: its own section
    try:
        consumables = _consumables(ref)
        sync_deliveries(hc_store, consumables, clock.now())
        store_receipts(hc_store, [receipt(2, item=CONSUMABLE, delivery_id="SHP-C", lot="L2", qty="18")], clock.now())
        assert drainer(hc_store, consumables, clock).drain().sent == 1
    finally:
        hc_store.close()
    assert ref.confirmed() == {"SHP-D": "10", "SHP-C": "18"}  # 2 of the consumables refused at acceptance (YSBGS)
    assert ref.stats()["soap_messages"] == {"YY003": 1, "YY018": 1, "YY155": 1, "YY131": 1}


def test_the_platform_refuses_a_drug_message_for_a_consumable_line(ref) -> None:
    ref.seed_delivery(HOSPITAL, "SHP-C", CONSUMABLE, 20)
    client = _soap(ref)
    data = PROFILE.confirm_data(HOSPITAL, "SHP-C", "20", START.isoformat(),
                                {"product_code": CONSUMABLE, "shipped_quantity": "20"})
    answer = client.call("confirm", data)  # YY018 at the drug service: it has no such line
    assert (answer.code, PROFILE.kind(answer.code)) == ("20002", "reject")
    hc = PROFILES["sh_soap"].configured({"soap_service": "consumables"})
    wrong_door = PlatformClient(hc, ref.url, APP_KEY, SECRET, HOSPITAL)  # YY131 sent to the drug endpoint
    answer = wrong_door.call("confirm", hc.confirm_data(HOSPITAL, "SHP-C", "20", START.isoformat(),
                                                        {"product_code": CONSUMABLE, "shipped_quantity": "20"}))
    assert (answer.code, hc.kind(answer.code)) == ("20001", "reject") and "YY131" in answer.message
    assert ref.confirmed() == {}


def test_a_consumable_line_the_platform_refuses_is_read_from_its_own_line_result(ref) -> None:
    ref.seed_delivery(HOSPITAL, "SHP-C", CONSUMABLE, 20)
    hc = PROFILES["sh_soap"].configured({"soap_service": "consumables"})
    client = _consumables(ref)
    answer = client.call("confirm", hc.confirm_data(HOSPITAL, "SHP-C", "18", START.isoformat(),
                                                    {"product_code": CONSUMABLE, "shipped_quantity": "19"}))
    assert (answer.code, hc.kind(answer.code)) == ("20003", "reject")  # ZTCLJG 10000, the line's CLJG 20003
    assert "配送量" in answer.message and ref.confirmed() == {}


def test_a_confirmed_line_sent_again_is_done_not_an_error(ref, store, clock) -> None:
    receipts = _seed(ref, 1)
    client = _soap(ref)
    sync_deliveries(store, client, clock.now())
    store_receipts(store, receipts, clock.now())
    assert drainer(store, client, clock).drain().sent == 1
    again = client.confirm("SHP1", "10", START.isoformat(), "confirm:SHP1", {"product_code": "Y0001", "shipped_quantity": "10"})
    assert (again.code, PROFILE.kind(again.code)) == ("30001", "done")
    assert "已确认" in again.message
    assert ref.confirmed() == {"SHP1": "10"}


def test_a_wrong_password_holds_the_queue_and_raises_one_critical_finding_for_a_person(ref, store, clock) -> None:
    receipts = _seed(ref, 2)
    sync_deliveries(store, _soap(ref), clock.now())
    store_receipts(store, receipts, clock.now())
    held = drainer(store, _soap(ref, secret="an-old-password-0001"), clock).drain()
    assert held.sent == 0 and held.held_until is not None
    with store.read() as conn:
        [finding] = active_findings(conn, HOSPITAL)
    assert (finding["rule"], finding["severity"]) == ("platform.link_refused", "critical")
    assert "用户名或密码错误" in finding["title"]
    assert [r["status"] for r in outbox_rows(store)] == ["pending", "pending"]  # nothing quarantined
    clock.set(held.held_until)
    assert drainer(store, _soap(ref), clock).drain().sent == 2
    with store.read() as conn:
        assert active_findings(conn, HOSPITAL) == []


def test_a_sign_that_does_not_match_the_message_is_an_error_for_a_person(ref) -> None:
    ref.seed_delivery(HOSPITAL, "S1", "Y0001", 10)
    keyed = PlatformClient(PROFILE, ref.url, APP_KEY, SECRET, HOSPITAL, signer="hmac-sha256")  # not SHA-1 of the XML
    with pytest.raises(PlatformCallError) as err:
        keyed.deliveries(None, None, 10)
    assert err.value.permanent and err.value.code == "11005" and "签名" in str(err.value)
    assert ref.stats()["refused"] == {"11005": 1} and ref.stats()["soap_messages"] == {}


class _LowercaseSign(type(PROFILE)):  # type: ignore[misc]
    """What the old profile did: the right SHA-1, in lowercase."""

    def seal(self, op, data, **kw):  # type: ignore[no-untyped-def]
        req = super().seal(op, data, **kw)
        body = req.body.decode()
        sign = body.split("<sSign>")[1].split("</sSign>")[0]
        return type(req)(req.method, req.path, body.replace(sign, sign.lower()).encode(), req.headers)


def test_the_platform_checks_the_case_of_the_sign_and_the_names_of_the_parameters(ref) -> None:
    lowercase = PlatformClient(_LowercaseSign(), ref.url, APP_KEY, SECRET, HOSPITAL)
    with pytest.raises(PlatformCallError) as err:
        lowercase.deliveries(None, None, 10)
    assert err.value.code == "11005"
    main = PROFILE.configured({"soap_preset": "mainservice"})  # arg0..arg6 where the WSDL says sUser..xmlData
    with pytest.raises(PlatformCallError, match="not SOAP XML|failed"):
        PlatformClient(main, ref.url, APP_KEY, SECRET, HOSPITAL).deliveries(None, None, 10)
    assert ref.stats()["soap_messages"] == {}


def test_the_mainservice_preset_speaks_to_a_mainservice_platform() -> None:
    from refplatform import ReferencePlatform

    with ReferencePlatform(apps={APP_KEY: SECRET}, soap_preset="mainservice") as other:
        other.seed_delivery(HOSPITAL, "S1", "Y0001", 10)
        client = PlatformClient(PROFILE.configured({"soap_preset": "mainservice"}), other.url, APP_KEY, SECRET, HOSPITAL)
        lines, more = client.deliveries(None, None, 10)
    assert [ln["delivery_id"] for ln in lines] == ["S1"] and more is False


def test_a_busy_platform_holds_the_queue_for_its_retry_after_then_everything_is_confirmed_once(ref, store, clock) -> None:
    receipts = _seed(ref)
    client = _soap(ref)
    sync_deliveries(store, client, clock.now())
    store_receipts(store, receipts, clock.now())
    ref.rate.rate, ref.rate.burst = 0.01, 1  # one more request, then status 30 for a long while
    client.deliveries(None, None, 10)
    with pytest.raises(PlatformCallError) as busy:
        client.deliveries(None, None, 10)
    assert busy.value.transient and busy.value.code == "11001" and busy.value.retry_after_s >= 60
    first = drainer(store, client, clock, inline_wait_cap_s=0).drain()
    assert first.sent == 0 and first.held_until is not None
    assert (first.held_until - clock.now()).total_seconds() >= 60  # the Retry-After, not a blind retry
    ref.rate.rate = None
    clock.set(first.held_until)
    assert drainer(store, client, clock).drain().sent == 3
    assert sorted(ref.confirmed()) == ["SHP1", "SHP2", "SHP3"] and ref.stats()["double_confirm_refused"] == 0


def test_the_password_appears_in_no_log_line_error_or_stored_row_even_when_the_platform_refuses(ref, store, clock) -> None:
    receipts = _seed(ref, 4)
    client = _soap(ref)
    wrong = "Wrong-Soap-Password-Canary-4410"
    errors: list[str] = []
    with structlog.testing.capture_logs() as events:
        sync_deliveries(store, client, clock.now())
        store_receipts(store, receipts, clock.now())
        ref.arm("5xx")
        held = drainer(store, client, clock).drain()  # link down: logged
        clock.set(held.held_until)
        ref.state.deliveries[(HOSPITAL, "SHP4")]["shpCnt"] = "1"
        drainer(store, client, clock).drain()  # link back; SHP4 refused (20003): logged and quarantined
        bad = _soap(ref, secret=wrong)
        for call in (lambda: bad.deliveries(None, None, 10), bad.fetch_token):
            with pytest.raises(PlatformCallError) as err:
                call()
            errors += [str(err.value), repr(err.value), str(err.value.platform_message)]
        store_receipts(store, [receipt(9, delivery_id="SHP9")], clock.now())
        ref.seed_delivery(HOSPITAL, "SHP9", "Y0001", 10)
        sync_deliveries(store, client, clock.now())
        clock.advance(timedelta(hours=2))
        drainer(store, bad, clock).drain()  # credentials refused (11003): logged, a finding, the link row
    assert {e["event"] for e in events} >= {"platform link down", "platform link back", "platform refused a message"}
    assert ref.stats()["refused"].get("11003", 0) >= 2
    with store.read() as conn:
        stored = [repr(list(conn.execute(select(t)))) for t in metadata.sorted_tables]
    for text in (repr(events), *errors, *stored):
        assert SECRET not in text and wrong not in text
