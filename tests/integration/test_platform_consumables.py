"""Arrival confirmation of consumables (耗材到货确认): a stent's receipt, in pieces (个), confirmed once
through each profile that takes consumables on its own door: ``rest_json`` (drugs and consumables
alike) and Shanghai's consumables service (``sh_soap``, YY131; its drug door refuses them)."""

from __future__ import annotations

from platform_support import APP_KEY, HOSPITAL, SECRET, drainer, make_client, receipt, store_receipts

from agent.upstream.client import PlatformClient
from agent.upstream.deliveries import sync_deliveries
from agent.upstream.profiles import PROFILES

STENT = "C0201010010100104744000012A"


def test_a_stent_receipt_is_confirmed_once_through_rest_json(ref, store, clock) -> None:
    stents = [receipt(n, item=STENT, qty="3", delivery_id=f"SHPHC{n}") for n in (1, 2)]
    ref.seed_for_receipts(HOSPITAL, stents)
    client = make_client(ref, "rest_json")
    sync_deliveries(store, client, clock.now())
    assert store_receipts(store, stents, clock.now()) == 2
    assert drainer(store, client, clock).drain().sent == 2
    assert ref.confirmed() == {"SHPHC1": "3", "SHPHC2": "3"}


def test_a_stent_receipt_is_confirmed_with_yy131_at_shanghais_consumables_door(ref, store, clock) -> None:
    ref.seed_delivery(HOSPITAL, "SHPHC9", STENT, 4, lot="L9")
    profile = PROFILES["sh_soap"].configured({"soap_service": "consumables"})
    client = PlatformClient(profile, ref.url_for("sh_soap", "consumables"), APP_KEY, SECRET, HOSPITAL)
    sync_deliveries(store, client, clock.now())
    assert store_receipts(store, [receipt(9, item=STENT, qty="4", delivery_id="SHPHC9", lot="L9")], clock.now()) == 1
    assert drainer(store, client, clock).drain().sent == 1
    assert ref.confirmed() == {"SHPHC9": "4"}
    assert ref.stats()["soap_messages"].get("YY131") == 1
