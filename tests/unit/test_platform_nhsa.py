"""The national 医保 envelope for 进销存: the msgid rule, the input key per transaction, the gateway signature."""

from __future__ import annotations

import hashlib
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from agent.upstream import nhsa

AT = datetime(2026, 12, 4, 16, 0, 5, tzinfo=ZoneInfo("Asia/Shanghai"))
WHO = nhsa.Institution("H33010000001", "测试医院", "330100")


def test_a_msgid_is_the_institution_code_the_second_and_a_four_digit_sequence() -> None:
    assert nhsa.msgid("H33010000001", AT, 42) == "H33010000001" + "20261204160005" + "0042"
    with pytest.raises(ValueError, match="12 letters"):
        nhsa.msgid("H330100", AT, 1)
    with pytest.raises(ValueError, match="4 digits"):
        nhsa.msgid("H33010000001", AT, 10000)


@pytest.mark.parametrize(("infno", "key"), [("3502", "invinfo"), ("3503", "purcinfo"), ("3505", "selinfo"), ("3507", "data")])
def test_each_transaction_puts_its_input_under_its_own_key(infno: str, key: str) -> None:
    body = nhsa.envelope(infno, [], WHO, AT, 1)
    assert body["input"] == {key: []} and body["infver"] == "V1.0" and list(body)[-1] == "input"


def test_a_transaction_outside_the_inventory_family_and_a_foreign_field_are_refused() -> None:
    with pytest.raises(ValueError, match="3501-3507"):
        nhsa.envelope("2207", {}, WHO, AT, 1)
    with pytest.raises(ValueError, match="psn_no"):
        nhsa.purchase_line({"med_list_codg": "X", "psn_no": "P1"})


def test_the_gateway_signs_time_token_and_nonce_not_the_body() -> None:
    headers = nhsa.gateway_headers("paas", "tok", 1764835200, "n1")
    assert headers["x-tif-signature"] == hashlib.sha256(b"1764835200tokn11764835200").hexdigest()
    assert nhsa.read_answer({"infcode": "0", "inf_refmsgid": "other"}, "mine").ok is False
    assert nhsa.read_answer({"infcode": "-1", "err_msg": "目录不存在"}, "mine").message == "目录不存在"
