"""The sh_soap profile on its own: the SendRecv envelope, the SHA-1 sign, safe XML, codes and lines."""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET

import pytest

from agent.errors import PlatformError
from agent.upstream import soap
from agent.upstream.profiles import PROFILES, Credentials
from agent.upstream.signers import check_signer

PROFILE = PROFILES["sh_soap"]
CREDS = Credentials("hosp-user", b"Pw-Canary-0077", check_signer("sha1"))
NS = {"s": soap.SOAP_NS, "t": soap.SERVICE_NS}
LINE = {"product_code": "Y0001", "lot": "批号甲-01", "shipped_quantity": "10"}


def _sealed(data: dict, op: str = "confirm") -> dict[str, str]:
    req = PROFILE.seal(op, data, medins_code="H1", creds=CREDS, timestamp="1", nonce="n", token=None, idem_key="k")
    assert (req.path, req.headers["Content-Type"]) == ("/soap/SendRecv", "text/xml; charset=utf-8")
    call = ET.fromstring(req.body).find("s:Body/t:SendRecv", NS)
    assert call is not None
    return {el.tag.split("}")[1]: el.text or "" for el in call}


def test_send_recv_carries_the_seven_parameters_and_the_sha1_of_the_message() -> None:
    params = _sealed(PROFILE.confirm_data("H1", "SHP1", "8", "2026-11-23T09:30:00+08:00", LINE))
    assert list(params) == ["user", "password", "org_code", "version", "msg_type", "sign", "xml"]
    assert (params["user"], params["password"], params["org_code"], params["msg_type"]) == (
        "hosp-user", "Pw-Canary-0077", "H1", "YY018")
    assert params["sign"] == hashlib.sha1(params["xml"].encode("utf-8")).hexdigest()
    assert params["xml"].startswith('<?xml version="1.0" encoding="UTF-8"?>')


def test_a_final_acceptance_line_carries_counts_lot_and_time_with_chinese_intact() -> None:
    params = _sealed(PROFILE.confirm_data("H1", "SHP1", "8", "2026-11-23T09:30:00+08:00", LINE))
    struct = soap.parse_xml(params["xml"]).find("DETAIL/STRUCT")
    assert struct is not None
    fields = {el.tag: el.text for el in struct}
    assert fields == {"PSMXBH": "SHP1", "YPBM": "Y0001", "SCPH": "批号甲-01", "PSSL": "10", "YSSL": "8", "JSSL": "2",
                      "YSLX": "2", "YSSJ": "2026-11-23 09:30:00"}


def test_a_carriage_return_or_control_character_in_a_value_cannot_break_the_sign() -> None:
    params = _sealed(PROFILE.confirm_data("H1", "SHP1", "8", "2026-11-23T09:30:00+08:00",
                                          {**LINE, "lot": "批号\r\n甲\x01乙\r"}))
    assert params["sign"] == hashlib.sha1(params["xml"].encode("utf-8")).hexdigest()  # as the platform reads it
    assert soap.parse_xml(params["xml"]).findtext("DETAIL/STRUCT/SCPH") == "批号\n甲乙\n"


def test_a_consumable_code_goes_as_yy131_with_its_consumable_tag() -> None:
    code = "C" + "0" * 25 + "1"
    data = PROFILE.confirm_data("H1", "SHP2", "5", "2026-11-23T09:30:00+08:00", {"product_code": code})
    params = _sealed(data)
    struct = soap.parse_xml(params["xml"]).find("DETAIL/STRUCT")
    assert params["msg_type"] == "YY131" and struct is not None and struct.findtext("HCBM") == code
    assert struct.find("JSSL") is None  # shipped quantity unknown: no rejected count is invented


def test_pulling_delivery_notes_uses_the_assumed_message_type_and_no_token_or_report_exists() -> None:
    params = _sealed({"updatedSince": "2026-11-20T08:00:00+08:00", "afterId": None, "pageSize": 50}, op="deliveries")
    main = soap.parse_xml(params["xml"]).find("MAIN")
    assert params["msg_type"] == "YY017" and main is not None and main.findtext("MYJLS") == "50"
    assert (PROFILE.uses_token, PROFILE.supports_reports, PROFILE.signer) == (False, False, "sha1")
    for op in ("token", "report", "orders"):
        with pytest.raises(PlatformError, match=f"no '{op}' message"):
            PROFILE.message(op, {}, medins_code="H1")


@pytest.mark.parametrize(("code", "kind"), [("00", "ok"), ("01", "auth"), ("10", "auth"), ("20", "reject"),
                                            ("21", "done"), ("30", "busy"), ("99", None), ("0", None)])
def test_each_status_code_has_the_assumed_kind(code: str, kind: str | None) -> None:
    assert PROFILE.kind(code) == kind


def _answer(result_xml: str) -> bytes:
    escaped = result_xml.replace("&", "&amp;").replace("<", "&lt;")
    return (f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{soap.SOAP_NS}"><soap:Body>'
            f'<SendRecvResponse xmlns="{soap.SERVICE_NS}"><SendRecvResult>{escaped}</SendRecvResult>'
            "</SendRecvResponse></soap:Body></soap:Envelope>").encode()


def test_an_answer_is_read_with_the_platforms_chinese_words_and_a_line_already_final_is_done() -> None:
    refused = _answer('<?xml version="1.0" encoding="UTF-8"?><XMLDATA><HEAD><ZTCLJG>20</ZTCLJG>'
                      "<CWXX>配送明细已终验，不能重复确认</CWXX></HEAD><DETAIL><STRUCT><PSMXBH>S1</PSMXBH>"
                      "<CLJG>21</CLJG></STRUCT></DETAIL></XMLDATA>")
    answer = PROFILE.parse("confirm", 200, PROFILE.decode(refused))
    assert (answer.code, answer.message) == ("21", "配送明细已终验，不能重复确认")
    plain = _answer("<XMLDATA><HEAD><ZTCLJG>20</ZTCLJG><CWXX>数量错误</CWXX></HEAD></XMLDATA>")
    assert PROFILE.parse("confirm", 200, PROFILE.decode(plain)).code == "20"


@pytest.mark.parametrize("doc", [
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
    b'<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><x>&b;</x>',
    '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x SYSTEM "http://evil/x.dtd"><x/>'.encode("utf-16-le"),
    '<?xml version="1.0" encoding="UTF-16"?><x/>'.encode("utf-16"),
    b"<x>unclosed",
])
def test_xml_with_a_dtd_entities_another_encoding_or_broken_markup_is_refused(doc: bytes) -> None:
    with pytest.raises(ValueError):
        soap.parse_xml(doc)


def test_a_dtd_hidden_inside_the_result_message_is_refused_too() -> None:
    with pytest.raises(ValueError):
        PROFILE.decode(_answer('<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><XMLDATA>&e;</XMLDATA>'))


def test_a_soap_fault_or_an_html_page_is_no_answer() -> None:
    fault = (f'<soap:Envelope xmlns:soap="{soap.SOAP_NS}"><soap:Body><soap:Fault><faultcode>soap:Server</faultcode>'
             "<faultstring>服务暂停</faultstring></soap:Fault></soap:Body></soap:Envelope>").encode()
    answer = PROFILE.parse("confirm", 200, PROFILE.decode(fault))
    assert (answer.code, PROFILE.kind(answer.code), answer.message) == ("30", "busy", "SOAP fault: 服务暂停")
    with pytest.raises(ValueError):
        PROFILE.decode("<html><body><h1>系统维护中</h1></body></html>".encode())
