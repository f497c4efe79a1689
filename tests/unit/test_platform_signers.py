"""Signers and profiles: known answers, the SM3 check at start, what each profile signs and parses."""

from __future__ import annotations

import hashlib
import json

import pytest

from agent.errors import ConfigError
from agent.upstream import signers
from agent.upstream.profiles import CODE_KIND, PROFILES, Credentials, get_profile

FOX = b"The quick brown fox jumps over the lazy dog"


def test_sm3_on_this_machine_gives_the_gb_t_32905_test_vector() -> None:
    assert signers.sm3_implementation() in ("openssl", "cryptography")
    if signers.sm3_implementation() == "openssl":
        assert hashlib.new("sm3", b"abc").hexdigest() == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


def test_openssl_and_cryptography_agree_on_hmac_sm3() -> None:
    assert signers._hmac_sm3_openssl(b"key", FOX) == signers._hmac_sm3_cryptography(b"key", FOX)


def test_hmac_sha256_gives_the_published_answer() -> None:
    assert signers.hmac_sha256(b"key", FOX) == "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"


@pytest.mark.parametrize("name", sorted(signers.SIGNERS))
def test_every_registered_signer_passes_its_check_at_start(name: str) -> None:
    assert signers.check_signer(name)(b"key", FOX) == signers._KNOWN_ANSWERS[name]


def test_an_unknown_signer_stops_the_agent_with_the_choices() -> None:
    with pytest.raises(ConfigError, match="hmac-sha256, hmac-sm3"):
        signers.check_signer("sm2")


def test_a_signer_giving_a_wrong_answer_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(signers.SIGNERS, "hmac-sha256", lambda k, m: "0" * 64)
    with pytest.raises(ConfigError, match="wrong answer"):
        signers.check_signer("hmac-sha256")


def test_the_infno_profile_wraps_data_in_the_envelope_and_signs_seconds_in_x_ca_headers() -> None:
    p = get_profile("zj_infno")
    data = p.confirm_data("H1", "SHP1", "10", "2026-11-23T09:00:00+08:00")
    creds = Credentials("acct-1", b"key", signers.hmac_sm3)
    req = p.seal("confirm", data, medins_code="H1", creds=creds, timestamp="1700000000123", nonce="n", token="T",
                 idem_key="confirm:SHP1")
    doc = json.loads(req.body)
    assert (req.method, req.path, doc) == ("POST", "/gateway", {"infno": "ZJ9658", "input": {"data": {
        "medinsCode": "H1", "list": [{"shpId": "SHP1", "shppCnt": "10"}]}}})
    assert req.headers["x-ca-key"] == "acct-1" and req.headers["Access-Token"] == "T"
    assert req.headers["x-ca-signature"] == "1700000000:" + signers.hmac_sm3(b"key", b"1700000000\n" + req.body)
    assert not {"Idempotency-Key", "Authorization", "X-Signature"} & set(req.headers)


def test_each_profile_reads_success_and_the_platforms_own_error_text() -> None:
    infno, rest = PROFILES["zj_infno"], PROFILES["rest_json"]
    assert infno.parse("confirm", 200, {"infcode": "0", "output": {"data": {"x": 1}}}).data == {"x": 1}
    assert infno.parse("confirm", 200, {"infcode": "0", "output": {"x": 1}}).code == "9999"  # no output.data
    err = infno.parse("confirm", 200, {"infcode": "2002", "err_msg": "到货数量大于配送数量"})
    assert (err.code, err.message) == ("2002", "到货数量大于配送数量")
    assert rest.parse("confirm", 422, {"code": "2002", "message": "太多"}).message == "太多"
    assert rest.parse("confirm", 200, "<html>").code == "9999"
    assert CODE_KIND[err.code] == "reject"


def test_an_unknown_profile_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="rest_json, sh_soap, zj_infno"):
        get_profile("guangdong_soap")
