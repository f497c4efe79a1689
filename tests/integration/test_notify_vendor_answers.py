"""Chat alerts against the fake robots taught the vendors' real answers and limits (issue #25): what
each code stops (nothing, one message, the robot), sizes counted on what is sent, the keyword on
every part, Feishu's @, Feishu's HTTP 400 bodies, and the clock the signatures depend on."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import select

from agent.alerts.delivery import REFUSED_RULE, STOPPED_RULE, needs_resume, resume_receiver
from agent.cli import main
from agent.clock import FakeClock
from agent.config import parse_config
from agent.domain.findings import Finding, Severity
from agent.errors import NotifyError
from agent.jobs.notify import drain_notifications, process_findings
from agent.notify import build_sender, build_senders, split_message
from agent.notify.base import post_json
from agent.notify.config import parse_receiver
from agent.store import alerts as repo
from agent.store import open_store
from agent.store.schema.core import outbox
from tests.fakes.vendors import VendorRobots

TZ = ZoneInfo("Asia/Shanghai")
MONDAY_1100 = datetime(2026, 11, 23, 11, 0, tzinfo=TZ)
WECOM_KEY, DING_TOKEN, DING_SECRET = "WecomKeyCanary0101", "DingTokenCanary0102", "SECdingSecretCanary0103"
FEISHU_HOOK, FEISHU_SECRET = "FeishuHookCanary0104", "FeishuSecretCanary0105"
KEYS = {"wecom": {"key_env": "T_WECOM"}, "dingtalk": {"key_env": "T_DING", "secret_env": "T_DING_SECRET"},
        "feishu": {"key_env": "T_FEISHU", "secret_env": "T_FEISHU_SECRET"}}
CRITICAL = {"title": "【集采预警】严重：注射用头孢曲松钠 1g 零采购", "text": "**【集采预警】严重：注射用头孢曲松钠 1g**\n情况：已用量 0",
            "severity": "critical"}


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"T_WECOM": WECOM_KEY, "T_DING": DING_TOKEN, "T_DING_SECRET": DING_SECRET, "T_FEISHU": FEISHU_HOOK,
                        "T_FEISHU_SECRET": FEISHU_SECRET}.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(MONDAY_1100)


@pytest.fixture
def robots(clock: FakeClock):
    with VendorRobots(wecom_key=WECOM_KEY, ding_token=DING_TOKEN, ding_secret=DING_SECRET, feishu_hook=FEISHU_HOOK,
                      feishu_secret=FEISHU_SECRET, keyword="集采", now=clock.now) as r:
        yield r


def receiver(kind: str, base: str, **extra: Any) -> Any:
    return parse_receiver({"type": kind, "api_base": base, **KEYS[kind], **extra})


# --- every code the issue names: what it stops ------------------------------------------------

T, M, R = "transient", "message", "robot"
CODES = [
    ("wecom", 45009, T), ("wecom", 40058, M), ("wecom", 40035, M), ("wecom", 44004, M),
    ("wecom", 93000, R), ("wecom", 93004, R), ("wecom", 93008, R),
    ("dingtalk", 130101, T), ("dingtalk", 410100, T), ("dingtalk", 400105, M), ("dingtalk", 430101, M),
    ("dingtalk", 430102, M), ("dingtalk", 430103, M), ("dingtalk", 430104, M), ("dingtalk", 460101, M),
    ("dingtalk", 310000, R), ("dingtalk", 300001, R), ("dingtalk", 300005, R), ("dingtalk", 400101, R),
    ("dingtalk", 400102, R), ("dingtalk", 400106, R), ("dingtalk", 400013, R),
    ("feishu", 11232, T), ("feishu", 9499, M), ("feishu", 19001, R), ("feishu", 19021, R), ("feishu", 19022, R),
    ("feishu", 19024, R),
]


def _answer(kind: str, code: int) -> tuple[int, dict[str, Any]]:
    if kind == "feishu":  # Feishu answers a bad request with HTTP 400 and its code in the body
        return (400 if code == 9499 else 200), {"code": code, "msg": "from the table", "data": {}}
    return 200, {"errcode": code, "errmsg": "from the table"}


@pytest.mark.parametrize("kind, code, scope", CODES, ids=[f"{k}-{c}-{s}" for k, c, s in CODES])
def test_each_vendor_code_is_transient_message_level_or_robot_level(robots: VendorRobots, clock, kind, code, scope) -> None:
    status, answer = _answer(kind, code)
    robots.fail_next(1, status=status, answer=answer)
    with pytest.raises(NotifyError) as err:
        build_sender("r", receiver(kind, robots.url), clock).send(CRITICAL)
    assert err.value.code == str(code) and err.value.scope == scope and err.value.transient == (scope == T)
    assert "from the table" in str(err.value)  # the vendor's own words reach the finding


def test_dingtalk_410100_waits_out_the_ten_minute_throttle_like_130101(clock: FakeClock) -> None:
    with VendorRobots(ding_token=DING_TOKEN, ding_secret=DING_SECRET, per_minute=2, ding_throttle_code=410100, now=clock.now) as robots:
        sender = build_sender("r", receiver("dingtalk", robots.url), clock)
        sender.send(CRITICAL)
        sender.send(CRITICAL)
        with pytest.raises(NotifyError) as err:
            sender.send(CRITICAL)
        assert err.value.code == "410100" and err.value.transient and err.value.retry_after_s == 600
        clock.advance(300)
        with pytest.raises(NotifyError):  # still throttled: DingTalk holds the robot for ten minutes
            sender.send(CRITICAL)
        clock.advance(301)
        assert sender.send(CRITICAL)["errcode"] == 0


# --- through the queue: a message set aside, a robot stopped ---------------------------------

def _cfg(robots_url: str, kind: str = "wecom", **extra: Any) -> Any:
    return parse_config({
        "hospital": {"code": "H1", "name": "示例医院"},
        "receivers": {"pharmacy": {"type": kind, "api_base": robots_url, **KEYS[kind], **extra}},
        "routes": [{"receivers": ["pharmacy"], "group_wait_s": 0, "group_interval_s": 0}],
        "alerts": {"for_s": 0},
    })


def behind(subject: str, severity: Severity = Severity.WARNING, at: datetime = MONDAY_1100) -> Finding:
    return Finding(
        rule="behind_schedule", subject=subject, severity=severity, title=f"{subject} 完成进度落后序时进度", observed_at=at,
        values={"completion": 0.312, "time_progress": 0.583}, labels={"programme": "第七批国家集采", "department": "心内科"},
        evidence={"action": "请核查心内科是否改开非中选品种，本周内约谈科室。"},
    )


def _queue_two(store: Any, cfg: Any, clock: FakeClock) -> None:
    """Two messages in the receiver's queue: one alert, then another a group interval later."""
    process_findings(store, cfg, clock, [behind("阿托伐他汀钙片 20mg")])
    clock.advance(1)
    process_findings(store, cfg, clock, [behind("阿托伐他汀钙片 20mg"), behind("苯磺酸氨氯地平片 5mg")])


def _active(store: Any) -> dict[str, Finding]:
    with store.read() as conn:
        return {f.rule: f for f in repo.active_findings(conn, "H1")}


def test_a_message_level_refusal_sets_that_message_aside_and_the_queue_goes_on(tmp_path, robots: VendorRobots, clock) -> None:
    cfg = _cfg(robots.url)
    store = open_store(f"sqlite:///{tmp_path / 's.db'}", "H1")
    _queue_two(store, cfg, clock)
    robots.fail_next(1, status=200, answer={"errcode": 40058, "errmsg": "markdown.content exceed max length 4096"})
    report = drain_notifications(store, cfg, clock, build_senders(cfg.receivers, clock))
    assert report.set_aside == 1 and report.sent == 1 and report.stopped == []
    assert "苯磺酸氨氯地平片" in robots.messages("wecom")[0]["content"]  # the second message went out
    refused = _active(store)[REFUSED_RULE]
    assert "40058" in refused.title and "exceed max length 4096" in refused.values["error"] and STOPPED_RULE not in _active(store)
    assert needs_resume(store, "pharmacy")
    assert resume_receiver(store, "pharmacy", clock.now()) == 0  # a refused message is not sent again
    assert REFUSED_RULE not in _active(store)
    with store.read() as conn:
        statuses = sorted(r.status for r in conn.execute(select(outbox.c.status).where(outbox.c.channel == "notify:pharmacy")))
    assert statuses == ["sent", "set_aside"]


@pytest.mark.parametrize("state, code", [("disabled", "93004"), ("not_in_group", "93008")])
def test_a_robot_level_refusal_stops_the_receiver(tmp_path, robots: VendorRobots, clock, state: str, code: str) -> None:
    cfg = _cfg(robots.url)
    store = open_store(f"sqlite:///{tmp_path / 's.db'}", "H1")
    _queue_two(store, cfg, clock)
    robots.state["wecom"] = state
    report = drain_notifications(store, cfg, clock, build_senders(cfg.receivers, clock))
    assert report.stopped == ["pharmacy"] and report.sent == 0 and report.set_aside == 0
    assert code in _active(store)[STOPPED_RULE].title


def test_dingtalk_400101_and_its_kin_stop_the_robot_instead_of_burning_retries(tmp_path, robots: VendorRobots, clock) -> None:
    cfg = _cfg(robots.url, kind="dingtalk")
    store = open_store(f"sqlite:///{tmp_path / 's.db'}", "H1")
    _queue_two(store, cfg, clock)
    robots.state["dingtalk"] = "dissolved"
    report = drain_notifications(store, cfg, clock, build_senders(cfg.receivers, clock))
    assert report.stopped == ["pharmacy"] and report.retried == 0 and "400013" in _active(store)[STOPPED_RULE].title


def test_a_dingtalk_throttle_does_not_stop_the_receiver(tmp_path, clock) -> None:
    with VendorRobots(ding_token=DING_TOKEN, ding_secret=DING_SECRET, keyword="集采", per_minute=1,
                      ding_throttle_code=410100, now=clock.now) as robots:
        cfg = _cfg(robots.url, kind="dingtalk", rate_per_minute=600)  # our own pace too fast, on purpose
        store = open_store(f"sqlite:///{tmp_path / 's.db'}", "H1")
        senders = build_senders(cfg.receivers, clock)
        _queue_two(store, cfg, clock)
        report = drain_notifications(store, cfg, clock, senders)
        assert report.sent == 1 and report.retried == 1 and report.stopped == [] and STOPPED_RULE not in _active(store)
        clock.advance(timedelta(minutes=11))
        assert drain_notifications(store, cfg, clock, senders).sent == 1
        assert len(robots.messages("dingtalk")) == 2


def test_a_stale_signature_tells_the_person_to_check_the_clock(tmp_path, robots: VendorRobots) -> None:
    late = FakeClock(MONDAY_1100 - timedelta(hours=2))  # this server's clock, two hours behind DingTalk's
    cfg = _cfg(robots.url, kind="dingtalk")
    store = open_store(f"sqlite:///{tmp_path / 's.db'}", "H1")
    process_findings(store, cfg, late, [behind("阿托伐他汀钙片 20mg", at=late.now())])
    assert drain_notifications(store, cfg, late, build_senders(cfg.receivers, late)).stopped == ["pharmacy"]
    stopped = _active(store)[STOPPED_RULE]
    assert "310000" in stopped.title and "NTP" in stopped.evidence["action"] and "系统时钟" in stopped.evidence["action"]
    assert "签名密钥" in stopped.evidence["action"] and "关键词" in stopped.evidence["action"]


# --- sizes counted on what is sent, the keyword on every part ---------------------------------

def _many(n: int, severity: str) -> dict[str, Any]:
    lines = [f"**【集采预警】{'严重' if severity == 'critical' else '警告'}：{n} 个品种进度落后**"]
    lines += [f"{i}. 中选药品{i:03d} 规格{i}mg：完成 31.2%，序时 58.3%" for i in range(n)]
    return {"title": f"集采预警{n}条", "text": "\n".join(lines), "severity": severity}


def test_wecom_markdown_with_mentions_is_split_at_the_text_limit_for_critical_alerts(tmp_path, robots: VendorRobots, clock) -> None:
    cfg = _cfg(robots.url, format="markdown", mentioned_mobiles=["13800000000"])
    store = open_store(f"sqlite:///{tmp_path / 's.db'}", "H1")
    process_findings(store, cfg, clock, [behind(f"中选药品{i:02d} 规格{i}mg", Severity.CRITICAL) for i in range(16)])
    report = drain_notifications(store, cfg, clock, build_senders(cfg.receivers, clock))
    got = robots.messages("wecom")
    assert report.set_aside == 0 and report.stopped == [] and len(got) == report.sent >= 2
    assert all(m["body"]["msgtype"] == "text" and m["mentioned"] == ["13800000000"] for m in got)
    assert all(len(m["content"].encode()) <= 2048 for m in got) and sum(len(m["content"].encode()) for m in got) > 2048


def test_wecom_warnings_for_the_same_receiver_keep_markdown_and_its_limit(robots: VendorRobots) -> None:
    cfg = receiver("wecom", robots.url, format="markdown", mentioned_mobiles=["13800000000"])
    msg = _many(70, "warning")
    parts = split_message(cfg, msg)
    assert len(parts) >= 2 and max(len(p.encode()) for p in parts) > 2048 and all(len(p.encode()) <= 4096 for p in parts)


@pytest.mark.parametrize("kind, fmt", [("dingtalk", "markdown"), ("dingtalk", "text"), ("feishu", "card"), ("feishu", "text")])
def test_every_part_and_the_overflow_summary_carry_the_keyword(robots: VendorRobots, clock, kind: str, fmt: str) -> None:
    cfg = receiver(kind, robots.url, format=fmt)
    msg = _many(3000, "warning")  # far more than five parts
    parts = split_message(cfg, msg)
    assert len(parts) == 5 and "其余" in parts[-1]
    sender = build_sender("r", cfg, clock)
    for i, text in enumerate(parts, 1):
        assert text.startswith(f"【集采 {i}/5】")
        sender.send({**msg, "title": f"{msg['title']} ({i}/5)", "text": text})  # the robot checks the keyword
    assert len(robots.messages(kind)) == 5


def test_dingtalk_parts_are_sized_on_the_body_sent_with_line_breaks_and_mentions(robots: VendorRobots, clock) -> None:
    cfg = receiver("dingtalk", robots.url, mentioned_mobiles=["13800000000", "13900000000"])
    msg = {**_many(0, "critical"), "text": "**【集采预警】严重**\n" + "\n".join(f"{i}" for i in range(3000))}
    assert len(msg["text"].encode()) < 18000  # the old check, on the raw text, let this through whole
    parts = split_message(cfg, msg)
    sender = build_sender("r", cfg, clock)
    for i, text in enumerate(parts, 1):
        sender.send({**msg, "title": f"{msg['title']} ({i}/{len(parts)})", "text": text})
    got = robots.messages("dingtalk")
    assert len(parts) >= 2 and len(got) == len(parts) and all(m["size"] <= 20000 for m in got)
    assert all(m["mentioned"] == ["13800000000", "13900000000"] for m in got)


def test_a_body_too_big_for_the_vendor_is_refused_before_it_is_sent(robots: VendorRobots, clock) -> None:
    sender = build_sender("r", receiver("dingtalk", robots.url), clock)
    with pytest.raises(NotifyError) as err:
        sender.send({**CRITICAL, "text": "集采" + "\n" * 9000})
    assert err.value.scope == "message" and err.value.code == "460101" and "not sent" in str(err.value)
    assert robots.messages("dingtalk") == []


# --- Feishu: @ by open_id, its HTTP 400 bodies ------------------------------------------------

@pytest.mark.parametrize("fmt", ["card", "text"])
def test_feishu_critical_alerts_at_everyone_or_open_ids(robots: VendorRobots, clock, fmt: str) -> None:
    sender = build_sender("r", receiver("feishu", robots.url, format=fmt, mentioned_open_ids=["all", "ou_3f9a"]), clock)
    sender.send(CRITICAL)
    sender.send({**CRITICAL, "severity": "warning"})
    critical, warning = robots.messages("feishu")
    assert critical["mentioned"] == ["all", "ou_3f9a"] and warning["mentioned"] == []
    if fmt == "text":
        assert '<at user_id="all">所有人</at>' in critical["content"]


def test_a_feishu_receiver_with_mobiles_is_refused_by_the_config() -> None:
    with pytest.raises(ValidationError, match="mentioned_open_ids"):
        parse_receiver({"type": "feishu", "key_env": "T_FEISHU", "mentioned_mobiles": ["13800000000"]})


def test_feishus_http_400_is_read_for_its_code(robots: VendorRobots) -> None:
    big = {"msg_type": "text", "content": {"text": "集采" * 8000}}
    with httpx.Client() as client:
        answer = post_json(client, "Feishu", f"{robots.url}/open-apis/bot/v2/hook/{FEISHU_HOOK}", big, 5, code_keys=("code",))
    assert answer["code"] == 9499 and answer["http_status"] == 400


def test_feishu_ip_allow_list_stops_the_robot(clock) -> None:
    with VendorRobots(feishu_hook=FEISHU_HOOK, feishu_ips=("10.1.2.3",), now=clock.now) as robots:
        cfg = parse_receiver({"type": "feishu", "api_base": robots.url, "key_env": "T_FEISHU"})
        with pytest.raises(NotifyError) as err:
            build_sender("r", cfg, clock).send(CRITICAL)
    assert err.value.code == "19022" and err.value.scope == "robot"


# --- vbp-agent check: the clock against the robots' ------------------------------------------

def test_check_warns_when_the_clock_is_off_against_a_robots_date(tmp_path, robots: VendorRobots, capsys) -> None:
    cfg = tmp_path / "agent.toml"
    cfg.write_text(f"""
[hospital]
code = "H1"
name = "测试医院"
[state]
directory = "{tmp_path}"
[receivers.pharmacy]
type = "dingtalk"
api_base = "{robots.url}"
key_env = "T_DING"
""", encoding="utf-8")
    assert main(["-c", str(cfg), "check"], clock=FakeClock(MONDAY_1100 + timedelta(minutes=75))) == 0
    off = "".join(capsys.readouterr().out.split())
    assert main(["-c", str(cfg), "check"], clock=FakeClock(MONDAY_1100 + timedelta(seconds=20))) == 0
    close = capsys.readouterr().out
    assert "通知渠道“pharmacy”的服务器快1小时15分钟" in off and "NTP" in off and "NTP" not in close
