"""Each sender against a local server imitating its vendor: signatures, error codes, rate limits,
size limits; email through a local SMTP server (aiosmtpd), plain relay, login and STARTTLS."""

from __future__ import annotations

import email
import ssl
from datetime import datetime
from email.header import decode_header, make_header
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import structlog

from agent.clock import FakeClock
from agent.errors import NotifyError
from agent.notify import SENDERS, build_sender
from agent.notify.config import ReceiverConfig, parse_receiver
from tests.fakes.vendors import VendorRobots

NOW = datetime.now(ZoneInfo("Asia/Shanghai")).replace(microsecond=0)
WECOM_KEY, DING_TOKEN, DING_SECRET = "WecomKeyCanary0001", "DingTokenCanary0002", "SECdingSecretCanary0003"
FEISHU_HOOK, FEISHU_SECRET, HOOK_SECRET = "FeishuHookCanary0004", "FeishuSecretCanary0005", "HookSecretCanary0006"
SMTP_PASSWORD = "SmtpPasswordCanary0007"
CANARIES = [WECOM_KEY, DING_TOKEN, DING_SECRET, FEISHU_HOOK, FEISHU_SECRET, HOOK_SECRET, SMTP_PASSWORD]
MSG = {"title": "【集采预警】严重：阿托伐他汀钙片 完成进度落后", "text": "**【集采预警】严重：阿托伐他汀钙片**\n情况：完成进度 31.2%", "severity": "critical"}


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"T_WECOM": WECOM_KEY, "T_DING": DING_TOKEN, "T_DING_SECRET": DING_SECRET, "T_FEISHU": FEISHU_HOOK,
                        "T_FEISHU_SECRET": FEISHU_SECRET, "T_HOOK_SECRET": HOOK_SECRET, "T_SMTP": SMTP_PASSWORD}.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def robots():
    clock = FakeClock(NOW)
    with VendorRobots(wecom_key=WECOM_KEY, ding_token=DING_TOKEN, ding_secret=DING_SECRET, feishu_hook=FEISHU_HOOK,
                      feishu_secret=FEISHU_SECRET, webhook_secret=HOOK_SECRET, keyword="集采", now=clock.now) as r:
        r.clock = clock
        yield r


def receiver(kind: str, base: str, **extra: Any) -> ReceiverConfig:
    keys = {
        "wecom": {"key_env": "T_WECOM"},
        "dingtalk": {"key_env": "T_DING", "secret_env": "T_DING_SECRET"},
        "feishu": {"key_env": "T_FEISHU", "secret_env": "T_FEISHU_SECRET"},
        "webhook": {"url": f"{base}/hook", "secret_env": "T_HOOK_SECRET"},
    }[kind]
    base_key = {} if kind == "webhook" else {"api_base": base}  # a webhook's URL is its whole address
    return parse_receiver({"type": kind, **base_key, **keys, **extra})


@pytest.mark.parametrize("kind", sorted(t for t in SENDERS if t != "email"))  # every HTTP channel of the registry
def test_each_robot_accepts_a_signed_message(robots: VendorRobots, kind: str) -> None:
    sender = build_sender("r", receiver(kind, robots.url), robots.clock)
    sender.send(MSG)
    assert "阿托伐他汀钙片" in robots.messages(kind)[0]["content"]


def test_wecom_text_carries_the_mentioned_mobiles_for_critical_alerts(robots: VendorRobots) -> None:
    sender = build_sender("r", receiver("wecom", robots.url, format="text", mentioned_mobiles=["13800000000"]), robots.clock)
    sender.send(MSG)
    sender.send({**MSG, "severity": "warning"})
    bodies = [m["body"]["text"] for m in robots.messages("wecom")]
    assert bodies[0]["mentioned_mobile_list"] == ["13800000000"] and bodies[1]["mentioned_mobile_list"] == []
    assert "**" not in bodies[0]["content"]


@pytest.mark.parametrize("kind, code", [("wecom", "93000"), ("dingtalk", "300001"), ("feishu", "19001")])
def test_a_wrong_key_is_a_permanent_error(robots: VendorRobots, kind: str, code: str, monkeypatch) -> None:
    monkeypatch.setenv({"wecom": "T_WECOM", "dingtalk": "T_DING", "feishu": "T_FEISHU"}[kind], "not-the-key")
    sender = build_sender("r", receiver(kind, robots.url), robots.clock)
    with pytest.raises(NotifyError) as err:
        sender.send(MSG)
    assert err.value.permanent and err.value.code == code


@pytest.mark.parametrize("kind, code", [("dingtalk", "310000"), ("feishu", "19021")])
def test_a_wrong_signing_secret_is_a_permanent_error(robots: VendorRobots, kind: str, code: str, monkeypatch) -> None:
    monkeypatch.setenv({"dingtalk": "T_DING_SECRET", "feishu": "T_FEISHU_SECRET"}[kind], "SECwrong-secret")
    with pytest.raises(NotifyError) as err:
        build_sender("r", receiver(kind, robots.url), robots.clock).send(MSG)
    assert err.value.permanent and err.value.code == code


@pytest.mark.parametrize("kind, code", [("dingtalk", "310000"), ("feishu", "19024")])
def test_a_message_without_the_robot_keyword_is_a_permanent_error(robots: VendorRobots, kind: str, code: str) -> None:
    with pytest.raises(NotifyError) as err:
        build_sender("r", receiver(kind, robots.url), robots.clock).send({**MSG, "title": "test", "text": "hello"})
    assert err.value.permanent and err.value.code == code


def test_a_stale_dingtalk_timestamp_is_refused(robots: VendorRobots) -> None:
    late = FakeClock(datetime(2020, 1, 1, tzinfo=ZoneInfo("Asia/Shanghai")))
    with pytest.raises(NotifyError) as err:
        build_sender("r", receiver("dingtalk", robots.url), late).send(MSG)
    assert err.value.code == "310000"


@pytest.mark.parametrize("kind, code, wait", [("wecom", "45009", 60), ("dingtalk", "130101", 600), ("feishu", "11232", 60)])
def test_the_vendor_rate_limit_is_transient_with_the_vendors_wait(robots: VendorRobots, kind: str, code: str, wait: float) -> None:
    robots.per_minute = 2
    sender = build_sender("r", receiver(kind, robots.url), robots.clock)
    sender.send(MSG)
    sender.send(MSG)
    with pytest.raises(NotifyError) as err:
        sender.send(MSG)
    assert err.value.transient and err.value.code == code and err.value.retry_after_s == wait


@pytest.mark.parametrize("status", [500, 502, 429])
def test_server_errors_are_transient(robots: VendorRobots, status: int) -> None:
    robots.fail_next(1, status=status)
    with pytest.raises(NotifyError) as err:
        build_sender("r", receiver("wecom", robots.url), robots.clock).send(MSG)
    assert err.value.transient


def test_a_vendor_busy_code_is_transient_and_a_dropped_connection_too(robots: VendorRobots) -> None:
    robots.fail_next(1, status=200, answer={"errcode": -1, "errmsg": "system busy"})
    sender = build_sender("r", receiver("wecom", robots.url), robots.clock)
    with pytest.raises(NotifyError) as err:
        sender.send(MSG)
    assert err.value.transient
    robots.down = True
    with pytest.raises(NotifyError) as err:
        sender.send(MSG)
    assert err.value.transient


def test_a_webhook_with_a_wrong_hmac_is_refused_permanently(robots: VendorRobots, monkeypatch) -> None:
    monkeypatch.setenv("T_HOOK_SECRET", "another-secret")
    with pytest.raises(NotifyError) as err:
        build_sender("r", receiver("webhook", robots.url), robots.clock).send(MSG)
    assert err.value.permanent


def test_the_token_bucket_keeps_a_receiver_under_the_vendor_limit(robots: VendorRobots) -> None:
    sender = build_sender("r", receiver("wecom", robots.url), robots.clock)
    sent_at = []
    for second in range(600):  # ten minutes, one attempt a second
        if sender.bucket.take():
            sent_at.append(second)
        robots.clock.advance(1)
    busiest = max(sum(1 for t in sent_at if s <= t < s + 60) for s in range(540))
    assert busiest <= 20 and len(sent_at) >= 150  # WeCom allows 20 in any minute; we use most of it


def test_no_secret_reaches_logs_or_errors(robots: VendorRobots, monkeypatch) -> None:
    texts: list[str] = []
    with structlog.testing.capture_logs() as logs:
        for kind in ("wecom", "dingtalk", "feishu", "webhook"):
            sender = build_sender("r", receiver(kind, robots.url), robots.clock)
            sender.send(MSG)
            robots.fail_next(1, status=500)
            with pytest.raises(NotifyError) as err:
                sender.send(MSG)
            texts.append(str(err.value))
        robots.down = True
        with pytest.raises(NotifyError) as err:
            build_sender("r", receiver("wecom", robots.url), robots.clock).send(MSG)
        texts.append(str(err.value))
    texts += [repr(e) for e in logs]
    assert texts and not any(c in t for t in texts for c in CANARIES)


# --- email -----------------------------------------------------------------------------------

class _Collect:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(email.message_from_bytes(envelope.original_content or envelope.content))
        return "250 OK"


def _auth(password: str):
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def check(server, session, envelope, mechanism, data):
        ok = isinstance(data, LoginPassword) and data.password.decode() == password
        return AuthResult(success=ok, handled=False)

    return check


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server(request):
    from aiosmtpd.controller import Controller

    handler = _Collect()
    mode = getattr(request, "param", None)
    kwargs: dict[str, Any] = dict(hostname="127.0.0.1", port=_free_port(), authenticator=_auth(SMTP_PASSWORD), auth_require_tls=mode == "starttls")
    ca = None
    if mode is not None:
        import trustme

        ca = trustme.CA()
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(ctx)
        if mode == "starttls":
            kwargs.update(tls_context=ctx, require_starttls=True)
        else:
            kwargs.update(ssl_context=ctx)
    controller = Controller(handler, **kwargs)
    controller.start()
    controller.handler_ca = ca
    try:
        yield controller, handler
    finally:
        controller.stop()


def _mail_receiver(controller: Any, tmp_path, security: str, password_env: str | None = "T_SMTP") -> ReceiverConfig:
    ca_file = None
    if controller.handler_ca is not None:
        ca_file = str(tmp_path / "ca.pem")
        controller.handler_ca.cert_pem.write_to_path(ca_file)
    return parse_receiver(dict(
        type="email", smtp_host="127.0.0.1", smtp_port=controller.port,
        smtp_security=security, smtp_user="vbp" if password_env else None, password_env=password_env, ca_file=ca_file,
        mail_from="vbp-agent@hospital.example", to=["procurement@hospital.example"],
    ))


def test_email_goes_through_a_plain_relay_with_a_chinese_subject(smtp_server, tmp_path) -> None:
    controller, handler = smtp_server
    sender = build_sender("office", _mail_receiver(controller, tmp_path, "none", password_env=None), FakeClock(NOW))
    assert sender.send(MSG)["accepted"] == 1
    got = handler.messages[0]
    assert str(make_header(decode_header(got["Subject"]))) == MSG["title"]
    assert "=?utf-8?" in got["Subject"].lower()
    assert "完成进度 31.2%" in got.get_payload(decode=True).decode("utf-8")


@pytest.mark.parametrize("smtp_server", ["starttls", "ssl"], indirect=True)
def test_email_logs_in_over_starttls_or_implicit_tls(smtp_server, tmp_path, request) -> None:
    controller, handler = smtp_server
    mode = request.node.callspec.params["smtp_server"]
    sender = build_sender("office", _mail_receiver(controller, tmp_path, mode), FakeClock(NOW))
    sender.send(MSG)
    assert len(handler.messages) == 1


@pytest.mark.parametrize("smtp_server", ["starttls"], indirect=True)
def test_an_untrusted_smtp_certificate_is_a_permanent_error(smtp_server, tmp_path) -> None:
    controller, _handler = smtp_server
    cfg = _mail_receiver(controller, tmp_path, "starttls").model_copy(update={"ca_file": None})
    with pytest.raises(NotifyError) as err:
        build_sender("office", cfg, FakeClock(NOW)).send(MSG)
    assert err.value.permanent and "certificate" in str(err.value)


def test_a_wrong_smtp_password_is_permanent_and_never_shown(smtp_server, tmp_path, monkeypatch) -> None:
    controller, _handler = smtp_server
    wrong = "WrongSmtpPasswordCanary0008"
    monkeypatch.setenv("T_SMTP", wrong)
    sender = build_sender("office", _mail_receiver(controller, tmp_path, "none"), FakeClock(NOW))
    with structlog.testing.capture_logs() as logs, pytest.raises(NotifyError) as err:
        sender.send(MSG)
    assert err.value.permanent
    assert wrong not in str(err.value) and wrong not in repr(logs)


def test_an_smtp_server_that_is_down_is_transient(tmp_path) -> None:
    cfg = parse_receiver(dict(type="email", smtp_host="127.0.0.1", smtp_port=1, smtp_security="none",
                              mail_from="a@b.example", to=["c@d.example"], timeout_s=2))
    with pytest.raises(NotifyError) as err:
        build_sender("office", cfg, FakeClock(NOW)).send(MSG)
    assert err.value.transient
