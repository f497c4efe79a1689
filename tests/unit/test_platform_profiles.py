"""Each profile sends a confirmation under the one code that means "arrival confirmed", and nothing else.

A confirmation filed as a return application (Zhejiang ZJ9659) or a payment confirmation (Shanghai
YY017) would be accepted by the platform and mean something else entirely; these tests read the
code out of the sealed request, as the platform would.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from agent.upstream import signers
from agent.upstream.profiles import PROFILES, Credentials, Profile, Request
from agent.upstream.soap import parse_xml

CONSUMABLE = "C02010100100000000000000012"
LINE = {"product_code": "XA10BAE054A001010100001", "lot": "L1", "shipped_quantity": "10", "distributor_code": "D1",
        "order_code": "TM0001"}
CREDS = Credentials("acct-1", b"password-1", signers.sha1_of_message)


def _seal(profile: Profile, op: str, data: dict) -> Request:  # type: ignore[type-arg]
    creds = CREDS if profile.signer == "sha1" else Credentials("acct-1", b"key", signers.SIGNERS[profile.signer])
    return profile.seal(op, data, medins_code="H1", creds=creds, timestamp="1764900000000", nonce="n", token="T",
                        idem_key="confirm:SHP1")


def _soap_call(req: Request) -> tuple[str, dict[str, str]]:
    call = next(iter(next(iter(parse_xml(req.body)))))
    return call.tag, {c.tag: c.text or "" for c in call}


def _confirm(profile: Profile, line: dict | None = None) -> Request:  # type: ignore[type-arg]
    return _seal(profile, "confirm", profile.confirm_data("H1", "SHP1", "10", "2026-11-23T09:00:00+08:00", line or LINE))


def test_zhejiang_confirms_under_zj9658_take_delivery_never_the_return_application() -> None:
    profile = PROFILES["zj_infno"]
    doc = json.loads(_confirm(profile).body)
    assert doc["infno"] == "ZJ9658" == profile.confirmation_code({})
    assert set(doc["input"]["data"]) == {"medinsCode", "list"}  # the hospital code inside data, not beside it
    assert "ZJ9659" not in profile.transactions.values()  # 退货申请 is no operation of ours at all


def test_zhejiang_pulls_deliveries_with_zj9671_over_an_update_window_and_pages() -> None:
    req = _seal(PROFILES["zj_infno"], "deliveries", {"updatedSince": "2026-11-23T08:00:00+08:00", "updatedUntil": None,
                                                      "afterId": None, "pageSize": 50, "page": 2})
    doc = json.loads(req.body)
    assert doc["infno"] == "ZJ9671"
    assert doc["input"]["data"] == {"medinsCode": "H1", "shpUpdateStartTime": "2026-11-23 08:00:00",
                                    "shpUpdateEndTime": None, "current": 2, "size": 50}


def test_shanghai_drugs_confirm_with_yy018_and_never_yy017() -> None:
    profile = PROFILES["sh_soap"]
    tag, params = _soap_call(_confirm(profile))
    assert tag.endswith("}sendRecv") and params["sXxlx"] == "YY018"
    assert params["sVersion"] == "1.0.0.0" and params["sSign"] == params["sSign"].upper()
    message = ET.fromstring(params["xmlData"])
    assert [c.tag for c in message] == ["HEAD", "MAIN"]  # no list, no DETAIL
    assert [c.tag for c in message.find("HEAD")] == ["IP", "MAC", "BZXX"]
    assert [c.tag for c in message.find("MAIN")] == ["YQBM", "PSMXBH", "PSDTM", "ZXSPBM", "PSL", "SCPH", "YSJG", "YSJGBZ"]
    _, pull = _soap_call(_seal(profile, "deliveries", {"afterId": "P9"}))
    assert pull["sXxlx"] == "YY003"  # YY017 is a payment confirmation


def test_shanghai_consumables_confirm_with_yy131_as_final_acceptance() -> None:
    profile = PROFILES["sh_soap"].configured({"soap_service": "consumables"})
    tag, params = _soap_call(_confirm(profile, {**LINE, "product_code": CONSUMABLE, "shipped_quantity": "12"}))
    assert params["sXxlx"] == "YY131" == profile.confirmation_code({"msg_type": "YY131"})
    message = ET.fromstring(params["xmlData"])
    assert {c.tag: c.text for c in message.find("MAIN")} == {"PSYSLX": "2", "JLS": "1"}
    struct = {c.tag: c.text for c in message.find("DETAIL/STRUCT")}
    assert (struct["YSTGS"], struct["YSBGS"], struct["PSL"]) == ("10", "2", "12")


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_every_profile_names_its_confirmation_code_and_it_is_the_one_sent(name: str) -> None:
    profile = PROFILES[name]
    req = _confirm(profile)
    sent = req.path if name == "rest_json" else (json.loads(req.body)["infno"] if name == "zj_infno"
                                                 else _soap_call(req)[1]["sXxlx"])
    expected = {"rest_json": "/api/v1/confirmations", "zj_infno": "ZJ9658", "sh_soap": "YY018"}[name]
    assert sent == expected


def test_the_soap_presets_name_the_parameters_as_each_wsdl_does() -> None:
    main = PROFILES["sh_soap"].configured({"soap_preset": "mainservice", "head_ip": "10.1.2.3", "head_mac": "AA-BB"})
    req = _confirm(main)
    tag, params = _soap_call(req)
    assert list(params) == [f"arg{i}" for i in range(7)] and req.path == "/service/mainservice"
    assert ET.fromstring(params["arg6"]).find("HEAD/IP").text == "10.1.2.3"
    assert PROFILES["sh_soap"].path == "/services/dispatcher"  # the shared profile is never changed by config


@pytest.mark.parametrize(("code", "kind"), [("00000", "ok"), ("11001", "busy"), ("11003", "auth"), ("11005", "auth"),
                                             ("11006", "auth"), ("12000", "busy"), ("20001", "reject"), ("30001", "done")])
def test_shanghai_answer_codes_mean_what_the_clients_say(code: str, kind: str) -> None:
    assert PROFILES["sh_soap"].kind(code) == kind


def test_a_partly_failed_answer_is_read_line_by_line() -> None:
    body = {"head": {"ZTCLJG": "10000", "CWXX": "部分失败"}, "main": {}, "lines": [
        {"PSMXBH": "P1", "CLJG": "30001", "CLQKMS": "已验收"}]}
    answer = PROFILES["sh_soap"].parse("confirm", 200, body)
    assert (answer.code, answer.message) == ("30001", "已验收")
    assert PROFILES["sh_soap"].retry_after_s("11001") == 600
